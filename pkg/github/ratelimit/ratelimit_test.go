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

package ratelimit

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-github/v62/github"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	clocktesting "k8s.io/utils/clock/testing"
)

var now = time.Date(2026, 5, 5, 10, 0, 0, 0, time.UTC)

func answer(status int, body string, kv ...string) *http.Response {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(strings.NewReader(body))}
}

func TestFromResponse(t *testing.T) {
	reset := strconv.FormatInt(now.Add(40*time.Minute).Unix(), 10)
	for _, tc := range []struct {
		name  string
		resp  *http.Response
		kind  string
		until time.Time // zero: not a rate limit
	}{
		{"primary 403", answer(403, `{"message":"API rate limit exceeded for user ID 1."}`, "X-RateLimit-Remaining", "0", "X-RateLimit-Reset", reset), KindPrimary, now.Add(40 * time.Minute)},
		{"primary 429", answer(429, `{"message":"API rate limit exceeded"}`, "X-RateLimit-Remaining", "0", "X-RateLimit-Reset", reset), KindPrimary, now.Add(40 * time.Minute)},
		{"secondary with Retry-After", answer(403, `{"message":"You have exceeded a secondary rate limit."}`, "Retry-After", "90", "X-RateLimit-Remaining", "4000"), KindSecondary, now.Add(90 * time.Second)},
		{"Retry-After wins over reset", answer(429, ``, "Retry-After", "30", "X-RateLimit-Remaining", "0", "X-RateLimit-Reset", reset), KindSecondary, now.Add(30 * time.Second)},
		{"secondary by its message", answer(403, `{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}`, "X-RateLimit-Remaining", "4000"), KindSecondary, now.Add(time.Minute)},
		{"Actions Service throttling", answer(429, `{"typeName":"GitHub.DistributedTask.WebApi.TooManyRequestsException","message":"Too many requests"}`, "Retry-After", "120"), KindSecondary, now.Add(2 * time.Minute)},
		{"Retry-After as a date", answer(429, ``, "Retry-After", now.Add(5*time.Minute).Format(http.TimeFormat)), KindSecondary, now.Add(5 * time.Minute)},
		{"reset in the past", answer(403, ``, "X-RateLimit-Remaining", "0", "X-RateLimit-Reset", strconv.FormatInt(now.Add(-time.Hour).Unix(), 10)), KindPrimary, now.Add(time.Second)},
		{"bare 429: the retry loop's", answer(429, `Too Many Requests`), "", time.Time{}},
		{"permission 403", answer(403, `{"message":"Resource not accessible by personal access token"}`, "X-RateLimit-Remaining", "4999"), "", time.Time{}},
		{"404", answer(404, `{"message":"Not Found"}`, "X-RateLimit-Remaining", "0", "X-RateLimit-Reset", reset), "", time.Time{}},
		{"200 with a spent budget", answer(200, `{}`, "X-RateLimit-Remaining", "0", "X-RateLimit-Reset", reset), "", time.Time{}},
		{"Retry-After over a day", answer(403, `{"message":"nope"}`, "Retry-After", "999999"), "", time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body, _ := io.ReadAll(tc.resp.Body)
			e := FromResponse(APIREST, tc.resp, body, now)
			if tc.until.IsZero() {
				assert.Nil(t, e)
				return
			}
			require.NotNil(t, e)
			assert.Equal(t, tc.kind, e.Kind)
			assert.WithinDuration(t, tc.until, e.Until, 0)
			assert.Equal(t, tc.resp.StatusCode, e.Status)
			assert.ErrorIs(t, e, ErrRateLimited)
			assert.Contains(t, e.Error(), APIREST)
			assert.Contains(t, e.Error(), tc.until.Format(time.RFC3339))
		})
	}
}

func TestFromGitHub(t *testing.T) {
	resp := &http.Response{StatusCode: 403, Request: &http.Request{Method: "GET", URL: &url.URL{Path: "/x"}}}
	rl := &github.RateLimitError{Rate: github.Rate{Reset: github.Timestamp{Time: now.Add(time.Hour)}}, Response: resp, Message: "API rate limit exceeded"}
	e, ok := FromGitHub(fmt.Errorf("listing: %w", rl), now)
	require.True(t, ok)
	assert.Equal(t, [3]any{APIREST, KindPrimary, now.Add(time.Hour)}, [3]any{e.API, e.Kind, e.Until})

	ra := 2 * time.Minute
	e, ok = FromGitHub(&github.AbuseRateLimitError{Response: resp, Message: "secondary", RetryAfter: &ra}, now)
	require.True(t, ok)
	assert.Equal(t, [2]any{KindSecondary, now.Add(ra)}, [2]any{e.Kind, e.Until})

	_, ok = FromGitHub(errors.New("other"), now)
	assert.False(t, ok)
}

// fakeGitHub answers scripted statuses and headers, one per request, and counts requests per path.
type fakeGitHub struct {
	*httptest.Server
	mu      sync.Mutex
	answers []func(w http.ResponseWriter)
	seen    map[string]int
}

func newFake(t *testing.T) *fakeGitHub {
	f := &fakeGitHub{seen: map[string]int{}}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.seen[r.URL.Path]++
		var a func(http.ResponseWriter)
		if len(f.answers) > 0 {
			a, f.answers = f.answers[0], f.answers[1:]
		}
		f.mu.Unlock()
		if a == nil {
			w.WriteHeader(200)
			return
		}
		a(w)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeGitHub) script(status int, body string, kv ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answers = append(f.answers, func(w http.ResponseWriter) {
		for i := 0; i+1 < len(kv); i += 2 {
			w.Header().Set(kv[i], kv[i+1])
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	})
}

func (f *fakeGitHub) count(path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.seen[path]
}

func get(t *testing.T, c *http.Client, u string) (*http.Response, error) {
	t.Helper()
	resp, err := c.Get(u)
	if err == nil {
		_, _ = io.ReadAll(resp.Body)
		_ = resp.Body.Close()
	}
	return resp, err
}

// TestGateHoldsBackPerAPI: a limit on one API holds back that API's requests, without sending
// them, until it ends; the other API's go on. On a GitHub Enterprise Server both share a host.
func TestGateHoldsBackPerAPI(t *testing.T) {
	fc := clocktesting.NewFakeClock(time.Now())
	f := newFake(t)
	base, _ := url.Parse(f.URL + "/api/v3/")
	g := NewGate(base, fc)
	c := &http.Client{Transport: g.Transport(http.DefaultTransport)}
	rest, tenant := f.URL+"/api/v3/orgs/acme/actions/runners", f.URL+"/tenant/1/_apis/runtime/runnerscalesets"

	f.script(429, `{"message":"Too many requests"}`, "Retry-After", "120")
	_, err := get(t, c, tenant)
	var rl *Error
	require.ErrorAs(t, err, &rl)
	assert.Equal(t, APIActions, rl.API)
	assert.Equal(t, fc.Now().Add(2*time.Minute), g.Until(APIActions))
	assert.Zero(t, g.Until(APIREST))

	_, err = get(t, c, tenant)
	require.ErrorIs(t, err, ErrRateLimited)
	assert.Equal(t, 1, f.count("/tenant/1/_apis/runtime/runnerscalesets"), "held back, not sent")
	resp, err := get(t, c, rest)
	require.NoError(t, err, "the REST API is not limited")
	assert.Equal(t, 200, resp.StatusCode)

	fc.Step(2 * time.Minute)
	_, err = get(t, c, tenant)
	require.NoError(t, err, "open again when the limit ends")
	assert.Equal(t, 2, f.count("/tenant/1/_apis/runtime/runnerscalesets"))
	assert.Zero(t, g.Until(APIActions))
}

// TestGateLearnsASpentBudget: a success that says the budget is spent closes the gate until the
// reset; a refusal without a limit passes through untouched.
func TestGateLearnsASpentBudget(t *testing.T) {
	fc := clocktesting.NewFakeClock(time.Unix(time.Now().Unix(), 0))
	f := newFake(t)
	base, _ := url.Parse(f.URL + "/")
	g := NewGate(base, fc)
	c := &http.Client{Transport: g.Transport(nil)}

	f.script(403, `{"message":"Resource not accessible by integration"}`, "X-RateLimit-Remaining", "4999")
	resp, err := get(t, c, f.URL+"/repos/a/b/actions/runners/registration-token")
	require.NoError(t, err)
	assert.Equal(t, 403, resp.StatusCode, "a refusal is the caller's to read")

	reset := fc.Now().Add(30 * time.Minute)
	f.script(200, `{}`, "X-RateLimit-Remaining", "0", "X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
	resp, err = get(t, c, f.URL+"/orgs/acme/actions/runners")
	require.NoError(t, err)
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, reset, g.Until(APIREST))
	_, err = get(t, c, f.URL+"/orgs/acme/actions/runners")
	assert.ErrorIs(t, err, ErrRateLimited)
	assert.Equal(t, 1, f.count("/orgs/acme/actions/runners"))

	// A shorter limit learned later does not shorten it.
	assert.False(t, g.Close(&Error{API: APIREST, Until: fc.Now().Add(time.Minute)}))
	assert.Equal(t, reset, g.Until(APIREST))
}

func TestGateAPI(t *testing.T) {
	hosted, _ := url.Parse("https://api.github.com/")
	ghes, _ := url.Parse("https://ghes.example.com/api/v3/")
	for _, tc := range []struct {
		base *url.URL
		u    string
		want string
	}{
		{hosted, "https://api.github.com/orgs/acme/actions/runners", APIREST},
		{hosted, "https://API.github.com/app/installations/1/access_tokens", APIREST},
		{hosted, "https://pipelines.actions.githubusercontent.com/abc/_apis/runtime/runnerscalesets", APIActions},
		{hosted, "https://broker.actions.githubusercontent.com/message", APIActions},
		{ghes, "https://ghes.example.com/api/v3/actions/runner-registration", APIREST},
		{ghes, "https://ghes.example.com/api/v3", APIREST},
		{ghes, "https://ghes.example.com/api/v30/x", APIActions},
		{ghes, "https://ghes.example.com/_services/pipelines/abc/_apis/runtime/runnerscalesets", APIActions},
	} {
		u, _ := url.Parse(tc.u)
		assert.Equal(t, tc.want, NewGate(tc.base, nil).API(u), tc.u)
	}
}

// TestRegistrySharesAGatePerCredential: clients of one credential share a gate; another
// credential, or the same one on another GitHub, has its own.
func TestRegistrySharesAGatePerCredential(t *testing.T) {
	r := &Registry{}
	hosted, _ := url.Parse("https://api.github.com/")
	ghes, _ := url.Parse("https://ghes.example.com/api/v3/")
	a := r.Gate("token-a", hosted)
	assert.Same(t, a, r.Gate("token-a", hosted))
	assert.NotSame(t, a, r.Gate("token-b", hosted))
	assert.NotSame(t, a, r.Gate("token-a", ghes))
}

// TestConcurrentRequestsDuringALimit: many requests at once while a limit is in force send
// nothing.
func TestConcurrentRequestsDuringALimit(t *testing.T) {
	f := newFake(t)
	base, _ := url.Parse(f.URL + "/")
	g := NewGate(base, nil)
	g.Close(&Error{API: APIREST, Until: time.Now().Add(time.Hour), Kind: KindPrimary, Status: 403})
	c := &http.Client{Transport: g.Transport(nil)}
	var refused atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := get(t, c, f.URL+"/x"); errors.Is(err, ErrRateLimited) {
				refused.Add(1)
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, int32(20), refused.Load())
	assert.Zero(t, f.count("/x"))
}
