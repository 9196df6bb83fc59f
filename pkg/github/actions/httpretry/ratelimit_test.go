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
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"actions.dev/runnerset-apiserver/pkg/github/ratelimit"
)

// TestRateLimitsAreNotSleptOn: a rate limit ending within WaitMax is waited out and retried
// (when its status is one to retry); a longer one is a *ratelimit.Error at once, after one
// attempt and no wait, whatever the retries left.
func TestRateLimitsAreNotSleptOn(t *testing.T) {
	start := time.Unix(time.Now().Unix(), 0)
	for _, tc := range []struct {
		name    string
		status  int
		headers map[string]string
		retry   Retryable
		wait    time.Duration // waited before the second attempt; 0: none, the call fails at once
	}{
		{"429 Retry-After within WaitMax", 429, map[string]string{"Retry-After": "7"}, nil, 7 * time.Second},
		{"429 Retry-After beyond WaitMax", 429, map[string]string{"Retry-After": "120"}, nil, 0},
		{"403 primary limit for an hour", 403, map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": strconv.FormatInt(start.Add(time.Hour).Unix(), 10)}, nil, 0},
		{"429 primary limit ending in 10 s", 429, map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": strconv.FormatInt(start.Add(10*time.Second).Unix(), 10)}, nil, 10 * time.Second},
		{"403 secondary limit: 403 is not retried", 403, map[string]string{"Retry-After": "5"}, nil, 0},
		{"403 secondary limit where 403 is retried", 403, map[string]string{"Retry-After": "5"}, Or(DefaultRetryable, Status(403)), 5 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var n atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if n.Add(1) == 1 {
					for k, v := range tc.headers {
						w.Header().Set(k, v)
					}
					w.WriteHeader(tc.status)
					return
				}
				w.WriteHeader(200)
			}))
			defer srv.Close()
			fc := clocktesting.NewFakeClock(start)
			p := Policy{MaxRetries: 4, WaitMin: time.Second, WaitMax: 30 * time.Second, Clock: fc}
			done := make(chan error, 1)
			go func() {
				_, _, err := p.Do(context.Background(), srv.Client(), get(srv.URL), tc.retry)
				done <- err
			}()
			if tc.wait == 0 {
				err := <-done
				var rl *ratelimit.Error
				if !errors.As(err, &rl) || rl.Status != tc.status || n.Load() != 1 {
					t.Fatalf("err %v after %d attempts; want a *ratelimit.Error at once", err, n.Load())
				}
				return
			}
			waitFor(t, "the wait for the limit's end", fc.HasWaiters)
			fc.Step(tc.wait - time.Millisecond)
			select {
			case err := <-done:
				t.Fatalf("retried before the limit ended: %v", err)
			default:
			}
			fc.Step(time.Millisecond)
			if err := <-done; err != nil || n.Load() != 2 {
				t.Fatalf("err %v after %d attempts", err, n.Load())
			}
		})
	}
}

// TestLongRetryAfterOn503IsCapped: a 503's Retry-After is honoured up to WaitMax only.
func TestLongRetryAfterOn503IsCapped(t *testing.T) {
	p := Policy{WaitMin: time.Second, WaitMax: 30 * time.Second}
	resp := &http.Response{StatusCode: 503, Header: http.Header{"Retry-After": []string{"3600"}}}
	if got := p.backoff(0, resp, time.Now()); got != 30*time.Second {
		t.Errorf("waits %s, want WaitMax", got)
	}
}

// TestRetriesPassTheGate: with a Gate below, a short limit is waited out with the gate's clock
// and the retry goes through the gate once it opens; meanwhile other calls are held back.
func TestRetriesPassTheGate(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			w.Header().Set("Retry-After", "2")
			w.WriteHeader(429)
			return
		}
		w.WriteHeader(200)
	}))
	defer srv.Close()
	fc := clocktesting.NewFakeClock(time.Now())
	base, _ := url.Parse(srv.URL + "/api/v3/")
	gate := ratelimit.NewGate(base, fc)
	hc := &http.Client{Transport: gate.Transport(srv.Client().Transport)}
	p := Policy{MaxRetries: 4, WaitMin: time.Second, WaitMax: 30 * time.Second, Clock: fc}
	done := make(chan error, 1)
	go func() {
		resp, _, err := p.Do(context.Background(), hc, get(srv.URL+"/tenant/1/x"), nil)
		if err == nil && resp.StatusCode != 200 {
			err = errors.New(resp.Status)
		}
		done <- err
	}()
	waitFor(t, "the wait for the limit's end", fc.HasWaiters)
	if _, _, err := (Policy{}).Do(context.Background(), hc, get(srv.URL+"/tenant/1/y"), nil); !errors.Is(err, ratelimit.ErrRateLimited) {
		t.Fatalf("another call during the limit: %v", err)
	}
	fc.Step(2 * time.Second)
	if err := <-done; err != nil || n.Load() != 2 {
		t.Fatalf("err %v after %d requests", err, n.Load())
	}
}
