//go:build faults

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

package faults

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"actions.dev/runnerset-apiserver/pkg/github/simulator"
)

// TestR1GitHubFaults: jobs over five RunnerSets (PAT and GitHub App credentials) while GitHub
// answers ~10% of all requests with a 5xx, 5% with 429 and Retry-After, 5% of long polls with
// an empty 200 and 3% slowly; every message-queue token expires every 20 s (401, refresh); one
// RunnerSet's session is dropped on GitHub's side and its first new session meets a 409
// conflict; one scale set is deleted on GitHub's side mid-run while it holds queued jobs; and
// GitHub's rate limits hold back runner registrations and REST calls during the first burst.
// At the end, R6 searches everything for credentials (see scanForCredentials).
func TestR1GitHubFaults(t *testing.T) {
	var (
		perSet = pick(100, 8) // jobs per RunnerSet: 500 in all, or 40
		bursts = pick(4, 2)
		maxR   = pick(int32(20), int32(5))
	)
	w := newWorld(t, "R1 GitHub faults", "faults-r1", simulator.Options{AdminTokenTTL: 2 * time.Minute})
	sets := []setSpec{
		{name: "r1-a", min: 0, max: maxR},
		{name: "r1-b", min: 1, max: maxR, app: true},
		{name: "r1-c", min: 0, max: maxR},
		{name: "r1-d", min: 2, max: maxR, app: true},
		{name: "r1-e", min: 0, max: maxR},
	}
	for _, s := range sets {
		w.addSet(s)
	}

	// Faults from here on: the first matching fault whose seeded coin lands answers.
	for _, f := range []simulator.Fault{
		{Endpoint: simulator.AllEndpoints, Status: http.StatusServiceUnavailable, Probability: 0.04},
		{Endpoint: simulator.AllEndpoints, Status: http.StatusInternalServerError, Probability: 0.035},
		{Endpoint: simulator.AllEndpoints, Status: http.StatusBadGateway, Probability: 0.035},
		{Endpoint: simulator.AllEndpoints, Status: http.StatusTooManyRequests, RetryAfter: time.Second, Probability: 0.05},
		{Endpoint: simulator.EPGetMessage, EmptyBody: true, Probability: 0.05},
		{Endpoint: simulator.AllEndpoints, Delay: 1500 * time.Millisecond, Probability: 0.03},
	} {
		w.sim.InjectFault(f)
	}
	// GitHub's rate limits, as GARM users met them: runner registrations throttled for the first
	// burst (429 with Retry-After), and the PAT's REST budget spent for 45 s while admin tokens
	// need refreshing. Jobs wait, none is lost.
	jitRate := pick(40, 8)
	_, err := w.sim.UpdateSettings(simulator.Settings{JITConfigRate: &jitRate})
	require.NoError(t, err)
	_, err = w.sim.SetRateLimit(simulator.RateLimitChange{Token: simulator.DefaultPAT, Remaining: 0, ResetIn: 45 * time.Second})
	require.NoError(t, err)
	notes := []string{fmt.Sprintf("burst 1: runner registrations limited to %d a minute, the PAT's REST budget spent for 45 s", jitRate)}
	expiries := 0
	stopExpiry := make(chan struct{})
	expiryDone := make(chan struct{})
	go func() {
		defer close(expiryDone)
		tick := time.NewTicker(20 * time.Second)
		defer tick.Stop()
		for {
			select {
			case <-stopExpiry:
				return
			case <-tick.C:
				w.sim.ExpireQueueTokens()
				expiries++
			}
		}
	}()

	var prior []int64 // r1-e's jobs
	for b := 0; b < bursts; b++ {
		if b > 0 {
			// The next burst comes once half of the jobs so far are done, so that every burst
			// lands on a busy system.
			w.eventually(pick(6*time.Minute, 3*time.Minute), fmt.Sprintf("half of the jobs before burst %d done", b+1), func(context.Context) (bool, string) {
				done, all := w.completed()
				return done*2 >= all, fmt.Sprintf("%d of %d done", done, all)
			})
		}
		if b == 1 {
			off := 0
			_, err := w.sim.UpdateSettings(simulator.Settings{JITConfigRate: &off})
			require.NoError(t, err)
		}
		for _, s := range sets {
			n := perSet / bursts
			if b == bursts-1 {
				n = perSet - n*(bursts-1)
			}
			vanish := s.name == "r1-e" && b == bursts-1
			if vanish {
				// A job running when GitHub deletes its scale set is canceled by GitHub: that
				// is GitHub losing the job, not us. So r1-e's earlier jobs finish first, while
				// the other sets stay busy.
				w.eventually(pick(6*time.Minute, 3*time.Minute), "r1-e's earlier jobs done", func(context.Context) (bool, string) {
					done, all := w.completedOf(prior)
					return done == all, fmt.Sprintf("%d of %d done", done, all)
				})
			}
			ids := w.queue(s.name, n, time.Second, 4*time.Second)
			if s.name == "r1-e" {
				prior = append(prior, ids...)
			}
			if vanish {
				// GitHub deletes the scale set while it holds these jobs queued and assigned;
				// they must be run by the scale set the server registers again.
				id, _ := w.scaleSetOf("r1-e")
				w.sim.VanishScaleSet(id)
				notes = append(notes, fmt.Sprintf("burst %d: scale set %d (r1-e) deleted on GitHub right after %d jobs were queued for it", b+1, id, n))
			}
		}
		if b == 0 {
			// r1-c's session disappears on GitHub; its next session create meets a 409 first.
			id, _ := w.scaleSetOf("r1-c")
			w.sim.InjectFault(simulator.Fault{Endpoint: simulator.EPCreateSession, ScaleSetID: id, Status: http.StatusConflict, Count: 1})
			w.sim.DropSession(id)
			notes = append(notes, fmt.Sprintf("burst 1: session of scale set %d (r1-c) dropped on GitHub, its next create answered 409", id))
		}
	}
	w.waitJobs(pick(12*time.Minute, 4*time.Minute))
	close(stopExpiry)
	<-expiryDone

	var hits []string
	for _, f := range w.sim.Faults() {
		what := fmt.Sprintf("%d", f.Fault.Status)
		switch {
		case f.Fault.EmptyBody:
			what = "empty 200"
		case f.Fault.Delay > 0:
			what = "slow " + f.Fault.Delay.String()
		case f.Fault.RetryAfter > 0:
			what += " Retry-After"
		}
		hits = append(hits, fmt.Sprintf("%s on %s: %d", what, f.Fault.Endpoint, f.Hits))
		w.sim.RemoveFault(f.ID)
	}
	sort.Strings(hits)
	c := w.sim.Counters()
	notes = append(notes,
		fmt.Sprintf("faults answered %d of %d GitHub requests: %s", sumFaults(c), c.Total, strings.Join(hits, ", ")),
		fmt.Sprintf("rate limits refused %d runner registrations (429) and %d REST requests (403)", c.RateLimited["jit"], c.RateLimited["rest"]),
		fmt.Sprintf("message-queue tokens expired %d times; %d session refreshes, %d sessions created, %d scale sets created",
			expiries, c.Endpoint(simulator.EPRefreshSession), c.Endpoint(simulator.EPCreateSession), c.Endpoint(simulator.EPCreateScaleSet)),
		fmt.Sprintf("all %d jobs done %s after the first was queued", len(w.queuedJobs()), time.Since(w.start).Round(time.Second)),
	)
	w.beforeDelete = func(a *auditResult) { scanForCredentials(w, a) }
	w.audit(notes...)
}

func sumFaults(c simulator.Counters) int {
	n := 0
	for _, v := range c.Faults {
		n += v
	}
	return n
}
