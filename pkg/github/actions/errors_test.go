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

package actions

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"actions.dev/runnerset-apiserver/pkg/github/auth"
)

// TestErrorMapping: every typed error, from the answers the reference lists.
func TestErrorMapping(t *testing.T) {
	ts := newTestServer(t, nil)
	c := newTestClient(t, ts, func(cfg *Config) { cfg.Retry = &RetryConfig{} })
	ctx := ctxT(t)
	q := ts.URL + "/broker/message"
	envelope := func(typeName, msg string) string {
		return `{"typeName":"` + typeName + `","message":"` + msg + `"}`
	}
	cases := []struct {
		name   string
		status int
		body   string
		call   func() error
		want   []error
		notNil bool // the call must succeed (nil error)
	}{
		{"session conflict", 409, envelope("GitHub.Actions.Runtime.WebApi.RunnerScaleSetSessionConflictException", "The actions runner scaleset arc already has an active session."),
			func() error { _, err := c.CreateSession(ctx, 1, "me"); return err }, []error{ErrSessionConflict}, false},
		{"session conflict without type", 409, "",
			func() error { _, err := c.CreateSession(ctx, 1, "me"); return err }, []error{ErrSessionConflict}, false},
		{"create session on missing scale set", 404, envelope("GitHub.Actions.Runtime.WebApi.RunnerScaleSetNotFoundException", "not found"),
			func() error { _, err := c.CreateSession(ctx, 1, "me"); return err }, []error{ErrScaleSetNotFound}, false},
		{"refresh unknown session", 404, envelope("GitHub.DistributedTask.WebApi.RunnerAdminException", "Trying to refresh a session ID that doesn't exist"),
			func() error { _, err := c.RefreshSession(ctx, 1, "s"); return err }, []error{ErrSessionNotFound}, false},
		{"delete expired session", 400, envelope("GitHub.Actions.Runtime.WebApi.RunnerScaleSetSessionExpiredException", "The session identifier s is not valid."),
			func() error { return c.DeleteSession(ctx, 1, "s") }, []error{ErrSessionNotFound}, false},
		{"scale set by id gone", 404, envelope("GitHub.Actions.Runtime.WebApi.RunnerScaleSetNotFoundException", "No RunnerScaleSet found with identifier: 7"),
			func() error { _, err := c.GetScaleSetByID(ctx, 7); return err }, []error{ErrScaleSetNotFound}, false},
		{"scale set by id bare 404", 404, "",
			func() error { _, err := c.GetScaleSetByID(ctx, 7); return err }, []error{ErrScaleSetNotFound}, false},
		{"update gone scale set", 404, envelope("RunnerScaleSetNotFoundException", "gone"),
			func() error { _, err := c.UpdateScaleSet(ctx, 7, &RunnerScaleSet{Name: "x"}); return err }, []error{ErrScaleSetNotFound}, false},
		{"delete gone scale set is fine", 404, envelope("RunnerScaleSetNotFoundException", "gone"),
			func() error { return c.DeleteScaleSet(ctx, 7) }, nil, true},
		{"runner exists", 409, envelope("GitHub.DistributedTask.WebApi.AgentExistsException", "Agent arc-runner exists in pool 0"),
			func() error { _, err := c.GenerateJitConfig(ctx, 1, &JitRunnerSetting{Name: "arc-runner"}); return err }, []error{ErrRunnerExists}, false},
		{"runner not found", 404, envelope("GitHub.DistributedTask.WebApi.AgentNotFoundException", "no agent 3"),
			func() error { _, err := c.GetRunner(ctx, 3); return err }, []error{ErrRunnerNotFound}, false},
		{"runner bare 404", 404, "Not Found",
			func() error { _, err := c.GetRunner(ctx, 3); return err }, []error{ErrRunnerNotFound}, false},
		{"remove missing runner is fine", 404, envelope("AgentNotFoundException", "gone"),
			func() error { return c.RemoveRunner(ctx, 3) }, nil, true},
		{"job still running", 400, envelope("GitHub.DistributedTask.WebApi.JobStillRunningException", "busy"),
			func() error { return c.RemoveRunner(ctx, 3) }, []error{ErrJobStillRunning}, false},
		{"queue token expired on get", 401, "",
			func() error { _, err := c.GetMessage(ctx, q, "mq", 0, 1); return err }, []error{ErrQueueTokenExpired}, false},
		{"queue token expired on delete", 401, "",
			func() error { return c.DeleteMessage(ctx, q, "mq", 1) }, []error{ErrQueueTokenExpired}, false},
		{"queue token expired on acquire", 401, "",
			func() error { _, err := c.AcquireJobs(ctx, 1, "mq", []int64{1}); return err }, []error{ErrQueueTokenExpired}, false},
		{"admin 401", 401, `{"message":"Bad credentials"}`,
			func() error { _, err := c.GetScaleSetByID(ctx, 1); return err }, []error{ErrUnauthorized}, false},
		{"admin 403", 403, `{"message":"Forbidden"}`,
			func() error { _, err := c.CreateScaleSet(ctx, &RunnerScaleSet{Name: "x"}); return err }, []error{ErrUnauthorized}, false},
		{"empty 200 on get", 200, "",
			func() error { _, err := c.GetMessage(ctx, q, "mq", 0, 1); return err }, []error{ErrEmptyResponse}, false},
		{"empty 200 on admin read", 200, "  ",
			func() error { _, err := c.GetScaleSet(ctx, 1, "x"); return err }, []error{ErrEmptyResponse}, false},
		{"empty 200 on create", 200, "\xef\xbb\xbf",
			func() error { _, err := c.CreateScaleSet(ctx, &RunnerScaleSet{Name: "x"}); return err }, []error{ErrEmptyResponse}, false},
		{"plain text 400 on poll", 400, "bad request: session invalid",
			func() error { _, err := c.GetMessage(ctx, q, "mq", 0, 1); return err }, nil, false},
		{"broker shape", 400, `{"source":"actions-broker-listener","errorKind":"RunnerSessionInvalid","statusCode":400,"errorMessage":"Runner session is invalid"}`,
			func() error { _, err := c.GetMessage(ctx, q, "mq", 0, 1); return err }, nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts.setHandler(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("ActivityId", "act-1")
				w.Header().Set("X-GitHub-Request-Id", "gh-1")
				if strings.HasPrefix(tc.body, "{") {
					w.Header().Set("Content-Type", "application/json")
				}
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			})
			err := tc.call()
			if tc.notNil {
				if err != nil {
					t.Fatalf("want success, got %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !errors.Is(err, w) {
					t.Errorf("errors.Is(%v, %v) = false", err, w)
				}
			}
			var ae *Error
			if !errors.As(err, &ae) {
				t.Fatalf("errors.As(*Error) failed for %v", err)
			}
			if ae.StatusCode != tc.status || ae.ActivityID != "act-1" || ae.GitHubRequestID != "gh-1" {
				t.Errorf("error fields %+v", ae)
			}
			if strings.Contains(tc.body, "Runner session is invalid") && (ae.TypeName != "RunnerSessionInvalid" || ae.Message != "Runner session is invalid") {
				t.Errorf("broker shape parsed as %+v", ae)
			}
			if tc.body == "bad request: session invalid" && ae.Message != tc.body {
				t.Errorf("text body parsed as %+v", ae)
			}
			if !strings.Contains(err.Error(), "act-1") {
				t.Errorf("message %q lacks the ActivityId", err)
			}
		})
	}
}

// TestBOMAndReferencePayloads decodes the payload shapes the reference gives, with and without a
// UTF-8 byte order mark.
func TestBOMAndReferencePayloads(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "payloads", "message.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, prefix := range []string{"", "\xef\xbb\xbf"} {
		ts := newTestServer(t, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, prefix+string(raw)) })
		c := newTestClient(t, ts)
		m, err := c.GetMessage(ctxT(t), ts.URL+"/q", "mq", 0, 10)
		if err != nil {
			t.Fatalf("bom=%t: %v", prefix != "", err)
		}
		if m.MessageID != 100000171 || m.MessageType != MessageTypeJobMessages || m.Statistics == nil || m.Statistics.TotalAssignedJobs != 1 {
			t.Fatalf("message %+v", m)
		}
		jobs, err := m.JobMessages()
		if err != nil {
			t.Fatal(err)
		}
		if len(jobs) != 4 {
			t.Fatalf("%d job messages", len(jobs))
		}
		av, as, st, co := jobs[0], jobs[1], jobs[2], jobs[3]
		if av.MessageType != JobMessageAvailable || av.RunnerRequestID != 5001 || av.AcquireJobURL == "" || av.RepositoryName != "app" || av.OwnerName != "acme" ||
			av.JobWorkflowRef != "acme/app/.github/workflows/ci.yml@refs/heads/main" || av.WorkflowRunID != 9001 || av.EventName != "push" ||
			len(av.RequestLabels) != 1 || av.QueueTime.IsZero() {
			t.Errorf("JobAvailable %+v", av)
		}
		if as.MessageType != JobMessageAssigned || as.ScaleSetAssignTime.IsZero() {
			t.Errorf("JobAssigned %+v", as)
		}
		if st.MessageType != JobMessageStarted || st.RunnerID != 42 || st.RunnerName != "arc-runner-abcde" || st.RunnerAssignTime.IsZero() || st.JobID != "job-1" {
			t.Errorf("JobStarted %+v", st)
		}
		if co.MessageType != JobMessageCompleted || co.Result != "succeeded" || co.FinishTime.IsZero() || co.RunnerID != 42 {
			t.Errorf("JobCompleted %+v", co)
		}
		if ids := RequestIDs(jobs); len(ids) != 1 || ids[0] != 5001 {
			t.Errorf("RequestIDs = %v", ids)
		}
	}

	// Session, JIT config, runner and error payloads with a BOM.
	ts := newTestServer(t, nil)
	c := newTestClient(t, ts)
	ctx := ctxT(t)
	ts.setHandler(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, "\xef\xbb\xbf"+`{"sessionId":"9b0c7a4e-1111-2222-3333-444455556666","ownerName":"listener","runnerScaleSet":{"id":5,"name":"arc"},"messageQueueUrl":"https://broker.actions.githubusercontent.com/scalesets/message","messageQueueAccessToken":"mq","statistics":{"totalAvailableJobs":0,"totalAcquiredJobs":0,"totalAssignedJobs":0,"totalRunningJobs":0,"totalRegisteredRunners":0,"totalBusyRunners":0,"totalIdleRunners":0}}`)
	})
	s, err := c.CreateSession(ctx, 5, "listener")
	if err != nil || s.RunnerScaleSet == nil || s.RunnerScaleSet.ID != 5 || s.Statistics == nil {
		t.Fatalf("session %+v %v", s, err)
	}
	ts.setHandler(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 409, "\xef\xbb\xbf"+`{"typeName":"GitHub.DistributedTask.WebApi.AgentExistsException","message":"exists"}`)
	})
	_, err = c.GenerateJitConfig(ctx, 5, &JitRunnerSetting{Name: "x"})
	var ae *Error
	if !errors.As(err, &ae) || ae.TypeName != "GitHub.DistributedTask.WebApi.AgentExistsException" || !errors.Is(err, ErrRunnerExists) {
		t.Fatalf("BOM error envelope: %v", err)
	}
}

// TestMessageOfOtherType: unknown message types hold no job messages.
func TestMessageOfOtherType(t *testing.T) {
	m := &Message{MessageID: 1, MessageType: "SomethingNew", Body: "not json"}
	if jm, err := m.JobMessages(); jm != nil || err != nil {
		t.Errorf("%v %v", jm, err)
	}
	m = &Message{MessageID: 1, MessageType: MessageTypeJobMessages, Body: ""}
	if jm, err := m.JobMessages(); jm != nil || err != nil {
		t.Errorf("empty body: %v %v", jm, err)
	}
}

// TestAdmin401RefreshesTokenOnce: a 401 on an admin call drops the admin token and retries once.
func TestAdmin401RefreshesTokenOnce(t *testing.T) {
	ts := newTestServer(t, nil)
	src := &countingSource{tenant: ts.tenant()}
	c := newTestClient(t, ts, func(cfg *Config) { cfg.Tokens = src })
	ts.setHandler(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "Bearer tok-1" {
			writeJSON(w, 401, `{"message":"expired"}`)
			return
		}
		writeJSON(w, 200, `{"id":1,"name":"x"}`)
	})
	if _, err := c.GetScaleSetByID(ctxT(t), 1); err != nil {
		t.Fatal(err)
	}
	if src.invalidated.Load() != 1 || src.issued.Load() != 2 {
		t.Errorf("invalidated %d, issued %d", src.invalidated.Load(), src.issued.Load())
	}
	// Always 401: one refresh, then ErrUnauthorized.
	ts.setHandler(func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 401, `{"message":"no"}`) })
	if _, err := c.GetScaleSetByID(ctxT(t), 1); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("want ErrUnauthorized, got %v", err)
	}
	if n := len(ts.reqs()); n != 4 {
		t.Errorf("%d requests, want 4", n)
	}
}

type countingSource struct {
	tenant      *url.URL
	issued      atomic.Int32
	invalidated atomic.Int32
	current     atomic.Value
}

func (s *countingSource) Token(context.Context) (auth.AdminToken, error) {
	if v, ok := s.current.Load().(string); ok && v != "" {
		return auth.AdminToken{TenantURL: s.tenantURL(), Token: v, Expiry: time.Now().Add(time.Hour)}, nil
	}
	n := s.issued.Add(1)
	tok := "tok-" + string(rune('0'+n))
	s.current.Store(tok)
	return auth.AdminToken{TenantURL: s.tenantURL(), Token: tok, Expiry: time.Now().Add(time.Hour)}, nil
}

func (s *countingSource) tenantURL() *url.URL { return s.tenant }

func (s *countingSource) Invalidate(token string) {
	if v, _ := s.current.Load().(string); v == token {
		s.invalidated.Add(1)
		s.current.Store("")
	}
}

// TestTokenSourceError: a failing chain surfaces with its error kind.
func TestTokenSourceError(t *testing.T) {
	c, err := NewClient(Config{Tokens: failingSource{}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.GetScaleSetByID(ctxT(t), 1)
	if !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("want ErrUnauthorized, got %v", err)
	}
}

type failingSource struct{}

func (failingSource) Token(context.Context) (auth.AdminToken, error) {
	return auth.AdminToken{}, auth.ErrUnauthorized
}

// TestErrorNamesOfBothForms: the service writes type names assembly-qualified (ARC issue
// #4285: "GitHub.Actions.Runtime.WebApi.RunnerScaleSetSessionConflictException,
// GitHub.Actions.Runtime.WebApi"); older answers and other clients' fixtures have them bare.
// Either way the error is named by its class and classified the same.
func TestErrorNamesOfBothForms(t *testing.T) {
	ts := newTestServer(t, nil)
	c := newTestClient(t, ts, func(cfg *Config) { cfg.Retry = &RetryConfig{} })
	ctx := ctxT(t)
	createSession := func() error { _, err := c.CreateSession(ctx, 1, "me"); return err }
	refresh := func() error { _, err := c.RefreshSession(ctx, 1, "s"); return err }
	deleteSession := func() error { return c.DeleteSession(ctx, 1, "s") }
	jit := func() error { _, err := c.GenerateJitConfig(ctx, 1, &JitRunnerSetting{Name: "r"}); return err }
	cases := []struct {
		name     string
		status   int
		body     string
		call     func() error
		wantName string
		want     error
	}{
		{"conflict, qualified", 409,
			`{"$id":"1","innerException":null,"message":"The actions runner scaleset dev already has an active session.","typeName":"GitHub.Actions.Runtime.WebApi.RunnerScaleSetSessionConflictException, GitHub.Actions.Runtime.WebApi","typeKey":"RunnerScaleSetSessionConflictException","errorCode":0,"eventId":3000}`,
			createSession, "RunnerScaleSetSessionConflictException", ErrSessionConflict},
		{"conflict, bare", 409,
			`{"typeName":"GitHub.Actions.Runtime.WebApi.RunnerScaleSetSessionConflictException","message":"The actions runner scaleset dev already has an active session."}`,
			createSession, "RunnerScaleSetSessionConflictException", ErrSessionConflict},
		{"session expired, qualified", 400,
			`{"typeName":"GitHub.Actions.Runtime.WebApi.RunnerScaleSetSessionExpiredException, GitHub.Actions.Runtime.WebApi","message":"The session identifier 4fd0ffb0-d365-4dae-99ff-8dae173984f9 is not valid."}`,
			deleteSession, "RunnerScaleSetSessionExpiredException", ErrSessionNotFound},
		{"session expired, bare", 400,
			`{"typeName":"GitHub.Actions.Runtime.WebApi.RunnerScaleSetSessionExpiredException","message":"The session identifier s is not valid."}`,
			deleteSession, "RunnerScaleSetSessionExpiredException", ErrSessionNotFound},
		{"scale set gone, qualified", 404,
			`{"typeName":"GitHub.Actions.Runtime.WebApi.RunnerScaleSetNotFoundException, GitHub.Actions.Runtime.WebApi","message":"No RunnerScaleSet found with identifier 1."}`,
			createSession, "RunnerScaleSetNotFoundException", ErrScaleSetNotFound},
		{"refresh of an unknown session, qualified", 404,
			`{"typeName":"GitHub.Actions.Runtime.WebApi.RunnerAdminException, GitHub.Actions.Runtime.WebApi","message":"runner referenced a session ID that doesn't exist in redis"}`,
			refresh, "RunnerAdminException", ErrSessionNotFound},
		{"runner exists, qualified", 409,
			`{"typeName":"GitHub.DistributedTask.WebApi.AgentExistsException, GitHub.DistributedTask.WebApi","message":"exists"}`,
			jit, "AgentExistsException", ErrRunnerExists},
		{"typeKey only", 409, `{"typeKey":"RunnerScaleSetSessionConflictException","message":"busy"}`,
			createSession, "RunnerScaleSetSessionConflictException", ErrSessionConflict},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts.setHandler(func(w http.ResponseWriter, r *http.Request) { writeJSON(w, tc.status, tc.body) })
			err := tc.call()
			if !errors.Is(err, tc.want) {
				t.Fatalf("errors.Is(%v, %v) = false", err, tc.want)
			}
			if !strings.Contains(err.Error(), ": "+tc.wantName+": ") {
				t.Errorf("error %q is not named %s", err, tc.wantName)
			}
			if strings.Contains(err.Error(), "WebApi:") {
				t.Errorf("error %q is named after the assembly", err)
			}
		})
	}
}

// TestClassNamesMatchExactly: a class whose name contains another's is not taken for it.
func TestClassNamesMatchExactly(t *testing.T) {
	ts := newTestServer(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 400, `{"typeName":"GitHub.Actions.Runtime.WebApi.RunnerScaleSetNotFoundExceptionWrapper, GitHub.Actions.Runtime.WebApi","message":"x"}`)
	})
	c := newTestClient(t, ts, func(cfg *Config) { cfg.Retry = &RetryConfig{} })
	_, err := c.UpdateScaleSet(ctxT(t), 1, &RunnerScaleSet{Name: "x"})
	if err == nil || errors.Is(err, ErrScaleSetNotFound) {
		t.Fatalf("a 400 of another class = %v, want an error that is not ErrScaleSetNotFound", err)
	}
}

func TestShortTypeName(t *testing.T) {
	for in, want := range map[string]string{
		"GitHub.Actions.Runtime.WebApi.RunnerScaleSetSessionConflictException, GitHub.Actions.Runtime.WebApi": "RunnerScaleSetSessionConflictException",
		"GitHub.Actions.Runtime.WebApi.RunnerScaleSetSessionConflictException":                                "RunnerScaleSetSessionConflictException",
		"GitHub.DistributedTask.WebApi.AgentExistsException, GitHub.DistributedTask.WebApi, Version=14.0.0.0": "AgentExistsException",
		"System.ArgumentException, mscorlib":                                                                  "ArgumentException",
		"RunnerSessionInvalid":                                                                                "RunnerSessionInvalid",
		"":                                                                                                    "",
	} {
		if got := shortTypeName(in); got != want {
			t.Errorf("shortTypeName(%q) = %q, want %q", in, got, want)
		}
	}
}
