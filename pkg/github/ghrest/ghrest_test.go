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

package ghrest

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"actions.dev/runnerset-apiserver/pkg/configurl"
	"actions.dev/runnerset-apiserver/pkg/github/actions/httpretry"
	"actions.dev/runnerset-apiserver/pkg/github/auth"
)

type apiRunner struct {
	ID     int64  `json:"id"`
	Name   string `json:"name"`
	OS     string `json:"os"`
	Status string `json:"status"`
	Busy   bool   `json:"busy"`
	Labels []struct {
		Name string `json:"name"`
	} `json:"labels"`
}

// fakeRunnersAPI serves GitHub's runner lists with ETags and Link pagination.
type fakeRunnersAPI struct {
	*httptest.Server
	mu       sync.Mutex
	runners  map[string][]apiRunner // by scope path, e.g. "orgs/acme"
	perPage  int
	requests []*http.Request
	statuses []int
}

func newFakeRunnersAPI(t *testing.T) *fakeRunnersAPI {
	f := &fakeRunnersAPI{runners: map[string][]apiRunner{}}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeRunnersAPI) set(scope string, names ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var rs []apiRunner
	for i, n := range names {
		r := apiRunner{ID: int64(i + 1), Name: n, OS: "linux", Status: "online", Busy: i%2 == 1}
		r.Labels = append(r.Labels, struct {
			Name string `json:"name"`
		}{"self-hosted"})
		rs = append(rs, r)
	}
	f.runners[scope] = rs
}

func (f *fakeRunnersAPI) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, r.Clone(context.Background()))
	if len(f.statuses) > 0 {
		st := f.statuses[0]
		f.statuses = f.statuses[1:]
		w.WriteHeader(st)
		return
	}
	scope := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/api/v3/"), "/actions/runners")
	all, ok := f.runners[scope]
	if !ok {
		http.Error(w, `{"message":"Not Found"}`, 404)
		return
	}
	per, _ := strconv.Atoi(r.URL.Query().Get("per_page"))
	if f.perPage > 0 {
		per = f.perPage
	}
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	if page < 1 {
		page = 1
	}
	start, end := (page-1)*per, page*per
	if start > len(all) {
		start = len(all)
	}
	if end > len(all) {
		end = len(all)
	}
	body, _ := json.Marshal(map[string]any{"total_count": len(all), "runners": all[start:end]})
	etag := fmt.Sprintf(`W/"%x"`, sha256.Sum256(body))
	w.Header().Set("X-RateLimit-Limit", "5000")
	w.Header().Set("X-RateLimit-Remaining", "4990")
	w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10))
	if end < len(all) {
		w.Header().Set("Link", fmt.Sprintf(`<%s%s?page=%d&per_page=%d>; rel="next"`, f.URL, r.URL.Path, page+1, per))
	}
	w.Header().Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

func (f *fakeRunnersAPI) reqs() []*http.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*http.Request(nil), f.requests...)
}

func newLister(t *testing.T, f *fakeRunnersAPI, path string) (*Lister, *configurl.ConfigURL) {
	t.Helper()
	src, err := auth.NewTokenSource(auth.Config{
		ConfigURL:   f.URL + "/" + path,
		Credentials: &auth.Credentials{Token: "ghp_rest"},
		Retry:       &httpretry.Policy{MaxRetries: 2, WaitMin: time.Millisecond, WaitMax: time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	return NewForSource(src), src.ConfigURL()
}

func TestETagConditionalRequests(t *testing.T) {
	f := newFakeRunnersAPI(t)
	f.set("orgs/acme", "r1", "r2")
	l, cu := newLister(t, f, "acme")
	ctx := context.Background()

	first, err := l.ListRunners(ctx, cu)
	if err != nil {
		t.Fatal(err)
	}
	if first.NotModified || len(first.Runners) != 2 || first.TotalCount != 2 || first.Runners[1].Name != "r2" || !first.Runners[1].Busy || first.Runners[0].Labels[0] != "self-hosted" {
		t.Fatalf("first listing %+v", first)
	}
	if first.Rate.Remaining != 4990 {
		t.Errorf("rate %+v", first.Rate)
	}
	r := f.reqs()[0]
	if r.Header.Get("If-None-Match") != "" || r.Header.Get("Authorization") != "Bearer ghp_rest" {
		t.Errorf("first request headers %v", r.Header)
	}

	second, err := l.ListRunners(ctx, cu)
	if err != nil {
		t.Fatal(err)
	}
	if !second.NotModified || second.NotModifiedPages != 1 || len(second.Runners) != 2 {
		t.Fatalf("second listing %+v", second)
	}
	if got := f.reqs()[1].Header.Get("If-None-Match"); got == "" {
		t.Error("second request not conditional")
	}

	f.set("orgs/acme", "r1", "r2", "r3")
	third, err := l.ListRunners(ctx, cu)
	if err != nil {
		t.Fatal(err)
	}
	if third.NotModified || len(third.Runners) != 3 {
		t.Fatalf("third listing %+v", third)
	}
}

func TestPagesAndScopes(t *testing.T) {
	f := newFakeRunnersAPI(t)
	f.perPage = 2
	f.set("repos/acme/app", "a", "b", "c", "d", "e")
	f.set("enterprises/big", "x")
	l, cu := newLister(t, f, "acme/app")
	ctx := context.Background()
	res, err := l.ListRunners(ctx, cu)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Runners) != 5 || res.Requests != 3 || res.TotalCount != 5 {
		t.Fatalf("%+v", res)
	}
	res, err = l.ListRunners(ctx, cu)
	if err != nil {
		t.Fatal(err)
	}
	if !res.NotModified || res.NotModifiedPages != 3 || len(res.Runners) != 5 {
		t.Fatalf("%+v", res)
	}
	// Another scope with the same lister keeps its own cache.
	ent, _ := configurl.Parse(f.URL + "/enterprises/big")
	res, err = l.ListRunners(ctx, ent)
	if err != nil || res.NotModified || len(res.Runners) != 1 {
		t.Fatalf("%+v %v", res, err)
	}
}

func TestErrorsAndRetries(t *testing.T) {
	f := newFakeRunnersAPI(t)
	f.set("orgs/acme", "r1")
	l, cu := newLister(t, f, "acme")
	f.mu.Lock()
	f.statuses = []int{502}
	f.mu.Unlock()
	res, err := l.ListRunners(context.Background(), cu)
	if err != nil || len(res.Runners) != 1 {
		t.Fatalf("502 not retried: %+v %v", res, err)
	}
	missing, _ := configurl.Parse(f.URL + "/nobody")
	if _, err := l.ListRunners(context.Background(), missing); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("err = %v", err)
	}
}
