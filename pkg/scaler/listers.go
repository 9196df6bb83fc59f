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
	"k8s.io/apimachinery/pkg/labels"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
)

// podListers and secretListers read each namespace from the informer of that namespace
// (namespaced mode has one per served namespace; cluster mode one, under ""). A namespace
// without an informer has no runners.
type podListers map[string]corelisters.PodLister

func (p podListers) lister() corelisters.PodLister {
	if l, ok := p[""]; ok {
		return l
	}
	return p
}

func (p podListers) List(sel labels.Selector) ([]*corev1.Pod, error) {
	var out []*corev1.Pod
	for _, l := range p {
		pods, err := l.List(sel)
		if err != nil {
			return nil, err
		}
		out = append(out, pods...)
	}
	return out, nil
}

func (p podListers) Pods(namespace string) corelisters.PodNamespaceLister {
	if l, ok := p[namespace]; ok {
		return l.Pods(namespace)
	}
	return corelisters.NewPodLister(cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})).Pods(namespace)
}

type secretListers map[string]corelisters.SecretLister

func (s secretListers) lister() corelisters.SecretLister {
	if l, ok := s[""]; ok {
		return l
	}
	return s
}

func (s secretListers) List(sel labels.Selector) ([]*corev1.Secret, error) {
	var out []*corev1.Secret
	for _, l := range s {
		secrets, err := l.List(sel)
		if err != nil {
			return nil, err
		}
		out = append(out, secrets...)
	}
	return out, nil
}

func (s secretListers) Secrets(namespace string) corelisters.SecretNamespaceLister {
	if l, ok := s[namespace]; ok {
		return l.Secrets(namespace)
	}
	return corelisters.NewSecretLister(cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})).Secrets(namespace)
}

// quotaListers read each namespace's ResourceQuotas, like podListers.
type quotaListers map[string]corelisters.ResourceQuotaLister

func (q quotaListers) lister() corelisters.ResourceQuotaLister {
	if l, ok := q[""]; ok {
		return l
	}
	return q
}

func (q quotaListers) List(sel labels.Selector) ([]*corev1.ResourceQuota, error) {
	var out []*corev1.ResourceQuota
	for _, l := range q {
		quotas, err := l.List(sel)
		if err != nil {
			return nil, err
		}
		out = append(out, quotas...)
	}
	return out, nil
}

func (q quotaListers) ResourceQuotas(namespace string) corelisters.ResourceQuotaNamespaceLister {
	if l, ok := q[namespace]; ok {
		return l.ResourceQuotas(namespace)
	}
	return corelisters.NewResourceQuotaLister(cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})).ResourceQuotas(namespace)
}
