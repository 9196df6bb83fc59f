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

package auth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	jwt "github.com/golang-jwt/jwt/v4"
	clocktesting "k8s.io/utils/clock/testing"

	"actions.dev/runnerset-apiserver/pkg/github/actions/httpretry"
)

// fakeGitHub serves the token chain's three (four, for Apps) REST calls under /api/v3.
type fakeGitHub struct {
	*httptest.Server
	t   *testing.T
	clk func() time.Time

	mu             sync.Mutex
	calls          map[string]int
	regAuth        []string
	exchangeAuth   []string
	exchangeBodies [][]byte
	installAuth    []string
	regStatus      int
	exchangeStatus []int // answered in order, then 201
	exchangeBody   string
	installStatus  int
	adminTTL       time.Duration
	regGate        chan struct{}
}

func newFakeGitHub(t *testing.T, clk func() time.Time) *fakeGitHub {
	f := &fakeGitHub{t: t, clk: clk, calls: map[string]int{}, regStatus: 201, installStatus: 201, adminTTL: 10 * time.Minute}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeGitHub) count(name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[name]
}

func (f *fakeGitHub) adminJWT() string {
	now := f.clk()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{
		IssuedAt:  jwt.NewNumericDate(now.Add(-10 * time.Minute)),
		ExpiresAt: jwt.NewNumericDate(now.Add(f.adminTTL)),
	}).SignedString([]byte("service-secret"))
	if err != nil {
		f.t.Error(err)
	}
	return tok
}

func (f *fakeGitHub) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	p := r.URL.Path
	f.mu.Lock()
	switch {
	case r.Method == http.MethodPost && strings.HasSuffix(p, "/actions/runners/registration-token"):
		f.calls["registration-token:"+strings.TrimSuffix(strings.TrimPrefix(p, "/api/v3/"), "/actions/runners/registration-token")]++
		f.calls["registration-token"]++
		f.regAuth = append(f.regAuth, r.Header.Get("Authorization"))
		status, gate := f.regStatus, f.regGate
		f.mu.Unlock()
		if gate != nil {
			<-gate
		}
		switch status {
		case 201:
			writeJSON(w, 201, `{"token":"reg-token","expires_at":"2026-05-05T11:00:00Z"}`)
		case 403:
			writeJSON(w, 403, `{"message":"Resource not accessible by integration"}`)
		default:
			writeJSON(w, status, `{"message":"Bad credentials"}`)
		}
		return
	case r.Method == http.MethodPost && p == "/api/v3/actions/runner-registration":
		f.calls["exchange"]++
		f.exchangeAuth = append(f.exchangeAuth, r.Header.Get("Authorization"))
		f.exchangeBodies = append(f.exchangeBodies, body)
		status := 201
		if len(f.exchangeStatus) > 0 {
			status, f.exchangeStatus = f.exchangeStatus[0], f.exchangeStatus[1:]
		}
		custom := f.exchangeBody
		f.mu.Unlock()
		if status/100 != 2 {
			writeJSON(w, status, `{"message":"nope"}`)
			return
		}
		if custom != "" {
			writeJSON(w, status, custom)
			return
		}
		writeJSON(w, status, fmt.Sprintf(`{"url":"%s/tenant/1","token":"%s"}`, f.URL, f.adminJWT()))
		return
	case r.Method == http.MethodPost && strings.HasPrefix(p, "/api/v3/app/installations/") && strings.HasSuffix(p, "/access_tokens"):
		f.calls["installation-token"]++
		f.installAuth = append(f.installAuth, r.Header.Get("Authorization"))
		status := f.installStatus
		f.mu.Unlock()
		if status != 201 {
			writeJSON(w, status, `{"message":"Not Found"}`)
			return
		}
		writeJSON(w, 201, fmt.Sprintf(`{"token":"ghs_installation","expires_at":"%s"}`, time.Now().Add(time.Hour).UTC().Format(time.RFC3339)))
		return
	}
	f.mu.Unlock()
	http.Error(w, "unexpected "+r.Method+" "+p, 404)
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

var fastPolicy = &httpretry.Policy{MaxRetries: 4, WaitMin: time.Millisecond, WaitMax: 2 * time.Millisecond, AttemptTimeout: 10 * time.Second}

func patSource(t *testing.T, f *fakeGitHub, path string, mut ...func(*Config)) *Source {
	t.Helper()
	cfg := Config{ConfigURL: f.URL + "/" + path, Credentials: &Credentials{Token: "ghp_test"}, UserAgent: "ua-test", Retry: fastPolicy}
	for _, m := range mut {
		m(&cfg)
	}
	s, err := NewTokenSource(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestPATChainPerScope(t *testing.T) {
	f := newFakeGitHub(t, time.Now)
	for _, tc := range []struct{ path, want string }{
		{"acme", "registration-token:orgs/acme"},
		{"acme/app", "registration-token:repos/acme/app"},
		{"enterprises/big", "registration-token:enterprises/big"},
	} {
		s := patSource(t, f, tc.path)
		tok, err := s.Token(ctxT(t))
		if err != nil {
			t.Fatalf("%s: %v", tc.path, err)
		}
		if f.count(tc.want) != 1 {
			t.Errorf("%s: %v", tc.path, f.calls)
		}
		if tok.TenantURL.String() != f.URL+"/tenant/1/" {
			t.Errorf("tenant %s (no trailing slash added?)", tok.TenantURL)
		}
		if d := time.Until(tok.Expiry); d < 9*time.Minute || d > 11*time.Minute {
			t.Errorf("expiry %s from now", d)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, a := range f.regAuth {
		if a != "Bearer ghp_test" {
			t.Errorf("registration-token Authorization %q", a)
		}
	}
	for _, a := range f.exchangeAuth {
		if a != "RemoteAuth reg-token" {
			t.Errorf("exchange Authorization %q", a)
		}
	}
}

// TestExchangeBodyGolden: the runner-registration body, byte for byte (no HTML escaping,
// trailing new line).
func TestExchangeBodyGolden(t *testing.T) {
	f := newFakeGitHub(t, time.Now)
	s := patSource(t, f, "acme")
	if _, err := s.Token(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	got := string(f.exchangeBodies[0])
	f.mu.Unlock()
	want := `{"url":"` + f.URL + `/acme","runner_event":"register"}` + "\n"
	if got != want {
		t.Errorf("body %q, want %q", got, want)
	}
	b, err := EncodeRegistrationRequest("https://github.com/enterprises/a&b<c>")
	if err != nil {
		t.Fatal(err)
	}
	golden, err := os.ReadFile(filepath.Join("testdata", "golden", "runner-registration.json"))
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != string(golden) {
		t.Errorf("body %q, golden %q", b, golden)
	}
	if string(golden) != `{"url":"https://github.com/enterprises/a&b<c>","runner_event":"register"}`+"\n" {
		t.Errorf("golden drifted from the reference: %q", golden)
	}
}

func TestLazyRefresh(t *testing.T) {
	fc := clocktesting.NewFakeClock(time.Now())
	f := newFakeGitHub(t, fc.Now)
	s := patSource(t, f, "acme", func(c *Config) { c.Clock = fc })
	ctx := ctxT(t)
	first, err := s.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fc.Step(8*time.Minute + 59*time.Second) // 61 s left
	if tok, _ := s.Token(ctx); tok.Token != first.Token || f.count("exchange") != 1 {
		t.Fatalf("refreshed with 61 s left (%d exchanges)", f.count("exchange"))
	}
	fc.Step(2 * time.Second) // 59 s left
	tok, err := s.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if f.count("exchange") != 2 || f.count("registration-token") != 2 {
		t.Fatalf("not refreshed with 59 s left: %v", f.calls)
	}
	if !tok.Expiry.After(first.Expiry) {
		t.Error("refresh kept the old expiry")
	}
	s.Invalidate("someone else's token")
	if _, _ = s.Token(ctx); f.count("exchange") != 2 {
		t.Error("Invalidate of a stale token forced a refresh")
	}
	s.Invalidate(tok.Token)
	if _, _ = s.Token(ctx); f.count("exchange") != 3 {
		t.Error("Invalidate did not force a refresh")
	}
}

func TestConcurrentCallersShareOneRefresh(t *testing.T) {
	f := newFakeGitHub(t, time.Now)
	gate := make(chan struct{})
	f.regGate = gate
	s := patSource(t, f, "acme")
	const n = 10
	type res struct {
		tok AdminToken
		err error
	}
	out := make(chan res, n)
	for i := 0; i < n; i++ {
		go func() {
			tok, err := s.Token(ctxT(t))
			out <- res{tok, err}
		}()
	}
	waitFor(t, "every caller to wait on the one refresh", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.waiters == n-1
	})
	close(gate)
	var first string
	for i := 0; i < n; i++ {
		r := <-out
		if r.err != nil {
			t.Fatal(r.err)
		}
		if first == "" {
			first = r.tok.Token
		} else if r.tok.Token != first {
			t.Error("callers got different tokens")
		}
	}
	if f.count("registration-token") != 1 || f.count("exchange") != 1 {
		t.Errorf("%v, want one chain", f.calls)
	}
}

func TestCancelledRefresherDoesNotFailWaiters(t *testing.T) {
	f := newFakeGitHub(t, time.Now)
	gate := make(chan struct{})
	f.regGate = gate
	s := patSource(t, f, "acme")
	ctx1, cancel1 := context.WithCancel(context.Background())
	e1 := make(chan error, 1)
	go func() { _, err := s.Token(ctx1); e1 <- err }()
	waitFor(t, "the first refresh", func() bool { return f.count("registration-token") == 1 })
	e2 := make(chan error, 1)
	go func() { _, err := s.Token(ctxT(t)); e2 <- err }()
	waitFor(t, "the second caller to wait", func() bool { s.mu.Lock(); defer s.mu.Unlock(); return s.waiters == 1 })
	cancel1()
	if err := <-e1; !errors.Is(err, context.Canceled) {
		t.Fatalf("first caller: %v", err)
	}
	close(gate)
	if err := <-e2; err != nil {
		t.Fatalf("second caller failed with the first one's cancellation: %v", err)
	}
}

func TestAppChain(t *testing.T) {
	key := rsaKey(t)
	for _, appID := range []string{"12345", "Iv23liClientID"} {
		t.Run(appID, func(t *testing.T) {
			f := newFakeGitHub(t, time.Now)
			creds, err := FromSecretData(map[string][]byte{
				KeyGitHubAppID:             []byte(appID),
				KeyGitHubAppInstallationID: []byte("777"),
				KeyGitHubAppPrivateKey:     pkcs1PEM(key),
			})
			if err != nil {
				t.Fatal(err)
			}
			s, err := NewTokenSource(Config{ConfigURL: f.URL + "/acme/app", Credentials: creds, Retry: fastPolicy})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Token(ctxT(t)); err != nil {
				t.Fatal(err)
			}
			f.mu.Lock()
			defer f.mu.Unlock()
			if len(f.installAuth) != 1 || !strings.HasPrefix(f.installAuth[0], "Bearer ") {
				t.Fatalf("installation token requests %q", f.installAuth)
			}
			var claims jwt.RegisteredClaims
			_, err = jwt.ParseWithClaims(strings.TrimPrefix(f.installAuth[0], "Bearer "), &claims, func(*jwt.Token) (any, error) { return &key.PublicKey, nil })
			if err != nil {
				t.Fatalf("App JWT does not verify with the App's public key: %v", err)
			}
			if claims.Issuer != appID {
				t.Errorf("iss %q, want %q", claims.Issuer, appID)
			}
			if len(f.regAuth) != 1 || f.regAuth[0] != "token ghs_installation" {
				t.Errorf("registration-token Authorization %q", f.regAuth)
			}
			if f.calls["registration-token:repos/acme/app"] != 1 {
				t.Errorf("calls %v", f.calls)
			}
		})
	}
}

func TestEnterpriseAppRefused(t *testing.T) {
	creds, err := FromSecretData(map[string][]byte{
		KeyGitHubAppID:             []byte("1"),
		KeyGitHubAppInstallationID: []byte("2"),
		KeyGitHubAppPrivateKey:     pkcs1PEM(rsaKey(t)),
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = NewTokenSource(Config{ConfigURL: "https://github.com/enterprises/big", Credentials: creds})
	if !errors.Is(err, ErrEnterpriseApp) || !strings.Contains(err.Error(), "github_token") {
		t.Fatalf("err = %v", err)
	}
	if _, err := NewTokenSource(Config{ConfigURL: "https://github.com/a/b/c", Credentials: &Credentials{Token: "x"}}); err == nil {
		t.Fatal("bad config URL accepted")
	}
	if _, err := NewTokenSource(Config{ConfigURL: "https://github.com/a"}); err == nil {
		t.Fatal("no credentials accepted")
	}
}

func TestChainErrors(t *testing.T) {
	t.Run("pat 401", func(t *testing.T) {
		f := newFakeGitHub(t, time.Now)
		f.regStatus = 401
		_, err := patSource(t, f, "acme").Token(ctxT(t))
		if !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), "github_token") {
			t.Fatalf("err = %v", err)
		}
		if f.count("registration-token") != 1 {
			t.Errorf("401 on the REST call retried: %d", f.count("registration-token"))
		}
	})
	t.Run("pat 403", func(t *testing.T) {
		f := newFakeGitHub(t, time.Now)
		f.regStatus = 403
		_, err := patSource(t, f, "acme").Token(ctxT(t))
		if !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), "admin:org") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("registration 502 retried", func(t *testing.T) {
		f := newFakeGitHub(t, time.Now)
		f.regStatus = 502
		s := patSource(t, f, "acme")
		_, err := s.Token(ctxT(t))
		if err == nil || f.count("registration-token") != 5 {
			t.Fatalf("err %v after %d attempts", err, f.count("registration-token"))
		}
	})
	t.Run("installation 404", func(t *testing.T) {
		f := newFakeGitHub(t, time.Now)
		f.installStatus = 404
		creds, _ := FromSecretData(map[string][]byte{KeyGitHubAppID: []byte("1"), KeyGitHubAppInstallationID: []byte("99"), KeyGitHubAppPrivateKey: pkcs1PEM(rsaKey(t))})
		s, err := NewTokenSource(Config{ConfigURL: f.URL + "/acme", Credentials: creds, Retry: fastPolicy})
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Token(ctxT(t))
		if !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), "github_app_installation_id") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("exchange 401 retried then reported", func(t *testing.T) {
		f := newFakeGitHub(t, time.Now)
		f.exchangeStatus = []int{401, 401, 401, 401, 401, 401}
		_, err := patSource(t, f, "acme").Token(ctxT(t))
		if !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), "401") {
			t.Fatalf("err = %v", err)
		}
		if f.count("exchange") != 5 {
			t.Errorf("%d exchange attempts, want 5", f.count("exchange"))
		}
	})
	t.Run("exchange 403 then ok", func(t *testing.T) {
		f := newFakeGitHub(t, time.Now)
		f.exchangeStatus = []int{403, 401}
		if _, err := patSource(t, f, "acme").Token(ctxT(t)); err != nil {
			t.Fatal(err)
		}
		if f.count("exchange") != 3 {
			t.Errorf("%d exchange attempts, want 3", f.count("exchange"))
		}
	})
	t.Run("exchange 422 not retried", func(t *testing.T) {
		f := newFakeGitHub(t, time.Now)
		f.exchangeStatus = []int{422}
		_, err := patSource(t, f, "acme").Token(ctxT(t))
		if err == nil || errors.Is(err, ErrUnauthorized) || f.count("exchange") != 1 {
			t.Fatalf("err %v after %d attempts", err, f.count("exchange"))
		}
	})
	for name, body := range map[string]string{
		"no token":      `{"url":"http://x/tenant/"}`,
		"no url":        `{"token":"t"}`,
		"relative url":  `{"url":"/tenant/1/","token":"t"}`,
		"empty 2xx":     ``,
		"not json body": `<html>`,
	} {
		t.Run("exchange "+name, func(t *testing.T) {
			f := newFakeGitHub(t, time.Now)
			f.exchangeBody = body
			if body == "" {
				f.exchangeBody = " "
			}
			if _, err := patSource(t, f, "acme").Token(ctxT(t)); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestNonJWTAdminToken(t *testing.T) {
	fc := clocktesting.NewFakeClock(time.Now())
	f := newFakeGitHub(t, fc.Now)
	f.exchangeBody = "\xef\xbb\xbf" + `{"url":"http://127.0.0.1:1/tenant/9/","token":"opaque","token_schema":"OAuthAccessToken","use_v2_flow":true}`
	s := patSource(t, f, "acme", func(c *Config) { c.Clock = fc })
	tok, err := s.Token(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if !tok.Expiry.Equal(fc.Now().Add(UnknownExpiryLifetime)) {
		t.Errorf("expiry %s, want now + %s", tok.Expiry, UnknownExpiryLifetime)
	}
}

func TestTokenExpiry(t *testing.T) {
	exp := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	signed, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"exp": exp.Unix()}).SignedString([]byte("x"))
	if got, ok := TokenExpiry(signed); !ok || !got.Equal(exp) {
		t.Errorf("%s %t", got, ok)
	}
	// Expired tokens still yield their exp (no validation).
	old, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"exp": 1}).SignedString([]byte("x"))
	if got, ok := TokenExpiry(old); !ok || got.Unix() != 1 {
		t.Errorf("%s %t", got, ok)
	}
	for _, bad := range []string{"", "opaque", "a.b.c"} {
		if _, ok := TokenExpiry(bad); ok {
			t.Errorf("%q has an expiry", bad)
		}
	}
	noExp, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "x"}).SignedString([]byte("x"))
	if _, ok := TokenExpiry(noExp); ok {
		t.Error("token without exp has an expiry")
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
