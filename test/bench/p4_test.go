//go:build bench

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

package bench

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"actions.dev/runnerset-apiserver/pkg/github/simulator"
)

// unattributed are the requests per endpoint that concern no single scale set (the token
// chain, runner groups, REST runner lists, removals of runners already gone).
func unattributed(c simulator.Counters) map[string]int {
	out := maps.Clone(c.Endpoints)
	for _, eps := range c.ScaleSets {
		for ep, n := range eps {
			out[ep] -= n
		}
	}
	return out
}

// requestsOf counts the requests between two counter snapshots that belong to scale set id, plus
// every request that concerns no scale set (attributed to the workload being measured, which
// over-counts if anything else made such requests meanwhile). It returns the total and a
// breakdown by endpoint.
func requestsOf(c0, c1 simulator.Counters, id int) (int, string) {
	by := map[string]int{}
	for ep, n := range c1.ScaleSets[id] {
		by[ep] += n - c0.ScaleSets[id][ep]
	}
	u0, u1 := unattributed(c0), unattributed(c1)
	for ep, n := range u1 {
		by[ep] += n - u0[ep]
	}
	return breakdown(by)
}

func breakdown(by map[string]int) (int, string) {
	total := 0
	var parts []string
	for _, ep := range slices.Sorted(maps.Keys(by)) {
		if by[ep] != 0 {
			total += by[ep]
			parts = append(parts, fmt.Sprintf("%s %d", ep, by[ep]))
		}
	}
	return total, "Requests: " + strings.Join(parts, ", ") + "."
}

// p4Reads: how many GitHub requests kubectl reads of runners and RunnerSets cause. Measured in a
// quiet window: runners exist (two idle, online), nothing else happens but idle long polls.
func (b *bench) p4Reads(ctx context.Context) error {
	const name = "p4-reads"
	podT, _, err := b.emuTrackers(ctx)
	if err != nil {
		return err
	}
	if err := b.createRunnerSets(ctx, b.runnerSet(nsEmu, name, 2, 2)); err != nil {
		return err
	}
	if _, err := b.waitReady(ctx, nsEmu, []string{name}, time.Minute); err != nil {
		return err
	}
	err = waitUntil(ctx, time.Minute, "2 online runners", func() bool {
		podT.mu.Lock()
		defer podT.mu.Unlock()
		n := 0
		for _, p := range podT.byLabel[name] {
			if podT.running[p] && podT.online[p] {
				n++
			}
		}
		return n == 2
	})
	if err != nil {
		return err
	}
	// Let the scaler's own follow-up (status, the next drift check is minutes away) settle.
	if err := sleepCtx(ctx, 2*time.Second); err != nil {
		return err
	}
	runner, _, _ := podT.nth(name, 0)
	c0, err := b.sim.Counters()
	if err != nil {
		return err
	}
	reads := 0
	kubectl := func(args ...string) error {
		reads++
		_, _, err := b.sys.Kubectl(ctx, "admin", args...)
		return err
	}
	for range b.sz.P4ReadCalls {
		if err := kubectl("get", "runners", "-A"); err != nil {
			return err
		}
		if err := kubectl("get", "runnersets", "-A"); err != nil {
			return err
		}
	}
	for _, args := range [][]string{
		{"get", "runners", "-n", nsEmu, "-o", "wide"},
		{"get", "runner", runner, "-n", nsEmu, "-o", "yaml"},
		{"get", "runnerset", name, "-n", nsEmu, "-o", "yaml"},
		{"describe", "runnerset", name, "-n", nsEmu},
	} {
		if err := kubectl(args...); err != nil {
			return err
		}
	}
	c1, err := b.sim.Counters()
	if err != nil {
		return err
	}
	by := map[string]int{}
	for ep, n := range c1.Endpoints {
		if d := n - c0.Endpoints[ep]; d != 0 && ep != simulator.EPGetMessage {
			by[ep] = d
		}
	}
	total, detail := breakdown(by)
	polls := c1.Endpoints[simulator.EPGetMessage] - c0.Endpoints[simulator.EPGetMessage]
	if total == 0 {
		detail = "No request other than the idle sessions' long polls."
	}
	b.add(Result{ID: "P4.read", Figure: "GitHub requests caused by kubectl get/describe of runners and RunnerSets",
		Value: float64(total) / float64(reads), Unit: "req/read", Target: "0", Met: boolp(total == 0), Samples: reads,
		Note: fmt.Sprintf("%d kubectl calls (get runners -A, get runnersets -A, -o wide, -o yaml, describe) with 2 online runners; every request the simulator got in that window except the %d long polls of idle sessions. %s", reads, polls, detail)})
	return b.deleteRunnerSets(ctx, nsEmu, []string{name}, time.Minute)
}

// p4Jobs: GitHub requests per job in a burst: P4BurstJobs jobs at once on one RunnerSet, from the
// queueing to the last runner gone.
func (b *bench) p4Jobs(ctx context.Context) error {
	const name = "p4-burst"
	podT, _, err := b.emuTrackers(ctx)
	if err != nil {
		return err
	}
	n := b.sz.P4BurstJobs
	if err := b.createRunnerSets(ctx, b.runnerSet(nsEmu, name, 0, int32(n))); err != nil {
		return err
	}
	ids, err := b.waitReady(ctx, nsEmu, []string{name}, time.Minute)
	if err != nil {
		return err
	}
	if err := sleepCtx(ctx, time.Second); err != nil {
		return err
	}
	c0, err := b.sim.Counters()
	if err != nil {
		return err
	}
	k0, w0, err := b.clientStats(ctx)
	if err != nil {
		return err
	}
	history, err := meterHistory(ctx, b.kube, nsEmu, name)
	if err != nil {
		return err
	}
	begin := time.Now()
	jobs, err := b.sim.QueueJobs(b.job(name, b.sz.BurstJobTime), n)
	if err != nil {
		return err
	}
	if err := b.waitJobsDone(ctx, podT, name, jobs, 3*time.Minute); err != nil {
		return err
	}
	took := time.Since(begin)
	// The last JobCompleted messages are acknowledged after the runners are gone.
	if err := sleepCtx(ctx, 3*time.Second); err != nil {
		return err
	}
	c1, err := b.sim.Counters()
	if err != nil {
		return err
	}
	b.mu.Lock()
	b.p3Jobs = append(b.p3Jobs, jobs...)
	b.mu.Unlock()
	k1, w1, err := b.clientStats(ctx)
	if err != nil {
		return err
	}
	b.add(history.result(n))
	b.add(Result{ID: "P4.job.kube", Figure: fmt.Sprintf("kube-apiserver requests of the server per job, burst of %d jobs (context)", n),
		Value: (k1 - k0) / float64(n), Unit: "req/job", Samples: n,
		Note: fmt.Sprintf("rest_client_requests_total of the server to the kube-apiserver over P4.job; they waited %.2f s in all for the client rate limiter", w1-w0)})
	total, detail := requestsOf(c0, c1, ids[name])
	v := float64(total) / float64(n)
	b.add(Result{ID: "P4.job", Figure: fmt.Sprintf("GitHub requests per job, burst of %d jobs on one RunnerSet", n),
		Value: v, Unit: "req/job", Target: "≤ 3", Met: boolp(v <= 3), Samples: n,
		Note: fmt.Sprintf("%d jobs of %s queued at once on emulated runners, counted from the queueing to %.0f s after (all runners gone); the scale set's requests plus every request concerning no scale set. %s", n, b.sz.BurstJobTime, took.Seconds()+3, detail)})
	return nil
}

// p4Idle: requests of idle RunnerSets (no runners, no jobs) over the whole run.
func (b *bench) p4Idle(ctx context.Context) error {
	if len(b.idleSets) == 0 {
		return fmt.Errorf("no idle RunnerSets (setup failed)")
	}
	b.mu.Lock()
	c1, n := b.idleTo, b.idleN
	b.mu.Unlock()
	if n == 0 {
		return fmt.Errorf("the run was shorter than one long-poll hold (%s): no idle window", idleHold)
	}
	minutes := (time.Duration(n) * idleHold).Minutes()
	by := map[string]int{}
	for _, id := range b.idleSets {
		for ep, n := range c1.ScaleSets[id] {
			by[ep] += n - b.idleFrom.ScaleSets[id][ep]
		}
	}
	total, detail := breakdown(by)
	v := float64(total) / float64(len(b.idleSets)) / minutes
	b.add(Result{ID: "P4.idle", Figure: "GitHub requests per idle RunnerSet per minute",
		Value: v, Unit: "req/min", Target: "≤ 1.2", Met: boolp(v <= 1.2), Samples: len(b.idleSets),
		Note: fmt.Sprintf("%d RunnerSets with no runners and no jobs, counted over %d whole long-poll holds (%.1f min) while the other scenarios ran; the simulator holds an empty long poll %s, as GitHub does, so 1.2/min is the protocol's floor. Not in the window: the session's refresh when its 50-min queue token nears expiry and the admin token it needs (10 min TTL here), about 3 requests per 49 min (+0.06/min). %s",
			len(b.idleSets), n, minutes, idleHold, detail)})
	return nil
}

// p3: job completed → runner deregistered, pod and Secret gone, over every emulated job of the run.
func (b *bench) p3(ctx context.Context) error {
	podT, secT, err := b.emuTrackers(ctx)
	if err != nil {
		return err
	}
	b.mu.Lock()
	jobs := slices.Clone(b.p3Jobs)
	b.mu.Unlock()
	if len(jobs) == 0 {
		return fmt.Errorf("no emulated jobs ran")
	}
	var lat, exitPart, serverPart []float64
	var missing []string
	deadline := time.Now().Add(2 * time.Minute)
	for _, id := range jobs {
		var j simulator.JobStatus
		err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, time.Until(deadline), true, func(context.Context) (bool, error) {
			var ok bool
			var err error
			j, ok, err = b.sim.Job(id)
			if err != nil || !ok || j.State != simulator.JobCompleted {
				return false, nil
			}
			_, podGone := podT.deletedAt(j.RunnerName)
			_, secGone := secT.deletedAt(j.RunnerName)
			return podGone && secGone, nil
		})
		if err != nil {
			missing = append(missing, fmt.Sprintf("%d (%s, %s)", id, j.State, j.RunnerName))
			continue
		}
		p, _ := podT.deletedAt(j.RunnerName)
		s, _ := secT.deletedAt(j.RunnerName)
		lat = append(lat, ms(maxTime(p, s).Sub(j.CompletedAt)))
		if ended, ok := podT.endedAt(j.RunnerName); ok {
			exitPart = append(exitPart, ms(ended.Sub(j.CompletedAt)))
			serverPart = append(serverPart, ms(maxTime(p, s).Sub(ended)))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%d jobs did not end with their runner gone: %s", len(missing), strings.Join(missing[:min(len(missing), 5)], ", "))
	}
	registered := 0
	runners, err := b.sim.ListRunners()
	if err != nil {
		return err
	}
	names := map[string]bool{}
	for _, id := range jobs {
		if j, ok, _ := b.sim.Job(id); ok {
			names[j.RunnerName] = true
		}
	}
	for _, r := range runners {
		if names[r.Name] {
			registered++
		}
	}
	note := fmt.Sprintf("every emulated job of P1 and P4.job (%d): from the simulator's completion time (the runner completes the job and deregisters, as an ephemeral runner does) to the later of its pod's and its Secret's deletion seen by a watch; %d of their runners still registered at the end. Split (p50/p95): job completed → pod seen Succeeded (the runner emulator writes the pod's status, as a kubelet would) %s/%s ms; pod seen Succeeded → pod and Secret gone (the server) %s/%s ms",
		len(jobs), registered, fmtNum(percentile(exitPart, 50)), fmtNum(percentile(exitPart, 95)), fmtNum(percentile(serverPart, 50)), fmtNum(percentile(serverPart, 95)))
	for _, q := range []struct {
		p      float64
		name   string
		target float64
	}{{50, "p50", 1000}, {95, "p95", 3000}} {
		v := percentile(lat, q.p)
		b.add(Result{ID: "P3." + q.name, Figure: "job completed → runner deregistered, pod and Secret gone, " + q.name,
			Value: v, Unit: "ms", Target: fmt.Sprintf("≤ %.0f ms", q.target), Met: boolp(v <= q.target && registered == 0), Samples: len(lat), Note: note})
	}
	return nil
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
