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

package scope

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

func TestNew(t *testing.T) {
	n, err := New([]string{"team-b", " team-a", "", "team-b"})
	require.NoError(t, err)
	assert.Equal(t, []string{"team-a", "team-b"}, n.List())
	assert.True(t, n.Contains("team-a"))
	assert.False(t, n.Contains("team-c"))
	assert.Equal(t, "team-a, team-b", n.String())

	all, err := New(nil)
	require.NoError(t, err)
	assert.True(t, all.IsAll())
	assert.True(t, all.Contains("anything"))

	_, err = New([]string{"Team_A"})
	assert.ErrorContains(t, err, `namespace "Team_A"`)
}

func pod(ns, name string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"runner": "yes"}}}
}

// TestPodsListsTheServedNamespacesOnly: in namespaced mode a list of all namespaces is the
// served namespaces' lists, never a cluster-wide one (RBAC would refuse it).
func TestPodsListsTheServedNamespacesOnly(t *testing.T) {
	cs := fake.NewClientset(pod("team-a", "a1"), pod("team-b", "b1"), pod("other", "o1"))
	n, _ := New([]string{"team-a", "team-b"})
	list, err := Pods(cs.CoreV1(), n).Pods("").List(context.Background(), metav1.ListOptions{Limit: 1})
	require.NoError(t, err)
	var names []string
	for _, p := range list.Items {
		names = append(names, p.Name)
	}
	assert.ElementsMatch(t, []string{"a1", "b1"}, names, "every served namespace, whole (not paged)")
	assert.Empty(t, list.Continue)
	for _, a := range cs.Actions() {
		assert.NotEmpty(t, a.GetNamespace(), "no cluster-wide %s", a.GetVerb())
	}

	one, err := Pods(cs.CoreV1(), n).Pods("team-a").List(context.Background(), metav1.ListOptions{})
	require.NoError(t, err)
	assert.Len(t, one.Items, 1)
	assert.Equal(t, cs.CoreV1(), Pods(cs.CoreV1(), All), "cluster mode reads as it is")
}

// watchers makes the fake clientset hand out one fake watch per namespace.
func watchers(cs *fake.Clientset, namespaces ...string) map[string]*watch.FakeWatcher {
	out := map[string]*watch.FakeWatcher{}
	for _, ns := range namespaces {
		out[ns] = watch.NewFake()
	}
	cs.PrependWatchReactor("pods", func(a k8stesting.Action) (bool, watch.Interface, error) {
		return true, out[a.GetNamespace()], nil
	})
	return out
}

func next(t *testing.T, w watch.Interface) watch.Event {
	t.Helper()
	select {
	case ev, ok := <-w.ResultChan():
		require.True(t, ok, "the merged watch ended")
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no event")
		return watch.Event{}
	}
}

func bookmark(rv string, initialEnd bool) runtime.Object {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{ResourceVersion: rv}}
	if initialEnd {
		p.Annotations = map[string]string{metav1.InitialEventsAnnotationKey: "true"}
	}
	return p
}

func TestPodsWatchMergesTheServedNamespaces(t *testing.T) {
	cs := fake.NewClientset()
	fakes := watchers(cs, "team-a", "team-b")
	n, _ := New([]string{"team-a", "team-b"})
	w, err := Pods(cs.CoreV1(), n).Pods("").Watch(context.Background(), metav1.ListOptions{})
	require.NoError(t, err)

	go fakes["team-a"].Add(pod("team-a", "a1"))
	assert.Equal(t, "a1", next(t, w).Object.(*corev1.Pod).Name)
	go func() {
		fakes["team-b"].Action(watch.Bookmark, bookmark("7", false)) // speaks for team-b only: dropped
		fakes["team-a"].Action(watch.Bookmark, bookmark("9", true))
		fakes["team-b"].Action(watch.Bookmark, bookmark("8", true))
	}()
	ev := next(t, w)
	require.Equal(t, watch.Bookmark, ev.Type)
	assert.Equal(t, "9", ev.Object.(*corev1.Pod).ResourceVersion, "one end of the initial events, once every namespace sent its own")
	go fakes["team-b"].Add(pod("team-b", "b1"))
	assert.Equal(t, "b1", next(t, w).Object.(*corev1.Pod).Name)

	fakes["team-b"].Stop()
	select {
	case _, ok := <-w.ResultChan():
		assert.False(t, ok, "one namespace's watch ending ends the merged watch")
	case <-time.After(10 * time.Second):
		t.Fatal("the merged watch did not end")
	}
	assert.True(t, fakes["team-a"].IsStopped(), "and stops the others")
}
