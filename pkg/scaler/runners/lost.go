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

// JobHistory is what the cluster side asks of the job history: whether GitHub reported a job
// started on a runner and not completed. It outlives the ledger (a new leader reads it), so a
// runner whose pod vanished while its job ran is known for one even after a takeover.
type JobHistory interface {
	JobRunning(runner string) bool
}

// UseHistory gives the Reconciler the RunnerSet's job history.
func (r *Reconciler) UseHistory(h JobHistory) { r.history = h }

// jobRunning tells a runner GitHub gave a job that has not completed, as far as its pod, the
// ledger or the job history know.
func (r *Reconciler) jobRunning(run contract.Runner) bool {
	if run.Job != nil {
		return run.Job.Running()
	}
	if _, done := r.ledger.completed[run.Name]; done {
		return false
	}
	if _, ok := r.ledger.started[run.Name]; ok {
		return true
	}
	return r.history != nil && r.history.JobRunning(run.Name)
}

// lostRunner handles a runner in the middle of a job whose pod the cluster is taking or took
// (evicted, preempted, deleted, OOM-killed, its node gone): its JIT configuration is spent and
// its job lost, so the runner is removed, never given a new pod, and the loss reported for the
// job history to re-run the job. It says whether run was one.
func (r *Reconciler) lostRunner(ctx context.Context, p *pass, run contract.Runner) bool {
	if _, ours := r.expect.deleted[run.Name]; ours || !r.jobRunning(run) {
		return false
	}
	var reason, message string
	switch {
	case run.Pod == nil:
		reason, message = contract.LossDeleted, "the pod is gone while its job ran"
	case run.Pod.DeletionTimestamp != nil || run.Phase == contract.PhaseFailed:
		reason, message = contract.LossOf(run.Pod)
	}
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
	r.ledger.forget(run.Name)
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
