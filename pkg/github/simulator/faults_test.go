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
	"context"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"
)

func TestFault429WithRetryAfter(t *testing.T) {
	sim := newSim(t, Options{Accounts: testAccounts})
	remove := sim.InjectFault(Fault{Endpoint: EPRegistrationToken, Status: http.StatusTooManyRequests, RetryAfter: 1500 * time.Millisecond})
	u := sim.URL() + "/api/v3/orgs/acme/actions/runners/registration-token"
	for range 3 {
		r := call(t, "POST", u, "Bearer "+DefaultPAT, nil)
		wantStatus(t, r, http.StatusTooManyRequests)
		if r.header.Get("Retry-After") != "2" {
			t.Errorf("Retry-After %q, want 2 (seconds, rounded up)", r.header.Get("Retry-After"))
		}
		var e gitHubError
		r.decode(t, &e)
		if e.Message == "" {
			t.Errorf("no GitHub-style message: %s", r.body)
		}
	}
	remove()
	wantStatus(t, call(t, "POST", u, "Bearer "+DefaultPAT, nil), http.StatusCreated)
	if c := sim.Counters(); c.Endpoint(EPRegistrationToken) != 4 || c.Faults[EPRegistrationToken] != 3 {
		t.Errorf("counters %+v", c)
	}
}

func TestFault5xxBurstByCount(t *testing.T) {
	sim := newSim(t, Options{})
	tc := register(t, sim, "acme")
	sim.InjectFault(Fault{Endpoint: EPGetRunnerGroup, Status: http.StatusServiceUnavailable, Count: 2, RetryAfter: time.Second})
	var got []int
	for range 4 {
		r := tc.admin("GET", "_apis/runtime/runnergroups/?groupName=Default", nil)
		got = append(got, r.status)
		if r.status == http.StatusServiceUnavailable {
			if e := r.serviceError(t); e.TypeName == "" || r.header.Get("ActivityId") == "" || r.header.Get("Retry-After") != "1" {
				t.Errorf("503 = %+v, headers %v", e, r.header)
			}
		}
	}
	if !slices.Equal(got, []int{503, 503, 200, 200}) {
		t.Errorf("statuses %v", got)
	}
	if len(sim.Faults()) != 0 {
		t.Errorf("a spent fault is still listed: %+v", sim.Faults())
	}
}

func TestFaultEmpty200OnTheLongPoll(t *testing.T) {
	sim := newSim(t, Options{LongPollHold: time.Minute})
	tc := register(t, sim, "acme")
	rs := tc.createScaleSet("linux")
	qc := tc.createSession(rs.ID)
	sim.InjectFault(Fault{Endpoint: EPGetMessage, EmptyBody: true, Count: 1})
	r, _ := qc.poll(0, -1)
	if r.status != http.StatusOK || len(r.body) != 0 {
		t.Fatalf("status %d body %q, want an empty 200", r.status, r.body)
	}
}

func TestFaultDelay(t *testing.T) {
	sim := newSim(t, Options{Accounts: testAccounts})
	sim.InjectFault(Fault{Endpoint: EPListRunners, Delay: 150 * time.Millisecond, Count: 1})
	begin := time.Now()
	wantStatus(t, call(t, "GET", sim.URL()+"/orgs/acme/actions/runners", "Bearer "+DefaultPAT, nil), http.StatusOK)
	if took := time.Since(begin); took < 150*time.Millisecond {
		t.Errorf("answered after %s, want >= 150ms", took)
	}
	// A client that gives up does not keep the handler.
	sim.InjectFault(Fault{Endpoint: EPListRunners, Delay: time.Hour, Count: 1})
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", sim.URL()+"/orgs/acme/actions/runners", nil)
	if _, err := http.DefaultClient.Do(req); err == nil {
		t.Error("a 1h delay answered")
	}
}

func TestFaultPerScaleSetAndSessionConflict(t *testing.T) {
	sim := newSim(t, Options{})
	tc := register(t, sim, "acme")
	a, b := tc.createScaleSet("a"), tc.createScaleSet("b")
	sim.InjectFault(Fault{Endpoint: EPCreateSession, ScaleSetID: a.ID, Status: http.StatusConflict})
	r := tc.admin("POST", "_apis/runtime/runnerscalesets/"+strconv.Itoa(a.ID)+"/sessions", `{"ownerName":"x"}`)
	wantStatus(t, r, http.StatusConflict)
	if e := r.serviceError(t); e.TypeName != typeSessionConflict || e.Message != "The actions runner scaleset a already has an active session." {
		t.Errorf("injected 409 = %+v", e)
	}
	wantStatus(t, tc.admin("POST", "_apis/runtime/runnerscalesets/"+strconv.Itoa(b.ID)+"/sessions", `{"ownerName":"x"}`), http.StatusOK)
	c := sim.Counters()
	if c.ScaleSet(a.ID, EPCreateSession) != 1 || c.ScaleSet(b.ID, EPCreateSession) != 1 || c.Endpoint(EPCreateSession) != 2 ||
		c.ScaleSet(a.ID, EPCreateScaleSet) != 0 || c.Endpoint(EPCreateScaleSet) != 2 {
		t.Errorf("counters %+v", c)
	}
}

func TestFaultProbabilityIsSeeded(t *testing.T) {
	pattern := func(seed int64) []int {
		sim := newSim(t, Options{Seed: seed, Accounts: testAccounts})
		sim.InjectFault(Fault{Endpoint: AllEndpoints, Status: http.StatusBadGateway, Probability: 0.5})
		var out []int
		for range 40 {
			out = append(out, call(t, "GET", sim.URL()+"/orgs/acme/actions/runners", "Bearer "+DefaultPAT, nil).status)
		}
		return out
	}
	a, b, c := pattern(7), pattern(7), pattern(8)
	if !slices.Equal(a, b) {
		t.Errorf("same seed, different faults:\n%v\n%v", a, b)
	}
	if slices.Equal(a, c) {
		t.Errorf("different seeds, same faults: %v", a)
	}
	if n := len(slices.DeleteFunc(slices.Clone(a), func(s int) bool { return s != http.StatusBadGateway })); n < 8 || n > 32 {
		t.Errorf("%d of 40 faulted at p=0.5", n)
	}
}

func TestVanishedScaleSet(t *testing.T) {
	sim := newSim(t, Options{LongPollHold: time.Minute})
	tc := register(t, sim, "acme")
	rs := tc.createScaleSet("linux")
	qc := tc.createSession(rs.ID)
	id := sim.QueueJob(Job{Labels: []string{"linux"}, Owner: "acme", Repository: "app"})
	qc.acquire(id)

	// A poll held while the scale set vanishes ends with 404.
	qc.drain()
	polls := sim.Counters().Endpoint(EPGetMessage)
	held := qc.pollAsync()
	eventually(t, "the poll to be held", func() bool { return sim.Counters().Endpoint(EPGetMessage) > polls })
	sim.VanishScaleSet(rs.ID)
	if st := <-held; st != http.StatusNotFound {
		t.Errorf("held poll ended with %d, want 404", st)
	}
	r, _ := qc.poll(0, -1)
	wantStatus(t, r, http.StatusNotFound)
	if e := r.serviceError(t); e.TypeName != "GitHub.Actions.Runtime.WebApi.RunnerScaleSetNotFoundException, GitHub.Actions.Runtime.WebApi" {
		t.Errorf("poll: %+v", e)
	}
	base := "_apis/runtime/runnerscalesets/" + strconv.Itoa(rs.ID)
	for _, c := range []struct{ method, path string }{
		{"GET", base}, {"POST", base + "/sessions"}, {"PATCH", base + "/sessions/" + qc.sess.SessionID},
		{"POST", base + "/generatejitconfig"}, {"DELETE", base},
	} {
		r := tc.admin(c.method, c.path, `{"name":"x"}`)
		if r.status != http.StatusNotFound || r.serviceError(t).TypeName != typeScaleSetNotFound {
			t.Errorf("%s %s: %d %s", c.method, c.path, r.status, r.body)
		}
	}
	if js, _ := sim.Job(id); js.State != JobQueued || js.ScaleSetID != 0 {
		t.Errorf("the vanished set's job = %+v, want queued again", js)
	}
	// A new scale set of the same name picks the job up.
	rs2 := tc.createScaleSet("linux")
	qc2 := tc.createSession(rs2.ID)
	if _, jobs := qc2.next(0, -1); len(jobs) != 1 || jobs[0].RunnerRequestID != id {
		t.Errorf("new set got %v", types(jobs))
	}
	// Faults can be injected as 404s too.
	sim.InjectFault(Fault{Endpoint: EPGetScaleSet, Status: http.StatusNotFound, Count: 1})
	r = tc.admin("GET", "_apis/runtime/runnerscalesets/"+strconv.Itoa(rs2.ID), nil)
	if r.status != http.StatusNotFound || r.serviceError(t).TypeName != typeScaleSetNotFound {
		t.Errorf("injected 404: %d %s", r.status, r.body)
	}
}

func TestCloseEndsHeldPolls(t *testing.T) {
	sim, err := Start(Options{LongPollHold: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	tc := register(t, sim, "acme")
	qc := tc.createSession(tc.createScaleSet("linux").ID)
	done := qc.pollAsync()
	eventually(t, "the poll to be held", func() bool { return sim.Counters().Endpoint(EPGetMessage) == 1 })
	sim.Close()
	select {
	case st := <-done:
		if st != http.StatusAccepted {
			t.Errorf("held poll ended with %d", st)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close left a poll held")
	}
	sim.Close() // idempotent
}

func TestStartRefusesNonLoopback(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:0", "example.com:80", "nonsense"} {
		if s, err := Start(Options{Listen: addr}); err == nil {
			s.Close()
			t.Errorf("Start(%q) succeeded", addr)
		}
	}
	for _, addr := range []string{"127.0.0.1:0", "localhost:0"} {
		s, err := Start(Options{Listen: addr})
		if err != nil {
			t.Errorf("Start(%q): %v", addr, err)
			continue
		}
		s.Close()
	}
}
