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
	"fmt"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/klog/v2"

	"actions.dev/runnerset-apiserver/pkg/contract"
)

// Loaded tells whether the history was read.
func (j *Journal) Loaded() bool { return j.loaded }

// Load reads the history the last leader wrote. Jobs a new leader knows nothing of (a flush that
// did not happen) are recorded again from the messages and pods that follow.
func (j *Journal) Load(ctx context.Context) error {
	sel := labels.SelectorFromSet(labels.Set{contract.LabelJobHistory: j.runnerSet}).String()
	list, err := j.cfg.Kube.CoreV1().ConfigMaps(j.namespace).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return fmt.Errorf("reading the job history: %w", err)
	}
	for i := range list.Items {
		cm := &list.Items[i]
		seq := contract.JobHistorySeq(cm.Name)
		if seq < 0 {
			continue
		}
		c := &chunk{names: map[string]bool{}}
		j.chunks[seq] = c
		j.writer.rv[cm.Name] = cm.ResourceVersion
		jobs, errs := contract.DecodeJobs(cm)
		for _, err := range errs {
			klog.FromContext(ctx).Error(err, "Dropping a job record that does not decode")
		}
		for _, wj := range jobs {
			j.jobs[wj.Name] = &entry{st: wj.Status, seq: seq}
			c.names[wj.Name] = true
			if wj.Status.Runner != "" {
				j.byRunner[wj.Status.Runner] = wj.Name
			}
		}
	}
	j.loaded = true
	return nil
}

// Flush hands the chunks that changed to the writer once the oldest change waited FlushEvery,
// after dropping the chunks past retention; it says when to call it again (0: nothing waits).
func (j *Journal) Flush(ctx context.Context) time.Duration {
	if !j.dirty() {
		j.dirtySince = time.Time{}
		return 0
	}
	now := j.cfg.Clock.Now()
	if wait := j.cfg.FlushEvery - now.Sub(j.dirtySince); wait > 0 {
		return wait
	}
	j.prune(ctx, now)
	for seq, c := range j.chunks {
		if !c.dirty {
			continue
		}
		cm, err := j.render(seq, c)
		if err != nil {
			klog.FromContext(ctx).Error(err, "Encoding the job history failed", "chunk", contract.JobHistoryName(j.runnerSet, seq))
			continue
		}
		j.writer.submit(ctx, cm.Name, cm)
		c.dirty = false
	}
	j.dirtySince = time.Time{}
	return 0
}

func (j *Journal) dirty() bool {
	for _, c := range j.chunks {
		if c.dirty {
			return true
		}
	}
	return false
}

func (j *Journal) render(seq int, c *chunk) (*corev1.ConfigMap, error) {
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{
		Name: contract.JobHistoryName(j.runnerSet, seq), Namespace: j.namespace,
		Labels: map[string]string{contract.LabelJobHistory: j.runnerSet},
	}, Data: map[string]string{}}
	for name := range c.names {
		value, err := contract.EncodeJob(&j.jobs[name].st)
		if err != nil {
			return nil, err
		}
		cm.Data[name] = value
	}
	return cm, nil
}

// prune drops whole chunks, oldest first: those whose jobs all ended more than Retention ago
// (or began that long ago and never ended), then the oldest while more than MaxJobs are kept.
// The newest chunk stays: new jobs go there.
func (j *Journal) prune(ctx context.Context, now time.Time) {
	seqs := make([]int, 0, len(j.chunks))
	for seq := range j.chunks {
		seqs = append(seqs, seq)
	}
	sort.Ints(seqs)
	total := len(j.jobs)
	for _, seq := range seqs[:max(len(seqs)-1, 0)] {
		c := j.chunks[seq]
		if !j.expired(c, now) && total <= j.cfg.MaxJobs {
			break
		}
		total -= len(c.names)
		j.drop(ctx, seq, c)
	}
}

func (j *Journal) expired(c *chunk, now time.Time) bool {
	for name := range c.names {
		st := &j.jobs[name].st
		last := st.Queued
		if n := len(st.Transitions); n > 0 {
			last = &st.Transitions[n-1].Time
		}
		if last == nil || now.Sub(last.Time) < j.cfg.Retention {
			return false
		}
	}
	return true
}

func (j *Journal) drop(ctx context.Context, seq int, c *chunk) {
	j.writer.submit(ctx, contract.JobHistoryName(j.runnerSet, seq), nil)
	for name := range c.names {
		if r := j.jobs[name].st.Runner; r != "" && j.byRunner[r] == name {
			delete(j.byRunner, r)
		}
		delete(j.jobs, name)
	}
	delete(j.chunks, seq)
}
