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

// Contract tests: the client against the GitHub simulator (pkg/github/simulator), endpoint by
// endpoint and error by error, then whole jobs with and without faults.

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"actions.dev/runnerset-apiserver/pkg/github/actions"
	"actions.dev/runnerset-apiserver/pkg/github/actions/httpretry"
	"actions.dev/runnerset-apiserver/pkg/github/auth"
	"actions.dev/runnerset-apiserver/pkg/github/ratelimit"
	"actions.dev/runnerset-apiserver/pkg/github/simulator"
	"actions.dev/runnerset-apiserver/pkg/github/simulator/simtest"
)

// fast keeps the protocol's retry count but makes its waits negligible.
var (
	fastRetry  = &actions.RetryConfig{MaxRetries: 4, WaitMin: time.Millisecond, WaitMax: 5 * time.Millisecond}
	fastPolicy = &httpretry.Policy{MaxRetries: 4, WaitMin: time.Millisecond, WaitMax: 5 * time.Millisecond, AttemptTimeout: time.Minute}
)

func startSim(t *testing.T, o simulator.Options) *simulator.Simulator {
	t.Helper()
	if o.LongPollHold == 0 {
		o.LongPollHold = 100 * time.Millisecond
	}
	return simtest.New(t, o)
}

type env struct {
	sim    *simulator.Simulator
	src    *auth.Source
	client *actions.Client
}

// newEnv builds the token chain and client for a config URL path of sim.
func newEnv(t *testing.T, sim *simulator.Simulator, path string, mut ...func(*auth.Config, *actions.Config)) *env {
	t.Helper()
	creds, err := auth.FromSecretData(map[string][]byte{auth.KeyGitHubToken: []byte(simulator.DefaultPAT)})
	if err != nil {
		t.Fatal(err)
	}
	acfg := auth.Config{ConfigURL: sim.ConfigURL(path), Credentials: creds, Retry: fastPolicy, UserAgent: "contract-test"}
	ccfg := actions.Config{Retry: fastRetry, UserAgent: "contract-test"}
	for _, m := range mut {
		m(&acfg, &ccfg)
	}
	src, err := auth.NewTokenSource(acfg)
	if err != nil {
		t.Fatal(err)
	}
	ccfg.Tokens = src
	c, err := actions.NewClient(ccfg)
	if err != nil {
		t.Fatal(err)
	}
	return &env{sim: sim, src: src, client: c}
}

func ctxT(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func mustIs(t *testing.T, err error, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("want %v, got %v", want, err)
	}
	var ae *actions.Error
	if errors.Is(want, actions.ErrUnauthorized) || errors.Is(want, actions.ErrRunnerGroupNotFound) {
		return
	}
	if !errors.As(err, &ae) {
		t.Fatalf("%v is not an *actions.Error", err)
	}
	if ae.ActivityID == "" {
		t.Errorf("%v: no ActivityId", err)
	}
}

func TestContractTokenChain(t *testing.T) {
	sim := startSim(t, simulator.Options{})
	for _, path := range []string{"acme", "acme/app", "enterprises/big"} {
		e := newEnv(t, sim, path)
		tok, err := e.src.Token(ctxT(t))
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if !strings.HasPrefix(tok.TenantURL.String(), sim.URL()+"/tenant/") || !strings.HasSuffix(tok.TenantURL.Path, "/") {
			t.Errorf("%s: tenant %s", path, tok.TenantURL)
		}
		if d := time.Until(tok.Expiry); d < 9*time.Minute || d > 11*time.Minute {
			t.Errorf("%s: admin token expires in %s, simulator default is 10m", path, d)
		}
	}
	c := sim.Counters()
	if c.Endpoint(simulator.EPRegistrationToken) != 3 || c.Endpoint(simulator.EPRunnerRegistration) != 3 {
		t.Errorf("counters %v", c.Endpoints)
	}

	// A wrong PAT is ErrUnauthorized, named after the key.
	creds, _ := auth.FromSecretData(map[string][]byte{auth.KeyGitHubToken: []byte("ghp_wrong")})
	src, err := auth.NewTokenSource(auth.Config{ConfigURL: sim.ConfigURL("acme"), Credentials: creds, Retry: fastPolicy})
	if err != nil {
		t.Fatal(err)
	}
	_, err = src.Token(ctxT(t))
	if !errors.Is(err, auth.ErrUnauthorized) || !strings.Contains(err.Error(), "github_token") {
		t.Fatalf("wrong PAT: %v", err)
	}
}

func TestContractAppChain(t *testing.T) {
	keyPEM := appKeyPEM(t)
	sim := startSim(t, simulator.Options{Apps: []simulator.App{{AppID: 4242, ClientID: "Iv23liSimulator", InstallationID: 777, PrivateKeyPEM: keyPEM}}})
	for _, appID := range []string{"4242", "Iv23liSimulator"} {
		creds, err := auth.FromSecretData(map[string][]byte{
			auth.KeyGitHubAppID:             []byte(appID),
			auth.KeyGitHubAppInstallationID: []byte("777"),
			auth.KeyGitHubAppPrivateKey:     keyPEM,
		})
		if err != nil {
			t.Fatal(err)
		}
		src, err := auth.NewTokenSource(auth.Config{ConfigURL: sim.ConfigURL("acme/app"), Credentials: creds, Retry: fastPolicy})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := src.Token(ctxT(t)); err != nil {
			t.Fatalf("app id %s: %v", appID, err)
		}
	}
	// Wrong installation: a clear error naming the key.
	creds, _ := auth.FromSecretData(map[string][]byte{
		auth.KeyGitHubAppID:             []byte("4242"),
		auth.KeyGitHubAppInstallationID: []byte("778"),
		auth.KeyGitHubAppPrivateKey:     keyPEM,
	})
	src, err := auth.NewTokenSource(auth.Config{ConfigURL: sim.ConfigURL("acme"), Credentials: creds, Retry: fastPolicy})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.Token(ctxT(t)); !errors.Is(err, auth.ErrUnauthorized) || !strings.Contains(err.Error(), "github_app_installation_id") {
		t.Fatalf("wrong installation: %v", err)
	}
	// Enterprise with an App is refused before any request.
	if _, err := auth.NewTokenSource(auth.Config{ConfigURL: sim.ConfigURL("enterprises/big"), Credentials: creds}); !errors.Is(err, auth.ErrEnterpriseApp) {
		t.Fatalf("enterprise App: %v", err)
	}
}

// TestContractAdminTokenRefresh: the admin token is replaced when less than 60 s are left, on
// the simulator's and the client's shared fake clock.
func TestContractAdminTokenRefresh(t *testing.T) {
	fc := clocktesting.NewFakeClock(time.Now())
	sim := startSim(t, simulator.Options{Clock: fc, AdminTokenTTL: 3 * time.Minute})
	e := newEnv(t, sim, "acme", func(a *auth.Config, c *actions.Config) { a.Clock = fc; c.Clock = fc })
	ctx := ctxT(t)
	if _, err := e.client.GetRunnerGroupByName(ctx, "default"); err != nil {
		t.Fatal(err)
	}
	if n := sim.Counters().Endpoint(simulator.EPRunnerRegistration); n != 0 {
		t.Fatalf("default group lookup ran the token chain (%d)", n)
	}
	if _, err := e.client.GetScaleSet(ctx, 1, "x"); err != nil {
		t.Fatal(err)
	}
	fc.Step(time.Minute + 59*time.Second) // 61 s left
	if _, err := e.client.GetScaleSet(ctx, 1, "x"); err != nil {
		t.Fatal(err)
	}
	if n := sim.Counters().Endpoint(simulator.EPRunnerRegistration); n != 1 {
		t.Fatalf("%d exchanges with 61 s left, want 1", n)
	}
	fc.Step(2 * time.Second) // 59 s left
	if _, err := e.client.GetScaleSet(ctx, 1, "x"); err != nil {
		t.Fatal(err)
	}
	if n := sim.Counters().Endpoint(simulator.EPRunnerRegistration); n != 2 {
		t.Fatalf("%d exchanges with 59 s left, want 2", n)
	}
}

// TestContractAdminToken401: the service rejects an admin token the client still thinks valid
// (clock skew): the client drops it, runs the chain again and the call succeeds.
func TestContractAdminToken401(t *testing.T) {
	simClock := clocktesting.NewFakeClock(time.Now())
	clientClock := clocktesting.NewFakeClock(time.Now())
	sim := startSim(t, simulator.Options{Clock: simClock, AdminTokenTTL: 3 * time.Minute})
	e := newEnv(t, sim, "acme", func(a *auth.Config, c *actions.Config) { a.Clock = clientClock; c.Clock = clientClock })
	ctx := ctxT(t)
	if _, err := e.client.GetScaleSet(ctx, 1, "x"); err != nil {
		t.Fatal(err)
	}
	simClock.Step(5 * time.Minute)
	if _, err := e.client.GetScaleSet(ctx, 1, "x"); err != nil {
		t.Fatal(err)
	}
	if n := sim.Counters().Endpoint(simulator.EPRunnerRegistration); n != 2 {
		t.Fatalf("%d exchanges, want 2", n)
	}
}

func TestContractScaleSets(t *testing.T) {
	sim := startSim(t, simulator.Options{})
	e := newEnv(t, sim, "acme")
	c := e.client
	ctx := ctxT(t)

	def, err := c.GetRunnerGroupByName(ctx, "")
	if err != nil || def.ID != 1 {
		t.Fatalf("default group %+v %v", def, err)
	}
	gpu := sim.AddRunnerGroup("gpu")
	g, err := c.GetRunnerGroupByName(ctx, "gpu")
	if err != nil || g.ID != gpu.ID || g.Name != "gpu" {
		t.Fatalf("gpu group %+v %v", g, err)
	}
	_, err = c.GetRunnerGroupByName(ctx, "missing")
	mustIs(t, err, actions.ErrRunnerGroupNotFound)

	if ss, err := c.GetScaleSet(ctx, 1, "arc"); ss != nil || err != nil {
		t.Fatalf("absent scale set: %+v %v", ss, err)
	}
	created, err := c.CreateScaleSet(ctx, &actions.RunnerScaleSet{Name: "arc", RunnerGroupID: 1, Labels: []actions.Label{{Name: "arc"}, {Name: "linux"}}, RunnerSetting: actions.RunnerSetting{DisableUpdate: true}})
	if err != nil {
		t.Fatal(err)
	}
	if created.ID == 0 || created.Name != "arc" || created.RunnerGroupID != 1 || len(created.Labels) != 2 || created.Labels[0].Type != "System" || !created.RunnerSetting.DisableUpdate {
		t.Fatalf("created %+v", created)
	}
	_, err = c.CreateScaleSet(ctx, &actions.RunnerScaleSet{Name: "arc", RunnerGroupID: 1})
	mustIs(t, err, actions.ErrScaleSetExists)

	byName, err := c.GetScaleSet(ctx, 1, "arc")
	if err != nil || byName == nil || byName.ID != created.ID {
		t.Fatalf("by name %+v %v", byName, err)
	}
	byID, err := c.GetScaleSetByID(ctx, created.ID)
	if err != nil || byID.Name != "arc" || byID.Statistics == nil {
		t.Fatalf("by id %+v %v", byID, err)
	}
	moved, err := c.UpdateScaleSet(ctx, created.ID, &actions.RunnerScaleSet{RunnerGroupID: gpu.ID})
	if err != nil || moved.RunnerGroupID != gpu.ID || moved.Name != "arc" || !moved.RunnerSetting.DisableUpdate {
		t.Fatalf("moved %+v %v", moved, err)
	}
	if err := c.DeleteScaleSet(ctx, created.ID); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetScaleSetByID(ctx, created.ID)
	mustIs(t, err, actions.ErrScaleSetNotFound)
	_, err = c.UpdateScaleSet(ctx, created.ID, &actions.RunnerScaleSet{Name: "x"})
	mustIs(t, err, actions.ErrScaleSetNotFound)
	if err := c.DeleteScaleSet(ctx, created.ID); err != nil {
		t.Fatalf("deleting a deleted scale set: %v", err)
	}
}

func createScaleSet(t *testing.T, c *actions.Client, name string) *actions.RunnerScaleSet {
	t.Helper()
	ss, err := c.CreateScaleSet(ctxT(t), &actions.RunnerScaleSet{Name: name, RunnerGroupID: 1, RunnerSetting: actions.RunnerSetting{DisableUpdate: true}})
	if err != nil {
		t.Fatal(err)
	}
	return ss
}

func TestContractSessions(t *testing.T) {
	sim := startSim(t, simulator.Options{})
	e := newEnv(t, sim, "acme/app")
	c := e.client
	ctx := ctxT(t)
	ss := createScaleSet(t, c, "arc")

	s, err := c.CreateSession(ctx, ss.ID, "listener-1")
	if err != nil {
		t.Fatal(err)
	}
	if s.SessionID == "" || s.OwnerName != "listener-1" || s.MessageQueueURL == "" || s.MessageQueueAccessToken == "" || s.Statistics == nil || s.RunnerScaleSet == nil || s.RunnerScaleSet.ID != ss.ID {
		t.Fatalf("session %+v", s)
	}
	_, err = c.CreateSession(ctx, ss.ID, "listener-2")
	mustIs(t, err, actions.ErrSessionConflict)

	r, err := c.RefreshSession(ctx, ss.ID, s.SessionID)
	if err != nil || r.MessageQueueAccessToken == "" || r.MessageQueueAccessToken == s.MessageQueueAccessToken {
		t.Fatalf("refresh %+v %v", r, err)
	}
	// The old token is no longer the session's; the new one works.
	if _, err := c.GetMessage(ctx, r.MessageQueueURL, r.MessageQueueAccessToken, 0, 1); err != nil {
		t.Fatal(err)
	}
	_, err = c.RefreshSession(ctx, ss.ID, "00000000-1111-2222-3333-444444444444")
	mustIs(t, err, actions.ErrSessionNotFound)

	if err := c.DeleteSession(ctx, ss.ID, s.SessionID); err != nil {
		t.Fatal(err)
	}
	err = c.DeleteSession(ctx, ss.ID, s.SessionID)
	mustIs(t, err, actions.ErrSessionNotFound)

	// A session of a missing scale set.
	_, err = c.CreateSession(ctx, 9999, "x")
	mustIs(t, err, actions.ErrScaleSetNotFound)

	// The MessageSession: Close frees the scale set for the next listener.
	ms, err := actions.OpenSession(ctx, c, ss.ID, "listener-3")
	if err != nil {
		t.Fatal(err)
	}
	if ms.Session().Statistics == nil {
		t.Fatal("no initial statistics")
	}
	if err := ms.Close(ctx); err != nil {
		t.Fatal(err)
	}
	ms2, err := actions.OpenSession(ctx, c, ss.ID, "listener-4")
	if err != nil {
		t.Fatalf("session after Close: %v", err)
	}
	// The service dropped the session (as after a crash): Close still succeeds.
	sim.DropSession(ss.ID)
	if err := ms2.Close(ctx); err != nil {
		t.Fatalf("Close of a dropped session: %v", err)
	}
}

func TestContractQueueTokenExpiry(t *testing.T) {
	sim := startSim(t, simulator.Options{})
	e := newEnv(t, sim, "acme")
	c := e.client
	ctx := ctxT(t)
	ss := createScaleSet(t, c, "arc")
	ms, err := actions.OpenSession(ctx, c, ss.ID, "me")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ms.Close(ctx) }()
	s := ms.Session()

	sim.ExpireQueueTokens()
	_, err = c.GetMessage(ctx, s.MessageQueueURL, s.MessageQueueAccessToken, 0, 1)
	mustIs(t, err, actions.ErrQueueTokenExpired)
	err = c.DeleteMessage(ctx, s.MessageQueueURL, s.MessageQueueAccessToken, 1)
	mustIs(t, err, actions.ErrQueueTokenExpired)
	_, err = c.AcquireJobs(ctx, ss.ID, s.MessageQueueAccessToken, []int64{1})
	mustIs(t, err, actions.ErrQueueTokenExpired)

	// The session refreshes once and goes on.
	if _, err := ms.GetMessage(ctx, 0, 1); err != nil {
		t.Fatal(err)
	}
	if n := sim.Counters().Endpoint(simulator.EPRefreshSession); n != 1 {
		t.Errorf("%d refreshes, want 1", n)
	}
	for _, op := range []func() error{
		func() error { _, err := ms.AcquireJobs(ctx, []int64{12345}); return err },
		func() error { return ms.DeleteMessage(ctx, 1) },
	} {
		sim.ExpireQueueTokens()
		if err := op(); err != nil {
			t.Fatal(err)
		}
	}
	if n := sim.Counters().Endpoint(simulator.EPRefreshSession); n != 3 {
		t.Errorf("%d refreshes, want 3", n)
	}
	// A session the service forgot: the refresh's 404 is ErrSessionNotFound, so the caller
	// opens a new session.
	sim.DropSession(ss.ID)
	sim.ExpireQueueTokens()
	_, err = ms.GetMessage(ctx, 0, 1)
	if !errors.Is(err, actions.ErrSessionNotFound) {
		t.Fatalf("refresh of a dropped session: %v", err)
	}
}

func TestContractVanishedScaleSet(t *testing.T) {
	sim := startSim(t, simulator.Options{})
	e := newEnv(t, sim, "acme")
	c := e.client
	ctx := ctxT(t)
	ss := createScaleSet(t, c, "arc")
	ms, err := actions.OpenSession(ctx, c, ss.ID, "me")
	if err != nil {
		t.Fatal(err)
	}
	sim.VanishScaleSet(ss.ID)
	_, err = ms.GetMessage(ctx, 0, 1)
	mustIs(t, err, actions.ErrScaleSetNotFound)
	_, err = c.GetScaleSetByID(ctx, ss.ID)
	mustIs(t, err, actions.ErrScaleSetNotFound)
	_, err = c.GenerateJitConfig(ctx, ss.ID, &actions.JitRunnerSetting{Name: "r"})
	mustIs(t, err, actions.ErrScaleSetNotFound)
	_, err = c.CreateSession(ctx, ss.ID, "me")
	mustIs(t, err, actions.ErrScaleSetNotFound)
	if err := ms.Close(ctx); err != nil {
		t.Fatalf("Close after the scale set vanished: %v", err)
	}
	if ss2, err := c.GetScaleSet(ctx, 1, "arc"); ss2 != nil || err != nil {
		t.Fatalf("lookup by name after vanish: %+v %v", ss2, err)
	}
	// Re-registering works.
	again := createScaleSet(t, c, "arc")
	if again.ID == ss.ID {
		t.Error("re-created scale set reused the id")
	}
}

func TestContractRunners(t *testing.T) {
	sim := startSim(t, simulator.Options{})
	e := newEnv(t, sim, "acme")
	c := e.client
	ctx := ctxT(t)
	ss := createScaleSet(t, c, "arc")

	jit, err := c.GenerateJitConfig(ctx, ss.ID, &actions.JitRunnerSetting{Name: "arc-runner-1", WorkFolder: "/work"})
	if err != nil {
		t.Fatal(err)
	}
	if jit.Runner.ID == 0 || jit.Runner.Name != "arc-runner-1" || jit.Runner.RunnerScaleSetID != ss.ID || jit.EncodedJITConfig == "" {
		t.Fatalf("jit %+v", jit)
	}
	_, err = c.GenerateJitConfig(ctx, ss.ID, &actions.JitRunnerSetting{Name: "arc-runner-1"})
	mustIs(t, err, actions.ErrRunnerExists)

	r, err := c.GetRunner(ctx, jit.Runner.ID)
	if err != nil || r.Name != "arc-runner-1" || r.RunnerScaleSetID != ss.ID {
		t.Fatalf("runner %+v %v", r, err)
	}
	r, err = c.GetRunnerByName(ctx, "arc-runner-1")
	if err != nil || r == nil || r.ID != jit.Runner.ID {
		t.Fatalf("by name %+v %v", r, err)
	}
	if r, err := c.GetRunnerByName(ctx, "nobody"); r != nil || err != nil {
		t.Fatalf("absent by name %+v %v", r, err)
	}
	if err := c.RemoveRunner(ctx, jit.Runner.ID); err != nil {
		t.Fatal(err)
	}
	if err := c.RemoveRunner(ctx, jit.Runner.ID); err != nil {
		t.Fatalf("removing a removed runner: %v", err)
	}
	_, err = c.GetRunner(ctx, jit.Runner.ID)
	mustIs(t, err, actions.ErrRunnerNotFound)
	if _, err := sim.ConnectRunner(jit.EncodedJITConfig); err == nil {
		t.Error("a removed runner's JIT config still connects")
	}
}

// TestContractInjectedErrors: the simulator's injected faults map to the typed errors.
func TestContractInjectedErrors(t *testing.T) {
	sim := startSim(t, simulator.Options{})
	e := newEnv(t, sim, "acme", func(_ *auth.Config, c *actions.Config) { c.Retry = &actions.RetryConfig{} })
	c := e.client
	ctx := ctxT(t)
	ss := createScaleSet(t, c, "arc")

	remove := sim.InjectFault(simulator.Fault{Endpoint: simulator.EPCreateSession, Status: 409})
	_, err := c.CreateSession(ctx, ss.ID, "x")
	mustIs(t, err, actions.ErrSessionConflict)
	remove()

	remove = sim.InjectFault(simulator.Fault{Endpoint: simulator.EPGetScaleSet, Status: 404})
	_, err = c.GetScaleSetByID(ctx, ss.ID)
	mustIs(t, err, actions.ErrScaleSetNotFound)
	remove()

	remove = sim.InjectFault(simulator.Fault{Endpoint: simulator.EPRemoveRunner, Status: 400})
	err = c.RemoveRunner(ctx, 1)
	mustIs(t, err, actions.ErrJobStillRunning)
	remove()

	remove = sim.InjectFault(simulator.Fault{Endpoint: simulator.EPGenerateJitConfig, Status: 409})
	_, err = c.GenerateJitConfig(ctx, ss.ID, &actions.JitRunnerSetting{Name: "r"})
	mustIs(t, err, actions.ErrRunnerExists)
	remove()

	remove = sim.InjectFault(simulator.Fault{Endpoint: simulator.EPGetScaleSetByName, Status: 401, Count: 2})
	_, err = c.GetScaleSet(ctx, 1, "arc")
	mustIs(t, err, actions.ErrUnauthorized)
	remove()

	remove = sim.InjectFault(simulator.Fault{Endpoint: simulator.EPDeleteSession, Status: 400})
	err = c.DeleteSession(ctx, ss.ID, "s")
	mustIs(t, err, actions.ErrSessionNotFound)
	remove()

	ms, err := actions.OpenSession(ctx, c, ss.ID, "x")
	if err != nil {
		t.Fatal(err)
	}
	s := ms.Session()
	remove = sim.InjectFault(simulator.Fault{Endpoint: simulator.EPAcquireJobs, EmptyBody: true})
	_, err = c.AcquireJobs(ctx, ss.ID, s.MessageQueueAccessToken, []int64{1})
	mustIs(t, err, actions.ErrEmptyResponse)
	remove()

	remove = sim.InjectFault(simulator.Fault{Endpoint: simulator.EPGetMessage, EmptyBody: true})
	_, err = c.GetMessage(ctx, s.MessageQueueURL, s.MessageQueueAccessToken, 0, 1)
	mustIs(t, err, actions.ErrEmptyResponse)
	// The session treats a persistent empty 200 as no message.
	if m, err := ms.GetMessage(ctx, 0, 1); m != nil || err != nil {
		t.Fatalf("session on empty 200: %v %v", m, err)
	}
	remove()

	remove = sim.InjectFault(simulator.Fault{Endpoint: simulator.EPGetMessage, Status: 401})
	_, err = c.GetMessage(ctx, s.MessageQueueURL, s.MessageQueueAccessToken, 0, 1)
	mustIs(t, err, actions.ErrQueueTokenExpired)
	remove()

	// Exhausted retries keep the last answer.
	e2 := newEnv(t, sim, "acme")
	remove = sim.InjectFault(simulator.Fault{Endpoint: simulator.EPGetScaleSet, Status: 503})
	_, err = e2.client.GetScaleSetByID(ctx, ss.ID)
	var ae *actions.Error
	if !errors.As(err, &ae) || ae.StatusCode != 503 || ae.Attempts != 5 {
		t.Fatalf("after retries: %v", err)
	}
	remove()
	// 501 is not retried.
	before := sim.Counters().Endpoint(simulator.EPGetScaleSet)
	remove = sim.InjectFault(simulator.Fault{Endpoint: simulator.EPGetScaleSet, Status: 501})
	_, err = e2.client.GetScaleSetByID(ctx, ss.ID)
	if !errors.As(err, &ae) || ae.StatusCode != 501 || sim.Counters().Endpoint(simulator.EPGetScaleSet)-before != 1 {
		t.Fatalf("501: %v", err)
	}
	remove()
	_ = ms.Close(ctx)
}

// TestContractRetryAfter: a 429 with a Retry-After within the longest backoff (WaitMax) is
// waited out and retried; a longer one fails at once with a *ratelimit.Error, not sleeping.
func TestContractRetryAfter(t *testing.T) {
	sim := startSim(t, simulator.Options{})
	e := newEnv(t, sim, "acme", withWaitMax(2*time.Second))
	ctx := ctxT(t)
	ss := createScaleSet(t, e.client, "arc")
	sim.InjectFault(simulator.Fault{Endpoint: simulator.EPGetScaleSet, Status: 429, RetryAfter: time.Second, Count: 1})
	start := time.Now()
	if _, err := e.client.GetScaleSetByID(ctx, ss.ID); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < time.Second {
		t.Errorf("Retry-After: 1 not honoured: retried after %s", d)
	}
	if n := sim.Counters().Faults[simulator.EPGetScaleSet]; n != 1 {
		t.Errorf("%d faulted requests", n)
	}

	sim.InjectFault(simulator.Fault{Endpoint: simulator.EPGetScaleSet, Status: 429, RetryAfter: time.Minute, Count: 1})
	start = time.Now()
	_, err := e.client.GetScaleSetByID(ctx, ss.ID)
	var rl *ratelimit.Error
	if !errors.As(err, &rl) || errors.Is(err, actions.ErrUnauthorized) || time.Until(rl.Until) < 50*time.Second {
		t.Fatalf("Retry-After: 60: %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("slept %s for a Retry-After beyond WaitMax", d)
	}
}

// withWaitMax lets the client wait out a Retry-After up to d inline.
func withWaitMax(d time.Duration) func(*auth.Config, *actions.Config) {
	return func(_ *auth.Config, c *actions.Config) {
		r := *fastRetry
		r.WaitMax = d
		c.Retry = &r
	}
}

func appKeyPEM(t *testing.T) []byte {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
}

// TestContractAccessDiagnosis: the simulator's refusals, shaped like GitHub's, are told apart:
// a classic token lacking the scope, a fine-grained token lacking the permission.
func TestContractAccessDiagnosis(t *testing.T) {
	sim := startSim(t, simulator.Options{Tokens: []simulator.Token{
		{Value: "ghp_repoonly", Scopes: []string{simulator.OAuthScopeRepo}},
		{Value: "github_pat_nothing", FineGrained: true},
	}})
	for token, reason := range map[string]string{"ghp_repoonly": auth.ReasonInsufficientScope, "github_pat_nothing": auth.ReasonInsufficientPermission} {
		creds, _ := auth.FromSecretData(map[string][]byte{auth.KeyGitHubToken: []byte(token)})
		src, err := auth.NewTokenSource(auth.Config{ConfigURL: sim.ConfigURL("acme"), Credentials: creds, Retry: fastPolicy})
		if err != nil {
			t.Fatal(err)
		}
		_, err = src.Token(ctxT(t))
		var ae *auth.AccessError
		if !errors.As(err, &ae) || ae.Reason != reason || !errors.Is(err, auth.ErrUnauthorized) {
			t.Errorf("%s: want %s, got %v", token, reason, err)
		}
	}
}

// TestContractAppDiagnosis: a GitHub App's refusals are explained by asking the simulator, as
// GitHub, where the installation is.
func TestContractAppDiagnosis(t *testing.T) {
	keyPEM := appKeyPEM(t)
	sim := startSim(t, simulator.Options{Apps: []simulator.App{{AppID: 4242, PrivateKeyPEM: keyPEM, Installations: []simulator.Installation{
		{ID: 801, Account: "other"},
		{ID: 802, Account: "acme", RepositorySelection: "selected", Repositories: []string{"web"}},
		{ID: 803, Account: "acme", Permissions: map[string]string{}},
	}}}})
	for _, tc := range []struct {
		installation, path, reason, want string
	}{
		{"801", "acme", auth.ReasonAppNotInstalled, "installed on other, not on acme"},
		{"802", "acme/app", auth.ReasonAppNotInstalled, "not installed on repository acme/app"},
		{"803", "acme", auth.ReasonInsufficientPermission, "Self-hosted runners: read and write"},
		{"999", "acme", auth.ReasonAppNotInstalled, "github_app_installation_id"},
	} {
		creds, err := auth.FromSecretData(map[string][]byte{auth.KeyGitHubAppID: []byte("4242"),
			auth.KeyGitHubAppInstallationID: []byte(tc.installation), auth.KeyGitHubAppPrivateKey: keyPEM})
		if err != nil {
			t.Fatal(err)
		}
		src, err := auth.NewTokenSource(auth.Config{ConfigURL: sim.ConfigURL(tc.path), Credentials: creds, Retry: fastPolicy})
		if err != nil {
			t.Fatal(err)
		}
		_, err = src.Token(ctxT(t))
		var ae *auth.AccessError
		if !errors.As(err, &ae) || ae.Reason != tc.reason || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("installation %s on %s: want %s (%q), got %v", tc.installation, tc.path, tc.reason, tc.want, err)
		}
	}
}
