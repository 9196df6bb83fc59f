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

package configmapstore

import (
	"reflect"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
)

// decodedCache keeps, by ConfigMap, the object last decoded from it and the version it was
// decoded from. A ConfigMap's resourceVersion changes with every write, so an object decoded,
// verified and validated at that version is what decoding it again would give: lists copy it
// instead of checking the signature and decoding every stored object each time (a runner list
// reads every RunnerSet).
type decodedCache struct {
	mu      sync.Mutex
	entries map[string]decodedEntry
}

type decodedEntry struct {
	uid types.UID
	rv  string
	obj runtime.Object
}

// get copies into out the object decoded from cm at its version, if there is one.
func (c *decodedCache) get(cm *corev1.ConfigMap, out runtime.Object) bool {
	c.mu.Lock()
	e, ok := c.entries[cm.Namespace+"/"+cm.Name]
	c.mu.Unlock()
	if !ok || e.rv != cm.ResourceVersion || e.uid != cm.UID || cm.ResourceVersion == "" {
		return false
	}
	dst, src := reflect.ValueOf(out), reflect.ValueOf(e.obj.DeepCopyObject())
	if dst.Type() != src.Type() || dst.Kind() != reflect.Pointer {
		return false
	}
	dst.Elem().Set(src.Elem())
	return true
}

// put keeps a copy of obj, decoded from cm.
func (c *decodedCache) put(cm *corev1.ConfigMap, obj runtime.Object) {
	if cm.ResourceVersion == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[string]decodedEntry{}
	}
	c.entries[cm.Namespace+"/"+cm.Name] = decodedEntry{uid: cm.UID, rv: cm.ResourceVersion, obj: obj.DeepCopyObject()}
}

func (c *decodedCache) forget(namespace, configMap string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, namespace+"/"+configMap)
}
