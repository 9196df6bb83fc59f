//go:build faults

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

package faults

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	mathrand "math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	clientset "actions.dev/runnerset-apiserver/pkg/generated/clientset/versioned"
	"actions.dev/runnerset-apiserver/pkg/github/simulator"
	"actions.dev/runnerset-apiserver/pkg/localsystem"
	"actions.dev/runnerset-apiserver/pkg/runneremulator"
)

// The GitHub App every world's simulator accepts; RunnerSets with app credentials use it.
const (
	appID          = 4242
	installationID = 77
)

var (
	appKeyOnce sync.Once
	appKeyPEM  []byte
)

func appKey(t *testing.T) []byte {
	appKeyOnce.Do(func() {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		appKeyPEM = pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	})
	return appKeyPEM
}

// setSpec describes one RunnerSet of a world.
type setSpec struct {
	name     string
	min, max int32
	// app uses the GitHub App credentials instead of the PAT.
	app bool
	// podSpec, if set, changes the runner pod template (R7 pins runners to its own nodes).
	podSpec func(*corev1.PodSpec)
}

// world is one scenario's stage: a namespace, its own GitHub simulator (so one scenario's
// faults never reach another's), the runner emulator for the namespace's pods behind a gate
// that can cut the runners off from GitHub too, and a monitor that watches every runner pod
// and registration for the whole scenario.
type world struct {
	t     *testing.T
	name  string // scenario, for the audit
	ns    string
	sim   *simulator.Simulator
	gate  *gate
	mon   *monitor
	kube  kubernetes.Interface
	rsets clientset.Interface
	rng   *mathrand.Rand
	start time.Time

	// beforeDelete, if set, runs in the audit once the RunnerSets are at rest, before they are
	// deleted (R6 searches the world for credentials there).
	beforeDelete func(a *auditResult)
	// jobsAudit, if set, audits the jobs instead of auditJobs (R7's lost jobs end failed and
	// are re-run as new jobs).
	jobsAudit func(a *auditResult)

	mu   sync.Mutex
	sets map[string]setSpec
	jobs []int64
}

func newWorld(t *testing.T, scenario, ns string, o simulator.Options) *world {
	t.Helper()
	ctx := context.Background()
	h := fnv.New64a()
	h.Write([]byte(ns))
	o.Seed = *seed ^ int64(h.Sum64())
	o.Apps = []simulator.App{{AppID: appID, InstallationID: installationID, PrivateKeyPEM: appKey(t)}}
	if o.LongPollHold == 0 {
		o.LongPollHold = 5 * time.Second
	}
	if o.AssignTimeout == 0 {
		o.AssignTimeout = 2 * time.Minute
	}
	if o.RunnerLostTimeout == 0 {
		// GitHub fails a vanished runner's job ~10 minutes later; the scenarios' budgets are
		// minutes.
		o.RunnerLostTimeout = 10 * time.Second
	}
	// GitHub over HTTPS, its REST API, Actions Service and broker on hosts of their own.
	o.Listen, o.ServiceListen, o.BrokerListen = localsystem.GitHubListen, localsystem.GitHubServiceListen, localsystem.GitHubBrokerListen
	o.TLS, o.SeparateHosts, o.CA = true, true, githubCA
	sim, err := simulator.Start(o)
	require.NoError(t, err)
	t.Cleanup(sim.Close)

	kube, err := kubernetes.NewForConfig(sys.RESTConfig(localsystem.UserAdmin))
	require.NoError(t, err)
	rsets, err := clientset.NewForConfig(sys.RESTConfig(localsystem.UserAdmin))
	require.NoError(t, err)
	w := &world{
		t: t, name: scenario, ns: ns, sim: sim, kube: kube, rsets: rsets,
		rng:   mathrand.New(mathrand.NewPCG(uint64(o.Seed), 1)),
		start: time.Now(),
		sets:  map[string]setSpec{},
	}
	require.NoError(t, sys.EnsureNamespace(ctx, ns))
	_, err = kube.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "github-ca"}, Data: map[string]string{"ca.crt": string(sim.CACertPEM())},
	}, metav1.CreateOptions{})
	if !apierrors.IsAlreadyExists(err) {
		require.NoError(t, err)
	}
	for name, data := range map[string]map[string]string{
		"github-pat": {"github_token": simulator.DefaultPAT},
		"github-app": {
			"github_app_id":              fmt.Sprint(appID),
			"github_app_installation_id": fmt.Sprint(installationID),
			"github_app_private_key":     string(appKey(t)),
		},
	} {
		_, err := kube.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name}, StringData: data}, metav1.CreateOptions{})
		if !apierrors.IsAlreadyExists(err) {
			require.NoError(t, err)
		}
	}

	w.gate = &gate{inner: sim, starts: map[int64]int{}, names: map[int]string{}, done: map[string]time.Time{}, lost: map[int]bool{}}
	emu, err := runneremulator.New(runneremulator.Config{Client: kube, Runners: w.gate, Namespace: ns})
	require.NoError(t, err)
	emuCtx, stopEmu := context.WithCancel(context.Background())
	emuDone := make(chan struct{})
	go func() { defer close(emuDone); _ = emu.Run(emuCtx) }()

	w.mon = newMonitor(w)
	monCtx, stopMon := context.WithCancel(context.Background())
	monDone := w.mon.run(monCtx)
	t.Cleanup(func() {
		if t.Failed() {
			dumpGoroutines(t)
			w.logSimulator()
		}
		stopMon()
		<-monDone
		stopEmu()
		<-emuDone
		if w.ownNamespace() && (!t.Failed() || !*keepDir) {
			_ = kube.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{})
		}
	})
	return w
}

// ownNamespace: the world's namespace is its own (faults-*), deleted at its end; the team
// namespaces R6 uses belong to the local system's team bindings and stay.
func (w *world) ownNamespace() bool { return strings.HasPrefix(w.ns, "faults-") }

// configURL is the repository every RunnerSet of the world registers to.
func (w *world) configURL() string { return w.sim.ConfigURL("acme/" + w.ns) }

// addSet creates a RunnerSet and waits until it is Ready.
func (w *world) addSet(s setSpec) *v1alpha1.RunnerSet {
	w.t.Helper()
	secret := "github-pat"
	if s.app {
		secret = "github-app"
	}
	rs := &v1alpha1.RunnerSet{
		ObjectMeta: metav1.ObjectMeta{Name: s.name, Namespace: w.ns},
		Spec: v1alpha1.RunnerSetSpec{
			GitHubConfigURL:    w.configURL(),
			GitHubConfigSecret: secret,
			// The world's RunnerSets trust the simulator's CA themselves, as a GitHub
			// Enterprise Server user's do.
			GitHubServerTLS: &v1alpha1.TLSConfig{CertificateFrom: &v1alpha1.TLSCertificateSource{
				ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "github-ca"}, Key: "ca.crt"},
			}},
			MinRunners: ptr.To(s.min),
			MaxRunners: ptr.To(s.max),
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				Containers: []corev1.Container{{Name: "runner", Image: "ghcr.io/actions/actions-runner:latest"}},
			}},
		},
	}
	if s.podSpec != nil {
		s.podSpec(&rs.Spec.Template.Spec)
	}
	_, err := w.rsets.ActionsV1alpha1().RunnerSets(w.ns).Create(context.Background(), rs, metav1.CreateOptions{})
	require.NoError(w.t, err)
	w.mu.Lock()
	w.sets[s.name] = s
	w.mu.Unlock()
	var got *v1alpha1.RunnerSet
	w.eventually(90*time.Second, s.name+" Ready", func(ctx context.Context) (bool, string) {
		rs, err := w.rsets.ActionsV1alpha1().RunnerSets(w.ns).Get(ctx, s.name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		got = rs
		c := meta.FindStatusCondition(rs.Status.Conditions, v1alpha1.ConditionReady)
		return c != nil && c.Status == metav1.ConditionTrue, fmt.Sprintf("Ready: %+v", c)
	})
	return got
}

func (w *world) setNames() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for n := range w.sets {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func (w *world) spec(name string) setSpec {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.sets[name]
}

// queue queues n jobs for a RunnerSet, each running a seeded random time in [lo, hi].
func (w *world) queue(set string, n int, lo, hi time.Duration) []int64 {
	var ids []int64
	for i := 0; i < n; i++ {
		d := lo
		if hi > lo {
			w.mu.Lock()
			d += time.Duration(w.rng.Int64N(int64(hi - lo)))
			w.mu.Unlock()
		}
		ids = append(ids, w.sim.QueueJob(simulator.Job{
			Labels: []string{set}, Owner: "acme", Repository: w.ns,
			DisplayName: fmt.Sprintf("%s-%d", set, i), Duration: d,
		}))
	}
	w.mu.Lock()
	w.jobs = append(w.jobs, ids...)
	w.mu.Unlock()
	return ids
}

func (w *world) queuedJobs() []int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]int64(nil), w.jobs...)
}

// completed counts the queued jobs that completed.
func (w *world) completed() (done, all int) {
	return w.completedOf(w.queuedJobs())
}

// completedOf counts the jobs of ids that completed.
func (w *world) completedOf(ids []int64) (done, all int) {
	for _, id := range ids {
		if j, ok := w.sim.Job(id); ok && j.State == simulator.JobCompleted {
			done++
		}
	}
	return done, len(ids)
}

// waitJobs waits until every queued job has completed.
func (w *world) waitJobs(timeout time.Duration) {
	w.t.Helper()
	w.eventually(timeout, "every queued job completed", func(ctx context.Context) (bool, string) {
		left := map[string]int{}
		for _, id := range w.queuedJobs() {
			j, ok := w.sim.Job(id)
			if !ok || j.State != simulator.JobCompleted {
				left[j.State]++
			}
		}
		return len(left) == 0, fmt.Sprintf("not completed: %v", left)
	})
}

// eventually polls cond every 200ms until it holds or the deadline passes; the failure says
// what cond last reported.
func (w *world) eventually(timeout time.Duration, what string, cond func(ctx context.Context) (bool, string)) {
	w.t.Helper()
	if last, err := poll(timeout, cond); err != nil {
		w.t.Fatalf("waiting %s for %s: %v; last: %s", timeout, what, err, last)
	}
}

func poll(timeout time.Duration, cond func(ctx context.Context) (bool, string)) (string, error) {
	var last string
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		ok, why := cond(ctx)
		last = why
		return ok, nil
	})
	return last, err
}

func (w *world) runnerSet(ctx context.Context, name string) (*v1alpha1.RunnerSet, error) {
	return w.rsets.ActionsV1alpha1().RunnerSets(w.ns).Get(ctx, name, metav1.GetOptions{})
}

// scaleSetOf returns the simulator's scale set of a RunnerSet (by name), if it exists.
func (w *world) scaleSetOf(name string) (int, bool) {
	for _, ss := range w.sim.ScaleSets() {
		if ss.Name == name {
			return ss.ID, true
		}
	}
	return 0, false
}

// gate is the runners' side of GitHub for the emulator: it counts how often each job is handed
// to a runner, and during an outage it cuts the runners off as well (they cannot reach GitHub
// either), so that they neither come online nor finish a job until GitHub is back.
type gate struct {
	inner runneremulator.RunnerSide

	mu     sync.Mutex
	down   bool
	starts map[int64]int
	// names and done map runner ids to names and record when a runner completed its job.
	names map[int]string
	done  map[string]time.Time
	// lost are the runners that went away in the middle of a job (their pod taken): GitHub keeps
	// their registrations, busy, until the job's lock lapses.
	lost map[int]bool
}

var errUnreachable = errors.New("GitHub is unreachable (outage)")

func (g *gate) setDown(down bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.down = down
}

func (g *gate) isDown() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.down
}

func (g *gate) ConnectRunner(jit string) (simulator.RunnerInfo, error) {
	if g.isDown() {
		return simulator.RunnerInfo{}, errUnreachable
	}
	return g.inner.ConnectRunner(jit)
}

func (g *gate) AcquireRunnerJob(runnerID int) (simulator.JobStatus, bool) {
	if g.isDown() {
		return simulator.JobStatus{}, false
	}
	j, ok := g.inner.AcquireRunnerJob(runnerID)
	if ok {
		g.mu.Lock()
		g.starts[j.RequestID]++
		g.names[runnerID] = j.RunnerName
		g.mu.Unlock()
	}
	return j, ok
}

func (g *gate) CompleteRunnerJob(runnerID int, result string) error {
	if g.isDown() {
		return errUnreachable
	}
	err := g.inner.CompleteRunnerJob(runnerID, result)
	if err == nil {
		g.mu.Lock()
		if name := g.names[runnerID]; name != "" {
			g.done[name] = time.Now()
		}
		g.mu.Unlock()
	}
	return err
}

// jobDone returns when the runner named so completed its job, if it did.
func (g *gate) jobDone(name string) (time.Time, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	t, ok := g.done[name]
	return t, ok
}

func (g *gate) DisconnectRunner(runnerID int) {
	g.mu.Lock()
	if name := g.names[runnerID]; name != "" {
		if _, done := g.done[name]; !done {
			g.lost[runnerID] = true
		}
	}
	g.mu.Unlock()
	g.inner.DisconnectRunner(runnerID)
}

// lostMidJob tells a runner that went away in the middle of a job.
func (g *gate) lostMidJob(runnerID int) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.lost[runnerID]
}

func (g *gate) startsOf(id int64) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.starts[id]
}

// monitor watches the world for the whole scenario: every runner pod event (live runner pods
// per RunnerSet, and their peak), the GitHub registrations per scale set every 100ms (and their
// peak), every pod and Secret it sees for R6's search, and pod deletions (R3).
type monitor struct {
	w *world

	mu   sync.Mutex
	live map[string]map[string]bool // RunnerSet -> live runner pods
	// since and until are when a runner pod was first seen live and first seen not live; setOf
	// is its RunnerSet.
	since, until map[string]time.Time
	setOf        map[string]string
	// failedUIDs are the runner pods seen with the runner exited non-zero, with their RunnerSet.
	failedUIDs map[string]string
	peakRegs   map[string]int
	// peakUnlost is peakRegs without the registrations of runners lost mid-job, which GitHub
	// keeps until the job's lock lapses: the audit says whether those made a peak.
	peakUnlost map[string]int
	// pods holds the last version of every runner pod seen, for the credential search.
	pods map[string]*corev1.Pod
	// jits are the JIT configs seen in runner Secrets: they may appear nowhere else.
	jits map[string]bool
	// deleted records, per pod name, when a deletion was first seen.
	deleted map[string]time.Time
}

func newMonitor(w *world) *monitor {
	return &monitor{
		w: w, live: map[string]map[string]bool{}, since: map[string]time.Time{}, until: map[string]time.Time{}, setOf: map[string]string{}, failedUIDs: map[string]string{}, peakRegs: map[string]int{}, peakUnlost: map[string]int{},
		pods: map[string]*corev1.Pod{}, jits: map[string]bool{}, deleted: map[string]time.Time{},
	}
}

// liveRunner: the pod is a runner that may still take or run a job: not being deleted, not
// finished, and its runner container has not exited (with sidecars, a pod stays Running for a
// while after its runner exited).
func liveRunner(p *corev1.Pod) bool {
	if p.DeletionTimestamp != nil || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
		return false
	}
	for _, cs := range p.Status.ContainerStatuses {
		if cs.Name == runneremulator.RunnerContainer && cs.State.Terminated != nil {
			return false
		}
	}
	return true
}

func (m *monitor) onPod(obj any, gone bool) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	set := p.Labels[v1alpha1.LabelRunnerSet]
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pods[p.Name] = p.DeepCopy()
	for _, cs := range p.Status.ContainerStatuses {
		if cs.Name == runneremulator.RunnerContainer && cs.State.Terminated != nil && cs.State.Terminated.ExitCode != 0 {
			m.failedUIDs[string(p.UID)] = set
		}
	}
	if (gone || p.DeletionTimestamp != nil) && m.deleted[p.Name].IsZero() {
		m.deleted[p.Name] = time.Now()
	}
	if m.live[set] == nil {
		m.live[set] = map[string]bool{}
	}
	if !gone && liveRunner(p) {
		m.live[set][p.Name] = true
	} else {
		delete(m.live[set], p.Name)
	}
	now := time.Now()
	if !gone && liveRunner(p) {
		if _, ok := m.since[p.Name]; !ok {
			m.since[p.Name] = now
			m.setOf[p.Name] = set
		}
	} else if _, ok := m.until[p.Name]; !ok {
		m.until[p.Name] = now
	}
}

func (m *monitor) onSecret(obj any) {
	s, ok := obj.(*corev1.Secret)
	if !ok {
		return
	}
	if jit := string(s.Data[v1alpha1.SecretKeyJITConfig]); jit != "" {
		m.mu.Lock()
		m.jits[jit] = true
		m.mu.Unlock()
	}
}

func (m *monitor) run(ctx context.Context) <-chan struct{} {
	done := make(chan struct{})
	f := informers.NewSharedInformerFactoryWithOptions(m.w.kube, 0, informers.WithNamespace(m.w.ns),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = v1alpha1.LabelRunnerSet }))
	_, _ = f.Core().V1().Pods().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { m.onPod(obj, false) },
		UpdateFunc: func(_, obj any) { m.onPod(obj, false) },
		DeleteFunc: func(obj any) { m.onPod(obj, true) },
	})
	_, _ = f.Core().V1().Secrets().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    m.onSecret,
		UpdateFunc: func(_, obj any) { m.onSecret(obj) },
	})
	f.Start(ctx.Done())
	f.WaitForCacheSync(ctx.Done())
	go func() {
		defer close(done)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			m.sampleRegistrations()
			select {
			case <-ctx.Done():
				f.Shutdown()
				return
			case <-tick.C:
			}
		}
	}()
	return done
}

func (m *monitor) sampleRegistrations() {
	names := map[int]string{}
	for _, ss := range m.w.sim.ScaleSets() {
		names[ss.ID] = ss.Name
	}
	regs, unlost := map[string]int{}, map[string]int{}
	for _, r := range m.w.sim.Runners() {
		regs[names[r.ScaleSetID]]++
		if !m.w.gate.lostMidJob(r.ID) {
			unlost[names[r.ScaleSetID]]++
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for set, n := range regs {
		m.peakRegs[set] = max(m.peakRegs[set], n)
		m.peakUnlost[set] = max(m.peakUnlost[set], unlost[set])
	}
}

// peaks returns the most runners of a RunnerSet at any one moment, with the runners of that
// moment, and the most GitHub registrations seen at once (unlost: not counting those of runners
// lost mid-job). A runner counts from when its pod is
// seen live until its pod is seen finished, or until it completes its job on GitHub (the gate
// records that as it happens), whichever is first: a runner that finished its job is not a
// runner any more while its pod exits.
func (m *monitor) peaks(set string) (pods, regs, unlost int, at []string) {
	m.mu.Lock()
	type edge struct {
		t    time.Time
		pod  string
		live bool
	}
	var edges []edge
	for pod, since := range m.since {
		if m.setOf[pod] != set {
			continue
		}
		edges = append(edges, edge{since, pod, true})
		end, ok := m.until[pod]
		if done, dok := m.w.gate.jobDone(pod); dok && (!ok || done.Before(end)) {
			end, ok = done, true
		}
		if ok {
			edges = append(edges, edge{end, pod, false})
		}
	}
	regs, unlost = m.peakRegs[set], m.peakUnlost[set]
	m.mu.Unlock()
	// Ends before starts at the same instant.
	sort.SliceStable(edges, func(i, j int) bool {
		if !edges[i].t.Equal(edges[j].t) {
			return edges[i].t.Before(edges[j].t)
		}
		return !edges[i].live && edges[j].live
	})
	live := map[string]bool{}
	for _, e := range edges {
		if e.live {
			live[e.pod] = true
		} else {
			delete(live, e.pod)
		}
		if len(live) > pods {
			pods = len(live)
			at = at[:0]
			for p := range live {
				at = append(at, p)
			}
			at = append(at, "at "+e.t.Format("15:04:05.000"))
		}
	}
	sort.Strings(at)
	return pods, regs, unlost, at
}

// deletedSince lists the runner pods whose deletion was first seen at or after t.
func (m *monitor) deletedSince(t time.Time) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for name, at := range m.deleted {
		if !at.Before(t) {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// livePods returns the live runner pods of a RunnerSet, by name.
func (m *monitor) livePods(set string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for n := range m.live[set] {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// leaderIdentity returns the holder of the scaler's Lease.
func leaderIdentity(ctx context.Context, kube kubernetes.Interface) (string, error) {
	l, err := kube.CoordinationV1().Leases(localsystem.ServerNamespace).Get(ctx, "runnerset-apiserver-scaler", metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	return ptr.Deref(l.Spec.HolderIdentity, ""), nil
}

func indent(lines []string) string {
	return "  " + strings.Join(lines, "\n  ")
}

// dumpGoroutines saves every server replica's goroutines (the generic server's pprof, reached
// directly with the admin's token) next to the logs, to see where a stuck scaler waits.
func dumpGoroutines(t *testing.T) {
	caPEM, err := os.ReadFile(sys.CAFile())
	if err != nil {
		return
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "localhost"}}}
	for _, name := range []string{localsystem.ServerName, localsystem.ServerName + "-2"} {
		port := sys.ServerReplicaPort(name)
		if port == 0 {
			continue
		}
		req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("https://127.0.0.1:%d/debug/pprof/goroutine?debug=2", port), nil)
		req.Header.Set("Authorization", "Bearer "+sys.RESTConfig(localsystem.UserAdmin).BearerToken)
		resp, err := client.Do(req)
		if err != nil {
			t.Logf("goroutines of %s: %v", name, err)
			continue
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		path := filepath.Join(sys.Dir(), "logs", fmt.Sprintf("goroutines-%s-%s.txt", name, strings.ReplaceAll(t.Name(), "/", "_")))
		_ = os.WriteFile(path, data, 0o644)
		t.Logf("goroutines of %s saved in %s", name, path)
	}
}

// logSimulator logs GitHub's side of the world, for a failed scenario.
func (w *world) logSimulator() {
	byState := map[string]int{}
	for _, id := range w.queuedJobs() {
		j, _ := w.sim.Job(id)
		byState[fmt.Sprintf("%s/%s scale set %d (%s)", j.State, j.Result, j.ScaleSetID, j.Job.Labels)]++
	}
	w.t.Logf("jobs: %v", byState)
	for _, ss := range w.sim.ScaleSets() {
		w.t.Logf("scale set %d %s: %+v", ss.ID, ss.Name, ss.Statistics)
	}
	for _, sess := range w.sim.Sessions() {
		w.t.Logf("session %s of scale set %d owned by %s", sess.SessionID, sess.RunnerScaleSet.ID, sess.OwnerName)
	}
	w.t.Logf("counters: %+v", w.sim.Counters())
	w.t.Logf("faults: %+v", w.sim.Faults())
}
