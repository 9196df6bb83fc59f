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
	"errors"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/contract"
	"actions.dev/runnerset-apiserver/pkg/github/actions"
)

// endedRunner is a runner whose pod ended, or is to be ended (endHung), and what the ledger
// knows of its job.
type endedRunner struct {
	contract.Runner
	end jobEnd
	// reason and why are the event of a runner the server ends.
	reason, why string
}

// sort acts on the runners whose state calls for it (their scale set lost, failed, deprecated,
// waiting for a new pod) and returns those alive and those that ended after their job.
func (r *Reconciler) sort(ctx context.Context, p *pass, runners []contract.Runner) (live []contract.Runner, ended []endedRunner) {
	blocked := r.isBlocked(p.rs)
	for _, run := range runners {
		if run.Phase == contract.PhaseFailed || (run.Pod == nil && run.Failures > 0) { // failed, or waiting out its backoff
			p.podTrouble = true
		}
		switch {
		case r.lostRunner(ctx, p, run):
		case run.RunnerID != 0 && p.d.ScaleSetID != 0 && run.ScaleSetID != p.d.ScaleSetID && run.Phase != contract.PhaseBusy:
			// Registered in a scale set GitHub lost: the registration is gone with it.
			r.deleteRunner(ctx, run, "its scale set was deleted on GitHub")
		case run.Phase == contract.PhaseSucceeded:
			ended = append(ended, endedRunner{Runner: run, end: r.jobEnded(run)})
		case run.Phase == contract.PhaseDeprecated:
			r.deprecated(p, run)
			ended = append(ended, endedRunner{Runner: run, end: r.jobEnded(run)})
		case run.Phase == contract.PhaseFailed:
			p.soon(r.runnerFailed(ctx, p, run))
			live = append(live, run)
		case run.Pod == nil && run.Secret != nil && p.d.Client != nil && !blocked:
			p.soon(r.recreatePod(ctx, p, run))
			live = append(live, run)
		default:
			live = append(live, run)
		}
	}
	return live, ended
}

// scale plans and acts: runners whose JobCompleted never came are deregistered, idle ones in
// excess or of an older template removed, missing ones created.
func (r *Reconciler) scale(ctx context.Context, p *pass, live []contract.Runner, desired int) []contract.Runner {
	// The statistics and the pods tell a job's end at slightly different moments: a runner that
	// finished a job GitHub has not yet reported completed keeps its slot until the report
	// comes, and one whose job GitHub reported completed holds none while its pod exits.
	finished, recheck, lost := r.ledger.finishedAwaiting(r.cfg.Clock.Now())
	p.soon(recheck)
	for _, id := range lost {
		r.deregister(ctx, p, id, "")
	}
	plan := PlanScale(max(desired-finished, 0), r.ledger.slots(live), contract.TemplateHash(p.rs), !r.isBlocked(p.rs))
	removed := r.removeRunners(ctx, p, live, plan.Remove)
	live = withoutNames(live, removed)
	created := r.createRunners(ctx, p, plan.Create)
	if len(created) < plan.Create {
		p.soon(5 * time.Second)
	}
	return append(live, created...)
}

// removeRunners scales down: deregister on GitHub first, and keep runners GitHub says are busy.
func (r *Reconciler) removeRunners(ctx context.Context, p *pass, runners []contract.Runner, names []string) map[string]bool {
	byName := map[string]contract.Runner{}
	for _, run := range runners {
		byName[run.Name] = run
	}
	removed := map[string]bool{}
	for _, name := range names {
		run := byName[name]
		if run.RunnerID != 0 {
			err := p.client().RemoveRunner(ctx, run.RunnerID)
			if errors.Is(err, actions.ErrJobStillRunning) {
				continue // it took a job since we looked: it stays
			}
			if err != nil && !errors.Is(err, actions.ErrRunnerNotFound) {
				r.failed()
				klog.FromContext(ctx).Info("Deregistering an idle runner failed; keeping it", "runner", name, "err", err)
				continue
			}
		}
		r.deleteRunner(ctx, run, "")
		removed[name] = true
	}
	return removed
}

func withoutNames(runners []contract.Runner, names map[string]bool) []contract.Runner {
	var out []contract.Runner
	for _, run := range runners {
		if !names[run.Name] {
			out = append(out, run)
		}
	}
	return out
}

// isBlocked tells whether runner creation is held back for rs's generation now.
func (r *Reconciler) isBlocked(rs *v1alpha1.RunnerSet) bool {
	b := r.blocked
	if b.generation == 0 || b.generation != rs.Generation {
		return false
	}
	return b.until.IsZero() || r.cfg.Clock.Now().Before(b.until)
}

// block holds runner creation back until the spec changes, or until retry has passed if set.
func (r *Reconciler) block(rs *v1alpha1.RunnerSet, retry time.Duration) {
	r.blocked.generation, r.blocked.until = rs.Generation, time.Time{}
	if retry > 0 {
		r.blocked.until = r.cfg.Clock.Now().Add(retry)
	}
}

// unblockOnNewSpec lifts a block when the spec changed: whatever blocked creation may be fixed.
func (r *Reconciler) unblockOnNewSpec(rs *v1alpha1.RunnerSet) {
	if r.blocked.generation == 0 || r.blocked.generation == rs.Generation {
		return
	}
	r.blocked.generation, r.blocked.until = 0, time.Time{}
	r.setCondition(rs.Generation, v1alpha1.ConditionPodsFailing, metav1.ConditionFalse, ReasonRunnersHealthy, "the spec changed; runners are created again")
	r.setCondition(rs.Generation, v1alpha1.ConditionRunnerVersionDeprecated, metav1.ConditionFalse, "SpecChanged", "the spec changed since a runner reported a deprecated version")
	if meta.FindStatusCondition(r.conditions, v1alpha1.ConditionRunnerVersionTooOld) != nil {
		r.setCondition(rs.Generation, v1alpha1.ConditionRunnerVersionTooOld, metav1.ConditionFalse, "SpecChanged", "the spec changed since GitHub refused a runner's version")
	}
}
