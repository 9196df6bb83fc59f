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

package actions

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jwt "github.com/golang-jwt/jwt/v4"
	clocktesting "k8s.io/utils/clock/testing"
)

// sessionServer is a scripted session endpoint: PATCH issues the next token, queue calls demand
// the current one.
type sessionServer struct {
	*testServer
	mu         sync.Mutex
	token      string
	issued     int
	patches    atomic.Int32
	refresh404 bool
	deleteCode int
	mint       func(n int) string
	emptyPolls int
	patchGate  chan struct{}
}

func newSessionServer(t *testing.T) *sessionServer {
	s := &sessionServer{token: "mq-0", deleteCode: 204, mint: func(n int) string { return fmt.Sprintf("mq-%d", n) }}
	s.testServer = newTestServer(t, s.serve)
	return s
}

func (s *sessionServer) sessionJSON() string {
	return `{"sessionId":"s-1","ownerName":"me","messageQueueUrl":"` + s.URL + `/queue?sessionId=s-1","messageQueueAccessToken":"` + s.token + `","statistics":{"totalAssignedJobs":3}}`
}

func (s *sessionServer) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/sessions"):
		writeJSON(w, 200, s.sessionJSON())
	case r.Method == http.MethodPatch:
		s.patches.Add(1)
		if s.patchGate != nil {
			gate := s.patchGate
			s.mu.Unlock()
			<-gate
			s.mu.Lock()
		}
		if s.refresh404 {
			writeJSON(w, 404, `{"typeName":"GitHub.DistributedTask.WebApi.RunnerAdminException","message":"Trying to refresh a session ID that doesn't exist"}`)
			return
		}
		s.issued++
		s.token = s.mint(s.issued)
		writeJSON(w, 200, s.sessionJSON())
	case r.Method == http.MethodDelete && strings.Contains(r.URL.Path, "/sessions/"):
		if s.deleteCode == 400 {
			writeJSON(w, 400, `{"typeName":"GitHub.Actions.Runtime.WebApi.RunnerScaleSetSessionExpiredException","message":"The session identifier s-1 is not valid."}`)
			return
		}
		w.WriteHeader(s.deleteCode)
	default:
		// Queue calls (GET/DELETE /queue..., POST acquirejobs).
		if r.Header.Get("Authorization") != "Bearer "+s.token {
			w.WriteHeader(401)
			return
		}
		switch {
		case r.Method == http.MethodGet && s.emptyPolls > 0:
			s.emptyPolls--
			w.WriteHeader(200)
		case r.Method == http.MethodGet:
			writeJSON(w, 200, `{"messageId":7,"messageType":"RunnerScaleSetJobMessages","body":"","statistics":{"totalAssignedJobs":4}}`)
		case r.Method == http.MethodPost:
			writeJSON(w, 200, `{"count":1,"value":[11]}`)
		default:
			w.WriteHeader(204)
		}
	}
}

func (s *sessionServer) expire() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.issued++
	s.token = s.mint(s.issued) // the client's token is now stale
}

func TestSessionRefreshOn401(t *testing.T) {
	srv := newSessionServer(t)
	c := newTestClient(t, srv.testServer)
	ctx := ctxT(t)
	ms, err := OpenSession(ctx, c, 5, "me")
	if err != nil {
		t.Fatal(err)
	}
	if st := ms.Session().Statistics; st == nil || st.TotalAssignedJobs != 3 {
		t.Fatalf("initial statistics %+v", st)
	}
	for i, op := range []func() error{
		func() error { _, err := ms.GetMessage(ctx, 0, 10); return err },
		func() error { return ms.DeleteMessage(ctx, 7) },
		func() error {
			ids, err := ms.AcquireJobs(ctx, []int64{11, 12})
			if err == nil && (len(ids) != 1 || ids[0] != 11) {
				return fmt.Errorf("ids %v", ids)
			}
			return err
		},
	} {
		srv.expire()
		before := srv.patches.Load()
		if err := op(); err != nil {
			t.Fatalf("op %d: %v", i, err)
		}
		if got := srv.patches.Load() - before; got != 1 {
			t.Errorf("op %d: %d refreshes, want 1", i, got)
		}
	}
	if _, err := ms.GetMessage(ctx, 0, 10); err != nil {
		t.Fatal(err)
	}
	if st := ms.Session().Statistics; st.TotalAssignedJobs != 4 {
		t.Errorf("statistics not updated from the message: %+v", st)
	}
}

func TestSessionRetriesOnlyOnce(t *testing.T) {
	srv := newSessionServer(t)
	c := newTestClient(t, srv.testServer)
	ctx := ctxT(t)
	ms, err := OpenSession(ctx, c, 5, "me")
	if err != nil {
		t.Fatal(err)
	}
	// Every refreshed token is rejected too: the mint hands out a token the queue never accepts.
	srv.mu.Lock()
	srv.mint = func(n int) string { return "fresh" }
	srv.token = "other"
	srv.mu.Unlock()
	srv.setHandler(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPatch {
			srv.serve(w, r)
			srv.mu.Lock()
			srv.token = "never"
			srv.mu.Unlock()
			return
		}
		srv.serve(w, r)
	})
	_, err = ms.GetMessage(ctx, 0, 1)
	if !errors.Is(err, ErrQueueTokenExpired) {
		t.Fatalf("want ErrQueueTokenExpired, got %v", err)
	}
	if srv.patches.Load() != 1 {
		t.Errorf("%d refreshes, want 1", srv.patches.Load())
	}
}

func TestSessionRefresh404IsSessionNotFound(t *testing.T) {
	srv := newSessionServer(t)
	c := newTestClient(t, srv.testServer)
	ctx := ctxT(t)
	ms, err := OpenSession(ctx, c, 5, "me")
	if err != nil {
		t.Fatal(err)
	}
	srv.mu.Lock()
	srv.refresh404 = true
	srv.mu.Unlock()
	srv.expire()
	_, err = ms.GetMessage(ctx, 0, 1)
	if !errors.Is(err, ErrSessionNotFound) {
		t.Fatalf("want ErrSessionNotFound, got %v", err)
	}
}

func TestConcurrentRefreshesCollapse(t *testing.T) {
	srv := newSessionServer(t)
	c := newTestClient(t, srv.testServer)
	ctx := ctxT(t)
	ms, err := OpenSession(ctx, c, 5, "me")
	if err != nil {
		t.Fatal(err)
	}
	gate := make(chan struct{})
	srv.mu.Lock()
	srv.patchGate = gate
	srv.mu.Unlock()
	srv.expire()
	const n = 8
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() { errs <- ms.DeleteMessage(ctx, int64(i)) }()
	}
	// All callers have met the 401 and one refresh is held at the gate.
	eventually(t, "the first refresh", func() bool { return srv.patches.Load() == 1 })
	eventually(t, "every caller's 401", func() bool {
		k := 0
		for _, r := range srv.reqs() {
			if r.Method == http.MethodDelete && strings.HasPrefix(r.Path, "/queue/") {
				k++
			}
		}
		return k >= n
	})
	close(gate)
	for i := 0; i < n; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if p := srv.patches.Load(); p != 1 {
		t.Errorf("%d refreshes for %d concurrent 401s, want 1", p, n)
	}
}

func TestProactiveQueueTokenRefresh(t *testing.T) {
	fc := clocktesting.NewFakeClock(time.Date(2026, 5, 5, 10, 0, 0, 0, time.UTC))
	srv := newSessionServer(t)
	mint := func(n int) string {
		tok, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{ExpiresAt: jwt.NewNumericDate(fc.Now().Add(10 * time.Minute))}).SignedString([]byte("k"))
		return tok
	}
	srv.mu.Lock()
	srv.mint = mint
	srv.token = mint(0)
	srv.mu.Unlock()
	c := newTestClient(t, srv.testServer, func(cfg *Config) { cfg.Clock = fc })
	ctx := ctxT(t)
	ms, err := OpenSession(ctx, c, 5, "me")
	if err != nil {
		t.Fatal(err)
	}
	if err := ms.DeleteMessage(ctx, 1); err != nil || srv.patches.Load() != 0 {
		t.Fatalf("fresh token: %v, %d refreshes", err, srv.patches.Load())
	}
	fc.Step(9*time.Minute + 30*time.Second) // 30 s left: under the 60 s margin
	if err := ms.DeleteMessage(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if srv.patches.Load() != 1 {
		t.Fatalf("%d refreshes, want 1 proactive refresh", srv.patches.Load())
	}
	for _, r := range srv.reqs() {
		if r.Method == http.MethodDelete && r.Header.Get("Authorization") == "" {
			t.Error("queue call without a token")
		}
	}
}

func TestSessionEmptyPollIsNoMessage(t *testing.T) {
	srv := newSessionServer(t)
	c := newTestClient(t, srv.testServer, func(cfg *Config) {
		cfg.Retry = &RetryConfig{MaxRetries: 1, WaitMin: time.Millisecond, WaitMax: time.Millisecond}
	})
	ctx := ctxT(t)
	ms, err := OpenSession(ctx, c, 5, "me")
	if err != nil {
		t.Fatal(err)
	}
	srv.mu.Lock()
	srv.emptyPolls = 1
	srv.mu.Unlock()
	m, err := ms.GetMessage(ctx, 0, 1)
	if err != nil || m == nil {
		t.Fatalf("one empty 200 is retried: %v %v", m, err)
	}
	srv.mu.Lock()
	srv.emptyPolls = 5
	srv.mu.Unlock()
	m, err = ms.GetMessage(ctx, 0, 1)
	if err != nil || m != nil {
		t.Fatalf("persistent empty 200s: %v %v, want nil, nil", m, err)
	}
}

func TestSessionClose(t *testing.T) {
	for _, code := range []int{204, 400, 404} {
		srv := newSessionServer(t)
		srv.deleteCode = code
		c := newTestClient(t, srv.testServer)
		ctx := ctxT(t)
		ms, err := OpenSession(ctx, c, 5, "me")
		if err != nil {
			t.Fatal(err)
		}
		if err := ms.Close(ctx); err != nil {
			t.Errorf("delete answered %d: %v", code, err)
		}
		n := len(srv.reqs())
		if err := ms.Close(ctx); err != nil || len(srv.reqs()) != n {
			t.Errorf("second Close: %v, %d new requests", err, len(srv.reqs())-n)
		}
		if _, err := ms.GetMessage(ctx, 0, 1); !errors.Is(err, ErrSessionClosed) {
			t.Errorf("GetMessage after Close: %v", err)
		}
	}
	// A failed Close can be repeated.
	srv := newSessionServer(t)
	srv.deleteCode = 500
	c := newTestClient(t, srv.testServer, func(cfg *Config) { cfg.Retry = &RetryConfig{} })
	ctx := ctxT(t)
	ms, err := OpenSession(ctx, c, 5, "me")
	if err != nil {
		t.Fatal(err)
	}
	if err := ms.Close(ctx); err == nil {
		t.Fatal("500 on delete: no error")
	}
	srv.mu.Lock()
	srv.deleteCode = 204
	srv.mu.Unlock()
	if err := ms.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestOpenSessionConflict(t *testing.T) {
	ts := newTestServer(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 409, `{"typeName":"GitHub.Actions.Runtime.WebApi.RunnerScaleSetSessionConflictException","message":"The actions runner scaleset arc already has an active session."}`)
	})
	c := newTestClient(t, ts)
	_, err := OpenSession(ctxT(t), c, 5, "me")
	if !errors.Is(err, ErrSessionConflict) {
		t.Fatalf("want ErrSessionConflict, got %v", err)
	}
	if n := len(ts.reqs()); n != 1 {
		t.Errorf("409 retried: %d requests", n)
	}
}
