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
	"bytes"
	"errors"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-github/v62/github"
	testingclock "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
)

// goGitHubError is what go-github makes of an answer, as the scaler's REST client sees it.
func goGitHubError(r reply) error {
	return github.CheckResponse(&http.Response{StatusCode: r.status, Header: r.header, Body: io.NopCloser(bytes.NewReader(r.body)),
		Request: &http.Request{Method: http.MethodGet}})
}

func wantHeaders(t *testing.T, r reply, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got := r.header.Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
}

func TestRESTBudgetExhaustedAndReset(t *testing.T) {
	fc := testingclock.NewFakeClock(time.Now())
	sim := newSim(t, Options{Clock: fc, RESTRateLimit: 5, Accounts: testAccounts})
	cc := NewControlClient(sim.URL())
	u := sim.URL() + "/api/v3/orgs/acme/actions/runners"
	wantHeaders(t, call(t, "GET", u, "Bearer "+DefaultPAT, nil), map[string]string{"X-RateLimit-Remaining": "4", "X-RateLimit-Used": "1"})

	rl, err := cc.SetRateLimit(RateLimitChange{Token: DefaultPAT, Remaining: 0, ResetIn: time.Minute})
	reset := strconv.FormatInt(fc.Now().Add(time.Minute).Unix(), 10)
	if err != nil || rl.Remaining != 0 || rl.Used != 5 || rl.Limit != 5 || strconv.FormatInt(rl.Reset, 10) != reset {
		t.Fatalf("SetRateLimit = %+v, %v", rl, err)
	}
	for _, ep := range restPaths("acme") {
		r := call(t, ep[0], sim.URL()+ep[1], "Bearer "+DefaultPAT, nil)
		wantGitHubError(t, r, http.StatusForbidden, "API rate limit exceeded for user ID 1001.", rateLimitDocsURL)
		wantHeaders(t, r, map[string]string{"X-RateLimit-Limit": "5", "X-RateLimit-Remaining": "0", "X-RateLimit-Used": "5",
			"X-RateLimit-Reset": reset, "X-RateLimit-Resource": "core"})
		var rle *github.RateLimitError
		if err := goGitHubError(r); !errors.As(err, &rle) || rle.Rate.Remaining != 0 {
			t.Errorf("go-github sees %T %v, want a RateLimitError", err, err)
		}
	}
	fc.Step(time.Minute)
	r := call(t, "GET", u, "Bearer "+DefaultPAT, nil)
	wantStatus(t, r, http.StatusOK)
	wantHeaders(t, r, map[string]string{"X-RateLimit-Remaining": "4",
		"X-RateLimit-Reset": strconv.FormatInt(fc.Now().Add(time.Hour).Unix(), 10)})

	// curl-style: resetIn in seconds.
	wantStatus(t, call(t, "POST", sim.URL()+"/_sim/ratelimit", "", `{"token":"`+DefaultPAT+`","remaining":1,"resetIn":30}`), http.StatusOK)
	wantStatus(t, call(t, "GET", u, "Bearer "+DefaultPAT, nil), http.StatusOK)
	wantStatus(t, call(t, "GET", u, "Bearer "+DefaultPAT, nil), http.StatusForbidden)
	if _, err := cc.SetRateLimit(RateLimitChange{Token: "ghp_unknown"}); err == nil {
		t.Error("the budget of an unknown token was set")
	}
}

// TestInstallationTokensShareABudget: GitHub counts an installation's requests, whichever of
// its tokens makes them.
func TestInstallationTokensShareABudget(t *testing.T) {
	fc := testingclock.NewFakeClock(time.Now())
	e := newAppEnv(t, Options{Clock: fc, Accounts: []string{"acme"}}, Installation{ID: 11, Account: "acme"})
	first, _ := e.token(11)
	second, _ := e.token(11)
	if _, err := e.sim.SetRateLimit(RateLimitChange{Installation: 11, Remaining: 0, ResetIn: 10 * time.Minute}); err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{first, second} {
		r := call(t, "GET", e.sim.URL()+"/orgs/acme/actions/runners", "Bearer "+tok, nil)
		wantGitHubError(t, r, http.StatusForbidden, "API rate limit exceeded for installation ID 11.", rateLimitDocsURL)
	}
	fc.Step(10 * time.Minute)
	wantStatus(t, call(t, "GET", e.sim.URL()+"/orgs/acme/actions/runners", "Bearer "+second, nil), http.StatusOK)
}

func TestSecondaryRateLimit(t *testing.T) {
	fc := testingclock.NewFakeClock(time.Now())
	sim := newSim(t, Options{Clock: fc, RESTSecondaryLimit: 2, Accounts: testAccounts})
	u := sim.URL() + "/api/v3/repos/acme/app/actions/runners"
	get := func() reply { return call(t, "GET", u, "Bearer "+DefaultPAT, nil) }
	wantStatus(t, get(), http.StatusOK)
	wantStatus(t, get(), http.StatusOK)
	for _, wait := range []int{60, 30} {
		r := get()
		wantGitHubError(t, r, http.StatusForbidden, msgSecondary, secondaryDocsURL)
		wantHeaders(t, r, map[string]string{"Retry-After": strconv.Itoa(wait), "X-RateLimit-Remaining": "4998"})
		var arl *github.AbuseRateLimitError
		if err := goGitHubError(r); !errors.As(err, &arl) || arl.GetRetryAfter() != time.Duration(wait)*time.Second {
			t.Errorf("go-github sees %T %v, want an AbuseRateLimitError with Retry-After %ds", err, err, wait)
		}
		fc.Step(30 * time.Second)
	}
	wantStatus(t, get(), http.StatusOK)
	// Switched off at run time.
	if _, err := NewControlClient(sim.URL()).UpdateSettings(Settings{RESTSecondaryLimit: ptr.To(0)}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		wantStatus(t, get(), http.StatusOK)
	}
}

func TestJITConfigRate(t *testing.T) {
	fc := testingclock.NewFakeClock(time.Now())
	sim := newSim(t, Options{Clock: fc, JITConfigRate: 2})
	org := register(t, sim, "acme")
	rs := org.createScaleSet("linux")
	jit := func(tc *tenantClient, id int, name string) reply {
		return tc.admin("POST", "_apis/runtime/runnerscalesets/"+strconv.Itoa(id)+"/generatejitconfig", map[string]string{"name": name})
	}
	wantStatus(t, jit(org, rs.ID, "r1"), http.StatusOK)
	wantStatus(t, jit(org, rs.ID, "r2"), http.StatusOK)
	r := jit(org, rs.ID, "r3")
	wantStatus(t, r, http.StatusTooManyRequests)
	wantHeaders(t, r, map[string]string{"Retry-After": "60"})
	var env map[string]any
	r.decode(t, &env)
	if env["typeName"] != typeRequestBlocked || env["typeKey"] != "RequestBlockedException" || env["message"] == "" {
		t.Errorf("429 envelope %v", env)
	}
	// The limit is per tenant: another registration scope is not throttled.
	repo := register(t, sim, "acme/app")
	wantStatus(t, jit(repo, repo.createScaleSet("linux").ID, "r1"), http.StatusOK)

	fc.Step(time.Minute)
	wantStatus(t, jit(org, rs.ID, "r3"), http.StatusOK)
	if _, err := sim.UpdateSettings(Settings{JITConfigRate: ptr.To(0)}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		wantStatus(t, jit(org, rs.ID, "more-"+strconv.Itoa(i)), http.StatusOK)
	}
}

func TestRateLimitSettings(t *testing.T) {
	sim := newSim(t, Options{RESTSecondaryLimit: 7})
	r := call(t, "GET", sim.URL()+"/_sim/settings", "", nil)
	var s map[string]any
	r.decode(t, &s)
	if s["restRateLimit"] != 5000.0 || s["restSecondaryLimit"] != 7.0 || s["jitConfigRate"] != 0.0 || s["anyAccount"] != false {
		t.Errorf("settings %s", r.body)
	}
	r = call(t, "PATCH", sim.URL()+"/_sim/settings", "", `{"restRateLimit":100,"restSecondaryLimit":0,"jitConfigRate":30,"anyAccount":true}`)
	wantStatus(t, r, http.StatusOK)
	got := sim.Settings()
	if got.RESTRateLimit != 100 || *got.RESTSecondaryLimit != 0 || *got.JITConfigRate != 30 || !*got.AnyAccount || !sim.AnyAccount() {
		t.Errorf("after the update: %s", r.body)
	}
	wantStatus(t, call(t, "PATCH", sim.URL()+"/_sim/settings", "", `{"jitConfigRate":-1}`), http.StatusBadRequest)
}
