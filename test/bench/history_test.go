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

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"actions.dev/runnerset-apiserver/pkg/contract"
)

// historyMeter counts the writes of a RunnerSet's job history (workflowjobs) and the bytes they
// carried, from a watch on its ConfigMaps: each write is one event with the whole chunk.
type historyMeter struct {
	mu            sync.Mutex
	writes        int
	bytes, stored int64
	stop          context.CancelFunc
	done          chan struct{}
}

func meterHistory(ctx context.Context, kube kubernetes.Interface, ns, runnerSet string) (*historyMeter, error) {
	ctx, cancel := context.WithCancel(ctx)
	w, err := kube.CoreV1().ConfigMaps(ns).Watch(ctx, metav1.ListOptions{LabelSelector: contract.LabelJobHistory + "=" + runnerSet})
	if err != nil {
		cancel()
		return nil, err
	}
	m := &historyMeter{stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(m.done)
		chunks := map[string]int64{}
		for ev := range w.ResultChan() {
			cm, ok := ev.Object.(*corev1.ConfigMap)
			if !ok || (ev.Type != watch.Added && ev.Type != watch.Modified) {
				continue
			}
			size := int64(0)
			for k, v := range cm.Data {
				size += int64(len(k) + len(v))
			}
			m.mu.Lock()
			m.writes++
			m.bytes += size
			m.stored += size - chunks[cm.Name]
			chunks[cm.Name] = size
			m.mu.Unlock()
		}
	}()
	return m, nil
}

// result stops the meter and reports the history's cost per job against its budget.
func (m *historyMeter) result(n int) Result {
	m.stop()
	<-m.done
	m.mu.Lock()
	defer m.mu.Unlock()
	perJob := float64(m.writes) / float64(n)
	kib := float64(m.bytes) / float64(n) / 1024
	return Result{ID: "P4.job.history", Figure: fmt.Sprintf("job history (workflowjobs) writes per job, burst of %d jobs", n),
		Value: perJob, Unit: "writes/job", Target: "≤ 2, ≤ 64 KiB written per job", Met: boolp(perJob <= 2 && kib <= 64), Samples: n,
		Note: fmt.Sprintf("ConfigMap writes of the RunnerSet's job history seen by a watch over P4.job: %d writes carrying %.1f KiB per job (a write carries its whole chunk of up to %d jobs); %.0f bytes stored per job",
			m.writes, kib, contract.JobsPerChunk, float64(m.stored)/float64(n))}
}
