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
	"crypto/x509"
	"errors"
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
	"actions.dev/runnerset-apiserver/pkg/github/actions"
	"actions.dev/runnerset-apiserver/pkg/github/actions/httpretry"
	"actions.dev/runnerset-apiserver/pkg/github/auth"
	"actions.dev/runnerset-apiserver/pkg/github/simulator"
	"actions.dev/runnerset-apiserver/pkg/localsystem"
)

// bareListener is P1's baseline: the GitHub side alone. It speaks the protocol with the same
// Actions client and token chain the server uses, and no Kubernetes: it waits in the long poll,
// acknowledges each message, acquires the jobs offered and, for each job assigned, gets a
// runner's JIT configuration. That is every answer GitHub has to give before any runner pod
// can exist; what the server adds on top is its own work and the kube-apiserver's.
type bareListener struct {
	name   string
	client *actions.Client
	ss     *actions.RunnerScaleSet
	sess   *actions.MessageSession
	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	ready   map[int64]time.Time // job request id -> JIT config answered
	runners []int
	err     error
}

func newBareListener(ctx context.Context, simURL string, roots *x509.CertPool, name string) (*bareListener, error) {
	transport := httpretry.NewTransport(httpretry.TransportOptions{RootCAs: roots})
	tokens, err := auth.NewTokenSource(auth.Config{
		ConfigURL: simURL + "/" + jobOwner + "/" + name, Credentials: &auth.Credentials{Token: simulator.DefaultPAT}, Transport: transport,
	})
	if err != nil {
		return nil, err
	}
	client, err := actions.NewClient(actions.Config{Tokens: tokens, Transport: transport})
	if err != nil {
		return nil, err
	}
	ss, err := client.CreateScaleSet(ctx, &actions.RunnerScaleSet{
		Name: name, RunnerGroupID: actions.DefaultRunnerGroupID,
		Labels: []actions.Label{{Type: actions.LabelTypeSystem, Name: name}}, RunnerSetting: actions.RunnerSetting{DisableUpdate: true},
	})
	if err != nil {
		return nil, err
	}
	sess, err := actions.OpenSession(ctx, client, ss.ID, "bench-baseline")
	if err != nil {
		return nil, err
	}
	lctx, cancel := context.WithCancel(context.Background())
	l := &bareListener{name: name, client: client, ss: ss, sess: sess, cancel: cancel, done: make(chan struct{}), ready: map[int64]time.Time{}}
	go l.loop(lctx)
	return l, nil
}

func (l *bareListener) loop(ctx context.Context) {
	defer close(l.done)
	var lastID int64
	for ctx.Err() == nil {
		msg, err := l.sess.GetMessage(ctx, lastID, 1000)
		if err != nil {
			if ctx.Err() == nil {
				l.mu.Lock()
				l.err = err
				l.mu.Unlock()
			}
			return
		}
		if msg == nil {
			continue
		}
		jobs, _ := actions.ParseJobMessages(msg.Body)
		if err := l.sess.DeleteMessage(ctx, msg.MessageID); err != nil {
			continue
		}
		lastID = msg.MessageID
		var available []int64
		for _, j := range jobs {
			switch j.MessageType {
			case actions.JobMessageAvailable:
				available = append(available, j.RunnerRequestID)
			case actions.JobMessageAssigned:
				jit, err := l.client.GenerateJitConfig(ctx, l.ss.ID, &actions.JitRunnerSetting{Name: fmt.Sprintf("%s-%d", l.name, j.RunnerRequestID)})
				now := time.Now()
				l.mu.Lock()
				if err == nil {
					l.ready[j.RunnerRequestID] = now
					l.runners = append(l.runners, jit.Runner.ID)
				} else {
					l.err = err
				}
				l.mu.Unlock()
			}
		}
		if len(available) > 0 {
			_, _ = l.sess.AcquireJobs(ctx, available)
		}
	}
}

func (l *bareListener) readyAt(id int64) (time.Time, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	at, ok := l.ready[id]
	return at, ok, l.err
}

// close ends the session and removes what the baseline registered.
func (l *bareListener) close() {
	l.cancel()
	<-l.done
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_ = l.sess.Close(ctx)
	l.mu.Lock()
	runners := l.runners
	l.mu.Unlock()
	for _, id := range runners {
		_ = l.client.RemoveRunner(ctx, id)
	}
	_ = l.client.DeleteScaleSet(ctx, l.ss.ID)
}

// emuTrackers are the pod and Secret trackers of the emulated namespace, shared by P1, P3 and P4.
func (b *bench) emuTrackers(ctx context.Context) (*tracker, *tracker, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.p3Pods == nil {
		p, err := track(ctx, b.kube, pods, nsEmu, v1alpha1.LabelRunnerSet)
		if err != nil {
			return nil, nil, err
		}
		s, err := track(ctx, b.kube, secrets, nsEmu, v1alpha1.LabelRunnerSet)
		if err != nil {
			p.stop()
			return nil, nil, err
		}
		b.p3Pods, b.p3Secs = p, s
		b.t.Cleanup(func() { p.stop(); s.stop() })
	}
	return b.p3Pods, b.p3Secs, nil
}

// gap is a seeded random pause between jobs, so that arrivals do not lock onto any period.
func (b *bench) gap(lo, hi time.Duration) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	return lo + time.Duration(b.rng.Int64N(int64(hi-lo)))
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// queuedAt is when the simulator made the job available.
func (b *bench) queuedAt(id int64) (time.Time, error) {
	j, err := b.jobStatus(id)
	return j.QueuedAt, err
}

func (b *bench) jobStatus(id int64) (simulator.JobStatus, error) {
	j, ok, err := b.sim.Job(id)
	if err != nil {
		return simulator.JobStatus{}, err
	}
	if !ok {
		return simulator.JobStatus{}, fmt.Errorf("job %d unknown to the simulator", id)
	}
	return j, nil
}

// p1One: one RunnerSet, jobs one at a time, each waited for until its runner pod exists.
func (b *bench) p1One(ctx context.Context) error {
	const name = "p1-one"
	podT, _, err := b.emuTrackers(ctx)
	if err != nil {
		return err
	}
	if err := b.createRunnerSets(ctx, b.runnerSet(nsEmu, name, 0, 10)); err != nil {
		return err
	}
	ids, err := b.waitReady(ctx, nsEmu, []string{name}, time.Minute)
	if err != nil {
		return err
	}
	n := b.sz.P1Jobs

	// Baseline: the bare listener, same job sequence.
	bare, err := newBareListener(ctx, b.simURL, b.simRoots, name+"-bare")
	if err != nil {
		return fmt.Errorf("baseline listener: %w", err)
	}
	var base []float64
	for range n {
		id, err := b.sim.QueueJob(b.job(name+"-bare", b.sz.JobDuration))
		if err != nil {
			bare.close()
			return err
		}
		var at time.Time
		err = waitUntil(ctx, 30*time.Second, "the baseline's JIT config", func() bool {
			t, ok, lerr := bare.readyAt(id)
			at = t
			return ok || lerr != nil
		})
		if _, _, lerr := bare.readyAt(id); err == nil && lerr != nil {
			err = lerr
		}
		if err != nil {
			bare.close()
			return err
		}
		q, err := b.queuedAt(id)
		if err != nil {
			bare.close()
			return err
		}
		base = append(base, ms(at.Sub(q)))
		if err := sleepCtx(ctx, b.gap(300*time.Millisecond, 700*time.Millisecond)); err != nil {
			bare.close()
			return err
		}
	}
	bare.close()

	// The server, with the request counters of its scale set for P4's isolated-job figure.
	c0, err := b.sim.Counters()
	if err != nil {
		return err
	}
	k0, w0, err := b.clientStats(ctx)
	if err != nil {
		return err
	}
	var lat []float64
	var jobs []int64
	for range n {
		before := podT.seenOf(name)
		id, err := b.sim.QueueJob(b.job(name, b.sz.JobDuration))
		if err != nil {
			return err
		}
		jobs = append(jobs, id)
		if err := waitUntil(ctx, 30*time.Second, "a runner pod for job "+fmt.Sprint(id), func() bool { return podT.seenOf(name) > before }); err != nil {
			return err
		}
		_, at, _ := podT.nth(name, before)
		q, err := b.queuedAt(id)
		if err != nil {
			return err
		}
		lat = append(lat, ms(at.Sub(q)))
		if err := sleepCtx(ctx, b.gap(300*time.Millisecond, 700*time.Millisecond)); err != nil {
			return err
		}
	}
	b.mu.Lock()
	b.p3Jobs = append(b.p3Jobs, jobs...)
	b.mu.Unlock()
	// Wait for this workload to end (jobs done, runners gone) before counting its requests.
	if err := b.waitJobsDone(ctx, podT, name, jobs, 2*time.Minute); err != nil {
		return err
	}
	c1, err := b.sim.Counters()
	if err != nil {
		return err
	}
	k1, w1, err := b.clientStats(ctx)
	if err != nil {
		return err
	}
	b.add(Result{ID: "P1.one.kube", Figure: "kube-apiserver requests of the server per job, jobs one at a time (context)",
		Value: (k1 - k0) / float64(n), Unit: "req/job", Samples: n,
		Note: fmt.Sprintf("rest_client_requests_total of the server to the kube-apiserver over the %d jobs of P1.one (everything: runner Secrets and pods, status writes, job annotations, events, idle RunnerSets' housekeeping); they waited %.2f s in all for the client rate limiter", n, w1-w0)})
	total, breakdown := requestsOf(c0, c1, ids[name])
	b.add(Result{ID: "P4.job.isolated", Figure: "GitHub requests per job, jobs one at a time (context for P4.job)",
		Value: float64(total) / float64(n), Unit: "req/job", Samples: n,
		Note: fmt.Sprintf("%d jobs of P1.one, each alone: every job event is its own message (long poll + ack each). %s", n, breakdown)})

	b.p1Rows("P1.one", "1 RunnerSet, jobs one at a time", lat, base,
		fmt.Sprintf("%d jobs of %s on emulated runners, %s–%s apart (seeded); baseline: a bare listener with the server's Actions client and no Kubernetes (long poll → ack → acquire → JobAssigned → JIT config), same sequence", n, b.sz.JobDuration, 300*time.Millisecond, 700*time.Millisecond))
	return nil
}

func (b *bench) p1Rows(id, what string, lat, base []float64, note string) {
	for _, q := range []struct {
		p     float64
		name  string
		slack float64
	}{{50, "p50", 50}, {99, "p99", 250}} {
		v, bl := percentile(lat, q.p), percentile(base, q.p)
		b.add(Result{ID: id + "." + q.name, Figure: fmt.Sprintf("job available → its runner pod created, %s, %s", q.name, what),
			Value: v, Unit: "ms", Baseline: f64(bl), Target: fmt.Sprintf("≤ baseline + %.0f ms", q.slack), Met: boolp(v-bl <= q.slack),
			Samples: len(lat), Note: note})
	}
}

// waitJobsDone waits until the jobs completed and every runner of the RunnerSet is gone.
func (b *bench) waitJobsDone(ctx context.Context, podT *tracker, name string, jobs []int64, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for _, id := range jobs {
		err := waitUntil(ctx, time.Until(deadline), fmt.Sprintf("job %d completed", id), func() bool {
			j, ok, err := b.sim.Job(id)
			return err == nil && ok && j.State == simulator.JobCompleted
		})
		if err != nil {
			return err
		}
	}
	return waitUntil(ctx, time.Until(deadline), "the runners of "+name+" gone", func() bool {
		podT.mu.Lock()
		defer podT.mu.Unlock()
		for _, p := range podT.byLabel[name] {
			if _, gone := podT.deleted[p]; !gone {
				return false
			}
		}
		return true
	})
}

// p1Many: P1Sets RunnerSets each get one job at the same moment, P1Rounds times.
func (b *bench) p1Many(ctx context.Context) error {
	podT, _, err := b.emuTrackers(ctx)
	if err != nil {
		return err
	}
	var names []string
	for i := range b.sz.P1Sets {
		names = append(names, fmt.Sprintf("p1-m%02d", i))
	}
	// Baseline first: as many bare listeners, each with its own scale set, the same rounds.
	bares := make([]*bareListener, len(names))
	var berr error
	var wg sync.WaitGroup
	var mu sync.Mutex
	for i, n := range names {
		wg.Go(func() {
			l, err := newBareListener(ctx, b.simURL, b.simRoots, n+"-bare")
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				berr = errors.Join(berr, err)
				return
			}
			bares[i] = l
		})
	}
	wg.Wait()
	closeBares := func() {
		for _, l := range bares {
			if l != nil {
				wg.Go(l.close)
			}
		}
		wg.Wait()
	}
	if berr != nil {
		closeBares()
		return fmt.Errorf("baseline listeners: %w", berr)
	}
	var base []float64
	for range b.sz.P1Rounds {
		ids := make([]int64, len(names))
		for i, n := range names {
			if ids[i], err = b.sim.QueueJob(b.job(n+"-bare", b.sz.JobDuration)); err != nil {
				closeBares()
				return err
			}
		}
		for i := range names {
			var at time.Time
			err := waitUntil(ctx, time.Minute, "baseline JIT configs", func() bool {
				t, ok, lerr := bares[i].readyAt(ids[i])
				at = t
				return ok || lerr != nil
			})
			if err != nil {
				closeBares()
				return err
			}
			if _, _, lerr := bares[i].readyAt(ids[i]); lerr != nil {
				closeBares()
				return lerr
			}
			q, err := b.queuedAt(ids[i])
			if err != nil {
				closeBares()
				return err
			}
			base = append(base, ms(at.Sub(q)))
		}
		if err := sleepCtx(ctx, b.gap(time.Second, 2*time.Second)); err != nil {
			closeBares()
			return err
		}
	}
	closeBares()

	// What Kubernetes alone takes here: as many Secret+Pod pairs, equal to the server's, created at
	// the same moment by a plain client-go loop, the same number of rounds.
	floor, err := b.createFloor(ctx, len(names), b.sz.P1Rounds)
	if err != nil {
		return fmt.Errorf("Kubernetes floor: %w", err)
	}

	var sets []*v1alpha1.RunnerSet
	for _, n := range names {
		sets = append(sets, b.runnerSet(nsEmu, n, 0, 5))
	}
	if err := b.createRunnerSets(ctx, sets...); err != nil {
		return err
	}
	if _, err := b.waitReady(ctx, nsEmu, names, 2*time.Minute); err != nil {
		return err
	}
	var lat, assignedPart []float64
	var all []int64
	k0, w0, err := b.clientStats(ctx)
	if err != nil {
		return err
	}
	// Whose CPU the rounds take: the server's and the kube-apiserver's, over the rounds.
	defer b.profileCPUDuring(ctx, "p1-many", 3*b.sz.P1Rounds)()
	for r := range b.sz.P1Rounds {
		ids := make([]int64, len(names))
		for i, n := range names {
			if ids[i], err = b.sim.QueueJob(b.job(n, b.sz.JobDuration)); err != nil {
				return err
			}
		}
		all = append(all, ids...)
		err := waitUntil(ctx, time.Minute, fmt.Sprintf("round %d's runner pods", r), func() bool {
			for _, n := range names {
				if podT.seenOf(n) <= r {
					return false
				}
			}
			return true
		})
		if err != nil {
			return err
		}
		for i, n := range names {
			_, at, _ := podT.nth(n, r)
			j, err := b.jobStatus(ids[i])
			if err != nil {
				return err
			}
			lat = append(lat, ms(at.Sub(j.QueuedAt)))
			if !j.AssignedAt.IsZero() {
				assignedPart = append(assignedPart, ms(at.Sub(j.AssignedAt)))
			}
		}
		if err := sleepCtx(ctx, b.gap(time.Second, 2*time.Second)); err != nil {
			return err
		}
	}
	b.mu.Lock()
	b.p3Jobs = append(b.p3Jobs, all...)
	b.mu.Unlock()
	k1, w1, err := b.clientStats(ctx)
	if err != nil {
		return err
	}
	b.note("During P1.many's rounds the server sent %.0f requests to the kube-apiserver; they waited %.1f s in all for its client rate limiter (QPS %g, burst %d). From the job's assignment to the scale set (after the acquisition) to its pod: p50 %s ms, p99 %s ms.",
		k1-k0, w1-w0, *qps, *burst, fmtNum(percentile(assignedPart, 50)), fmtNum(percentile(assignedPart, 99)))
	b.p1Rows("P1.many", fmt.Sprintf("%d RunnerSets at once", len(names)), lat, base,
		fmt.Sprintf("%d rounds, each one job (%s, emulated runner) queued on each of %d RunnerSets at the same moment, rounds 1–2 s apart (seeded); baseline: %d bare listeners, one scale set each, same rounds. Kubernetes alone (%d Secret+Pod pairs created at once by a client-go loop, to each pod seen) takes p50 %s ms, p99 %s ms here (P1.many.kube)",
			b.sz.P1Rounds, b.sz.JobDuration, len(names), len(names), len(names), fmtNum(percentile(floor, 50)), fmtNum(percentile(floor, 99))))
	for _, q := range []struct {
		p    float64
		name string
	}{{50, "p50"}, {99, "p99"}} {
		b.add(Result{ID: "P1.many.kube." + q.name, Figure: fmt.Sprintf("%d Secret+Pod pairs created at once by a plain client-go loop → each pod seen, %s (context: the Kubernetes floor of P1.many)", len(names), q.name),
			Value: percentile(floor, q.p), Unit: "ms", Samples: len(floor),
			Note: fmt.Sprintf("the server's rendering of a runner (contract.Secret/Pod), one goroutine per pair, client limits QPS %g burst %d, %d rounds; no GitHub involved", *qps, *burst, b.sz.P1Rounds)})
	}
	return nil
}

// createFloor measures what creating n runners' objects at once costs on this cluster, with no
// GitHub and no scaler: n goroutines each create a Secret then a Pod, as the server renders them,
// and each pod's latency ends when a watch sees it. rounds times, 1 s apart; everything is deleted
// afterwards.
func (b *bench) createFloor(ctx context.Context, n, rounds int) ([]float64, error) {
	const name = "p1-floor"
	podT, err := track(ctx, b.kube, pods, nsBase, v1alpha1.LabelRunnerSet+"="+name)
	if err != nil {
		return nil, err
	}
	defer podT.stop()
	cfg := b.sys.RESTConfig(localsystem.UserAdmin)
	cfg.QPS, cfg.Burst = float32(*qps), *burst
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	owner, err := b.kube.CoreV1().ConfigMaps(nsBase).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "runnerset." + name}}, metav1.CreateOptions{})
	if err != nil {
		return nil, err
	}
	ref := metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: owner.Name, UID: owner.UID, BlockOwnerDeletion: ptr.To(false)}
	rs := b.runnerSet(nsBase, name, 0, int32(n))
	jit := strings.Repeat("A", 1600)
	var out []float64
	for r := range rounds {
		start := time.Now()
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Go(func() {
				p := contract.Params{RunnerSet: rs, Name: fmt.Sprintf("%s-%d-%02d", name, r, i), Owner: ref, ScaleSetID: 1, RunnerID: i + 1,
					KubernetesModeServiceAccount: name + "-kube-mode", ProxySecretName: name + "-runner-proxy", UserAgent: "runnerset-apiserver/bench"}
				if _, err := client.CoreV1().Secrets(nsBase).Create(ctx, contract.Secret(p, jit), metav1.CreateOptions{}); err != nil {
					errs <- err
					return
				}
				if _, err := client.CoreV1().Pods(nsBase).Create(ctx, contract.Pod(p), metav1.CreateOptions{}); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		if err := <-errs; err != nil {
			return nil, err
		}
		want := (r + 1) * n
		if err := waitUntil(ctx, time.Minute, "floor pods", func() bool { return podT.totalSeen() >= want }); err != nil {
			return nil, err
		}
		for i := range n {
			if at, ok := podT.addedAt(fmt.Sprintf("%s-%d-%02d", name, r, i)); ok {
				out = append(out, ms(at.Sub(start)))
			}
		}
		if err := sleepCtx(ctx, time.Second); err != nil {
			return nil, err
		}
	}
	sel := metav1.ListOptions{LabelSelector: v1alpha1.LabelRunnerSet + "=" + name}
	now := metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}
	if err := b.kube.CoreV1().Pods(nsBase).DeleteCollection(ctx, now, sel); err != nil {
		return nil, err
	}
	if err := b.kube.CoreV1().Secrets(nsBase).DeleteCollection(ctx, now, sel); err != nil {
		return nil, err
	}
	_ = b.kube.CoreV1().ConfigMaps(nsBase).Delete(ctx, owner.Name, metav1.DeleteOptions{})
	return out, waitUntil(ctx, time.Minute, "floor pods deleted", func() bool { l, _, _ := podT.live(); return l == 0 })
}
