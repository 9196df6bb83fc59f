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
	"time"

	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/contract"
	"actions.dev/runnerset-apiserver/pkg/github/simulator"
)

const (
	// p8LockWindow is the simulator's RunnerLostTimeout during P8: how long GitHub keeps a job
	// whose runner vanished before it fails it (its job lock, 10 minutes on GitHub).
	p8LockWindow = 10 * time.Second
	// p8JobTime is how long each job runs, each attempt; long enough to be evicted mid-job.
	p8JobTime = 30 * time.Second
	// p8Peer is the peer's whole recovery after a preemption or drain (actions-gateway, whose
	// runner ends its job itself on SIGTERM; a hard eviction waits for the lock there too).
	p8Peer = 15 * time.Second
)

// p8Sample is one job's recovery, from GitHub's timestamps and the moment of its eviction.
type p8Sample struct {
	first, rerun simulator.JobStatus
	evicted      time.Time
}

// p8: recovery of a job whose busy runner is evicted. P8Jobs jobs of p8JobTime run on emulated
// runners of one RunnerSet; as soon as each runs on its pod (the server recorded the job on it),
// the pod is evicted through the eviction API, as a drain does. The server reports the job lost,
// GitHub fails it once the lock lapses, and the server re-runs it. Measured: the eviction → the
// re-run running on a new runner, and the part after GitHub failed the job, beside a new job's
// own queued → running (the first attempts', same run).
func (b *bench) p8(ctx context.Context) (err error) {
	const name = "p8-recovery"
	n := b.sz.P8Jobs
	b.mem.setPhase("P8")
	restore, err := b.p8LockWindow()
	if err != nil {
		return err
	}
	defer restore()
	defer func() {
		if err != nil { // leave no jobs running into the scenarios after this one
			cctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			_ = b.deleteRunnerSets(cctx, nsEmu, []string{name}, 2*time.Minute)
		}
	}()
	podT, _, err := b.emuTrackers(ctx)
	if err != nil {
		return err
	}
	if err := b.createRunnerSets(ctx, b.runnerSet(nsEmu, name, 0, int32(n))); err != nil {
		return err
	}
	if _, err := b.waitReady(ctx, nsEmu, []string{name}, time.Minute); err != nil {
		return err
	}
	before, err := b.sim.Counters()
	if err != nil {
		return err
	}
	ids, err := b.sim.QueueJobs(b.job(name, p8JobTime), n)
	if err != nil {
		return err
	}
	evicted, err := b.p8Evict(ctx, name, ids)
	if err != nil {
		return err
	}
	samples, err := b.p8Reruns(ctx, ids, evicted)
	if err != nil {
		return err
	}
	if err := b.p8Check(before, n); err != nil {
		return err
	}
	b.p8Rows(samples, podT)
	var reruns []int64
	for _, s := range samples {
		reruns = append(reruns, s.rerun.RequestID)
	}
	if err := b.waitJobsDone(ctx, podT, name, reruns, 2*time.Minute); err != nil {
		return err
	}
	return b.deleteRunnerSets(ctx, nsEmu, []string{name}, time.Minute)
}

// p8LockWindow sets the simulator's runnerLostTimeout to p8LockWindow and returns what sets it
// back: the other scenarios run with the simulator's own.
func (b *bench) p8LockWindow() (func(), error) {
	prev, err := b.sim.Settings()
	if err != nil {
		return nil, err
	}
	if _, err := b.sim.UpdateSettings(simulator.Settings{RunnerLostTimeout: p8LockWindow}); err != nil {
		return nil, err
	}
	return func() { _, _ = b.sim.UpdateSettings(simulator.Settings{RunnerLostTimeout: prev.RunnerLostTimeout}) }, nil
}

// p8Evict evicts each job's runner pod as soon as the job runs there and the server recorded it
// on the pod, and returns when each was evicted.
func (b *bench) p8Evict(ctx context.Context, name string, ids []int64) (map[int64]time.Time, error) {
	mine := map[int64]bool{}
	for _, id := range ids {
		mine[id] = true
	}
	evicted := map[int64]time.Time{}
	pods := b.kube.CoreV1().Pods(nsEmu)
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		list, err := pods.List(ctx, metav1.ListOptions{LabelSelector: v1alpha1.LabelRunnerSet + "=" + name})
		if err != nil {
			return false, nil
		}
		for i := range list.Items {
			p := &list.Items[i]
			j := contract.JobOf(p)
			if p.DeletionTimestamp != nil || !j.Running() || !mine[j.RequestID] || !evicted[j.RequestID].IsZero() {
				continue
			}
			if err := pods.EvictV1(ctx, &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: nsEmu}}); err != nil {
				return false, fmt.Errorf("evicting %s: %w", p.Name, err)
			}
			evicted[j.RequestID] = time.Now()
		}
		return len(evicted) == len(ids), nil
	})
	if err != nil {
		return nil, fmt.Errorf("evicting the runners of %d jobs (%d evicted): %w", len(ids), len(evicted), err)
	}
	return evicted, nil
}

// p8Reruns waits until every job's re-run runs on a runner and returns each job's attempts.
func (b *bench) p8Reruns(ctx context.Context, ids []int64, evicted map[int64]time.Time) ([]p8Sample, error) {
	var out []p8Sample
	for _, id := range ids {
		var s p8Sample
		err := waitUntil(ctx, 2*time.Minute, fmt.Sprintf("job %d's re-run running", id), func() bool {
			attempts, ok, err := b.sim.JobAttempts(id)
			if err != nil || !ok || len(attempts) < 2 || attempts[1].StartedAt.IsZero() {
				return false
			}
			s = p8Sample{first: attempts[0], rerun: attempts[1], evicted: evicted[id]}
			return true
		})
		if err != nil {
			return nil, err
		}
		if !s.first.LostRunner {
			return nil, fmt.Errorf("job %d was re-run without GitHub failing it as lost (%s)", id, s.first.Result)
		}
		out = append(out, s)
	}
	return out, nil
}

// p8Check: GitHub accepted exactly one re-run per job, and failed each job for its lost runner.
func (b *bench) p8Check(before simulator.Counters, n int) error {
	after, err := b.sim.Counters()
	if err != nil {
		return err
	}
	if reruns, lost := after.Reruns-before.Reruns, after.LostRunners-before.LostRunners; reruns != n || lost != n {
		return fmt.Errorf("%d jobs evicted: GitHub counted %d lost runners and %d re-runs", n, lost, reruns)
	}
	return nil
}

func secs(d time.Duration) float64 { return d.Seconds() }

// p8Rows adds P8's figures: the whole recovery, and the part after GitHub's lock lapsed beside
// a new job's queued → running.
func (b *bench) p8Rows(samples []p8Sample, podT *tracker) {
	var total, after, react, start, fresh, lock []float64
	early := 0
	for _, s := range samples {
		total = append(total, secs(s.rerun.StartedAt.Sub(s.evicted)))
		after = append(after, secs(s.rerun.StartedAt.Sub(s.first.CompletedAt)))
		react = append(react, secs(s.rerun.QueuedAt.Sub(s.first.CompletedAt)))
		start = append(start, secs(s.rerun.StartedAt.Sub(s.rerun.QueuedAt)))
		fresh = append(fresh, secs(s.first.StartedAt.Sub(s.first.QueuedAt)))
		lock = append(lock, secs(s.first.CompletedAt.Sub(s.evicted)))
		if at, ok := podT.addedAt(s.rerun.RunnerName); ok && at.Before(s.first.CompletedAt) {
			early++
		}
	}
	pp := func(xs []float64) string {
		return fmtNum(percentile(xs, 50)) + " / " + fmtNum(percentile(xs, 95)) + " s"
	}
	note := fmt.Sprintf("%d jobs of %s on emulated runners of %s/p8-recovery (maxRunners %d), each runner pod evicted (eviction API) as soon as the server had recorded its job on it. "+
		"GitHub's lock window is %s here (the simulator's runnerLostTimeout; 10 min on GitHub): eviction → GitHub failing the job p50 / p95 %s. After that, p50 / p95: the server re-running it (JobCompleted, the run's jobs and the re-run over REST) %s, the re-run's queued → running %s. "+
		"%d of the %d re-runs ran on a runner whose pod existed before GitHub failed the job (a lost runner holds its slot until GitHub fails its job, so a re-run normally gets a new runner). "+
		"Peer: actions-gateway's job fails within 15–26 s of a preemption or drain, because its runner ends the job itself on SIGTERM (not emulated here: our runners vanish as if killed); a hard eviction waits for the lock there too, about 10 min.",
		len(samples), p8JobTime, nsEmu, len(samples), p8LockWindow, pp(lock), pp(react), pp(start), early, len(samples))
	for _, q := range []struct {
		p    float64
		name string
	}{{50, "p50"}, {95, "p95"}} {
		if q.p != 50 {
			note = "as P8.p50"
		}
		v := percentile(total, q.p)
		b.add(Result{ID: "P8." + q.name, Figure: fmt.Sprintf("a busy runner evicted → its job's re-run running on a runner, %s (includes GitHub's lock window, %s here, 10 min on GitHub)", q.name, p8LockWindow),
			Value: v, Unit: "s", Target: fmt.Sprintf("≤ lock window + %s", p8Peer), Met: boolp(v <= secs(p8LockWindow+p8Peer)), Samples: len(total), Note: note})
		v = percentile(after, q.p)
		b.add(Result{ID: "P8.after-lock." + q.name, Figure: fmt.Sprintf("GitHub fails the lost job (its lock lapsed) → its re-run running on a runner, %s (baseline: a new job's queued → running on a new runner, same run)", q.name),
			Value: v, Unit: "s", Baseline: f64(percentile(fresh, q.p)), Target: fmt.Sprintf("≤ %s (the peer's best whole recovery)", p8Peer), Met: boolp(v <= secs(p8Peer)), Samples: len(after), Note: note})
	}
}
