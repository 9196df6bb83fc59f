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

package runnerpods

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/metadata"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/scope"
)

// Version is who a pod is and which version of it a read saw.
type Version struct {
	UID             types.UID
	ResourceVersion string
}

// Quorum reads which runner pods exist, and at which version, with a consistent read of their
// metadata only: what a cache must match to answer for the current state.
type Quorum struct {
	Metadata metadata.Interface
	Served   scope.Namespaces
}

var podsResource = corev1.SchemeGroupVersion.WithResource("pods")

// Versions returns the runner pods of namespace ("": all served) by namespace/name and the
// revision they were read at.
func (q *Quorum) Versions(ctx context.Context, namespace string) (map[string]Version, string, error) {
	out := map[string]Version{}
	listOne := func(ns string, opts metav1.ListOptions) (string, error) {
		list, err := q.Metadata.Resource(podsResource).Namespace(ns).List(ctx, opts)
		if err != nil {
			return "", err
		}
		for i := range list.Items {
			m := &list.Items[i]
			out[m.Namespace+"/"+m.Name] = Version{UID: m.UID, ResourceVersion: m.ResourceVersion}
		}
		return list.ResourceVersion, nil
	}
	opts := metav1.ListOptions{LabelSelector: v1alpha1.LabelRunnerSet}
	if namespace != "" || q.Served.IsAll() {
		rv, err := listOne(namespace, opts)
		return out, rv, err
	}
	rv, err := scope.ListEach(q.Served, opts, listOne)
	return out, rv, err
}
