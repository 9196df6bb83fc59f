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
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"actions.dev/runnerset-apiserver/pkg/apis/actions"
	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/contract"
	"actions.dev/runnerset-apiserver/pkg/scope"
)

// t0 is when the tests' first job was queued.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// job is the record of request id of runnerSet, queued minutes after t0 and now in phase.
func job(runnerSet string, id int64, minutes int, phase v1alpha1.WorkflowJobPhase) v1alpha1.WorkflowJobStatus {
	queued := metav1.NewTime(t0.Add(time.Duration(minutes) * time.Minute))
	return v1alpha1.WorkflowJobStatus{
		RunnerSet: runnerSet, Phase: phase, RequestID: id, Repository: "acme/app", DisplayName: "build",
		Queued:      &queued,
		Transitions: []v1alpha1.WorkflowJobTransition{{Phase: v1alpha1.JobQueued, Time: queued}},
	}
}

// chunk is job history chunk seq of runnerSet in ns at revision rv, holding jobs.
func chunk(t *testing.T, ns, runnerSet string, seq int, rv string, jobs ...v1alpha1.WorkflowJobStatus) *corev1.ConfigMap {
	t.Helper()
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: ns, Name: contract.JobHistoryName(runnerSet, seq), ResourceVersion: rv,
			Labels: map[string]string{contract.LabelJobHistory: runnerSet},
		},
		Data: map[string]string{},
	}
	for i := range jobs {
		value, err := contract.EncodeJob(&jobs[i])
		require.NoError(t, err)
		cm.Data[contract.WorkflowJobName(runnerSet, jobs[i].RequestID)] = value
	}
	return cm
}

func inNamespace(ns string) context.Context {
	return genericapirequest.WithNamespace(context.Background(), ns)
}

// history is two RunnerSets' jobs in team-a, one's in team-b, and two ConfigMaps that are no
// chunks.
func history(t *testing.T) []runtime.Object {
	return []runtime.Object{
		chunk(t, "team-a", "build", 0, "11",
			job("build", 1, 0, v1alpha1.JobSucceeded), job("build", 2, 5, v1alpha1.JobRunning)),
		chunk(t, "team-a", "build", 1, "12", job("build", 3, 2, v1alpha1.JobQueued)),
		chunk(t, "team-a", "deploy-eu", 0, "13", job("deploy-eu", 9, 1, v1alpha1.JobRunning)),
		chunk(t, "team-b", "build", 0, "14", job("build", 4, 3, v1alpha1.JobFailed)),
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "build-5"}, Data: map[string]string{"build-5": "{}"}},
		misnamed(chunk(t, "team-a", "build", 2, "16", job("build", 6, 4, v1alpha1.JobQueued))),
	}
}

// misnamed is cm under a name that is no chunk's: it has the label but the scaler never wrote it.
func misnamed(cm *corev1.ConfigMap) *corev1.ConfigMap {
	cm.Name = "build-history"
	return cm
}

func TestGet(t *testing.T) {
	undecodable := chunk(t, "team-a", "broken", 0, "15")
	undecodable.Data["broken-1"] = "{not json"
	tests := []struct {
		name, ns, job string
		wantPhase     v1alpha1.WorkflowJobPhase
		wantRV        string
		wantErr       func(error) bool
	}{
		{name: "in the first chunk", ns: "team-a", job: "build-2", wantPhase: v1alpha1.JobRunning, wantRV: "11"},
		{name: "in a later chunk", ns: "team-a", job: "build-3", wantPhase: v1alpha1.JobQueued, wantRV: "12"},
		{name: "a RunnerSet name with dashes", ns: "team-a", job: "deploy-eu-9", wantPhase: v1alpha1.JobRunning, wantRV: "13"},
		{name: "no such request", ns: "team-a", job: "build-8", wantErr: apierrors.IsNotFound},
		{name: "another namespace's job", ns: "team-b", job: "build-2", wantErr: apierrors.IsNotFound},
		{name: "a ConfigMap that is no chunk", ns: "team-a", job: "build-5", wantErr: apierrors.IsNotFound},
		{name: "a labelled ConfigMap that is no chunk", ns: "team-a", job: "build-6", wantErr: apierrors.IsNotFound},
		{name: "no request id", ns: "team-a", job: "build", wantErr: apierrors.IsNotFound},
		{name: "a request id that is no number", ns: "team-a", job: "build-x", wantErr: apierrors.IsNotFound},
		{name: "no RunnerSet", ns: "team-a", job: "-2", wantErr: apierrors.IsNotFound},
		{name: "a record that does not decode", ns: "team-a", job: "broken-1", wantErr: apierrors.IsInternalError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs := fake.NewClientset(append(history(t), undecodable)...)
			obj, err := NewREST(cs.CoreV1()).Get(inNamespace(tt.ns), tt.job, &metav1.GetOptions{})
			if tt.wantErr != nil {
				require.Error(t, err)
				assert.True(t, tt.wantErr(err), "unexpected error %v", err)
				if apierrors.IsNotFound(err) {
					assert.Equal(t, groupResource.Resource, err.(apierrors.APIStatus).Status().Details.Kind)
				}
				return
			}
			require.NoError(t, err)
			j := obj.(*actions.WorkflowJob)
			assert.Equal(t, tt.job, j.Name)
			assert.Equal(t, tt.ns, j.Namespace)
			assert.Equal(t, actions.WorkflowJobPhase(tt.wantPhase), j.Status.Phase)
			assert.Equal(t, tt.wantRV, j.ResourceVersion, "the chunk's revision")
		})
	}
}

// TestGetReadsOneRunnerSetsChunks: a get lists the chunks of the RunnerSet its name names, and
// no request is made for a name no job can have.
func TestGetReadsOneRunnerSetsChunks(t *testing.T) {
	cs := fake.NewClientset(history(t)...)
	r := NewREST(cs.CoreV1())
	_, err := r.Get(inNamespace("team-a"), "deploy-eu-9", &metav1.GetOptions{ResourceVersion: "0"})
	require.NoError(t, err)
	require.Len(t, cs.Actions(), 1)
	list := cs.Actions()[0].(k8stesting.ListActionImpl)
	assert.Equal(t, "actions.dev/workflowjobs=deploy-eu", list.ListOptions.LabelSelector)
	assert.Equal(t, "0", list.ListOptions.ResourceVersion)

	_, err = r.Get(inNamespace("team-a"), "not_a_job", &metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err))
	assert.Len(t, cs.Actions(), 1)
}

func names(list *actions.WorkflowJobList) []string {
	out := []string{}
	for _, j := range list.Items {
		out = append(out, j.Namespace+"/"+j.Name)
	}
	return out
}

func TestList(t *testing.T) {
	tests := []struct {
		name          string
		ns            string
		fields        string
		labels        string
		want          []string
		wantChunksSel string
	}{
		{name: "a namespace, oldest first", ns: "team-a",
			want: []string{"team-a/build-1", "team-a/deploy-eu-9", "team-a/build-3", "team-a/build-2"}, wantChunksSel: "actions.dev/workflowjobs"},
		{name: "all namespaces", ns: "",
			want: []string{"team-a/build-1", "team-a/deploy-eu-9", "team-a/build-3", "team-a/build-2", "team-b/build-4"}},
		{name: "by phase", ns: "team-a", fields: "status.phase=Running",
			want: []string{"team-a/deploy-eu-9", "team-a/build-2"}},
		{name: "by phase, excluded", ns: "", fields: "status.phase!=Running",
			want: []string{"team-a/build-1", "team-a/build-3", "team-b/build-4"}},
		{name: "by RunnerSet, whose chunks only are read", ns: "team-a", fields: "status.runnerSet=deploy-eu",
			want: []string{"team-a/deploy-eu-9"}, wantChunksSel: "actions.dev/workflowjobs=deploy-eu"},
		{name: "by RunnerSet and phase", ns: "", fields: "status.runnerSet=build,status.phase=Failed",
			want: []string{"team-b/build-4"}, wantChunksSel: "actions.dev/workflowjobs=build"},
		{name: "by name and namespace", ns: "", fields: "metadata.name=build-3,metadata.namespace=team-a",
			want: []string{"team-a/build-3"}},
		{name: "by the RunnerSet label", ns: "team-a", labels: "actions.dev/runnerset=build",
			want: []string{"team-a/build-1", "team-a/build-3", "team-a/build-2"}, wantChunksSel: "actions.dev/workflowjobs=build"},
		{name: "by a label no job has", ns: "team-a", labels: "team=x", want: []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs := fake.NewClientset(history(t)...)
			opts := &metainternalversion.ListOptions{
				FieldSelector: fields.ParseSelectorOrDie(tt.fields), LabelSelector: mustLabels(t, tt.labels),
				Limit: 1, // not paged: everything comes at once
			}
			obj, err := NewREST(cs.CoreV1()).List(inNamespace(tt.ns), opts)
			require.NoError(t, err)
			list := obj.(*actions.WorkflowJobList)
			assert.Equal(t, tt.want, names(list))
			assert.Empty(t, list.Continue)
			assert.NotEmpty(t, list.ResourceVersion, "the ConfigMap list's")
			if tt.wantChunksSel != "" {
				assert.Equal(t, tt.wantChunksSel, cs.Actions()[0].(k8stesting.ListActionImpl).ListOptions.LabelSelector)
			}
		})
	}
}

func mustLabels(t *testing.T, s string) labels.Selector {
	t.Helper()
	sel, err := labels.Parse(s)
	require.NoError(t, err)
	return sel
}

func TestListRefusesOtherFields(t *testing.T) {
	cs := fake.NewClientset(history(t)...)
	_, err := NewREST(cs.CoreV1()).List(inNamespace("team-a"), &metainternalversion.ListOptions{
		FieldSelector: fields.ParseSelectorOrDie("status.runner=r1"),
	})
	require.Error(t, err)
	assert.True(t, apierrors.IsBadRequest(err))
	assert.ErrorContains(t, err, "status.runner")
	assert.ErrorContains(t, err, "metadata.name, metadata.namespace, status.runnerSet, status.phase")
	assert.Empty(t, cs.Actions(), "refused before reading")

	_, _, err = ConvertFieldLabel("spec.x", "y")
	assert.ErrorContains(t, err, "field label not supported: spec.x")
	label, value, err := ConvertFieldLabel("status.phase", "Lost")
	require.NoError(t, err)
	assert.Equal(t, []string{"status.phase", "Lost"}, []string{label, value})
}

// TestListSkipsUndecodableRecords: one bad record hides nothing else.
func TestListSkipsUndecodableRecords(t *testing.T) {
	bad := chunk(t, "team-b", "build", 1, "15", job("build", 6, 9, v1alpha1.JobQueued))
	bad.Data["build-7"] = `{"phase": 3}`
	cs := fake.NewClientset(history(t)[3], bad)
	obj, err := NewREST(cs.CoreV1()).List(inNamespace("team-b"), &metainternalversion.ListOptions{})
	require.NoError(t, err)
	assert.Equal(t, []string{"team-b/build-4", "team-b/build-6"}, names(obj.(*actions.WorkflowJobList)))
}

// TestListAcrossServedNamespaces: in namespaced mode, a list of all namespaces reads the served
// ones only.
func TestListAcrossServedNamespaces(t *testing.T) {
	cs := fake.NewClientset(history(t)...)
	served, err := scope.New([]string{"team-b"})
	require.NoError(t, err)
	obj, err := NewREST(scope.ConfigMaps(cs.CoreV1(), served)).List(inNamespace(""), &metainternalversion.ListOptions{})
	require.NoError(t, err)
	assert.Equal(t, []string{"team-b/build-4"}, names(obj.(*actions.WorkflowJobList)))
	for _, a := range cs.Actions() {
		assert.Equal(t, "team-b", a.GetNamespace())
	}
}

func TestResourceNames(t *testing.T) {
	r := NewREST(fake.NewClientset().CoreV1())
	assert.Equal(t, "WorkflowJob", r.Kind())
	assert.Equal(t, "workflowjob", r.GetSingularName())
	assert.Equal(t, []string{"wfj"}, r.ShortNames())
	assert.Equal(t, []string{"actions"}, r.Categories(), "as runnersets and runners")
	assert.True(t, r.NamespaceScoped())
	assert.IsType(t, &actions.WorkflowJob{}, r.New())
	assert.IsType(t, &actions.WorkflowJobList{}, r.NewList())
}
