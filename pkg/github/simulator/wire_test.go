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
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// envelope is the service's error body as it is on the wire.
type envelope struct {
	TypeName string `json:"typeName"`
	TypeKey  string `json:"typeKey"`
	Message  string `json:"message"`
	EventID  int    `json:"eventId"`
}

// TestErrorEnvelopesAsGitHubWritesThem: assembly-qualified type names, the class name as
// typeKey, and GitHub's wording where the reference gives it.
func TestErrorEnvelopesAsGitHubWritesThem(t *testing.T) {
	sim := newSim(t, Options{})
	tc := register(t, sim, "acme")
	rs := tc.createScaleSet("dev")
	base := "_apis/runtime/runnerscalesets/" + strconv.Itoa(rs.ID)
	tc.createSession(rs.ID)
	tc.generateJIT(rs.ID, "runner-1")
	const unknown = "4fd0ffb0-d365-4dae-99ff-8dae173984f9"

	cases := []struct {
		name         string
		method, path string
		body         string
		status       int
		typeName     string
		typeKey      string
		message      string // exact; "" to skip
	}{
		{"session conflict (ARC #4285)", "POST", base + "/sessions", `{"ownerName":"second"}`, http.StatusConflict,
			"GitHub.Actions.Runtime.WebApi.RunnerScaleSetSessionConflictException, GitHub.Actions.Runtime.WebApi",
			"RunnerScaleSetSessionConflictException", "The actions runner scaleset dev already has an active session."},
		{"delete unknown session (ARC #4285)", "DELETE", base + "/sessions/" + unknown, "", http.StatusBadRequest,
			"GitHub.Actions.Runtime.WebApi.RunnerScaleSetSessionExpiredException, GitHub.Actions.Runtime.WebApi",
			"RunnerScaleSetSessionExpiredException", "The session identifier " + unknown + " is not valid."},
		{"refresh unknown session (scaleset PR #123)", "PATCH", base + "/sessions/" + unknown, "", http.StatusNotFound,
			"GitHub.Actions.Runtime.WebApi.RunnerAdminException, GitHub.Actions.Runtime.WebApi",
			"RunnerAdminException", "runner referenced a session ID that doesn't exist in redis"},
		{"scale set not found", "GET", "_apis/runtime/runnerscalesets/999", "", http.StatusNotFound,
			"GitHub.Actions.Runtime.WebApi.RunnerScaleSetNotFoundException, GitHub.Actions.Runtime.WebApi",
			"RunnerScaleSetNotFoundException", ""},
		{"runner name taken", "POST", base + "/generatejitconfig", `{"name":"runner-1"}`, http.StatusConflict,
			"GitHub.DistributedTask.WebApi.AgentExistsException, GitHub.DistributedTask.WebApi", "AgentExistsException", ""},
		{"runner not found", "GET", "_apis/distributedtask/pools/0/agents/999", "", http.StatusNotFound,
			"GitHub.DistributedTask.WebApi.AgentNotFoundException, GitHub.DistributedTask.WebApi", "AgentNotFoundException", ""},
		{"no name", "POST", base + "/generatejitconfig", `{}`, http.StatusBadRequest,
			"System.ArgumentException, mscorlib", "ArgumentException", ""},
	}
	for _, tc2 := range cases {
		t.Run(tc2.name, func(t *testing.T) {
			r := tc.admin(tc2.method, tc2.path, bodyOrNil(tc2.body))
			wantStatus(t, r, tc2.status)
			var e envelope
			r.decode(t, &e)
			if e.TypeName != tc2.typeName || e.TypeKey != tc2.typeKey || e.EventID != 3000 {
				t.Errorf("envelope = %+v, want typeName %q, typeKey %q", e, tc2.typeName, tc2.typeKey)
			}
			if tc2.message != "" && e.Message != tc2.message {
				t.Errorf("message = %q, want %q", e.Message, tc2.message)
			}
		})
	}

	// An admin call without a token: the unauthorized envelope, also qualified.
	r := call(t, "GET", tc.url+base+"?"+api, "", nil)
	wantStatus(t, r, http.StatusUnauthorized)
	var e envelope
	r.decode(t, &e)
	if e.TypeName != "Microsoft.VisualStudio.Services.Common.VssUnauthorizedException, Microsoft.VisualStudio.Services.Common" ||
		e.TypeKey != "VssUnauthorizedException" {
		t.Errorf("401 envelope = %+v", e)
	}
}

func bodyOrNil(b string) any {
	if b == "" {
		return nil
	}
	return b
}

func TestTypeKey(t *testing.T) {
	for in, want := range map[string]string{
		"GitHub.Actions.Runtime.WebApi.RunnerScaleSetNotFoundException, GitHub.Actions.Runtime.WebApi": "RunnerScaleSetNotFoundException",
		"GitHub.Actions.Runtime.WebApi.RunnerScaleSetNotFoundException":                                "RunnerScaleSetNotFoundException",
		"System.ArgumentException, mscorlib":                                                           "ArgumentException",
		"Plain":                                                                                        "Plain",
	} {
		if got := typeKey(in); got != want {
			t.Errorf("typeKey(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestPathsWithDoubleSlashesAreServed: GitHub answers a path with "//" itself; the simulator
// serves it at its cleaned path instead of redirecting (ServeMux's 307), query and trailing
// slash kept.
func TestPathsWithDoubleSlashesAreServed(t *testing.T) {
	sim := newSim(t, Options{})
	tc := register(t, sim, "acme")
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	do := func(method, url, auth, body string) *http.Response {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", auth)
		req.Header.Set("Content-Type", "application/json")
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	tenant := strings.TrimSuffix(tc.url, "/")
	cases := []struct {
		name, method, url, auth, body string
		want                          int
	}{
		{"POST create scale set", "POST", tenant + "//_apis/runtime/runnerscalesets?" + api, "Bearer " + tc.token, `{"name":"linux"}`, http.StatusOK},
		{"GET scale set by name", "GET", tenant + "/_apis//runtime/runnerscalesets?name=linux&" + api, "Bearer " + tc.token, "", http.StatusOK},
		{"GET runner groups keeps its trailing slash", "GET", tenant + "//_apis/runtime/runnergroups//?groupName=Default&" + api, "Bearer " + tc.token, "", http.StatusOK},
		{"GitHub REST registration token", "POST", sim.URL() + "//api/v3/orgs/acme//actions/runners/registration-token", "Bearer " + DefaultPAT, "", http.StatusCreated},
		{"control API", "GET", sim.URL() + "//_sim/counters", "", "", http.StatusOK},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if resp := do(c.method, c.url, c.auth, c.body); resp.StatusCode != c.want {
				t.Errorf("%s %s: %d (Location %q), want %d", c.method, c.url, resp.StatusCode, resp.Header.Get("Location"), c.want)
			}
		})
	}
	if got := sim.ScaleSets(); len(got) != 1 || got[0].Name != "linux" {
		t.Errorf("scale sets after the POST: %+v", got)
	}
}

func TestCleanPath(t *testing.T) {
	for in, want := range map[string]string{
		"":                  "/",
		"/":                 "/",
		"//":                "/",
		"/a//b":             "/a/b",
		"/a//b/":            "/a/b/",
		"/tenant/1//_apis/": "/tenant/1/_apis/",
		"/a/./b/../c":       "/a/c",
		"/a/b":              "/a/b",
	} {
		if got := cleanPath(in); got != want {
			t.Errorf("cleanPath(%q) = %q, want %q", in, got, want)
		}
	}
}
