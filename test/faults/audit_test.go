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

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/github/simulator"
)

// Deadlines of the audit's waits. Reaching rest includes GitHub's runner list catching up with
// new idle runners (the scaler's online check) and a drift check; deletion drains every set.
const (
	restTimeout   = 3 * time.Minute
	deleteTimeout = 3 * time.Minute
)

// auditResult is what audit found; lines are printed in the report.
type auditResult struct {
	lines    []string
	problems []string
}

func (a *auditResult) add(label, format string, args ...any) {
	a.lines = append(a.lines, fmt.Sprintf("%-15s %s", label, fmt.Sprintf(format, args...)))
}

func (a *auditResult) fail(label, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	a.problems = append(a.problems, label+": "+msg)
	a.lines = append(a.lines, fmt.Sprintf("%-15s FAIL %s", label, msg))
}

// audit is how every scenario ends. It checks, in order:
//
//  1. jobs: every job queued in this world completed exactly once (succeeded, handed to one
//     runner, by a scale set of this world), or what the world's jobsAudit checks instead (R7);
//  2. peaks: at no moment more live runner pods or GitHub registrations than maxRunners;
//  3. rest: every RunnerSet reaches the state its spec and the (now empty) queue call for, and
//     its status says so: Ready, GitHubAuthenticated, ScaleSetRegistered and SessionActive True,
//     PodsFailing, OrphanRunners and RunnerVersionDeprecated not True; desired = current = idle =
//     minRunners; no job counts; the scale set id and session id are GitHub's; exactly minRunners
//     pods, Secrets and registrations (online, idle) and one session per scale set;
//  4. delete: deleting every RunnerSet leaves no runner pod, Secret, registration, session or
//     scale set, and no DrainIncomplete event.
//
// notes are printed with the audit (what the scenario did and measured). It fails the test on
// any problem, after printing.
func (w *world) audit(notes ...string) {
	w.t.Helper()
	a := &auditResult{}
	a.add("scenario", "%s (%s form, seed %d), namespace %s, %d RunnerSets", w.name, pick("full", "short"), *seed, w.ns, len(w.setNames()))
	for _, n := range notes {
		a.add("", "%s", n)
	}
	if w.jobsAudit != nil {
		w.jobsAudit(a)
	} else {
		w.auditJobs(a)
	}
	w.auditPeaks(a)
	w.auditRest(a)
	if w.beforeDelete != nil {
		w.beforeDelete(a)
	}
	w.auditDelete(a)
	a.add("duration", "%s", time.Since(w.start).Round(time.Second))
	verdict := "PASS"
	if len(a.problems) > 0 {
		verdict = fmt.Sprintf("FAIL (%d problems)", len(a.problems))
	}
	a.add("verdict", "%s", verdict)
	bar := strings.Repeat("=", 20)
	report(w.t, fmt.Sprintf("%s AUDIT %s %s\n%s\n", bar, w.name, bar, indent(a.lines)))
	for _, p := range a.problems {
		w.t.Error(p)
	}
}

func (w *world) auditJobs(a *auditResult) {
	ids := w.queuedJobs()
	var succeeded, failed, canceled, open, twice, never, reassigned int
	var examples []string
	for _, id := range ids {
		j, ok := w.sim.Job(id)
		starts := w.gate.startsOf(id)
		switch {
		case !ok || j.State != simulator.JobCompleted:
			open++
			examples = append(examples, fmt.Sprintf("job %d %s", id, j.State))
		case j.Result == simulator.ResultSucceeded:
			succeeded++
		case j.Result == simulator.ResultCanceled:
			canceled++
			examples = append(examples, fmt.Sprintf("job %d canceled after %d assignments", id, j.Attempts))
		default:
			failed++
			examples = append(examples, fmt.Sprintf("job %d %s on %s", id, j.Result, j.RunnerName))
		}
		switch {
		case starts > 1:
			twice++
			examples = append(examples, fmt.Sprintf("job %d handed to runners %d times", id, starts))
		case starts == 0 && ok && j.Result == simulator.ResultSucceeded:
			never++
			examples = append(examples, fmt.Sprintf("job %d succeeded without a runner of this world", id))
		}
		if j.Attempts > 1 {
			reassigned++
		}
	}
	summary := fmt.Sprintf("%d queued, %d succeeded, each handed to exactly one runner (%d failed, %d canceled, %d open, %d started twice); %d waited for a runner long enough that GitHub re-assigned them",
		len(ids), succeeded, failed, canceled, open, twice, reassigned)
	if succeeded != len(ids) || twice > 0 || never > 0 || len(ids) == 0 {
		if len(examples) > 5 {
			examples = append(examples[:5], "...")
		}
		a.fail("jobs", "%s: %s", summary, strings.Join(examples, "; "))
		return
	}
	a.add("jobs", "%s", summary)
}

func (w *world) auditPeaks(a *auditResult) {
	var parts []string
	ok := true
	for _, name := range w.setNames() {
		s := w.spec(name)
		pods, regs, unlost, at := w.mon.peaks(name)
		part := fmt.Sprintf("%s max %d: peak %d pods, %d registrations", name, s.max, pods, regs)
		if unlost != regs {
			// Say whether GitHub's registrations of runners lost mid-job made the peak.
			part += fmt.Sprintf(" (%d without those of runners lost mid-job, kept by GitHub until their job's lock lapses)", unlost)
		}
		parts = append(parts, part)
		if pods > int(s.max) || regs > int(s.max) {
			ok = false
			parts = append(parts, fmt.Sprintf("the pods at the peak: %v", at))
		}
	}
	if !ok {
		a.fail("max runners", "%s", strings.Join(parts, "; "))
		return
	}
	a.add("max runners", "never above maxRunners: %s", strings.Join(parts, "; "))
}

// restProblems lists how a RunnerSet differs from its state at rest; none means at rest.
func (w *world) restProblems(ctx context.Context, name string) []string {
	s := w.spec(name)
	min := int(s.min)
	var p []string
	rs, err := w.runnerSet(ctx, name)
	if err != nil {
		return []string{err.Error()}
	}
	st := rs.Status
	if st.ObservedGeneration != rs.Generation {
		p = append(p, fmt.Sprintf("observedGeneration %d of %d", st.ObservedGeneration, rs.Generation))
	}
	for _, c := range []string{v1alpha1.ConditionReady, v1alpha1.ConditionGitHubAuthenticated, v1alpha1.ConditionScaleSetRegistered, v1alpha1.ConditionSessionActive} {
		if cond := meta.FindStatusCondition(st.Conditions, c); cond == nil || cond.Status != metav1.ConditionTrue {
			p = append(p, fmt.Sprintf("%s not True (%v)", c, condString(cond)))
		}
	}
	for _, c := range []string{v1alpha1.ConditionPodsFailing, v1alpha1.ConditionOrphanRunners, v1alpha1.ConditionRunnerVersionDeprecated} {
		if cond := meta.FindStatusCondition(st.Conditions, c); cond != nil && cond.Status == metav1.ConditionTrue {
			p = append(p, fmt.Sprintf("%s True (%s)", c, condString(cond)))
		}
	}
	counts := map[string][2]int32{
		"desiredRunners": {st.DesiredRunners, int32(min)}, "currentRunners": {st.CurrentRunners, int32(min)},
		"idleRunners": {st.IdleRunners, int32(min)}, "pendingRunners": {st.PendingRunners, 0},
		"busyRunners": {st.BusyRunners, 0}, "failedRunners": {st.FailedRunners, 0},
		"assignedJobs": {st.AssignedJobs, 0}, "runningJobs": {st.RunningJobs, 0}, "availableJobs": {st.AvailableJobs, 0},
	}
	var keys []string
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if v := counts[k]; v[0] != v[1] {
			p = append(p, fmt.Sprintf("status.%s %d, want %d", k, v[0], v[1]))
		}
	}
	if len(st.GitHubOnlyRunners) > 0 {
		p = append(p, fmt.Sprintf("%d GitHub-only runners in status", len(st.GitHubOnlyRunners)))
	}
	id, ok := w.scaleSetOf(name)
	switch {
	case !ok:
		p = append(p, "no scale set on GitHub")
	case int64(id) != st.ScaleSetID:
		p = append(p, fmt.Sprintf("status.scaleSetId %d, GitHub's is %d", st.ScaleSetID, id))
	}
	sessions := 0
	for _, sess := range w.sim.Sessions() {
		if sess.RunnerScaleSet != nil && sess.RunnerScaleSet.ID == id {
			sessions++
			if sess.SessionID != st.SessionID {
				p = append(p, fmt.Sprintf("status.sessionId %q, GitHub's session is %q", st.SessionID, sess.SessionID))
			}
		}
	}
	if sessions != 1 {
		p = append(p, fmt.Sprintf("%d sessions on GitHub", sessions))
	}
	regs, busy, offline := 0, 0, 0
	for _, r := range w.sim.Runners() {
		if r.ScaleSetID != id {
			continue
		}
		regs++
		if r.Busy {
			busy++
		}
		if !r.Online {
			offline++
		}
	}
	if regs != min || busy > 0 || offline > 0 {
		p = append(p, fmt.Sprintf("%d registrations (%d busy, %d offline), want %d idle online", regs, busy, offline, min))
	}
	pods, err := w.kube.CoreV1().Pods(w.ns).List(ctx, metav1.ListOptions{LabelSelector: v1alpha1.LabelRunnerSet + "=" + name})
	if err != nil {
		return append(p, err.Error())
	}
	running := 0
	for _, pod := range pods.Items {
		if pod.Status.Phase == corev1.PodRunning && pod.DeletionTimestamp == nil && pod.Annotations[v1alpha1.AnnotationJobRequestID] == "" {
			running++
		}
	}
	if len(pods.Items) != min || running != min {
		p = append(p, fmt.Sprintf("%d runner pods (%d running idle), want %d", len(pods.Items), running, min))
	}
	secrets, err := w.kube.CoreV1().Secrets(w.ns).List(ctx, metav1.ListOptions{LabelSelector: v1alpha1.LabelRunnerSet + "=" + name})
	if err != nil {
		return append(p, err.Error())
	}
	if len(secrets.Items) != min {
		p = append(p, fmt.Sprintf("%d runner Secrets, want %d", len(secrets.Items), min))
	}
	return p
}

func condString(c *metav1.Condition) string {
	if c == nil {
		return "absent"
	}
	return fmt.Sprintf("%s %s: %s", c.Status, c.Reason, c.Message)
}

func (w *world) auditRest(a *auditResult) {
	begin := time.Now()
	var last []string
	_, err := poll(restTimeout, func(ctx context.Context) (bool, string) {
		last = nil
		for _, name := range w.setNames() {
			for _, p := range w.restProblems(ctx, name) {
				last = append(last, name+": "+p)
			}
		}
		if scaleSets := len(w.sim.ScaleSets()); scaleSets != len(w.setNames()) {
			last = append(last, fmt.Sprintf("%d scale sets on GitHub for %d RunnerSets", scaleSets, len(w.setNames())))
		}
		return len(last) == 0, ""
	})
	if err != nil {
		a.fail("at rest", "not reached within %s: %s", restTimeout, strings.Join(last, "; "))
		return
	}
	var warm []string
	for _, name := range w.setNames() {
		warm = append(warm, fmt.Sprintf("%s=%d", name, w.spec(name).min))
	}
	a.add("at rest", "after %s: every RunnerSet Ready/GitHubAuthenticated/ScaleSetRegistered/SessionActive True, PodsFailing/OrphanRunners/RunnerVersionDeprecated not True, status = GitHub's scale set and session; runner pods = Secrets = idle registrations = desired = minRunners (%s); 1 session per scale set",
		time.Since(begin).Round(time.Second), strings.Join(warm, " "))
}

func (w *world) auditDelete(a *auditResult) {
	begin := time.Now()
	ctx := context.Background()
	for _, name := range w.setNames() {
		err := w.rsets.ActionsV1alpha1().RunnerSets(w.ns).Delete(ctx, name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			a.fail("after delete", "deleting %s: %v", name, err)
			return
		}
	}
	last, err := poll(deleteTimeout, func(ctx context.Context) (bool, string) {
		var left []string
		list, err := w.rsets.ActionsV1alpha1().RunnerSets(w.ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		if n := len(list.Items); n > 0 {
			left = append(left, fmt.Sprintf("%d RunnerSets", n))
		}
		pods, err := w.kube.CoreV1().Pods(w.ns).List(ctx, metav1.ListOptions{LabelSelector: v1alpha1.LabelRunnerSet})
		if err != nil {
			return false, err.Error()
		}
		secrets, err := w.kube.CoreV1().Secrets(w.ns).List(ctx, metav1.ListOptions{LabelSelector: v1alpha1.LabelRunnerSet})
		if err != nil {
			return false, err.Error()
		}
		if n := len(pods.Items); n > 0 {
			left = append(left, fmt.Sprintf("%d runner pods", n))
		}
		if n := len(secrets.Items); n > 0 {
			left = append(left, fmt.Sprintf("%d runner Secrets", n))
		}
		if n := len(w.sim.Runners()); n > 0 {
			left = append(left, fmt.Sprintf("%d registrations", n))
		}
		if n := len(w.sim.Sessions()); n > 0 {
			left = append(left, fmt.Sprintf("%d sessions", n))
		}
		if n := len(w.sim.ScaleSets()); n > 0 {
			left = append(left, fmt.Sprintf("%d scale sets", n))
		}
		return len(left) == 0, strings.Join(left, ", ")
	})
	if err != nil {
		a.fail("after delete", "still there after %s: %s", deleteTimeout, last)
		return
	}
	events, err := w.kube.CoreV1().Events(w.ns).List(ctx, metav1.ListOptions{FieldSelector: "reason=DrainIncomplete"})
	if err == nil && len(events.Items) > 0 {
		a.fail("after delete", "DrainIncomplete: %s", events.Items[0].Message)
		return
	}
	a.add("after delete", "all RunnerSets drained in %s: 0 runner pods, 0 Secrets, 0 registrations, 0 sessions, 0 scale sets on GitHub",
		time.Since(begin).Round(time.Second))
	if !w.ownNamespace() {
		return
	}
	// And the namespace itself goes: nothing of ours keeps it Terminating.
	begin = time.Now()
	if err := w.kube.CoreV1().Namespaces().Delete(ctx, w.ns, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		a.fail("namespace", "deleting %s: %v", w.ns, err)
		return
	}
	last, err = poll(deleteTimeout, func(ctx context.Context) (bool, string) {
		ns, err := w.kube.CoreV1().Namespaces().Get(ctx, w.ns, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, ""
		}
		if err != nil {
			return false, err.Error()
		}
		for _, c := range ns.Status.Conditions {
			if c.Status == corev1.ConditionTrue {
				return false, c.Reason + ": " + c.Message
			}
		}
		return false, string(ns.Status.Phase)
	})
	if err != nil {
		a.fail("namespace", "%s still there after %s: %s", w.ns, deleteTimeout, last)
		return
	}
	a.add("namespace", "%s deleted in %s", w.ns, time.Since(begin).Round(time.Second))
}

// faultSummary summarizes the requests the simulator answered with a fault, per endpoint.
func faultSummary(sim *simulator.Simulator) string {
	c := sim.Counters()
	var keys []string
	total := 0
	for k, n := range c.Faults {
		keys = append(keys, fmt.Sprintf("%s %d", k, n))
		total += n
	}
	sort.Strings(keys)
	return fmt.Sprintf("%d of %d requests faulted (%s)", total, c.Total, strings.Join(keys, ", "))
}
