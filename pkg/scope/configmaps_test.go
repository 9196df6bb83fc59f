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

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

func configMap(ns, name, rv string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, ResourceVersion: rv}}
}

// TestConfigMapsListsTheServedNamespacesOnly: as for pods, a list of all namespaces is the
// served namespaces' lists, at the first one's revision.
func TestConfigMapsListsTheServedNamespacesOnly(t *testing.T) {
	cs := fake.NewClientset(configMap("team-a", "a1", ""), configMap("team-b", "b1", ""), configMap("other", "o1", ""))
	n, _ := New([]string{"team-a", "team-b"})
	list, err := ConfigMaps(cs.CoreV1(), n).ConfigMaps("").List(context.Background(), metav1.ListOptions{Limit: 1})
	require.NoError(t, err)
	var names []string
	for _, cm := range list.Items {
		names = append(names, cm.Name)
	}
	assert.ElementsMatch(t, []string{"a1", "b1"}, names)
	assert.NotEmpty(t, list.ResourceVersion)
	require.Len(t, cs.Actions(), 2)
	second := cs.Actions()[1].(k8stesting.ListActionImpl).ListOptions
	assert.Equal(t, list.ResourceVersion, second.ResourceVersion)
	assert.Equal(t, metav1.ResourceVersionMatchExact, second.ResourceVersionMatch)

	one, err := ConfigMaps(cs.CoreV1(), n).ConfigMaps("team-b").List(context.Background(), metav1.ListOptions{})
	require.NoError(t, err)
	assert.Len(t, one.Items, 1)
	assert.Equal(t, cs.CoreV1(), ConfigMaps(cs.CoreV1(), All), "cluster mode reads as it is")
}

func TestConfigMapsWatchMergesTheServedNamespaces(t *testing.T) {
	cs := fake.NewClientset()
	fakes := map[string]*watch.FakeWatcher{"team-a": watch.NewFake(), "team-b": watch.NewFake()}
	cs.PrependWatchReactor("configmaps", func(a k8stesting.Action) (bool, watch.Interface, error) {
		return true, fakes[a.GetNamespace()], nil
	})
	n, _ := New([]string{"team-a", "team-b"})
	w, err := ConfigMaps(cs.CoreV1(), n).ConfigMaps("").Watch(context.Background(), metav1.ListOptions{})
	require.NoError(t, err)
	defer w.Stop()

	go fakes["team-b"].Add(configMap("team-b", "b1", "5"))
	assert.Equal(t, "b1", next(t, w).Object.(*corev1.ConfigMap).Name)
	end := func(rv string) *corev1.ConfigMap {
		cm := configMap("", "", rv)
		cm.Annotations = map[string]string{metav1.InitialEventsAnnotationKey: "true"}
		return cm
	}
	go func() {
		fakes["team-a"].Action(watch.Bookmark, configMap("", "", "6")) // team-a's alone: dropped
		fakes["team-a"].Action(watch.Bookmark, end("8"))
		fakes["team-b"].Action(watch.Bookmark, end("9"))
	}()
	ev := next(t, w)
	require.Equal(t, watch.Bookmark, ev.Type)
	assert.Equal(t, "9", ev.Object.(*corev1.ConfigMap).ResourceVersion)
}
