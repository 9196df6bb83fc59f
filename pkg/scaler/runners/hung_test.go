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
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/record"

	"actions.dev/runnerset-apiserver/pkg/contract"
	"actions.dev/runnerset-apiserver/pkg/github/actions"
)

// hungWorld is a world of one runner, rs-hung1 (id 11), with the given pod, whose Reconciler
// ends runners after grace and records its events.
func hungWorld(t *testing.T, phase corev1.PodPhase, annotations map[string]string, deleting bool, grace time.Duration) (*world, *record.FakeRecorder) {
	s, p := newWorld(t).runner("rs-hung1", 11, phase, annotations)
	if deleting {
		p.DeletionTimestamp = &metav1.Time{Time: time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)}
		p.Finalizers = []string{"example.com/hold"}
	}
	w := newWorld(t, s, p)
	events := record.NewFakeRecorder(20)
	w.r.cfg.Recorder, w.r.cfg.ExitGrace = events, grace
	return w, events
}

// drained is what events says, one line each.
func drained(events *record.FakeRecorder) string {
	var out []string
	for {
		select {
		case e := <-events.Events:
			out = append(out, e)
		default:
			return strings.Join(out, "\n")
		}
	}
}

// TestRunnerHungAfterItsJobIsRemoved: a runner pod GitHub reported its job completed for, still
// running (or pending) ExitGrace later, is removed as an ended runner is: deregistered in case
// GitHub still has it, Secret and pod deleted, and an event says how long it hung. ARC#4603.
func TestRunnerHungAfterItsJobIsRemoved(t *testing.T) {
	completedAt := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC) // the world's clock starts here
	for _, tc := range []struct {
		name        string
		phase       corev1.PodPhase
		deleting    bool
		grace, wait time.Duration
		wantRemoved bool
	}{
		{"within the grace: kept", corev1.PodRunning, false, 2 * time.Minute, 2*time.Minute - time.Second, false},
		{"after the grace: removed", corev1.PodRunning, false, 2 * time.Minute, 2 * time.Minute, true},
		{"pending after the grace: removed", corev1.PodPending, false, 2 * time.Minute, 3 * time.Minute, true},
		{"grace 0: never removed", corev1.PodRunning, false, 0, 7 * time.Hour, false},
		{"pod already being deleted: left alone", corev1.PodRunning, true, 2 * time.Minute, 7 * time.Hour, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := contract.JobStartedAnnotations(contract.Job{RequestID: 5, ID: "j5", Started: completedAt.Add(-time.Hour)})
			maps.Copy(a, contract.JobCompletedAnnotations("succeeded", completedAt))
			w, events := hungWorld(t, tc.phase, a, tc.deleting, tc.grace)
			w.clock.Step(tc.wait)
			res := w.r.Reconcile(context.Background(), w.rs, w.demand(0))
			said := drained(events)
			if !tc.wantRemoved {
				assert.Empty(t, w.writes("delete", "pods"))
				assert.Empty(t, w.writes("delete", "secrets"))
				assert.Empty(t, w.gh.removed)
				assert.NotContains(t, said, ReasonRunnerHung)
				if tc.grace > 0 && !tc.deleting {
					assert.Equal(t, tc.grace-tc.wait+time.Second, res.Requeue, "looked at again when the grace ends")
				}
				return
			}
			assert.Equal(t, []int{11}, w.gh.removed, "deregistered in case GitHub still has it")
			assert.Equal(t, []string{"rs-hung1"}, w.writes("delete", "secrets"))
			assert.Equal(t, []string{"rs-hung1"}, w.writes("delete", "pods"))
			assert.Contains(t, said, "Warning "+ReasonRunnerHung+" Runner rs-hung1 removed")
			assert.Contains(t, said, tc.wait.String(), "the event says how long it hung")
			assert.Zero(t, res.Current, "it holds no slot")

			w.r.Reconcile(context.Background(), w.rs, w.demand(0))
			assert.Len(t, w.writes("delete", "pods"), 1, "removed once: the caches may still show it")
		})
	}
}

// TestJobCompletionIsTimed: the server records on the pod when it learned that a job completed,
// by its clock; a completion recorded without a time (an older server) gets one, and its grace
// starts then.
func TestJobCompletionIsTimed(t *testing.T) {
	ctx := context.Background()
	started := contract.JobStartedAnnotations(contract.Job{RequestID: 5, ID: "j5"})
	w, _ := hungWorld(t, corev1.PodRunning, started, false, 2*time.Minute)
	w.clock.Step(time.Minute)
	w.r.Reconcile(ctx, w.rs, w.demand(0, actions.JobMessage{MessageType: actions.JobMessageCompleted, RunnerName: "rs-hung1", Result: "failed"}))
	pod, err := w.kube.CoreV1().Pods("ns").Get(ctx, "rs-hung1", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "2026-12-03T10:01:00Z", pod.Annotations[contract.AnnotationJobCompleted])

	untimed := maps.Clone(started)
	maps.Copy(untimed, contract.JobCompletedAnnotations("succeeded", time.Time{}))
	delete(untimed, contract.AnnotationJobCompleted)
	w, events := hungWorld(t, corev1.PodRunning, untimed, false, 2*time.Minute)
	w.clock.Step(7 * time.Hour)
	res := w.r.Reconcile(ctx, w.rs, w.demand(0))
	assert.Empty(t, w.writes("delete", "pods"), "the grace starts when the server learns of the completion")
	assert.Empty(t, drained(events))
	assert.Equal(t, 2*time.Minute+time.Second, res.Requeue)
	pod, err = w.kube.CoreV1().Pods("ns").Get(ctx, "rs-hung1", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "2026-12-03T17:00:00Z", pod.Annotations[contract.AnnotationJobCompleted])
}
