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
	"bufio"
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	clientset "actions.dev/runnerset-apiserver/pkg/generated/clientset/versioned"
	"actions.dev/runnerset-apiserver/pkg/github/simulator"
	"actions.dev/runnerset-apiserver/pkg/localsystem"
)

// Namespaces. Only nsEmu has emulated runners (the simulator runs with --runner-namespace): its
// pods come online, take jobs and exit. Pods elsewhere are Running on kwok's node but their
// runner never connects, which the figures that use them say.
const (
	nsEmu   = "bench-emu"
	nsIdle  = "bench-idle"
	nsBurst = "bench-burst"
	nsBase  = "bench-base"
	// P5 namespaces are bench-scale-00 ...
	nsScalePrefix = "bench-scale-"
	patSecret     = "github-pat"
	runnerImage   = "ghcr.io/actions/actions-runner:latest"
	jobOwner      = "bench"
)

// bench is one run: the system, its clients and the results so far.
type bench struct {
	t     *testing.T
	sz    sizes
	root  string
	out   string
	dir   string
	start time.Time
	rng   *rand.Rand

	sys       *localsystem.System
	sim       *simulator.ControlClient
	simRoots  *x509.CertPool
	simURL    string
	kube      kubernetes.Interface
	actions   clientset.Interface
	server    *http.Client // TLS client for the server's own port (metrics, pprof)
	serverURL string
	adminTok  string
	serverPID int

	mem  *memSampler
	done chan struct{} // closed when the run ends

	loadStart   string
	othersStart int

	mu       sync.Mutex
	results  []Result
	notes    []string
	idleSets map[string]int // RunnerSet name -> scale set id
	idleFrom simulator.Counters
	idleT0   time.Time
	idleTo   simulator.Counters // the latest snapshot at idleT0 + a whole number of idleHold
	idleN    int                // how many idleHold periods idleTo is after idleT0
	p3Jobs   []int64            // emulated jobs whose teardown P3 measures
	p3Pods   *tracker
	p3Secs   *tracker
}

func (b *bench) logf(format string, args ...any) {
	b.t.Helper()
	b.t.Logf("[%6.1fs] "+format, append([]any{time.Since(b.start).Seconds()}, args...)...)
}

func (b *bench) note(format string, args ...any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.notes = append(b.notes, fmt.Sprintf(format, args...))
}

func (b *bench) enabled(scenario string) bool {
	if *only == "" {
		return true
	}
	for _, s := range strings.Split(*only, ",") {
		if strings.EqualFold(strings.TrimSpace(s), scenario) {
			return true
		}
	}
	return false
}

// run runs one scenario; a scenario that cannot finish fails the test but not the others.
func (b *bench) run(name string, f func(ctx context.Context) error) {
	b.t.Helper()
	begin := time.Now()
	b.logf("=== %s", name)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	if err := f(ctx); err != nil {
		b.t.Errorf("%s: %v", name, err)
		b.note("%s did not complete: %v", name, err)
	}
	b.logf("--- %s done in %s", name, time.Since(begin).Round(100*time.Millisecond))
}

func start(t *testing.T, sz sizes) *bench {
	b := &bench{t: t, sz: sz, root: repoRoot(), start: time.Now(), rng: rand.New(rand.NewPCG(uint64(*seed), 0x5eed)), idleSets: map[string]int{}, done: make(chan struct{})}
	if *binDir == "" {
		*binDir = filepath.Join(b.root, "_output", "bin")
	}
	b.out = *outDir
	if b.out == "" {
		b.out = filepath.Join(b.root, "_output", "bench")
	}
	if err := os.MkdirAll(filepath.Join(b.out, "profiles"), 0o755); err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp(filepath.Join(b.root, "_output"), "bench-")
	if err != nil {
		t.Fatal(err)
	}
	b.dir = dir
	b.loadStart, b.othersStart = loadAvg(), otherControlPlanes(dir)
	serverArgs := []string{
		fmt.Sprintf("--kube-api-qps=%g", *qps),
		fmt.Sprintf("--kube-api-burst=%d", *burst),
		fmt.Sprintf("--runner-create-parallelism=%d", *parallel),
		"--memory-limit=" + *memLimit,
		"--profiling=true", // /debug/pprof, for the profiles this suite saves
	}
	if *extra != "" {
		serverArgs = append(serverArgs, strings.Fields(*extra)...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	begin := time.Now()
	b.sys, err = localsystem.Start(ctx, localsystem.Options{
		BinDir: *binDir,
		Dir:    dir,
		Server: &localsystem.ServerOptions{
			Binary:       serverBinary(),
			ManifestsDir: filepath.Join(b.root, "artifacts", "example"),
			Args:         serverArgs,
		},
		Simulator: &localsystem.SimulatorOptions{
			Binary: filepath.Join(*binDir, "github-simulator"),
			Args: []string{
				"--runner-namespace=" + nsEmu,
				fmt.Sprintf("--seed=%d", *seed),
				// P2's and P5's runners never take their jobs: keep those jobs assigned for the
				// whole run instead of cancelling and re-queuing them after 5 minutes.
				"--assign-timeout=30m",
				// The emulator writes each runner's exit into its pod's status, as a kubelet does;
				// its own client limits (50/100 by default) would make 50 runners ending at
				// once wait seconds for that, which P3 would wrongly count as the server's.
				"--kube-api-qps=1000", "--kube-api-burst=2000",
			},
		},
	})
	if err != nil {
		t.Fatalf("starting the local system: %v", err)
	}
	b.logf("local system up in %s (state in %s); server flags %v", time.Since(begin).Round(time.Millisecond), dir, serverArgs)
	b.simURL = b.sys.SimulatorURL()
	ca, err := os.ReadFile(b.sys.SimulatorCAFile())
	if err != nil {
		t.Fatalf("reading the simulator's CA: %v", err)
	}
	if b.sim, err = simulator.NewControlClientTLS(b.simURL, ca); err != nil {
		t.Fatal(err)
	}
	b.simRoots = x509.NewCertPool()
	b.simRoots.AppendCertsFromPEM(ca)
	admin := b.sys.RESTConfig(localsystem.UserAdmin)
	b.kube = kubernetes.NewForConfigOrDie(admin)
	b.actions = clientset.NewForConfigOrDie(admin)
	b.adminTok = admin.BearerToken
	b.serverURL = fmt.Sprintf("https://127.0.0.1:%d", b.sys.ServerPort())
	tlsCfg := rest.CopyConfig(admin)
	tlsCfg.Host = b.serverURL
	transport, err := rest.TransportFor(tlsCfg)
	if err != nil {
		t.Fatal(err)
	}
	b.server = &http.Client{Transport: transport, Timeout: 2 * time.Minute}
	if b.serverPID, err = findServerPID(b.sys.ServerPort()); err != nil {
		t.Fatalf("finding the server process: %v", err)
	}
	b.mem = startMemSampler(b)
	return b
}

func (b *bench) stop() {
	close(b.done)
	b.mem.stop()
	b.sys.Stop()
	if !*keep && !b.t.Failed() {
		os.RemoveAll(b.dir)
	} else {
		b.t.Logf("state and logs kept in %s", b.dir)
	}
}

func serverBinary() string {
	if *binary != "" {
		return *binary
	}
	return filepath.Join(*binDir, "runnerset-apiserver")
}

// findServerPID finds our server among the processes by its --secure-port flag.
func findServerPID(port int) (int, error) {
	want := "--secure-port=" + strconv.Itoa(port)
	for pid, args := range processes() {
		if strings.Contains(filepath.Base(args[0]), "runnerset-apiserver") && slices.Contains(args, want) {
			return pid, nil
		}
	}
	return 0, fmt.Errorf("no runnerset-apiserver process with %s", want)
}

// processes are the machine's processes by pid, with their command lines.
func processes() map[int][]string {
	out := map[int][]string{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(cmdline) == 0 {
			continue
		}
		out[pid] = strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
	}
	return out
}

// procStatus reads VmRSS and VmHWM (bytes) of a process.
func procStatus(pid int) (rss, hwm int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		kb, _ := strconv.ParseInt(fields[1], 10, 64)
		switch fields[0] {
		case "VmRSS:":
			rss = kb * 1024
		case "VmHWM:":
			hwm = kb * 1024
		}
	}
	return rss, hwm, sc.Err()
}

// serverGet reads a path of our server's own port (not through the aggregator) as admin.
func (b *bench) serverGet(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.serverURL+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := b.server.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s: %s", path, resp.Status, bytes.TrimSpace(body[:min(len(body), 300)]))
	}
	return body, nil
}

// metric reads one unlabelled sample from the server's /metrics.
func (b *bench) metric(ctx context.Context, name string) (float64, error) {
	body, err := b.serverGet(ctx, "/metrics")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, name+" ") {
			return strconv.ParseFloat(strings.TrimSpace(strings.TrimPrefix(line, name)), 64)
		}
	}
	return 0, fmt.Errorf("metric %s not served", name)
}

// clientStats sums, from the server's /metrics, its client-go requests to the kube-apiserver
// (rest_client_requests_total) and the seconds they waited for the client rate limiter
// (rest_client_rate_limiter_duration_seconds_sum). The server's requests to itself (status
// writes go through its own API) are not counted; the ConfigMap requests they cause are.
func (b *bench) clientStats(ctx context.Context) (requests, waited float64, err error) {
	body, err := b.serverGet(ctx, "/metrics")
	if err != nil {
		return 0, 0, err
	}
	host := `host="` + strings.TrimPrefix(b.sys.APIServerURL(), "https://") + `"`
	for _, line := range strings.Split(string(body), "\n") {
		if !strings.Contains(line, host) {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}
		v, _ := strconv.ParseFloat(fields[len(fields)-1], 64)
		switch {
		case strings.HasPrefix(line, "rest_client_requests_total{"):
			requests += v
		case strings.HasPrefix(line, "rest_client_rate_limiter_duration_seconds_sum{"):
			waited += v
		}
	}
	if requests == 0 {
		return 0, 0, fmt.Errorf("no rest_client_requests_total for %s on /metrics", host)
	}
	return requests, waited, nil
}

// profile saves a pprof profile of the server (CPU over seconds, or heap) and its top functions.
func (b *bench) profile(ctx context.Context, name, kind string, seconds int) {
	path := "/debug/pprof/heap?gc=1"
	if kind == "cpu" {
		path = fmt.Sprintf("/debug/pprof/profile?seconds=%d", seconds)
	}
	data, err := b.serverGet(ctx, path)
	if err != nil {
		b.logf("profile %s: %v", name, err)
		return
	}
	b.saveProfile(ctx, name, kind, data)
}

// profileCPUDuring starts CPU profiles of the server and of the kube-apiserver for seconds, to
// see whose time a scenario spends; wait returns once both are saved.
func (b *bench) profileCPUDuring(ctx context.Context, name string, seconds int) (wait func()) {
	var wg sync.WaitGroup
	wg.Go(func() { b.profile(ctx, name+"-cpu", "cpu", seconds) })
	wg.Go(func() {
		data, err := b.kube.CoreV1().RESTClient().Get().AbsPath("/debug/pprof/profile").
			Param("seconds", strconv.Itoa(seconds)).Timeout(time.Duration(seconds+30) * time.Second).DoRaw(ctx)
		if err != nil {
			b.logf("kube-apiserver profile %s: %v", name, err)
			return
		}
		b.saveProfile(ctx, name+"-kube-apiserver-cpu", "cpu", data)
	})
	return wg.Wait
}

// saveProfile writes a profile with its `go tool pprof -top` (flat and cumulative) beside it.
func (b *bench) saveProfile(ctx context.Context, name, kind string, data []byte) {
	file := filepath.Join(b.out, "profiles", name+".pprof")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		b.logf("profile %s: %v", name, err)
		return
	}
	args := []string{"tool", "pprof", "-top", "-nodecount=30"}
	if kind == "heap" {
		args = append(args, "-sample_index=inuse_space")
	}
	top, err := exec.CommandContext(ctx, "go", append(args, file)...).CombinedOutput()
	if err != nil {
		b.logf("pprof -top %s: %v", name, err)
	}
	_ = os.WriteFile(filepath.Join(b.out, "profiles", name+".top.txt"), top, 0o644)
	cum, _ := exec.CommandContext(ctx, "go", append(append([]string{}, args...), "-cum", file)...).CombinedOutput()
	_ = os.WriteFile(filepath.Join(b.out, "profiles", name+".cum.txt"), cum, 0o644)
	b.logf("profile %s saved: %s", name, file)
}

// memSampler follows the server's memory for the whole run: RSS from /proc every second, and
// the Go heap in use from /metrics (go_memstats_heap_inuse_bytes) every two seconds.
type memSampler struct {
	b      *bench
	cancel context.CancelFunc
	done   chan struct{}

	mu       sync.Mutex
	peakRSS  int64
	rssAt    string
	peakHeap float64
	heapAt   string
	phase    string
}

func startMemSampler(b *bench) *memSampler {
	ctx, cancel := context.WithCancel(context.Background())
	m := &memSampler{b: b, cancel: cancel, done: make(chan struct{}), phase: "start"}
	go func() {
		defer close(m.done)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for n := 0; ; n++ {
			if rss, _, err := procStatus(b.serverPID); err == nil {
				m.mu.Lock()
				if rss > m.peakRSS {
					m.peakRSS, m.rssAt = rss, m.phase
				}
				m.mu.Unlock()
			}
			if n%2 == 0 {
				if h, err := b.metric(ctx, "go_memstats_heap_inuse_bytes"); err == nil {
					m.mu.Lock()
					if h > m.peakHeap {
						m.peakHeap, m.heapAt = h, m.phase
					}
					m.mu.Unlock()
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return m
}

func (m *memSampler) setPhase(p string) {
	m.mu.Lock()
	m.phase = p
	m.mu.Unlock()
}

func (m *memSampler) stop() {
	m.cancel()
	<-m.done
}

// --- cluster helpers ---

// namespace creates a namespace with the PAT Secret every RunnerSet here uses.
func (b *bench) namespace(ctx context.Context, ns string) error {
	if err := b.sys.EnsureNamespace(ctx, ns); err != nil {
		return err
	}
	_, err := b.kube.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: patSecret},
		StringData: map[string]string{"github_token": simulator.DefaultPAT},
	}, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		err = nil
	}
	return err
}

// runnerSet is a RunnerSet of repository bench/<name> on the simulator; jobs for it carry the
// label <name> (its scale set's name).
func (b *bench) runnerSet(ns, name string, minRunners, maxRunners int32) *v1alpha1.RunnerSet {
	return &v1alpha1.RunnerSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: v1alpha1.RunnerSetSpec{
			GitHubConfigURL:    b.simURL + "/" + jobOwner + "/" + name,
			GitHubConfigSecret: patSecret,
			MinRunners:         ptr.To(minRunners),
			MaxRunners:         ptr.To(maxRunners),
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				Containers: []corev1.Container{{Name: "runner", Image: runnerImage, Command: []string{"/home/runner/run.sh"}}},
			}},
		},
	}
}

func (b *bench) createRunnerSets(ctx context.Context, sets ...*v1alpha1.RunnerSet) error {
	for _, rs := range sets {
		if _, err := b.actions.ActionsV1alpha1().RunnerSets(rs.Namespace).Create(ctx, rs, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("creating RunnerSet %s/%s: %w", rs.Namespace, rs.Name, err)
		}
	}
	return nil
}

// waitReady waits until every named RunnerSet of ns is Ready (scale set registered, session
// open) and returns their scale set ids.
func (b *bench) waitReady(ctx context.Context, ns string, names []string, timeout time.Duration) (map[string]int, error) {
	ids := map[string]int{}
	var notReady []string
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		list, err := b.actions.ActionsV1alpha1().RunnerSets(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, nil
		}
		byName := map[string]*v1alpha1.RunnerSet{}
		for i := range list.Items {
			byName[list.Items[i].Name] = &list.Items[i]
		}
		notReady = notReady[:0]
		for _, n := range names {
			rs := byName[n]
			if rs == nil || !meta.IsStatusConditionTrue(rs.Status.Conditions, v1alpha1.ConditionReady) || rs.Status.ScaleSetID == 0 {
				notReady = append(notReady, n)
				continue
			}
			ids[n] = int(rs.Status.ScaleSetID)
		}
		return len(notReady) == 0, nil
	})
	if err != nil {
		return nil, fmt.Errorf("RunnerSets of %s not Ready after %s: %v", ns, timeout, notReady)
	}
	return ids, nil
}

func (b *bench) job(name string, d time.Duration) simulator.Job {
	return simulator.Job{Labels: []string{name}, Owner: jobOwner, Repository: name, Duration: d, DisplayName: "bench"}
}

// deleteRunnerSets deletes RunnerSets and waits until they, their pods and their Secrets are gone.
func (b *bench) deleteRunnerSets(ctx context.Context, ns string, names []string, timeout time.Duration) error {
	for _, n := range names {
		err := b.actions.ActionsV1alpha1().RunnerSets(ns).Delete(ctx, n, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return err
		}
	}
	return wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		list, err := b.actions.ActionsV1alpha1().RunnerSets(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, nil
		}
		left := map[string]bool{}
		for _, rs := range list.Items {
			left[rs.Name] = true
		}
		for _, n := range names {
			if left[n] {
				return false, nil
			}
			sel := v1alpha1.LabelRunnerSet + "=" + n
			pods, err := b.kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: sel, Limit: 1})
			if err != nil || len(pods.Items) > 0 {
				return false, nil
			}
			secrets, err := b.kube.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{LabelSelector: sel, Limit: 1})
			if err != nil || len(secrets.Items) > 0 {
				return false, nil
			}
		}
		return true, nil
	})
}

// setup creates the namespaces and the RunnerSets that live for the whole run: the idle ones
// P4 counts requests of from now to the end.
func (b *bench) setup() {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	for _, ns := range []string{nsEmu, nsIdle, nsBurst, nsBase} {
		if err := b.namespace(ctx, ns); err != nil {
			b.t.Fatalf("namespace %s: %v", ns, err)
		}
	}
	if !b.enabled("P4") {
		return
	}
	var names []string
	var sets []*v1alpha1.RunnerSet
	for i := range b.sz.P4IdleSets {
		n := fmt.Sprintf("idle-%02d", i)
		names = append(names, n)
		sets = append(sets, b.runnerSet(nsIdle, n, 0, 10))
	}
	if err := b.createRunnerSets(ctx, sets...); err != nil {
		b.t.Fatal(err)
	}
	ids, err := b.waitReady(ctx, nsIdle, names, 2*time.Minute)
	if err != nil {
		b.t.Fatal(err)
	}
	// The window starts once every session is open: what follows is idle polling only.
	time.Sleep(2 * time.Second)
	b.idleSets = ids
	if b.idleFrom, err = b.sim.Counters(); err != nil {
		b.t.Fatal(err)
	}
	b.idleT0 = time.Now()
	b.logf("%d idle RunnerSets Ready; their GitHub requests are counted from now to the end", len(ids))
	// An idle session polls once per long-poll hold: counted over a whole number of holds, each
	// session contributes exactly one poll per hold whatever its phase, so the rate is not biased
	// by where the window's ends fall.
	go func() {
		for n := 1; ; n++ {
			select {
			case <-time.After(time.Until(b.idleT0.Add(time.Duration(n) * idleHold))):
			case <-b.done:
				return
			}
			c, err := b.sim.Counters()
			if err != nil {
				continue
			}
			b.mu.Lock()
			b.idleTo, b.idleN = c, n
			b.mu.Unlock()
		}
	}()
}

// idleHold is how long the simulator holds an empty long poll (its default, GitHub's 50 s).
const idleHold = simulator.DefaultLongPollHold
