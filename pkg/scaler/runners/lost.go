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
	"time"

	corev1 "k8s.io/api/core/v1"

	"actions.dev/runnerset-apiserver/pkg/contract"
	"actions.dev/runnerset-apiserver/pkg/github/actions"
)

// LostRunner is a runner the cluster took while its job ran: the job is lost with it.
type LostRunner struct {
	Name string
	// Reason is one of contract's Loss reasons; Message says more.
	Reason, Message string
}

// JobHistory is what the cluster side asks of the job history: since when a runner runs a job
// GitHub reported started and not completed. It outlives the ledger (a new leader reads it), so
// a runner whose pod vanished while its job ran is known for one even after a takeover.
type JobHistory interface {
	RunningSince(runner string) (time.Time, bool)
}

// UseHistory gives the Reconciler the RunnerSet's job history.
func (r *Reconciler) UseHistory(h JobHistory) { r.history = h }

const (
	// podGoneAfter is how long after its job started a runner's pod may be missing from the
	// caches before it is taken for gone without a tombstone (deleted before this replica's
	// informer started): the caches may show the pod later than GitHub shows the job.
	podGoneAfter = time.Minute
	// lostHold is how long a lost runner holds its slot: GitHub counts its job as assigned until
	// the job lock lapses (about 10 minutes), so a replacement could not take a job meanwhile.
	lostHold = 11 * time.Minute
	// tombstoneSlack: a pod deleted this long before its job's start was timed may still be
	// the job's (a pod of a runner given a new one after a failure is deleted much earlier).
	tombstoneSlack = 2 * time.Second
)

// jobRunning tells since when a runner runs a job GitHub gave it and has not completed, as far
// as its pod, the ledger or the job history know.
func (r *Reconciler) jobRunning(run contract.Runner) (time.Time, bool) {
	if _, done := r.ledger.completed[run.Name]; done {
		return time.Time{}, false // GitHub said so before the pod could show it
	}
	if run.Job != nil {
		return run.Job.Started, run.Job.Running()
	}
	if at, ok := r.ledger.started[run.Name]; ok {
		return at, true
	}
	if r.history == nil {
		return time.Time{}, false
	}
	return r.history.RunningSince(run.Name)
}

// lossOf tells why a busy runner's pod is going or gone, "" while it is not. A pod missing from
// the caches counts as gone only if its deletion was seen after its job started, or long after.
func (r *Reconciler) lossOf(run contract.Runner, since time.Time) (reason, message string) {
	switch {
	case run.Pod != nil && (run.Pod.DeletionTimestamp != nil || run.Phase == contract.PhaseFailed):
		return contract.LossOf(run.Pod)
	case run.Pod != nil:
		return "", ""
	}
	// The slack covers a start the ledger timed when its message came, after the pod went.
	if last, at := r.cfg.Tombstones.Get(r.namespace, run.Name); last != nil && !at.Before(since.Add(-tombstoneSlack)) {
		if reason, message = contract.LossOf(last); reason != "" {
			return reason, message
		}
		return contract.LossDeleted, "the pod was deleted while its job ran"
	}
	if r.cfg.Clock.Since(since) > podGoneAfter {
		return contract.LossDeleted, "the pod is gone while its job ran"
	}
	return "", ""
}

// lostRunner handles a runner in the middle of a job whose pod the cluster is taking or took
// (evicted, preempted, deleted, OOM-killed, its node gone): its JIT configuration is spent and
// its job lost, so the runner is removed, never given a new pod, and the loss reported for the
// job history to re-run the job. It says whether run was one.
func (r *Reconciler) lostRunner(ctx context.Context, p *pass, run contract.Runner) bool {
	since, running := r.jobRunning(run)
	if _, ours := r.expect.deleted[run.Name]; ours || !running {
		return false
	}
	reason, message := r.lossOf(run, since)
	if reason == "" {
		return false
	}
	p.lost = append(p.lost, LostRunner{Name: run.Name, Reason: reason, Message: message})
	if run.RunnerID != 0 {
		if r.lostIDs == nil {
			r.lostIDs = map[string]int{}
		}
		r.lostIDs[run.Name] = run.RunnerID
	}
	r.event(p.rs, corev1.EventTypeWarning, "JobLost", "Runner %s lost its job: %s (%s)", run.Name, reason, message)
	r.ledger.holdLost(run.Name, r.cfg.Clock.Now())
	r.deleteRunner(ctx, run, "its job was lost: "+reason)
	return true
}

// deregisterLost removes the registrations of lost runners once GitHub concluded their jobs:
// GitHub keeps such a runner, offline, after it fails the job (it removes an ephemeral runner
// only with a job it completed), and refuses its removal before. A JobCompleted lost to a
// takeover leaves it to the drift check.
func (r *Reconciler) deregisterLost(ctx context.Context, p *pass) {
	for _, j := range p.d.Jobs {
		id, ok := r.lostIDs[j.RunnerName]
		if !ok || j.MessageType != actions.JobMessageCompleted {
			continue
		}
		delete(r.lostIDs, j.RunnerName)
		r.deregister(ctx, p, id, j.RunnerName)
	}
}
