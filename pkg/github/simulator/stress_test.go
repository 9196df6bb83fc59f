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

package simulator_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"actions.dev/runnerset-apiserver/pkg/github/simulator"
	"actions.dev/runnerset-apiserver/pkg/github/simulator/simtest"
)

// TestConcurrentListenersAndRunners runs three listening scale sets with a small capacity,
// runners that come and go, jobs queued all along and faults on the queue, and checks that
// every job completes and the statistics stay consistent at every moment.
func TestConcurrentListenersAndRunners(t *testing.T) {
	sim := simtest.New(t, simulator.Options{LongPollHold: 100 * time.Millisecond, Seed: 1})
	tn := simtest.Register(t, sim, "acme")
	sim.InjectFault(simulator.Fault{Endpoint: simulator.EPGetMessage, Status: 401, Probability: 0.1})
	const sets, jobsPerSet, capacity = 3, 40, 4
	var ids []int
	for i := range sets {
		rs := tn.CreateScaleSet(t, fmt.Sprintf("set-%d", i))
		ids = append(ids, rs.ID)
		l := tn.Listen(t, rs.ID)
		l.Capacity = capacity
		l.Start(t)
	}

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var wg sync.WaitGroup
	// Invariants, checked continuously.
	wg.Go(func() {
		for ctx.Err() == nil {
			for _, id := range ids {
				s, ok := sim.Statistics(id)
				if !ok {
					continue
				}
				if s.TotalAssignedJobs < s.TotalRunningJobs || s.TotalAssignedJobs > capacity ||
					s.TotalRegisteredRunners != s.TotalBusyRunners+s.TotalIdleRunners || s.TotalBusyRunners != s.TotalRunningJobs {
					t.Errorf("scale set %d: inconsistent statistics %+v", id, s)
					return
				}
			}
		}
	})
	// A runner pool per scale set: register, connect, take a job, complete.
	for i, id := range ids {
		wg.Go(func() {
			for n := 0; ctx.Err() == nil; n++ {
				jit := tn.GenerateJIT(t, id, fmt.Sprintf("set-%d-runner-%d", i, n))
				info, err := sim.ConnectRunner(jit.EncodedJITConfig)
				if err != nil {
					t.Errorf("connect: %v", err)
					return
				}
				// An idle runner polls for a job on an interval, as the runner emulator does.
				tick := time.NewTicker(time.Millisecond)
				for ctx.Err() == nil {
					if _, ok := sim.AcquireRunnerJob(info.ID); ok {
						if err := sim.CompleteRunnerJob(info.ID, ""); err != nil {
							t.Errorf("complete: %v", err)
						}
						break
					}
					select {
					case <-tick.C:
					case <-ctx.Done():
					}
				}
				tick.Stop()
			}
		})
	}
	for i := range sets {
		wg.Go(func() {
			for range jobsPerSet {
				sim.QueueJob(simulator.Job{Labels: []string{fmt.Sprintf("set-%d", i)}, Owner: "acme", Repository: "app"})
			}
		})
	}
	err := wait.PollUntilContextTimeout(t.Context(), 10*time.Millisecond, 60*time.Second, true, func(context.Context) (bool, error) {
		for _, j := range sim.Jobs() {
			if j.State != simulator.JobCompleted {
				return false, nil
			}
		}
		return len(sim.Jobs()) == sets*jobsPerSet, nil
	})
	cancel()
	wg.Wait()
	if err != nil {
		t.Fatalf("jobs did not all complete")
	}
	for _, j := range sim.Jobs() {
		if j.Result != simulator.ResultSucceeded || j.Attempts != 1 {
			t.Errorf("job %+v", j)
		}
	}
	if c := sim.Counters(); c.Faults[simulator.EPGetMessage] == 0 {
		t.Errorf("no fault hit: %+v", c)
	}
}
