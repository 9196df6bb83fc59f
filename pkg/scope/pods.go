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
	"strconv"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
)

// Pods is getter, except that in namespaced mode the pods of all namespaces ("") are read
// namespace by namespace: the server may not list or watch pods cluster-wide there.
func Pods(getter corev1client.PodsGetter, n Namespaces) corev1client.PodsGetter {
	if n.IsAll() {
		return getter
	}
	return fanOut{getter: getter, n: n}
}

type fanOut struct {
	getter corev1client.PodsGetter
	n      Namespaces
}

func (f fanOut) Pods(namespace string) corev1client.PodInterface {
	if namespace != "" {
		return f.getter.Pods(namespace)
	}
	return allPods{PodInterface: f.getter.Pods(""), f: f}
}

// allPods answers List and Watch across the served namespaces; everything else of the
// embedded interface is cluster-wide and refused by RBAC in namespaced mode, as it should be.
type allPods struct {
	corev1client.PodInterface
	f fanOut
}

// List reads every namespace at one revision (the first list's), so the result is one snapshot
// that a watch can resume from. It is not paged: a continue token cannot span namespaces.
func (a allPods) List(ctx context.Context, opts metav1.ListOptions) (*corev1.PodList, error) {
	out := &corev1.PodList{}
	rv, err := ListEach(a.f.n, opts, func(ns string, o metav1.ListOptions) (string, error) {
		l, err := a.f.getter.Pods(ns).List(ctx, o)
		if err != nil {
			return "", err
		}
		if out.Kind == "" {
			out.TypeMeta = l.TypeMeta
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

// Watch merges one watch per namespace. Bookmarks of one namespace do not speak for the others,
// so they are dropped, except the end of the initial events of a watch-list, sent once every
// namespace has sent its own.
func (a allPods) Watch(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
	return watchEach(a.f.n, func(ns string) (watch.Interface, error) {
		return a.f.getter.Pods(ns).Watch(ctx, opts)
	})
}

type merged struct {
	sources []watch.Interface
	out     chan watch.Event
	done    chan struct{}
	once    sync.Once

	mu          sync.Mutex
	initialEnds int
	latest      runtime.Object // the initial-events-end bookmark with the highest revision
}

func merge(sources []watch.Interface) watch.Interface {
	m := &merged{sources: sources, out: make(chan watch.Event), done: make(chan struct{})}
	var wg sync.WaitGroup
	for _, s := range sources {
		wg.Go(func() { m.forward(s) })
	}
	go func() {
		wg.Wait()
		close(m.out)
	}()
	return m
}

func (m *merged) Stop() {
	m.once.Do(func() {
		close(m.done)
		for _, s := range m.sources {
			s.Stop()
		}
	})
}

func (m *merged) ResultChan() <-chan watch.Event { return m.out }

// forward passes one source's events on; when it ends, the merged watch ends (the client
// watches again).
func (m *merged) forward(s watch.Interface) {
	defer m.Stop()
	for ev := range s.ResultChan() {
		if ev.Type == watch.Bookmark {
			var ok bool
			if ev, ok = m.bookmark(ev); !ok {
				continue
			}
		}
		if !m.send(ev) {
			return
		}
	}
}

func (m *merged) send(ev watch.Event) bool {
	select {
	case m.out <- ev:
		return true
	case <-m.done:
		return false
	}
}

// bookmark keeps a source's initial-events-end bookmark until every source sent one.
func (m *merged) bookmark(ev watch.Event) (watch.Event, bool) {
	obj, err := meta.Accessor(ev.Object)
	if err != nil || obj.GetAnnotations()[metav1.InitialEventsAnnotationKey] != "true" {
		return ev, false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.initialEnds++
	if m.latest == nil || revision(ev.Object) > revision(m.latest) {
		m.latest = ev.Object
	}
	if m.initialEnds < len(m.sources) {
		return ev, false
	}
	return watch.Event{Type: watch.Bookmark, Object: m.latest}, true
}

func revision(obj runtime.Object) uint64 {
	o, err := meta.Accessor(obj)
	if err != nil {
		return 0
	}
	rv, _ := strconv.ParseUint(o.GetResourceVersion(), 10, 64)
	return rv
}
