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

// Package runnerpods is the server's one cache of runner pods. Every replica keeps it: the
// runners API reads from it, and the scaler, on the leader, works from the same informers, so
// the leader does not hold the pods twice.
package runnerpods

import (
	"context"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/scope"
)

// Cache holds the runner pods (those with the RunnerSet label) of the served namespaces: one
// informer for every namespace in cluster mode, one per served namespace in namespaced mode.
type Cache struct {
	factories map[string]informers.SharedInformerFactory
	informers map[string]cache.SharedIndexInformer
}

// New builds the cache; nothing is read until Start.
func New(kube kubernetes.Interface, served scope.Namespaces) *Cache {
	namespaces := served.List()
	if len(namespaces) == 0 {
		namespaces = []string{metav1.NamespaceAll}
	}
	selector := func(o *metav1.ListOptions) { o.LabelSelector = v1alpha1.LabelRunnerSet }
	c := &Cache{factories: map[string]informers.SharedInformerFactory{}, informers: map[string]cache.SharedIndexInformer{}}
	for _, ns := range namespaces {
		f := informers.NewSharedInformerFactoryWithOptions(kube, 10*time.Minute, informers.WithNamespace(ns),
			informers.WithTweakListOptions(selector), informers.WithTransform(Trim))
		c.factories[ns] = f
		c.informers[ns] = f.Core().V1().Pods().Informer()
	}
	return c
}

// Start runs the informers until ctx ends.
func (c *Cache) Start(ctx context.Context) {
	for _, f := range c.factories {
		f.Start(ctx.Done())
	}
}

// Informers are the informers by namespace ("" for all in cluster mode), for handlers of their
// own (the scaler's).
func (c *Cache) Informers() map[string]cache.SharedIndexInformer { return c.informers }

// HasSynced says whether every informer has listed its pods once.
func (c *Cache) HasSynced() bool {
	for _, inf := range c.informers {
		if !inf.HasSynced() {
			return false
		}
	}
	return true
}

// List returns the cached runner pods of namespace ("": all), sorted by namespace and name, the
// order of the kube-apiserver's lists. The pods are shared with the informers: read only.
func (c *Cache) List(namespace string) []*corev1.Pod {
	var out []*corev1.Pod
	for ns, inf := range c.informers {
		var objs []any
		switch {
		case namespace == "":
			objs = inf.GetStore().List()
		case ns == "" || ns == namespace:
			objs, _ = inf.GetIndexer().ByIndex(cache.NamespaceIndex, namespace)
		}
		for _, o := range objs {
			if pod, ok := o.(*corev1.Pod); ok {
				out = append(out, pod)
			}
		}
	}
	slices.SortFunc(out, func(a, b *corev1.Pod) int {
		if n := strings.Compare(a.Namespace, b.Namespace); n != 0 {
			return n
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}

// Trim drops, before a pod enters the cache, what neither the scaler nor the runners view
// reads: managed fields (about a third of a runner pod) and the spec but for its node, restart
// policy and service account (pods are rendered from the RunnerSet and judged by their status
// and annotations). Nothing in the cache is written back. With thousands of runners the cache
// is most of the server's memory; this halves it.
func Trim(obj any) (any, error) {
	if m, err := meta.Accessor(obj); err == nil {
		m.SetManagedFields(nil)
	}
	if pod, ok := obj.(*corev1.Pod); ok {
		pod.Spec = corev1.PodSpec{NodeName: pod.Spec.NodeName, RestartPolicy: pod.Spec.RestartPolicy, ServiceAccountName: pod.Spec.ServiceAccountName}
	}
	return obj, nil
}
