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
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-github/v62/github"

	"actions.dev/runnerset-apiserver/pkg/configurl"
	"actions.dev/runnerset-apiserver/pkg/github/auth"
	"actions.dev/runnerset-apiserver/pkg/github/ratelimit"
)

// TestSpentBudgetIsARateLimit: once an answer said the budget is spent, go-github refuses the next
// listing itself, without a request; that too is a *ratelimit.Error, never a refusal of the
// credentials.
func TestSpentBudgetIsARateLimit(t *testing.T) {
	var n atomic.Int32
	reset := time.Now().Add(time.Hour).Unix()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("X-RateLimit-Remaining", "0")
		w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(reset, 10))
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"total_count":0,"runners":[]}`))
	}))
	defer srv.Close()
	cu, err := configurl.Parse(srv.URL + "/acme")
	if err != nil {
		t.Fatal(err)
	}
	gh := github.NewClient(srv.Client())
	gh.BaseURL = cu.APIBase()
	l := New(gh)
	if _, err := l.ListRunners(context.Background(), cu); err != nil {
		t.Fatal(err)
	}
	_, err = l.ListRunners(context.Background(), cu)
	var rl *ratelimit.Error
	if !errors.As(err, &rl) || errors.Is(err, auth.ErrUnauthorized) || rl.Until.Unix() != reset {
		t.Fatalf("err = %v", err)
	}
	if n.Load() != 1 {
		t.Errorf("%d requests, want the first only", n.Load())
	}
}
