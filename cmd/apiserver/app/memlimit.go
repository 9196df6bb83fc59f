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

package app

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/klog/v2"
)

// containerShare is the part of the container's memory limit given to the Go runtime as its
// soft limit. The runtime counts only its own memory; the container is also charged for the
// binary's pages in memory (~75 MB resident of a 124 MB binary, measured) and for the moments
// the heap overshoots while the collector catches up.
const containerShare = 0.7

// cgroupMemoryFiles hold the container's memory limit: cgroup v2, then v1.
var cgroupMemoryFiles = []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}

// memoryLimit decides the Go runtime's soft memory limit. Without one the heap may grow to twice
// its live size between collections (GOGC=100): with 5000 runners ~60 MB live became ~170 MB
// while list pages were decoded, enough to meet a container limit that the live data never
// approaches. In order: --memory-limit, then GOMEMLIMIT (the runtime applied it already), then
// containerShare of the container's limit; 0 means none.
func memoryLimit(flag string, envSet bool, readFile func(string) ([]byte, error)) (limit int64, source string, err error) {
	if flag != "" {
		q, err := resource.ParseQuantity(flag)
		if err != nil {
			return 0, "", fmt.Errorf("--memory-limit: %w", err)
		}
		if q.Sign() < 0 {
			return 0, "", fmt.Errorf("--memory-limit must not be negative")
		}
		return q.Value(), "--memory-limit", nil
	}
	if envSet {
		return 0, "GOMEMLIMIT", nil
	}
	for _, f := range cgroupMemoryFiles {
		data, err := readFile(f)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, "", nil // unreadable: no limit is safer than a wrong one
		}
		s := strings.TrimSpace(string(data))
		n, err := strconv.ParseInt(s, 10, 64)
		// "max" (v2) or a page-rounded MaxInt64 (v1) mean no limit.
		if err != nil || n <= 0 || n >= math.MaxInt64/2 {
			return 0, "", nil
		}
		return int64(float64(n) * containerShare), fmt.Sprintf("%.0f%% of the container's limit (%s)", containerShare*100, f), nil
	}
	return 0, "", nil
}

// applyMemoryLimit sets the soft memory limit memoryLimit decides.
func applyMemoryLimit(flag string) error {
	_, envSet := os.LookupEnv("GOMEMLIMIT")
	limit, source, err := memoryLimit(flag, envSet, os.ReadFile)
	if err != nil {
		return err
	}
	switch {
	case source == "GOMEMLIMIT":
		klog.InfoS("Soft memory limit", "bytes", debug.SetMemoryLimit(-1), "source", source)
	case limit > 0:
		debug.SetMemoryLimit(limit)
		klog.InfoS("Soft memory limit", "bytes", limit, "source", source)
	case source == "--memory-limit": // 0: none, explicitly
		debug.SetMemoryLimit(math.MaxInt64)
	}
	return nil
}
