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

// trimForCache drops, before an object enters the scaler's informer caches, what the scaler never
// reads: managed fields (about a third of a runner pod), a pod's spec but for its node, restart
// policy and service account (pods are rendered from the RunnerSet and judged by their status
// and annotations), and the values of runner Secrets (the JIT configuration, which only the
// runner reads; the scaler only asks whether a key is there, so the keys stay, with empty
// values). Nothing in the caches is written back. With thousands of runners the caches are most
// of the server's memory; this halves them.
func trimForCache(obj any) (any, error) {
	if m, err := meta.Accessor(obj); err == nil {
		m.SetManagedFields(nil)
	}
	switch o := obj.(type) {
	case *corev1.Pod:
		o.Spec = corev1.PodSpec{NodeName: o.Spec.NodeName, RestartPolicy: o.Spec.RestartPolicy, ServiceAccountName: o.Spec.ServiceAccountName}
	case *corev1.Secret:
		for k := range o.Data {
			o.Data[k] = []byte{}
		}
		o.StringData = nil
	}
	return obj, nil
}
