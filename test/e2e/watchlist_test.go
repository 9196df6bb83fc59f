//go:build e2e

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

package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/discovery"
	cacheddiscovery "k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/scale"
	"k8s.io/utils/ptr"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
)

// TestWatchResumeAndWatchList checks the resourceVersion semantics informers rely on: a watch
// started at a list's resourceVersion sees exactly what changed after it, and a watch-list
// stream (sendInitialEvents) ends its initial events with the annotated bookmark.
func TestWatchResumeAndWatchList(t *testing.T) {
	ns := namespace(t, "e2e-watchlist")
	rc := actionsClient(t, "admin").ActionsV1alpha1().RunnerSets(ns)
	create(t, runnerSet(ns, "a"))
	settled(t, ns, "a")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	list, err := rc.List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	_, err = rc.Patch(ctx, "a", types.MergePatchType, []byte(`{"spec":{"maxRunners":3}}`), metav1.PatchOptions{})
	require.NoError(t, err)
	w, err := rc.Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
	require.NoError(t, err)
	// The first change after the list's resourceVersion is the patch (the scaler's status
	// writes for it can only follow).
	ev := <-w.ResultChan()
	w.Stop()
	require.Equal(t, watch.Modified, ev.Type, "the change after the list's resourceVersion is replayed")
	assert.Equal(t, int32(3), *ev.Object.(*v1alpha1.RunnerSet).Spec.MaxRunners)

	create(t, runnerSet(ns, "b"))
	w, err = rc.Watch(ctx, metav1.ListOptions{
		SendInitialEvents:    ptr.To(true),
		AllowWatchBookmarks:  true,
		ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan,
	})
	require.NoError(t, err)
	defer w.Stop()
	var initial []string
	for ev := range w.ResultChan() {
		rs := ev.Object.(*v1alpha1.RunnerSet)
		if ev.Type == watch.Bookmark {
			assert.Equal(t, "true", rs.Annotations[metav1.InitialEventsAnnotationKey])
			assert.NotEmpty(t, rs.ResourceVersion)
			break
		}
		require.Equal(t, watch.Added, ev.Type)
		initial = append(initial, rs.Name)
	}
	assert.ElementsMatch(t, []string{"a", "b"}, initial)
}

// TestPolymorphicScaleClient drives /scale the way the HPA does: client-go's scale client,
// resolved through discovery.
func TestPolymorphicScaleClient(t *testing.T) {
	ns := namespace(t, "e2e-hpa")
	create(t, runnerSet(ns, "h"))
	settled(t, ns, "h")
	cfg := sys.RESTConfig("admin")
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	require.NoError(t, err)
	cached := cacheddiscovery.NewMemCacheClient(dc)
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(cached)
	sc, err := scale.NewForConfig(cfg, mapper, dynamic.LegacyAPIPathResolverFunc, scale.NewDiscoveryScaleKindResolver(cached))
	require.NoError(t, err)
	gr := schema.GroupResource{Group: "actions.dev", Resource: "runnersets"}

	s, err := sc.Scales(ns).Get(context.Background(), gr, "h", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, int32(1), s.Spec.Replicas)
	assert.Equal(t, "actions.dev/runnerset=h", s.Status.Selector)
	s.Spec.Replicas = 4
	_, err = sc.Scales(ns).Update(context.Background(), gr, s, metav1.UpdateOptions{})
	require.NoError(t, err)
	_, err = sc.Scales(ns).Patch(context.Background(), schema.GroupVersionResource{Group: "actions.dev", Version: "v1alpha1", Resource: "runnersets"},
		"h", types.MergePatchType, []byte(`{"spec":{"replicas":2}}`), metav1.PatchOptions{})
	require.NoError(t, err)
	got, err := actionsClient(t, "admin").ActionsV1alpha1().RunnerSets(ns).Get(context.Background(), "h", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, int32(2), *got.Spec.MinRunners)
}
