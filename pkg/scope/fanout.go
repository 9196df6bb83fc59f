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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
)

// ListEach lists every namespace of n with list, which keeps the items and returns the list's
// revision. Unless opts names a revision, the namespaces after the first are read exactly at the
// first one's, so that together they are one snapshot a watch can resume from. Paging is
// dropped: a continue token cannot span namespaces.
func ListEach(n Namespaces, opts metav1.ListOptions, list func(ns string, opts metav1.ListOptions) (string, error)) (string, error) {
	opts.Limit, opts.Continue = 0, ""
	rv := ""
	for i, ns := range n.list {
		o := opts
		if i > 0 && opts.ResourceVersion == "" {
			o.ResourceVersion, o.ResourceVersionMatch = rv, metav1.ResourceVersionMatchExact
		}
		got, err := list(ns, o)
		if err != nil {
			return "", err
		}
		if i == 0 {
			rv = got
		}
	}
	return rv, nil
}

// watchEach merges one watch per namespace of n (see merged); if one cannot start, those
// started are stopped.
func watchEach(n Namespaces, watchOne func(ns string) (watch.Interface, error)) (watch.Interface, error) {
	var sources []watch.Interface
	for _, ns := range n.list {
		w, err := watchOne(ns)
		if err != nil {
			for _, s := range sources {
				s.Stop()
			}
			return nil, err
		}
		sources = append(sources, w)
	}
	return merge(sources), nil
}
