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

package workflowjob

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/klog/v2"

	"actions.dev/runnerset-apiserver/pkg/apis/actions"
	"actions.dev/runnerset-apiserver/pkg/contract"
)

// REST serves workflowjobs. It is read-only: the history is the scaler's record, pruned by its
// retention, and GitHub has no way to cancel a single job.
type REST struct {
	configMaps corev1client.ConfigMapsGetter
}

var (
	_ rest.Storage              = &REST{}
	_ rest.Scoper               = &REST{}
	_ rest.KindProvider         = &REST{}
	_ rest.SingularNameProvider = &REST{}
	_ rest.ShortNamesProvider   = &REST{}
	_ rest.CategoriesProvider   = &REST{}
	_ rest.Getter               = &REST{}
	_ rest.Lister               = &REST{}
	_ rest.Watcher              = &REST{}
	_ rest.TableConvertor       = &REST{}
)

// NewREST returns the workflowjobs storage, reading job history chunks through configMaps
// (scope.ConfigMaps, so that a read across namespaces stays within the served ones).
func NewREST(configMaps corev1client.ConfigMapsGetter) *REST {
	return &REST{configMaps: configMaps}
}

func (r *REST) New() runtime.Object     { return &actions.WorkflowJob{} }
func (r *REST) NewList() runtime.Object { return &actions.WorkflowJobList{} }
func (r *REST) Destroy()                {}
func (r *REST) NamespaceScoped() bool   { return true }
func (r *REST) Kind() string            { return "WorkflowJob" }
func (r *REST) GetSingularName() string { return "workflowjob" }
func (r *REST) ShortNames() []string    { return []string{"wfj"} }

// Categories puts workflowjobs under "kubectl get actions", beside runnersets and runners.
func (r *REST) Categories() []string { return []string{"actions"} }

func (r *REST) ConvertToTable(ctx context.Context, obj, opts runtime.Object) (*metav1.Table, error) {
	return convertToTable(obj, time.Now())
}

var groupResource = actions.Resource("workflowjobs")

// Get looks the job up in the chunks of the RunnerSet its name starts with: one label-selected
// list, not a read of every chunk of the namespace.
func (r *REST) Get(ctx context.Context, name string, opts *metav1.GetOptions) (runtime.Object, error) {
	runnerSet, ok := runnerSetOf(name)
	if !ok {
		return nil, apierrors.NewNotFound(groupResource, name) // no job can have this name
	}
	listOpts := metav1.ListOptions{LabelSelector: chunksOf(runnerSet)}
	if opts != nil {
		listOpts.ResourceVersion = opts.ResourceVersion
	}
	chunks, err := r.configMaps.ConfigMaps(genericapirequest.NamespaceValue(ctx)).List(ctx, listOpts)
	if err != nil {
		return nil, translate(err)
	}
	for i := range chunks.Items {
		if value, ok := chunks.Items[i].Data[name]; ok && isChunk(&chunks.Items[i]) {
			return decodeOne(&chunks.Items[i], name, value)
		}
	}
	return nil, apierrors.NewNotFound(groupResource, name)
}

// runnerSetOf reads the RunnerSet out of a job's name, "<runnerSet>-<request id>"
// (contract.WorkflowJobName); false when name cannot be a job's.
func runnerSetOf(name string) (string, bool) {
	i := strings.LastIndexByte(name, '-')
	if i <= 0 {
		return "", false
	}
	id, err := strconv.ParseInt(name[i+1:], 10, 64)
	runnerSet := name[:i]
	if err != nil || id <= 0 || len(validation.IsValidLabelValue(runnerSet)) > 0 {
		return "", false
	}
	return runnerSet, true
}

func decodeOne(cm *corev1.ConfigMap, name, value string) (runtime.Object, error) {
	j, err := contract.DecodeJob(cm, name, value)
	if err == nil {
		var job *actions.WorkflowJob
		if job, err = toInternal(j); err == nil {
			return job, nil
		}
	}
	return nil, apierrors.NewInternalError(fmt.Errorf("job %s is recorded but cannot be read: %w", name, err))
}

// List reads every chunk the selection can be in, in the request's namespace or all served
// ones. It returns everything whatever the limit (the API lets a server ignore it): jobs are
// sorted across chunks, so a page of ConfigMaps is no page of jobs.
func (r *REST) List(ctx context.Context, opts *metainternalversion.ListOptions) (runtime.Object, error) {
	sel, err := newSelector(opts)
	if err != nil {
		return nil, err
	}
	listOpts := metav1.ListOptions{LabelSelector: sel.chunks()}
	if opts != nil {
		listOpts.ResourceVersion, listOpts.ResourceVersionMatch = opts.ResourceVersion, opts.ResourceVersionMatch
	}
	chunks, err := r.configMaps.ConfigMaps(genericapirequest.NamespaceValue(ctx)).List(ctx, listOpts)
	if err != nil {
		return nil, translate(err)
	}
	logger := klog.FromContext(ctx)
	decoded := make([]map[string]*actions.WorkflowJob, 0, len(chunks.Items))
	for i := range chunks.Items {
		decoded = append(decoded, decodeChunk(logger, &chunks.Items[i]))
	}
	jobs := pick(sel, decoded)
	out := &actions.WorkflowJobList{
		ListMeta: metav1.ListMeta{ResourceVersion: chunks.ResourceVersion},
		Items:    make([]actions.WorkflowJob, 0, len(jobs)),
	}
	for _, j := range jobs {
		out.Items = append(out.Items, *j)
	}
	return out, nil
}

// translate tells a user that the server lacks rights, rather than that she does.
func translate(err error) error {
	if apierrors.IsForbidden(err) {
		return apierrors.NewInternalError(fmt.Errorf("the server may not read job history ConfigMaps: %v", err))
	}
	return err
}
