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
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// arcReport is arc-results.{json,md}: each figure for our server and for ARC, same run.
type arcReport struct {
	start     time.Time
	sizes     arcSizes
	arc       arcVersion
	oursFlags string
	ours      *sideResult
	arcDef    *arcPass // ARC's defaults
	// arcMatched is ARC with its controller's limits set to ours (-arc-matched), or nil.
	arcMatched *arcPass
}

// arcRow is one figure of both sides.
type arcRow struct {
	ID     string   `json:"id"`
	Figure string   `json:"figure"`
	Unit   string   `json:"unit"`
	Ours   *float64 `json:"ours"`
	ARC    *float64 `json:"arc"`
	// Ratio is ours / ARC.
	Ratio *float64 `json:"ratio"`
	// Matched is ARC with our limits (-arc-matched); MatchedRatio ours / that.
	Matched      *float64 `json:"arcOurLimits,omitempty"`
	MatchedRatio *float64 `json:"ratioOurLimits,omitempty"`
}

// passRes is a pass's figures, or nil.
func passRes(p *arcPass) *sideResult {
	if p == nil {
		return nil
	}
	return p.res
}

func ratio(a, b *float64) *float64 {
	if a == nil || b == nil || *b == 0 {
		return nil
	}
	return f64(*a / *b)
}

func (r *arcReport) rows() []arcRow {
	var out []arcRow
	add := func(id, figure, unit string, f func(*sideResult) float64) {
		row := arcRow{ID: id, Figure: figure, Unit: unit}
		if r.ours != nil {
			row.Ours = finite(f(r.ours))
		}
		if res := passRes(r.arcDef); res != nil {
			row.ARC = finite(f(res))
		}
		if res := passRes(r.arcMatched); res != nil {
			row.Matched = finite(f(res))
		}
		row.Ratio, row.MatchedRatio = ratio(row.Ours, row.ARC), ratio(row.Ours, row.Matched)
		out = append(out, row)
	}
	n1, n2 := r.sizes.P1Jobs, r.sizes.P2Jobs
	add("P1.one.p50", fmt.Sprintf("job available → its runner pod created, p50, 1 scale set, %d jobs one at a time", n1), "ms", func(s *sideResult) float64 { return percentile(s.P1, 50) })
	add("P1.one.p99", "… p99", "ms", func(s *sideResult) float64 { return percentile(s.P1, 99) })
	add("P3.p50", "job completed → runner pod and Secret gone, p50 (the same jobs)", "ms", func(s *sideResult) float64 { return percentile(s.P3, 50) })
	add("P3.p95", "… p95", "ms", func(s *sideResult) float64 { return percentile(s.P3, 95) })
	many := fmt.Sprintf("%d scale sets at once, %d rounds", r.sizes.P1Sets, r.sizes.P1Rounds)
	add("P1.many.p50", "job available → the pod of the runner that ran it, p50, "+many, "ms", func(s *sideResult) float64 { return percentile(s.P1Many, 50) })
	add("P1.many.p99", "… p99", "ms", func(s *sideResult) float64 { return percentile(s.P1Many, 99) })
	add("P4.job.isolated", "GitHub requests per job, jobs one at a time", "req/job", func(s *sideResult) float64 { return nanIfZero(s.P1GitHub, len(s.P1)) })
	add("P1.one.kube", "kube-apiserver requests per job, jobs one at a time", "req/job", func(s *sideResult) float64 { return nanIfZero(s.P1Kube, len(s.P1)) })
	add("P2", fmt.Sprintf("burst of %d jobs on one scale set → %d runner pods exist", n2, n2), "pods/s", func(s *sideResult) float64 { return rate(s.P2Jobs, s.P2Seconds) })
	add("P2.time", fmt.Sprintf("… time to the %d-th pod", n2), "s", func(s *sideResult) float64 { return nanIfZero(s.P2Seconds, s.P2Jobs) })
	add("P2.first", "… time to the first pod", "s", func(s *sideResult) float64 { return nanIfZero(s.P2First, s.P2Jobs) })
	add("P2.github", "GitHub requests per job in the burst (to the last pod + 3 s)", "req/job", func(s *sideResult) float64 { return nanIfZero(s.P2GitHub, s.P2Jobs) })
	add("P2.kube", "kube-apiserver requests per job in the burst (to the last pod + 3 s)", "req/job", func(s *sideResult) float64 { return nanIfZero(s.P2Kube, s.P2Jobs) })
	add("mem.idle.rss", "resident memory, 1 idle scale set", "MiB", func(s *sideResult) float64 { return mib(float64(s.IdleRSS)) })
	idle := fmt.Sprintf("%d idle scale sets (P1.many's and P1's)", r.sizes.P1Sets+1)
	add("mem.many.rss", "resident memory, "+idle+" (ARC: controller + every listener)", "MiB", func(s *sideResult) float64 { return mib(float64(s.ManyIdleRSS)) })
	add("mem.many.heap", "Go heap in use, "+idle+" (ARC: controller only)", "MiB", func(s *sideResult) float64 { return mib(s.ManyIdleHeap) })
	add("setup.many", fmt.Sprintf("creating %d scale sets (%d at a time) → every message session open", r.sizes.P1Sets, manySetsParallel), "s", func(s *sideResult) float64 { return nanIfNone(s.ManySetupSeconds) })
	add("mem.peak.rss", "resident memory, peak over the run", "MiB", func(s *sideResult) float64 { return mib(float64(s.PeakRSS)) })
	add("mem.idle.heap", "Go heap in use, 1 idle scale set (ARC: controller only)", "MiB", func(s *sideResult) float64 { return mib(s.IdleHeap) })
	add("mem.peak.heap", "Go heap in use, peak (ARC: controller only)", "MiB", func(s *sideResult) float64 { return mib(s.PeakHeap) })
	return out
}

func finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return f64(v)
}

func nanIfZero(v float64, n int) float64 {
	if n == 0 {
		return math.NaN()
	}
	return v
}

func nanIfNone(v float64) float64 {
	if v == 0 {
		return math.NaN()
	}
	return v
}

func rate(n int, secs float64) float64 {
	if n == 0 || secs <= 0 {
		return math.NaN()
	}
	return float64(n) / secs
}

func mib(v float64) float64 {
	if v == 0 {
		return math.NaN()
	}
	return v / (1 << 20)
}

func (r *arcReport) write(t *testing.T) {
	out := *outDir
	if out == "" {
		out = filepath.Join(repoRoot(), "_output", "bench")
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Errorf("%v", err)
		return
	}
	rows := r.rows()
	doc := map[string]any{
		"date": r.start.UTC().Format(time.RFC3339), "machine": machine(), "command": r.command(), "duration": time.Since(r.start).Round(time.Second).String(),
		"arc": r.arc, "oursFlags": r.oursFlags, "sizes": r.sizes, "rows": rows, "ours": r.ours,
	}
	if r.arcDef != nil {
		doc["arcControllerFlags"], doc["arcResults"] = r.arcDef.flags, r.arcDef.res
	}
	if r.arcMatched != nil {
		doc["arcOurLimitsControllerFlags"], doc["arcOurLimitsResults"] = r.arcMatched.flags, r.arcMatched.res
	}
	data, _ := json.MarshalIndent(doc, "", "  ")
	if err := os.WriteFile(filepath.Join(out, "arc-results.json"), append(data, '\n'), 0o644); err != nil {
		t.Errorf("writing arc-results.json: %v", err)
	}
	md := r.markdown(rows)
	if err := os.WriteFile(filepath.Join(out, "arc-results.md"), []byte(md), 0o644); err != nil {
		t.Errorf("writing arc-results.md: %v", err)
	}
	t.Logf("\n%s", md)
}

func (r *arcReport) command() string {
	cmd := "make bench-arc ARC_SRC=" + r.arc.Source
	if r.arc.Commit != "unknown" {
		cmd += " ARC_COMMIT=" + r.arc.Commit
	}
	var args []string
	if *quick {
		args = append(args, "-quick")
	}
	if *arcMatched {
		args = append(args, "-arc-matched")
	}
	if len(args) > 0 {
		cmd += " BENCH_ARC_ARGS='" + strings.Join(args, " ") + "'"
	}
	return cmd
}

func (r *arcReport) markdown(rows []arcRow) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "# Our server and ARC %s, same machine, same run\n\n", r.arc.Version)
	fmt.Fprintf(&sb, "Run of %s on %s; `%s` took %s. ARC: gha-runner-scale-set %s, commit %s, built from %s by hack/arc/build.sh.\n\n",
		r.start.UTC().Format(time.RFC3339), machine(), r.command(), time.Since(r.start).Round(time.Second), r.arc.Version, r.arc.Commit, r.arc.Source)
	sb.WriteString("| id | figure | ours | ARC (same run) | ours/ARC |")
	if r.arcMatched != nil {
		sb.WriteString(" ARC, our limits | ours/ARC, our limits |")
	}
	sb.WriteString("\n|---|---|---|---|---|" + strings.Repeat("---|", 2*btoi(r.arcMatched != nil)) + "\n")
	for _, row := range rows {
		fmt.Fprintf(&sb, "| %s | %s | %s | %s | %s |", row.ID, escape(row.Figure), cell(row.Ours, row.Unit), cell(row.ARC, row.Unit), ratioCell(row.Ratio))
		if r.arcMatched != nil {
			fmt.Fprintf(&sb, " %s | %s |", cell(row.Matched, row.Unit), ratioCell(row.MatchedRatio))
		}
		sb.WriteString("\n")
	}
	sb.WriteString("\nHow it was measured:\n\n")
	for _, n := range r.notes() {
		fmt.Fprintf(&sb, "- %s\n", n)
	}
	return sb.String()
}

func ratioCell(v *float64) string {
	if v == nil {
		return "—"
	}
	return fmt.Sprintf("%.2f", *v)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func cell(v *float64, unit string) string {
	if v == nil {
		return "n/a"
	}
	return fmtNum(*v) + " " + unit
}

func (r *arcReport) notes() []string {
	notes := []string{
		"Each side runs on a fresh local system of its own, one after the other, on this machine: etcd, kube-apiserver, controller-manager, scheduler, kwok (fake nodes: no container runs), the GitHub simulator and its runner emulator, with the same flags as `make bench`. The runner emulator plays both sides' runner pods (label actions.dev/runnerset, JIT config from the runner container's secretKeyRef): the runner comes online, takes its job, runs it 2 s and exits 0, and the pod becomes Succeeded.",
		"Our server: " + r.oursFlags + " (the bench's settings). ARC's controller: `manager " + passFlags(r.arcDef) + "`, ARC's defaults otherwise: --k8s-client-rate-limiter-qps=20 --k8s-client-rate-limiter-burst=30 --runner-max-concurrent-reconciles=2 (its EphemeralRunner controller), one listener per scale set. Both use the scale set's PAT (simulator.DefaultPAT).",
		"ARC's controller runs as a local process with the chart's RBAC and a token of the chart's ServiceAccount (arc-gha-rs-controller), the environment the chart's Deployment gives it, and build.Version set to the chart's appVersion. ARC's listener runs as a local process too, one per listener pod the controller creates, with exactly the configuration the controller wrote (the pod's `<listener>-config` Secret, config.json) and the pod's identity: rest.InClusterConfig() reads a token of the pod's ServiceAccount bound to the pod, in a private mount namespace, and the hostname is the pod's. It has to be a process because kwok's pods run nothing; the listener pod stays the controller's, and when a listener process exits its container is written Terminated so that the controller recreates the pod, as after a crash.",
		"P1: one scale set (maxRunners 10), jobs queued one at a time, each waited for until a runner took it, then 300–700 ms (seeded); latency from the simulator's queueing time to the moment a watch saw the pod of the runner that ran the job (0 if that pod existed before the job: ARC's runners are not bound to a job, and a runner left idle by an earlier scale-up takes the next one). P3: the same jobs, from the simulator's completion time to the later of the runner pod's and its Secret's deletion seen by a watch.",
		"Requests per job: GitHub requests of the scale set (the simulator's counters) plus every request concerning no scale set (token chain, runner groups, runner removals by name), from before the first job to 3 s after the last runner is gone. Kubernetes: our server's rest_client_requests_total; ARC's controller's rest_client_requests_total plus every request of its listeners, counted by a TLS proxy in front of the kube-apiserver that only the listeners use (ARC's listener serves no client-go metrics).",
		fmt.Sprintf("P1.many (as `make bench`'s P1.many): %d scale sets (maxRunners 5) created %d at a time, each until its message session is open; then %d rounds, each one job queued on every scale set at the same moment, rounds 1–2 s apart (seeded); latency as P1's (job available → the pod of the runner that ran it seen by a watch, 0 if that pod existed before the job). Memory then: %d idle scale sets (P1.many's and P1's), 3 s after the last session opened.", r.sizes.P1Sets, manySetsParallel, r.sizes.P1Rounds, r.sizes.P1Sets+1),
		"P2: a burst of jobs queued at once on one scale set with maxRunners equal to the burst, in a namespace without emulated runners (pods Running on kwok, runners never online, jobs stay assigned), until as many runner pods are seen by a watch.",
		"Memory: resident set (VmRSS) of our server; of ARC's controller plus all its listener processes. Idle: one scale set, no job, 3 s after its session opened. Peak: sampled every second over the whole side. Go heap: go_memstats_heap_inuse_bytes of our server and of ARC's controller (the listeners expose none).",
	}
	if r.arcMatched != nil {
		notes = append(notes, "ARC, our limits: a third fresh local system, ARC's controller as `manager "+r.arcMatched.flags+"`. In 0.14.2's main.go --k8s-client-rate-limiter-qps and --k8s-client-rate-limiter-burst (defaults 20 and 30) set the controller's one client-go client; --runner-max-concurrent-reconciles (default 2) is the EphemeralRunner controller's concurrency, the other three controllers keep controller-runtime's 1. The listeners are unchanged (ARC has no flag for them).")
	}
	if r.ours != nil && r.ours.Err != "" {
		notes = append(notes, "Our server's run did not complete: "+r.ours.Err)
	}
	notes = append(notes, resultNotes("ours", r.ours, r.sizes)...)
	notes = append(notes, passNotes("ARC", r.arcDef, r.sizes)...)
	return append(notes, passNotes("ARC, our limits", r.arcMatched, r.sizes)...)
}

func passFlags(p *arcPass) string {
	if p == nil {
		return "(not run)"
	}
	return p.flags
}

// passNotes: an ARC pass's listeners, repairs, error and figures' details.
func passNotes(who string, p *arcPass, sz arcSizes) []string {
	if p == nil {
		return nil
	}
	notes := []string{fmt.Sprintf("%s: listener processes: %d started, %d exited by themselves (then their pod was written Terminated and the controller made a new one). Stale AutoscalingListeners deleted by the bench: %d (ARC's controller, reading its cache right after its own writes, sometimes creates two EphemeralRunnerSets for a new AutoscalingRunnerSet, deletes both as each other's old one and leaves its listener on a deleted one; an operator would delete the listener, as the bench then does).",
		who, p.starts, p.exits, p.repairs)}
	if p.res != nil && p.res.Err != "" {
		notes = append(notes, who+": the run did not complete: "+p.res.Err)
	}
	return append(notes, resultNotes(who, p.res, sz)...)
}

// resultNotes: which jobs ran on earlier pods, processes, GitHub request details.
func resultNotes(who string, res *sideResult, sz arcSizes) []string {
	var notes []string
	if res == nil {
		return nil
	}
	if len(res.P1) > 0 {
		notes = append(notes, fmt.Sprintf("P1, %s: %d of %d jobs were run by a runner pod that existed before they were queued.", who, res.P1Early, len(res.P1)))
	}
	if len(res.P1Many) > 0 {
		notes = append(notes, fmt.Sprintf("P1.many, %s: %d of %d jobs were run by a runner pod that existed before they were queued; %d processes at %d idle scale sets.", who, res.P1ManyEarly, len(res.P1Many), res.ManyProcesses, sz.P1Sets+1))
	}
	if res.P1Detail != "" {
		notes = append(notes, fmt.Sprintf("GitHub requests, %s, jobs one at a time: %s Burst: %s", who, res.P1Detail, res.P2Detail))
	}
	return notes
}
