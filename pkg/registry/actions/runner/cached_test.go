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

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"actions.dev/runnerset-apiserver/pkg/apis/actions"
	"actions.dev/runnerset-apiserver/pkg/runnerpods"
)

func cachedPod(name, uid, rv string) *corev1.Pod {
	p := onlinePod(name, "set")
	p.UID, p.ResourceVersion = types.UID(uid), rv
	return p
}

func TestCurrent(t *testing.T) {
	v := func(uid, rv string) runnerpods.Version {
		return runnerpods.Version{UID: types.UID(uid), ResourceVersion: rv}
	}
	read := map[string]runnerpods.Version{"ns/a": v("ua", "10"), "ns/b": v("ub", "12")}
	for _, tc := range []struct {
		name   string
		cached []*corev1.Pod
		rv     string
		want   bool
	}{
		{"same pods, same versions", []*corev1.Pod{cachedPod("a", "ua", "10"), cachedPod("b", "ub", "12")}, "20", true},
		{"a pod newer than the read", []*corev1.Pod{cachedPod("a", "ua", "10"), cachedPod("b", "ub", "25")}, "20", true},
		{"a pod created after the read", []*corev1.Pod{cachedPod("a", "ua", "10"), cachedPod("b", "ub", "12"), cachedPod("c", "uc", "21")}, "20", true},
		{"a pod older than the read", []*corev1.Pod{cachedPod("a", "ua", "10"), cachedPod("b", "ub", "11")}, "20", false},
		{"a pod the cache has not seen", []*corev1.Pod{cachedPod("a", "ua", "10")}, "20", false},
		{"a pod deleted before the read", []*corev1.Pod{cachedPod("a", "ua", "10"), cachedPod("b", "ub", "12"), cachedPod("c", "uc", "19")}, "20", false},
		{"a pod recreated under its name", []*corev1.Pod{cachedPod("a", "ua2", "15"), cachedPod("b", "ub", "12")}, "20", false},
		{"a revision that is not a number", []*corev1.Pod{cachedPod("a", "ua", "10"), cachedPod("b", "ub", "12")}, "x", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, current(tc.cached, read, tc.rv))
		})
	}
}

type fakeCache struct{ pods []*corev1.Pod }

func (f *fakeCache) HasSynced() bool { return true }
func (f *fakeCache) List(ns string) []*corev1.Pod {
	var out []*corev1.Pod
	for _, p := range f.pods {
		if ns == "" || p.Namespace == ns {
			out = append(out, p)
		}
	}
	return out
}

type fakeQuorum struct {
	versions map[string]runnerpods.Version
	rv       string
	reads    int
}

func (f *fakeQuorum) Versions(context.Context, string) (map[string]runnerpods.Version, string, error) {
	f.reads++
	return f.versions, f.rv, nil
}

// cachedREST serves three cached runner pods, "a", "b", "c", which a quorum read at revision 20
// finds as they are; listing pods from the kube-apiserver is counted.
func cachedREST(t *testing.T) (*REST, *fakeQuorum, *int) {
	cache := &fakeCache{pods: []*corev1.Pod{cachedPod("a", "ua", "10"), cachedPod("b", "ub", "11"), cachedPod("c", "uc", "12")}}
	q := &fakeQuorum{rv: "20", versions: map[string]runnerpods.Version{}}
	for _, p := range cache.pods {
		q.versions["ns/"+p.Name] = runnerpods.Version{UID: p.UID, ResourceVersion: p.ResourceVersion}
	}
	kube := fake.NewClientset()
	podLists := 0
	kube.PrependReactor("list", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		podLists++
		return true, &corev1.PodList{ListMeta: metav1.ListMeta{ResourceVersion: "30"}}, nil
	})
	rsets := &fakeRunnerSets{items: []actions.RunnerSet{runnerSetWithSession("set", metav1.ConditionTrue)}}
	return NewREST(kube.CoreV1(), kube.CoreV1(), rsets, nil, cache, q), q, &podLists
}

func names(list *actions.RunnerList) []string {
	var out []string
	for _, r := range list.Items {
		out = append(out, r.Name)
	}
	return out
}

// TestConsistentListFromCachePages: a consistent list the quorum read proves current is answered
// from the cache, paged from one snapshot with tokens of its own, at the quorum read's revision;
// a token that is gone is 410 Gone, as the kube-apiserver's expired ones.
func TestConsistentListFromCachePages(t *testing.T) {
	r, q, podLists := cachedREST(t)
	ctx := genericapirequest.WithNamespace(context.Background(), "ns")
	obj, err := r.List(ctx, &metainternalversion.ListOptions{Limit: 2})
	require.NoError(t, err)
	first := obj.(*actions.RunnerList)
	assert.Equal(t, []string{"a", "b"}, names(first))
	assert.Equal(t, "20", first.ResourceVersion)
	require.NotEmpty(t, first.Continue)
	require.NotNil(t, first.RemainingItemCount)
	assert.EqualValues(t, 1, *first.RemainingItemCount)

	obj, err = r.List(ctx, &metainternalversion.ListOptions{Limit: 2, Continue: first.Continue})
	require.NoError(t, err)
	second := obj.(*actions.RunnerList)
	assert.Equal(t, []string{"c"}, names(second))
	assert.Equal(t, "20", second.ResourceVersion)
	assert.Empty(t, second.Continue)
	assert.Equal(t, 0, *podLists, "no pod was read through")
	assert.Equal(t, 1, q.reads, "one quorum read per list, not per page")

	_, err = r.List(ctx, &metainternalversion.ListOptions{Limit: 2, Continue: first.Continue})
	assert.True(t, apierrors.IsResourceExpired(err), "a used token: %v", err)
}

// TestListReadsThroughUnlessProvenCurrent: a cache behind the quorum read, and lists at a given
// revision, are answered by the kube-apiserver.
func TestListReadsThroughUnlessProvenCurrent(t *testing.T) {
	ctx := genericapirequest.WithNamespace(context.Background(), "ns")
	r, q, podLists := cachedREST(t)
	q.versions["ns/d"] = runnerpods.Version{UID: "ud", ResourceVersion: "19"} // not in the cache
	obj, err := r.List(ctx, &metainternalversion.ListOptions{})
	require.NoError(t, err)
	assert.Equal(t, "30", obj.(*actions.RunnerList).ResourceVersion)
	assert.Equal(t, 1, *podLists)

	r, q, podLists = cachedREST(t)
	_, err = r.List(ctx, &metainternalversion.ListOptions{ResourceVersion: "0"})
	require.NoError(t, err)
	assert.Equal(t, 1, *podLists, "resourceVersion 0 reads through")
	assert.Equal(t, 0, q.reads)
}

// TestCachedListSelects: label and field selectors apply to the cached runners as to the pods.
func TestCachedListSelects(t *testing.T) {
	r, _, _ := cachedREST(t)
	ctx := genericapirequest.WithNamespace(context.Background(), "ns")
	sel, err := labels.Parse("actions.dev/runnerset=set")
	require.NoError(t, err)
	obj, err := r.List(ctx, &metainternalversion.ListOptions{LabelSelector: sel})
	require.NoError(t, err)
	assert.Len(t, obj.(*actions.RunnerList).Items, 3)
	sel, _ = labels.Parse("actions.dev/runnerset=other")
	obj, err = r.List(ctx, &metainternalversion.ListOptions{LabelSelector: sel})
	require.NoError(t, err)
	assert.Empty(t, obj.(*actions.RunnerList).Items)
}
