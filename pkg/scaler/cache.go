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

package scaler

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
)

// trimForCache drops, before a runner Secret enters the scaler's cache, what the scaler never
// reads: managed fields and the values (the JIT configuration, which only the runner reads; the
// scaler only asks whether a key is there, so the keys stay, with empty values). Nothing in the
// cache is written back. Pods are trimmed by runnerpods.Trim.
func trimForCache(obj any) (any, error) {
	if m, err := meta.Accessor(obj); err == nil {
		m.SetManagedFields(nil)
	}
	if o, ok := obj.(*corev1.Secret); ok {
		for k := range o.Data {
			o.Data[k] = []byte{}
		}
		o.StringData = nil
	}
	return obj, nil
}
