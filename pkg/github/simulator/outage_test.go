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
	"errors"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestOutageRefusesConnectionsAndKeepsState: during an outage nothing listens (connection
// refused), open long polls are dropped, and afterwards the same URL serves the same state.
func TestOutageRefusesConnectionsAndKeepsState(t *testing.T) {
	sim := newSim(t, Options{LongPollHold: 30 * time.Second})
	tc := register(t, sim, "acme")
	ss := tc.createScaleSet("linux")
	qc := tc.createSession(ss.ID)
	held := qc.pollAsync()

	sim.StartOutage()
	if !sim.InOutage() {
		t.Fatal("InOutage false during an outage")
	}
	select {
	case status := <-held:
		if status != -1 {
			t.Errorf("held long poll ended with status %d, want a dropped connection", status)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the held long poll was not dropped by the outage")
	}
	req, _ := http.NewRequestWithContext(t.Context(), "GET", sim.URL()+"/api/v3/orgs/acme/actions/runners", nil)
	_, err := http.DefaultClient.Do(req)
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("request during the outage: %v, want connection refused", err)
	}
	// The control API in this process still works: a job queued now is there afterwards.
	id := sim.QueueJob(Job{Labels: []string{"linux"}, Owner: "acme", Repository: "app"})
	sim.StartOutage() // idempotent

	if err := sim.EndOutage(); err != nil {
		t.Fatal(err)
	}
	if err := sim.EndOutage(); !errors.Is(err, ErrNoOutage) {
		t.Errorf("second EndOutage: %v, want ErrNoOutage", err)
	}
	// Same session, same token, same queue: the job offered during the outage is delivered.
	_, jobs := qc.next(0, 10)
	if len(jobs) != 1 || jobs[0].RunnerRequestID != id {
		t.Fatalf("after the outage got %+v, want JobAvailable for %d", jobs, id)
	}
	if got := len(sim.Sessions()); got != 1 {
		t.Errorf("%d sessions after the outage, want the one from before", got)
	}
}

// TestOutageThenClose: Close works during an outage, and EndOutage after Close fails.
func TestOutageThenClose(t *testing.T) {
	sim, err := Start(Options{})
	if err != nil {
		t.Fatal(err)
	}
	sim.StartOutage()
	done := make(chan struct{})
	go func() { sim.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close hangs during an outage")
	}
	if err := sim.EndOutage(); err == nil {
		t.Error("EndOutage after Close succeeded")
	}
}

// TestFaultBodyVerbatim: a fault can answer a malformed, truncated or oversized body.
func TestFaultBodyVerbatim(t *testing.T) {
	sim := newSim(t, Options{LongPollHold: 200 * time.Millisecond})
	tc := register(t, sim, "acme")
	ss := tc.createScaleSet("linux")
	qc := tc.createSession(ss.ID)
	for _, body := range []string{`{"messageId":1,"messageType":"RunnerScale`, `not json at all`, strings.Repeat("x", 1<<20)} {
		remove := sim.InjectFault(Fault{Endpoint: EPGetMessage, Body: body, Count: 1})
		r, _ := func() (reply, any) {
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			return callCtx(ctx, t, "GET", qc.sess.MessageQueueURL, "Bearer "+qc.sess.MessageQueueAccessToken, nil), nil
		}()
		remove()
		if r.status != http.StatusOK || string(r.body) != body {
			t.Errorf("status %d, body of %d bytes; want 200 with the %d bytes given", r.status, len(r.body), len(body))
		}
	}
	// The fault answered; the session is untouched and polls normally afterwards.
	if r, _ := qc.poll(0, 1); r.status != http.StatusAccepted {
		t.Errorf("poll after the faults: %d, want 202", r.status)
	}
}
