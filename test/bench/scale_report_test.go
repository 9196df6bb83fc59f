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
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// scaleSizes are TestBenchScale's sizes and what was reached, for scale-run.json.
type scaleSizes struct {
	Sets           int    `json:"sets"`
	PerSet         int    `json:"perSet"`
	PerNamespace   int    `json:"perNamespace"`
	Burst          int    `json:"burst"`
	Samples        int    `json:"samples"`
	Step           int    `json:"step"`
	Budget         string `json:"budget"`
	SetsReached    int    `json:"setsReached"`
	RunnersReached int    `json:"runnersReached"`
	Stopped        string `json:"stopped,omitempty"`
}

// scaleRunInfo is scale-run.json: Run's fields that apply here, and the scale sizes.
type scaleRunInfo struct {
	Date        string            `json:"date"`
	Machine     string            `json:"machine"`
	Command     string            `json:"command"`
	Duration    string            `json:"duration"`
	Seed        int64             `json:"seed"`
	ServerFlags []string          `json:"serverFlags"`
	Sizes       scaleSizes        `json:"sizes"`
	Versions    map[string]string `json:"versions"`
	Notes       []string          `json:"notes,omitempty"`
	Load        string            `json:"load"`
}

// writeReport writes scale-results.{json,md} and scale-run.json beside TestBench's results (never
// over them); the previous run's become scale-*.prev.*.
func (s *scaleRun) writeReport() {
	s.mu.Lock()
	results, notes := slices.Clone(s.results), slices.Clone(s.notes)
	s.mu.Unlock()
	if results == nil {
		results = []Result{}
	}
	resultsFile, runFile := filepath.Join(s.out, "scale-results.json"), filepath.Join(s.out, "scale-run.json")
	prev, prevRun := keepPrevious(resultsFile, runFile)
	info := s.runInfo(notes)
	s.writeJSON(resultsFile, results)
	s.writeJSON(runFile, info)
	run := Run{Date: info.Date, Machine: info.Machine, Command: info.Command, Duration: info.Duration, Seed: info.Seed,
		ServerFlags: info.ServerFlags, Notes: info.Notes, Load: info.Load}
	md := "# Ten times the scale (`make bench-scale`)\n\n" + markdown(results, run, prev, prevRun)
	if err := os.WriteFile(filepath.Join(s.out, "scale-results.md"), []byte(md), 0o644); err != nil {
		s.t.Errorf("writing scale-results.md: %v", err)
	}
	s.t.Logf("\n%s", md)
	s.t.Logf("results in %s", s.out)
}

func (s *scaleRun) writeJSON(path string, v any) {
	data, err := json.MarshalIndent(v, "", "  ")
	if err == nil {
		err = os.WriteFile(path, append(data, '\n'), 0o644)
	}
	if err != nil {
		s.t.Errorf("writing %s: %v", path, err)
	}
}

func (s *scaleRun) runInfo(notes []string) scaleRunInfo {
	flags := []string{fmt.Sprintf("--kube-api-qps=%g", *qps), fmt.Sprintf("--kube-api-burst=%d", *burst),
		fmt.Sprintf("--runner-create-parallelism=%d", *parallel), "--memory-limit=" + s.limit}
	flags = append(flags, strings.Fields(*extra)...)
	flags = append(flags, s.extra...)
	sizeNote := fmt.Sprintf("Target: %d RunnerSets × %d warm runners (minRunners = maxRunners, runners not emulated: pods Running on kwok, never online), %d per namespace, created %d RunnerSets a step; reached: %d RunnerSets, %d runners. Burst %d jobs. Every phase ends by the run's own deadline (-scale-budget %s).",
		*scaleSets, *scalePerSet, *scalePerNS, *scaleStep, len(s.created), s.runners, *scaleBurst, *scaleBudget)
	if *scaleSchedQPS > 0 {
		sizeNote += fmt.Sprintf(" kube-scheduler ran with --kube-api-qps=%d.", *scaleSchedQPS)
	}
	return scaleRunInfo{
		Date:        s.begin.UTC().Format(time.RFC3339),
		Machine:     machine(),
		Command:     scaleCommand(),
		Duration:    time.Since(s.begin).Round(time.Second).String(),
		Seed:        *seed,
		ServerFlags: flags,
		Sizes: scaleSizes{Sets: *scaleSets, PerSet: *scalePerSet, PerNamespace: *scalePerNS, Burst: *scaleBurst, Samples: *scaleSamples,
			Step: *scaleStep, Budget: scaleBudget.String(), SetsReached: len(s.created), RunnersReached: s.runners, Stopped: s.stopped},
		Versions: s.versions(),
		Notes:    append([]string{sizeNote}, notes...),
		Load: fmt.Sprintf("load average %s at the start, %s at the end; other control planes (test suites) running: %d at the start, %d at the end",
			s.loadStart, loadAvg(), s.othersStart, otherControlPlanes(s.dir)),
	}
}

// scaleCommand is how to repeat the run: make bench-scale with the flags that were set.
func scaleCommand() string {
	var args []string
	flag.Visit(func(f *flag.Flag) {
		if strings.HasPrefix(f.Name, "scale-") || f.Name == "seed" || f.Name == "memory-limit" || f.Name == "server-args" || strings.HasPrefix(f.Name, "kube-api-") {
			args = append(args, "-"+f.Name+"="+f.Value.String())
		}
	})
	if len(args) == 0 {
		return "make bench-scale"
	}
	return "make bench-scale BENCH_SCALE_ARGS='" + strings.Join(args, " ") + "'"
}
