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

package runners

import (
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"
)

// tombstoneKeep is how long the last state of a deleted runner pod is kept: longer than any
// reconcile takes to look.
const tombstoneKeep = 10 * time.Minute

// Tombstones keep the last state of deleted runner pods. A pod the taint manager or the pod GC
// deletes is gone within milliseconds of its DisruptionTarget condition, often before a
// reconcile saw it going; its last state tells why, and that it existed at all (a runner whose
// pod is only not cached yet has none). The pod informer's delete handler is its one writer.
type Tombstones struct {
	clock clock.PassiveClock
	mu    sync.Mutex
	pods  map[string]tombstone
}

type tombstone struct {
	pod *corev1.Pod
	at  time.Time
}

// NewTombstones returns an empty set.
func NewTombstones(c clock.PassiveClock) *Tombstones {
	return &Tombstones{clock: c, pods: map[string]tombstone{}}
}

// Deleted is the pod informer's DeleteFunc.
func (t *Tombstones) Deleted(obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	now := t.clock.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, ts := range t.pods {
		if now.Sub(ts.at) > tombstoneKeep {
			delete(t.pods, k)
		}
	}
	t.pods[pod.Namespace+"/"+pod.Name] = tombstone{pod: pod, at: now}
}

// Get is the last state of pod namespace/name and when its deletion was seen, if it was deleted
// lately; else nil.
func (t *Tombstones) Get(namespace, name string) (*corev1.Pod, time.Time) {
	if t == nil {
		return nil, time.Time{}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	ts := t.pods[namespace+"/"+name]
	return ts.pod, ts.at
}
