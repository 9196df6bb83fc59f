//go:build faults

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

package faults

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/contract"
	"actions.dev/runnerset-apiserver/pkg/github/simulator"
)

// r7Tally is what the audit of R7's jobs counted over every attempt of every queued job.
type r7Tally struct {
	queued, meantToFail, attempts          int
	succeeded, onRerun, ownFailures, spent int
	lost, reruns                           int
	// afterLock is GitHub failing a lost job → its re-run running; afterLoss the runner going
	// away → its re-run running.
	afterLock, afterLoss []time.Duration
	problems             []string
}

// auditJobs is R7's audit of the jobs, in place of auditJobs: GitHub's ground truth (every
// attempt of every queued job), its counters, then the RunnerSets' events and workflowjobs.
func (r *r7) auditJobs(a *auditResult) {
	budget := r.budget()
	tl := &r7Tally{}
	for _, id := range r.w.queuedJobs() {
		chain, _ := r.w.sim.JobAttempts(id)
		tl.queued++
		r.mu.Lock()
		if r.failing[id] {
			tl.meantToFail++
		}
		r.mu.Unlock()
		outcome, problems := r.checkChain(chain, budget)
		tl.count(chain, outcome)
		tl.problems = append(tl.problems, problems...)
	}
	tl.problems = append(tl.problems, r.takenNotLost()...)
	r.reportJobs(a, tl, budget)
	r.auditEvents(a, tl)
	r.auditWorkflowJobs(a)
}

// checkChain checks a job's attempts, first to last, and says how it ended: "succeeded",
// "own failure", "budget spent" (lost again once its run's re-runs were spent) or "open".
func (r *r7) checkChain(c []simulator.JobStatus, budget int) (string, []string) {
	if len(c) == 0 {
		return "open", []string{"a queued job unknown to GitHub"}
	}
	var p []string
	for i := range c {
		p = append(p, r.checkAttempt(c, i, budget)...)
	}
	first, last := c[0], c[len(c)-1]
	if reruns := len(c) - 1; reruns > budget {
		p = append(p, fmt.Sprintf("job %d: run %d re-run %d times, spec.lostJobReruns %d", first.RequestID, first.WorkflowRunID, reruns, budget))
	}
	switch {
	case last.State != simulator.JobCompleted:
		return "open", p
	case last.LostRunner:
		return "budget spent", p
	case first.Job.Result == simulator.ResultFailed:
		if last.Result != simulator.ResultFailed {
			p = append(p, fmt.Sprintf("job %d meant to fail ended %s", first.RequestID, last.Result))
		}
		return "own failure", p
	case last.Result != simulator.ResultSucceeded:
		p = append(p, fmt.Sprintf("job %d: its last attempt (job %d) ended %s", first.RequestID, last.RequestID, last.Result))
	}
	return "succeeded", p
}

// checkAttempt checks the i-th attempt of chain: completed, handed to one runner, lost only if
// the test took its runner, re-run exactly when it was lost within budget, and linked to its
// re-run as the run's next attempt.
func (r *r7) checkAttempt(c []simulator.JobStatus, i, budget int) []string {
	att := c[i]
	var p []string
	say := func(format string, args ...any) {
		p = append(p, fmt.Sprintf("job %d (attempt %d of job %d): ", att.RequestID, att.RunAttempt, c[0].RequestID)+fmt.Sprintf(format, args...))
	}
	if att.State != simulator.JobCompleted {
		say("%s", att.State)
	}
	if n := r.w.gate.startsOf(att.RequestID); n != 1 && att.State == simulator.JobCompleted {
		say("handed to runners %d times", n)
	}
	if att.LostRunner && !r.mayLose(att) {
		say("lost with runner %s, which the test did not take", att.RunnerName)
	}
	next := i + 1
	switch {
	case att.RerunAs != 0 && !att.LostRunner:
		say("re-run though it was not lost (%s)", att.Result)
	case att.RerunAs != 0 && (next >= len(c) || c[next].RequestID != att.RerunAs || c[next].RerunOf != att.RequestID || c[next].RunAttempt != att.RunAttempt+1):
		say("re-run as job %d, which is not its run's next attempt", att.RerunAs)
	case att.LostRunner && att.RerunAs == 0 && i < budget:
		say("lost and not re-run (%d of %d re-runs of its run used)", i, budget)
	}
	return p
}

// mayLose: the test took the attempt's runner, or its pod was on a removed node.
func (r *r7) mayLose(att simulator.JobStatus) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.taken[att.RequestID] != "" || r.onRemoved[att.RunnerName] {
		return true
	}
	r.w.mon.mu.Lock()
	defer r.w.mon.mu.Unlock()
	p := r.w.mon.pods[att.RunnerName]
	return p != nil && r.removed[p.Spec.NodeName]
}

// takenNotLost lists the jobs whose runner the test took that GitHub did not fail as lost.
func (r *r7) takenNotLost() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var p []string
	for id, kind := range r.taken {
		if j, _ := r.w.sim.Job(id); !j.LostRunner {
			p = append(p, fmt.Sprintf("job %d: its runner %s (%s), yet GitHub did not fail it as lost (%s %s)", id, j.RunnerName, kind, j.State, j.Result))
		}
	}
	sort.Strings(p)
	return p
}

func (tl *r7Tally) count(c []simulator.JobStatus, outcome string) {
	tl.attempts += len(c)
	for i, att := range c {
		if att.LostRunner {
			tl.lost++
		}
		if att.RerunAs == 0 || i+1 >= len(c) {
			continue
		}
		tl.reruns++
		if next := c[i+1]; !next.StartedAt.IsZero() {
			tl.afterLock = append(tl.afterLock, next.StartedAt.Sub(att.CompletedAt))
			tl.afterLoss = append(tl.afterLoss, next.StartedAt.Sub(att.RunnerLostAt))
		}
	}
	switch outcome {
	case "succeeded":
		tl.succeeded++
		if len(c) > 1 {
			tl.onRerun++
		}
	case "own failure":
		tl.ownFailures++
	case "budget spent":
		tl.spent++
	}
}

// reportJobs adds the jobs' lines, checking GitHub's counters against the attempts.
func (r *r7) reportJobs(a *auditResult, tl *r7Tally, budget int) {
	c := r.w.sim.Counters()
	if c.Reruns != tl.reruns {
		tl.problems = append(tl.problems, fmt.Sprintf("GitHub's reruns counter %d, %d re-runs among the attempts", c.Reruns, tl.reruns))
	}
	if c.LostRunners != tl.lost {
		tl.problems = append(tl.problems, fmt.Sprintf("GitHub's lostRunners counter %d, %d lost attempts", c.LostRunners, tl.lost))
	}
	if tl.spent == 0 {
		tl.problems = append(tl.problems, "no job ended with its run's re-runs spent: the job lost twice was re-run twice, or not lost")
	}
	r.mu.Lock()
	kinds := map[string]int{}
	for _, k := range r.taken {
		kinds[k]++
	}
	r.mu.Unlock()
	a.add("jobs", "%d queued (%d to fail on their own), %d attempts: %d succeeded (%d of them on a re-run), %d failed on their own and were not re-run, %d lost again on its re-run ended failed (its run's re-runs spent); every attempt handed to exactly one runner",
		tl.queued, tl.meantToFail, tl.attempts, tl.succeeded, tl.onRerun, tl.ownFailures, tl.spent)
	a.add("lost jobs", "runners taken: %s; %d attempts lost in all (GitHub's lostRunners %d), each re-run once as its run's next attempt (rerunAs/rerunOf, run_attempt+1) within spec.lostJobReruns %d and none beyond; GitHub's reruns counter %d = re-runs found",
		tally(kinds), tl.lost, c.LostRunners, budget, c.Reruns)
	a.add("re-run time", "GitHub failing a lost job (its lock lapsing, %s here, 10 min on GitHub) → its re-run running, waits for a free runner at maxRunners included: p50 %s, max %s; the runner gone → its re-run running: p50 %s, max %s",
		r.w.sim.RunnerLostTimeout(), quantile(tl.afterLock, 50), quantile(tl.afterLock, 100), quantile(tl.afterLoss, 50), quantile(tl.afterLoss, 100))
	if len(tl.problems) > 0 {
		a.fail("lost jobs", "%d problems: %s", len(tl.problems), examples(tl.problems, 8))
	}
}

// auditEvents checks that the RunnerSets said what happened: JobLost, JobRerun and, for the job
// lost twice, RerunBudgetSpent. client-go's recorder lets 25 events of one reason per RunnerSet
// through at once and one more every 5 minutes, so there may be fewer than happened, never more:
// more JobLost than lost attempts is a runner reported lost whose job was not.
func (r *r7) auditEvents(a *auditResult, tl *r7Tally) {
	counts := map[string]int{}
	var missing []string
	for _, reason := range []string{"JobLost", "JobRerun", "RerunBudgetSpent"} {
		list, err := r.w.kube.CoreV1().Events(r.w.ns).List(context.Background(), metav1.ListOptions{FieldSelector: "involvedObject.kind=RunnerSet,reason=" + reason})
		if err != nil {
			a.fail("events", "listing %s events: %v", reason, err)
			return
		}
		for _, e := range list.Items {
			counts[reason] += int(max(e.Count, 1))
		}
		if counts[reason] == 0 {
			missing = append(missing, reason)
		}
	}
	switch {
	case len(missing) > 0:
		a.fail("events", "no %s event on the RunnerSets (seen: %s)", strings.Join(missing, ", "), tally(counts))
	case counts["JobLost"] > tl.lost || counts["JobRerun"] > tl.reruns:
		a.fail("events", "more than happened: %s for %d lost attempts and %d re-runs", tally(counts), tl.lost, tl.reruns)
	default:
		a.add("events", "seen on the RunnerSets: %s (at most one per lost attempt and re-run)", tally(counts))
	}
}

// auditWorkflowJobs checks the server's job records against GitHub's attempts, if it serves them.
func (r *r7) auditWorkflowJobs(a *auditResult) {
	_, err := r.w.rsets.ActionsV1alpha1().WorkflowJobs(r.w.ns).List(context.Background(), metav1.ListOptions{Limit: 1})
	if apierrors.IsNotFound(err) {
		a.add("workflowjobs", "not served (%v): jobs audited from GitHub's side only", err)
		return
	}
	var last []string
	n := 0
	// The history is written a few seconds after the fact. Each look has a deadline of its own,
	// so that the last one reported is a whole one, not one the poll's deadline cut short.
	_, err = poll(time.Minute, func(context.Context) (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		last, n = r.workflowJobProblems(ctx)
		return len(last) == 0, ""
	})
	if err != nil {
		a.fail("workflowjobs", "%d records, %d problems after a minute: %s", n, len(last), examples(last, 6))
		return
	}
	a.add("workflowjobs", "%d records, one per attempt, true to GitHub: phase (Rerun for a lost job re-run, Failed/RerunBudgetSpent for the one lost again), the loss's reason, rerunOf/rerunAs linked", n)
}

// workflowJobProblems compares every attempt with its WorkflowJob; n counts the attempts.
func (r *r7) workflowJobProblems(ctx context.Context) (problems []string, n int) {
	list, err := r.w.rsets.ActionsV1alpha1().WorkflowJobs(r.w.ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return []string{err.Error()}, 0
	}
	byName := map[string]*v1alpha1.WorkflowJob{}
	for i := range list.Items {
		byName[list.Items[i].Name] = &list.Items[i]
	}
	for _, id := range r.w.queuedJobs() {
		chain, _ := r.w.sim.JobAttempts(id)
		for i := range chain {
			n++
			if p := r.workflowJobProblem(byName, chain, i); p != "" {
				problems = append(problems, p)
			}
		}
	}
	return problems, n
}

func wfjName(att simulator.JobStatus) string {
	return contract.WorkflowJobName(att.Job.Labels[0], att.RequestID)
}

// workflowJobProblem says how the i-th attempt's WorkflowJob differs from GitHub's truth.
func (r *r7) workflowJobProblem(byName map[string]*v1alpha1.WorkflowJob, c []simulator.JobStatus, i int) string {
	att := c[i]
	name := wfjName(att)
	wj := byName[name]
	if wj == nil {
		return name + ": no WorkflowJob"
	}
	st := wj.Status
	want, reason, rerunAs, rerunOf := v1alpha1.WorkflowJobPhase(""), "", "", ""
	switch {
	case att.RerunAs != 0:
		want, reason, rerunAs = v1alpha1.JobRerun, r.lossReason(att), contract.WorkflowJobName(att.Job.Labels[0], att.RerunAs)
	case att.LostRunner:
		want, reason = v1alpha1.JobFailed, "RerunBudgetSpent"
	case att.Result == simulator.ResultSucceeded:
		want = v1alpha1.JobSucceeded
	case att.Result == simulator.ResultCanceled:
		want = v1alpha1.JobCanceled
	default:
		want = v1alpha1.JobFailed
	}
	if i > 0 {
		rerunOf = wfjName(c[i-1])
	}
	if st.Phase != want || (reason != "" && st.Reason != reason) || st.RerunAs != rerunAs || st.RerunOf != rerunOf {
		return fmt.Sprintf("%s: %s/%s rerunOf %q rerunAs %q, want %s/%s rerunOf %q rerunAs %q", name, st.Phase, st.Reason, st.RerunOf, st.RerunAs, want, reason, rerunOf, rerunAs)
	}
	return ""
}

// lossReason is the reason the server should give for how the test took the attempt's runner.
func (r *r7) lossReason(att simulator.JobStatus) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch r.taken[att.RequestID] {
	case takeEvict, takeDrain, takeAgain:
		return contract.LossEvicted
	case takeDelete:
		return contract.LossDeleted
	case takeOOM:
		return contract.LossOOMKilled
	}
	return contract.LossNodeLost
}

// tally writes counts as "a 1, b 2", by key.
func tally(m map[string]int) string {
	var out []string
	for k, v := range m {
		out = append(out, fmt.Sprintf("%s %d", k, v))
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

func quantile(ds []time.Duration, q float64) string {
	if len(ds) == 0 {
		return "n/a"
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, k int) bool { return s[i] < s[k] })
	i := min(len(s)-1, max(0, int(float64(len(s))*q/100+0.5)-1))
	return s[i].Round(100 * time.Millisecond).String()
}

func examples(xs []string, n int) string {
	if len(xs) > n {
		xs = append(xs[:n:n], fmt.Sprintf("... (%d more)", len(xs)-n))
	}
	return strings.Join(xs, "; ")
}
