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
	"math"
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

// p2: a burst of P2Jobs jobs on one RunnerSet (maxRunners P2Jobs) until as many runner pods
// exist, beside a plain client-go loop creating as many equal Secret+Pod pairs with the same
// client rate limits and concurrency. Neither side's pods are emulated: the figure is about
// creating them. Then the same burst again on a RunnerSet with spec.scaleUp (p2Limit).
func (b *bench) p2(ctx context.Context) error {
	n := b.sz.P2Jobs
	b.mem.setPhase("P2")

	// Baseline.
	baseT, err := track(ctx, b.kube, pods, nsBase, v1alpha1.LabelRunnerSet)
	if err != nil {
		return err
	}
	defer baseT.stop()
	baseDur, err := b.p2Baseline(ctx, baseT, n)
	if err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	baseRate := float64(n) / baseDur.Seconds()
	b.logf("baseline: %d Secret+Pod pairs in %s (%.1f pods/s)", n, baseDur.Round(time.Millisecond), baseRate)

	// The server.
	const name = "p2-burst"
	if err := b.createRunnerSets(ctx, b.runnerSet(nsBurst, name, 0, int32(n))); err != nil {
		return err
	}
	if _, err := b.waitReady(ctx, nsBurst, []string{name}, time.Minute); err != nil {
		return err
	}
	podT, err := track(ctx, b.kube, pods, nsBurst, v1alpha1.LabelRunnerSet)
	if err != nil {
		return err
	}
	defer podT.stop()
	profDone := make(chan struct{})
	go func() {
		defer close(profDone)
		b.profile(ctx, "p2-burst-cpu", "cpu", int(math.Ceil(baseDur.Seconds()/0.8))+2)
	}()
	t0 := time.Now()
	if _, err := b.sim.QueueJobs(b.job(name, 30*time.Minute), n); err != nil {
		return err
	}
	if err := waitUntil(ctx, 5*time.Minute, fmt.Sprintf("%d runner pods", n), func() bool { return podT.totalSeen() >= n }); err != nil {
		return err
	}
	first, _ := podT.nthAdded(1)
	last, _ := podT.nthAdded(n)
	dur := last.Sub(t0)
	rate := float64(n) / dur.Seconds()
	<-profDone
	b.add(Result{ID: "P2", Figure: fmt.Sprintf("burst of %d jobs on one RunnerSet → %d runner pods exist", n, n),
		Value: rate, Unit: "pods/s", Baseline: f64(baseRate), Target: "≥ 0.8 × baseline", Met: boolp(rate >= 0.8*baseRate), Samples: n,
		Note: fmt.Sprintf("server: %s from queueing %d jobs to the %d-th pod seen by a watch (first pod after %s); baseline: a client-go loop of %d goroutines creating %d Secret+Pod pairs equal to the server's (contract.Secret/Pod) in %s; both with QPS %g, burst %d. The runners of these pods are not emulated (pods Running on kwok, runner never online).",
			dur.Round(time.Millisecond), n, n, first.Sub(t0).Round(time.Millisecond), *parallel, n, baseDur.Round(time.Millisecond), *qps, *burst)})

	begin := time.Now()
	if err := b.deleteRunnerSets(ctx, nsBurst, []string{name}, 5*time.Minute); err != nil {
		return fmt.Errorf("deleting %s: %w", name, err)
	}
	b.add(Result{ID: "P2.teardown", Figure: fmt.Sprintf("delete the RunnerSet with %d idle runners → everything gone (context)", n),
		Value: time.Since(begin).Seconds(), Unit: "s", Samples: n,
		Note: "deregistration on GitHub, then each pod and Secret deleted, under the same client rate limits"})
	return b.p2Limit(ctx)
}

// p2Baseline creates n Secret+Pod pairs as the server would render them, with a client limited
// like the server's, from as many goroutines as the server creates runners in parallel, and
// returns the time until the n-th pod was seen; then it deletes them all.
func (b *bench) p2Baseline(ctx context.Context, baseT *tracker, n int) (time.Duration, error) {
	const name = "p2-baseline"
	owner, err := b.kube.CoreV1().ConfigMaps(nsBase).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "runnerset." + name}}, metav1.CreateOptions{})
	if err != nil {
		return 0, err
	}
	cfg := b.sys.RESTConfig(localsystem.UserAdmin)
	cfg.QPS, cfg.Burst = float32(*qps), *burst
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return 0, err
	}
	rs := b.runnerSet(nsBase, name, 0, int32(n))
	ref := metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: owner.Name, UID: owner.UID, BlockOwnerDeletion: ptr.To(false)}
	// A JIT config is an opaque base64 blob of about this size.
	jit := make([]byte, 1600)
	for i := range jit {
		jit[i] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[b.rng.IntN(64)]
	}
	work := make(chan int)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	t0 := time.Now()
	for range *parallel {
		wg.Go(func() {
			for i := range work {
				p := contract.Params{RunnerSet: rs, Name: fmt.Sprintf("%s-%05d", name, i), Owner: ref, ScaleSetID: 1, RunnerID: i + 1,
					KubernetesModeServiceAccount: name + "-kube-mode", ProxySecretName: name + "-runner-proxy", UserAgent: "runnerset-apiserver/bench"}
				_, err := client.CoreV1().Secrets(nsBase).Create(ctx, contract.Secret(p, string(jit)), metav1.CreateOptions{})
				if err == nil {
					_, err = client.CoreV1().Pods(nsBase).Create(ctx, contract.Pod(p), metav1.CreateOptions{})
				}
				if err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		})
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	if first != nil {
		return 0, first
	}
	if err := waitUntil(ctx, 2*time.Minute, "baseline pods", func() bool { return baseT.totalSeen() >= n }); err != nil {
		return 0, err
	}
	last, _ := baseT.nthAdded(n)
	dur := last.Sub(t0)

	sel := metav1.ListOptions{LabelSelector: v1alpha1.LabelRunnerSet + "=" + name}
	now := metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}
	if err := b.kube.CoreV1().Pods(nsBase).DeleteCollection(ctx, now, sel); err != nil {
		return 0, err
	}
	if err := b.kube.CoreV1().Secrets(nsBase).DeleteCollection(ctx, now, sel); err != nil {
		return 0, err
	}
	err = waitUntil(ctx, 2*time.Minute, "baseline pods deleted", func() bool { l, _, _ := baseT.live(); return l == 0 })
	return dur, err
}
