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
	"fmt"
	"hash/fnv"
	mathrand "math/rand/v2"
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
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	clientset "actions.dev/runnerset-apiserver/pkg/generated/clientset/versioned"
	"actions.dev/runnerset-apiserver/pkg/github/simulator"
	"actions.dev/runnerset-apiserver/pkg/localsystem"
	"actions.dev/runnerset-apiserver/pkg/runneremulator"
)

const (
	// r8Namespace is each cluster's namespace: the same name in both, so both scale sets
	// register to the same repository (acme/faults-r8) and see the same jobs.
	r8Namespace = "faults-r8"
	// r8Label is the one label the jobs ask for: both scale sets carry it.
	r8Label  = "r8-shared"
	r8SetA   = "r8-a"
	r8SetB   = "r8-b"
	r8Max    = 20
	r8Quota  = "r8-pods"
	r8QuotaA = 3
	// r8QuotaBack is A's quota once it is back: it bounds A below the jobs queued, so that B
	// runs some too.
	r8QuotaBack = 10
	// r8FarDelay: B is farther from GitHub than A (its acquisitions answer this much later), so
	// A has the first pick of every job and only its capacity, never a race, leaves jobs to B.
	r8FarDelay = 2 * time.Second
	// r8Reoffer: jobs nobody acquired are offered again this often (the simulator: a minute).
	r8Reoffer = 10 * time.Second
	// r8APIService is the aggregated API, unavailable while A's server is down.
	r8APIService = "v1alpha1.actions.dev"
)

// Phases, as the sampler and the audit name them.
const (
	r8PhaseQuota = "quota"
	r8PhaseDown  = "A down"
	r8PhaseBack  = "A back"
)

// r8 is R8's stage: one GitHub simulator shared by cluster A (the suite's local system) and
// cluster B (a second local system), each with its namespace, RunnerSet, runner emulator and
// monitor (a world each, on the shared simulator).
type r8 struct {
	t    *testing.T
	sim  *simulator.Simulator
	a, b *world
	samp *r8Sampler
	rng  *mathrand.Rand

	mu       sync.Mutex
	phases   []string
	jobs     map[string][]int64 // phase -> jobs queued in it
	problems []string
	// ran maps a phase to the jobs each scale set ran in it, taken when the phase ended.
	ran map[string]map[string]int
}

// TestR8TwoClusters: two clusters run scale sets with one common label against one GitHub.
// While A's ResourceQuota admits 3 runner pods, A holds at most 3 jobs (acquired, assigned or
// running), says so (status.capacity 3, Saturated=True Quota), and B runs the rest at once;
// while A's server is down B runs every job; once A is back (with room for 10) both run some.
// Every job runs exactly once, no cluster goes above its maxRunners, and nothing is left after
// both RunnerSets are deleted.
func TestR8TwoClusters(t *testing.T) {
	r := newR8(t)
	notes := []string{
		r.quotaPhase(),
		r.downPhase(),
		r.backPhase(),
	}
	r.audit(notes...)
}

func newR8(t *testing.T) *r8 {
	sysB := startClusterB(t)
	sim := startR8Simulator(t)
	r := &r8{t: t, sim: sim, jobs: map[string][]int64{}, ran: map[string]map[string]int{},
		rng: mathrand.New(mathrand.NewPCG(uint64(*seed), 8))}
	r.a = newR8World(t, sys, sim, "R8 cluster A")
	r.b = newR8World(t, sysB, sim, "R8 cluster B")
	// A later scenario needs A's server, should this one fail while it is down.
	t.Cleanup(func() {
		if sys.ComponentPID(localsystem.ServerName) == 0 {
			_ = sys.RestartComponent(context.Background(), localsystem.ServerName)
		}
	})
	r.setQuota(r8QuotaA)
	addR8Set(r.a, r8SetA)
	addR8Set(r.b, r8SetB)
	idB, _ := r.b.scaleSetOf(r8SetB)
	sim.InjectFault(simulator.Fault{Endpoint: simulator.EPAcquireJobs, ScaleSetID: idB, Delay: r8FarDelay})
	r.samp = &r8Sampler{r: r, peaks: map[string]map[string]r8Peak{}}
	ctx, stop := context.WithCancel(context.Background())
	done := r.samp.run(ctx)
	t.Cleanup(func() { stop(); <-done })
	return r
}

// startClusterB starts the second local system, with a server flagged as TestMain's, under the
// suite's state directory (its logs stay with the suite's when the run fails).
func startClusterB(t *testing.T) *localsystem.System {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	begin := time.Now()
	manifests := filepath.Join(repoRoot(), "artifacts", "example")
	// A directory of its own each time (-count=N runs the scenario again in one process).
	dir, err := os.MkdirTemp(sys.Dir(), "cluster-b-")
	require.NoError(t, err)
	sysB, err := localsystem.Start(ctx, localsystem.Options{
		BinDir: *binDir,
		Dir:    dir,
		Server: &localsystem.ServerOptions{
			Binary:       filepath.Join(*binDir, "runnerset-apiserver"),
			ManifestsDir: manifests,
			Args: []string{
				"-v=2",
				"--leader-elect-lease-duration=" + leaseDuration.String(),
				"--leader-elect-renew-deadline=" + renewDeadline.String(),
				"--leader-elect-retry-period=" + retryPeriod.String(),
				"--github-give-up=45s",
			},
			Env: []string{"SSL_CERT_FILE=" + githubCAFile},
		},
	})
	require.NoError(t, err, "starting cluster B")
	t.Cleanup(func() {
		select {
		case err := <-sysB.Failed():
			t.Errorf("a component of cluster B died on its own: %v", err)
		default:
		}
		sysB.Stop()
	})
	t.Logf("cluster B up in %s (state in %s)", time.Since(begin).Round(time.Millisecond), sysB.Dir())
	return sysB
}

// startR8Simulator starts the one GitHub both clusters use, as a world's.
func startR8Simulator(t *testing.T) *simulator.Simulator {
	o := simulator.Options{
		Seed:              *seed ^ 8,
		LongPollHold:      5 * time.Second,
		AssignTimeout:     2 * time.Minute,
		RunnerLostTimeout: 10 * time.Second,
		ReofferAfter:      r8Reoffer,
		TLS:               true, SeparateHosts: true, CA: githubCA,
	}
	o.Listen, o.ServiceListen, o.BrokerListen = localsystem.GitHubListen, localsystem.GitHubServiceListen, localsystem.GitHubBrokerListen
	sim, err := simulator.Start(o)
	require.NoError(t, err)
	t.Cleanup(sim.Close)
	return sim
}

// newR8World is newWorld on a given cluster and simulator: the namespace with the PAT and the
// simulator's CA, the cluster's runner emulator behind a gate, and a monitor.
func newR8World(t *testing.T, cluster *localsystem.System, sim *simulator.Simulator, name string) *world {
	t.Helper()
	ctx := context.Background()
	kube, err := kubernetes.NewForConfig(cluster.RESTConfig(localsystem.UserAdmin))
	require.NoError(t, err)
	rsets, err := clientset.NewForConfig(cluster.RESTConfig(localsystem.UserAdmin))
	require.NoError(t, err)
	h := fnv.New64a()
	h.Write([]byte(name))
	w := &world{
		t: t, name: name, ns: r8Namespace, sim: sim, kube: kube, rsets: rsets,
		rng: mathrand.New(mathrand.NewPCG(uint64(*seed)^h.Sum64(), 1)), start: time.Now(), sets: map[string]setSpec{},
	}
	require.NoError(t, cluster.EnsureNamespace(ctx, w.ns))
	_, err = kube.CoreV1().ConfigMaps(w.ns).Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "github-ca"}, Data: map[string]string{"ca.crt": string(sim.CACertPEM())},
	}, metav1.CreateOptions{})
	if !apierrors.IsAlreadyExists(err) {
		require.NoError(t, err)
	}
	_, err = kube.CoreV1().Secrets(w.ns).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "github-pat"}, StringData: map[string]string{"github_token": simulator.DefaultPAT},
	}, metav1.CreateOptions{})
	if !apierrors.IsAlreadyExists(err) {
		require.NoError(t, err)
	}

	w.gate = &gate{inner: sim, starts: map[int64]int{}, names: map[int]string{}, done: map[string]time.Time{}, lost: map[int]bool{}}
	emu, err := runneremulator.New(runneremulator.Config{Client: kube, Runners: w.gate, Namespace: w.ns})
	require.NoError(t, err)
	emuCtx, stopEmu := context.WithCancel(context.Background())
	emuDone := make(chan struct{})
	go func() { defer close(emuDone); _ = emu.Run(emuCtx) }()
	w.mon = newMonitor(w)
	monCtx, stopMon := context.WithCancel(context.Background())
	monDone := w.mon.run(monCtx)
	t.Cleanup(func() {
		stopMon()
		<-monDone
		stopEmu()
		<-emuDone
		if !t.Failed() || !*keepDir {
			_ = kube.CoreV1().Namespaces().Delete(context.Background(), w.ns, metav1.DeleteOptions{})
		}
	})
	return w
}

// addR8Set creates a RunnerSet with the shared label (min 0, max r8Max) and waits until it is
// Ready.
func addR8Set(w *world, name string) {
	w.t.Helper()
	rs := &v1alpha1.RunnerSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: w.ns},
		Spec: v1alpha1.RunnerSetSpec{
			GitHubConfigURL:    w.configURL(),
			GitHubConfigSecret: "github-pat",
			GitHubServerTLS: &v1alpha1.TLSConfig{CertificateFrom: &v1alpha1.TLSCertificateSource{
				ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "github-ca"}, Key: "ca.crt"},
			}},
			Labels:     []string{r8Label},
			MinRunners: ptr.To(int32(0)),
			MaxRunners: ptr.To(int32(r8Max)),
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				Containers: []corev1.Container{{Name: "runner", Image: "ghcr.io/actions/actions-runner:latest"}},
			}},
		},
	}
	_, err := w.rsets.ActionsV1alpha1().RunnerSets(w.ns).Create(context.Background(), rs, metav1.CreateOptions{})
	require.NoError(w.t, err)
	w.mu.Lock()
	w.sets[name] = setSpec{name: name, min: 0, max: r8Max}
	w.mu.Unlock()
	w.eventually(90*time.Second, name+" Ready", func(ctx context.Context) (bool, string) {
		got, err := w.runnerSet(ctx, name)
		if err != nil {
			return false, err.Error()
		}
		c := meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionReady)
		return c != nil && c.Status == metav1.ConditionTrue, fmt.Sprintf("Ready: %+v", c)
	})
}

// setQuota creates or changes A's ResourceQuota to admit pods runner pods, and waits until the
// quota controller has counted the namespace under it (status.hard and status.used).
func (r *r8) setQuota(pods int) {
	ctx := context.Background()
	quotas := r.a.kube.CoreV1().ResourceQuotas(r.a.ns)
	hard := corev1.ResourceList{corev1.ResourcePods: *resource.NewQuantity(int64(pods), resource.DecimalSI)}
	q, err := quotas.Get(ctx, r8Quota, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, err = quotas.Create(ctx, &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: r8Quota}, Spec: corev1.ResourceQuotaSpec{Hard: hard}}, metav1.CreateOptions{})
	case err == nil:
		q.Spec.Hard = hard
		_, err = quotas.Update(ctx, q, metav1.UpdateOptions{})
	}
	require.NoError(r.t, err)
	r.a.eventually(time.Minute, fmt.Sprintf("quota pods=%d counted", pods), func(ctx context.Context) (bool, string) {
		q, err := quotas.Get(ctx, r8Quota, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		h, used := q.Status.Hard[corev1.ResourcePods], q.Status.Used[corev1.ResourcePods]
		_, counted := q.Status.Used[corev1.ResourcePods]
		return counted && h.Value() == int64(pods), fmt.Sprintf("status hard %s used %s (counted %t)", h.String(), used.String(), counted)
	})
}

// queue queues n jobs asking for the shared label only, each running a seeded time in [lo, hi].
func (r *r8) queue(phase string, n int, lo, hi time.Duration) []int64 {
	var ids []int64
	for i := range n {
		r.mu.Lock()
		d := lo + time.Duration(r.rng.Int64N(int64(hi-lo)))
		r.mu.Unlock()
		ids = append(ids, r.sim.QueueJob(simulator.Job{
			Labels: []string{r8Label}, Owner: "acme", Repository: r8Namespace,
			DisplayName: fmt.Sprintf("%s-%d", strings.ReplaceAll(phase, " ", "-"), i), Duration: d,
		}))
	}
	r.mu.Lock()
	r.phases = append(r.phases, phase)
	r.jobs[phase] = ids
	r.mu.Unlock()
	return ids
}

// quotaPhase: A's quota admits 3 runner pods; 20 long jobs. A holds at most 3 at once, exactly
// 3 at some point, and says it is saturated by its quota; B runs the rest at once.
func (r *r8) quotaPhase() string {
	n := 20 // the full form too: make test-faults has no time to spare
	r.samp.setPhase(r8PhaseQuota)
	begin := time.Now()
	ids := r.queue(r8PhaseQuota, n, 40*time.Second, 60*time.Second)
	saturated := r.waitSaturated(r8QuotaA, 90*time.Second)
	r.waitDone(r8PhaseQuota, ids, 6*time.Minute)
	took := time.Since(begin)
	pa, pb := r.samp.peak(r8PhaseQuota, r8SetA), r.samp.peak(r8PhaseQuota, r8SetB)
	ran := r.noteRan(r8PhaseQuota, ids)
	if pa.held > r8QuotaA || pa.regs > r8QuotaA || pa.pods > r8QuotaA {
		r.problem("quota: A above its quota of %d runner pods: peak %d jobs held, %d registrations, %d live pods", r8QuotaA, pa.held, pa.regs, pa.pods)
	}
	if pa.held != r8QuotaA {
		r.problem("quota: A never held exactly %d jobs (its quota): peak %d", r8QuotaA, pa.held)
	}
	if want := min(r8Max, n-r8QuotaA); pb.running < want {
		r.problem("quota: B ran at most %d jobs at once, want the %d A had no room for", pb.running, want)
	}
	return fmt.Sprintf("quota: ResourceQuota pods=%d in A, %d jobs of 40-60 s: A held at most %d jobs at once (%d registrations, %d pods), B ran up to %d at once; A ran %d, B %d; %s; all done in %s",
		r8QuotaA, n, pa.held, pa.regs, pa.pods, pb.running, ran[r8SetA], ran[r8SetB], saturated, took.Round(time.Second))
}

// waitSaturated waits until A holds limit jobs and its RunnerSet says so: status.capacity limit
// and Saturated=True for its quota. A miss is a problem, not the end of the scenario.
func (r *r8) waitSaturated(limit int, timeout time.Duration) string {
	begin := time.Now()
	seen := "no status read"
	last, err := poll(timeout, func(ctx context.Context) (bool, string) {
		held := r.samp.held(r8SetA)
		rs, err := r.a.runnerSet(ctx, r8SetA)
		if err != nil {
			// The poll's own deadline ends the last read: keep what was seen before.
			return false, seen + "; then " + err.Error()
		}
		c := meta.FindStatusCondition(rs.Status.Conditions, v1alpha1.ConditionSaturated)
		ok := held == limit && ptr.Deref(rs.Status.Capacity, -1) == int32(limit) && c != nil && c.Status == metav1.ConditionTrue && c.Reason == "Quota"
		seen = fmt.Sprintf("A holds %d jobs, status.capacity %s, Saturated %s", held, capacityString(rs.Status.Capacity), condString(c))
		return ok, seen
	})
	if err != nil {
		r.problem("quota: within %s A never held %d jobs while its status said capacity %d and Saturated=True (Quota); last: %s", timeout, limit, limit, last)
		return "A never said it was saturated by its quota"
	}
	return fmt.Sprintf("A full after %s with status.capacity %d and Saturated=True (Quota)", time.Since(begin).Round(time.Second), limit)
}

// downPhase: A's server is killed; B runs every job queued meanwhile.
func (r *r8) downPhase() string {
	n := 10
	require.NoError(r.t, sys.KillComponent(localsystem.ServerName))
	r.samp.setPhase(r8PhaseDown)
	begin := time.Now()
	ids := r.queue(r8PhaseDown, n, 10*time.Second, 20*time.Second)
	r.waitDone(r8PhaseDown, ids, 3*time.Minute)
	ran := r.noteRan(r8PhaseDown, ids)
	if ran[r8SetB] != n {
		r.problem("A down: B ran %d of the %d jobs (A %d)", ran[r8SetB], n, ran[r8SetA])
	}
	return fmt.Sprintf("A down: A's server killed (SIGKILL), %d jobs of 10-20 s: B ran %d, A %d; all done in %s",
		n, ran[r8SetB], ran[r8SetA], time.Since(begin).Round(time.Second))
}

// backPhase: A's server restarts and resumes its session, its quota is raised to 10; both
// clusters run some of the jobs, A no more than its quota at once.
func (r *r8) backPhase() string {
	ctx := context.Background()
	begin := time.Now()
	old := r.sessionOf(r.a, r8SetA)
	require.NoError(r.t, sys.RestartComponent(ctx, localsystem.ServerName))
	require.NoError(r.t, sys.WaitAPIServiceAvailable(ctx, r8APIService, 2*time.Minute))
	r.waitNewSession(old)
	resumed := time.Since(begin)
	r.setQuota(r8QuotaBack)
	n := 20
	r.samp.setPhase(r8PhaseBack)
	begin = time.Now()
	ids := r.queue(r8PhaseBack, n, 10*time.Second, 20*time.Second)
	r.waitDone(r8PhaseBack, ids, 3*time.Minute)
	ran := r.noteRan(r8PhaseBack, ids)
	pa := r.samp.peak(r8PhaseBack, r8SetA)
	if ran[r8SetA] < 1 || ran[r8SetB] < 1 {
		r.problem("A back: not both clusters ran jobs: A %d, B %d of %d", ran[r8SetA], ran[r8SetB], n)
	}
	if pa.held > r8QuotaBack || pa.pods > r8QuotaBack {
		r.problem("A back: A above its quota of %d runner pods: peak %d jobs held, %d live pods", r8QuotaBack, pa.held, pa.pods)
	}
	return fmt.Sprintf("A back: A's server restarted, new session after %s; quota raised to pods=%d; %d jobs of 10-20 s: A ran %d (at most %d held at once), B %d; all done in %s",
		resumed.Round(100*time.Millisecond), r8QuotaBack, n, ran[r8SetA], pa.held, ran[r8SetB], time.Since(begin).Round(time.Second))
}

// sessionOf returns GitHub's session of a RunnerSet's scale set, if any.
func (r *r8) sessionOf(w *world, set string) string {
	id, _ := w.scaleSetOf(set)
	return r.sessionOfID(id)
}

func (r *r8) sessionOfID(id int) string {
	for _, s := range r.sim.Sessions() {
		if s.RunnerScaleSet != nil && s.RunnerScaleSet.ID == id {
			return s.SessionID
		}
	}
	return ""
}

// waitNewSession waits until A's scale set has a session other than old and A's RunnerSet
// names it, SessionActive: the restarted server took over from the killed one.
func (r *r8) waitNewSession(old string) {
	r.a.eventually(2*time.Minute, "A's new session", func(ctx context.Context) (bool, string) {
		id := r.sessionOf(r.a, r8SetA)
		rs, err := r.a.runnerSet(ctx, r8SetA)
		if err != nil {
			return false, err.Error()
		}
		active := meta.IsStatusConditionTrue(rs.Status.Conditions, v1alpha1.ConditionSessionActive)
		return id != "" && id != old && rs.Status.SessionID == id && active,
			fmt.Sprintf("GitHub's session %q (old %q), status.sessionId %q, SessionActive %t", id, old, rs.Status.SessionID, active)
	})
}

// waitDone waits until every job of ids completed; at the deadline it ends the test with the
// state of both clusters.
func (r *r8) waitDone(phase string, ids []int64, timeout time.Duration) {
	r.t.Helper()
	last, err := poll(timeout, func(context.Context) (bool, string) {
		left := map[string]int{}
		for _, id := range ids {
			if j, ok := r.sim.Job(id); !ok || j.State != simulator.JobCompleted {
				left[j.State]++
			}
		}
		return len(left) == 0, fmt.Sprintf("not completed: %v", left)
	})
	if err != nil {
		r.t.Fatalf("%s: waiting %s for its %d jobs: %s\n%s", phase, timeout, len(ids), last, r.dump())
	}
}

// noteRan counts, per scale set, the jobs of ids it ran, and keeps the counts for the audit.
func (r *r8) noteRan(phase string, ids []int64) map[string]int {
	names := r.scaleSetNames()
	ran := map[string]int{}
	for _, id := range ids {
		if j, ok := r.sim.Job(id); ok && j.State == simulator.JobCompleted {
			ran[names[j.ScaleSetID]]++
		}
	}
	r.mu.Lock()
	r.ran[phase] = ran
	r.mu.Unlock()
	return ran
}

func (r *r8) scaleSetNames() map[int]string {
	names := map[int]string{}
	for _, ss := range r.sim.ScaleSets() {
		names[ss.ID] = ss.Name
	}
	return names
}

// problem records a failed check of a phase for the audit, and logs both clusters' state now.
func (r *r8) problem(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	r.mu.Lock()
	r.problems = append(r.problems, msg)
	r.mu.Unlock()
	r.t.Logf("PROBLEM %s\n%s", msg, r.dump())
}

// dump is both clusters' state for a failure: jobs by scale set and state, GitHub's statistics,
// sessions, and each RunnerSet's status and conditions.
func (r *r8) dump() string {
	var b strings.Builder
	names := r.scaleSetNames()
	states := map[string]map[string]int{}
	r.mu.Lock()
	phases := append([]string(nil), r.phases...)
	for _, p := range phases {
		for _, id := range r.jobs[p] {
			j, _ := r.sim.Job(id)
			set := names[j.ScaleSetID]
			if set == "" {
				set = "none"
			}
			if states[set] == nil {
				states[set] = map[string]int{}
			}
			states[set][j.State]++
		}
	}
	r.mu.Unlock()
	fmt.Fprintf(&b, "  jobs by scale set and state: %v\n", states)
	for _, ss := range r.sim.ScaleSets() {
		st, _ := r.sim.Statistics(ss.ID)
		fmt.Fprintf(&b, "  scale set %d %s (session %q): %+v\n", ss.ID, ss.Name, r.sessionOfID(ss.ID), st)
	}
	for _, w := range []*world{r.a, r.b} {
		for _, name := range w.setNames() {
			fmt.Fprintf(&b, "  %s %s: %s\n", w.name, name, r.statusString(w, name))
		}
	}
	return b.String()
}

func (r *r8) statusString(w *world, name string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rs, err := w.runnerSet(ctx, name)
	if err != nil {
		return err.Error()
	}
	st := rs.Status
	var conds []string
	for _, c := range st.Conditions {
		conds = append(conds, fmt.Sprintf("%s=%s(%s: %s)", c.Type, c.Status, c.Reason, c.Message))
	}
	sort.Strings(conds)
	return fmt.Sprintf("capacity %s desired %d current %d idle %d pending %d busy %d assignedJobs %d runningJobs %d availableJobs %d; %s",
		capacityString(st.Capacity), st.DesiredRunners, st.CurrentRunners, st.IdleRunners, st.PendingRunners, st.BusyRunners,
		st.AssignedJobs, st.RunningJobs, st.AvailableJobs, strings.Join(conds, " "))
}

func capacityString(c *int32) string {
	if c == nil {
		return "unset"
	}
	return fmt.Sprint(*c)
}

// r8Peak is the most of each a scale set had at once in a phase: jobs held (acquired, assigned
// or running), jobs running, GitHub registrations and live runner pods.
type r8Peak struct{ held, running, regs, pods int }

// r8Sampler samples GitHub's jobs and runners per scale set and the clusters' live runner pods
// every 250 ms for the whole scenario, and keeps each phase's peaks.
type r8Sampler struct {
	r *r8

	mu    sync.Mutex
	phase string
	peaks map[string]map[string]r8Peak // phase -> scale set -> peak
	now   map[string]r8Peak            // the latest sample
}

func (s *r8Sampler) setPhase(p string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.phase = p
}

func (s *r8Sampler) peak(phase, set string) r8Peak {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peaks[phase][set]
}

// held is the jobs a scale set holds now, sampled afresh.
func (s *r8Sampler) held(set string) int {
	s.sample()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now[set].held
}

func (s *r8Sampler) run(ctx context.Context) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			s.sample()
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return done
}

func (s *r8Sampler) sample() {
	r := s.r
	names := r.scaleSetNames()
	now := map[string]r8Peak{}
	for _, j := range r.sim.Jobs() {
		p := now[names[j.ScaleSetID]]
		switch j.State {
		case simulator.JobAcquired, simulator.JobAssigned:
			p.held++
		case simulator.JobRunning:
			p.held++
			p.running++
		}
		now[names[j.ScaleSetID]] = p
	}
	for _, rn := range r.sim.Runners() {
		p := now[names[rn.ScaleSetID]]
		p.regs++
		now[names[rn.ScaleSetID]] = p
	}
	for set, w := range map[string]*world{r8SetA: r.a, r8SetB: r.b} {
		p := now[set]
		p.pods = len(w.mon.livePods(set))
		now[set] = p
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
	if s.peaks[s.phase] == nil {
		s.peaks[s.phase] = map[string]r8Peak{}
	}
	for set, p := range now {
		q := s.peaks[s.phase][set]
		s.peaks[s.phase][set] = r8Peak{held: max(q.held, p.held), running: max(q.running, p.running), regs: max(q.regs, p.regs), pods: max(q.pods, p.pods)}
	}
}
