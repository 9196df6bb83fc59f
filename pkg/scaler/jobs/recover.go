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
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/contract"
	"actions.dev/runnerset-apiserver/pkg/github/ghrest"
	"actions.dev/runnerset-apiserver/pkg/github/ratelimit"
	"actions.dev/runnerset-apiserver/pkg/scaler/metrics"
	"actions.dev/runnerset-apiserver/pkg/scaler/runners"
)

// GitHub is what re-running a lost job asks of GitHub's REST API.
type GitHub interface {
	RunJobs(ctx context.Context, owner, repo string, runID int64) ([]ghrest.WorkflowJob, error)
	Rerun(ctx context.Context, owner, repo string, jobID int64) error
}

// Why a lost job was not re-run.
const (
	ReasonRerunsOff    = "RerunsOff"
	ReasonRerunBudget  = "RerunBudgetSpent"
	ReasonRerunRefused = "RerunRefused"
	ReasonNotRerun     = "NotRerunnable"
)

const (
	// lockWait is how long a lost job waits for GitHub's JobCompleted (sent when the runner's
	// job lock lapses) before the server asks GitHub itself.
	lockWait = 2 * time.Minute
	// rerunRetry is how soon to ask again while the run has jobs that did not finish.
	rerunRetry = 5 * time.Second
	// lookRetry is how soon to look at a lost job again after GitHub did not answer.
	lookRetry = 30 * time.Second
	// perPass and callTimeout bound the GitHub calls of one reconcile pass, which holds the
	// RunnerSet's other work back.
	perPass     = 4
	callTimeout = 10 * time.Second
)

// lost records that the cluster took a job's runner.
func (j *Journal) lost(rs *v1alpha1.RunnerSet, l runners.LostRunner, now time.Time) {
	e := j.jobs[j.byRunner[l.Name]]
	if e == nil || e.st.Phase != v1alpha1.JobRunning {
		return
	}
	metrics.JobLost(j.namespace, j.runnerSet, l.Reason)
	j.enter(e, v1alpha1.JobLost, l.Reason, fmt.Sprintf("runner %s: %s", l.Name, l.Message), now)
	e.retryAt, e.sawLoss = now.Add(lockWait), true
}

// lostCompleted handles GitHub's end of a lost job: a failure is re-run (Recover), a success or
// a cancellation is what it says.
func (j *Journal) lostCompleted(rs *v1alpha1.RunnerSet, e *entry, phase v1alpha1.WorkflowJobPhase, now time.Time) {
	switch {
	case phase != v1alpha1.JobFailed:
		metrics.JobRerun(j.namespace, j.runnerSet, metrics.RerunNotNeeded)
		j.enter(e, phase, e.st.Reason, e.st.Message+"; GitHub ended it "+e.st.Result+", not re-run", now)
	case !contract.Rerunnable(e.st.Reason):
		j.giveUp(rs, e, ReasonNotRerun, fmt.Sprintf("%s; a job lost that way is not re-run", e.st.Message), metrics.RerunNotNeeded, now)
	default:
		e.retryAt = now // GitHub concluded it: the re-run can be asked for
	}
}

// giveUp ends a lost job as failed.
func (j *Journal) giveUp(rs *v1alpha1.RunnerSet, e *entry, reason, message, outcome string, now time.Time) {
	metrics.JobRerun(j.namespace, j.runnerSet, outcome)
	if outcome != metrics.RerunNotNeeded {
		j.event(rs, corev1.EventTypeWarning, reason, "Job %s (%s) not re-run: %s", contract.WorkflowJobName(j.runnerSet, e.st.RequestID), e.st.DisplayName, message)
	}
	if e.st.Completed == nil {
		e.st.Completed = ptrTime(now)
	}
	j.enter(e, v1alpha1.JobFailed, reason, message, now)
}

// Recover asks GitHub to re-run the lost jobs whose time has come, and says when to look again.
func (j *Journal) Recover(ctx context.Context, rs *v1alpha1.RunnerSet, client any) time.Duration {
	gh, _ := client.(GitHub)
	now := j.cfg.Clock.Now()
	var next time.Duration
	calls := 0
	for _, e := range j.jobs {
		if e.st.Phase != v1alpha1.JobLost || !contract.Rerunnable(e.st.Reason) || !e.sawLoss {
			continue
		}
		if wait := e.retryAt.Sub(now); wait > 0 || gh == nil || calls >= perPass {
			next = soonest(next, max(wait, time.Second))
			continue
		}
		calls++
		cctx, cancel := context.WithTimeout(ctx, callTimeout)
		j.recoverOne(cctx, rs, gh, e, now)
		cancel()
		if e.st.Phase == v1alpha1.JobLost {
			next = soonest(next, e.retryAt.Sub(now))
		}
	}
	return next
}

// recoverOne looks at one lost job on GitHub and re-runs it once its run concluded, within the
// RunnerSet's budget.
func (j *Journal) recoverOne(ctx context.Context, rs *v1alpha1.RunnerSet, gh GitHub, e *entry, now time.Time) {
	budget := int32(v1alpha1.DefaultLostJobReruns)
	if rs.Spec.LostJobReruns != nil {
		budget = *rs.Spec.LostJobReruns
	}
	if budget == 0 {
		j.giveUp(rs, e, ReasonRerunsOff, e.st.Message+"; re-runs are off (spec.lostJobReruns: 0)", metrics.RerunBudget, now)
		return
	}
	if used := j.rerunsOf(e.st.Repository, e.st.RunID); used >= int(budget) {
		j.giveUp(rs, e, ReasonRerunBudget, fmt.Sprintf("%s; %d of run %d's jobs were re-run already (spec.lostJobReruns: %d)", e.st.Message, used, e.st.RunID, budget), metrics.RerunBudget, now)
		return
	}
	owner, repo, _ := strings.Cut(e.st.Repository, "/")
	job, err := j.restJob(ctx, rs, gh, owner, repo, e)
	if err == nil && job != nil {
		err = j.rerun(ctx, rs, gh, owner, repo, e, job, now)
	}
	j.handleRecoverError(ctx, rs, e, err, now)
}

// restJob finds the lost job among its run's latest jobs: the one its runner ran. nil: GitHub
// has not concluded it yet (looked at again later) or it needs no re-run (ended here).
func (j *Journal) restJob(ctx context.Context, rs *v1alpha1.RunnerSet, gh GitHub, owner, repo string, e *entry) (*ghrest.WorkflowJob, error) {
	jobs, err := gh.RunJobs(ctx, owner, repo, e.st.RunID)
	if err != nil {
		return nil, err
	}
	now := j.cfg.Clock.Now()
	for i := range jobs {
		wj := &jobs[i]
		if wj.RunnerName != e.st.Runner {
			continue
		}
		switch {
		case wj.Status != "completed":
			e.retryAt = now.Add(rerunRetry)
			return nil, nil
		case wj.Conclusion == "success" || wj.Conclusion == "cancelled":
			e.st.Result = wj.Conclusion
			j.lostCompleted(rs, e, phaseOf(wj.Conclusion), now)
			return nil, nil
		}
		return wj, nil
	}
	// Not in the run's latest attempt: someone re-ran the run already.
	j.giveUp(rs, e, ReasonNotRerun, e.st.Message+"; its run was re-run already", metrics.RerunNotNeeded, now)
	return nil, nil
}

func (j *Journal) rerun(ctx context.Context, rs *v1alpha1.RunnerSet, gh GitHub, owner, repo string, e *entry, job *ghrest.WorkflowJob, now time.Time) error {
	if err := gh.Rerun(ctx, owner, repo, job.ID); err != nil {
		return err
	}
	metrics.JobRerun(j.namespace, j.runnerSet, metrics.RerunDone)
	name := contract.WorkflowJobName(j.runnerSet, e.st.RequestID)
	klog.FromContext(ctx).Info("Re-ran a job lost with its runner", "workflowJob", name, "runner", e.st.Runner, "reason", e.st.Reason, "githubJob", job.ID)
	j.event(rs, corev1.EventTypeNormal, "JobRerun", "Job %s (%s) lost with runner %s (%s) re-run on GitHub as attempt %d of run %d",
		name, e.st.DisplayName, e.st.Runner, e.st.Reason, job.RunAttempt+1, e.st.RunID)
	if e.st.Completed == nil {
		e.st.Completed = ptrTime(now)
	}
	j.enter(e, v1alpha1.JobRerun, e.st.Reason, fmt.Sprintf("%s; re-run as attempt %d of run %d", e.st.Message, job.RunAttempt+1, e.st.RunID), now)
	return nil
}

// handleRecoverError waits and tries again while GitHub is busy or unreachable, and gives up on a
// refusal (credentials without the right to re-run, a job GitHub no longer has).
func (j *Journal) handleRecoverError(ctx context.Context, rs *v1alpha1.RunnerSet, e *entry, err error, now time.Time) {
	var rl *ratelimit.Error
	switch {
	case err == nil:
	case errors.Is(err, ghrest.ErrRunNotFinished):
		e.retryAt = now.Add(rerunRetry)
	case errors.As(err, &rl):
		e.retryAt = rl.Until
	case ghrest.IsRefusal(err):
		j.giveUp(rs, e, ReasonRerunRefused, fmt.Sprintf("%s; GitHub refused the re-run: %v (a PAT needs the repo scope, an App actions: write)", e.st.Message, err), metrics.RerunRefused, now)
	default:
		klog.FromContext(ctx).Info("Looking at a lost job on GitHub failed; trying again", "workflowJob", contract.WorkflowJobName(j.runnerSet, e.st.RequestID), "err", err)
		e.retryAt = now.Add(lookRetry)
	}
}

// rerunsOf counts the jobs of a run this RunnerSet re-ran.
func (j *Journal) rerunsOf(repository string, runID int64) int {
	n := 0
	for _, e := range j.jobs {
		if e.st.Phase == v1alpha1.JobRerun && e.st.RunID == runID && e.st.Repository == repository {
			n++
		}
	}
	return n
}

func soonest(a, b time.Duration) time.Duration {
	if a <= 0 || (b > 0 && b < a) {
		return b
	}
	return a
}
