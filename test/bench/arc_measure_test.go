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

// side is what TestBenchARC measures: our server or ARC, on a local system of its own.
type side interface {
	// createSet creates a scale set of repository bench/<name> in ns whose runner pods carry the
	// label actions.dev/runnerset=<name>, and returns its id once its message session is open.
	createSet(ctx context.Context, ns, name string, maxRunners int) (int, error)
	// kubeRequests is how many requests the side has sent to the kube-apiserver so far.
	kubeRequests(ctx context.Context) (float64, error)
	// memory is the side's resident memory (all its processes) and Go heap in use now.
	memory(ctx context.Context) (rss int64, heap float64)
}

// sideResult are one side's figures.
type sideResult struct {
	Err      string    `json:"error,omitempty"`
	P1       []float64 `json:"p1Ms"`                 // job available → its runner pod seen, jobs one at a time
	P1Early  int       `json:"p1ServedByEarlierPod"` // jobs a runner pod created before them ran
	P1Kube   float64   `json:"p1KubePerJob"`
	P1GitHub float64   `json:"p1GitHubPerJob"`
	P1Detail string    `json:"p1GitHubDetail"`
	P3       []float64 `json:"p3Ms"` // job completed → runner pod and Secret gone
	// P1.many: P1Sets scale sets, one job on each at the same moment, P1Rounds times.
	P1Many           []float64 `json:"p1ManyMs"`
	P1ManyEarly      int       `json:"p1ManyServedByEarlierPod"`
	ManySetupSeconds float64   `json:"manySetupSeconds"` // creating the scale sets until every session is open
	ManyIdleRSS      int64     `json:"manyIdleRSS"`      // P1Sets idle scale sets (and P1's one)
	ManyIdleHeap     float64   `json:"manyIdleHeap"`
	ManyProcesses    int       `json:"manyProcesses"` // processes in ManyIdleRSS
	P2Jobs           int       `json:"p2Jobs"`
	P2Seconds        float64   `json:"p2Seconds"` // queueing → the n-th runner pod seen
	P2First          float64   `json:"p2FirstSeconds"`
	P2Kube           float64   `json:"p2KubePerJob"`
	P2GitHub         float64   `json:"p2GitHubPerJob"`
	P2Detail         string    `json:"p2GitHubDetail"`
	IdleRSS          int64     `json:"idleRSS"` // one scale set, no job
	IdleHeap         float64   `json:"idleHeap"`
	PeakRSS          int64     `json:"peakRSS"`
	PeakHeap         float64   `json:"peakHeap"`
	PeakAt           string    `json:"peakRSSAt"`
}

const arcJobDuration = 2 * time.Second

// measureSide runs the workloads on one side; a workload that fails is recorded and ends it.
func measureSide(b *bench, s side, sz arcSizes) *sideResult {
	res := &sideResult{}
	peak := startPeakSampler(s)
	defer func() {
		peak.stop()
		res.PeakRSS, res.PeakHeap, res.PeakAt = peak.peak()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	for _, step := range []struct {
		name string
		f    func(context.Context, *bench, side, arcSizes, *sideResult, *peakSampler) error
	}{{"P1 and P3", measureP1}, {"P1.many", measureP1Many}, {"P2 burst", measureP2}} {
		begin := time.Now()
		b.logf("=== %s", step.name)
		peak.setPhase(step.name)
		if err := step.f(ctx, b, s, sz, res, peak); err != nil {
			b.t.Errorf("%s: %v", step.name, err)
			res.Err = fmt.Sprintf("%s: %v", step.name, err)
			return res
		}
		b.logf("--- %s done in %s", step.name, time.Since(begin).Round(100*time.Millisecond))
	}
	return res
}

// measureP1: one scale set, P1Jobs jobs one at a time (each waited for until its runner pod
// exists, then 300–700 ms), emulated runners; then every job's teardown (P3) and the requests.
func measureP1(ctx context.Context, b *bench, s side, sz arcSizes, res *sideResult, peak *peakSampler) error {
	const name = "p1-one"
	if err := b.sys.EnsureNamespace(ctx, nsEmu); err != nil {
		return err
	}
	podT, err := track(ctx, b.kube, pods, nsEmu, v1alpha1.LabelRunnerSet)
	if err != nil {
		return err
	}
	defer podT.stop()
	secT, err := track(ctx, b.kube, secrets, nsEmu, "")
	if err != nil {
		return err
	}
	defer secT.stop()
	id, err := s.createSet(ctx, nsEmu, name, 10)
	if err != nil {
		return err
	}
	if err := sleepCtx(ctx, 3*time.Second); err != nil {
		return err
	}
	res.IdleRSS, res.IdleHeap = s.memory(ctx)
	c0, err := b.sim.Counters()
	if err != nil {
		return err
	}
	k0, err := s.kubeRequests(ctx)
	if err != nil {
		return err
	}
	jobs, lat, early, err := sequentialJobs(ctx, b, podT, name, sz.P1Jobs)
	res.P1, res.P1Early = lat, early
	if err != nil {
		return err
	}
	if err := b.waitJobsDone(ctx, podT, name, jobs, 3*time.Minute); err != nil {
		return err
	}
	if res.P3, err = teardowns(ctx, b, podT, secT, jobs); err != nil {
		return err
	}
	// The last JobCompleted messages are acknowledged after the runners are gone.
	if err := sleepCtx(ctx, 3*time.Second); err != nil {
		return err
	}
	c1, err := b.sim.Counters()
	if err != nil {
		return err
	}
	k1, err := s.kubeRequests(ctx)
	if err != nil {
		return err
	}
	n := float64(len(jobs))
	res.P1Kube = (k1 - k0) / n
	total, detail := requestsOf(c0, c1, id)
	res.P1GitHub, res.P1Detail = float64(total)/n, detail
	return nil
}

// sequentialJobs queues n jobs for the scale set name one at a time, each waited for until a
// runner took it, and returns them with, for each, the time from its queueing to the runner pod
// that ran it seen by a watch (0 when that pod existed before: a runner idle since an earlier
// scale-up took it), and how many were served by such a pod.
func sequentialJobs(ctx context.Context, b *bench, podT *tracker, name string, n int) (jobs []int64, lat []float64, early int, err error) {
	for range n {
		id, err := b.sim.QueueJob(b.job(name, arcJobDuration))
		if err != nil {
			return jobs, lat, early, err
		}
		jobs = append(jobs, id)
		var j simulator.JobStatus
		var at time.Time
		err = wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
			var ok bool
			j, ok, err = b.sim.Job(id)
			if err != nil || !ok || j.RunnerName == "" {
				return false, nil
			}
			at, ok = podT.addedAt(j.RunnerName)
			return ok, nil
		})
		if err != nil {
			return jobs, lat, early, fmt.Errorf("waiting for a runner to take job %d (state %s, %d pods seen): %w", id, j.State, podT.seenOf(name), err)
		}
		d := at.Sub(j.QueuedAt)
		if d < 0 {
			d, early = 0, early+1
		}
		lat = append(lat, ms(d))
		if err := sleepCtx(ctx, b.gap(300*time.Millisecond, 700*time.Millisecond)); err != nil {
			return jobs, lat, early, err
		}
	}
	return jobs, lat, early, nil
}

// teardowns: for each job, from its completion on the simulator to the later of its runner
// pod's and its runner Secret's deletion seen by a watch (both are named after the runner).
func teardowns(ctx context.Context, b *bench, podT, secT *tracker, jobs []int64) ([]float64, error) {
	var lat []float64
	for _, id := range jobs {
		var j simulator.JobStatus
		err := waitUntil(ctx, 2*time.Minute, fmt.Sprintf("job %d's runner pod and Secret gone", id), func() bool {
			var ok bool
			var err error
			j, ok, err = b.sim.Job(id)
			if err != nil || !ok || j.State != simulator.JobCompleted {
				return false
			}
			_, podGone := podT.deletedAt(j.RunnerName)
			_, secGone := secT.deletedAt(j.RunnerName)
			return podGone && secGone
		})
		if err != nil {
			return nil, fmt.Errorf("%w (state %s, runner %q)", err, j.State, j.RunnerName)
		}
		p, _ := podT.deletedAt(j.RunnerName)
		sec, _ := secT.deletedAt(j.RunnerName)
		lat = append(lat, ms(maxTime(p, sec).Sub(j.CompletedAt)))
	}
	return lat, nil
}

// measureP2: a burst of P2Jobs jobs on one scale set (maxRunners P2Jobs) in a namespace without
// emulated runners, until as many runner pods exist.
func measureP2(ctx context.Context, b *bench, s side, sz arcSizes, res *sideResult, _ *peakSampler) error {
	const name = "p2-burst"
	n := sz.P2Jobs
	if err := b.sys.EnsureNamespace(ctx, nsBurst); err != nil {
		return err
	}
	podT, err := track(ctx, b.kube, pods, nsBurst, v1alpha1.LabelRunnerSet)
	if err != nil {
		return err
	}
	defer podT.stop()
	id, err := s.createSet(ctx, nsBurst, name, n)
	if err != nil {
		return err
	}
	if err := sleepCtx(ctx, 2*time.Second); err != nil {
		return err
	}
	c0, err := b.sim.Counters()
	if err != nil {
		return err
	}
	k0, err := s.kubeRequests(ctx)
	if err != nil {
		return err
	}
	t0 := time.Now()
	if _, err := b.sim.QueueJobs(b.job(name, 30*time.Minute), n); err != nil {
		return err
	}
	if err := waitUntil(ctx, 10*time.Minute, fmt.Sprintf("%d runner pods", n), func() bool { return podT.totalSeen() >= n }); err != nil {
		return fmt.Errorf("%w (%d seen)", err, podT.totalSeen())
	}
	first, _ := podT.nthAdded(1)
	last, _ := podT.nthAdded(n)
	res.P2Jobs, res.P2Seconds, res.P2First = n, last.Sub(t0).Seconds(), first.Sub(t0).Seconds()
	// Let the last status writes land before counting.
	if err := sleepCtx(ctx, 3*time.Second); err != nil {
		return err
	}
	c1, err := b.sim.Counters()
	if err != nil {
		return err
	}
	k1, err := s.kubeRequests(ctx)
	if err != nil {
		return err
	}
	res.P2Kube = (k1 - k0) / float64(n)
	total, detail := requestsOf(c0, c1, id)
	res.P2GitHub, res.P2Detail = float64(total)/float64(n), detail
	return nil
}

// peakSampler follows a side's memory every second and keeps the peaks.
type peakSampler struct {
	s      side
	cancel context.CancelFunc
	done   chan struct{}

	mu       sync.Mutex
	phase    string
	peakRSS  int64
	peakHeap float64
	rssAt    string
}

func startPeakSampler(s side) *peakSampler {
	ctx, cancel := context.WithCancel(context.Background())
	p := &peakSampler{s: s, cancel: cancel, done: make(chan struct{}), phase: "start"}
	go func() {
		defer close(p.done)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			rss, heap := s.memory(ctx)
			p.mu.Lock()
			if rss > p.peakRSS {
				p.peakRSS, p.rssAt = rss, p.phase
			}
			p.peakHeap = max(p.peakHeap, heap)
			p.mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return p
}

func (p *peakSampler) setPhase(phase string) {
	p.mu.Lock()
	p.phase = phase
	p.mu.Unlock()
}

func (p *peakSampler) stop() {
	p.cancel()
	<-p.done
}

func (p *peakSampler) peak() (int64, float64, string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.peakRSS, p.peakHeap, p.rssAt
}

// oursSide is our server on the bench's local system (its flags are the bench's).
type oursSide struct{ b *bench }

func (o *oursSide) createSet(ctx context.Context, ns, name string, maxRunners int) (int, error) {
	if err := o.b.namespace(ctx, ns); err != nil {
		return 0, err
	}
	if err := o.b.createRunnerSets(ctx, o.b.runnerSet(ns, name, 0, int32(maxRunners))); err != nil {
		return 0, err
	}
	ids, err := o.b.waitReady(ctx, ns, []string{name}, 2*time.Minute)
	return ids[name], err
}

func (o *oursSide) kubeRequests(ctx context.Context) (float64, error) {
	n, _, err := o.b.clientStats(ctx)
	return n, err
}

func (o *oursSide) memory(ctx context.Context) (int64, float64) {
	rss, _, _ := procStatus(o.b.serverPID)
	heap, _ := o.b.metric(ctx, "go_memstats_heap_inuse_bytes")
	return rss, heap
}
