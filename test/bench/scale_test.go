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

// `make bench-scale`: ten times P5 (issue 16, item 4). 1000 RunnerSets with 50 warm runners each
// are created in steps; at the size reached the run measures the list calls (P5), the server's
// memory (P6), the idle GitHub requests (P4.idle), a burst (P2) and a leader takeover, each beside
// a same-run baseline where there is one. Results: _output/bench/scale-results.{json,md}.
//
// The machine may not hold the size: every phase has a deadline derived from the test's own
// (-scale-budget), and the scale-up stops before a step that would not fit in time, in etcd's
// quota or in the machine's memory. The size reached and what stopped it are rows, not failures.

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"testing"
	"time"

	"actions.dev/runnerset-apiserver/pkg/github/simulator"
)

var (
	scaleSets    = flag.Int("scale-sets", 1000, "TestBenchScale: RunnerSets with warm runners")
	scalePerSet  = flag.Int("scale-per-set", 50, "TestBenchScale: warm runners of each (minRunners = maxRunners)")
	scalePerNS   = flag.Int("scale-per-ns", 50, "TestBenchScale: RunnerSets per namespace")
	scaleBurst   = flag.Int("scale-burst", 5000, "TestBenchScale: jobs of the P2 burst at size")
	scaleSamples = flag.Int("scale-samples", 10, "TestBenchScale: list calls of each kind at size")
	scaleStep    = flag.Int("scale-step", 100, "TestBenchScale: RunnerSets created per step of the scale-up")
	scaleBudget  = flag.Duration("scale-budget", 18*time.Minute, "TestBenchScale: its own deadline from its start (make bench-scale's go test -timeout is 20m)")
	// 717Mi is what the server sets itself in a container limited to 1Gi (70%), P6's target here.
	scaleMemLimit = flag.String("scale-memory-limit", "717Mi", "TestBenchScale: the server's --memory-limit unless -memory-limit is given")
	scaleMinFree  = flag.Int("scale-min-available-mib", 4096, "TestBenchScale: no scale-up step that would leave the machine less MemAvailable than this")
	scaleSchedQPS = flag.Int("scale-scheduler-qps", 0, "TestBenchScale: restart kube-scheduler with this --kube-api-qps (0: keep the local system's, 50)")
	// Every RunnerSet here shares one PAT: GitHub's 5000 REST requests an hour would stop the
	// scale-up itself (the runner lists that record online state). S.github.rest reports the use.
	scaleRESTLimit = flag.Int("scale-rest-limit", 1000000, "TestBenchScale: the simulator's REST budget per credential and hour (0: keep GitHub's 5000)")
)

// scaleSet is one RunnerSet of the scale-up.
type scaleSet struct{ ns, name string }

func (s scaleSet) key() string { return s.ns + "/" + s.name }

// scaleRun is one TestBenchScale run on its local system.
type scaleRun struct {
	*bench
	begin time.Time
	end   time.Time // the test's own deadline; every phase ends before it

	trackers map[string]*tracker // runner pods by namespace
	created  []scaleSet
	ids      map[string]int // scale set id by scaleSet.key()
	runners  int            // runner pods Running at size
	rate     float64        // runner pods per second of the scale-up
	stopped  string         // why the scale-up stopped short of the target

	before  usage // before the scale-up
	atSize  usage
	etcdMax float64 // etcd's backend quota, bytes
	idle    *idleWindow
	probe   scaleSet // a RunnerSet with no runners: the takeover's new job runs there
	extra   []string // server flags beyond TestBench's
	limit   string   // the server's --memory-limit
}

// TestBenchScale runs the scale scenario on one local system. It fails only when the system
// cannot start or be prepared; everything else is a row.
func TestBenchScale(t *testing.T) {
	for name, v := range map[string]int{"scale-sets": *scaleSets, "scale-per-set": *scalePerSet, "scale-per-ns": *scalePerNS,
		"scale-burst": *scaleBurst, "scale-samples": *scaleSamples, "scale-step": *scaleStep} {
		if v < 1 {
			t.Fatalf("-%s=%d: must be at least 1", name, v)
		}
	}
	s := &scaleRun{begin: time.Now(), ids: map[string]int{}, trackers: map[string]*tracker{}}
	s.end = s.begin.Add(*scaleBudget)
	restore := s.serverFlags()
	s.bench = start(t, sizes{P5Sets: *scaleSets, P5PerSet: *scalePerSet, P5Samples: *scaleSamples, P2Jobs: *scaleBurst})
	restore()
	defer s.stop()
	defer s.writeReport()
	defer s.stopTrackers()

	if err := s.prepare(); err != nil {
		t.Fatalf("preparing the scale run: %v", err)
	}
	s.phase("scale-up", s.end, s.scaleUp)
	if s.runners == 0 {
		return
	}
	takeover := s.takeoverTime(s.runners)
	s.phase("P5 lists at size", s.end.Add(-s.burstTime()-takeover), s.lists)
	s.phase("P2 burst at size", s.end.Add(-takeover), s.burst)
	s.phase("P6 memory at size", s.end.Add(-takeover), s.memory)
	s.phase("P4 idle at size", s.end.Add(-takeover), s.idleResult)
	s.phase("leader takeover at size", s.end.Add(-reserveReport), s.takeover)
}

// serverFlags sets what start gives the server for this run and returns how to undo it: a
// memory limit for the 1 GiB target, and caps that let one RunnerSet hold the burst and one
// namespace its share of the RunnerSets.
func (s *scaleRun) serverFlags() func() {
	oldLimit, oldExtra := *memLimit, *extra
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == "memory-limit" })
	if !given {
		*memLimit = *scaleMemLimit
	}
	s.limit = *memLimit
	s.extra = []string{fmt.Sprintf("--max-runners-per-runnerset=%d", max(*scaleBurst, *scalePerSet, 1000)),
		fmt.Sprintf("--max-runnersets-per-namespace=%d", max(*scalePerNS, 100))}
	*extra = strings.TrimSpace(oldExtra + " " + strings.Join(s.extra, " "))
	return func() { *memLimit, *extra = oldLimit, oldExtra }
}

// phase runs one phase until its deadline. An error is a note, not a test failure: at this size
// a phase that cannot finish is a finding.
func (s *scaleRun) phase(name string, deadline time.Time, f func(ctx context.Context) error) {
	begin := time.Now()
	s.logf("=== %s (until %s, %s left)", name, deadline.Format("15:04:05"), time.Until(deadline).Round(time.Second))
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	if err := f(ctx); err != nil {
		s.logf("%s did not complete: %v", name, err)
		s.note("%s did not complete: %v", name, err)
	}
	s.logf("--- %s done in %s", name, time.Since(begin).Round(100*time.Millisecond))
}

func (s *scaleRun) stopTrackers() {
	for _, t := range s.trackers {
		t.stop()
	}
}

// What the phases after the scale-up need, estimated from the size and the scale-up's rate.
const (
	reserveReport = 30 * time.Second // the report, stopping the system
	takeoverFixed = 60 * time.Second // a replica up, the Lease expiring, a pod: at any size
	initialRate   = 40.0             // pods/s assumed before the first step measured it
)

func (s *scaleRun) podRate() float64 {
	if s.rate > 0 {
		return s.rate
	}
	return initialRate
}

// takeoverTime is the takeover and the report at n runners: the new leader lists every pod and
// Secret and opens every session.
func (s *scaleRun) takeoverTime(n int) time.Duration {
	sets := n / *scalePerSet
	return takeoverFixed + time.Duration(n+*scaleBurst)*time.Millisecond + time.Duration(sets)*20*time.Millisecond + reserveReport
}

// burstTime is the burst and its baseline. The baseline loop sends two requests a pair at the
// server's QPS; its deletion is one request the kube-apiserver carries out.
func (s *scaleRun) burstTime() time.Duration {
	return s.burstAlone() + s.baselineTime()
}

func (s *scaleRun) burstAlone() time.Duration {
	return time.Duration(float64(*scaleBurst)/s.podRate()*1.3*float64(time.Second)) + 15*time.Second
}

func (s *scaleRun) baselineTime() time.Duration {
	return time.Duration(float64(2**scaleBurst) / *qps * 1.5 * float64(time.Second)) + time.Duration(*scaleBurst)*10*time.Millisecond + 10*time.Second
}

// listTime: two of the three lists grow with n, about 80 µs a row here.
func (s *scaleRun) listTime(n int) time.Duration {
	return time.Duration(*scaleSamples*2*n)*80*time.Microsecond + 15*time.Second
}

// afterSetup is everything after a scale-up to n runners. The idle window needs one whole
// long-poll hold between the scale-up and the takeover.
func (s *scaleRun) afterSetup(n int) time.Duration {
	return max(s.listTime(n)+s.burstTime(), simulator.DefaultLongPollHold+10*time.Second) + s.takeoverTime(n)
}
