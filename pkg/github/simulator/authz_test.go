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
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"k8s.io/utils/ptr"
)

// testAccounts are what the tests that build REST URLs by hand speak to: the organization
// acme (declared with acme/app) and the enterprise big.
var testAccounts = []string{"acme/app", "enterprises/big"}

// restPaths are a scope's runner endpoints: method and path under /api/v3.
func restPaths(account string) [][2]string {
	base := "/orgs/" + account
	switch parts := strings.Split(account, "/"); {
	case parts[0] == "enterprises":
		base = "/" + account
	case len(parts) == 2:
		base = "/repos/" + account
	}
	return [][2]string{
		{"POST", base + "/actions/runners/registration-token"},
		{"GET", base + "/actions/runners"},
	}
}

func wantGitHubError(t *testing.T, r reply, status int, msg, doc string) {
	t.Helper()
	wantStatus(t, r, status)
	var e gitHubError
	r.decode(t, &e)
	if e.Message != msg || (doc != "" && e.DocumentationURL != doc) {
		t.Errorf("error %+v, want message %q and documentation_url %q", e, msg, doc)
	}
}

func TestUndeclaredAccountsAnswer404UntilDeclared(t *testing.T) {
	sim := newSim(t, Options{})
	cc := NewControlClient(sim.URL())
	for _, tc := range []struct {
		account string
		declare func() error
	}{
		{"acme", func() error { return sim.DeclareAccount("acme") }},
		{"acme/app", func() error { return cc.DeclareAccount("acme/app") }},
		{"enterprises/big", func() error { sim.ConfigURL("enterprises/big"); return nil }},
		{"Team-B/Repo", func() error { return sim.DeclareAccount("/team-b/repo/") }},
	} {
		for _, ep := range restPaths(tc.account) {
			r := call(t, ep[0], sim.URL()+"/api/v3"+ep[1], "Bearer "+DefaultPAT, nil)
			wantGitHubError(t, r, http.StatusNotFound, "Not Found", gitHubDocsURL)
			if r.header.Get("X-OAuth-Scopes") == "" || r.header.Get("X-RateLimit-Remaining") == "" {
				t.Errorf("%s %s: a 404 without the OAuth and rate-limit headers: %v", ep[0], ep[1], r.header)
			}
		}
		if err := tc.declare(); err != nil {
			t.Fatal(err)
		}
		for _, ep := range restPaths(tc.account) {
			want := map[string]int{"POST": http.StatusCreated, "GET": http.StatusOK}[ep[0]]
			wantStatus(t, call(t, ep[0], sim.URL()+ep[1], "Bearer "+DefaultPAT, nil), want)
		}
	}
	if got := sim.Accounts(); !slices.Equal(got, []string{"acme", "acme/app", "enterprises/big", "team-b", "team-b/repo"}) {
		t.Errorf("Accounts() = %v", got)
	}
	// Deleting an organization deletes its repositories.
	if err := cc.RemoveAccount("acme"); err != nil {
		t.Fatal(err)
	}
	for _, acc := range []string{"acme", "acme/app"} {
		wantStatus(t, call(t, "GET", sim.URL()+restPaths(acc)[1][1], "Bearer "+DefaultPAT, nil), http.StatusNotFound)
	}
	if err := cc.RemoveAccount("acme"); err == nil {
		t.Error("removing an unknown account succeeded")
	}
	if err := sim.DeclareAccount("a/b/c"); err == nil {
		t.Error("a path naming no account was declared")
	}
	if sim.ConfigURL("a/b/c") != sim.URL()+"/a/b/c" || slices.Contains(sim.Accounts(), "a/b/c") {
		t.Error("ConfigURL of a malformed path")
	}
}

func TestRunnerRegistrationOfAnUndeclaredAccount(t *testing.T) {
	sim := newSim(t, Options{Accounts: []string{"acme"}})
	r := call(t, "POST", sim.URL()+"/api/v3/orgs/acme/actions/runners/registration-token", "Bearer "+DefaultPAT, nil)
	wantStatus(t, r, http.StatusCreated)
	var reg struct{ Token string }
	r.decode(t, &reg)
	exchange := func(url string) reply {
		return call(t, "POST", sim.URL()+"/api/v3/actions/runner-registration", "RemoteAuth "+reg.Token,
			map[string]string{"url": url, "runner_event": "register"})
	}
	wantGitHubError(t, exchange(sim.URL()+"/ghost"), http.StatusNotFound, "Not Found", gitHubDocsURL)
	wantStatus(t, exchange(sim.URL()+"/acme"), http.StatusCreated)
	// A whole simulator of accounts, switched on at run time.
	if _, err := sim.UpdateSettings(Settings{AnyAccount: ptr.To(true)}); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, exchange(sim.URL()+"/ghost"), http.StatusForbidden) // exists now, but not the token's scope
	wantStatus(t, call(t, "GET", sim.URL()+"/orgs/ghost/actions/runners", "Bearer "+DefaultPAT, nil), http.StatusOK)
}

func TestClassicTokenScopes(t *testing.T) {
	sim := newSim(t, Options{Accounts: testAccounts, Tokens: []Token{
		{Value: "ghp_repo", Scopes: []string{"repo"}},
		{Value: "ghp_org", Scopes: []string{"admin:org", "workflow"}},
		{Value: "ghp_ent", Scopes: []string{"admin:enterprise"}},
	}})
	for _, tc := range []struct {
		token, account string
		ok             bool
		accepted       string
	}{
		{"ghp_repo", "acme/app", true, "repo"},
		{"ghp_repo", "acme", false, "admin:org"},
		{"ghp_repo", "enterprises/big", false, "admin:enterprise, manage_runners:enterprise"},
		{"ghp_org", "acme", true, "admin:org"},
		{"ghp_org", "acme/app", false, "repo"},
		{"ghp_ent", "enterprises/big", true, "admin:enterprise, manage_runners:enterprise"},
	} {
		for _, ep := range restPaths(tc.account) {
			r := call(t, ep[0], sim.URL()+"/api/v3"+ep[1], "token "+tc.token, nil)
			if got := r.header.Get("X-Accepted-OAuth-Scopes"); got != tc.accepted {
				t.Errorf("%s %s: X-Accepted-OAuth-Scopes %q, want %q", tc.token, ep[1], got, tc.accepted)
			}
			if r.header.Get("X-OAuth-Scopes") == "" {
				t.Errorf("%s %s: no X-OAuth-Scopes", tc.token, ep[1])
			}
			if !tc.ok {
				wantGitHubError(t, r, http.StatusForbidden, "Must have admin rights to Repository.",
					runnerDocs(scopeOfPath(t, tc.account), ep[0] == "POST"))
			} else if r.status/100 != 2 {
				t.Errorf("%s %s: status %d (%s)", tc.token, ep[1], r.status, r.body)
			}
		}
	}
	r := call(t, "GET", sim.URL()+"/orgs/acme/actions/runners", "Bearer ghp_org", nil)
	if got := r.header.Values("X-OAuth-Scopes"); !slices.Equal(got, []string{"admin:org, workflow"}) {
		t.Errorf("X-OAuth-Scopes %q", got)
	}
	// DefaultPAT is not accepted beside Tokens.
	wantStatus(t, call(t, "GET", sim.URL()+"/orgs/acme/actions/runners", "Bearer "+DefaultPAT, nil), http.StatusUnauthorized)
}

func scopeOfPath(t *testing.T, account string) scope {
	t.Helper()
	sc, _, err := parseAccount(account)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// TestTokenScopesChangeAtRunTime: a test fixes a token and watches its client recover.
func TestTokenScopesChangeAtRunTime(t *testing.T) {
	sim := newSim(t, Options{Accounts: testAccounts, Tokens: []Token{{Value: "ghp_narrow", Scopes: []string{"repo"}}}})
	cc := NewControlClient(sim.URL())
	u := sim.URL() + "/api/v3/orgs/acme/actions/runners/registration-token"
	wantStatus(t, call(t, "POST", u, "Bearer ghp_narrow", nil), http.StatusForbidden)
	tok, err := cc.GrantToken("ghp_narrow", []string{"admin:org"}, nil)
	if err != nil || !slices.Contains(tok.Scopes, "admin:org") {
		t.Fatalf("GrantToken = %+v, %v", tok, err)
	}
	r := call(t, "POST", u, "Bearer ghp_narrow", nil)
	wantStatus(t, r, http.StatusCreated)
	if got := r.header.Get("X-OAuth-Scopes"); got != "admin:org, repo" {
		t.Errorf("X-OAuth-Scopes after the grant: %q", got)
	}
	if _, err := cc.RevokeToken("ghp_narrow", []string{"admin:org"}, nil); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, call(t, "POST", u, "Bearer ghp_narrow", nil), http.StatusForbidden)
	if err := cc.SetToken(Token{Value: "ghp_new", Scopes: FullScopes()}); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, call(t, "POST", u, "Bearer ghp_new", nil), http.StatusCreated)
	if err := cc.RemoveToken("ghp_new"); err != nil {
		t.Fatal(err)
	}
	wantGitHubError(t, call(t, "POST", u, "Bearer ghp_new", nil), http.StatusUnauthorized, "Bad credentials", "")
	if _, err := cc.GrantToken("ghp_new", []string{"repo"}, nil); !errors.Is(err, ErrTokenNotFound) {
		t.Errorf("granting an unknown token: %v", err)
	}
	if toks, err := cc.Tokens(); err != nil || len(toks) != 1 || toks[0].Value != "ghp_narrow" {
		t.Errorf("Tokens = %+v, %v", toks, err)
	}
}

func TestFineGrainedTokenPermissions(t *testing.T) {
	const fg = "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz"
	sim := newSim(t, Options{Accounts: testAccounts, Tokens: []Token{{Value: fg}}})
	check := func(account string, wantPost, wantGet int) {
		t.Helper()
		for _, ep := range restPaths(account) {
			r := call(t, ep[0], sim.URL()+"/api/v3"+ep[1], "Bearer "+fg, nil)
			want := map[string]int{"POST": wantPost, "GET": wantGet}[ep[0]]
			if want == http.StatusForbidden {
				wantGitHubError(t, r, want, "Resource not accessible by personal access token", "")
			}
			wantStatus(t, r, want)
			if _, ok := r.header["X-Oauth-Scopes"]; ok {
				t.Errorf("a fine-grained token got X-OAuth-Scopes")
			}
		}
	}
	check("acme/app", http.StatusForbidden, http.StatusForbidden)
	check("acme", http.StatusForbidden, http.StatusForbidden)
	if _, err := sim.GrantToken(fg, nil, map[string]string{PermissionAdministration: "read", PermissionOrganizationSelfHostedRunners: "write"}); err != nil {
		t.Fatal(err)
	}
	check("acme/app", http.StatusForbidden, http.StatusOK) // registering needs write
	check("acme", http.StatusCreated, http.StatusOK)
	if _, err := sim.GrantToken(fg, nil, map[string]string{PermissionAdministration: "write"}); err != nil {
		t.Fatal(err)
	}
	check("acme/app", http.StatusCreated, http.StatusOK)
	// Fine-grained tokens cannot manage enterprise runners at all.
	check("enterprises/big", http.StatusForbidden, http.StatusForbidden)
	if _, err := sim.GrantToken(fg, nil, map[string]string{PermissionAdministration: "sometimes"}); err == nil {
		t.Error("an invalid permission level was granted")
	}
}

// TestPATsKeepEveryScope: a token of Options.PATs is a classic token with every scope, whatever
// its value looks like.
func TestPATsKeepEveryScope(t *testing.T) {
	sim := newSim(t, Options{Accounts: testAccounts, PATs: []string{"github_pat_old_style"}})
	for _, acc := range []string{"acme", "acme/app", "enterprises/big"} {
		r := call(t, "POST", sim.URL()+restPaths(acc)[0][1], "Bearer github_pat_old_style", nil)
		wantStatus(t, r, http.StatusCreated)
		if got := r.header.Get("X-OAuth-Scopes"); got != "admin:org, manage_runners:enterprise, repo" {
			t.Errorf("X-OAuth-Scopes %q", got)
		}
	}
}

func TestStartRefusesInvalidAccess(t *testing.T) {
	_, keyPEM := newAppKey(t)
	for name, o := range map[string]Options{
		"account":             {Accounts: []string{"a/b/c"}},
		"empty token":         {Tokens: []Token{{Scopes: []string{"repo"}}}},
		"permission level":    {Tokens: []Token{{Value: "github_pat_x", Permissions: map[string]string{"administration": "all"}}}},
		"installation org":    {Apps: []App{{AppID: 1, PrivateKeyPEM: keyPEM, Installations: []Installation{{ID: 5, Account: "acme/app"}}}}},
		"installation id":     {Apps: []App{{AppID: 1, PrivateKeyPEM: keyPEM, Installations: []Installation{{ID: 5, Account: "a"}, {ID: 5, Account: "b"}}}}},
		"selection":           {Apps: []App{{AppID: 1, PrivateKeyPEM: keyPEM, Installations: []Installation{{ID: 5, Account: "a", RepositorySelection: "some"}}}}},
		"repository of other": {Apps: []App{{AppID: 1, PrivateKeyPEM: keyPEM, Installations: []Installation{{ID: 5, Account: "a", Repositories: []string{"b/x"}}}}}},
	} {
		if s, err := Start(o); err == nil {
			s.Close()
			t.Errorf("%s: started", name)
		}
	}
}
