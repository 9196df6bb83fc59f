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
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
)

// tableAccept is what kubectl get sends to have the server print a table.
const tableAccept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"

// listAll does what `kubectl get <resource> -A` does on the wire: Table pages of 500 through the
// kube-apiserver (and, for our resources, the aggregator) until the last page. It returns the
// client round trip of all pages and the rows received.
func (b *bench) listAll(ctx context.Context, path string) (time.Duration, int, error) {
	rc := b.kube.CoreV1().RESTClient()
	begin := time.Now()
	rows, cont := 0, ""
	for {
		req := rc.Get().AbsPath(path).Param("limit", "500").SetHeader("Accept", tableAccept)
		if cont != "" {
			req = req.Param("continue", cont)
		}
		raw, err := req.DoRaw(ctx)
		if err != nil {
			return 0, 0, fmt.Errorf("GET %s: %w", path, err)
		}
		var page metav1.Table
		if err := json.Unmarshal(raw, &page); err != nil {
			return 0, 0, fmt.Errorf("GET %s: not a Table: %w", path, err)
		}
		rows += len(page.Rows)
		if cont = page.Continue; cont == "" {
			break
		}
	}
	return time.Since(begin), rows, nil
}

// p5: 100 RunnerSets with 50 warm runners each (minRunners = maxRunners = 50; the runners are
// not emulated: pods Running on kwok, runner never online), then kubectl's list calls of
// runners, RunnerSets and, as the baseline, pods, interleaved in a seeded random order.
func (b *bench) p5(ctx context.Context) error {
	sets, per := b.sz.P5Sets, b.sz.P5PerSet
	b.mem.setPhase("P5 scale-up")
	perNS := 10
	byNS := map[string][]string{}
	var order []string
	for i := range sets {
		ns := fmt.Sprintf("%s%02d", nsScalePrefix, i/perNS)
		if _, ok := byNS[ns]; !ok {
			order = append(order, ns)
			if err := b.namespace(ctx, ns); err != nil {
				return err
			}
		}
		byNS[ns] = append(byNS[ns], fmt.Sprintf("s%03d", i))
	}
	var trackers []*tracker
	defer func() {
		for _, t := range trackers {
			t.stop()
		}
	}()
	for _, ns := range order {
		t, err := track(ctx, b.kube, pods, ns, v1alpha1.LabelRunnerSet)
		if err != nil {
			return err
		}
		trackers = append(trackers, t)
	}
	k0, w0, err := b.clientStats(ctx)
	if err != nil {
		return err
	}
	b.profile(ctx, "p5-before-heap", "heap", 0)
	begin := time.Now()
	for _, ns := range order {
		for _, n := range byNS[ns] {
			if err := b.createRunnerSets(ctx, b.runnerSet(ns, n, int32(per), int32(per))); err != nil {
				return err
			}
		}
	}
	want := sets * per
	var live, running, online int
	err = waitUntil(ctx, 7*time.Minute, fmt.Sprintf("%d runner pods Running with their online state recorded", want), func() bool {
		live, running, online = 0, 0, 0
		for _, t := range trackers {
			l, r, o := t.live()
			live, running, online = live+l, running+r, online+o
		}
		return running >= want && online >= want
	})
	if err != nil {
		return fmt.Errorf("%w (live %d, running %d, online state recorded %d)", err, live, running, online)
	}
	// And every RunnerSet's status says so.
	err = wait.PollUntilContextTimeout(ctx, time.Second, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		for _, ns := range order {
			list, err := b.actions.ActionsV1alpha1().RunnerSets(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				return false, nil
			}
			for _, rs := range list.Items {
				if int(rs.Status.CurrentRunners) != per {
					return false, nil
				}
			}
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("RunnerSet statuses did not settle at %d runners each: %w", per, err)
	}
	setup := time.Since(begin)
	b.profile(ctx, "p5-setup-heap", "heap", 0)
	k1, w1, err := b.clientStats(ctx)
	if err != nil {
		return err
	}
	b.add(Result{ID: "P5.setup", Figure: fmt.Sprintf("%d RunnerSets × %d warm runners created → all Running, status settled (context)", sets, per),
		Value: setup.Seconds(), Unit: "s", Samples: want,
		Note: fmt.Sprintf("minRunners = maxRunners = %d; runners not emulated; the server sent %.0f requests to the kube-apiserver (%.1f per runner), which waited %.0f s in all for its client rate limiter (QPS %g, burst %d)",
			per, k1-k0, (k1-k0)/float64(want), w1-w0, *qps, *burst)})

	b.mem.setPhase("P5 lists")
	if err := sleepCtx(ctx, 5*time.Second); err != nil {
		return err
	}
	c0, err := b.sim.Counters()
	if err != nil {
		return err
	}
	kinds := []struct{ id, path string }{
		{"pods", "/api/v1/pods"},
		{"runners", "/apis/actions.dev/v1alpha1/runners"},
		{"runnersets", "/apis/actions.dev/v1alpha1/runnersets"},
	}
	lat := map[string][]float64{}
	rows := map[string]int{}
	profDone := make(chan struct{})
	go func() {
		defer close(profDone)
		b.profile(ctx, "p5-lists-cpu", "cpu", 20)
	}()
	for range b.sz.P5Samples {
		b.mu.Lock()
		perm := b.rng.Perm(len(kinds))
		b.mu.Unlock()
		for _, i := range perm {
			d, n, err := b.listAll(ctx, kinds[i].path)
			if err != nil {
				return err
			}
			lat[kinds[i].id] = append(lat[kinds[i].id], ms(d))
			rows[kinds[i].id] = n
		}
	}
	<-profDone
	c1, err := b.sim.Counters()
	if err != nil {
		return err
	}
	b.profile(ctx, "p5-heap", "heap", 0)
	if rows["runners"] < want || rows["runnersets"] < sets {
		return fmt.Errorf("lists came back short: %d runners (want ≥ %d), %d RunnerSets (want ≥ %d)", rows["runners"], want, rows["runnersets"], sets)
	}
	by := map[string]int{}
	for ep, n := range c1.Endpoints {
		if d := n - c0.Endpoints[ep]; d != 0 {
			by[ep] = d
		}
	}
	_, detail := breakdown(by)
	b.note("During the P5 list calls (%d runner lists, %d RunnerSet lists) the simulator counted, from every source (idle long polls, drift checks of the %d RunnerSets): %s",
		len(lat["runners"]), len(lat["runnersets"]), sets, detail)

	note := func(kind string) string {
		return fmt.Sprintf("client round trip of what `kubectl get %s -A` sends (Table pages of 500 through the kube-apiserver; ours through the aggregator): %d rows, %d calls interleaved in seeded random order with the other lists; baseline `kubectl get pods -A` the same way (%d rows); %d RunnerSets, %d runner pods (not emulated), %d pods in the cluster",
			kind, rows[kind], len(lat[kind]), rows["pods"], sets, want, rows["pods"])
	}
	for _, kind := range []string{"runners", "runnersets"} {
		for _, q := range []struct {
			p    float64
			name string
		}{{50, "p50"}, {99, "p99"}} {
			v, bl := percentile(lat[kind], q.p), percentile(lat["pods"], q.p)
			target := "≤ 2 × baseline"
			met := v <= 2*bl
			if q.name == "p99" {
				target = "≤ 200 ms and ≤ 2 × baseline"
				met = met && v <= 200
			}
			b.add(Result{ID: "P5." + kind + "." + q.name, Figure: fmt.Sprintf("`kubectl get %s -A` latency, %s", kind, q.name),
				Value: v, Unit: "ms", Baseline: f64(bl), Target: target, Met: boolp(met), Samples: len(lat[kind]), Note: note(kind)})
		}
	}
	b.mem.setPhase("after P5")
	return nil
}

// p6: the server's peak memory over the whole run.
func (b *bench) p6(ctx context.Context) error {
	if body, err := b.serverGet(ctx, "/metrics"); err == nil {
		_ = os.WriteFile(filepath.Join(b.out, "profiles", "metrics-end.txt"), body, 0o644)
	}
	_, hwm, err := procStatus(b.serverPID)
	if err != nil {
		return err
	}
	b.mem.mu.Lock()
	heap, at, rssAt := b.mem.peakHeap, b.mem.heapAt, b.mem.rssAt
	b.mem.mu.Unlock()
	const mib = 1 << 20
	scale := fmt.Sprintf("%d RunnerSets and %d runners (P5) plus everything before", b.sz.P5Sets, b.sz.P5Sets*b.sz.P5PerSet)
	b.add(Result{ID: "P6.rss", Figure: "server peak RSS (VmHWM) over the run", Value: float64(hwm) / mib, Unit: "MiB", Target: "≤ 256 MiB",
		Met: boolp(float64(hwm)/mib <= 256), Note: fmt.Sprintf("/proc/<pid>/status VmHWM at the end of the run (VmRSS sampled every second peaked during %q): %s", rssAt, scale)})
	b.add(Result{ID: "P6.heap", Figure: "server peak Go heap in use over the run", Value: heap / mib, Unit: "MiB", Target: "≤ 256 MiB",
		Met: boolp(heap/mib <= 256), Note: fmt.Sprintf("highest go_memstats_heap_inuse_bytes of /metrics sampled every 2 s (peak during %q); %s; heap profile in profiles/p5-heap.pprof", at, scale)})
	return nil
}
