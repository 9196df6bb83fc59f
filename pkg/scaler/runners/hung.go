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
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"

	"actions.dev/runnerset-apiserver/pkg/contract"
)

// ReasonRunnerHung is the reason of the event of a runner the server ends because it did not:
// it still ran ExitGrace after its job completed.
const ReasonRunnerHung = "RunnerHung"

// hungRunners takes out of live the runners that should have ended and did not, to be removed
// as ended runners are (finishRunners): one still running ExitGrace after GitHub said its job
// completed (its process hangs, and would hold a node for hours). A pod being deleted, or that
// failed, is left to the paths that handle those.
func (r *Reconciler) hungRunners(ctx context.Context, p *pass, live []contract.Runner) (keep []contract.Runner, hung []endedRunner) {
	now := r.cfg.Clock.Now()
	for _, run := range live {
		if e, ok := r.overdue(ctx, p, run, now); ok {
			klog.FromContext(ctx).Info("Removing a runner that did not end", "runner", run.Name, "reason", e.reason, "why", e.why)
			hung = append(hung, e)
			continue
		}
		keep = append(keep, run)
	}
	return keep, hung
}

// overdue tells whether a runner whose pod runs or waits is past its time.
func (r *Reconciler) overdue(ctx context.Context, p *pass, run contract.Runner, now time.Time) (endedRunner, bool) {
	pod := run.Pod
	if pod == nil || pod.DeletionTimestamp != nil || run.Phase == contract.PhaseFailed ||
		(pod.Status.Phase != corev1.PodRunning && pod.Status.Phase != corev1.PodPending) {
		return endedRunner{}, false
	}
	if run.Job != nil && !run.Job.Running() {
		return r.exitOverdue(ctx, p, run, now)
	}
	return endedRunner{}, false
}

// exitOverdue: GitHub said the runner's job completed (its pod records when) and the runner is
// still there ExitGrace later.
func (r *Reconciler) exitOverdue(ctx context.Context, p *pass, run contract.Runner, now time.Time) (endedRunner, bool) {
	grace := r.cfg.ExitGrace
	if grace <= 0 {
		return endedRunner{}, false
	}
	completed := run.Job.Completed
	if completed.IsZero() {
		// Recorded without a time (by an older server): the grace starts now, durably.
		if err := r.patchAnnotations(ctx, "pods", run.Name, contract.JobCompletedAnnotations(run.Job.Result, now)); err != nil {
			klog.FromContext(ctx).Error(err, "Recording when a runner's job completed failed", "runner", run.Name)
		}
		p.soon(grace + time.Second)
		return endedRunner{}, false
	}
	hung := now.Sub(completed)
	if hung < grace {
		p.soon(grace - hung + time.Second)
		return endedRunner{}, false
	}
	why := fmt.Sprintf("it was still %s %s after GitHub reported its job completed (%s)",
		run.Pod.Status.Phase, hung.Round(time.Second), run.Job.Result)
	return endedRunner{Runner: run, end: endHung, reason: ReasonRunnerHung, why: why}, true
}
