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
	"time"

	"actions.dev/runnerset-apiserver/pkg/contract"
)

// jobLedger pairs what the cluster says about finished runners with what GitHub says about
// their jobs. GitHub's statistics count a job as assigned until its JobCompleted message, and a
// runner's pod usually ends a few milliseconds before that message arrives. Without the ledger
// the scaler would then see one runner fewer than the (stale) desired count and register a
// replacement, only to remove it when the message comes: a JIT config, a Secret, a pod, a
// deregistration and two deletions for nothing, and a spare runner the next job may take
// instead of getting its own. The ledger also spares the deregistration of a runner GitHub
// removes anyway with its job: it is only asked for if the JobCompleted never comes. The
// worker's mu guards it.
type jobLedger struct {
	// completed: runners GitHub reported JobCompleted for (it removes an ephemeral runner with
	// its job); started: runners GitHub reported JobStarted for.
	completed, started map[string]time.Time
	// awaiting: runners whose pod ended after a job while GitHub's JobCompleted for it is still
	// to come; each still holds a slot of the desired count.
	awaiting map[string]awaited
}

type awaited struct {
	at       time.Time
	runnerID int
	// timeout is how long it holds its slot; 0: awaitingTimeout.
	timeout time.Duration
}

// jobEnd is what the ledger knows about a runner whose pod ended.
type jobEnd int

const (
	// endUnknown: no job is known to have run on it; deregister it now.
	endUnknown jobEnd = iota
	// endCompleted: GitHub reported its job completed and removed the runner.
	endCompleted
	// endAwaited: it ran a job whose JobCompleted is still to come; GitHub removes the runner
	// then, and finishedAwaiting hands it back for deregistration if that never happens.
	endAwaited
	// endHung: its pod still runs ExitGrace after GitHub said its job completed; GitHub has
	// likely removed it, but it is deregistered in case not.
	endHung
)

// deregisters tells the ends whose runner the server deregisters itself, now.
func (e jobEnd) deregisters() bool {
	return e == endUnknown || e == endHung
}

const (
	// ledgerKeep is how long JobStarted and JobCompleted are remembered.
	ledgerKeep = 10 * time.Minute
	// awaitingTimeout bounds how long a finished runner holds its slot: a JobCompleted later
	// than this is taken as lost, and the desired count is believed again.
	awaitingTimeout = 30 * time.Second
)

// observe records the job events of one message. Call it in the same critical section that
// installs the message's statistics, so that the two always agree.
func (l *jobLedger) observe(started, completed []string, now time.Time) {
	if l.completed == nil {
		l.completed, l.started, l.awaiting = map[string]time.Time{}, map[string]time.Time{}, map[string]awaited{}
	}
	for _, name := range started {
		if name != "" {
			l.started[name] = now
		}
	}
	for _, name := range completed {
		if name != "" {
			l.completed[name] = now
			delete(l.awaiting, name)
		}
	}
	for _, m := range []map[string]time.Time{l.started, l.completed} {
		for name, at := range m {
			if now.Sub(at) > ledgerKeep {
				delete(m, name)
			}
		}
	}
}

// finished records a runner whose pod ended with exit code 0 and says what is known of its job.
// If GitHub already said the job completed, it has removed the ephemeral runner. If it has not
// yet, and the runner ran a job (hadJob, or a JobStarted seen), the runner holds its slot until
// that message comes.
func (l *jobLedger) finished(name string, runnerID int, hadJob bool, now time.Time) jobEnd {
	if _, ok := l.completed[name]; ok {
		delete(l.completed, name)
		delete(l.started, name)
		return endCompleted
	}
	if _, ok := l.started[name]; ok || hadJob {
		if l.awaiting == nil {
			l.awaiting = map[string]awaited{}
		}
		l.awaiting[name] = awaited{at: now, runnerID: runnerID}
		delete(l.started, name)
		return endAwaited
	}
	return endUnknown
}

// slots are the runners that hold a slot of the desired count, as GitHub last said: a runner
// whose job GitHub reported completed while its pod still runs is about to exit and holds none,
// and one GitHub reported running a job is busy, whether or not its pod shows the job yet.
func (l *jobLedger) slots(runners []contract.Runner) []contract.Runner {
	if len(l.completed) == 0 && len(l.started) == 0 {
		return runners
	}
	out := make([]contract.Runner, 0, len(runners))
	for _, r := range runners {
		if _, done := l.completed[r.Name]; done {
			continue
		}
		if _, busy := l.started[r.Name]; busy && r.Phase != contract.PhaseSucceeded && r.Phase != contract.PhaseFailed {
			r.Phase = contract.PhaseBusy
		}
		out = append(out, r)
	}
	return out
}

// finishedAwaiting counts the finished runners whose JobCompleted is still to come and says
// when the oldest one times out. Those that waited longer than awaitingTimeout are dropped and
// their runner ids returned: GitHub may never have removed them, so they are to be deregistered.
func (l *jobLedger) finishedAwaiting(now time.Time) (n int, recheck time.Duration, lost []int) {
	for name, a := range l.awaiting {
		timeout := awaitingTimeout
		if a.timeout > 0 {
			timeout = a.timeout
		}
		left := timeout - now.Sub(a.at)
		if left <= 0 {
			delete(l.awaiting, name)
			if a.runnerID != 0 {
				lost = append(lost, a.runnerID)
			}
			continue
		}
		n++
		if recheck == 0 || left < recheck {
			recheck = left
		}
	}
	return n, recheck, lost
}

// holdLost keeps the slot of a runner the cluster took mid-job until GitHub completes its job
// (lostHold at most); its registration is not the ledger's to remove (deregisterLost).
func (l *jobLedger) holdLost(name string, now time.Time) {
	l.forget(name)
	if l.awaiting == nil {
		l.awaiting = map[string]awaited{}
	}
	l.awaiting[name] = awaited{at: now, timeout: lostHold}
}

// forget drops what the ledger knows of a runner the server removes while its pod runs.
func (l *jobLedger) forget(name string) {
	delete(l.started, name)
	delete(l.completed, name)
}
