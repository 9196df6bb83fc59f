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

// `make bench-arc ARC_SRC=<dir>`: ARC's controller and listener (gha-runner-scale-set 0.14.x)
// measured beside our server on this machine in one run, with the same local control plane
// set-up, the same GitHub simulator and the same runner emulator: our server first on a fresh
// local system, then ARC on another fresh one. Results: _output/bench/arc-results.{json,md}.

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var (
	arcBin   = flag.String("arc-bin", "", "directory with ARC's manager and ghalistener, built by hack/arc/build.sh (TestBenchARC runs only with -arc-bin and -arc-src)")
	arcSrc   = flag.String("arc-src", "", "ARC's source tree at a gha-runner-scale-set-0.14.x tag: its charts and CRDs")
	arcArgs  = flag.String("arc-controller-args", "", "extra flags for ARC's controller, space-separated (default: ARC's own defaults)")
	arcBurst = flag.Int("arc-burst", 0, "jobs of the P2 burst (default 200; 30 with -quick)")
	// -arc-matched: a second ARC pass whose controller has our limits (column "ARC, our limits").
	arcMatched = flag.Bool("arc-matched", false, "also measure ARC with its controller's limits matched to ours: --k8s-client-rate-limiter-qps/-burst = -kube-api-qps/-burst, --runner-max-concurrent-reconciles = -runner-create-parallelism")
)

// arcSizes are TestBenchARC's workload sizes.
type arcSizes struct {
	P1Jobs   int // jobs one at a time on one scale set
	P1Sets   int // scale sets that each get a job at the same moment (P1.many)
	P1Rounds int // how often that is repeated
	P2Jobs   int // burst on one scale set
}

func arcSizing() arcSizes {
	sz := arcSizes{P1Jobs: full.P1Jobs, P1Sets: full.P1Sets, P1Rounds: 3, P2Jobs: 200}
	if *quick {
		sz = arcSizes{P1Jobs: small.P1Jobs, P1Sets: small.P1Sets, P1Rounds: small.P1Rounds, P2Jobs: 30}
	}
	if *arcBurst > 0 {
		sz.P2Jobs = *arcBurst
	}
	return sz
}

// TestBenchARC measures P1 (jobs one at a time), P3, the requests per job, P2 (a burst) and the
// memory of our server and then of ARC, and writes the comparison.
func TestBenchARC(t *testing.T) {
	if *arcBin == "" || *arcSrc == "" {
		t.Skip("needs -arc-bin and -arc-src (make bench-arc ARC_SRC=<ARC checkout>)")
	}
	sz := arcSizing()
	rep := &arcReport{start: time.Now(), sizes: sz}
	rep.arc = readARCVersion(*arcBin, *arcSrc)
	defer rep.write(t)

	t.Run("ours", func(t *testing.T) {
		b := start(t, full)
		defer b.stop()
		rep.oursFlags = fmt.Sprintf("--kube-api-qps=%g --kube-api-burst=%d --runner-create-parallelism=%d --memory-limit=%s", *qps, *burst, *parallel, *memLimit)
		rep.ours = measureSide(b, &oursSide{b: b}, sz)
	})
	t.Run("arc", func(t *testing.T) { rep.arcDef = runARC(t, nil, sz) })
	if *arcMatched {
		t.Run("arc-matched", func(t *testing.T) { rep.arcMatched = runARC(t, matchedARCArgs(), sz) })
	}
}

// arcPass is one measured ARC: its controller's flags, its figures, its listeners' history.
type arcPass struct {
	flags   string
	res     *sideResult
	repairs int32 // stale AutoscalingListeners deleted (arcEnv.repairListener)
	// starts and exits: listener processes started, and exited by themselves.
	starts, exits int
}

// runARC measures ARC on a fresh local system, its controller with extra flags.
func runARC(t *testing.T, extra []string, sz arcSizes) *arcPass {
	e := startARC(t, extra)
	defer e.stop()
	p := &arcPass{flags: strings.Join(e.ctrlArgs, " ")}
	p.res = measureSide(e.b, e, sz)
	p.repairs = e.repairs.Load()
	p.starts, p.exits = e.listeners.counts()
	return p
}

// matchedARCArgs are ARC 0.14.2 controller flags (all in its main.go) set to our server's limits.
func matchedARCArgs() []string {
	return []string{fmt.Sprintf("--k8s-client-rate-limiter-qps=%d", int(*qps)), fmt.Sprintf("--k8s-client-rate-limiter-burst=%d", *burst),
		fmt.Sprintf("--runner-max-concurrent-reconciles=%d", *parallel)}
}

// arcVersion names the ARC that was measured.
type arcVersion struct{ Version, Commit, Source string }

func readARCVersion(bin, src string) arcVersion {
	v := arcVersion{Version: "unknown", Commit: "unknown", Source: src}
	data, err := os.ReadFile(filepath.Join(bin, "arc-version.txt"))
	if err != nil {
		return v
	}
	for _, line := range strings.Split(string(data), "\n") {
		k, val, _ := strings.Cut(line, "=")
		switch k {
		case "version":
			v.Version = val
		case "commit":
			v.Commit = val
		}
	}
	return v
}
