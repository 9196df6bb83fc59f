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
	"net/http"
	"strconv"
	"testing"
	"time"

	testingclock "k8s.io/utils/clock/testing"
)

func sessionsPath(id int) string {
	return "_apis/runtime/runnerscalesets/" + strconv.Itoa(id) + "/sessions"
}

func (tc *tenantClient) tryCreateSession(id int, owner string) reply {
	tc.t.Helper()
	return tc.admin("POST", sessionsPath(id), map[string]string{"sessionId": "00000000-0000-0000-0000-000000000000", "ownerName": owner})
}

// liveSessions counts the sessions the simulator holds, without expiring any on the way.
func liveSessions(sim *Simulator) int {
	sim.mu.Lock()
	defer sim.mu.Unlock()
	return len(sim.state.sessions)
}

// TestKilledListenersSessionExpires: a listener killed without deleting its session leaves a
// 409 behind until the session has been idle for the default timeout; then a new session is
// created, and the old id gets GitHub's answers for a session it does not know.
func TestKilledListenersSessionExpires(t *testing.T) {
	fc := testingclock.NewFakeClock(time.Now())
	sim := newSim(t, Options{Clock: fc, AdminTokenTTL: time.Hour, LongPollHold: 50 * time.Millisecond})
	tc := register(t, sim, "acme")
	rs := tc.createScaleSet("dev")
	old := tc.createSession(rs.ID)
	if r, _ := old.poll(0, -1); r.status != http.StatusAccepted {
		t.Fatalf("poll: %d", r.status)
	}
	// The listener is killed: no delete, no more polls.

	fc.Step(DefaultSessionIdleTimeout - time.Second)
	wantStatus(t, tc.tryCreateSession(rs.ID, "restarted"), http.StatusConflict)
	fc.Step(time.Second)
	r := tc.tryCreateSession(rs.ID, "restarted")
	wantStatus(t, r, http.StatusOK)
	var fresh struct {
		SessionID string `json:"sessionId"`
	}
	r.decode(t, &fresh)
	if fresh.SessionID == "" || fresh.SessionID == old.sess.SessionID {
		t.Fatalf("new session id %q (old %q)", fresh.SessionID, old.sess.SessionID)
	}

	// The old session is unknown: refresh 404, delete 400, its queue token 401.
	r = tc.admin("PATCH", sessionsPath(rs.ID)+"/"+old.sess.SessionID, nil)
	wantStatus(t, r, http.StatusNotFound)
	if e := r.serviceError(t); e.TypeName != typeRunnerAdmin {
		t.Errorf("refresh of the expired session: %+v", e)
	}
	r = tc.admin("DELETE", sessionsPath(rs.ID)+"/"+old.sess.SessionID, nil)
	wantStatus(t, r, http.StatusBadRequest)
	if e := r.serviceError(t); e.TypeName != typeSessionExpired || e.Message != "The session identifier "+old.sess.SessionID+" is not valid." {
		t.Errorf("delete of the expired session: %+v", e)
	}
	if r, _ := old.poll(0, -1); r.status != http.StatusUnauthorized {
		t.Errorf("poll with the expired session's token: %d, want 401", r.status)
	}
	if got := sim.Sessions(); len(got) != 1 || got[0].SessionID != fresh.SessionID {
		t.Errorf("sessions = %+v", got)
	}
}

// TestUsedSessionsDoNotExpire: every call of the holder counts, and a held long poll keeps
// the session alive however long it is held.
func TestUsedSessionsDoNotExpire(t *testing.T) {
	fc := testingclock.NewFakeClock(time.Now())
	sim := newSim(t, Options{Clock: fc, AdminTokenTTL: time.Hour, QueueTokenTTL: time.Hour, LongPollHold: 10 * time.Second})
	tc := register(t, sim, "acme")
	rs := tc.createScaleSet("dev")
	qc := tc.createSession(rs.ID)
	calls := []func(){
		func() { qc.ack(100000999) },
		func() { qc.acquire(12345) },
		func() {
			wantStatus(t, tc.admin("PATCH", sessionsPath(rs.ID)+"/"+qc.sess.SessionID, nil), http.StatusOK)
		},
	}
	for i, use := range calls {
		fc.Step(DefaultSessionIdleTimeout - time.Second)
		use()
		if liveSessions(sim) != 1 {
			t.Fatalf("call %d: the session expired although used", i)
		}
	}

	// A poll held across the timeout: nobody calls, yet the session is in use.
	polls := sim.Counters().ScaleSet(rs.ID, EPGetMessage)
	held := qc.pollAsync()
	eventually(t, "the poll to be held", func() bool { return sim.Counters().ScaleSet(rs.ID, EPGetMessage) > polls })
	fc.Step(3 * DefaultSessionIdleTimeout)
	wantStatus(t, tc.tryCreateSession(rs.ID, "second"), http.StatusConflict)
	sim.QueueJob(Job{Labels: []string{"dev"}, Owner: "acme", Repository: "app"}) // ends the poll with a message
	if st := <-held; st != http.StatusOK {
		t.Fatalf("held poll: %d", st)
	}
	// Its end is the last call: the timeout counts from there.
	fc.Step(DefaultSessionIdleTimeout - time.Second)
	wantStatus(t, tc.tryCreateSession(rs.ID, "second"), http.StatusConflict)
	fc.Step(time.Second)
	wantStatus(t, tc.tryCreateSession(rs.ID, "second"), http.StatusOK)
}

// TestTimekeeperEndsIdleSessions: with no request at all, an idle session ends on the
// simulator's clock.
func TestTimekeeperEndsIdleSessions(t *testing.T) {
	fc := testingclock.NewFakeClock(time.Now())
	sim := newSim(t, Options{Clock: fc, AdminTokenTTL: time.Hour, SessionIdleTimeout: time.Minute, ReofferAfter: -1})
	tc := register(t, sim, "acme")
	rs := tc.createScaleSet("dev")
	tc.createSession(rs.ID)
	eventually(t, "the timekeeper to wait for the expiry", fc.HasWaiters)
	fc.Step(time.Minute)
	eventually(t, "the idle session to end", func() bool { return liveSessions(sim) == 0 })
	if s := sim.Sessions(); len(s) != 0 {
		t.Errorf("sessions = %+v", s)
	}
}

func TestSessionIdleTimeoutSettings(t *testing.T) {
	fc := testingclock.NewFakeClock(time.Now())
	sim := newSim(t, Options{Clock: fc, AdminTokenTTL: 48 * time.Hour, SessionIdleTimeout: -1})
	tc := register(t, sim, "acme")
	rs := tc.createScaleSet("dev")
	tc.createSession(rs.ID)
	fc.Step(24 * time.Hour)
	wantStatus(t, tc.tryCreateSession(rs.ID, "second"), http.StatusConflict) // never expires

	// Changed while running: a session idle longer than the new timeout ends at once.
	cc := NewControlClient(sim.URL())
	got, err := cc.UpdateSettings(Settings{SessionIdleTimeout: time.Hour})
	if err != nil || got.SessionIdleTimeout != time.Hour {
		t.Fatalf("UpdateSettings = %+v, %v", got, err)
	}
	if liveSessions(sim) != 0 {
		t.Error("the session idle for 24h outlived a 1h timeout")
	}
	wantStatus(t, tc.tryCreateSession(rs.ID, "second"), http.StatusOK)
	if s, err := cc.Settings(); err != nil || s.SessionIdleTimeout != time.Hour {
		t.Errorf("Settings = %+v, %v", s, err)
	}
	// Zero in an update leaves it; the default applies when the option is zero.
	if s, _ := cc.UpdateSettings(Settings{}); s.SessionIdleTimeout != time.Hour {
		t.Errorf("an empty update changed the timeout: %+v", s)
	}
	if d := newSim(t, Options{}).SessionIdleTimeout(); d != DefaultSessionIdleTimeout {
		t.Errorf("default timeout %s, want %s", d, DefaultSessionIdleTimeout)
	}
	r := call(t, "PATCH", sim.URL()+"/_sim/settings", "", `{"sessionIdleTimeout":"soon"}`)
	wantStatus(t, r, http.StatusBadRequest)
}
