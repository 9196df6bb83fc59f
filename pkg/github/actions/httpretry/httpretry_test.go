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

package httpretry

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"
)

func get(url string) RequestFunc {
	return func(ctx context.Context) (*http.Request, error) {
		return http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	}
}

func fast() Policy {
	return Policy{MaxRetries: 4, WaitMin: time.Microsecond, WaitMax: 10 * time.Microsecond, AttemptTimeout: 10 * time.Second}
}

// statusServer answers the statuses in order, then the last one forever.
func statusServer(t *testing.T, statuses ...int) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(n.Add(1)) - 1
		if i >= len(statuses) {
			i = len(statuses) - 1
		}
		w.WriteHeader(statuses[i])
		_, _ = io.WriteString(w, "body")
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func TestDefaultBackoff(t *testing.T) {
	p := Default()
	want := []time.Duration{1 * time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 30 * time.Second, 30 * time.Second}
	for i, w := range want {
		if got := p.backoff(i, nil, time.Now()); got != w {
			t.Errorf("attempt %d: %s, want %s", i, got, w)
		}
	}
	if p.MaxRetries != 4 || p.AttemptTimeout != 5*time.Minute {
		t.Errorf("defaults %+v", p)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 5, 5, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"7", 7 * time.Second, true},
		{" 0 ", 0, true},
		{"-1", 0, false},
		{"", 0, false},
		{"soon", 0, false},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0, true},
	} {
		got, ok := ParseRetryAfter(tc.in, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%q: %s %t, want %s %t", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestRetriedStatuses(t *testing.T) {
	for _, tc := range []struct {
		status   int
		attempts int32
	}{
		{500, 5}, {502, 5}, {503, 5}, {504, 5}, {429, 5},
		{501, 1}, {400, 1}, {401, 1}, {403, 1}, {404, 1}, {409, 1}, {200, 1}, {202, 1},
	} {
		srv, n := statusServer(t, tc.status)
		resp, res, err := fast().Do(context.Background(), srv.Client(), get(srv.URL), nil)
		if err != nil {
			t.Fatalf("%d: %v", tc.status, err)
		}
		if n.Load() != tc.attempts || int32(res.Attempts) != tc.attempts {
			t.Errorf("%d: %d attempts (result %d), want %d", tc.status, n.Load(), res.Attempts, tc.attempts)
		}
		if resp.StatusCode != tc.status || string(res.Body) != "body" {
			t.Errorf("%d: last answer %d %q", tc.status, resp.StatusCode, res.Body)
		}
		b, _ := io.ReadAll(resp.Body)
		if string(b) != "body" {
			t.Errorf("%d: body not replayable: %q", tc.status, b)
		}
	}
}

func TestRecoversAfterTransientFailures(t *testing.T) {
	srv, n := statusServer(t, 503, 500, 429, 200)
	resp, _, err := fast().Do(context.Background(), srv.Client(), get(srv.URL), nil)
	if err != nil || resp.StatusCode != 200 || n.Load() != 4 {
		t.Fatalf("%v %v %d", resp, err, n.Load())
	}
}

func TestExtraPredicates(t *testing.T) {
	srv, n := statusServer(t, 401, 403, 201)
	resp, _, err := fast().Do(context.Background(), srv.Client(), get(srv.URL), Or(DefaultRetryable, Status(401, 403)))
	if err != nil || resp.StatusCode != 201 || n.Load() != 3 {
		t.Fatalf("%v %v %d", resp, err, n.Load())
	}
	var m atomic.Int32
	empty := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if m.Add(1) < 3 {
			_, _ = w.Write([]byte("\xef\xbb\xbf \n"))
			return
		}
		_, _ = w.Write([]byte(`{}`))
	}))
	defer empty.Close()
	_, res, err := fast().Do(context.Background(), empty.Client(), get(empty.URL), Or(DefaultRetryable, EmptyOK))
	if err != nil || string(res.Body) != "{}" || m.Load() != 3 {
		t.Fatalf("%q %v %d", res.Body, err, m.Load())
	}
}

func TestTransportErrorsRetried(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) <= 2 {
			hj, _ := w.(http.Hijacker)
			conn, _, _ := hj.Hijack()
			_ = conn.Close()
			return
		}
		w.WriteHeader(204)
	}))
	defer srv.Close()
	resp, res, err := fast().Do(context.Background(), srv.Client(), get(srv.URL), nil)
	if err != nil || resp.StatusCode != 204 || res.Attempts != 3 {
		t.Fatalf("%v %v %+v", resp, err, res)
	}

	// Always failing: the error says how many attempts were made.
	dead := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hj, _ := w.(http.Hijacker)
		conn, _, _ := hj.Hijack()
		_ = conn.Close()
	}))
	defer dead.Close()
	_, _, err = fast().Do(context.Background(), dead.Client(), get(dead.URL), nil)
	if err == nil || !strings.Contains(err.Error(), "giving up after 5 attempt(s)") {
		t.Fatalf("err = %v", err)
	}
}

func TestCertificateErrorsNotRetried(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { n.Add(1) }))
	defer srv.Close()
	hc := &http.Client{Transport: NewTransport(TransportOptions{})} // system roots: the test CA is unknown
	_, res, err := fast().Do(context.Background(), hc, get(srv.URL), nil)
	if err == nil || res.Attempts != 1 {
		t.Fatalf("err %v after %d attempts; want one failing attempt", err, res.Attempts)
	}
}

func TestRetryAfterHonouredWithFakeClock(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "7")
		if attemptsSeen.Add(1) == 1 {
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.WriteHeader(200)
	}))
	defer srv.Close()
	attemptsSeen.Store(0)
	fc := clocktesting.NewFakeClock(time.Now())
	p := Policy{MaxRetries: 4, WaitMin: time.Second, WaitMax: 30 * time.Second, Clock: fc}
	done := make(chan error, 1)
	go func() {
		resp, _, err := p.Do(context.Background(), srv.Client(), get(srv.URL), nil)
		if err == nil && resp.StatusCode != 200 {
			err = errors.New(resp.Status)
		}
		done <- err
	}()
	waitFor(t, "the retry wait", fc.HasWaiters)
	fc.Step(7*time.Second - time.Millisecond)
	if !fc.HasWaiters() {
		t.Fatal("the wait ended before Retry-After")
	}
	select {
	case err := <-done:
		t.Fatalf("finished early: %v", err)
	default:
	}
	fc.Step(time.Millisecond)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

var attemptsSeen atomic.Int32

func TestContextCancelStopsRetries(t *testing.T) {
	srv, n := statusServer(t, 503)
	fc := clocktesting.NewFakeClock(time.Now())
	p := Policy{MaxRetries: 4, WaitMin: time.Hour, WaitMax: time.Hour, Clock: fc}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, _, err := p.Do(ctx, srv.Client(), get(srv.URL), nil)
		done <- err
	}()
	waitFor(t, "the retry wait", fc.HasWaiters)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if n.Load() != 1 {
		t.Errorf("%d attempts", n.Load())
	}
}

func TestAttemptTimeout(t *testing.T) {
	release := make(chan struct{})
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	p := Policy{MaxRetries: 1, AttemptTimeout: 50 * time.Millisecond}
	_, res, err := p.Do(context.Background(), srv.Client(), get(srv.URL), nil)
	if err == nil || !strings.Contains(err.Error(), "timed out") || res.Attempts != 2 {
		t.Fatalf("err %v, attempts %d", err, res.Attempts)
	}
}

func TestTransportReplaysBodies(t *testing.T) {
	var mu sync.Mutex
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(b))
		k := len(bodies)
		mu.Unlock()
		if k < 3 {
			w.WriteHeader(502)
			return
		}
		w.WriteHeader(201)
	}))
	defer srv.Close()
	hc := &http.Client{Transport: &Transport{Base: srv.Client().Transport, Policy: fast()}}
	resp, err := hc.Post(srv.URL, "application/json", bytes.NewReader([]byte(`{"a":1}`)))
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("%v %v", resp, err)
	}
	_ = resp.Body.Close()
	if len(bodies) != 3 || bodies[0] != `{"a":1}` || bodies[2] != `{"a":1}` {
		t.Fatalf("bodies %q", bodies)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
