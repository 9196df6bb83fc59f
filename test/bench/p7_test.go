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
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/contract"
	"actions.dev/runnerset-apiserver/pkg/localsystem"
)

// The trickle's gaps: those of P1.one, so that a P2-sized burst (a few seconds of pod creation
// here) has a good part of the trickle beside it.
const (
	p7GapLo = 300 * time.Millisecond
	p7GapHi = 700 * time.Millisecond
)

// p7Sample is what one trickle phase measured, per job in queueing order.
type p7Sample struct {
	lat      []float64   // job available → its runner pod seen (P1's measure)
	toAssign []float64   // job available → assigned to the scale set (message, acquisition)
	fromAsgn []float64   // assigned → pod seen (JobAssigned, JIT config, Secret, pod)
	toSecret []float64   // assigned → the runner's Secret seen (JobAssigned, JIT config, Secret)
	toPod    []float64   // Secret seen → pod seen (the pod's creation)
	queued   []time.Time // the simulator's queuedAt
}

// p7: fairness between tenants. A trickle of jobs on one RunnerSet of namespace B (bench-emu,
// emulated runners) is measured as P1 measures (job available → its runner pod seen), first
// alone ("quiet"), then again from the moment a burst of P2Jobs jobs lands on a RunnerSet of
// namespace A (bench-burst, maxRunners P2Jobs, runners not emulated as in P2). The server
// shares its kube-apiserver budget between namespaces (one fair-queue flow per namespace), so
// the trickle's latency beside the burst should stay within 2 × its quiet figure.
func (b *bench) p7(ctx context.Context) (err error) {
	const trickle, burstName = "p7-trickle", "p7-burst"
	defer func() {
		if err != nil { // do not leave a burst behind for the scenarios after this one
			cctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			_ = b.deleteRunnerSets(cctx, nsBurst, []string{burstName}, 5*time.Minute)
			_ = b.deleteRunnerSets(cctx, nsEmu, []string{trickle}, time.Minute)
		}
	}()
	n, m := b.sz.P2Jobs, b.sz.P7Jobs
	b.mem.setPhase("P7")
	podT, secT, err := b.emuTrackers(ctx)
	if err != nil {
		return err
	}
	probe, err := b.newP7Probe(ctx)
	if err != nil {
		return err
	}
	defer probe.close()
	// The same seeded offsets in both phases; the loaded phase may run on (up to 3m jobs) while
	// the burst is still creating pods. Drawn up front so the rng use does not depend on timing.
	gaps := make([]time.Duration, 3*m)
	for i := range gaps {
		gaps[i] = b.gap(p7GapLo, p7GapHi)
	}
	if err := b.createRunnerSets(ctx, b.runnerSet(nsEmu, trickle, 0, 50)); err != nil {
		return err
	}
	if err := b.createRunnerSets(ctx, b.runnerSet(nsBurst, burstName, 0, int32(n))); err != nil {
		return err
	}
	if _, err := b.waitReady(ctx, nsEmu, []string{trickle}, time.Minute); err != nil {
		return err
	}
	if _, err := b.waitReady(ctx, nsBurst, []string{burstName}, time.Minute); err != nil {
		return err
	}
	burstT, err := track(ctx, b.kube, pods, nsBurst, v1alpha1.LabelRunnerSet+"="+burstName)
	if err != nil {
		return err
	}
	defer burstT.stop()

	// Quiet: the trickle alone.
	stopProbe := probe.start(ctx)
	quiet, err := b.p7Trickle(ctx, podT, secT, trickle, gaps[:m], nil, time.Minute)
	quietKube := stopProbe()
	if err != nil {
		return fmt.Errorf("quiet trickle: %w", err)
	}
	b.logf("quiet trickle: %d jobs, p50 %s ms, p99 %s ms", len(quiet.lat), fmtNum(percentile(quiet.lat, 50)), fmtNum(percentile(quiet.lat, 99)))
	if err := sleepCtx(ctx, time.Second); err != nil {
		return err
	}

	// Loaded: the same trickle, its first job at the moment the burst is queued.
	k0, w0, err := b.clientStats(ctx)
	if err != nil {
		return err
	}
	queued := make(chan error, 1)
	t0 := time.Now()
	go func() {
		_, err := b.sim.QueueJobs(b.job(burstName, 30*time.Minute), n)
		queued <- err
	}()
	burstOn := func() bool { return burstT.totalSeen() < n }
	stopProbe = probe.start(ctx)
	loaded, err := b.p7Trickle(ctx, podT, secT, trickle, gaps, burstOn, 3*time.Minute)
	loadedKube := stopProbe()
	if err != nil {
		return fmt.Errorf("trickle beside the burst: %w", err)
	}
	if err := <-queued; err != nil {
		return fmt.Errorf("queueing the burst: %w", err)
	}
	if err := waitUntil(ctx, 5*time.Minute, fmt.Sprintf("%d runner pods of the burst", n), func() bool { return burstT.totalSeen() >= n }); err != nil {
		return err
	}
	last, _ := burstT.nthAdded(n)
	first, _ := burstT.nthAdded(1)
	dur := last.Sub(t0)
	rate := float64(n) / dur.Seconds()
	k1, w1, err := b.clientStats(ctx)
	if err != nil {
		return err
	}
	// The trickle jobs queued while the burst was still creating pods.
	var during []float64
	for i, q := range loaded.queued {
		if q.Before(last) {
			during = append(during, loaded.lat[i])
		}
	}
	b.logf("trickle beside the burst: %d jobs (%d during its pod creation), p50 %s ms, p99 %s ms; burst %.1f pods/s",
		len(loaded.lat), len(during), fmtNum(percentile(loaded.lat, 50)), fmtNum(percentile(loaded.lat, 99)), rate)

	split := func(s p7Sample) string {
		pp := func(xs []float64) string { return fmtNum(percentile(xs, 50)) + " / " + fmtNum(percentile(xs, 99)) }
		return fmt.Sprintf("available → assigned (message, acquisition) p50 / p99 %s ms, assigned → pod %s ms, of which assigned → runner Secret seen (JobAssigned, JIT config, Secret) %s ms and Secret seen → pod seen %s ms",
			pp(s.toAssign), pp(s.fromAsgn), pp(s.toSecret), pp(s.toPod))
	}
	note := fmt.Sprintf("trickle: jobs of %s on emulated runners of RunnerSet %s/%s, queued %s–%s apart (seeded, the same offsets in both phases) without waiting for the previous pod; "+
		"quiet (baseline): %d jobs alone; loaded (value): the same trickle from the moment %d jobs were queued on %s/%s (maxRunners %d, runners not emulated), %d jobs (run on until the burst's last pod was seen, at most %d), %d of them queued before that pod: their p50 %s ms, p99 %s ms. "+
		"Split, quiet: %s; loaded: %s. The server's kube-apiserver requests from the burst's queueing to its last pod: %.0f, which waited %.1f s in all (every flow) for the client rate limiter (QPS %g, burst %d).",
		b.sz.JobDuration, nsEmu, trickle, p7GapLo, p7GapHi, len(quiet.lat), n, nsBurst, burstName, n, len(loaded.lat), len(gaps), len(during),
		fmtNum(percentile(during, 50)), fmtNum(percentile(during, 99)), split(quiet), split(loaded), k1-k0, w1-w0, *qps, *burst)
	if w1-w0 < 1 {
		note += " The client rate limiter did not bind during the burst, so its fair queue had nothing to share out: what the trickle lost beside the burst is the cluster's and GitHub's (see P7.kube); -kube-api-qps=50 -kube-api-burst=100 (the server's defaults) makes it bind."
	}
	for _, q := range []struct {
		p    float64
		name string
	}{{50, "p50"}, {99, "p99"}} {
		v, bl := percentile(loaded.lat, q.p), percentile(quiet.lat, q.p)
		b.add(Result{ID: "P7." + q.name, Figure: fmt.Sprintf("job available → its runner pod created, %s, a trickle in one namespace beside a %d-job burst in another (baseline: the same trickle alone)", q.name, n),
			Value: v, Unit: "ms", Baseline: f64(bl), Target: fmt.Sprintf("loaded %s ≤ 2 × quiet %s", q.name, q.name), Met: boolp(v <= 2*bl),
			Samples: len(loaded.lat), Note: note})
	}
	burstNote := fmt.Sprintf("%s from queueing %d jobs on %s/%s to the %d-th pod seen by a watch (first pod after %s), beside the trickle of P7.",
		dur.Round(time.Millisecond), n, nsBurst, burstName, n, first.Sub(t0).Round(time.Millisecond))
	b.mu.Lock()
	for _, r := range b.results {
		if r.ID == "P2" {
			burstNote += fmt.Sprintf(" The same burst alone (P2, this run): %s pods/s.", fmtNum(r.Value))
		}
	}
	b.mu.Unlock()
	for _, q := range []struct {
		p    float64
		name string
	}{{50, "p50"}, {99, "p99"}} {
		b.add(Result{ID: "P7.kube." + q.name, Figure: fmt.Sprintf("a runner's Secret+Pod created by a plain client-go loop → pod seen, %s, beside the burst (baseline: the same probe beside the quiet trickle; context: the Kubernetes floor of P7)", q.name),
			Value: percentile(loadedKube, q.p), Unit: "ms", Baseline: f64(percentile(quietKube, q.p)), Samples: len(loadedKube),
			Note: fmt.Sprintf("in %s, one Secret+Pod pair (contract.Secret/Pod) at a time, %s apart, as another client of the kube-apiserver (admin, not the server, not its rate limiter) for as long as each trickle phase ran (queueing to its last runner gone): what any client's runner objects take on this cluster in each phase; %d samples quiet, %d loaded", nsBase, p7ProbeGap, len(quietKube), len(loadedKube))})
	}
	b.add(Result{ID: "P7.burst", Figure: fmt.Sprintf("burst of %d jobs beside the trickle → %d runner pods exist (context)", n, n),
		Value: rate, Unit: "pods/s", Samples: n, Note: burstNote})

	if err := b.deleteRunnerSets(ctx, nsBurst, []string{burstName}, 5*time.Minute); err != nil {
		return fmt.Errorf("deleting %s: %w", burstName, err)
	}
	return b.deleteRunnerSets(ctx, nsEmu, []string{trickle}, time.Minute)
}

// p7Trickle queues jobs on the RunnerSet name at the offsets of gaps (the first at once), open
// loop: each at its time whether or not the previous one has its pod yet. It queues the first m
// = len(gaps) jobs when more is nil, else at least a third of gaps and then on while more()
// holds. The k-th job is matched to the k-th runner pod of the RunnerSet seen from then on (as
// P1.many matches rounds). It returns when every job has completed and its runner is gone.
func (b *bench) p7Trickle(ctx context.Context, podT, secT *tracker, name string, gaps []time.Duration, more func() bool, timeout time.Duration) (p7Sample, error) {
	var s p7Sample
	minJobs := len(gaps)
	if more != nil {
		minJobs = len(gaps) / 3
	}
	base, sbase := podT.seenOf(name), secT.seenOf(name)
	start := time.Now()
	var at time.Duration
	var ids []int64
	for i := range gaps {
		if i >= minJobs && (more == nil || !more()) {
			break
		}
		if err := sleepCtx(ctx, time.Until(start.Add(at))); err != nil {
			return s, err
		}
		id, err := b.sim.QueueJob(b.job(name, b.sz.JobDuration))
		if err != nil {
			return s, err
		}
		ids = append(ids, id)
		at += gaps[i]
	}
	want := base + len(ids)
	if err := waitUntil(ctx, timeout, fmt.Sprintf("%d runner pods of %s", len(ids), name), func() bool { return podT.seenOf(name) >= want }); err != nil {
		return s, err
	}
	for k, id := range ids {
		_, seen, _ := podT.nth(name, base+k)
		j, err := b.jobStatus(id)
		if err != nil {
			return s, err
		}
		s.lat = append(s.lat, ms(seen.Sub(j.QueuedAt)))
		s.queued = append(s.queued, j.QueuedAt)
		if !j.AssignedAt.IsZero() {
			s.toAssign = append(s.toAssign, ms(j.AssignedAt.Sub(j.QueuedAt)))
			s.fromAsgn = append(s.fromAsgn, ms(seen.Sub(j.AssignedAt)))
			if _, sec, ok := secT.nth(name, sbase+k); ok {
				s.toSecret = append(s.toSecret, ms(sec.Sub(j.AssignedAt)))
				s.toPod = append(s.toPod, ms(seen.Sub(sec)))
			}
		}
	}
	return s, b.waitJobsDone(ctx, podT, name, ids, 2*time.Minute)
}

// p7ProbeGap is the pause between two pairs of the Kubernetes probe.
const p7ProbeGap = 500 * time.Millisecond

// p7Probe creates runner-like Secret+Pod pairs in nsBase, one at a time, as a client of its own,
// to tell the cluster's own latency in each phase from the server's.
type p7Probe struct {
	b      *bench
	client kubernetes.Interface
	podT   *tracker
	ref    metav1.OwnerReference
	rs     *v1alpha1.RunnerSet
	n      int
}

const p7ProbeName = "p7-probe"

func (b *bench) newP7Probe(ctx context.Context) (*p7Probe, error) {
	cfg := b.sys.RESTConfig(localsystem.UserAdmin)
	cfg.QPS, cfg.Burst = float32(*qps), *burst
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	owner, err := b.kube.CoreV1().ConfigMaps(nsBase).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "bench-" + p7ProbeName}}, metav1.CreateOptions{})
	if err != nil {
		return nil, err
	}
	podT, err := track(ctx, b.kube, pods, nsBase, v1alpha1.LabelRunnerSet+"="+p7ProbeName)
	if err != nil {
		_ = b.kube.CoreV1().ConfigMaps(nsBase).Delete(ctx, owner.Name, metav1.DeleteOptions{})
		return nil, err
	}
	return &p7Probe{b: b, client: client, podT: podT, rs: b.runnerSet(nsBase, p7ProbeName, 0, 1),
		ref: metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: owner.Name, UID: owner.UID, BlockOwnerDeletion: ptr.To(false)}}, nil
}

// start runs the probe until the returned function is called, which returns its latencies (ms).
func (p *p7Probe) start(ctx context.Context) func() []float64 {
	pctx, cancel := context.WithCancel(ctx)
	var out []float64
	var wg sync.WaitGroup
	jit := strings.Repeat("A", 1600)
	wg.Go(func() {
		for pctx.Err() == nil {
			p.n++
			name := fmt.Sprintf("%s-%04d", p7ProbeName, p.n)
			rp := contract.Params{RunnerSet: p.rs, Name: name, Owner: p.ref, ScaleSetID: 1, RunnerID: p.n,
				KubernetesModeServiceAccount: p7ProbeName + "-kube-mode", ProxySecretName: p7ProbeName + "-runner-proxy", UserAgent: "runnerset-apiserver/bench"}
			begin := time.Now()
			_, err := p.client.CoreV1().Secrets(nsBase).Create(pctx, contract.Secret(rp, jit), metav1.CreateOptions{})
			if err == nil {
				_, err = p.client.CoreV1().Pods(nsBase).Create(pctx, contract.Pod(rp), metav1.CreateOptions{})
			}
			if err != nil {
				if pctx.Err() == nil {
					p.b.logf("P7 probe: %v", err)
				}
				return
			}
			// Wait for it even after stop: a pair created is a sample.
			if waitUntil(ctx, 30*time.Second, "probe pod "+name, func() bool { _, ok := p.podT.addedAt(name); return ok }) == nil {
				at, _ := p.podT.addedAt(name)
				out = append(out, ms(at.Sub(begin)))
			}
			_ = sleepCtx(pctx, p7ProbeGap)
		}
	})
	return func() []float64 {
		cancel()
		wg.Wait()
		return out
	}
}

// close deletes what the probe created.
func (p *p7Probe) close() {
	defer p.podT.stop()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sel := metav1.ListOptions{LabelSelector: v1alpha1.LabelRunnerSet + "=" + p7ProbeName}
	now := metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}
	_ = p.b.kube.CoreV1().Pods(nsBase).DeleteCollection(ctx, now, sel)
	_ = p.b.kube.CoreV1().Secrets(nsBase).DeleteCollection(ctx, now, sel)
	_ = p.b.kube.CoreV1().ConfigMaps(nsBase).Delete(ctx, "bench-"+p7ProbeName, metav1.DeleteOptions{})
	_ = waitUntil(ctx, time.Minute, "probe pods deleted", func() bool { l, _, _ := p.podT.live(); return l == 0 })
}
