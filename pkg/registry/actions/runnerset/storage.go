/*
Copyright 2026 The runnerset-apiserver Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package runnerset

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/registry/generic"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
	scalescheme "k8s.io/client-go/scale/scheme"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"actions.dev/runnerset-apiserver/pkg/apis/actions"
	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
)

// Storage holds the REST endpoints of runnersets and their subresources.
type Storage struct {
	RunnerSet *REST
	Status    *StatusREST
	Scale     *ScaleREST
}

// REST serves runnersets, under the server's Policy.
type REST struct {
	*genericregistry.Store
	policy *Policy
}

var (
	_ rest.ShortNamesProvider = &REST{}
	_ rest.CategoriesProvider = &REST{}
)

// ShortNames lets users type "kubectl get rset"; "rs" is taken by ReplicaSets.
func (r *REST) ShortNames() []string { return []string{"rset"} }

// Categories puts runnersets under "kubectl get actions".
func (r *REST) Categories() []string { return []string{"actions"} }

// NewStorage builds runnerset storage on the given options getter; policy may be nil.
func NewStorage(scheme *runtime.Scheme, optsGetter generic.RESTOptionsGetter, policy *Policy) (*Storage, error) {
	s := NewStrategy(scheme)
	store := &genericregistry.Store{
		NewFunc:                   func() runtime.Object { return &actions.RunnerSet{} },
		NewListFunc:               func() runtime.Object { return &actions.RunnerSetList{} },
		PredicateFunc:             Match,
		DefaultQualifiedResource:  actions.Resource("runnersets"),
		SingularQualifiedResource: actions.Resource("runnerset"),
		CreateStrategy:            s,
		UpdateStrategy:            s,
		DeleteStrategy:            s,
		ResetFieldsStrategy:       s,
		TableConvertor:            tableConvertor{},
	}
	if err := store.CompleteWithOptions(&generic.StoreOptions{RESTOptions: optsGetter, AttrFunc: GetAttrs}); err != nil {
		return nil, err
	}
	statusStore := *store
	ss := NewStatusStrategy(s)
	statusStore.UpdateStrategy = ss
	statusStore.ResetFieldsStrategy = ss
	return &Storage{
		RunnerSet: &REST{Store: store, policy: policy},
		Status:    &StatusREST{store: &statusStore},
		Scale:     &ScaleREST{store: store, policy: policy},
	}, nil
}

// StatusREST serves runnersets/status.
type StatusREST struct {
	store *genericregistry.Store
}

var _ rest.Patcher = &StatusREST{}

func (r *StatusREST) New() runtime.Object { return &actions.RunnerSet{} }
func (r *StatusREST) Destroy()            {}

func (r *StatusREST) Get(ctx context.Context, name string, options *metav1.GetOptions) (runtime.Object, error) {
	return r.store.Get(ctx, name, options)
}

func (r *StatusREST) Update(ctx context.Context, name string, objInfo rest.UpdatedObjectInfo, createValidation rest.ValidateObjectFunc,
	updateValidation rest.ValidateObjectUpdateFunc, forceAllowCreate bool, options *metav1.UpdateOptions) (runtime.Object, bool, error) {
	// Subresources never create their parent.
	return r.store.Update(ctx, name, objInfo, createValidation, updateValidation, false, options)
}

func (r *StatusREST) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	return r.store.GetResetFields()
}

func (r *StatusREST) ConvertToTable(ctx context.Context, object runtime.Object, tableOptions runtime.Object) (*metav1.Table, error) {
	return r.store.ConvertToTable(ctx, object, tableOptions)
}

// ScaleREST serves runnersets/scale: spec.replicas is minRunners (the warm pool), status.replicas
// the runners that exist, status.selector their pods' selector.
type ScaleREST struct {
	store  *genericregistry.Store
	policy *Policy
}

var (
	_ rest.Patcher                  = &ScaleREST{}
	_ rest.GroupVersionKindProvider = &ScaleREST{}
)

// replicasPath maps the Scale's spec.replicas onto the RunnerSet field it stands for, so
// server-side apply tracks its owner on both.
var replicasPath = managedfields.ResourcePathMappings{
	v1alpha1.SchemeGroupVersion.String(): fieldpath.MakePathOrDie("spec", "minRunners"),
}

func (r *ScaleREST) GroupVersionKind(schema.GroupVersion) schema.GroupVersionKind {
	return schema.GroupVersionKind{Group: "autoscaling", Version: "v1", Kind: "Scale"}
}

func (r *ScaleREST) New() runtime.Object { return &scalescheme.Scale{} }
func (r *ScaleREST) Destroy()            {}

func (r *ScaleREST) Get(ctx context.Context, name string, options *metav1.GetOptions) (runtime.Object, error) {
	obj, err := r.store.Get(ctx, name, options)
	if err != nil {
		return nil, err
	}
	return scaleOf(obj.(*actions.RunnerSet)), nil
}

func (r *ScaleREST) Update(ctx context.Context, name string, objInfo rest.UpdatedObjectInfo, createValidation rest.ValidateObjectFunc,
	updateValidation rest.ValidateObjectUpdateFunc, forceAllowCreate bool, options *metav1.UpdateOptions) (runtime.Object, bool, error) {
	var maxRunners int32
	if r.policy != nil {
		maxRunners = r.policy.MaxRunners
	}
	obj, _, err := r.store.Update(ctx, name, &scaleUpdatedObjectInfo{name: name, reqObjInfo: objInfo, serverMax: maxRunners},
		toScaleCreateValidation(createValidation), toScaleUpdateValidation(updateValidation), false, options)
	if err != nil {
		return nil, false, err
	}
	return scaleOf(obj.(*actions.RunnerSet)), false, nil
}

func (r *ScaleREST) ConvertToTable(ctx context.Context, object runtime.Object, tableOptions runtime.Object) (*metav1.Table, error) {
	return rest.NewDefaultTableConvertor(actions.Resource("runnersets/scale")).ConvertToTable(ctx, object, tableOptions)
}

func toScaleCreateValidation(f rest.ValidateObjectFunc) rest.ValidateObjectFunc {
	return func(ctx context.Context, obj runtime.Object) error {
		return f(ctx, scaleOf(obj.(*actions.RunnerSet)))
	}
}

func toScaleUpdateValidation(f rest.ValidateObjectUpdateFunc) rest.ValidateObjectUpdateFunc {
	return func(ctx context.Context, obj, old runtime.Object) error {
		return f(ctx, scaleOf(obj.(*actions.RunnerSet)), scaleOf(old.(*actions.RunnerSet)))
	}
}

func scaleOf(rs *actions.RunnerSet) *scalescheme.Scale {
	var replicas int32
	if rs.Spec.MinRunners != nil {
		replicas = *rs.Spec.MinRunners
	}
	return &scalescheme.Scale{
		ObjectMeta: metav1.ObjectMeta{
			Name:              rs.Name,
			Namespace:         rs.Namespace,
			UID:               rs.UID,
			ResourceVersion:   rs.ResourceVersion,
			CreationTimestamp: rs.CreationTimestamp,
		},
		Spec:   scalescheme.ScaleSpec{Replicas: replicas},
		Status: scalescheme.ScaleStatus{Replicas: rs.Status.CurrentRunners, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{RunnerPodLabel: rs.Name}}},
	}
}

// scaleUpdatedObjectInfo turns a Scale update into a RunnerSet update.
type scaleUpdatedObjectInfo struct {
	name       string
	reqObjInfo rest.UpdatedObjectInfo
	serverMax  int32
}

func (i *scaleUpdatedObjectInfo) Preconditions() *metav1.Preconditions {
	return i.reqObjInfo.Preconditions()
}

func (i *scaleUpdatedObjectInfo) UpdatedObject(ctx context.Context, oldObj runtime.Object) (runtime.Object, error) {
	rs := oldObj.DeepCopyObject().(*actions.RunnerSet)
	managed := managedfields.NewScaleHandler(rs.ManagedFields, v1alpha1.SchemeGroupVersion, replicasPath)
	oldScale := scaleOf(rs)
	var err error
	if oldScale.ManagedFields, err = managed.ToSubresource(); err != nil {
		return nil, err
	}
	obj, err := i.reqObjInfo.UpdatedObject(ctx, oldScale)
	if err != nil {
		return nil, err
	}
	scale, ok := obj.(*scalescheme.Scale)
	if !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("expected a Scale, got %T", obj))
	}
	gk := schema.GroupKind{Group: "autoscaling", Kind: "Scale"}
	if scale.Spec.Replicas < 0 {
		return nil, apierrors.NewInvalid(gk, i.name, field.ErrorList{field.Invalid(field.NewPath("spec", "replicas"), scale.Spec.Replicas, "must be greater than or equal to 0")})
	}
	if rs.Spec.MaxRunners != nil && scale.Spec.Replicas > *rs.Spec.MaxRunners {
		return nil, apierrors.NewInvalid(gk, i.name, field.ErrorList{field.Invalid(field.NewPath("spec", "replicas"), scale.Spec.Replicas,
			fmt.Sprintf("must be less than or equal to the RunnerSet's spec.maxRunners (%d): replicas sets spec.minRunners, the idle runners kept warm", *rs.Spec.MaxRunners))})
	}
	if i.serverMax > 0 && scale.Spec.Replicas > i.serverMax && scale.Spec.Replicas != oldScale.Spec.Replicas {
		return nil, apierrors.NewInvalid(gk, i.name, field.ErrorList{field.Invalid(field.NewPath("spec", "replicas"), scale.Spec.Replicas,
			fmt.Sprintf("must be at most %d, the most runners this server runs for one RunnerSet (--max-runners-per-runnerset)", i.serverMax))})
	}
	replicas := scale.Spec.Replicas
	rs.Spec.MinRunners = &replicas
	if scale.ResourceVersion != "" {
		// The client sent a resourceVersion precondition: keep it so a stale write is a 409.
		rs.ResourceVersion = scale.ResourceVersion
	}
	if rs.ManagedFields, err = managed.ToParent(scale.ManagedFields); err != nil {
		return nil, err
	}
	return rs, nil
}
