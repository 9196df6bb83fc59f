//go:build bench

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

package bench

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/workqueue"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/github/simulator"
)

const (
	// stepTail is a step's end beyond its pods: the last online checks (5 s apart) and statuses.
	stepTail = 10 * time.Second
	// etcdFill is how much of its quota etcd may fill; beyond it a write may meet its alarm.
	etcdFill = 0.9
	// creators create a step's RunnerSets in parallel, as several users or a GitOps tool would.
	creators = 8
)

// stepStats is one step of the scale-up.
type stepStats struct {
	sets, pods int
	// From the step's start: every pod seen by a watch, all Running, all with their online
	// state recorded (the server's drift check), every status settled.
	seen, running, online, took time.Duration
}

// scaleUp creates the RunnerSets step by step until the target, or until the next step would
// not fit: in time (what the phases at size need), in etcd's quota or in the machine's memory.
func (s *scaleRun) scaleUp(ctx context.Context) error {
	s.mem.setPhase("scale-up")
	k0, w0, err := s.clientStats(ctx)
	if err != nil {
		return err
	}
	gh0, err := s.sim.Counters()
	if err != nil {
		return err
	}
	begin, cpu0 := time.Now(), s.cpu()
	var steps []stepStats
	var stepErr error
	for len(s.created) < *scaleSets {
		n, why := s.nextStep(ctx)
		if n == 0 {
			s.stopped = why
			break
		}
		if len(steps) == min(1, (*scaleSets-1) / *scaleStep) {
			go s.profileUntilEnd("scale-setup-cpu", "cpu", 30) // what bounds pods/s
		}
		st, err := s.step(ctx, n)
		steps = append(steps, st)
		if err != nil {
			s.stopped, stepErr = err.Error(), err
			break
		}
	}
	s.atSize = s.usage(ctx)
	k1, w1, _ := s.clientStats(ctx)
	gh1, _ := s.sim.Counters()
	took := time.Since(begin)
	s.setupRows(ctx, setupTotals{took: took, steps: steps, kubeReqs: k1 - k0, waited: w1 - w0, cpu: cpuSummary(cpu0, s.cpu())})
	s.githubRow(githubDiff(gh0, gh1), took)
	if s.runners == 0 {
		return fmt.Errorf("no runner reached: %s", s.stopped)
	}
	// Idle from here: every session open, nothing left to create.
	if err := sleepCtx(ctx, 2*time.Second); err != nil {
		return err
	}
	var ids []int
	for _, set := range s.created {
		if id, ok := s.ids[set.key()]; ok {
			ids = append(ids, id)
		}
	}
	if s.idle, err = openIdle(s.sim, ids); err != nil {
		return err
	}
	return stepErr
}

// nextStep sizes the next step: up to -scale-step RunnerSets, fewer if what each runner cost so
// far says more would not fit. 0 and the reason when not even one fits.
func (s *scaleRun) nextStep(ctx context.Context) (int, string) {
	per := *scalePerSet
	n := min(*scaleStep, *scaleSets-len(s.created))
	why := ""
	if s.runners > 0 {
		u := s.usage(ctx)
		minFree := int64(*scaleMinFree) * mebi
		if perRunner := float64(s.before.available-u.available) / float64(s.runners); perRunner > 0 {
			if fit := int(float64(u.available-minFree) / perRunner / float64(per)); fit < n {
				n, why = max(fit, 0), fmt.Sprintf("memory: the machine's MemAvailable is %.1f GiB and fell %.0f KiB per runner so far; one more RunnerSet of %d runners would leave less than %d MiB (-scale-min-available-mib)",
					float64(u.available)/gibi, perRunner/1024, per, *scaleMinFree)
			}
		}
		if perRunner := float64(u.etcdDB-s.before.etcdDB) / float64(s.runners); perRunner > 0 {
			if fit := int((etcdFill*s.etcdMax - float64(u.etcdDB)) / perRunner / float64(per)); fit < n {
				n, why = max(fit, 0), fmt.Sprintf("etcd: its db is %.0f MiB of a %.0f MiB quota and grew %.1f KiB per runner so far; one more RunnerSet of %d runners would take it past %.0f%%",
					float64(u.etcdDB)/mebi, s.etcdMax/mebi, perRunner/1024, per, etcdFill*100)
			}
		}
	}
	for ; n > 0; n-- {
		pods := n * per
		need := time.Duration(float64(pods)/s.podRate()*1.15*float64(time.Second)) + stepTail + s.afterSetup(s.runners+pods)
		if time.Now().Add(need).Before(s.end) {
			return n, ""
		}
		why = fmt.Sprintf("time: at %.1f runner pods/s (the last step's), one more RunnerSet of %d runners and then the phases at size (about %s) would end after the run's deadline (-scale-budget %s from its start)",
			s.podRate(), per, s.afterSetup(s.runners+per).Round(time.Second), *scaleBudget)
	}
	return 0, why
}

// step creates n more RunnerSets and waits until their runners are Running with their online
// state recorded and their statuses settled, or until the step's own deadline or a hard limit.
func (s *scaleRun) step(ctx context.Context, n int) (stepStats, error) {
	per := *scalePerSet
	first := len(s.created)
	st := stepStats{sets: n, pods: n * per}
	deadline := s.end.Add(-s.afterSetup(s.runners + st.pods))
	begin, cpu0 := time.Now(), s.cpu()
	var sets []scaleSet
	for i := first; i < first+n; i++ {
		sets = append(sets, scaleSet{ns: nsName(i), name: setName(i)})
	}
	if err := s.createSets(ctx, sets); err != nil {
		return st, err
	}
	s.created = append(s.created, sets...)
	want := len(s.created) * per
	err := wait.PollUntilContextTimeout(ctx, time.Second, time.Until(deadline), true, func(context.Context) (bool, error) {
		live, running, online := s.count()
		s.runners = running
		if st.seen == 0 && live >= want {
			st.seen = time.Since(begin)
		}
		if st.running == 0 && running >= want {
			st.running = time.Since(begin)
		}
		if why := s.hardLimit(); why != "" {
			return false, errors.New(why)
		}
		return running >= want && online >= want, nil
	})
	if err == nil {
		st.online = time.Since(begin)
		err = wait.PollUntilContextTimeout(ctx, time.Second, time.Until(deadline), true, func(ctx context.Context) (bool, error) {
			return s.settled(ctx, sets), nil
		})
	}
	st.took = time.Since(begin)
	if err != nil {
		live, running, online := s.count()
		return st, fmt.Errorf("step of %d RunnerSets (%d → %d) stopped after %s with %d runner pods seen, %d Running, %d with their online state recorded, of %d: %w",
			n, first, first+n, st.took.Round(time.Second), live, running, online, want, err)
	}
	s.rate = float64(st.pods) / st.online.Seconds()
	s.logStep(ctx, st, cpuSummary(cpu0, s.cpu()))
	return st, nil
}

// logStep logs a step's times and what the system holds after it, to see a trend before a limit.
func (s *scaleRun) logStep(ctx context.Context, st stepStats, cpu string) {
	u := s.usage(ctx)
	s.logf("step: %d RunnerSets, %d runners: all pods seen after %s, Running after %s, online state recorded after %s, statuses after %s (%.1f pods/s); %d runners in all. RSS: server %.0f MiB (heap %.0f), kube-apiserver %.0f MiB, etcd %.0f MiB; etcd db %.0f MiB; MemAvailable %.1f GiB. %s",
		st.sets, st.pods, st.seen.Round(100*time.Millisecond), st.running.Round(100*time.Millisecond), st.online.Round(100*time.Millisecond), st.took.Round(100*time.Millisecond), s.rate, s.runners,
		float64(u.serverRSS)/mebi, u.serverHeap/mebi, float64(u.apiRSS)/mebi, float64(u.etcdRSS)/mebi, float64(u.etcdDB)/mebi, float64(u.available)/gibi, cpu)
}

// profileUntilEnd takes a profile beside a phase, not cut short by the phase's end.
func (s *scaleRun) profileUntilEnd(name, kind string, seconds int) {
	ctx, cancel := context.WithDeadline(context.Background(), s.end)
	defer cancel()
	s.profile(ctx, name, kind, seconds)
}

// createSets creates RunnerSets a few at a time.
func (s *scaleRun) createSets(ctx context.Context, sets []scaleSet) error {
	var mu sync.Mutex
	var first error
	workqueue.ParallelizeUntil(ctx, creators, len(sets), func(i int) {
		rs := s.runnerSet(sets[i].ns, sets[i].name, int32(*scalePerSet), int32(*scalePerSet))
		if err := s.createRunnerSets(ctx, rs); err != nil {
			mu.Lock()
			first = errors.Join(first, err)
			mu.Unlock()
		}
	})
	return first
}

// count sums the runner pods of every scale namespace.
func (s *scaleRun) count() (live, running, online int) {
	for _, t := range s.trackers {
		l, r, o := t.live()
		live, running, online = live+l, running+r, online+o
	}
	return live, running, online
}

// hardLimit stops a step that is filling the machine or etcd faster than the last steps did.
func (s *scaleRun) hardLimit() string {
	minFree := int64(*scaleMinFree) * mebi / 2
	if a := memAvailable(); a > 0 && a < minFree {
		return fmt.Sprintf("memory: the machine's MemAvailable fell to %.1f GiB during the step", float64(a)/gibi)
	}
	if db := s.etcdDBSize(); float64(db) > (1+etcdFill)/2*s.etcdMax {
		return fmt.Sprintf("etcd: its db reached %.0f MiB of a %.0f MiB quota during the step", float64(db)/mebi, s.etcdMax/mebi)
	}
	if _, _, err := procStatus(s.serverPID); err != nil {
		return "the server exited: " + err.Error()
	}
	return ""
}

// settled reports whether every RunnerSet of sets says it has all its runners, and records
// their scale set ids.
func (s *scaleRun) settled(ctx context.Context, sets []scaleSet) bool {
	byNS := map[string]map[string]v1alpha1.RunnerSet{}
	for _, set := range sets {
		if byNS[set.ns] != nil {
			continue
		}
		list, err := s.actions.ActionsV1alpha1().RunnerSets(set.ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false
		}
		byNS[set.ns] = map[string]v1alpha1.RunnerSet{}
		for _, rs := range list.Items {
			byNS[set.ns][rs.Name] = rs
		}
	}
	ok := true
	for _, set := range sets {
		rs, found := byNS[set.ns][set.name]
		if found && rs.Status.ScaleSetID != 0 {
			s.ids[set.key()] = int(rs.Status.ScaleSetID)
		}
		if !found || int(rs.Status.CurrentRunners) != *scalePerSet || !meta.IsStatusConditionTrue(rs.Status.Conditions, v1alpha1.ConditionReady) {
			ok = false
		}
	}
	return ok
}

// setupTotals is what the scale-up cost, for its rows.
type setupTotals struct {
	took             time.Duration
	steps            []stepStats
	kubeReqs, waited float64 // the server's kube-apiserver requests; its client rate limiter's waits, s
	cpu              string
}

// githubUse is what the scale-up asked of GitHub.
type githubUse struct {
	detail  string // requests by endpoint
	rest    int    // REST requests: registration tokens and runner lists
	limited string // answers refused by a rate limit, by limit
}

func githubDiff(c0, c1 simulator.Counters) githubUse {
	by := map[string]int{}
	for ep, n := range c1.Endpoints {
		by[ep] = n - c0.Endpoints[ep]
	}
	g := githubUse{rest: by[simulator.EPRegistrationToken] + by[simulator.EPListRunners], limited: "none"}
	_, g.detail = breakdown(by)
	limited := map[string]int{}
	for k, n := range c1.RateLimited {
		if d := n - c0.RateLimited[k]; d != 0 {
			limited[k] = d
		}
	}
	if len(limited) > 0 {
		_, d := breakdown(limited)
		g.limited = strings.TrimSuffix(strings.TrimPrefix(d, "Requests: "), ".")
	}
	return g
}

// githubRow reports the scale-up's REST requests an hour against GitHub's budget, which all
// RunnerSets here share: one PAT.
func (s *scaleRun) githubRow(g githubUse, took time.Duration) {
	perHour := float64(g.rest) / took.Hours()
	perSet := float64(g.rest) / float64(max(len(s.created), 1))
	budget := fmt.Sprintf("the simulator kept GitHub's budget (%d an hour)", simulator.DefaultRESTRateLimit)
	if *scaleRESTLimit > 0 {
		budget = fmt.Sprintf("the simulator's budget was raised to %d an hour for this run (-scale-rest-limit) so that the scale-up measures the server", *scaleRESTLimit)
	}
	s.add(Result{ID: "S.github.rest", Figure: "GitHub REST requests an hour during the scale-up, all RunnerSets sharing one PAT",
		Value: perHour, Unit: "req/h", Target: fmt.Sprintf("≤ %d (GitHub's budget per credential)", simulator.DefaultRESTRateLimit),
		Met: boolp(perHour <= simulator.DefaultRESTRateLimit), Samples: g.rest,
		Note: fmt.Sprintf("registration tokens and runner lists (each charged unless a 304, so an upper bound): %d over %s, %.1f per RunnerSet created; %s; answers refused by a rate limit: %s. All GitHub requests during the scale-up: %s",
			g.rest, took.Round(time.Second), perSet, budget, g.limited, g.detail)})
}

// setupRows reports the size reached, how long it took and what stopped it.
func (s *scaleRun) setupRows(ctx context.Context, tot setupTotals) {
	target := *scaleSets * *scalePerSet
	perRunner := tot.kubeReqs / float64(max(s.runners, 1))
	reached := "the target size was reached"
	if s.stopped != "" {
		reached = "stopped short: " + s.stopped
	}
	if strings.HasPrefix(s.stopped, "time") {
		reached += fmt.Sprintf(". What bounds the pods per second: the server sends %.1f kube-apiserver requests per runner, so its --kube-api-qps=%g allows at most %.0f runners/s, and its client rate limiter held its requests back %.0f s in all; %s (S.setup)",
			perRunner, *qps, *qps/perRunner, tot.waited, tot.cpu)
	}
	var steps []string
	for i, st := range tot.steps {
		steps = append(steps, fmt.Sprintf("%d: %d sets, pods seen %.0f s, Running %.0f s, online state %.0f s, settled %.0f s",
			i+1, st.sets, st.seen.Seconds(), st.running.Seconds(), st.online.Seconds(), st.took.Seconds()))
	}
	namespaces := (len(s.created) + *scalePerNS - 1) / *scalePerNS
	s.add(Result{ID: "S.size", Figure: fmt.Sprintf("runner pods Running at size (target %d RunnerSets × %d warm runners)", *scaleSets, *scalePerSet),
		Value: float64(s.runners), Unit: "runners", Target: fmt.Sprintf("%d", target), Met: boolp(s.runners >= target), Samples: len(s.created),
		Note: fmt.Sprintf("%d RunnerSets created in %d namespace(s), in %d step(s) of up to %d; %s", len(s.created), namespaces, len(tot.steps), *scaleStep, reached)})
	u := s.atSize
	s.add(Result{ID: "S.setup", Figure: "scale-up: RunnerSets created → all runners Running, online state recorded, statuses settled (context)",
		Value: tot.took.Seconds(), Unit: "s", Samples: s.runners,
		Note: fmt.Sprintf("steps (seconds from the step's start): %s. The server sent %.0f requests to the kube-apiserver (%.1f per runner), which waited %.0f s in all (summed over its goroutines) for its client rate limiter (QPS %g, burst %d). %s. At size %s; RSS: server %.0f MiB, kube-apiserver %.0f MiB, etcd %.0f MiB; etcd db %.0f MiB; MemAvailable %.1f GiB",
			strings.Join(steps, "; "), tot.kubeReqs, perRunner, tot.waited, *qps, *burst, tot.cpu, s.objectCounts(ctx),
			float64(u.serverRSS)/mebi, float64(u.apiRSS)/mebi, float64(u.etcdRSS)/mebi, float64(u.etcdDB)/mebi, float64(u.available)/gibi)})
	s.add(Result{ID: "S.setup.rate", Figure: "scale-up: runner pods Running per second (context)",
		Value: float64(s.runners) / tot.took.Seconds(), Unit: "pods/s", Samples: s.runners,
		Note: fmt.Sprintf("over the whole scale-up; the last step alone %.1f pods/s, which sized the steps after it", s.rate)})
}
