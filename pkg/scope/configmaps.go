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

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
)

// ConfigMaps is getter, except that in namespaced mode the ConfigMaps of all namespaces ("")
// are read namespace by namespace, so that what is read across namespaces comes from the served
// ones only (as Pods does).
func ConfigMaps(getter corev1client.ConfigMapsGetter, n Namespaces) corev1client.ConfigMapsGetter {
	if n.IsAll() {
		return getter
	}
	return configMapFanOut{getter: getter, n: n}
}

type configMapFanOut struct {
	getter corev1client.ConfigMapsGetter
	n      Namespaces
}

func (f configMapFanOut) ConfigMaps(namespace string) corev1client.ConfigMapInterface {
	if namespace != "" {
		return f.getter.ConfigMaps(namespace)
	}
	return allConfigMaps{ConfigMapInterface: f.getter.ConfigMaps(""), f: f}
}

// allConfigMaps answers List and Watch across the served namespaces; everything else of the
// embedded interface is cluster-wide.
type allConfigMaps struct {
	corev1client.ConfigMapInterface
	f configMapFanOut
}

// List reads every served namespace at one revision; it is not paged.
func (a allConfigMaps) List(ctx context.Context, opts metav1.ListOptions) (*corev1.ConfigMapList, error) {
	out := &corev1.ConfigMapList{}
	rv, err := ListEach(a.f.n, opts, func(ns string, o metav1.ListOptions) (string, error) {
		l, err := a.f.getter.ConfigMaps(ns).List(ctx, o)
		if err != nil {
			return "", err
		}
		out.Items = append(out.Items, l.Items...)
		return l.ResourceVersion, nil
	})
	if err != nil {
		return nil, err
	}
	out.ResourceVersion = rv
	return out, nil
}

// Watch merges one watch per served namespace, as allPods.Watch.
func (a allConfigMaps) Watch(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
	return watchEach(a.f.n, func(ns string) (watch.Interface, error) {
		return a.f.getter.ConfigMaps(ns).Watch(ctx, opts)
	})
}
