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
	"context"
	"reflect"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/klog/v2"
)

// watcher turns a ConfigMap watch into a watch of the stored objects.
type watcher struct {
	store    *Store
	upstream watch.Interface
	result   chan watch.Event
	done     chan struct{}
	stopOnce sync.Once
}

func newWatcher(ctx context.Context, s *Store, upstream watch.Interface) *watcher {
	w := &watcher{store: s, upstream: upstream, result: make(chan watch.Event), done: make(chan struct{})}
	go w.run(ctx)
	return w
}

func (w *watcher) ResultChan() <-chan watch.Event { return w.result }

func (w *watcher) Stop() {
	w.stopOnce.Do(func() {
		close(w.done)
		w.upstream.Stop()
	})
}

func (w *watcher) run(ctx context.Context) {
	defer close(w.result)
	defer w.upstream.Stop()
	logger := klog.FromContext(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.done:
			return
		case ev, ok := <-w.upstream.ResultChan():
			if !ok {
				return
			}
			out, ok := w.translate(logger, ev)
			if !ok {
				continue
			}
			select {
			case w.result <- out:
			case <-ctx.Done():
				return
			case <-w.done:
				return
			}
		}
	}
}

func (w *watcher) translate(logger klog.Logger, ev watch.Event) (watch.Event, bool) {
	switch ev.Type {
	case watch.Error:
		return ev, true // a metav1.Status, e.g. 410 Gone: clients handle it as for any resource
	case watch.Bookmark:
		cm, ok := ev.Object.(*corev1.ConfigMap)
		if !ok {
			return ev, false
		}
		obj := w.store.NewFunc()
		accessor, err := meta.Accessor(obj)
		if err != nil {
			return ev, false
		}
		accessor.SetResourceVersion(cm.ResourceVersion)
		// Carries the k8s.io/initial-events-end marker of watch-list streams.
		accessor.SetAnnotations(cm.Annotations)
		return watch.Event{Type: watch.Bookmark, Object: obj}, true
	}
	cm, ok := ev.Object.(*corev1.ConfigMap)
	if !ok {
		logger.Info("Unexpected object in ConfigMap watch", "type", reflect.TypeOf(ev.Object))
		return ev, false
	}
	obj := w.store.NewFunc()
	if err := w.store.decode(cm, obj); err != nil {
		// Nothing a watcher could do with it; lists report it with a warning.
		logger.Error(err, "Skipping unreadable stored object in watch", "resource", w.store.GroupResource.String(), "configMap", klog.KObj(cm))
		return ev, false
	}
	return watch.Event{Type: ev.Type, Object: obj}, true
}

// reflectAppend appends *obj to a slice value of its element type.
func reflectAppend(items reflect.Value, obj runtime.Object) reflect.Value {
	return reflect.Append(items, reflect.ValueOf(obj).Elem())
}
