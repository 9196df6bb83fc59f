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
	"crypto/rsa"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

const testAppID = 4242

// appEnv is a simulator with one App, and a way to mint its installation tokens.
type appEnv struct {
	t   *testing.T
	sim *Simulator
	key *rsa.PrivateKey
}

func newAppEnv(t *testing.T, o Options, installations ...Installation) *appEnv {
	t.Helper()
	key, keyPEM := newAppKey(t)
	o.Apps = append(o.Apps, App{AppID: testAppID, ClientID: "Iv1.sim", PrivateKeyPEM: keyPEM, Installations: installations})
	return &appEnv{t: t, sim: newSim(t, o), key: key}
}

func (e *appEnv) jwt() string {
	return "Bearer " + appJWT(e.t, e.key, strconv.Itoa(testAppID), time.Now().Add(-time.Minute), 9*time.Minute)
}

// token mints an installation token; the access_tokens answer is returned too.
func (e *appEnv) token(id int64) (string, map[string]any) {
	e.t.Helper()
	r := call(e.t, "POST", e.sim.URL()+"/api/v3/app/installations/"+strconv.FormatInt(id, 10)+"/access_tokens", e.jwt(), nil)
	wantStatus(e.t, r, http.StatusCreated)
	var out map[string]any
	r.decode(e.t, &out)
	return out["token"].(string), out
}

func TestInstallationTokensSeeOnlyTheirInstallation(t *testing.T) {
	e := newAppEnv(t, Options{Accounts: []string{"acme/app", "acme/secret", "other/x"}},
		Installation{ID: 11, Account: "acme", RepositorySelection: SelectionSelected, Repositories: []string{"app"}},
		Installation{ID: 12, Account: "other", Permissions: map[string]string{PermissionMetadata: "read"}})
	tok, body := e.token(11)
	if body["repository_selection"] != "selected" || body["permissions"].(map[string]any)["administration"] != "write" {
		t.Errorf("access_tokens answer %v", body)
	}
	narrow, _ := e.token(12)
	for _, tc := range []struct {
		token, account string
		post, get      int
		msg            string
	}{
		{tok, "acme", http.StatusCreated, http.StatusOK, ""},
		{tok, "acme/app", http.StatusCreated, http.StatusOK, ""},
		{tok, "acme/secret", http.StatusNotFound, http.StatusNotFound, "Not Found"}, // not selected
		{tok, "other", http.StatusNotFound, http.StatusNotFound, "Not Found"},       // installed elsewhere
		{tok, "other/x", http.StatusNotFound, http.StatusNotFound, "Not Found"},
		{tok, "enterprises/big", http.StatusNotFound, http.StatusNotFound, "Not Found"}, // undeclared
		{narrow, "other", http.StatusForbidden, http.StatusForbidden, "Resource not accessible by integration"},
		{narrow, "other/x", http.StatusForbidden, http.StatusForbidden, "Resource not accessible by integration"},
	} {
		for _, ep := range restPaths(tc.account) {
			r := call(t, ep[0], e.sim.URL()+"/api/v3"+ep[1], "token "+tc.token, nil)
			want := map[string]int{"POST": tc.post, "GET": tc.get}[ep[0]]
			if tc.msg != "" {
				wantGitHubError(t, r, want, tc.msg, "")
			}
			wantStatus(t, r, want)
			if _, ok := r.header["X-Oauth-Scopes"]; ok {
				t.Errorf("an installation token got X-OAuth-Scopes")
			}
		}
	}
	// Enterprises are out of an App's reach, declared or not.
	if err := e.sim.DeclareAccount("enterprises/big"); err != nil {
		t.Fatal(err)
	}
	wantGitHubError(t, call(t, "POST", e.sim.URL()+"/enterprises/big/actions/runners/registration-token", "Bearer "+tok, nil),
		http.StatusForbidden, "Resource not accessible by integration", "")
}

// TestInstallingTheAppAtRunTime: a test installs the App where it was missing and watches
// its client recover; uninstalling revokes its tokens.
func TestInstallingTheAppAtRunTime(t *testing.T) {
	e := newAppEnv(t, Options{Accounts: []string{"acme", "other"}}, Installation{ID: 11, Account: "acme"})
	cc := NewControlClient(e.sim.URL())
	u := e.sim.URL() + "/api/v3/orgs/other/actions/runners/registration-token"
	tok, _ := e.token(11)
	wantStatus(t, call(t, "POST", u, "Bearer "+tok, nil), http.StatusNotFound)
	wantStatus(t, call(t, "POST", e.sim.URL()+"/app/installations/12/access_tokens", e.jwt(), nil), http.StatusNotFound)

	in, err := cc.Install(Installation{ID: 12, AppID: testAppID, Account: "other"})
	if err != nil || in.RepositorySelection != SelectionAll || in.Permissions[PermissionOrganizationSelfHostedRunners] != "write" {
		t.Fatalf("Install = %+v, %v", in, err)
	}
	other, _ := e.token(12)
	wantStatus(t, call(t, "POST", u, "Bearer "+other, nil), http.StatusCreated)
	// A replacement without the permission takes effect for tokens already issued.
	if _, err := cc.Install(Installation{ID: 12, AppID: testAppID, Account: "other", Permissions: map[string]string{}}); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, call(t, "POST", u, "Bearer "+other, nil), http.StatusForbidden)
	if err := cc.Uninstall(12); err != nil {
		t.Fatal(err)
	}
	wantGitHubError(t, call(t, "POST", u, "Bearer "+other, nil), http.StatusUnauthorized, "Bad credentials", "")
	if err := cc.Uninstall(12); err == nil {
		t.Error("uninstalling twice succeeded")
	}
	if _, err := cc.Install(Installation{AppID: 1, Account: "other"}); err == nil {
		t.Error("an unknown App was installed")
	}
	if all, err := cc.Installations(); err != nil || len(all) != 1 || all[0].ID != 11 || all[0].Account != "acme" {
		t.Errorf("Installations = %+v, %v", all, err)
	}
	// Installing declares the account: an App is only installed on what exists.
	in, err = e.sim.Install(Installation{AppID: testAppID, Account: "newco", RepositorySelection: SelectionSelected, Repositories: []string{"newco/web"}})
	if err != nil || in.ID <= 12 || !strings.Contains(strings.Join(e.sim.Accounts(), " "), "newco/web") {
		t.Errorf("Install on a new account = %+v, %v; accounts %v", in, err, e.sim.Accounts())
	}
}

func TestGetInstallation(t *testing.T) {
	other, otherPEM := newAppKey(t)
	e := newAppEnv(t, Options{Accounts: []string{"Acme"}, Apps: []App{{AppID: 4243, PrivateKeyPEM: otherPEM,
		Installations: []Installation{{ID: 21, Account: "other"}}}}},
		Installation{ID: 11, Account: "Acme", RepositorySelection: SelectionSelected})
	r := call(t, "GET", e.sim.URL()+"/api/v3/app/installations/11", e.jwt(), nil)
	wantStatus(t, r, http.StatusOK)
	var got struct {
		ID      int64 `json:"id"`
		Account struct {
			Login string `json:"login"`
			Type  string `json:"type"`
		} `json:"account"`
		RepositorySelection string            `json:"repository_selection"`
		AppID               int64             `json:"app_id"`
		ClientID            string            `json:"client_id"`
		Permissions         map[string]string `json:"permissions"`
	}
	r.decode(t, &got)
	if got.ID != 11 || got.Account.Login != "Acme" || got.Account.Type != "Organization" || got.RepositorySelection != "selected" ||
		got.AppID != testAppID || got.ClientID != "Iv1.sim" || got.Permissions[PermissionAdministration] != "write" {
		t.Errorf("installation = %+v", got)
	}
	wantGitHubError(t, call(t, "GET", e.sim.URL()+"/app/installations/99", e.jwt(), nil), http.StatusNotFound, "Not Found", "")
	wantStatus(t, call(t, "GET", e.sim.URL()+"/app/installations/11", "Bearer "+DefaultPAT, nil), http.StatusUnauthorized)
	// Another App's installation is not found either, nor can it mint its tokens.
	foreign := "Bearer " + appJWT(t, other, "4243", time.Now(), 5*time.Minute)
	wantStatus(t, call(t, "GET", e.sim.URL()+"/app/installations/21", foreign, nil), http.StatusOK)
	wantStatus(t, call(t, "GET", e.sim.URL()+"/app/installations/11", foreign, nil), http.StatusNotFound)
	wantStatus(t, call(t, "POST", e.sim.URL()+"/app/installations/11/access_tokens", foreign, nil), http.StatusNotFound)
	if _, err := e.sim.Install(Installation{ID: 21, AppID: testAppID, Account: "acme"}); err == nil {
		t.Error("an App took over another App's installation")
	}
}

func TestInstallationRepositories(t *testing.T) {
	e := newAppEnv(t, Options{Accounts: []string{"acme/a", "acme/b", "acme/c", "other/x"}},
		Installation{ID: 11, Account: "acme"},
		Installation{ID: 12, Account: "acme", RepositorySelection: SelectionSelected, Repositories: []string{"b"}})
	tok, _ := e.token(11)
	list := func(tok, query string) (reply, map[string]any) {
		r := call(t, "GET", e.sim.URL()+"/api/v3/installation/repositories"+query, "Bearer "+tok, nil)
		var m map[string]any
		if r.status == http.StatusOK {
			r.decode(t, &m)
		}
		return r, m
	}
	r, body := list(tok, "?per_page=2")
	wantStatus(t, r, http.StatusOK)
	repos := body["repositories"].([]any)
	first := repos[0].(map[string]any)
	if body["total_count"].(float64) != 3 || len(repos) != 2 || first["full_name"] != "acme/a" || first["name"] != "a" ||
		first["owner"].(map[string]any)["login"] != "acme" || first["id"].(float64) == 0 {
		t.Errorf("page 1 = %v", body)
	}
	if link := r.header.Get("Link"); !strings.Contains(link, `rel="next"`) || !strings.Contains(link, "page=2") {
		t.Errorf("Link = %q", link)
	}
	if r.header.Get("X-RateLimit-Remaining") == "" {
		t.Error("no rate-limit headers")
	}
	_, body = list(tok, "?per_page=2&page=2")
	if len(body["repositories"].([]any)) != 1 {
		t.Errorf("page 2 = %v", body)
	}
	selected, _ := e.token(12)
	_, body = list(selected, "")
	if body["total_count"].(float64) != 1 || body["repository_selection"] != "selected" {
		t.Errorf("selected = %v", body)
	}
	r, _ = list(DefaultPAT, "")
	wantGitHubError(t, r, http.StatusForbidden, msgInstallationTokenRequired, "")
	r, _ = list("ghs_unknown", "")
	wantStatus(t, r, http.StatusUnauthorized)
}
