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

// Package runnerset serves runnersets.actions.dev: its strategy, storage, status and scale
// subresources and table output.
package runnerset

import (
	"context"
	"fmt"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/authentication/user"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/storage"
	"k8s.io/apiserver/pkg/storage/names"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"actions.dev/runnerset-apiserver/pkg/apis/actions"
	"actions.dev/runnerset-apiserver/pkg/apis/actions/validation"
)

// RunnerPodLabel is set on every runner pod (to its RunnerSet's name) and on every ConfigMap
// that stores a RunnerSet; it is reserved on RunnerSets themselves.
const RunnerPodLabel = "actions.dev/runnerset"

// Selector is the label selector of a RunnerSet's runner pods.
func Selector(name string) string {
	return labels.SelectorFromSet(labels.Set{RunnerPodLabel: name}).String()
}

type strategy struct {
	runtime.ObjectTyper
	names.NameGenerator
}

// NewStrategy returns the create/update strategy for RunnerSets.
func NewStrategy(typer runtime.ObjectTyper) strategy {
	return strategy{typer, names.SimpleNameGenerator}
}

func (strategy) NamespaceScoped() bool { return true }

// GetResetFields says which fields a spec write may not set: the status belongs to the server.
func (strategy) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	return map[fieldpath.APIVersion]*fieldpath.Set{
		"actions.dev/v1alpha1": fieldpath.NewSet(fieldpath.MakePathOrDie("status")),
	}
}

func (strategy) PrepareForCreate(ctx context.Context, obj runtime.Object) {
	rs := obj.(*actions.RunnerSet)
	rs.Status = actions.RunnerSetStatus{}
	rs.Generation = 1
}

func (strategy) PrepareForUpdate(ctx context.Context, obj, old runtime.Object) {
	rs, oldRS := obj.(*actions.RunnerSet), old.(*actions.RunnerSet)
	rs.Status = oldRS.Status
	if !apiequality.Semantic.DeepEqual(rs.Spec, oldRS.Spec) {
		rs.Generation = oldRS.Generation + 1
	}
}

func (strategy) Validate(ctx context.Context, obj runtime.Object) field.ErrorList {
	rs := obj.(*actions.RunnerSet)
	return append(validation.ValidateRunnerSet(rs), validateReservedLabels(rs)...)
}

func (strategy) WarningsOnCreate(ctx context.Context, obj runtime.Object) []string {
	return warnings(obj.(*actions.RunnerSet))
}

func (strategy) ValidateUpdate(ctx context.Context, obj, old runtime.Object) field.ErrorList {
	rs := obj.(*actions.RunnerSet)
	return append(validation.ValidateRunnerSetUpdate(rs, old.(*actions.RunnerSet)), validateReservedLabels(rs)...)
}

func (strategy) WarningsOnUpdate(ctx context.Context, obj, old runtime.Object) []string {
	return warnings(obj.(*actions.RunnerSet))
}

// Canonicalize fills in what depends on the final name, which generateName only fixes after
// defaulting: the scale set name and the runner pod selector.
func (strategy) Canonicalize(obj runtime.Object) {
	rs := obj.(*actions.RunnerSet)
	if rs.Spec.RunnerScaleSetName == "" {
		rs.Spec.RunnerScaleSetName = rs.Name
	}
	rs.Status.Selector = Selector(rs.Name)
}

func (strategy) AllowCreateOnUpdate(context.Context) bool      { return false }
func (strategy) AllowUnconditionalUpdate(context.Context) bool { return true }

func validateReservedLabels(rs *actions.RunnerSet) field.ErrorList {
	if _, ok := rs.Labels[RunnerPodLabel]; ok {
		return field.ErrorList{field.Forbidden(field.NewPath("metadata", "labels").Key(RunnerPodLabel), "reserved for the server")}
	}
	return nil
}

func warnings(rs *actions.RunnerSet) []string {
	var w []string
	if rs.Spec.MaxRunners == nil {
		w = append(w, "spec.maxRunners is unset: a burst of jobs can create any number of runner pods")
	}
	return w
}

type statusStrategy struct {
	strategy
}

// NewStatusStrategy returns the strategy of the status subresource.
func NewStatusStrategy(s strategy) statusStrategy { return statusStrategy{s} }

// GetResetFields says a status write may change neither spec nor metadata.
func (statusStrategy) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	return map[fieldpath.APIVersion]*fieldpath.Set{
		"actions.dev/v1alpha1": fieldpath.NewSet(fieldpath.MakePathOrDie("spec"), fieldpath.MakePathOrDie("metadata", "labels"), fieldpath.MakePathOrDie("metadata", "annotations")),
	}
}

func (statusStrategy) PrepareForUpdate(ctx context.Context, obj, old runtime.Object) {
	rs, oldRS := obj.(*actions.RunnerSet), old.(*actions.RunnerSet)
	rs.Spec = oldRS.Spec
	rs.Labels, rs.Annotations = oldRS.Labels, oldRS.Annotations
	rs.Generation = oldRS.Generation
}

func (statusStrategy) ValidateUpdate(ctx context.Context, obj, old runtime.Object) field.ErrorList {
	rs, oldRS := obj.(*actions.RunnerSet), old.(*actions.RunnerSet)
	return append(validation.ValidateRunnerSetStatusUpdate(rs, oldRS), validateServerOwnedStatus(ctx, rs, oldRS)...)
}

// validateServerOwnedStatus keeps the GitHub ids in the status the server's own: the scaler
// deletes the scale set and closes the session they name. Whoever else may write status (a
// cluster admin, say) may still write the counts and conditions.
func validateServerOwnedStatus(ctx context.Context, rs, old *actions.RunnerSet) field.ErrorList {
	if u, ok := genericapirequest.UserFrom(ctx); ok && u.GetName() == user.APIServerUser {
		return nil
	}
	var errs field.ErrorList
	p := field.NewPath("status")
	if rs.Status.ScaleSetID != old.Status.ScaleSetID {
		errs = append(errs, field.Forbidden(p.Child("scaleSetId"), "only the server writes it"))
	}
	if rs.Status.RunnerGroupID != old.Status.RunnerGroupID {
		errs = append(errs, field.Forbidden(p.Child("runnerGroupId"), "only the server writes it"))
	}
	if rs.Status.SessionID != old.Status.SessionID {
		errs = append(errs, field.Forbidden(p.Child("sessionId"), "only the server writes it"))
	}
	return errs
}

func (statusStrategy) WarningsOnUpdate(ctx context.Context, obj, old runtime.Object) []string {
	return nil
}

// GetAttrs returns the labels and selectable fields of a RunnerSet.
func GetAttrs(obj runtime.Object) (labels.Set, fields.Set, error) {
	rs, ok := obj.(*actions.RunnerSet)
	if !ok {
		return nil, nil, fmt.Errorf("not a RunnerSet: %T", obj)
	}
	return rs.Labels, generic.ObjectMetaFieldsSet(&rs.ObjectMeta, true), nil
}

// Match is the filter used for list and watch.
func Match(label labels.Selector, field fields.Selector) storage.SelectionPredicate {
	return storage.SelectionPredicate{Label: label, Field: field, GetAttrs: GetAttrs}
}
