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
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/github/simulator"
)

// idleWindow counts the GitHub requests of idle scale sets over whole long-poll holds, as
// TestBench's setup does: each session then contributes exactly one poll per hold.
type idleWindow struct {
	ids    []int
	t0     time.Time
	from   simulator.Counters
	cancel context.CancelFunc
	done   chan struct{}

	mu sync.Mutex
	to simulator.Counters // the snapshot n holds after t0
	n  int
}

func openIdle(sim *simulator.ControlClient, ids []int) (*idleWindow, error) {
	from, err := sim.Counters()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &idleWindow{ids: ids, t0: time.Now(), from: from, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for n := 1; ; n++ {
			select {
			case <-time.After(time.Until(w.t0.Add(time.Duration(n) * idleHold))):
			case <-ctx.Done():
				return
			}
			if c, err := sim.Counters(); err == nil {
				w.mu.Lock()
				w.to, w.n = c, n
				w.mu.Unlock()
			}
		}
	}()
	return w, nil
}

func (w *idleWindow) holds() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n
}

// close ends the window at its last whole hold.
func (w *idleWindow) close() (simulator.Counters, int) {
	w.cancel()
	<-w.done
	return w.to, w.n
}

// lists is P5 at size: kubectl's list calls of runners, RunnerSets and, as the baseline, pods,
// interleaved in a seeded order, as many rounds as -scale-samples and the deadline allow.
func (s *scaleRun) lists(ctx context.Context) error {
	s.mem.setPhase("P5 lists at size")
	kinds := []struct{ id, path string }{
		{"pods", "/api/v1/pods"},
		{"runners", "/apis/actions.dev/v1alpha1/runners"},
		{"runnersets", "/apis/actions.dev/v1alpha1/runnersets"},
	}
	lat := map[string][]float64{}
	rows := map[string]int{}
	deadline, _ := ctx.Deadline()
	go s.profileUntilEnd("scale-lists-cpu", "cpu", 20)
	var round time.Duration
	for i := range *scaleSamples {
		if i > 0 && time.Now().Add(round).After(deadline) {
			s.note("P5 at size: %d rounds of list calls instead of %d, the next would have ended after the phase's deadline", i, *scaleSamples)
			break
		}
		begin := time.Now()
		s.mu.Lock()
		perm := s.rng.Perm(len(kinds))
		s.mu.Unlock()
		for _, k := range perm {
			d, n, err := s.listAll(ctx, kinds[k].path)
			if err != nil {
				return err
			}
			lat[kinds[k].id] = append(lat[kinds[k].id], ms(d))
			rows[kinds[k].id] = n
		}
		round = time.Since(begin)
	}
	for _, kind := range []string{"runners", "runnersets"} {
		note := fmt.Sprintf("client round trip of what `kubectl get %s -A` sends (Table pages of 500; ours through the aggregator): %d rows, %d calls interleaved in seeded order; baseline `kubectl get pods -A` the same way (%d rows); %d RunnerSets, %d runner pods Running (not emulated)",
			kind, rows[kind], len(lat[kind]), rows["pods"], len(s.created), s.runners)
		for _, q := range []struct {
			p    float64
			name string
		}{{50, "p50"}, {99, "p99"}} {
			v, bl := percentile(lat[kind], q.p), percentile(lat["pods"], q.p)
			s.add(Result{ID: "S.P5." + kind + "." + q.name, Figure: fmt.Sprintf("`kubectl get %s -A` latency at size, %s", kind, q.name),
				Value: v, Unit: "ms", Baseline: f64(bl), Target: "≤ 2 × baseline", Met: boolp(v <= 2*bl), Samples: len(lat[kind]), Note: note})
		}
	}
	return nil
}

// burst is P2 at size: -scale-burst jobs on one RunnerSet until as many runner pods exist,
// beside TestBench's baseline loop at the same count when there is time for both.
func (s *scaleRun) burst(ctx context.Context) error {
	n := *scaleBurst
	s.mem.setPhase("P2 burst at size")
	deadline, _ := ctx.Deadline()
	var base *float64
	baseNote := fmt.Sprintf("baseline not run: it (about %s) and the burst (about %s at the scale-up's %.1f pods/s) would not end before the phase's deadline",
		s.baselineTime().Round(time.Second), s.burstAlone().Round(time.Second), s.podRate())
	if time.Until(deadline) > s.burstTime() {
		baseT, err := track(ctx, s.kube, pods, nsBase, v1alpha1.LabelRunnerSet)
		if err != nil {
			return err
		}
		d, err := s.p2Baseline(ctx, baseT, n)
		baseT.stop()
		if err != nil {
			baseNote = "baseline failed: " + err.Error()
		} else {
			base = f64(float64(n) / d.Seconds())
			baseNote = fmt.Sprintf("baseline: a client-go loop of %d goroutines creating %d Secret+Pod pairs equal to the server's in %s, then deleted", *parallel, n, d.Round(time.Millisecond))
		}
	}
	const name = "scale-burst"
	if err := s.createRunnerSets(ctx, s.runnerSet(nsBurst, name, 0, int32(n))); err != nil {
		return err
	}
	ids, err := s.waitReady(ctx, nsBurst, []string{name}, time.Minute)
	if err != nil {
		return err
	}
	s.ids[nsBurst+"/"+name] = ids[name]
	podT, err := track(ctx, s.kube, pods, nsBurst, v1alpha1.LabelRunnerSet)
	if err != nil {
		return err
	}
	defer podT.stop()
	t0 := time.Now()
	if _, err := s.sim.QueueJobs(s.job(name, 30*time.Minute), n); err != nil {
		return err
	}
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Until(deadline), true, func(context.Context) (bool, error) {
		return podT.totalSeen() >= n, nil
	})
	s.burstRow(n, t0, podT, base, baseNote, err)
	return nil
}

func (s *scaleRun) burstRow(n int, t0 time.Time, podT *tracker, base *float64, baseNote string, waitErr error) {
	r := Result{ID: "S.P2", Figure: fmt.Sprintf("burst of %d jobs on one RunnerSet at size → %d runner pods exist", n, n), Unit: "pods/s", Samples: n, Baseline: base}
	if base != nil {
		r.Target = "≥ 0.8 × baseline"
	}
	first, _ := podT.nthAdded(1)
	if waitErr != nil {
		seen := podT.totalSeen()
		r.Value, r.Met = float64(seen)/time.Since(t0).Seconds(), boolp(false)
		r.Note = fmt.Sprintf("only %d of %d pods before the phase's deadline (%s after queueing); %s", seen, n, time.Since(t0).Round(time.Second), baseNote)
		s.add(r)
		return
	}
	last, _ := podT.nthAdded(n)
	r.Value = float64(n) / last.Sub(t0).Seconds()
	if base != nil {
		r.Met = boolp(r.Value >= 0.8**base)
	}
	r.Note = fmt.Sprintf("server: %s from queueing %d jobs to the %d-th pod seen by a watch (first after %s), beside %d RunnerSets with %d warm runners; %s; both with QPS %g, burst %d; runners not emulated",
		last.Sub(t0).Round(time.Millisecond), n, n, first.Sub(t0).Round(time.Millisecond), len(s.created), s.runners, baseNote, *qps, *burst)
	s.add(r)
}

// memory is P6 at size, with the control plane's memory as context. It is taken after the burst,
// before the takeover kills the server.
func (s *scaleRun) memory(ctx context.Context) error {
	_, hwm, err := procStatus(s.serverPID)
	if err != nil {
		return err
	}
	s.profile(ctx, "scale-heap", "heap", 0)
	s.mem.mu.Lock()
	heap, heapAt, rssAt := s.mem.peakHeap, s.mem.heapAt, s.mem.rssAt
	s.mem.mu.Unlock()
	size := fmt.Sprintf("%d RunnerSets, %d warm runners, then a burst of %d", len(s.created), s.runners, *scaleBurst)
	s.add(Result{ID: "S.P6.rss", Figure: "server peak RSS (VmHWM) at size", Value: float64(hwm) / mebi, Unit: "MiB", Target: "≤ 1024 MiB",
		Met: boolp(hwm <= gibi), Note: fmt.Sprintf("/proc/<pid>/status VmHWM after the burst (VmRSS sampled every second peaked during %q): %s; server --memory-limit=%s", rssAt, size, s.limit)})
	s.add(Result{ID: "S.P6.heap", Figure: "server peak Go heap in use at size (context)", Value: heap / mebi, Unit: "MiB",
		Note: fmt.Sprintf("highest go_memstats_heap_inuse_bytes sampled every 2 s (during %q); %.0f MiB before the scale-up, %.0f MiB at size; profiles/scale-heap.pprof", heapAt, s.before.serverHeap/mebi, s.atSize.serverHeap/mebi)})
	runners := float64(max(s.runners, 1))
	s.add(Result{ID: "S.P6.perRunner", Figure: "server RSS per warm runner: (RSS at size − RSS before the scale-up) / runners (context)",
		Value: float64(s.atSize.serverRSS-s.before.serverRSS) / runners / 1024, Unit: "KiB", Samples: s.runners,
		Note: fmt.Sprintf("VmRSS %.0f MiB before, %.0f MiB at size (before the burst); heap in use %.1f KiB per runner", float64(s.before.serverRSS)/mebi, float64(s.atSize.serverRSS)/mebi, (s.atSize.serverHeap-s.before.serverHeap)/runners/1024)})
	for _, c := range []struct{ id, name string }{{"S.kube-apiserver.rss", "kube-apiserver"}, {"S.etcd.rss", "etcd"}} {
		rss, peak, err := procStatus(s.sys.ComponentPID(c.name))
		if err != nil {
			continue
		}
		s.add(Result{ID: c.id, Figure: c.name + " peak RSS (VmHWM) at size (context)", Value: float64(peak) / mebi, Unit: "MiB",
			Note: fmt.Sprintf("VmRSS %.0f MiB now; %s", float64(rss)/mebi, size)})
	}
	db := s.etcdDBSize()
	s.add(Result{ID: "S.etcd.db", Figure: "etcd db size at size (context)", Value: float64(db) / mebi, Unit: "MiB",
		Note: fmt.Sprintf("member/snap/db, %.0f%% of etcd's %.0f MiB quota (the kube-apiserver's apiserver_storage_size_bytes: %.0f MiB); %s",
			float64(db)/s.etcdMax*100, s.etcdMax/mebi, s.apiserverDBSize(ctx)/mebi, s.objectCounts(ctx))})
	return nil
}

// idleResult is P4.idle at size: GitHub requests per idle RunnerSet per minute, counted from the
// end of the scale-up over whole long-poll holds, through the lists and the burst.
func (s *scaleRun) idleResult(ctx context.Context) error {
	w := s.idle
	if w == nil {
		return fmt.Errorf("no idle window (the scale-up did not complete)")
	}
	deadline, _ := ctx.Deadline()
	err := wait.PollUntilContextTimeout(ctx, time.Second, time.Until(deadline), true, func(context.Context) (bool, error) { return w.holds() >= 1, nil })
	c1, n := w.close()
	if err != nil || n == 0 || len(w.ids) == 0 {
		s.add(Result{ID: "S.P4.idle", Figure: "GitHub requests per idle RunnerSet per minute at size", Unit: "req/min", Target: "≤ 1.2", Met: boolp(false),
			Note: fmt.Sprintf("no whole long-poll hold (%s) of settled idle RunnerSets (%d) fit before the takeover", idleHold, len(w.ids))})
		return nil
	}
	minutes := (time.Duration(n) * idleHold).Minutes()
	by := map[string]int{}
	for _, id := range w.ids {
		for ep, v := range c1.ScaleSets[id] {
			by[ep] += v - w.from.ScaleSets[id][ep]
		}
	}
	total, detail := breakdown(by)
	u0, u1 := unattributed(w.from), unattributed(c1)
	other := map[string]int{}
	for ep, v := range u1 {
		other[ep] = v - u0[ep]
	}
	otherTotal, otherDetail := breakdown(other)
	sets := float64(len(w.ids))
	v := float64(total) / sets / minutes
	s.add(Result{ID: "S.P4.idle", Figure: "GitHub requests per idle RunnerSet per minute at size", Value: v, Unit: "req/min", Target: "≤ 1.2", Met: boolp(v <= 1.2), Samples: len(w.ids),
		Note: fmt.Sprintf("%d RunnerSets with %d warm runners each (never online) and no jobs, their scale sets' requests counted as P4.idle's over %d whole long-poll hold(s) (%.1f min) from the end of the scale-up through the lists and the burst (another RunnerSet's); %s Not in the figure: requests concerning no scale set, from all RunnerSets, %.2f per RunnerSet per minute, among them the drift checks (REST runner lists of each RunnerSet's repository, every 5 min while it has runners); %s",
			len(w.ids), *scalePerSet, n, minutes, detail, float64(otherTotal)/sets/minutes, otherDetail)})
	return nil
}
