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

package simulator

import (
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"
)

func TestControlAPIRoundTrip(t *testing.T) {
	sim := newSim(t, Options{LongPollHold: 50 * time.Millisecond})
	cc := NewControlClient(sim.URL())
	tc := register(t, sim, "acme")
	rs := tc.createScaleSet("linux")
	qc := tc.createSession(rs.ID)

	ids, err := cc.QueueJobs(Job{Labels: []string{"linux"}, Owner: "acme", Repository: "app", Duration: 90 * time.Second, Result: "failed"}, 2)
	if err != nil || len(ids) != 2 {
		t.Fatalf("QueueJobs = %v, %v", ids, err)
	}
	js, ok, err := cc.Job(ids[0])
	if err != nil || !ok || js.Job.Duration != 90*time.Second || js.Job.Result != "failed" || js.State != JobQueued || js.QueuedAt.IsZero() {
		t.Fatalf("Job = %+v, %v, %v", js, ok, err)
	}
	if _, ok, err := cc.Job(1); ok || err != nil {
		t.Errorf("unknown job: %v, %v", ok, err)
	}
	if all, err := cc.Jobs(); err != nil || len(all) != 2 {
		t.Errorf("Jobs = %v, %v", all, err)
	}

	// curl-style bodies: durations as strings or seconds.
	r := call(t, "POST", sim.URL()+"/_sim/jobs", "", `{"labels":["linux"],"owner":"acme","repository":"app","duration":"1m30s","count":3}`)
	wantStatus(t, r, http.StatusCreated)
	var q QueueJobsResponse
	r.decode(t, &q)
	if len(q.RequestIDs) != 3 {
		t.Fatalf("queued %v", q)
	}
	r = call(t, "POST", sim.URL()+"/_sim/jobs", "", `{"labels":["linux"],"owner":"acme","repository":"app","duration":2.5}`)
	wantStatus(t, r, http.StatusCreated)
	r.decode(t, &q)
	if js, _ := sim.Job(q.RequestIDs[0]); js.Job.Duration != 2500*time.Millisecond {
		t.Errorf("duration in seconds: %v", js.Job.Duration)
	}
	wantStatus(t, call(t, "POST", sim.URL()+"/_sim/jobs", "", `{"owner":"acme"}`), http.StatusBadRequest)
	wantStatus(t, call(t, "POST", sim.URL()+"/_sim/jobs", "", `{"labels":["x"],"duration":"soon"}`), http.StatusBadRequest)

	// Faults.
	fid, err := cc.InjectFault(Fault{Endpoint: EPGetRunnerGroup, Status: 500, RetryAfter: 3 * time.Second, Count: 5})
	if err != nil {
		t.Fatal(err)
	}
	r = call(t, "GET", sim.URL()+"/_sim/faults", "", nil)
	var fl []FaultInfo
	r.decode(t, &fl)
	if len(fl) != 1 || fl[0].ID != fid || fl[0].Fault.RetryAfter != 3*time.Second || fl[0].Fault.Count != 5 {
		t.Errorf("faults = %+v (%s)", fl, r.body)
	}
	wantStatus(t, tc.admin("GET", "_apis/runtime/runnergroups/?groupName=Default", nil), http.StatusInternalServerError)
	if err := cc.RemoveFault(fid); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, tc.admin("GET", "_apis/runtime/runnergroups/?groupName=Default", nil), http.StatusOK)
	r = call(t, "POST", sim.URL()+"/_sim/faults", "", `{"endpoint":"GetRunnerGroup","status":429,"retryAfter":7,"count":1}`)
	wantStatus(t, r, http.StatusCreated)
	if r := tc.admin("GET", "_apis/runtime/runnergroups/?groupName=Default", nil); r.status != 429 || r.header.Get("Retry-After") != "7" {
		t.Errorf("curl fault: %d %v", r.status, r.header)
	}

	// Counters.
	c, err := cc.Counters()
	if err != nil || c.Endpoint(EPGetRunnerGroup) != 3 || c.Faults[EPGetRunnerGroup] != 2 || c.ScaleSet(rs.ID, EPCreateSession) != 1 || c.Total == 0 {
		t.Errorf("counters = %+v, %v", c, err)
	}

	// Observation.
	if ss, err := cc.ScaleSets(); err != nil || len(ss) != 1 || ss[0].Statistics == nil || ss[0].Statistics.TotalAvailableJobs != 6 {
		t.Errorf("ScaleSets = %+v, %v", ss, err)
	}
	if ss, err := cc.Sessions(); err != nil || len(ss) != 1 || ss[0].SessionID != qc.sess.SessionID {
		t.Errorf("Sessions = %+v, %v", ss, err)
	}
	if g, err := cc.AddRunnerGroup("gpu"); err != nil || g.ID < 2 {
		t.Errorf("AddRunnerGroup = %+v, %v", g, err)
	}

	// The runner side over HTTP.
	qc.acquire(ids[0])
	jit := tc.generateJIT(rs.ID, "r1")
	if _, err := cc.ConnectRunner("bogus"); !errors.Is(err, ErrUnknownJITConfig) {
		t.Errorf("ConnectRunner(bogus) = %v", err)
	}
	info, err := cc.ConnectRunner(jit.EncodedJITConfig)
	if err != nil || info.ID != jit.Runner.ID || !info.Online {
		t.Fatalf("ConnectRunner = %+v, %v", info, err)
	}
	if err := cc.CompleteRunnerJob(info.ID, ""); !errors.Is(err, ErrNoJob) {
		t.Errorf("complete before a job: %v", err)
	}
	got, ok := cc.AcquireRunnerJob(info.ID)
	if !ok || got.RequestID != ids[0] || got.Job.Duration != 90*time.Second {
		t.Fatalf("AcquireRunnerJob = %+v, %v", got, ok)
	}
	if runners, err := cc.ListRunners(); err != nil || len(runners) != 1 || !runners[0].Busy || runners[0].JobRequestID != ids[0] {
		t.Errorf("ListRunners = %+v, %v", runners, err)
	}
	if err := cc.CompleteRunnerJob(info.ID, "succeeded"); err != nil {
		t.Fatal(err)
	}
	if js, _ := sim.Job(ids[0]); js.Result != "succeeded" {
		t.Errorf("result %q", js.Result)
	}
	if err := cc.CompleteRunnerJob(info.ID, ""); !errors.Is(err, ErrRunnerNotFound) {
		t.Errorf("complete after deregistration: %v", err)
	}
	if _, ok := cc.AcquireRunnerJob(info.ID); ok {
		t.Error("a deregistered runner got a job")
	}
	jit2 := tc.generateJIT(rs.ID, "r2")
	info2, _ := cc.ConnectRunner(jit2.EncodedJITConfig)
	cc.DisconnectRunner(info2.ID)
	if rn := sim.Runners(); len(rn) != 1 || rn[0].Online {
		t.Errorf("after disconnect: %+v", rn)
	}

	// Session drop, vanish, token expiry.
	if err := cc.ExpireQueueTokens(); err != nil {
		t.Fatal(err)
	}
	if r, _ := qc.poll(0, -1); r.status != http.StatusUnauthorized {
		t.Errorf("poll after expire: %d", r.status)
	}
	if err := cc.DropSession(rs.ID); err != nil || len(sim.Sessions()) != 0 {
		t.Errorf("DropSession: %v, %+v", err, sim.Sessions())
	}
	if err := cc.DropSession(rs.ID); err == nil {
		t.Error("dropping no session succeeded")
	}
	if err := cc.VanishScaleSet(rs.ID); err != nil || len(sim.ScaleSets()) != 0 {
		t.Errorf("VanishScaleSet: %v", err)
	}
	wantStatus(t, call(t, "GET", sim.URL()+"/_sim/jobs?state=queued", "", nil), http.StatusOK)
	wantStatus(t, call(t, "GET", sim.URL()+"/_sim/jobs/"+strconv.Itoa(424242), "", nil), http.StatusNotFound)
}
