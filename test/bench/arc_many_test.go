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
	"errors"
	"fmt"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
)

// manySetsParallel is how many scale sets measureP1Many creates at a time.
const manySetsParallel = 10

// measureP1Many: P1Sets scale sets (maxRunners 5) created at once and their idle memory, then
// P1Rounds rounds of one job on each at the same moment, 1–2 s apart (as TestBench's P1.many),
// latency as measureP1's: job available → the pod of the runner that ran it.
func measureP1Many(ctx context.Context, b *bench, s side, sz arcSizes, res *sideResult, _ *peakSampler) error {
	podT, err := track(ctx, b.kube, pods, nsEmu, v1alpha1.LabelRunnerSet)
	if err != nil {
		return err
	}
	defer podT.stop()
	names := make([]string, sz.P1Sets)
	for i := range names {
		names[i] = fmt.Sprintf("p1-m%02d", i)
	}
	begin := time.Now()
	if err := createSets(ctx, s, nsEmu, names, 5); err != nil {
		return err
	}
	res.ManySetupSeconds = time.Since(begin).Seconds()
	if err := sleepCtx(ctx, 3*time.Second); err != nil {
		return err
	}
	res.ManyIdleRSS, res.ManyIdleHeap = s.memory(ctx)
	res.ManyProcesses = 1
	if e, ok := s.(*arcEnv); ok {
		res.ManyProcesses += len(e.listeners.pids())
	}
	var all []int64
	for r := range sz.P1Rounds {
		lat, early, jobs, err := roundJobs(ctx, b, podT, names)
		res.P1Many, res.P1ManyEarly, all = append(res.P1Many, lat...), res.P1ManyEarly+early, append(all, jobs...)
		if err != nil {
			return fmt.Errorf("round %d: %w", r, err)
		}
		if err := sleepCtx(ctx, b.gap(time.Second, 2*time.Second)); err != nil {
			return err
		}
	}
	// Every job done and every runner gone before the next workload.
	for i, n := range names {
		var jobs []int64
		if i == 0 {
			jobs = all
		}
		if err := b.waitJobsDone(ctx, podT, n, jobs, 3*time.Minute); err != nil {
			return err
		}
	}
	return nil
}

// createSets creates the scale sets, manySetsParallel at a time, each until its session is open.
func createSets(ctx context.Context, s side, ns string, names []string, maxRunners int) error {
	sem := make(chan struct{}, manySetsParallel)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs error
	for _, n := range names {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			if _, err := s.createSet(ctx, ns, n, maxRunners); err != nil {
				mu.Lock()
				errs = errors.Join(errs, fmt.Errorf("scale set %s: %w", n, err))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errs
}

// roundJobs queues one job on each scale set at once and waits until a runner whose pod a watch
// saw took each; latency as sequentialJobs' (0, and counted in early, if that pod came first).
func roundJobs(ctx context.Context, b *bench, podT *tracker, names []string) (lat []float64, early int, jobs []int64, err error) {
	pending := map[int64]bool{}
	for _, n := range names {
		id, err := b.sim.QueueJob(b.job(n, arcJobDuration))
		if err != nil {
			return lat, early, jobs, err
		}
		jobs, pending[id] = append(jobs, id), true
	}
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 2*time.Minute, true, func(context.Context) (bool, error) {
		all, err := b.sim.Jobs()
		if err != nil {
			return false, nil
		}
		for _, j := range all {
			if !pending[j.RequestID] || j.RunnerName == "" {
				continue
			}
			at, ok := podT.addedAt(j.RunnerName)
			if !ok {
				continue
			}
			delete(pending, j.RequestID)
			d := at.Sub(j.QueuedAt)
			if d < 0 {
				d, early = 0, early+1
			}
			lat = append(lat, ms(d))
		}
		return len(pending) == 0, nil
	})
	if err != nil {
		err = fmt.Errorf("waiting for runners to take %d of %d jobs: %w", len(pending), len(names), err)
	}
	return lat, early, jobs, err
}
