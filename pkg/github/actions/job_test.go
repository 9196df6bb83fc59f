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

package actions_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"actions.dev/runnerset-apiserver/pkg/github/actions"
	"actions.dev/runnerset-apiserver/pkg/github/simulator"
)

// listener is the smallest listener loop: poll, acknowledge, acquire what is available, and
// remember every job message and the latest statistics.
type listener struct {
	t       *testing.T
	ms      *actions.MessageSession
	last    int64
	seen    []actions.JobMessage
	stats   actions.Statistics
	polls   int
	onMQErr func(error) bool // tolerate an error (true) instead of failing
}

// until polls until a job message matches want, with a deadline (no sleeps: the long poll
// paces the loop).
func (l *listener) until(what string, want func(actions.JobMessage) bool) actions.JobMessage {
	l.t.Helper()
	for _, jm := range l.seen {
		if want(jm) {
			return jm
		}
	}
	ctx := ctxT(l.t)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		l.polls++
		m, err := l.ms.GetMessage(ctx, l.last, 10)
		if err != nil {
			l.t.Fatalf("waiting for %s: GetMessage: %v", what, err)
		}
		if m == nil {
			continue
		}
		if m.Statistics != nil {
			l.stats = *m.Statistics
		}
		// Acknowledge first, as the reference listener does.
		if err := l.ms.DeleteMessage(ctx, m.MessageID); err != nil {
			l.t.Fatalf("DeleteMessage: %v", err)
		}
		l.last = m.MessageID
		jobs, err := m.JobMessages()
		if err != nil {
			l.t.Fatalf("JobMessages: %v", err)
		}
		if ids := actions.RequestIDs(jobs); len(ids) > 0 {
			got, err := l.ms.AcquireJobs(ctx, ids)
			if err != nil {
				l.t.Fatalf("AcquireJobs: %v", err)
			}
			if len(got) == 0 {
				l.t.Logf("acquired none of %v", ids)
			}
		}
		l.seen = append(l.seen, jobs...)
		for _, jm := range jobs {
			if want(jm) {
				return jm
			}
		}
	}
	l.t.Fatalf("no %s within the deadline; saw %+v", what, l.seen)
	return actions.JobMessage{}
}

func is(typ string, id int64) func(actions.JobMessage) bool {
	return func(jm actions.JobMessage) bool { return jm.MessageType == typ && jm.RunnerRequestID == id }
}

// runJob drives one job through the client: token chain → scale set → session → job
// available → acquire → assigned → JIT config → runner (simulator side) → started → completed
// → runner removed. midway runs between steps (fault injection).
func runJob(t *testing.T, sim *simulator.Simulator, e *env, name string, midway func(step string)) {
	c := e.client
	ctx := ctxT(t)
	if midway == nil {
		midway = func(string) {}
	}

	group, err := c.GetRunnerGroupByName(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	ss, err := c.GetScaleSet(ctx, group.ID, name)
	if err != nil {
		t.Fatal(err)
	}
	if ss == nil {
		ss, err = c.CreateScaleSet(ctx, &actions.RunnerScaleSet{Name: name, RunnerGroupID: group.ID, Labels: []actions.Label{{Name: name}}, RunnerSetting: actions.RunnerSetting{DisableUpdate: true}})
		if err != nil {
			t.Fatal(err)
		}
	}
	ms, err := actions.OpenSession(ctx, c, ss.ID, "job-test")
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := ms.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	}()
	if st := ms.Session().Statistics; st == nil || st.TotalAssignedJobs != 0 {
		t.Fatalf("initial statistics %+v", st)
	}
	l := &listener{t: t, ms: ms}

	midway("session")
	reqID := sim.QueueJob(simulator.Job{Labels: []string{name}, Owner: "acme", Repository: "app"})
	avail := l.until("JobAvailable", is(actions.JobMessageAvailable, reqID))
	if avail.RepositoryName != "app" || avail.OwnerName != "acme" || avail.JobWorkflowRef == "" {
		t.Errorf("JobAvailable %+v", avail)
	}
	midway("available")
	l.until("JobAssigned", is(actions.JobMessageAssigned, reqID))
	if l.stats.TotalAssignedJobs != 1 {
		t.Errorf("statistics after JobAssigned %+v", l.stats)
	}

	midway("assigned")
	runnerName := fmt.Sprintf("%s-runner-%d", name, reqID)
	jit, err := c.GenerateJitConfig(ctx, ss.ID, &actions.JitRunnerSetting{Name: runnerName})
	if err != nil {
		t.Fatal(err)
	}
	// A retried GenerateJitConfig (lost answer) meets ErrRunnerExists: look the runner up.
	if _, err := c.GenerateJitConfig(ctx, ss.ID, &actions.JitRunnerSetting{Name: runnerName}); !errors.Is(err, actions.ErrRunnerExists) {
		t.Fatalf("second JIT config for %s: %v", runnerName, err)
	}
	if r, err := c.GetRunnerByName(ctx, runnerName); err != nil || r == nil || r.ID != jit.Runner.ID || r.RunnerScaleSetID != ss.ID {
		t.Fatalf("runner by name %+v %v", r, err)
	}

	// The runner side, as the runner emulator plays it.
	info, err := sim.ConnectRunner(jit.EncodedJITConfig)
	if err != nil || info.ID != jit.Runner.ID || !info.Online {
		t.Fatalf("ConnectRunner %+v %v", info, err)
	}
	js, ok := sim.AcquireRunnerJob(info.ID)
	if !ok || js.RequestID != reqID {
		t.Fatalf("AcquireRunnerJob %+v %v", js, ok)
	}
	midway("started")
	started := l.until("JobStarted", is(actions.JobMessageStarted, reqID))
	if started.RunnerID != jit.Runner.ID || started.RunnerName != runnerName || started.RunnerAssignTime.IsZero() {
		t.Errorf("JobStarted %+v", started)
	}
	if err := c.RemoveRunner(ctx, jit.Runner.ID); !errors.Is(err, actions.ErrJobStillRunning) {
		t.Fatalf("removing a busy runner: %v", err)
	}

	if err := sim.CompleteRunnerJob(info.ID, "succeeded"); err != nil {
		t.Fatal(err)
	}
	midway("completed")
	done := l.until("JobCompleted", is(actions.JobMessageCompleted, reqID))
	if done.Result != "succeeded" || done.RunnerID != jit.Runner.ID || done.FinishTime.IsZero() {
		t.Errorf("JobCompleted %+v", done)
	}
	if err := c.RemoveRunner(ctx, jit.Runner.ID); err != nil {
		t.Fatalf("RemoveRunner of the finished (self-deregistered) runner: %v", err)
	}
	if _, err := c.GetRunner(ctx, jit.Runner.ID); !errors.Is(err, actions.ErrRunnerNotFound) {
		t.Fatalf("runner after removal: %v", err)
	}
	if js, _ := sim.Job(reqID); js.State != "completed" || js.Result != "succeeded" {
		t.Errorf("simulator job %+v", js)
	}
}

// TestWholeJob: one job through the client against the simulator, no faults.
func TestWholeJob(t *testing.T) {
	sim := startSim(t, simulator.Options{})
	e := newEnv(t, sim, "acme/app")
	runJob(t, sim, e, "arc", nil)
	c := sim.Counters()
	if c.Total == 0 || len(c.Faults) != 0 {
		t.Errorf("counters %+v", c)
	}
	if n := c.Endpoint(simulator.EPRunnerRegistration); n != 1 {
		t.Errorf("%d token chains for one job, want 1", n)
	}
}

// TestWholeJobWithBOM: the service's byte order marks do not matter.
func TestWholeJobWithBOM(t *testing.T) {
	sim := startSim(t, simulator.Options{ResponseBOM: true})
	runJob(t, sim, newEnv(t, sim, "acme"), "bom", nil)
}

// TestWholeJobUnderFaults: the same job, five times, with 15% 5xx everywhere, a 429 with Retry-After, an
// expired message queue token and an empty 200 from the broker. The client absorbs them all.
func TestWholeJobUnderFaults(t *testing.T) {
	sim := startSim(t, simulator.Options{Seed: 7})
	e := newEnv(t, sim, "acme", withWaitMax(2*time.Second)) // the 429's Retry-After: 1 is waited out
	sim.InjectFault(simulator.Fault{Endpoint: simulator.AllEndpoints, Status: 503, Probability: 0.1})
	sim.InjectFault(simulator.Fault{Endpoint: simulator.AllEndpoints, Status: 500, Probability: 0.05})
	const jobs = 5
	for i := 0; i < jobs; i++ {
		midway := func(step string) {
			switch step {
			case "session":
				if i == 0 {
					sim.InjectFault(simulator.Fault{Endpoint: simulator.EPGetMessage, Status: 429, RetryAfter: time.Second, Count: 1})
				}
			case "available":
				sim.ExpireQueueTokens()
			case "assigned":
				sim.InjectFault(simulator.Fault{Endpoint: simulator.EPGetMessage, EmptyBody: true, Count: 1})
			case "started":
				sim.ExpireQueueTokens()
			}
		}
		runJob(t, sim, e, "faulty", midway)
	}
	c := sim.Counters()
	t.Logf("requests %d, faulted %v, refreshes %d", c.Total, c.Faults, c.Endpoint(simulator.EPRefreshSession))
	if c.Endpoint(simulator.EPRefreshSession) < 2*jobs {
		t.Errorf("%d session refreshes, want at least %d (two token expiries per job)", c.Endpoint(simulator.EPRefreshSession), 2*jobs)
	}
	if c.Faults[simulator.EPGetMessage] < 1+jobs {
		t.Errorf("GetMessage faults %d, want the 429 and the empty 200 at least", c.Faults[simulator.EPGetMessage])
	}
	total := 0
	for _, n := range c.Faults {
		total += n
	}
	if total < 10 {
		t.Errorf("only %d faulted requests", total)
	}
}
