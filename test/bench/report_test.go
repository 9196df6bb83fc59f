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
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

// Result is one row of results.json.
type Result struct {
	ID     string  `json:"id"`
	Figure string  `json:"figure"`
	Value  float64 `json:"value"`
	Unit   string  `json:"unit"`
	// Baseline is measured in the same run; nil where the issue names none.
	Baseline *float64 `json:"baseline"`
	// Ratio is value / baseline; nil without a baseline.
	Ratio  *float64 `json:"ratio"`
	Target string   `json:"target"`
	// Met is nil for a row without a target (context only).
	Met     *bool  `json:"met"`
	Samples int    `json:"samples,omitempty"`
	Note    string `json:"note,omitempty"`
}

// Run is run.json: where and how the figures were taken.
type Run struct {
	Date        string            `json:"date"`
	Machine     string            `json:"machine"`
	Command     string            `json:"command"`
	Duration    string            `json:"duration"`
	Seed        int64             `json:"seed"`
	ServerFlags []string          `json:"serverFlags"`
	Sizes       sizes             `json:"sizes"`
	Versions    map[string]string `json:"versions"`
	Notes       []string          `json:"notes,omitempty"`
	Quick       bool              `json:"quick,omitempty"`
	// Load is the machine's load average when the run started and ended, and how many other
	// kube-apiservers (other test suites) were running meanwhile: figures from a shared machine
	// are not comparable with a quiet one.
	Load string `json:"load"`
}

func loadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Join(strings.Fields(string(data))[:3], " ")
}

// otherControlPlanes counts kube-apiserver processes that are not this run's.
func otherControlPlanes(mine string) int {
	n := 0
	for _, args := range processes() {
		if strings.HasSuffix(args[0], "kube-apiserver") && !strings.Contains(strings.Join(args, " "), mine) {
			n++
		}
	}
	return n
}

func f64(v float64) *float64 { return &v }
func boolp(v bool) *bool     { return &v }

func (b *bench) add(r Result) {
	if r.Baseline != nil && *r.Baseline != 0 && r.Ratio == nil {
		r.Ratio = f64(r.Value / *r.Baseline)
	}
	b.mu.Lock()
	b.results = append(b.results, r)
	b.mu.Unlock()
	met := "-"
	if r.Met != nil {
		met = fmt.Sprint(*r.Met)
	}
	base := ""
	if r.Baseline != nil {
		base = fmt.Sprintf(" (baseline %s)", fmtNum(*r.Baseline))
	}
	b.logf("RESULT %-18s %s %s%s  target %s  met=%s  %s", r.ID, fmtNum(r.Value), r.Unit, base, r.Target, met, r.Note)
}

// percentile is the nearest-rank percentile of xs (p in 0..100).
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	rank = min(max(rank, 1), len(s))
	return s[rank-1]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func sortTimes(ts []time.Time) { slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) }) }

func fmtNum(v float64) string {
	switch {
	case math.IsNaN(v):
		return "n/a"
	case v == math.Trunc(v) && math.Abs(v) < 1e9:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 100:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

func machine() string {
	model := "unknown CPU"
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(line, "model name") {
				_, v, _ := strings.Cut(line, ":")
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	mem := ""
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		fmt.Sscanf(strings.SplitN(string(data), "\n", 2)[0], "MemTotal: %d kB", &kb)
		mem = fmt.Sprintf(", %.0f GiB RAM", float64(kb)/(1<<20))
	}
	kernel := ""
	if data, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = ", Linux " + strings.TrimSpace(string(data))
	}
	return fmt.Sprintf("%d CPUs (%s)%s%s", runtime.NumCPU(), model, mem, kernel)
}

func (b *bench) versions() map[string]string {
	v := map[string]string{"go": runtime.Version()}
	if out, err := exec.Command(filepath.Join(*binDir, "kube-apiserver"), "--version").Output(); err == nil {
		v["kube-apiserver"] = strings.TrimSpace(string(out))
	}
	if out, err := exec.Command(filepath.Join(*binDir, "etcd"), "--version").Output(); err == nil {
		v["etcd"] = strings.SplitN(strings.TrimSpace(string(out)), "\n", 2)[0]
	}
	if out, err := exec.Command("git", "-C", b.root, "rev-parse", "--short", "HEAD").Output(); err == nil {
		dirty := ""
		if st, _ := exec.Command("git", "-C", b.root, "status", "--porcelain", "--", "cmd", "pkg").Output(); len(st) > 0 {
			dirty = " + uncommitted changes"
		}
		v["commit"] = strings.TrimSpace(string(out)) + dirty
	}
	return v
}

// report writes results.json, run.json and results.md; the previous run's files become
// *.prev.* and the table shows the change against them.
func (b *bench) report() {
	b.mu.Lock()
	results := slices.Clone(b.results)
	notes := slices.Clone(b.notes)
	b.mu.Unlock()
	resultsFile := filepath.Join(b.out, "results.json")
	runFile := filepath.Join(b.out, "run.json")
	prev, prevRun := keepPrevious(resultsFile, runFile)
	run := Run{
		Date:        b.start.UTC().Format(time.RFC3339),
		Machine:     machine(),
		Command:     "make bench",
		Duration:    time.Since(b.start).Round(time.Second).String(),
		Seed:        *seed,
		ServerFlags: []string{fmt.Sprintf("--kube-api-qps=%g", *qps), fmt.Sprintf("--kube-api-burst=%d", *burst), fmt.Sprintf("--runner-create-parallelism=%d", *parallel), "--memory-limit=" + *memLimit},
		Sizes:       b.sz,
		Versions:    b.versions(),
		Notes:       notes,
		Quick:       *quick,
		Load:        fmt.Sprintf("load average %s at the start, %s at the end; other control planes (test suites) running: %d at the start, %d at the end", b.loadStart, loadAvg(), b.othersStart, otherControlPlanes(b.dir)),
	}
	if *extra != "" {
		run.ServerFlags = append(run.ServerFlags, strings.Fields(*extra)...)
	}
	if *quick || *only != "" {
		run.Command = "make bench BENCH_ARGS='" + strings.TrimSpace(strings.Join(benchArgs(), " ")) + "'"
	}
	write := func(path string, v any) {
		data, err := json.MarshalIndent(v, "", "  ")
		if err == nil {
			err = os.WriteFile(path, append(data, '\n'), 0o644)
		}
		if err != nil {
			b.t.Errorf("writing %s: %v", path, err)
		}
	}
	if results == nil {
		results = []Result{}
	}
	write(resultsFile, results)
	write(runFile, run)
	md := markdown(results, run, prev, prevRun)
	if err := os.WriteFile(filepath.Join(b.out, "results.md"), []byte(md), 0o644); err != nil {
		b.t.Errorf("writing results.md: %v", err)
	}
	b.t.Logf("\n%s", md)
	b.t.Logf("results in %s", b.out)
	for _, r := range results {
		if r.Met != nil && !*r.Met {
			b.t.Logf("target missed: %s %s = %s %s (target %s)", r.ID, r.Figure, fmtNum(r.Value), r.Unit, r.Target)
		}
	}
}

func benchArgs() []string {
	var out []string
	if *quick {
		out = append(out, "-quick")
	}
	if *only != "" {
		out = append(out, "-only="+*only)
	}
	return out
}

func markdown(results []Result, run Run, prev map[string]Result, prevRun Run) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "Run of %s on %s; `%s` took %s. Server flags: `%s`. Seed %d. Machine: %s.\n\n", run.Date, run.Machine, run.Command, run.Duration,
		strings.Join(run.ServerFlags, " "), run.Seed, run.Load)
	havePrev := len(prev) > 0
	sb.WriteString("| id | figure | value | baseline (same run) | ratio | target | met |")
	if havePrev {
		sb.WriteString(" previous | change |")
	}
	sb.WriteString("\n|---|---|---|---|---|---|---|")
	if havePrev {
		sb.WriteString("---|---|")
	}
	sb.WriteString("\n")
	for _, r := range results {
		base, ratio, met := "—", "—", "—"
		if r.Baseline != nil {
			base = fmtNum(*r.Baseline) + " " + r.Unit
		}
		if r.Ratio != nil {
			ratio = fmt.Sprintf("%.2f", *r.Ratio)
		}
		if r.Met != nil {
			met = map[bool]string{true: "yes", false: "**no**"}[*r.Met]
		}
		target := r.Target
		if target == "" {
			target = "—"
		}
		fmt.Fprintf(&sb, "| %s | %s | %s %s | %s | %s | %s | %s |", r.ID, escape(r.Figure), fmtNum(r.Value), r.Unit, base, ratio, escape(target), met)
		if havePrev {
			if p, ok := prev[r.ID]; ok {
				change := "—"
				if p.Value != 0 {
					change = fmt.Sprintf("%+.0f%%", (r.Value-p.Value)/math.Abs(p.Value)*100)
				}
				fmt.Fprintf(&sb, " %s %s | %s |", fmtNum(p.Value), p.Unit, change)
			} else {
				sb.WriteString(" — | new |")
			}
		}
		sb.WriteString("\n")
	}
	if havePrev {
		fmt.Fprintf(&sb, "\nPrevious run: %s (%s).\n", prevRun.Date, prevRun.Duration)
	}
	var withNotes []Result
	for _, r := range results {
		if r.Note != "" {
			withNotes = append(withNotes, r)
		}
	}
	if len(withNotes) > 0 {
		sb.WriteString("\nNotes:\n\n")
		for _, r := range withNotes {
			fmt.Fprintf(&sb, "- **%s**: %s\n", r.ID, r.Note)
		}
	}
	for _, n := range run.Notes {
		fmt.Fprintf(&sb, "- %s\n", n)
	}
	return sb.String()
}

func escape(s string) string { return strings.ReplaceAll(s, "|", "\\|") }

// keepPrevious reads the results and run of the last run, by id, and moves their files aside
// (<name>.prev.json), so that a new run's report shows the change.
func keepPrevious(resultsFile, runFile string) (map[string]Result, Run) {
	prev := map[string]Result{}
	var prevRun Run
	data, err := os.ReadFile(resultsFile)
	if err != nil {
		return prev, prevRun
	}
	var rs []Result
	if json.Unmarshal(data, &rs) == nil {
		for _, r := range rs {
			prev[r.ID] = r
		}
	}
	aside := func(f string) string { return strings.TrimSuffix(f, ".json") + ".prev.json" }
	_ = os.Rename(resultsFile, aside(resultsFile))
	if data, err := os.ReadFile(runFile); err == nil {
		_ = json.Unmarshal(data, &prevRun) // the fields markdown uses have the same names
		_ = os.Rename(runFile, aside(runFile))
	}
	return prev, prevRun
}
