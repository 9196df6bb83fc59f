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
	"cmp"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"actions.dev/runnerset-apiserver/pkg/localsystem"
)

// clockTick is Linux's USER_HZ, the unit of /proc's CPU times, 100 on every architecture Go
// supports there.
const clockTick = 10 * time.Millisecond

// cpuComponents are the processes whose CPU the scale-up reports: on a small machine the
// CPU they share is what bounds the pods per second.
var cpuComponents = []string{localsystem.ServerName, "kube-apiserver", "etcd", "kube-scheduler", "kube-scheduler-scale",
	"kwok", "kube-controller-manager", localsystem.SimulatorName}

// cpuTimes is the CPU time used so far by each component, this test process and the machine.
type cpuTimes struct {
	at          time.Time
	by          map[string]time.Duration
	busy, total time.Duration
}

func (s *scaleRun) cpu() cpuTimes {
	c := cpuTimes{at: time.Now(), by: map[string]time.Duration{}}
	for _, name := range cpuComponents {
		if pid := s.sys.ComponentPID(name); pid != 0 {
			c.by[name] = procCPU(pid)
		}
	}
	c.by["test process"] = procCPU(os.Getpid())
	c.busy, c.total = machineCPU()
	return c
}

// procCPU is a process's user and system time from /proc/<pid>/stat (fields 14 and 15).
func procCPU(pid int) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name (field 2) may hold spaces; the fields after it start at 3.
	i := strings.LastIndexByte(string(data), ')')
	fields := strings.Fields(string(data)[i+1:])
	if len(fields) < 13 {
		return 0
	}
	user, _ := strconv.ParseInt(fields[11], 10, 64)
	sys, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(user+sys) * clockTick
}

// machineCPU is the machine's busy and total CPU time from the first line of /proc/stat.
func machineCPU() (busy, total time.Duration) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	fields := strings.Fields(strings.SplitN(string(data), "\n", 2)[0])
	var ticks [8]int64 // user nice system idle iowait irq softirq steal
	for i := range ticks {
		if i+1 < len(fields) {
			ticks[i], _ = strconv.ParseInt(fields[i+1], 10, 64)
		}
	}
	var all int64
	for _, t := range ticks {
		all += t
	}
	return time.Duration(all-ticks[3]-ticks[4]) * clockTick, time.Duration(all) * clockTick
}

// cpuSummary says how many cores each process used between two readings, busiest first.
func cpuSummary(a, b cpuTimes) string {
	secs := b.at.Sub(a.at).Seconds()
	if secs <= 0 {
		return ""
	}
	type use struct {
		name  string
		cores float64
	}
	var uses []use
	for name, t := range b.by {
		if t0, ok := a.by[name]; ok {
			uses = append(uses, use{name, (t - t0).Seconds() / secs})
		}
	}
	slices.SortFunc(uses, func(x, y use) int { return cmp.Compare(y.cores, x.cores) })
	var parts []string
	for _, u := range uses {
		parts = append(parts, fmt.Sprintf("%s %.2f", u.name, u.cores))
	}
	machine := 0.0
	if total := (b.total - a.total).Seconds(); total > 0 {
		machine = (b.busy - a.busy).Seconds() / total * float64(runtime.NumCPU())
	}
	return fmt.Sprintf("CPU cores used: %s; the machine %.2f of %d", strings.Join(parts, ", "), machine, runtime.NumCPU())
}
