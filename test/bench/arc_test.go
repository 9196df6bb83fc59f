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
)

// arcSizes are TestBenchARC's workload sizes.
type arcSizes struct {
	P1Jobs int // jobs one at a time on one scale set
	P2Jobs int // burst on one scale set
}

func arcSizing() arcSizes {
	sz := arcSizes{P1Jobs: full.P1Jobs, P2Jobs: 200}
	if *quick {
		sz = arcSizes{P1Jobs: small.P1Jobs, P2Jobs: 30}
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
	t.Run("arc", func(t *testing.T) {
		e := startARC(t)
		defer e.stop()
		rep.arcFlags = strings.Join(e.ctrlArgs, " ")
		rep.arcRes = measureSide(e.b, e, sz)
		rep.arcRepairs = e.repairs.Load()
		rep.listenerStarts, rep.listenerExits = e.listeners.counts()
	})
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
