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
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

// TestRequestShapes checks method, path, query, headers and (golden) body of every endpoint.
func TestRequestShapes(t *testing.T) {
	ts := newTestServer(t, nil)
	c := newTestClient(t, ts)
	ctx := ctxT(t)
	queueURL := ts.URL + "/broker/scalesets/message?sessionId=abc"

	cases := []struct {
		name       string
		answer     func(w http.ResponseWriter)
		call       func() error
		method     string
		path       string
		query      map[string]string
		noAPIQuery bool
		auth       string
		golden     string
		header     map[string]string
	}{
		{
			name: "GetRunnerGroupByName",
			answer: func(w http.ResponseWriter) {
				writeJSON(w, 200, `{"count":1,"value":[{"id":3,"name":"gpu","size":2,"isDefaultGroup":false}]}`)
			},
			call: func() error {
				g, err := c.GetRunnerGroupByName(ctx, "gpu & co")
				if err == nil && (g.ID != 3 || g.Name != "gpu") {
					t.Errorf("group = %+v", g)
				}
				return err
			},
			method: "GET", path: "/tenant/7/_apis/runtime/runnergroups/", query: map[string]string{"groupName": "gpu & co"},
		},
		{
			name: "GetScaleSet",
			answer: func(w http.ResponseWriter) {
				writeJSON(w, 200, `{"count":1,"value":[{"id":5,"name":"arc","runnerGroupId":3}]}`)
			},
			call: func() error {
				ss, err := c.GetScaleSet(ctx, 3, "arc")
				if err == nil && ss.ID != 5 {
					t.Errorf("scale set = %+v", ss)
				}
				return err
			},
			method: "GET", path: "/tenant/7/_apis/runtime/runnerscalesets", query: map[string]string{"runnerGroupId": "3", "name": "arc"},
		},
		{
			name:   "GetScaleSetByID",
			answer: func(w http.ResponseWriter) { writeJSON(w, 200, `{"id":5,"name":"arc"}`) },
			call:   func() error { _, err := c.GetScaleSetByID(ctx, 5); return err },
			method: "GET", path: "/tenant/7/_apis/runtime/runnerscalesets/5",
		},
		{
			name:   "CreateScaleSet",
			answer: func(w http.ResponseWriter) { writeJSON(w, 200, `{"id":5,"name":"arc","runnerGroupId":1}`) },
			call: func() error {
				_, err := c.CreateScaleSet(ctx, &RunnerScaleSet{Name: "arc", RunnerGroupID: 1, Labels: []Label{{Name: "arc"}}, RunnerSetting: RunnerSetting{DisableUpdate: true}})
				return err
			},
			method: "POST", path: "/tenant/7/_apis/runtime/runnerscalesets", golden: "create-scale-set.json",
			header: map[string]string{"Content-Type": "application/json"},
		},
		{
			name:   "CreateScaleSetDefaultLabel",
			answer: func(w http.ResponseWriter) { writeJSON(w, 200, `{"id":6,"name":"linux"}`) },
			call: func() error {
				_, err := c.CreateScaleSet(ctx, &RunnerScaleSet{Name: "linux", RunnerGroupID: 2})
				return err
			},
			method: "POST", path: "/tenant/7/_apis/runtime/runnerscalesets", golden: "create-scale-set-default-label.json",
		},
		{
			name:   "UpdateScaleSet",
			answer: func(w http.ResponseWriter) { writeJSON(w, 200, `{"id":5,"name":"arc","runnerGroupId":2}`) },
			call:   func() error { _, err := c.UpdateScaleSet(ctx, 5, &RunnerScaleSet{RunnerGroupID: 2}); return err },
			method: "PATCH", path: "/tenant/7/_apis/runtime/runnerscalesets/5", golden: "update-scale-set.json",
		},
		{
			name:   "DeleteScaleSet",
			answer: func(w http.ResponseWriter) { w.WriteHeader(204) },
			call:   func() error { return c.DeleteScaleSet(ctx, 5) },
			method: "DELETE", path: "/tenant/7/_apis/runtime/runnerscalesets/5",
		},
		{
			name: "CreateSession",
			answer: func(w http.ResponseWriter) {
				writeJSON(w, 200, `{"sessionId":"9b0c7a4e-1111-2222-3333-444455556666","ownerName":"pod-1","messageQueueUrl":"`+queueURL+`","messageQueueAccessToken":"mq1","statistics":{"totalAssignedJobs":2}}`)
			},
			call: func() error {
				s, err := c.CreateSession(ctx, 5, "pod-1")
				if err == nil && (s.Statistics == nil || s.Statistics.TotalAssignedJobs != 2) {
					t.Errorf("session = %+v", s)
				}
				return err
			},
			method: "POST", path: "/tenant/7/_apis/runtime/runnerscalesets/5/sessions", golden: "create-session.json",
		},
		{
			name: "RefreshSession",
			answer: func(w http.ResponseWriter) {
				writeJSON(w, 200, `{"sessionId":"s1","messageQueueUrl":"`+queueURL+`","messageQueueAccessToken":"mq2"}`)
			},
			call:   func() error { _, err := c.RefreshSession(ctx, 5, "s1"); return err },
			method: "PATCH", path: "/tenant/7/_apis/runtime/runnerscalesets/5/sessions/s1",
		},
		{
			name:   "DeleteSession",
			answer: func(w http.ResponseWriter) { w.WriteHeader(204) },
			call:   func() error { return c.DeleteSession(ctx, 5, "s1") },
			method: "DELETE", path: "/tenant/7/_apis/runtime/runnerscalesets/5/sessions/s1",
		},
		{
			name:   "GetMessage",
			answer: func(w http.ResponseWriter) { w.WriteHeader(202) },
			call: func() error {
				m, err := c.GetMessage(ctx, queueURL, "mq1", 100000170, 2147483647)
				if m != nil {
					t.Errorf("202 gave a message %+v", m)
				}
				return err
			},
			method: "GET", path: "/broker/scalesets/message", query: map[string]string{"sessionId": "abc", "lastMessageId": "100000170"},
			noAPIQuery: true, auth: "Bearer mq1",
			header: map[string]string{"Accept": "application/json; api-version=6.0-preview", "X-ScaleSetMaxCapacity": "2147483647"},
		},
		{
			name:   "GetMessageFirst",
			answer: func(w http.ResponseWriter) { w.WriteHeader(202) },
			call:   func() error { _, err := c.GetMessage(ctx, queueURL, "mq1", 0, 3); return err },
			method: "GET", path: "/broker/scalesets/message", query: map[string]string{"sessionId": "abc", "lastMessageId": ""},
			noAPIQuery: true, auth: "Bearer mq1", header: map[string]string{"X-ScaleSetMaxCapacity": "3"},
		},
		{
			name:   "DeleteMessage",
			answer: func(w http.ResponseWriter) { w.WriteHeader(204) },
			call:   func() error { return c.DeleteMessage(ctx, queueURL, "mq1", 100000171) },
			method: "DELETE", path: "/broker/scalesets/message/100000171", query: map[string]string{"sessionId": "abc"},
			noAPIQuery: true, auth: "Bearer mq1", header: map[string]string{"Content-Type": "application/json"},
		},
		{
			name:   "AcquireJobs",
			answer: func(w http.ResponseWriter) { writeJSON(w, 200, `{"count":1,"value":[123]}`) },
			call: func() error {
				ids, err := c.AcquireJobs(ctx, 5, "mq1", []int64{123, 124})
				if err == nil && !reflect.DeepEqual(ids, []int64{123}) {
					t.Errorf("acquired %v", ids)
				}
				return err
			},
			method: "POST", path: "/tenant/7/_apis/runtime/runnerscalesets/5/acquirejobs", auth: "Bearer mq1", golden: "acquire-jobs.json",
		},
		{
			name: "GenerateJitConfig",
			answer: func(w http.ResponseWriter) {
				writeJSON(w, 200, `{"runner":{"id":42,"name":"arc-runner-abcde","runnerScaleSetId":5},"encodedJITConfig":"eyJ4IjoieSJ9"}`)
			},
			call: func() error {
				j, err := c.GenerateJitConfig(ctx, 5, &JitRunnerSetting{Name: "arc-runner-abcde"})
				if err == nil && (j.Runner.ID != 42 || j.EncodedJITConfig != "eyJ4IjoieSJ9") {
					t.Errorf("jit = %+v", j)
				}
				return err
			},
			method: "POST", path: "/tenant/7/_apis/runtime/runnerscalesets/5/generatejitconfig", golden: "generate-jit-config.json",
		},
		{
			name:   "GetRunner",
			answer: func(w http.ResponseWriter) { writeJSON(w, 200, `{"id":42,"name":"r","runnerScaleSetId":5}`) },
			call:   func() error { _, err := c.GetRunner(ctx, 42); return err },
			method: "GET", path: "/tenant/7/_apis/distributedtask/pools/0/agents/42",
		},
		{
			name:   "GetRunnerByName",
			answer: func(w http.ResponseWriter) { writeJSON(w, 200, `{"count":0,"value":[]}`) },
			call: func() error {
				r, err := c.GetRunnerByName(ctx, "arc-runner-abcde")
				if r != nil {
					t.Errorf("absent runner = %+v", r)
				}
				return err
			},
			method: "GET", path: "/tenant/7/_apis/distributedtask/pools/0/agents", query: map[string]string{"agentName": "arc-runner-abcde"},
		},
		{
			name:   "RemoveRunner",
			answer: func(w http.ResponseWriter) { w.WriteHeader(204) },
			call:   func() error { return c.RemoveRunner(ctx, 42) },
			method: "DELETE", path: "/tenant/7/_apis/distributedtask/pools/0/agents/42",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts.setHandler(func(w http.ResponseWriter, r *http.Request) { tc.answer(w) })
			if err := tc.call(); err != nil {
				t.Fatalf("call: %v", err)
			}
			r := ts.last(t)
			if r.Method != tc.method || r.Path != tc.path {
				t.Errorf("request %s %s, want %s %s", r.Method, r.Path, tc.method, tc.path)
			}
			for k, v := range tc.query {
				if got := r.Query.Get(k); got != v {
					t.Errorf("query %s = %q, want %q", k, got, v)
				}
			}
			if got := r.Query.Get("api-version"); tc.noAPIQuery && got != "" {
				t.Errorf("api-version in the query of a queue call: %q", got)
			} else if !tc.noAPIQuery && got != "6.0-preview" {
				t.Errorf("api-version = %q", got)
			}
			wantAuth := tc.auth
			if wantAuth == "" {
				wantAuth = "Bearer admin-token"
			}
			if got := r.Header.Get("Authorization"); got != wantAuth {
				t.Errorf("Authorization = %q, want %q", got, wantAuth)
			}
			if got := r.Header.Get("User-Agent"); got != "test-agent/1" {
				t.Errorf("User-Agent = %q", got)
			}
			for k, v := range tc.header {
				if got := r.Header.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			if tc.golden != "" {
				golden(t, tc.golden, r.Body)
			}
		})
	}
}

func TestDefaultRunnerGroupWithoutCall(t *testing.T) {
	ts := newTestServer(t, func(w http.ResponseWriter, r *http.Request) { t.Errorf("unexpected request %s", r.URL) })
	c := newTestClient(t, ts)
	for _, name := range []string{"", "default", "Default"} {
		g, err := c.GetRunnerGroupByName(ctxT(t), name)
		if err != nil || g.ID != 1 || !g.IsDefaultGroup {
			t.Errorf("%q: %+v, %v", name, g, err)
		}
	}
}

func TestListCardinality(t *testing.T) {
	ts := newTestServer(t, nil)
	c := newTestClient(t, ts)
	ctx := ctxT(t)
	ts.setHandler(func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, `{"count":0,"value":[]}`) })
	if _, err := c.GetRunnerGroupByName(ctx, "nope"); !errors.Is(err, ErrRunnerGroupNotFound) {
		t.Errorf("group count 0: %v", err)
	}
	if ss, err := c.GetScaleSet(ctx, 1, "nope"); ss != nil || err != nil {
		t.Errorf("scale set count 0: %v %v", ss, err)
	}
	ts.setHandler(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"count":2,"value":[{"id":1,"name":"a"},{"id":2,"name":"a"}]}`)
	})
	if _, err := c.GetRunnerGroupByName(ctx, "a"); err == nil {
		t.Error("two groups: no error")
	}
	if _, err := c.GetScaleSet(ctx, 1, "a"); err == nil {
		t.Error("two scale sets: no error")
	}
	if _, err := c.GetRunnerByName(ctx, "a"); err == nil {
		t.Error("two runners: no error")
	}
}

func TestNoCallForNoJobs(t *testing.T) {
	ts := newTestServer(t, func(w http.ResponseWriter, r *http.Request) { t.Errorf("unexpected request %s", r.URL) })
	c := newTestClient(t, ts)
	ids, err := c.AcquireJobs(ctxT(t), 1, "mq", nil)
	if ids != nil || err != nil {
		t.Errorf("%v %v", ids, err)
	}
}

func TestInvalidArguments(t *testing.T) {
	ts := newTestServer(t, func(w http.ResponseWriter, r *http.Request) { t.Errorf("unexpected request %s", r.URL) })
	c := newTestClient(t, ts)
	ctx := ctxT(t)
	if _, err := c.GetMessage(ctx, ts.URL+"/q", "t", 0, -1); err == nil {
		t.Error("negative capacity accepted")
	}
	if _, err := c.GetMessage(ctx, "not a url", "t", 0, 1); err == nil {
		t.Error("relative queue url accepted")
	}
	if _, err := c.CreateScaleSet(ctx, &RunnerScaleSet{}); err == nil {
		t.Error("nameless scale set accepted")
	}
	if _, err := c.GenerateJitConfig(ctx, 1, &JitRunnerSetting{}); err == nil {
		t.Error("nameless runner accepted")
	}
	if _, err := NewClient(Config{}); err == nil {
		t.Error("config without tokens accepted")
	}
}

// TestTenantPathPrefix: the tenant URL is opaque; its path prefix is kept.
func TestTenantPathPrefix(t *testing.T) {
	ts := newTestServer(t, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, `{"id":1,"name":"x"}`) })
	c := newTestClient(t, ts)
	if _, err := c.GetScaleSetByID(ctxT(t), 1); err != nil {
		t.Fatal(err)
	}
	if p := ts.last(t).Path; !strings.HasPrefix(p, "/tenant/7/_apis/") {
		t.Errorf("path %q lost the tenant prefix", p)
	}
}

func TestUnusableSessionIsDeleted(t *testing.T) {
	ts := newTestServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodDelete {
			w.WriteHeader(204)
			return
		}
		writeJSON(w, 200, `{"sessionId":"s1","messageQueueUrl":"","messageQueueAccessToken":""}`)
	})
	c := newTestClient(t, ts)
	if _, err := c.CreateSession(ctxT(t), 1, "me"); err == nil {
		t.Fatal("unusable session accepted")
	}
	if r := ts.last(t); r.Method != http.MethodDelete {
		t.Errorf("unusable session not deleted: last request %s %s", r.Method, r.Path)
	}
}

func TestSessionOwnerDefault(t *testing.T) {
	ts := newTestServer(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"sessionId":"s1","messageQueueUrl":"http://x/q","messageQueueAccessToken":"t"}`)
	})
	c := newTestClient(t, ts)
	s, err := c.CreateSession(ctxT(t), 1, "")
	if err != nil {
		t.Fatal(err)
	}
	if s.Statistics == nil {
		t.Error("missing statistics not replaced by zero statistics")
	}
	if body := string(ts.last(t).Body); !strings.Contains(body, `"ownerName":"`+DefaultOwnerName()+`"`) {
		t.Errorf("owner not defaulted: %s", body)
	}
}

// TestOpaqueQueueURL: the queue URL's query is kept byte for byte; lastMessageId is appended and
// the message id joins the path.
func TestOpaqueQueueURL(t *testing.T) {
	var raw []string
	ts := newTestServer(t, func(w http.ResponseWriter, r *http.Request) {
		raw = append(raw, r.URL.EscapedPath()+"?"+r.URL.RawQuery)
		if r.Method == http.MethodGet {
			w.WriteHeader(202)
			return
		}
		w.WriteHeader(204)
	})
	c := newTestClient(t, ts)
	q := ts.URL + "/broker/scalesets/message?z=1&sessionId=a%2Bb&a=2"
	if _, err := c.GetMessage(ctxT(t), q, "mq", 42, 1); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteMessage(ctxT(t), q, "mq", 43); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"/broker/scalesets/message?z=1&sessionId=a%2Bb&a=2&lastMessageId=42",
		"/broker/scalesets/message/43?z=1&sessionId=a%2Bb&a=2",
	}
	if !reflect.DeepEqual(raw, want) {
		t.Errorf("requests %q, want %q", raw, want)
	}
}

// TestExactSuccessStatus: each call succeeds with the one status the service answers it with
// (reference §2.1: 204 for deletes, 200 for the rest, a created scale set included); any other
// 2xx is an ErrUnexpectedStatus naming the status wanted, not a success.
func TestExactSuccessStatus(t *testing.T) {
	ts := newTestServer(t, nil)
	c := newTestClient(t, ts, func(cfg *Config) { cfg.Retry = &RetryConfig{} })
	ctx := ctxT(t)
	q := ts.URL + "/broker/message"
	scaleSet := `{"id":5,"name":"arc"}`
	session := `{"sessionId":"s1","messageQueueUrl":"` + q + `","messageQueueAccessToken":"mq"}`
	cases := []struct {
		name   string
		status int
		body   string
		call   func() error
		want   int
	}{
		{"create scale set answered 201", 201, scaleSet, func() error {
			_, err := c.CreateScaleSet(ctx, &RunnerScaleSet{Name: "arc"})
			return err
		}, 200},
		{"get scale set answered 203", 203, scaleSet, func() error { _, err := c.GetScaleSetByID(ctx, 5); return err }, 200},
		{"update scale set answered 202", 202, scaleSet, func() error {
			_, err := c.UpdateScaleSet(ctx, 5, &RunnerScaleSet{Name: "x"})
			return err
		}, 200},
		{"delete scale set answered 200", 200, scaleSet, func() error { return c.DeleteScaleSet(ctx, 5) }, 204},
		{"create session answered 201", 201, session, func() error { _, err := c.CreateSession(ctx, 5, "me"); return err }, 200},
		{"refresh session answered 204", 204, "", func() error { _, err := c.RefreshSession(ctx, 5, "s1"); return err }, 200},
		{"delete session answered 200", 200, "", func() error { return c.DeleteSession(ctx, 5, "s1") }, 204},
		{"delete message answered 202", 202, "", func() error { return c.DeleteMessage(ctx, q, "mq", 7) }, 204},
		{"acquire jobs answered 201", 201, `{"count":1,"value":[1]}`, func() error { _, err := c.AcquireJobs(ctx, 5, "mq", []int64{1}); return err }, 200},
		{"generate JIT config answered 201", 201, `{"runner":{"id":1,"name":"r"},"encodedJITConfig":"x"}`, func() error {
			_, err := c.GenerateJitConfig(ctx, 5, &JitRunnerSetting{Name: "r"})
			return err
		}, 200},
		{"get runner answered 204", 204, "", func() error { _, err := c.GetRunner(ctx, 1); return err }, 200},
		{"remove runner answered 200", 200, "", func() error { return c.RemoveRunner(ctx, 1) }, 204},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts.setHandler(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("ActivityId", "act-9")
				writeJSON(w, tc.status, tc.body)
			})
			err := tc.call()
			if !errors.Is(err, ErrUnexpectedStatus) {
				t.Fatalf("err = %v, want ErrUnexpectedStatus", err)
			}
			var ae *Error
			if !errors.As(err, &ae) || ae.StatusCode != tc.status || ae.ActivityID != "act-9" {
				t.Fatalf("error fields %+v", ae)
			}
			if want := fmt.Sprintf("want %d %s", tc.want, http.StatusText(tc.want)); !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
		})
	}
}
