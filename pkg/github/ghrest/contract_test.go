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

package ghrest_test

import (
	"context"
	"testing"
	"time"

	"actions.dev/runnerset-apiserver/pkg/github/actions"
	"actions.dev/runnerset-apiserver/pkg/github/actions/httpretry"
	"actions.dev/runnerset-apiserver/pkg/github/auth"
	"actions.dev/runnerset-apiserver/pkg/github/ghrest"
	"actions.dev/runnerset-apiserver/pkg/github/simulator"
	"actions.dev/runnerset-apiserver/pkg/github/simulator/simtest"
)

// TestContractRunnerListWithETags: against the simulator, a repeated listing is answered 304
// from the cache and costs no rate limit; a new runner shows up.
func TestContractRunnerListWithETags(t *testing.T) {
	sim := simtest.New(t, simulator.Options{LongPollHold: 100 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	src, err := auth.NewTokenSource(auth.Config{
		ConfigURL:   sim.ConfigURL("acme"),
		Credentials: &auth.Credentials{Token: simulator.DefaultPAT},
		Retry:       &httpretry.Policy{MaxRetries: 4, WaitMin: time.Millisecond, WaitMax: time.Millisecond, AttemptTimeout: time.Minute},
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := actions.NewClient(actions.Config{Tokens: src, Retry: &actions.RetryConfig{MaxRetries: 4, WaitMin: time.Millisecond, WaitMax: time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	ss, err := c.CreateScaleSet(ctx, &actions.RunnerScaleSet{Name: "arc", RunnerGroupID: 1})
	if err != nil {
		t.Fatal(err)
	}
	jit, err := c.GenerateJitConfig(ctx, ss.ID, &actions.JitRunnerSetting{Name: "arc-runner-1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sim.ConnectRunner(jit.EncodedJITConfig); err != nil {
		t.Fatal(err)
	}

	l := ghrest.NewForSource(src)
	first, err := l.ListRunners(ctx, src.ConfigURL())
	if err != nil {
		t.Fatal(err)
	}
	if first.NotModified || len(first.Runners) != 1 || first.Runners[0].Name != "arc-runner-1" || first.Runners[0].Status != "online" || first.Runners[0].ID != int64(jit.Runner.ID) {
		t.Fatalf("first listing %+v", first)
	}
	second, err := l.ListRunners(ctx, src.ConfigURL())
	if err != nil {
		t.Fatal(err)
	}
	if !second.NotModified || len(second.Runners) != 1 {
		t.Fatalf("second listing %+v", second)
	}
	if second.Rate.Remaining != first.Rate.Remaining {
		t.Errorf("a 304 cost rate limit: remaining %d then %d", first.Rate.Remaining, second.Rate.Remaining)
	}

	if _, err := c.GenerateJitConfig(ctx, ss.ID, &actions.JitRunnerSetting{Name: "arc-runner-2"}); err != nil {
		t.Fatal(err)
	}
	third, err := l.ListRunners(ctx, src.ConfigURL())
	if err != nil {
		t.Fatal(err)
	}
	if third.NotModified || len(third.Runners) != 2 || third.Runners[1].Status != "offline" {
		t.Fatalf("third listing %+v", third)
	}
	if third.Rate.Remaining != second.Rate.Remaining-1 {
		t.Errorf("a 200 should cost one request: remaining %d then %d", second.Rate.Remaining, third.Rate.Remaining)
	}
}
