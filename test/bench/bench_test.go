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

// Package bench is `make bench`: the performance suite of issue 6, run on the local system
// (etcd, kube-apiserver, controller-manager, scheduler, kwok, our server) with the GitHub
// simulator and the runner emulator as processes, all on 127.0.0.1. Every figure is measured
// beside its baseline in the same run; the suite writes _output/bench/results.json,
// results.md and run.json, and compares with the previous run when there is one.
//
// It is not part of `make test`: nothing here is a timed assertion that can fail a build.
// TestBench fails only when a scenario cannot run at all (the system does not start, a wait
// times out); a missed target is a row with met=false.
package bench

import (
	"flag"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

var (
	binDir   = flag.String("bin-dir", "", "directory with the built tools and our binaries (default: <repo>/_output/bin)")
	outDir   = flag.String("out", "", "where results go (default: <repo>/_output/bench)")
	seed     = flag.Int64("seed", 1, "seed of every random choice (job gaps, names, list order) and of the simulator")
	qps      = flag.Float64("kube-api-qps", 200, "the server's --kube-api-qps (its default is 50), also used by the P2 baseline loop")
	burst    = flag.Int("kube-api-burst", 400, "the server's --kube-api-burst (its default is 100), also used by the P2 baseline loop")
	parallel = flag.Int("runner-create-parallelism", 16, "the server's --runner-create-parallelism, also the P2 baseline loop's concurrency")
	// 179Mi is the soft limit the server gives itself in a container limited to 256Mi (70%):
	// P6 is taken as the server runs there. "0" measures it without any.
	memLimit = flag.String("memory-limit", "179Mi", "the server's --memory-limit (default: what it sets itself in a 256Mi container)")
	quick    = flag.Bool("quick", false, "small sizes, to work on the harness itself (results are not comparable)")
	only     = flag.String("only", "", "comma-separated scenarios to run: P1,P2,P4,P5,P7,P8 (P3 comes with P1, P6 with P5); default all")
	keep     = flag.Bool("keep", false, "keep the state directory (logs, kubeconfigs) after the run")
	extra    = flag.String("server-args", "", "extra flags for the server, space-separated (e.g. to try a setting)")
	binary   = flag.String("server-binary", "", "the server binary (default: <bin-dir>/runnerset-apiserver), e.g. a wrapper that sets GOMEMLIMIT")
)

// sizes are the scenario sizes; the full ones are the issue's.
type sizes struct {
	P1Jobs       int // jobs one at a time on one RunnerSet
	P1Sets       int // RunnerSets that each get a job at the same moment
	P1Rounds     int // how often that is repeated
	P2Jobs       int // burst size (and maxRunners)
	P4BurstJobs  int // jobs of the per-job request count workload
	P4IdleSets   int // idle RunnerSets whose requests are counted for the whole run
	P5Sets       int // RunnerSets of the read and memory scenario
	P5PerSet     int // warm runners each (minRunners)
	P5Samples    int // list calls of each kind
	P4ReadCalls  int // kubectl calls in the quiet read window
	P7Jobs       int // trickle jobs beside the P2Jobs burst (fairness between namespaces)
	P8Jobs       int // jobs whose busy runner is evicted (recovery of lost jobs)
	JobDuration  time.Duration
	BurstJobTime time.Duration
}

var full = sizes{
	P1Jobs: 40, P1Sets: 50, P1Rounds: 5, P2Jobs: 1000, P4BurstJobs: 100, P4IdleSets: 20,
	P5Sets: 100, P5PerSet: 50, P5Samples: 30, P4ReadCalls: 10, P7Jobs: 30, P8Jobs: 12, JobDuration: 2 * time.Second, BurstJobTime: 3 * time.Second,
}

var small = sizes{
	P1Jobs: 5, P1Sets: 5, P1Rounds: 2, P2Jobs: 60, P4BurstJobs: 10, P4IdleSets: 3,
	P5Sets: 4, P5PerSet: 5, P5Samples: 5, P4ReadCalls: 3, P7Jobs: 10, P8Jobs: 4, JobDuration: 2 * time.Second, BurstJobTime: 2 * time.Second,
}

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// TestBench runs the whole suite on one local system.
func TestBench(t *testing.T) {
	sz := full
	if *quick {
		sz = small
	}
	b := start(t, sz)
	defer b.stop()
	defer b.report() // results are written even when a scenario fails half-way

	b.setup()
	if b.enabled("P4") {
		b.run("P4 reads", b.p4Reads)
	}
	if b.enabled("P1") {
		b.run("P1 one RunnerSet", b.p1One)
		b.run("P1 many RunnerSets", b.p1Many)
	}
	if b.enabled("P4") {
		b.run("P4 per job", b.p4Jobs)
	}
	if b.enabled("P1") {
		b.run("P3 teardown", b.p3)
	}
	if b.enabled("P2") {
		b.run("P2 burst", b.p2)
	}
	if b.enabled("P7") {
		b.run("P7 fairness", b.p7)
	}
	if b.enabled("P8") {
		b.run("P8 recovery", b.p8)
	}
	if b.enabled("P5") {
		b.run("P5 reads and P6 memory", b.p5)
	}
	if b.enabled("P4") {
		b.run("P4 idle", b.p4Idle)
	}
	b.run("P6 memory", b.p6)
}
