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
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	testingclock "k8s.io/utils/clock/testing"
)

func TestRegistrationTokenForEveryScope(t *testing.T) {
	sim := newSim(t, Options{Accounts: testAccounts})
	for _, prefix := range []string{"", "/api/v3"} {
		for _, path := range []string{"/repos/acme/app", "/orgs/acme", "/enterprises/big"} {
			u := sim.URL() + prefix + path + "/actions/runners/registration-token"
			r := call(t, "POST", u, "Bearer "+DefaultPAT, nil)
			wantStatus(t, r, http.StatusCreated)
			var out struct {
				Token     string `json:"token"`
				ExpiresAt string `json:"expires_at"`
			}
			r.decode(t, &out)
			if len(out.Token) != 29 {
				t.Errorf("%s: token %q, want 29 characters like GitHub's", u, out.Token)
			}
			exp, err := time.Parse(time.RFC3339, out.ExpiresAt)
			if err != nil || time.Until(exp) < 59*time.Minute {
				t.Errorf("%s: expires_at %q, want an RFC 3339 time an hour ahead", u, out.ExpiresAt)
			}
			if r.header.Get("X-GitHub-Request-Id") == "" || r.header.Get("X-RateLimit-Remaining") == "" {
				t.Errorf("%s: missing GitHub headers: %v", u, r.header)
			}
			// "token" is GitHub's other scheme word.
			wantStatus(t, call(t, "POST", u, "token "+DefaultPAT, nil), http.StatusCreated)
		}
	}
}

func TestBadCredentialsAnswerAsGitHub(t *testing.T) {
	sim := newSim(t, Options{PATs: []string{"ghp_good"}})
	for _, tc := range []struct{ method, path, auth, want string }{
		{"POST", "/api/v3/orgs/acme/actions/runners/registration-token", "Bearer ghp_wrong", "Bad credentials"},
		{"POST", "/orgs/acme/actions/runners/registration-token", "", "Requires authentication"},
		{"GET", "/api/v3/orgs/acme/actions/runners", "Bearer " + DefaultPAT, "Bad credentials"},
		{"POST", "/api/v3/actions/runner-registration", "RemoteAuth NOTATOKEN", "Bad credentials"},
	} {
		r := call(t, tc.method, sim.URL()+tc.path, tc.auth, `{"url":"`+sim.ConfigURL("acme")+`","runner_event":"register"}`)
		wantStatus(t, r, http.StatusUnauthorized)
		var e gitHubError
		r.decode(t, &e)
		if e.Message != tc.want || e.DocumentationURL == "" {
			t.Errorf("%s %s: %+v, want message %q and a documentation_url", tc.method, tc.path, e, tc.want)
		}
	}
	wantStatus(t, call(t, "POST", sim.URL()+"/orgs/acme/actions/runners/registration-token", "Bearer ghp_good", nil), http.StatusCreated)
}

func TestRunnerRegistration(t *testing.T) {
	fc := testingclock.NewFakeClock(time.Now())
	sim := newSim(t, Options{Clock: fc, AdminTokenTTL: 3 * time.Minute, Accounts: testAccounts})
	regToken := func(path string) string {
		r := call(t, "POST", sim.URL()+"/api/v3"+path+"/actions/runners/registration-token", "Bearer "+DefaultPAT, nil)
		wantStatus(t, r, http.StatusCreated)
		var out struct{ Token string }
		r.decode(t, &out)
		return out.Token
	}
	exchange := func(token, url string) reply {
		// Exactly what clients send: HTML escaping off, trailing newline.
		return call(t, "POST", sim.URL()+"/api/v3/actions/runner-registration", "RemoteAuth "+token,
			`{"url":"`+url+`","runner_event":"register"}`+"\n")
	}

	r := exchange(regToken("/orgs/acme"), sim.ConfigURL("acme"))
	wantStatus(t, r, http.StatusCreated)
	var out struct {
		URL         string `json:"url"`
		Token       string `json:"token"`
		TokenSchema string `json:"token_schema"`
	}
	r.decode(t, &out)
	if out.URL != sim.URL()+"/tenant/1/" || out.TokenSchema != "OAuthAccessToken" {
		t.Errorf("registration = %+v, want tenant 1 under the simulator", out)
	}
	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(out.Token, claims); err != nil {
		t.Fatalf("admin token is not a JWT: %v", err)
	}
	exp, err := claims.GetExpirationTime()
	if err != nil || exp == nil || !exp.Time.Equal(fc.Now().Add(3*time.Minute).Truncate(time.Second)) {
		t.Errorf("admin token exp = %v, want now + AdminTokenTTL", exp)
	}

	// The github.com form (no /api/v3) and the same scope again: the same tenant.
	r = call(t, "POST", sim.URL()+"/actions/runner-registration", "RemoteAuth "+regToken("/orgs/ACME"),
		map[string]string{"url": sim.ConfigURL("acme/"), "runner_event": "register"})
	wantStatus(t, r, http.StatusCreated)
	r.decode(t, &out)
	if out.URL != sim.URL()+"/tenant/1/" {
		t.Errorf("same scope got tenant %s, want tenant 1", out.URL)
	}
	// Another scope: another tenant.
	r = exchange(regToken("/repos/acme/app"), sim.ConfigURL("acme/app"))
	wantStatus(t, r, http.StatusCreated)
	r.decode(t, &out)
	if out.URL != sim.URL()+"/tenant/2/" {
		t.Errorf("repository scope got tenant %s, want tenant 2", out.URL)
	}

	// A token for one scope does not register another.
	wantStatus(t, exchange(regToken("/orgs/acme"), sim.ConfigURL("other")), http.StatusForbidden)
	// A config URL that points at nothing.
	wantStatus(t, exchange(regToken("/orgs/acme"), sim.ConfigURL("a/b/c")), http.StatusUnprocessableEntity)
	// Registration tokens expire after an hour.
	tok := regToken("/orgs/acme")
	fc.Step(time.Hour)
	wantStatus(t, exchange(tok, sim.ConfigURL("acme")), http.StatusUnauthorized)
}

func newAppKey(t *testing.T) (*rsa.PrivateKey, []byte) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return key, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
}

func appJWT(t *testing.T, key *rsa.PrivateKey, iss any, iat time.Time, lifetime time.Duration) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"iat": iat.Unix(), "exp": iat.Add(lifetime).Unix(), "iss": iss,
	}).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestAppInstallationToken(t *testing.T) {
	key, keyPEM := newAppKey(t)
	other, _ := newAppKey(t)
	sim := newSim(t, Options{Apps: []App{{AppID: 4242, ClientID: "Iv1.abc", InstallationID: 99, PrivateKeyPEM: keyPEM}}, Accounts: testAccounts})
	u := sim.URL() + "/api/v3/app/installations/99/access_tokens"
	iat := time.Now().Add(-60 * time.Second) // as clients do: 60 s in the past, 9 min lifetime

	for _, iss := range []any{"4242", 4242, "Iv1.abc"} {
		r := call(t, "POST", u, "Bearer "+appJWT(t, key, iss, iat, 10*time.Minute), nil)
		wantStatus(t, r, http.StatusCreated)
		var out struct {
			Token     string `json:"token"`
			ExpiresAt string `json:"expires_at"`
		}
		r.decode(t, &out)
		if !strings.HasPrefix(out.Token, "ghs_") || out.ExpiresAt == "" {
			t.Fatalf("installation token = %+v", out)
		}
		// The installation token works for repository and organization scopes, not enterprise.
		wantStatus(t, call(t, "POST", sim.URL()+"/api/v3/orgs/acme/actions/runners/registration-token", "Bearer "+out.Token, nil), http.StatusCreated)
		wantStatus(t, call(t, "POST", sim.URL()+"/api/v3/repos/acme/app/actions/runners/registration-token", "Bearer "+out.Token, nil), http.StatusCreated)
		wantStatus(t, call(t, "POST", sim.URL()+"/api/v3/enterprises/big/actions/runners/registration-token", "Bearer "+out.Token, nil), http.StatusForbidden)
	}

	for name, tc := range map[string]struct {
		jwt  string
		url  string
		want int
	}{
		"signed by another key": {appJWT(t, other, "4242", iat, 9*time.Minute), u, http.StatusUnauthorized},
		"unknown app":           {appJWT(t, key, "1", iat, 9*time.Minute), u, http.StatusUnauthorized},
		"expired":               {appJWT(t, key, "4242", time.Now().Add(-20*time.Minute), 9*time.Minute), u, http.StatusUnauthorized},
		"too long":              {appJWT(t, key, "4242", time.Now(), time.Hour), u, http.StatusUnauthorized},
		"not a JWT":             {"garbage", u, http.StatusUnauthorized},
		"other installation":    {appJWT(t, key, "4242", iat, 9*time.Minute), sim.URL() + "/app/installations/7/access_tokens", http.StatusNotFound},
	} {
		r := call(t, "POST", tc.url, "Bearer "+tc.jwt, nil)
		if r.status != tc.want {
			t.Errorf("%s: status %d, want %d (%s)", name, r.status, tc.want, r.body)
		}
	}
	// HS256 with the public key as secret is the classic algorithm-confusion attack.
	hs, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": "4242", "iat": iat.Unix(), "exp": iat.Add(9 * time.Minute).Unix()}).
		SignedString(x509.MarshalPKCS1PublicKey(&key.PublicKey))
	wantStatus(t, call(t, "POST", u, "Bearer "+hs, nil), http.StatusUnauthorized)
}

func TestListRunnersWithETagAndPages(t *testing.T) {
	sim := newSim(t, Options{RESTRateLimit: 100, Accounts: testAccounts})
	tc := register(t, sim, "acme")
	rs := tc.createScaleSet("linux", "big")
	var jits []string
	for i := range 3 {
		jits = append(jits, tc.generateJIT(rs.ID, "runner-"+strconv.Itoa(i)).EncodedJITConfig)
	}
	// A repository-scope scale set's runners are not the organization's.
	repo := register(t, sim, "acme/app")
	repo.generateJIT(repo.createScaleSet("linux").ID, "repo-runner")

	list := func(path, etag string) (reply, map[string]any) {
		t.Helper()
		var headers []string
		if etag != "" {
			headers = []string{"If-None-Match", etag}
		}
		r := call(t, "GET", sim.URL()+path, "Bearer "+DefaultPAT, nil, headers...)
		var m map[string]any
		if r.status == http.StatusOK {
			r.decode(t, &m)
		}
		return r, m
	}

	r, body := list("/api/v3/orgs/acme/actions/runners", "")
	wantStatus(t, r, http.StatusOK)
	if body["total_count"].(float64) != 3 || len(body["runners"].([]any)) != 3 {
		t.Fatalf("runners = %v", body)
	}
	first := body["runners"].([]any)[0].(map[string]any)
	if first["name"] != "runner-0" || first["status"] != "offline" || first["busy"] != false || first["os"] != "Linux" {
		t.Errorf("runner = %v", first)
	}
	if labels := first["labels"].([]any); len(labels) != 2 || labels[0].(map[string]any)["name"] != "linux" {
		t.Errorf("labels = %v", labels)
	}
	etag := r.header.Get("ETag")
	remaining := r.header.Get("X-RateLimit-Remaining")
	// Two registration tokens and this list were charged.
	if etag == "" || remaining != "97" {
		t.Fatalf("ETag %q, remaining %q", etag, remaining)
	}

	// Unchanged: 304, free of charge.
	r, _ = list("/orgs/acme/actions/runners", etag)
	wantStatus(t, r, http.StatusNotModified)
	if len(r.body) != 0 || r.header.Get("ETag") != etag || r.header.Get("X-RateLimit-Remaining") != remaining {
		t.Errorf("304: body %q, ETag %q, remaining %q", r.body, r.header.Get("ETag"), r.header.Get("X-RateLimit-Remaining"))
	}
	// A runner comes online: a new ETag.
	if _, err := sim.ConnectRunner(jits[1]); err != nil {
		t.Fatal(err)
	}
	r, body = list("/api/v3/orgs/acme/actions/runners", etag)
	wantStatus(t, r, http.StatusOK)
	if r.header.Get("ETag") == etag || body["runners"].([]any)[1].(map[string]any)["status"] != "online" {
		t.Errorf("after connect: ETag %q (was %q), runners %v", r.header.Get("ETag"), etag, body["runners"])
	}

	// Pagination.
	r, body = list("/api/v3/orgs/acme/actions/runners?per_page=2&page=2", "")
	wantStatus(t, r, http.StatusOK)
	if body["total_count"].(float64) != 3 || len(body["runners"].([]any)) != 1 ||
		body["runners"].([]any)[0].(map[string]any)["name"] != "runner-2" {
		t.Errorf("page 2 = %v", body)
	}
	if link := r.header.Get("Link"); !strings.Contains(link, `rel="prev"`) || !strings.Contains(link, `page=1`) {
		t.Errorf("Link = %q", link)
	}

	// Scopes.
	_, body = list("/repos/acme/app/actions/runners", "")
	if body["total_count"].(float64) != 1 {
		t.Errorf("repository runners = %v", body)
	}
	_, body = list("/enterprises/big/actions/runners", "")
	if body["total_count"].(float64) != 0 {
		t.Errorf("enterprise runners = %v", body)
	}
}

func TestRESTRateLimit(t *testing.T) {
	sim := newSim(t, Options{RESTRateLimit: 2, Accounts: testAccounts})
	u := sim.URL() + "/api/v3/orgs/acme/actions/runners"
	wantStatus(t, call(t, "GET", u, "Bearer "+DefaultPAT, nil), http.StatusOK)
	wantStatus(t, call(t, "GET", u, "Bearer "+DefaultPAT, nil), http.StatusOK)
	r := call(t, "GET", u, "Bearer "+DefaultPAT, nil)
	wantStatus(t, r, http.StatusForbidden)
	if r.header.Get("X-RateLimit-Remaining") != "0" || r.header.Get("X-RateLimit-Reset") == "" {
		t.Errorf("headers %v", r.header)
	}
}
