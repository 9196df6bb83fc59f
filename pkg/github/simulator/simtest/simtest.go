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

// Package simtest starts GitHub simulators for tests (New) and drives one over the wire the
// way a scale set listener does, with plain net/http, for tests of the pieces around it (the
// runner emulator, a scaler's runner reconciler) that need scale sets, JIT configs and
// assigned jobs without the real Actions client. It lives apart from package simulator so
// that the simulator's command does not link package testing.
package simtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"actions.dev/runnerset-apiserver/pkg/github/actions"
	"actions.dev/runnerset-apiserver/pkg/github/simulator"
)

const apiVersion = "api-version=" + actions.APIVersion

// New starts a simulator for a test and closes it when the test ends.
func New(t testing.TB, o simulator.Options) *simulator.Simulator {
	t.Helper()
	s, err := simulator.Start(o)
	if err != nil {
		t.Fatalf("starting the GitHub simulator: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// Tenant is an admin of one Actions Service tenant, reached through the PAT token chain.
type Tenant struct {
	URL   string // the tenant base URL, ending in "/"
	Token string // the admin token
}

// Server is a simulator: *simulator.Simulator, or At(url) for one in another process.
type Server interface {
	URL() string
	ConfigURL(path string) string
}

// At is the simulator serving at url (e.g. a github-simulator process).
func At(url string) Server { return remote(strings.TrimSuffix(url, "/")) }

type remote string

func (r remote) URL() string                  { return string(r) }
func (r remote) ConfigURL(path string) string { return string(r) + "/" + path }

var _ Server = (*simulator.Simulator)(nil)

// Register runs the token chain (registration token, runner-registration) with the default
// PAT for a config path: "acme", "acme/app" or "enterprises/big".
func Register(t testing.TB, sim Server, path string) *Tenant {
	t.Helper()
	regPath := "/orgs/" + path
	if parts := strings.Split(path, "/"); len(parts) == 2 {
		regPath = "/repos/" + path
		if parts[0] == "enterprises" {
			regPath = "/" + path
		}
	}
	// Asking for the config URL first declares the account (a *simulator.Simulator's ConfigURL
	// does; one in another process must know it already).
	configURL := sim.ConfigURL(path)
	var reg struct {
		Token string `json:"token"`
	}
	must(t, do(t.Context(), "POST", sim.URL()+"/api/v3"+regPath+"/actions/runners/registration-token",
		"Bearer "+simulator.DefaultPAT, nil, http.StatusCreated, &reg))
	var out Tenant
	must(t, do(t.Context(), "POST", sim.URL()+"/api/v3/actions/runner-registration", "RemoteAuth "+reg.Token,
		map[string]string{"url": configURL, "runner_event": "register"}, http.StatusCreated, &struct {
			URL   *string `json:"url"`
			Token *string `json:"token"`
		}{&out.URL, &out.Token}))
	return &out
}

// CreateScaleSet creates a scale set in the default runner group; its name is its first label.
func (tn *Tenant) CreateScaleSet(t testing.TB, name string, labels ...string) actions.RunnerScaleSet {
	t.Helper()
	ls := []actions.Label{{Type: "System", Name: name}}
	for _, l := range labels {
		ls = append(ls, actions.Label{Type: "System", Name: l})
	}
	var rs actions.RunnerScaleSet
	must(t, do(t.Context(), "POST", tn.URL+"_apis/runtime/runnerscalesets?"+apiVersion, "Bearer "+tn.Token,
		actions.RunnerScaleSet{Name: name, RunnerGroupID: 1, Labels: ls, RunnerSetting: actions.RunnerSetting{DisableUpdate: true}},
		http.StatusOK, &rs))
	return rs
}

// GenerateJIT registers a runner and returns its JIT config.
func (tn *Tenant) GenerateJIT(t testing.TB, scaleSetID int, name string) actions.JitConfig {
	t.Helper()
	var jc actions.JitConfig
	must(t, do(t.Context(), "POST", tn.URL+"_apis/runtime/runnerscalesets/"+strconv.Itoa(scaleSetID)+"/generatejitconfig?"+apiVersion,
		"Bearer "+tn.Token, actions.JitRunnerSetting{Name: name}, http.StatusOK, &jc))
	return jc
}

// Listener is a message session that acquires every job it is offered, as ARC's listener
// does.
type Listener struct {
	tenant     *Tenant
	scaleSetID int
	session    actions.Session
	// Capacity is sent as X-ScaleSetMaxCapacity; default 2147483647 (no maximum).
	Capacity int
}

// Listen opens a message session for a scale set.
func (tn *Tenant) Listen(t testing.TB, scaleSetID int) *Listener {
	t.Helper()
	l := &Listener{tenant: tn, scaleSetID: scaleSetID, Capacity: 2147483647}
	must(t, do(t.Context(), "POST", tn.URL+"_apis/runtime/runnerscalesets/"+strconv.Itoa(scaleSetID)+"/sessions?"+apiVersion,
		"Bearer "+tn.Token, map[string]string{"ownerName": "simtest"}, http.StatusOK, &l.session))
	return l
}

// Run polls, acknowledges and acquires until ctx ends; it refreshes the session on 401 and
// deletes it on return. It returns nil when ctx ends, else the first unexpected answer.
func (l *Listener) Run(ctx context.Context) error {
	if err := l.run(ctx); err != nil && ctx.Err() == nil {
		return err
	}
	return nil
}

func (l *Listener) run(ctx context.Context) error {
	defer func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_ = do(ctx, "DELETE", l.tenant.URL+"_apis/runtime/runnerscalesets/"+strconv.Itoa(l.scaleSetID)+"/sessions/"+
			l.session.SessionID+"?"+apiVersion, "Bearer "+l.tenant.Token, nil, http.StatusNoContent, nil)
	}()
	var last int64
	for ctx.Err() == nil {
		u := l.session.MessageQueueURL
		if last > 0 {
			u += "&lastMessageId=" + strconv.FormatInt(last, 10)
		}
		var msg actions.Message
		status, err := send(ctx, "GET", u, "Bearer "+l.session.MessageQueueAccessToken, nil, &msg,
			"X-ScaleSetMaxCapacity", strconv.Itoa(l.Capacity))
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			return err
		case status == http.StatusAccepted:
			continue
		case status == http.StatusUnauthorized:
			if err := do(ctx, "PATCH", l.tenant.URL+"_apis/runtime/runnerscalesets/"+strconv.Itoa(l.scaleSetID)+"/sessions/"+
				l.session.SessionID+"?"+apiVersion, "Bearer "+l.tenant.Token, nil, http.StatusOK, &l.session); err != nil {
				return err
			}
			continue
		case status != http.StatusOK:
			return fmt.Errorf("poll: status %d", status)
		}
		last = msg.MessageID
		base, query, _ := strings.Cut(l.session.MessageQueueURL, "?")
		if err := do(ctx, "DELETE", base+"/"+strconv.FormatInt(msg.MessageID, 10)+"?"+query,
			"Bearer "+l.session.MessageQueueAccessToken, nil, http.StatusNoContent, nil); err != nil {
			return err
		}
		jobs, err := actions.ParseJobMessages(msg.Body)
		if err != nil {
			return err
		}
		var ids []int64
		for _, j := range jobs {
			if j.MessageType == actions.JobMessageAvailable {
				ids = append(ids, j.RunnerRequestID)
			}
		}
		if len(ids) > 0 {
			if err := do(ctx, "POST", l.tenant.URL+"_apis/runtime/runnerscalesets/"+strconv.Itoa(l.scaleSetID)+"/acquirejobs?"+apiVersion,
				"Bearer "+l.session.MessageQueueAccessToken, ids, http.StatusOK, nil); err != nil {
				return err
			}
		}
	}
	return nil
}

// Start runs the listener in the background until the test ends, failing the test if it
// stops with an error.
func (l *Listener) Start(t testing.TB) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("simtest listener: %v", err)
		}
	})
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// do sends a request and decodes the answer into out, failing unless the status is want.
func do(ctx context.Context, method, url, auth string, in any, want int, out any) error {
	status, err := send(ctx, method, url, auth, in, out)
	if err != nil {
		return err
	}
	if status != want {
		return fmt.Errorf("%s %s: status %d, want %d", method, url, status, want)
	}
	return nil
}

func send(ctx context.Context, method, url, auth string, in, out any, headers ...string) (int, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", auth)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	b = bytes.TrimPrefix(b, []byte{0xEF, 0xBB, 0xBF})
	if out != nil && resp.StatusCode/100 == 2 && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, errors.Join(fmt.Errorf("%s %s: decoding %q", method, url, b), err)
		}
	}
	return resp.StatusCode, nil
}
