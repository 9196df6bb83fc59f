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

package configmapstore_test

import (
	"context"
	"errors"
	"sort"
	"strconv"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apiserver/pkg/storage"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"actions.dev/runnerset-apiserver/pkg/apis/actions"
	"actions.dev/runnerset-apiserver/pkg/apiserver"
	"actions.dev/runnerset-apiserver/pkg/registry/configmapstore"
)

// configMaps is a ConfigMap API with real resourceVersions (the fake clientset's tracker does
// not check them): an update with a stale one is a conflict. It counts requests by verb.
type configMaps struct {
	mu    sync.Mutex
	rv    int
	items map[string]*corev1.ConfigMap
	calls map[string]int
}

func newConfigMaps() (*configMaps, *fake.Clientset) {
	c := &configMaps{items: map[string]*corev1.ConfigMap{}, calls: map[string]int{}}
	cs := fake.NewClientset()
	cs.PrependReactor("*", "configmaps", func(a k8stesting.Action) (bool, runtime.Object, error) {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.calls[a.GetVerb()]++
		gr := corev1.Resource("configmaps")
		switch a.GetVerb() {
		case "get":
			a := a.(k8stesting.GetAction)
			cm, ok := c.items[a.GetNamespace()+"/"+a.GetName()]
			if !ok {
				return true, nil, apierrors.NewNotFound(gr, a.GetName())
			}
			return true, cm.DeepCopy(), nil
		case "create":
			a := a.(k8stesting.CreateAction)
			cm := a.GetObject().(*corev1.ConfigMap).DeepCopy()
			key := a.GetNamespace() + "/" + cm.Name
			if _, ok := c.items[key]; ok {
				return true, nil, apierrors.NewAlreadyExists(gr, cm.Name)
			}
			c.rv++
			cm.Namespace, cm.ResourceVersion, cm.UID = a.GetNamespace(), strconv.Itoa(c.rv), types.UID("uid-"+cm.Name)
			c.items[key] = cm
			return true, cm.DeepCopy(), nil
		case "update":
			a := a.(k8stesting.UpdateAction)
			cm := a.GetObject().(*corev1.ConfigMap).DeepCopy()
			key := a.GetNamespace() + "/" + cm.Name
			old, ok := c.items[key]
			if !ok {
				return true, nil, apierrors.NewNotFound(gr, cm.Name)
			}
			if cm.ResourceVersion != old.ResourceVersion {
				return true, nil, apierrors.NewConflict(gr, cm.Name, errors.New("the object has been modified"))
			}
			c.rv++
			cm.Namespace, cm.ResourceVersion = a.GetNamespace(), strconv.Itoa(c.rv)
			c.items[key] = cm
			return true, cm.DeepCopy(), nil
		case "list":
			a := a.(k8stesting.ListAction)
			sel := a.GetListRestrictions().Labels
			out := &corev1.ConfigMapList{ListMeta: metav1.ListMeta{ResourceVersion: strconv.Itoa(c.rv)}}
			for _, cm := range c.items {
				if (a.GetNamespace() == "" || cm.Namespace == a.GetNamespace()) && sel.Matches(labels.Set(cm.Labels)) {
					out.Items = append(out.Items, *cm.DeepCopy())
				}
			}
			sort.Slice(out.Items, func(i, j int) bool { return out.Items[i].Name < out.Items[j].Name })
			return true, out, nil
		case "delete":
			a := a.(k8stesting.DeleteAction)
			delete(c.items, a.GetNamespace()+"/"+a.GetName())
			return true, nil, nil
		}
		return false, nil, nil
	})
	return c, cs
}

// bumpBehindTheStoresBack changes the stored object as another replica would.
func (c *configMaps) bumpBehindTheStoresBack(t *testing.T, key string, change func(rs *actions.RunnerSet)) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	cm := c.items[key]
	rs := &actions.RunnerSet{}
	if _, _, err := apiserver.StorageCodec().Decode([]byte(cm.Data[configmapstore.DataKey]), nil, rs); err != nil {
		t.Fatal(err)
	}
	change(rs)
	data, err := runtime.Encode(apiserver.StorageCodec(), rs)
	if err != nil {
		t.Fatal(err)
	}
	cm = cm.DeepCopy()
	cm.Data[configmapstore.DataKey] = string(data)
	c.rv++
	cm.ResourceVersion = strconv.Itoa(c.rv)
	c.items[key] = cm
}

func (c *configMaps) reset() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.calls
	c.calls = map[string]int{}
	return out
}

func newStore(cs *fake.Clientset) *configmapstore.Store {
	return configmapstore.New(configmapstore.Config{
		Client:         cs.CoreV1(),
		Codec:          apiserver.StorageCodec(),
		GroupResource:  actions.Resource("runnersets"),
		ResourcePrefix: "/actions.dev/runnersets",
		MarkerLabel:    "actions.dev/runnerset",
		NamePrefix:     "runnerset.",
		NewFunc:        func() runtime.Object { return &actions.RunnerSet{} },
		NewListFunc:    func() runtime.Object { return &actions.RunnerSetList{} },
	})
}

// setMinRunners is an update like the registry's: it refuses a stale resourceVersion of the
// caller (expectRV, when set) and sets spec.minRunners.
func setMinRunners(n int32, expectRV string) storage.UpdateFunc {
	return func(input runtime.Object, _ storage.ResponseMeta) (runtime.Object, *uint64, error) {
		rs := input.(*actions.RunnerSet).DeepCopy()
		if expectRV != "" && rs.ResourceVersion != expectRV {
			return nil, nil, apierrors.NewConflict(actions.Resource("runnersets"), rs.Name, errors.New("stale"))
		}
		rs.Spec.MinRunners = &n
		return rs, nil, nil
	}
}

func TestGuaranteedUpdateStartsFromTheLastVersionSeen(t *testing.T) {
	ctx := context.Background()
	c, cs := newConfigMaps()
	s := newStore(cs)
	const key = "/actions.dev/runnersets/team-a/small"
	obj := &actions.RunnerSet{ObjectMeta: metav1.ObjectMeta{Name: "small", Namespace: "team-a"}}
	created := &actions.RunnerSet{}
	if err := s.Create(ctx, key, obj, created, 0); err != nil {
		t.Fatal(err)
	}
	c.reset()

	// Our own writes keep the last version: an update is one request.
	out := &actions.RunnerSet{}
	if err := s.GuaranteedUpdate(ctx, key, out, false, nil, setMinRunners(1, created.ResourceVersion), nil); err != nil {
		t.Fatal(err)
	}
	if calls := c.reset(); calls["get"] != 0 || calls["update"] != 1 {
		t.Errorf("update after create: calls %v, want one update and no get", calls)
	}
	if *out.Spec.MinRunners != 1 {
		t.Errorf("minRunners %d, want 1", *out.Spec.MinRunners)
	}

	// Another writer changed the ConfigMap: the optimistic write conflicts and the update is
	// redone on the fresh version, keeping the other writer's change.
	c.bumpBehindTheStoresBack(t, "team-a/runnerset.small", func(rs *actions.RunnerSet) { rs.Spec.RunnerGroup = "other" })
	if err := s.GuaranteedUpdate(ctx, key, out, false, nil, setMinRunners(2, ""), nil); err != nil {
		t.Fatal(err)
	}
	if calls := c.reset(); calls["get"] != 1 || calls["update"] != 2 {
		t.Errorf("update after a foreign write: calls %v, want update (conflict), get, update", calls)
	}
	if *out.Spec.MinRunners != 2 || out.Spec.RunnerGroup != "other" {
		t.Errorf("got minRunners %d, runnerGroup %q; want 2 and the other writer's %q", *out.Spec.MinRunners, out.Spec.RunnerGroup, "other")
	}

	// A caller holding the newest resourceVersion is not refused because of a stale cache.
	c.bumpBehindTheStoresBack(t, "team-a/runnerset.small", func(rs *actions.RunnerSet) { rs.Spec.RunnerGroup = "third" })
	fresh := &actions.RunnerSet{}
	if err := s.Get(ctx, key, storage.GetOptions{}, fresh); err != nil {
		t.Fatal(err)
	}
	if err := s.GuaranteedUpdate(ctx, key, out, false, nil, setMinRunners(3, fresh.ResourceVersion), nil); err != nil {
		t.Fatalf("update with the newest resourceVersion refused: %v", err)
	}
	if *out.Spec.MinRunners != 3 || out.Spec.RunnerGroup != "third" {
		t.Errorf("got minRunners %d, runnerGroup %q", *out.Spec.MinRunners, out.Spec.RunnerGroup)
	}
	// And one holding a stale resourceVersion still is.
	err := s.GuaranteedUpdate(ctx, key, out, false, nil, setMinRunners(4, created.ResourceVersion), nil)
	if !apierrors.IsConflict(err) {
		t.Errorf("update with a stale resourceVersion: %v, want a conflict", err)
	}

	// A no-op is decided on the stored version, not on a cached one.
	c.bumpBehindTheStoresBack(t, "team-a/runnerset.small", func(rs *actions.RunnerSet) { four := int32(4); rs.Spec.MinRunners = &four })
	c.reset()
	if err := s.GuaranteedUpdate(ctx, key, out, false, nil, setMinRunners(3, ""), nil); err != nil {
		t.Fatal(err)
	}
	if *out.Spec.MinRunners != 3 {
		t.Errorf("minRunners %d after setting 3 over a foreign 4", *out.Spec.MinRunners)
	}

	// Deleted behind the store's back: NotFound, not a write.
	if err := cs.CoreV1().ConfigMaps("team-a").Delete(ctx, "runnerset.small", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	err = s.GuaranteedUpdate(ctx, key, out, false, nil, setMinRunners(5, ""), nil)
	if !storage.IsNotFound(err) {
		t.Errorf("update of a deleted object: %v, want not found", err)
	}
}
