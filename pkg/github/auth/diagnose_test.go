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
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"actions.dev/runnerset-apiserver/pkg/github/ratelimit"
)

// reply is one literal answer of GitHub.
type reply struct {
	status  int
	headers []string // name, value, ...
	body    string
}

// scriptedGitHub answers "METHOD path[?page=N]" with literal replies, and records the
// Authorization header of every request it answered.
type scriptedGitHub struct {
	*httptest.Server
	mu      sync.Mutex
	replies map[string]reply
	auth    map[string]string
}

func newScriptedGitHub(t *testing.T, replies map[string]reply) *scriptedGitHub {
	g := &scriptedGitHub{replies: replies, auth: map[string]string{}}
	g.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Method + " " + r.URL.Path
		if page := r.URL.Query().Get("page"); page != "" && page != "1" {
			key += "?page=" + page
		}
		g.mu.Lock()
		rep, ok := g.replies[key]
		g.auth[key] = r.Header.Get("Authorization")
		g.mu.Unlock()
		if !ok {
			rep = reply{status: 404, body: `{"message":"Not Found","documentation_url":"https://docs.github.com/rest"}`}
		}
		for i := 0; i+1 < len(rep.headers); i += 2 {
			w.Header().Set(rep.headers[i], strings.ReplaceAll(rep.headers[i+1], "{url}", g.URL))
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(rep.status)
		_, _ = io.WriteString(w, rep.body)
	}))
	t.Cleanup(g.Close)
	return g
}

func (g *scriptedGitHub) authOf(key string) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.auth[key]
}

const (
	regOrg        = "POST /api/v3/orgs/acme/actions/runners/registration-token"
	regRepo       = "POST /api/v3/repos/acme/app/actions/runners/registration-token"
	regEnterprise = "POST /api/v3/enterprises/big/actions/runners/registration-token"
	instToken     = "POST /api/v3/app/installations/777/access_tokens"
	getInst       = "GET /api/v3/app/installations/777"
	listRepos     = "GET /api/v3/installation/repositories"
	notAccessible = `{"message":"Resource not accessible by integration","documentation_url":"https://docs.github.com/rest/actions/self-hosted-runners"}`
)

var installationToken = reply{status: 201, body: `{"token":"ghs_installation","expires_at":"` + time.Now().Add(time.Hour).UTC().Format(time.RFC3339) + `"}`}

// accessCase is a refusal of the runner registration token, as GitHub sends it, and what it
// means.
type accessCase struct {
	name    string
	path    string // of the config URL
	app     bool
	replies map[string]reply
	reason  string   // "": a rate limit
	want    []string // in the message
}

// accessCases are GitHub's refusals, with its literal headers and bodies.
var accessCases = []accessCase{
	{name: "classic token lacking admin:org", path: "acme", replies: map[string]reply{
		regOrg: {403, []string{"X-OAuth-Scopes", "repo, workflow", "X-Accepted-OAuth-Scopes", "admin:org"}, `{"message":"Must have admin rights to Repository."}`}},
		reason: ReasonInsufficientScope, want: []string{"lacks the admin:org scope", "its scopes: repo, workflow", "github_token", "organization acme"}},
	{name: "classic token lacking repo, 404", path: "acme/app", replies: map[string]reply{
		regRepo: {404, []string{"X-OAuth-Scopes", "read:org"}, `{"message":"Not Found"}`}},
		reason: ReasonInsufficientScope, want: []string{"lacks the repo scope", "its scopes: read:org"}},
	{name: "classic token without any scope", path: "enterprises/big", replies: map[string]reply{
		regEnterprise: {403, []string{"X-OAuth-Scopes", ""}, `{"message":"Forbidden"}`}},
		reason: ReasonInsufficientScope, want: []string{"manage_runners:enterprise", "its scopes: none"}},
	{name: "classic token with admin:enterprise", path: "enterprises/big", replies: map[string]reply{
		regEnterprise: {404, []string{"X-OAuth-Scopes", "admin:enterprise"}, `{"message":"Not Found"}`}},
		reason: ReasonNotFound, want: []string{"githubConfigUrl {url}/enterprises/big", "does not exist or the credentials in github_token cannot see it"}},
	{name: "classic token with the scope, 404", path: "acme", replies: map[string]reply{
		regOrg: {404, []string{"X-OAuth-Scopes", "admin:org, repo"}, `{"message":"Not Found"}`}},
		reason: ReasonNotFound, want: []string{"githubConfigUrl {url}/acme (organization acme) does not exist"}},
	{name: "classic token with the scope, 403", path: "acme", replies: map[string]reply{
		regOrg: {403, []string{"X-OAuth-Scopes", "admin:org"}, `{"message":"Resource protected by organization SAML enforcement. You must grant your Personal Access token access to this organization."}`}},
		reason: ReasonInsufficientPermission, want: []string{"SAML enforcement", "owner of the organization"}},
	{name: "fine-grained token, 403", path: "acme", replies: map[string]reply{
		regOrg: {403, []string{"X-Accepted-GitHub-Permissions", "organization_self_hosted_runners=write"}, `{"message":"Resource not accessible by personal access token"}`}},
		reason: ReasonInsufficientPermission, want: []string{"Resource not accessible by personal access token", "Self-hosted runners: read and write"}},
	{name: "fine-grained token, repository 403", path: "acme/app", replies: map[string]reply{
		regRepo: {403, nil, `{"message":"Resource not accessible by personal access token"}`}},
		reason: ReasonInsufficientPermission, want: []string{"repository acme/app", "Administration: read and write"}},
	{name: "fine-grained token, 404", path: "acme/app", replies: map[string]reply{
		regRepo: {404, nil, `{"message":"Not Found"}`}},
		reason: ReasonNotFound, want: []string{"githubConfigUrl {url}/acme/app"}},
	{name: "token rejected", path: "acme", replies: map[string]reply{
		regOrg: {401, nil, `{"message":"Bad credentials"}`}},
		reason: ReasonUnauthorized, want: []string{"(401)", "check github_token"}},
	{name: "primary rate limit", path: "acme", replies: map[string]reply{
		regOrg: {403, []string{"X-RateLimit-Remaining", "0", "X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10), "X-OAuth-Scopes", "repo"},
			`{"message":"API rate limit exceeded for user ID 1."}`}},
		want: []string{"rate limit (primary, 403)", "API rate limit exceeded"}},

	{name: "App without that installation", path: "acme", app: true, replies: map[string]reply{
		instToken: installationToken, regOrg: {403, nil, notAccessible},
		getInst: {404, nil, `{"message":"Not Found"}`}},
		reason: ReasonAppNotInstalled, want: []string{"GitHub App 4242 has no installation 777", "github_app_installation_id"}},
	{name: "App installed on another organization", path: "acme", app: true, replies: map[string]reply{
		instToken: installationToken, regOrg: {404, nil, `{"message":"Not Found"}`},
		getInst: {200, nil, `{"id":777,"account":{"login":"other-org","type":"Organization"},"repository_selection":"all"}`}},
		reason: ReasonAppNotInstalled, want: []string{"installed on other-org, not on acme"}},
	{name: "App not installed on the repository", path: "acme/app", app: true, replies: map[string]reply{
		instToken: installationToken, regRepo: {404, nil, `{"message":"Not Found"}`},
		getInst: {200, nil, `{"id":777,"account":{"login":"ACME"},"repository_selection":"selected"}`},
		listRepos: {200, []string{"Link", `<{url}/api/v3/installation/repositories?page=2>; rel="next", <{url}/api/v3/installation/repositories?page=2>; rel="last"`},
			`{"total_count":2,"repositories":[{"full_name":"acme/web"}]}`},
		listRepos + "?page=2": {200, nil, `{"total_count":2,"repositories":[{"full_name":"acme/api"}]}`}},
		reason: ReasonAppNotInstalled, want: []string{"not installed on repository acme/app"}},
	{name: "App on the repository lacking a permission", path: "acme/app", app: true, replies: map[string]reply{
		instToken: installationToken, regRepo: {403, nil, notAccessible},
		getInst:   {200, nil, `{"id":777,"account":{"login":"acme"},"repository_selection":"selected"}`},
		listRepos: {200, nil, `{"total_count":1,"repositories":[{"full_name":"Acme/App"}]}`}},
		reason: ReasonInsufficientPermission, want: []string{"Resource not accessible by integration", "Administration: read and write"}},
	{name: "App on all the organization's repositories, 404", path: "acme/app", app: true, replies: map[string]reply{
		instToken: installationToken, regRepo: {404, nil, `{"message":"Not Found"}`},
		getInst: {200, nil, `{"id":777,"account":{"login":"acme"},"repository_selection":"all"}`}},
		reason: ReasonNotFound, want: []string{"githubConfigUrl {url}/acme/app", "github_app_id"}},
	{name: "App on the organization lacking a permission", path: "acme", app: true, replies: map[string]reply{
		instToken: installationToken, regOrg: {403, nil, notAccessible},
		getInst: {200, nil, `{"id":777,"account":{"login":"acme"},"repository_selection":"all"}`}},
		reason: ReasonInsufficientPermission, want: []string{"Self-hosted runners: read and write"}},
	{name: "App whose installation GitHub will not show", path: "acme", app: true, replies: map[string]reply{
		instToken: installationToken, regOrg: {403, nil, notAccessible},
		getInst: {403, nil, `{"message":"Forbidden"}`}},
		reason: ReasonInsufficientPermission, want: []string{"Self-hosted runners: read and write"}},
	{name: "App installation token 404", path: "acme", app: true, replies: map[string]reply{
		instToken: {404, nil, `{"message":"Not Found"}`}},
		reason: ReasonAppNotInstalled, want: []string{"no installation 777 (404)", "github_app_installation_id"}},
}

// TestAccessDiagnosis: GitHub's refusals of the runner registration token, with the headers and
// bodies GitHub sends, become an *AccessError saying why, still ErrUnauthorized; a rate limit is
// not one.
func TestAccessDiagnosis(t *testing.T) {
	for _, tc := range accessCases {
		t.Run(tc.name, func(t *testing.T) {
			g := newScriptedGitHub(t, tc.replies)
			creds := &Credentials{Token: "ghp_classic"}
			if tc.app {
				var err error
				creds, err = FromSecretData(map[string][]byte{KeyGitHubAppID: []byte("4242"), KeyGitHubAppInstallationID: []byte("777"), KeyGitHubAppPrivateKey: pkcs1PEM(rsaKey(t))})
				if err != nil {
					t.Fatal(err)
				}
			}
			s, err := NewTokenSource(Config{ConfigURL: g.URL + "/" + tc.path, Credentials: creds, Retry: fastPolicy})
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.Token(ctxT(t))
			if err == nil {
				t.Fatal("no error")
			}
			if tc.reason == "" {
				if !errors.Is(err, ratelimit.ErrRateLimited) || errors.Is(err, ErrUnauthorized) {
					t.Fatalf("want a rate limit, not a refusal: %v", err)
				}
			} else {
				var ae *AccessError
				if !errors.As(err, &ae) || ae.Reason != tc.reason || !errors.Is(err, ErrUnauthorized) {
					t.Fatalf("want %s, got %#v", tc.reason, err)
				}
			}
			for _, w := range tc.want {
				if w = strings.ReplaceAll(w, "{url}", g.URL); !strings.Contains(err.Error(), w) {
					t.Errorf("message %q lacks %q", err.Error(), w)
				}
			}
		})
	}
}

// TestAppDiagnosisAuthentication: the installation is looked up as the App (its JWT), the
// repositories as the installation (its token).
func TestAppDiagnosisAuthentication(t *testing.T) {
	g := newScriptedGitHub(t, map[string]reply{
		instToken: installationToken, regRepo: {404, nil, `{"message":"Not Found"}`},
		getInst:   {200, nil, `{"id":777,"account":{"login":"acme"},"repository_selection":"selected"}`},
		listRepos: {200, nil, `{"total_count":0,"repositories":[]}`},
	})
	for _, appID := range []string{"4242", "Iv23liClientID"} {
		creds, err := FromSecretData(map[string][]byte{KeyGitHubAppID: []byte(appID), KeyGitHubAppInstallationID: []byte("777"), KeyGitHubAppPrivateKey: pkcs1PEM(rsaKey(t))})
		if err != nil {
			t.Fatal(err)
		}
		s, err := NewTokenSource(Config{ConfigURL: g.URL + "/acme/app", Credentials: creds, Retry: fastPolicy})
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Token(ctxT(t))
		var ae *AccessError
		if !errors.As(err, &ae) || ae.Reason != ReasonAppNotInstalled {
			t.Fatalf("%s: %v", appID, err)
		}
		if a := g.authOf(getInst); !strings.HasPrefix(a, "Bearer ") {
			t.Errorf("%s: installation looked up with %q, want the App JWT", appID, a)
		}
		if a := g.authOf(listRepos); a != "token ghs_installation" {
			t.Errorf("%s: repositories listed with %q, want the installation token", appID, a)
		}
	}
}

// TestAccessErrorIsUnauthorized: existing callers keep matching ErrUnauthorized, and errors.As
// finds the reason through wrapping.
func TestAccessErrorIsUnauthorized(t *testing.T) {
	err := fmt.Errorf("actions: GetRunnerGroupByName: getting an admin token: %w", &AccessError{Reason: ReasonNotFound, Status: 404, Message: "m"})
	var ae *AccessError
	if !errors.Is(err, ErrUnauthorized) || !errors.As(err, &ae) || ae.Reason != ReasonNotFound {
		t.Fatal(err)
	}
}
