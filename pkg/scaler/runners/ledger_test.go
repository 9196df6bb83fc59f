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
	"testing"
	"time"

	"actions.dev/runnerset-apiserver/pkg/contract"
)

func TestJobLedger(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var l jobLedger

	// GitHub reported a job started before the pod shows it: the runner is busy.
	l.observe([]string{"a", "b"}, nil, t0)
	if got := l.slots([]contract.Runner{{Name: "a", Phase: contract.PhaseIdle}}); len(got) != 1 || got[0].Phase != contract.PhaseBusy {
		t.Errorf("slots %v, want a busy", got)
	}

	// The pod ends before GitHub's JobCompleted: the runner keeps its slot until it comes.
	if end := l.finished("a", 11, false, t0.Add(time.Second)); end != endAwaited {
		t.Errorf("a: JobCompleted not seen: %v, want awaited", end)
	}
	if n, recheck, lost := l.finishedAwaiting(t0.Add(2 * time.Second)); n != 1 || recheck != awaitingTimeout-time.Second || lost != nil {
		t.Errorf("awaiting %d (recheck %s, lost %v), want 1 (%s)", n, recheck, lost, awaitingTimeout-time.Second)
	}
	l.observe(nil, []string{"a"}, t0.Add(3*time.Second))
	if n, _, lost := l.finishedAwaiting(t0.Add(3 * time.Second)); n != 0 || lost != nil {
		t.Errorf("awaiting %d (lost %v) after a's JobCompleted, want 0", n, lost)
	}

	// GitHub's JobCompleted comes first: while the pod still runs, the runner holds no slot;
	// when it ends, GitHub has removed the runner and nothing is awaited.
	l.observe(nil, []string{"b"}, t0.Add(4*time.Second))
	if got := l.slots([]contract.Runner{{Name: "b", Phase: contract.PhaseBusy}, {Name: "x", Phase: contract.PhaseIdle}}); len(got) != 1 || got[0].Name != "x" {
		t.Errorf("slots %v, want only x", got)
	}
	if end := l.finished("b", 12, true, t0.Add(5*time.Second)); end != endCompleted {
		t.Errorf("b: JobCompleted seen: %v, want completed", end)
	}
	if n, _, _ := l.finishedAwaiting(t0.Add(5 * time.Second)); n != 0 {
		t.Errorf("awaiting %d, want 0", n)
	}

	// A runner that never ran a job holds no slot of the statistics.
	if end := l.finished("idle", 13, false, t0.Add(6*time.Second)); end != endUnknown {
		t.Errorf("idle runner: %v, want unknown (deregister now)", end)
	}
	if n, _, _ := l.finishedAwaiting(t0.Add(6 * time.Second)); n != 0 {
		t.Errorf("awaiting %d for a runner without a job, want 0", n)
	}

	// The pod said it had a job (annotation) though no JobStarted was seen; a lost JobCompleted
	// stops holding the slot after awaitingTimeout, and the runner is handed back to deregister.
	l.finished("c", 14, true, t0.Add(7*time.Second))
	if n, _, _ := l.finishedAwaiting(t0.Add(8 * time.Second)); n != 1 {
		t.Errorf("awaiting %d, want 1", n)
	}
	if n, recheck, lost := l.finishedAwaiting(t0.Add(7*time.Second + awaitingTimeout)); n != 0 || recheck != 0 || len(lost) != 1 || lost[0] != 14 {
		t.Errorf("awaiting %d (recheck %s, lost %v) after the timeout, want 0 and runner 14 lost", n, recheck, lost)
	}
}
