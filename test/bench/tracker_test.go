//go:build bench

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

package bench

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
)

// tracker watches the pods or Secrets of one namespace and records, at the moment the watch
// delivers them, when each object was first seen and when it was deleted. Latencies in this
// suite end at these moments: "created" means "seen by a watch", as any client would.
type tracker struct {
	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	added   map[string]time.Time // by name
	deleted map[string]time.Time
	byLabel map[string][]string  // runnerset label -> names in the order they were seen
	running map[string]bool      // pods: phase Running (not yet ended)
	online  map[string]bool      // pods: runner-online annotation set
	ended   map[string]time.Time // pods: first seen Succeeded or Failed
}

type kind int

const (
	pods kind = iota
	secrets
)

// track starts a tracker for objects of kind in ns with a label selector and waits for its cache.
func track(ctx context.Context, kube kubernetes.Interface, k kind, ns, selector string) (*tracker, error) {
	tctx, cancel := context.WithCancel(context.Background())
	t := &tracker{cancel: cancel, done: make(chan struct{}), added: map[string]time.Time{}, deleted: map[string]time.Time{},
		byLabel: map[string][]string{}, running: map[string]bool{}, online: map[string]bool{}, ended: map[string]time.Time{}}
	f := informers.NewSharedInformerFactoryWithOptions(kube, 0, informers.WithNamespace(ns),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = selector }))
	var inf cache.SharedIndexInformer
	if k == pods {
		inf = f.Core().V1().Pods().Informer()
	} else {
		inf = f.Core().V1().Secrets().Informer()
	}
	_ = inf.SetTransform(func(obj any) (any, error) {
		if m, err := meta.Accessor(obj); err == nil {
			m.SetManagedFields(nil)
		}
		if s, ok := obj.(*corev1.Secret); ok {
			s.Data = nil
		}
		return obj, nil
	})
	_, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { t.seen(obj, time.Now()) },
		UpdateFunc: func(_, obj any) { t.seen(obj, time.Now()) },
		DeleteFunc: func(obj any) {
			now := time.Now()
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			if m, err := meta.Accessor(obj); err == nil {
				t.mu.Lock()
				if _, ok := t.deleted[m.GetName()]; !ok {
					t.deleted[m.GetName()] = now
				}
				delete(t.running, m.GetName())
				t.mu.Unlock()
			}
		},
	})
	if err != nil {
		cancel()
		return nil, err
	}
	f.Start(tctx.Done())
	go func() {
		<-tctx.Done()
		f.Shutdown()
		close(t.done)
	}()
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		t.stop()
		return nil, fmt.Errorf("tracker for %s in %s did not sync", selector, ns)
	}
	return t, nil
}

func (t *tracker) seen(obj any, now time.Time) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return
	}
	name := m.GetName()
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.added[name]; !ok {
		t.added[name] = now
		l := m.GetLabels()[v1alpha1.LabelRunnerSet]
		t.byLabel[l] = append(t.byLabel[l], name)
	}
	if p, ok := obj.(*corev1.Pod); ok {
		t.running[name] = p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil
		if p.Annotations[v1alpha1.AnnotationRunnerOnline] != "" {
			t.online[name] = true
		}
		if _, ok := t.ended[name]; !ok && (p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed) {
			t.ended[name] = now
		}
	}
}

func (t *tracker) stop() {
	t.cancel()
	<-t.done
}

// seenOf returns how many objects of a RunnerSet were seen so far.
func (t *tracker) seenOf(label string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.byLabel[label])
}

// nth returns the n-th (0-based) object of a RunnerSet seen, and when.
func (t *tracker) nth(label string, n int) (string, time.Time, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	names := t.byLabel[label]
	if n >= len(names) {
		return "", time.Time{}, false
	}
	return names[n], t.added[names[n]], true
}

// totalSeen counts every object seen, deleted ones included.
func (t *tracker) totalSeen() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.added)
}

// live counts objects seen and not deleted; runningOnline counts pods Running whose
// runner-online annotation is set.
func (t *tracker) live() (live, running, online int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for name := range t.added {
		if _, gone := t.deleted[name]; gone {
			continue
		}
		live++
		if t.running[name] {
			running++
			if t.online[name] {
				online++
			}
		}
	}
	return live, running, online
}

// nthAdded returns the time the n-th object (1-based, in seen order, all labels) was seen.
func (t *tracker) nthAdded(n int) (time.Time, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.added) < n {
		return time.Time{}, false
	}
	var times []time.Time
	for _, at := range t.added {
		times = append(times, at)
	}
	sortTimes(times)
	return times[n-1], true
}

func (t *tracker) addedAt(name string) (time.Time, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	at, ok := t.added[name]
	return at, ok
}

func (t *tracker) endedAt(name string) (time.Time, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	at, ok := t.ended[name]
	return at, ok
}

func (t *tracker) deletedAt(name string) (time.Time, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	at, ok := t.deleted[name]
	return at, ok
}

// waitUntil polls cond every 10 ms until it holds.
func waitUntil(ctx context.Context, timeout time.Duration, what string, cond func() bool) error {
	err := wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, timeout, true, func(context.Context) (bool, error) { return cond(), nil })
	if err != nil {
		return fmt.Errorf("waiting %s for %s: %w", timeout, what, err)
	}
	return nil
}
