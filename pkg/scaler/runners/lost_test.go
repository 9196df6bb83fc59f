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
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"actions.dev/runnerset-apiserver/pkg/contract"
	"actions.dev/runnerset-apiserver/pkg/github/actions"
)

type runningJobs map[string]time.Time

func (h runningJobs) RunningSince(runner string) (time.Time, bool) {
	at, ok := h[runner]
	return at, ok
}

// now is the worlds' clock.
var now = time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)

var busy = contract.JobStartedAnnotations(contract.Job{RequestID: 5, ID: "j", Repository: "acme/app", RunID: 7000005,
	Started: time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)})

func deleting(p *corev1.Pod) {
	p.DeletionTimestamp = &metav1.Time{Time: time.Date(2026, 12, 3, 9, 59, 0, 0, time.UTC)}
	p.Finalizers = []string{"example.com/hold"}
}

func disrupted(reason string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		deleting(p)
		p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, Reason: reason, Message: "by test"})
	}
}

func runnerExited(code int32, reason string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Status.Phase = corev1.PodFailed
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "runner", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code, Reason: reason}}}}
	}
}

// TestRunnersLostToTheCluster: a busy runner whose pod the cluster takes is reported lost with
// the cause, removed and never given a new pod (its JIT configuration is spent); a runner that
// ends on its own, or an idle one, is not lost.
func TestRunnersLostToTheCluster(t *testing.T) {
	for _, tc := range []struct {
		name        string
		annotations map[string]string
		noPod       bool
		history     runningJobs
		pod         func(*corev1.Pod)
		tombstone   func(*corev1.Pod)
		want        string
	}{
		{name: "evicted through the eviction API (drain)", annotations: busy, pod: disrupted("EvictionByEvictionAPI"), want: contract.LossEvicted},
		{name: "preempted", annotations: busy, pod: disrupted("PreemptionByScheduler"), want: contract.LossPreempted},
		{name: "its node gone (pod GC)", annotations: busy, pod: disrupted("DeletionByPodGC"), want: contract.LossNodeLost},
		{name: "deleted by someone", annotations: busy, pod: deleting, want: contract.LossDeleted},
		{name: "OOM-killed", annotations: busy, pod: runnerExited(137, "OOMKilled"), want: contract.LossOOMKilled},
		{name: "evicted by the kubelet", annotations: busy, pod: func(p *corev1.Pod) { p.Status.Phase, p.Status.Reason = corev1.PodFailed, "Evicted" }, want: contract.LossEvicted},
		{name: "pod gone long after its job started, known from the history only (a takeover)", noPod: true,
			history: runningJobs{"rs-a": now.Add(-2 * time.Minute)}, want: contract.LossDeleted},
		{name: "pod not cached yet as its job starts: not lost", noPod: true, history: runningJobs{"rs-a": now.Add(-time.Second)}},
		{name: "pod deleted by the pod GC before a reconcile saw it: its tombstone tells", noPod: true, history: runningJobs{"rs-a": now.Add(-time.Second)},
			tombstone: disrupted("DeletionByPodGC"), want: contract.LossNodeLost},
		{name: "runner exited 1 on its own: not lost", annotations: busy, pod: runnerExited(1, "Error")},
		{name: "idle runner deleted: not lost", pod: deleting},
		{name: "pod gone without a job: given a new pod", noPod: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			phase := corev1.PodRunning
			if tc.noPod {
				phase = ""
			}
			s, p := newWorld(t).runner("rs-a", 11, phase, tc.annotations)
			w := newWorld(t, s)
			if p != nil {
				tc.pod(p)
				w = newWorld(t, s, p)
			}
			w.r.UseHistory(tc.history)
			w.r.cfg.Tombstones = NewTombstones(w.clock)
			if tc.tombstone != nil {
				_, gone := newWorld(t).runner("rs-a", 11, corev1.PodRunning, busy)
				tc.tombstone(gone)
				w.r.cfg.Tombstones.Deleted(gone)
			}
			res := w.r.Reconcile(context.Background(), w.rs, w.demand(1))
			if tc.want == "" {
				assert.Empty(t, res.Lost)
				return
			}
			if assert.Len(t, res.Lost, 1) {
				assert.Equal(t, "rs-a", res.Lost[0].Name)
				assert.Equal(t, tc.want, res.Lost[0].Reason, res.Lost[0].Message)
			}
			assert.Contains(t, w.writes("delete", "secrets"), "rs-a", "a lost runner is removed")
			assert.Empty(t, w.writes("create", "pods"), "never given a new pod, nor replaced while GitHub counts its job")
		})
	}
}

// TestLostRunnerDeregisteredOnceItsJobEnds: GitHub refuses to remove a runner whose job still
// runs, and keeps it offline after failing the job: it is removed when the JobCompleted comes.
func TestLostRunnerDeregisteredOnceItsJobEnds(t *testing.T) {
	s, p := newWorld(t).runner("rs-a", 11, corev1.PodRunning, busy)
	disrupted("EvictionByEvictionAPI")(p)
	w := newWorld(t, s, p)
	res := w.r.Reconcile(context.Background(), w.rs, w.demand(1))
	assert.Len(t, res.Lost, 1)
	assert.NotContains(t, w.gh.removed, 11, "not while GitHub still runs its job")
	w.r.Reconcile(context.Background(), w.rs, w.demand(1))
	assert.Empty(t, w.writes("create", "secrets"), "its slot is held while GitHub counts its job")
	w.r.Reconcile(context.Background(), w.rs, w.demand(1, actions.JobMessage{MessageType: actions.JobMessageCompleted, RunnerName: "rs-a", Result: "failed"}))
	assert.Contains(t, w.gh.removed, 11)
	assert.Len(t, w.writes("create", "secrets"), 1, "GitHub ended the job: the slot is free (the statistics still count one job)")
}

// TestCompletedJobIsNotLost: a pod deleted right after GitHub said its job completed, before the
// pod shows it, lost nothing.
func TestCompletedJobIsNotLost(t *testing.T) {
	s, p := newWorld(t).runner("rs-a", 11, corev1.PodRunning, busy)
	deleting(p)
	w := newWorld(t, s, p)
	res := w.r.Reconcile(context.Background(), w.rs, w.demand(0, actions.JobMessage{MessageType: actions.JobMessageCompleted, RunnerName: "rs-a", Result: "succeeded"}))
	assert.Empty(t, res.Lost)
}
