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

// Package jobs keeps a RunnerSet's job history, the records served as workflowjobs: each job
// from the offer the scale set acquired to its end, why it waits, and jobs the cluster took
// from their runners, which it re-runs on GitHub. It is the one writer of the history's
// ConfigMaps (contract.JobHistoryName), written coalesced: a job's quick transitions (queued,
// assigned, started) usually cost one write. A Journal is used by its worker's reconciling
// goroutine only.
package jobs

import (
	"sort"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/contract"
)

// Config is what every Journal shares.
type Config struct {
	Kube     kubernetes.Interface
	Pods     corelisters.PodLister
	Recorder record.EventRecorder
	Clock    clock.Clock
	// Retention is how long an ended job is kept; MaxJobs bounds the jobs kept per RunnerSet.
	Retention time.Duration
	MaxJobs   int
	// FlushEvery is how long a change waits to be written, with those that follow it: a job's
	// acquisition, assignment and start (often within a second) cost one write, made after the
	// runner's pod was created rather than beside it.
	FlushEvery time.Duration
}

// maxTransitions bounds the transitions kept per job (a job re-queued again and again).
const maxTransitions = 16

// Journal is the job history of one RunnerSet.
type Journal struct {
	cfg                  Config
	namespace, runnerSet string

	loaded bool
	jobs   map[string]*entry
	chunks map[int]*chunk
	// byRunner finds the job a runner took.
	byRunner map[string]string
	// dirtySince is when the first change not written yet was made (zero: none).
	dirtySince time.Time
	writer     *writer
}

type entry struct {
	st  v1alpha1.WorkflowJobStatus
	seq int
	// retryAt is when to look at a lost job on GitHub again.
	retryAt time.Time
	// sawLoss: this journal saw the runner lost. Only such jobs are re-run: a record read from the
	// history's ConfigMaps may have been written by anyone allowed to write ConfigMaps in the
	// namespace, who must not get GitHub jobs re-run with the RunnerSet's credentials.
	sawLoss bool
}

// chunk is one ConfigMap of the history.
type chunk struct {
	names map[string]bool
	dirty bool
}

// New returns the Journal of RunnerSet namespace/name; it reads the history on first use.
func New(cfg Config, namespace, name string) *Journal {
	return &Journal{cfg: cfg, namespace: namespace, runnerSet: name, writer: newWriter(cfg.Kube, cfg.Clock, namespace, name),
		jobs: map[string]*entry{}, chunks: map[int]*chunk{}, byRunner: map[string]string{}}
}

// RunningSince tells since when runner runs a job GitHub reported started and not completed.
func (j *Journal) RunningSince(runner string) (time.Time, bool) {
	e := j.jobs[j.byRunner[runner]]
	if e == nil || e.st.Phase != v1alpha1.JobRunning || e.st.Started == nil {
		return time.Time{}, false
	}
	return e.st.Started.Time, true
}

// Recent are the last n jobs that ended, newest first.
func (j *Journal) Recent(n int) []v1alpha1.RecentJob {
	var ended []*entry
	for _, e := range j.jobs {
		if contract.JobEnded(e.st.Phase) && e.st.Completed != nil {
			ended = append(ended, e)
		}
	}
	sort.Slice(ended, func(a, b int) bool {
		ta, tb := ended[a].st.Completed.Time, ended[b].st.Completed.Time
		return ta.After(tb) || (ta.Equal(tb) && ended[a].st.RequestID > ended[b].st.RequestID)
	})
	var out []v1alpha1.RecentJob
	for _, e := range ended[:min(n, len(ended))] {
		out = append(out, v1alpha1.RecentJob{Name: contract.WorkflowJobName(j.runnerSet, e.st.RequestID), Phase: e.st.Phase,
			DisplayName: e.st.DisplayName, Repository: e.st.Repository, Runner: e.st.Runner, Completed: e.st.Completed})
	}
	return out
}

// add records a new job in the newest chunk with room.
func (j *Journal) add(st v1alpha1.WorkflowJobStatus) *entry {
	name := contract.WorkflowJobName(j.runnerSet, st.RequestID)
	seq := j.newestChunk()
	if c := j.chunks[seq]; c == nil || len(c.names) >= contract.JobsPerChunk {
		if c != nil {
			seq++
		}
		j.chunks[seq] = &chunk{names: map[string]bool{}}
	}
	e := &entry{st: st, seq: seq}
	j.jobs[name] = e
	j.chunks[seq].names[name] = true
	j.touch(e)
	return e
}

func (j *Journal) newestChunk() int {
	newest := 0
	for seq := range j.chunks {
		newest = max(newest, seq)
	}
	return newest
}

// touch marks a job's chunk for the next flush.
func (j *Journal) touch(e *entry) {
	if c := j.chunks[e.seq]; c != nil {
		c.dirty = true
	}
	if j.dirtySince.IsZero() {
		j.dirtySince = j.cfg.Clock.Now()
	}
}

// enter moves a job to a phase with a reason, recording the transition.
func (j *Journal) enter(e *entry, phase v1alpha1.WorkflowJobPhase, reason, message string, at time.Time) {
	if e.st.Phase == phase && e.st.Reason == reason {
		return
	}
	if e.st.Phase != phase {
		e.st.Transitions = append(e.st.Transitions, v1alpha1.WorkflowJobTransition{Phase: phase, Time: metav1.NewTime(at), Reason: reason})
		if len(e.st.Transitions) > maxTransitions {
			e.st.Transitions = append(e.st.Transitions[:1], e.st.Transitions[len(e.st.Transitions)-maxTransitions+1:]...)
		}
	}
	e.st.Phase, e.st.Reason, e.st.Message = phase, reason, message
	j.touch(e)
}

func (j *Journal) event(rs *v1alpha1.RunnerSet, eventType, reason, format string, args ...any) {
	if j.cfg.Recorder != nil && rs != nil {
		j.cfg.Recorder.Eventf(rs, eventType, reason, format, args...)
	}
}

func ptrTime(t time.Time) *metav1.Time {
	mt := metav1.NewTime(t.UTC().Truncate(time.Second))
	return &mt
}

func duration(from, to *metav1.Time) *metav1.Duration {
	if from == nil || to == nil || to.Before(from) {
		return nil
	}
	return &metav1.Duration{Duration: to.Sub(from.Time)}
}
