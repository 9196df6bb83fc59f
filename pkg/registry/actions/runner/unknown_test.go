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

package runner

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/client-go/kubernetes/fake"

	"actions.dev/runnerset-apiserver/pkg/apis/actions"
	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
)

type fakeRunnerSets struct{ items []actions.RunnerSet }

func (f *fakeRunnerSets) List(context.Context, *metainternalversion.ListOptions) (runtime.Object, error) {
	return &actions.RunnerSetList{Items: f.items}, nil
}

func (f *fakeRunnerSets) Get(ctx context.Context, name string, _ *metav1.GetOptions) (runtime.Object, error) {
	for i := range f.items {
		if f.items[i].Name == name && f.items[i].Namespace == genericapirequest.NamespaceValue(ctx) {
			return &f.items[i], nil
		}
	}
	return nil, apierrors.NewNotFound(actions.Resource("runnersets"), name)
}

func runnerSetWithSession(name string, status metav1.ConditionStatus) actions.RunnerSet {
	return actions.RunnerSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns"},
		Status: actions.RunnerSetStatus{Conditions: []metav1.Condition{{
			Type: actions.ConditionSessionActive, Status: status, Reason: "Test",
		}}},
	}
}

func onlinePod(name, set string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: map[string]string{v1alpha1.LabelRunnerSet: set},
			Annotations: map[string]string{v1alpha1.AnnotationRunnerID: "3", v1alpha1.AnnotationRunnerOnline: "true"}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning},
	}
}

// TestGitHubSideUnknownWithoutASession: while a RunnerSet has no session (GitHub unreachable,
// say), its runners' GitHub status is "unknown" instead of the last thing GitHub said, in lists
// and gets; runners of a RunnerSet with a session are as recorded. (Fault suite, R3.)
func TestGitHubSideUnknownWithoutASession(t *testing.T) {
	kube := fake.NewClientset(onlinePod("up-abcde", "up"), onlinePod("down-abcde", "down"))
	rsets := &fakeRunnerSets{items: []actions.RunnerSet{
		runnerSetWithSession("up", metav1.ConditionTrue), runnerSetWithSession("down", metav1.ConditionFalse),
	}}
	r := NewREST(kube.CoreV1(), kube.CoreV1(), rsets, nil, nil, nil)
	ctx := genericapirequest.WithNamespace(context.Background(), "ns")

	obj, err := r.List(ctx, &metainternalversion.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, item := range obj.(*actions.RunnerList).Items {
		got[item.Name] = item.Status.GitHub.Status
	}
	if got["up-abcde"] != "online" || got["down-abcde"] != GitHubUnknown {
		t.Errorf("list: GitHub status %v, want up-abcde online and down-abcde unknown", got)
	}
	obj, err = r.Get(ctx, "down-abcde", &metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s := obj.(*actions.Runner).Status.GitHub.Status; s != GitHubUnknown {
		t.Errorf("get: GitHub status %q, want unknown", s)
	}
	table, err := r.ConvertToTable(ctx, obj, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cell := table.Rows[0].Cells[2]; cell != GitHubUnknown {
		t.Errorf("table GITHUB column %v, want unknown", cell)
	}
}
