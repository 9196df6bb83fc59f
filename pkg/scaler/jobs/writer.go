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

package jobs

import (
	"context"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"actions.dev/runnerset-apiserver/pkg/contract"
)

// writer is the one writer of a RunnerSet's history ConfigMaps. It writes off the reconciling
// goroutine, so that a write never holds back the runners of the next job: the Journal hands it
// the newest content of each chunk (or its deletion), and it writes the newest it has, retrying
// failed writes. What it keeps of the ConfigMaps (their resourceVersions, the owner) is its own.
type writer struct {
	kube                 kubernetes.Interface
	clock                clock.Clock
	namespace, runnerSet string

	mu      sync.Mutex
	pending map[string]*corev1.ConfigMap // nil: delete
	busy    bool
	kick    chan struct{}
	start   sync.Once

	// rv is the resourceVersion of each chunk written or read (none: not there); owner points
	// the chunks at the RunnerSet's ConfigMap. The writing goroutine's only.
	rv    map[string]string
	owner metav1.OwnerReference
}

func newWriter(kube kubernetes.Interface, c clock.Clock, namespace, runnerSet string) *writer {
	return &writer{kube: kube, clock: c, namespace: namespace, runnerSet: runnerSet,
		pending: map[string]*corev1.ConfigMap{}, kick: make(chan struct{}, 1), rv: map[string]string{}}
}

// submit hands the writer a chunk's newest content, nil to delete it; the first call starts the
// writing goroutine, which ends with ctx.
func (w *writer) submit(ctx context.Context, name string, cm *corev1.ConfigMap) {
	w.start.Do(func() { go w.run(ctx) })
	w.mu.Lock()
	w.pending[name] = cm
	w.mu.Unlock()
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// idle tells that everything submitted was written (for tests).
func (w *writer) idle() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.pending) == 0 && !w.busy
}

func (w *writer) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.kick:
		}
		if !w.writeAll(ctx) {
			select {
			case <-ctx.Done():
				return
			case <-w.clock.After(flushRetry):
				w.submitAgain()
			}
		}
	}
}

// writeAll writes what is pending; a failed write goes back to pending unless newer content
// came meanwhile. It says whether all went.
func (w *writer) writeAll(ctx context.Context) bool {
	w.mu.Lock()
	batch := w.pending
	w.pending, w.busy = map[string]*corev1.ConfigMap{}, true
	w.mu.Unlock()
	ok := true
	for name, cm := range batch {
		if err := w.write(ctx, name, cm); err != nil {
			klog.FromContext(ctx).Error(err, "Writing the job history failed; trying again", "chunk", name)
			ok = false
			w.mu.Lock()
			if _, newer := w.pending[name]; !newer {
				w.pending[name] = cm
			}
			w.mu.Unlock()
		}
	}
	w.mu.Lock()
	w.busy = false
	w.mu.Unlock()
	return ok
}

func (w *writer) submitAgain() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// write stores or deletes one chunk. The leader is its one writer: a conflict is an older
// leader's late write, which this one overwrites.
func (w *writer) write(ctx context.Context, name string, cm *corev1.ConfigMap) error {
	client := w.kube.CoreV1().ConfigMaps(w.namespace)
	if cm == nil {
		err := client.Delete(ctx, name, metav1.DeleteOptions{})
		if err == nil || apierrors.IsNotFound(err) {
			delete(w.rv, name)
			return nil
		}
		return err
	}
	if err := w.ownerRef(ctx); err != nil {
		return err
	}
	cm = cm.DeepCopy()
	cm.OwnerReferences = []metav1.OwnerReference{w.owner}
	rv, exists := w.rv[name]
	cm.ResourceVersion = rv
	var out *corev1.ConfigMap
	var err error
	if !exists {
		out, err = client.Create(ctx, cm, metav1.CreateOptions{})
	} else {
		out, err = client.Update(ctx, cm, metav1.UpdateOptions{})
	}
	switch {
	case apierrors.IsAlreadyExists(err) || apierrors.IsConflict(err) || apierrors.IsNotFound(err):
		delete(w.rv, name)
		if cur, gerr := client.Get(ctx, name, metav1.GetOptions{}); gerr == nil {
			w.rv[name] = cur.ResourceVersion
		}
		return err
	case err != nil:
		return err
	}
	w.rv[name] = out.ResourceVersion
	return nil
}

// ownerRef points the history at the ConfigMap storing the RunnerSet, so the garbage collector
// removes it with the RunnerSet.
func (w *writer) ownerRef(ctx context.Context) error {
	if w.owner.UID != "" {
		return nil
	}
	cm, err := w.kube.CoreV1().ConfigMaps(w.namespace).Get(ctx, contract.StorageName(w.runnerSet), metav1.GetOptions{})
	if err != nil {
		return err
	}
	w.owner = contract.OwnerReference(w.runnerSet, cm.UID)
	return nil
}

// flushRetry is how soon a failed write is tried again.
const flushRetry = 5 * time.Second
