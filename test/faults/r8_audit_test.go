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
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/github/simulator"
)

// audit is the suite's audit over two clusters sharing one GitHub: the world audit's parts that
// hold per cluster (peaks, rest, delete) run on each, the jobs are audited across both (a job
// runs in one cluster or the other, exactly once), and the phases' checks are reported.
func (r *r8) audit(notes ...string) {
	r.t.Helper()
	r.samp.setPhase("audit")
	a := &auditResult{}
	a.add("scenario", "R8 two clusters, one label (%s form, seed %d): clusters A and B, namespace %s in each, scale sets %s (A) and %s (B) with label %q, maxRunners %d, one GitHub",
		pick("full", "short"), *seed, r8Namespace, r8SetA, r8SetB, r8Label, r8Max)
	for _, n := range notes {
		a.add("", "%s", n)
	}
	r.auditJobs(a)
	r.a.auditPeaks(a)
	r.b.auditPeaks(a)
	r.auditPhases(a)
	if r.auditRest(a) {
		r.auditCapacityAtRest(a)
	}
	r.auditDelete(a)
	a.add("duration", "%s", time.Since(r.a.start).Round(time.Second))
	verdict := "PASS"
	if len(a.problems) > 0 {
		verdict = fmt.Sprintf("FAIL (%d problems)", len(a.problems))
	}
	a.add("verdict", "%s", verdict)
	bar := strings.Repeat("=", 20)
	report(r.t, fmt.Sprintf("%s AUDIT R8 two clusters %s\n%s\n", bar, bar, indent(a.lines)))
	for _, p := range a.problems {
		r.t.Error(p)
	}
}

// auditJobs: every job of every phase completed, succeeded, and was handed to exactly one
// runner of the two clusters.
func (r *r8) auditJobs(a *auditResult) {
	r.mu.Lock()
	phases := append([]string(nil), r.phases...)
	var ids []int64
	var ran []string
	for _, p := range phases {
		ids = append(ids, r.jobs[p]...)
		ran = append(ran, fmt.Sprintf("%s: A %d, B %d", p, r.ran[p][r8SetA], r.ran[p][r8SetB]))
	}
	r.mu.Unlock()
	var succeeded, twice, never, reassigned int
	var examples []string
	for _, id := range ids {
		j, ok := r.sim.Job(id)
		sa, sb := r.a.gate.startsOf(id), r.b.gate.startsOf(id)
		switch {
		case !ok || j.State != simulator.JobCompleted:
			examples = append(examples, fmt.Sprintf("job %d %s", id, j.State))
		case j.Result != simulator.ResultSucceeded:
			examples = append(examples, fmt.Sprintf("job %d %s on %s", id, j.Result, j.RunnerName))
		default:
			succeeded++
		}
		if sa+sb > 1 {
			twice++
		}
		if sa+sb == 0 {
			never++
		}
		if sa+sb != 1 {
			examples = append(examples, fmt.Sprintf("job %d handed to runners %d times in A, %d in B", id, sa, sb))
		}
		if j.Attempts > 1 {
			reassigned++
		}
	}
	summary := fmt.Sprintf("%d queued, %d succeeded, each handed to exactly one runner of one cluster (%d started twice, %d by no runner of either); ran (%s); %d waited for a runner long enough that GitHub re-assigned them",
		len(ids), succeeded, twice, never, strings.Join(ran, "; "), reassigned)
	if succeeded != len(ids) || twice > 0 || never > 0 || len(ids) == 0 {
		if len(examples) > 5 {
			examples = append(examples[:5], "...")
		}
		a.fail("jobs", "%s: %s", summary, strings.Join(examples, "; "))
		return
	}
	a.add("jobs", "%s", summary)
}

// auditPhases reports each phase's peaks per scale set and the phases' failed checks.
func (r *r8) auditPhases(a *auditResult) {
	for _, phase := range []string{r8PhaseQuota, r8PhaseDown, r8PhaseBack} {
		pa, pb := r.samp.peak(phase, r8SetA), r.samp.peak(phase, r8SetB)
		a.add("peaks", "%s: A held %d jobs at once (%d running, %d registrations, %d live pods); B held %d (%d running, %d registrations, %d live pods)",
			phase, pa.held, pa.running, pa.regs, pa.pods, pb.held, pb.running, pb.regs, pb.pods)
	}
	r.mu.Lock()
	problems := append([]string(nil), r.problems...)
	r.mu.Unlock()
	for _, p := range problems {
		a.fail("phase check", "%s", p)
	}
	if len(problems) == 0 {
		a.add("phase checks", "A never above its quota (%d, then %d) and exactly at %d in the quota phase, saying so; B ran what A had no room for, and every job while A was down; both ran jobs once A was back",
			r8QuotaA, r8QuotaBack, r8QuotaA)
	}
}

// auditRest waits until both RunnerSets are at rest (the world audit's restProblems, each
// against its own scale set on the shared GitHub) and reports whether they got there.
func (r *r8) auditRest(a *auditResult) bool {
	begin := time.Now()
	last, err := poll(restTimeout, func(ctx context.Context) (bool, string) {
		var p []string
		for _, w := range []*world{r.a, r.b} {
			for _, name := range w.setNames() {
				for _, q := range w.restProblems(ctx, name) {
					p = append(p, name+": "+q)
				}
			}
		}
		if n := len(r.sim.ScaleSets()); n != 2 {
			p = append(p, fmt.Sprintf("%d scale sets on GitHub for 2 RunnerSets", n))
		}
		return len(p) == 0, strings.Join(p, "; ")
	})
	if err != nil {
		a.fail("at rest", "not reached within %s: %s", restTimeout, last)
		return false
	}
	a.add("at rest", "after %s: both RunnerSets Ready/GitHubAuthenticated/ScaleSetRegistered/SessionActive True, PodsFailing/OrphanRunners/RunnerVersionDeprecated not True, status = GitHub's scale set and session; 0 runner pods, Secrets and registrations; 1 session per scale set",
		time.Since(begin).Round(time.Second))
	return true
}

// auditCapacityAtRest: at rest A's capacity is what its quota admits (no runner pods, room for
// 10), B's its maxRunners, and neither says it is saturated. It polls a little: the quota
// controller counts a deleted runner pod out of status.used a moment after the pod is gone.
func (r *r8) auditCapacityAtRest(a *auditResult) {
	want := map[string]int32{r8SetA: r8QuotaBack, r8SetB: r8Max}
	var got []string
	last, err := poll(30*time.Second, func(ctx context.Context) (bool, string) {
		var bad []string
		got = nil
		for _, w := range []*world{r.a, r.b} {
			for _, name := range w.setNames() {
				rs, err := w.runnerSet(ctx, name)
				if err != nil {
					return false, err.Error()
				}
				c := meta.FindStatusCondition(rs.Status.Conditions, v1alpha1.ConditionSaturated)
				line := fmt.Sprintf("%s status.capacity %s, Saturated %s", name, capacityString(rs.Status.Capacity), condString(c))
				got = append(got, line)
				if ptr.Deref(rs.Status.Capacity, -1) != want[name] || (c != nil && c.Status == metav1.ConditionTrue) {
					bad = append(bad, fmt.Sprintf("%s (want capacity %d, not Saturated)", line, want[name]))
				}
			}
		}
		return len(bad) == 0, strings.Join(bad, "; ")
	})
	if err != nil {
		a.fail("capacity", "at rest, within 30s: %s", last)
		return
	}
	a.add("capacity", "at rest: %s", strings.Join(got, "; "))
}

// auditDelete deletes B's RunnerSet, then runs the world audit's delete on A (which deletes
// A's and waits until GitHub holds no runner, session or scale set of either) and on B.
func (r *r8) auditDelete(a *auditResult) {
	err := r.b.rsets.ActionsV1alpha1().RunnerSets(r.b.ns).Delete(context.Background(), r8SetB, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		a.fail("after delete", "deleting %s in B: %v", r8SetB, err)
		return
	}
	a.add("after delete", "cluster A (GitHub's side: both scale sets):")
	r.a.auditDelete(a)
	a.add("after delete", "cluster B:")
	r.b.auditDelete(a)
}
