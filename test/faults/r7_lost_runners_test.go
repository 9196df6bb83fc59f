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
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/contract"
	"actions.dev/runnerset-apiserver/pkg/github/simulator"
	"actions.dev/runnerset-apiserver/pkg/localsystem"
)

const (
	// r7PoolLabel labels and taints R7's own kwok nodes: a RunnerSet's pods are pinned to one
	// pool, and nothing else lands there.
	r7PoolLabel = "faults.actions.dev/pool"
	// r7MinLeft: a victim's job still has this long to run, so that taking its pod surely loses
	// it rather than racing its completion.
	r7MinLeft = 8 * time.Second
	// r7GCLeft: the same for a removed node, whose pods go only when pod GC gets to them (a 40 s
	// quarantine, checked every 20 s).
	r7GCLeft = 65 * time.Second
)

// How the cluster takes a busy runner.
const (
	takeEvict  = "evicted"
	takeDelete = "deleted"
	takeOOM    = "OOM-killed"
	takeDrain  = "drained"
	takeNode   = "node removed"
	takeAgain  = "re-run evicted"
)

// r7 is R7's record of what it did to which job.
type r7 struct {
	w *world

	mu sync.Mutex
	// taken maps a job (request id) to how its runner was taken: each must be lost.
	taken map[int64]string
	// failing are the jobs queued to fail on their own.
	failing map[int64]bool
	// removed are the nodes deleted, onRemoved the runner pods bound to them then: their jobs
	// may be lost too (idle runners there take jobs until pod GC comes).
	removed, onRemoved map[string]bool
}

// TestR7LostRunnersRerun: the cluster takes busy runners: the eviction API (alone and in a drain
// of their node), a deletion, an OOM kill and (full form) the removal of their node. Each
// job lost so is reported (JobLost) and re-run on GitHub once its runner's lock lapses
// (JobRerun), at most spec.lostJobReruns jobs per workflow run: a re-run lost again is not re-run
// again. Jobs that fail on their own are never re-run, and no runner is left behind.
func TestR7LostRunnersRerun(t *testing.T) {
	w := newWorld(t, "R7 lost runners", "faults-r7", simulator.Options{})
	r := &r7{w: w, taken: map[int64]string{}, failing: map[int64]bool{}, removed: map[string]bool{}, onRemoved: map[string]bool{}}
	w.jobsAudit = r.auditJobs
	r.addNodes("r7-a", 3)
	w.addSet(setSpec{name: "r7-a", min: 1, max: 12, podSpec: onPool("r7-a")})
	var removal *r7Removal
	if *full {
		// Pod GC takes a minute to come for a removed node's pods: its jobs run long, on a
		// RunnerSet and nodes of their own, beside r7-a's waves.
		r.addNodes("r7-b", 2)
		w.addSet(setSpec{name: "r7-b", min: 1, max: 8, podSpec: onPool("r7-b")})
		removal = r.removeNode("r7-b", r.queueWave("r7-b", 13, 1, 80*time.Second, 90*time.Second))
	}
	var notes []string
	for i := range pick(2, 1) {
		ids := r.queueWave("r7-a", pick(18, 16), 2, 20*time.Second, 30*time.Second)
		drained := fmt.Sprintf("faults-r7-a-%d", i)
		notes = append(notes, r.takeWave("r7-a", ids, drained, i+1))
		if i == 0 {
			notes = append(notes, r.loseAgain("r7-a"))
		}
		notes = append(notes, r.settle(fmt.Sprintf("wave %d", i+1), ids, 3*time.Minute))
		r.cordon(drained, false)
	}
	if removal != nil {
		notes = append(notes, r.finishRemoval(removal))
	}
	notes = append(notes, r.settle("all", w.queuedJobs(), 4*time.Minute))
	w.audit(notes...)
}

// onPool pins a RunnerSet's pods to R7's nodes of pool.
func onPool(pool string) func(*corev1.PodSpec) {
	return func(s *corev1.PodSpec) {
		s.NodeSelector = map[string]string{r7PoolLabel: pool}
		s.Tolerations = append(s.Tolerations, corev1.Toleration{Key: r7PoolLabel, Operator: corev1.TolerationOpEqual, Value: pool, Effect: corev1.TaintEffectNoSchedule})
	}
}

// addNodes adds n kwok nodes to pool (faults-<pool>-<i>) and waits until they are Ready. They
// are small, so that the scheduler spreads runner pods across them.
func (r *r7) addNodes(pool string, n int) {
	w := r.w
	resources := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("4"),
		corev1.ResourceMemory: resource.MustParse("16Gi"),
		corev1.ResourcePods:   resource.MustParse("110"),
	}
	for i := range n {
		name := fmt.Sprintf("faults-%s-%d", pool, i)
		node := &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{
				Name: name,
				// kwok plays the nodes carrying its annotation, as it does the local system's.
				Annotations: map[string]string{"node.alpha.kubernetes.io/ttl": "0", localsystem.FakeNodeTaintKey: localsystem.FakeNodeTaintVal},
				Labels:      map[string]string{"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "type": "kwok", r7PoolLabel: pool},
			},
			Spec:   corev1.NodeSpec{Taints: []corev1.Taint{{Key: r7PoolLabel, Value: pool, Effect: corev1.TaintEffectNoSchedule}}},
			Status: corev1.NodeStatus{Allocatable: resources, Capacity: resources, Phase: corev1.NodeRunning},
		}
		_, err := w.kube.CoreV1().Nodes().Create(context.Background(), node, metav1.CreateOptions{})
		require.NoError(w.t, err)
		w.t.Cleanup(func() {
			if err := w.kube.CoreV1().Nodes().Delete(context.Background(), name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				w.t.Errorf("deleting node %s: %v", name, err)
			}
		})
		w.eventually(time.Minute, "node "+name+" Ready", func(ctx context.Context) (bool, string) {
			n, err := w.kube.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			for _, c := range n.Status.Conditions {
				if c.Type == corev1.NodeReady {
					return c.Status == corev1.ConditionTrue, string(c.Status)
				}
			}
			return false, "no Ready condition"
		})
	}
}

// queueWave queues ok jobs running a seeded time in [lo, hi] and failing jobs that fail on their
// own after a few seconds, and returns them all.
func (r *r7) queueWave(set string, ok, failing int, lo, hi time.Duration) []int64 {
	w := r.w
	ids := w.queue(set, ok, lo, hi)
	for i := range failing {
		id := w.sim.QueueJob(simulator.Job{
			Labels: []string{set}, Owner: "acme", Repository: w.ns, DisplayName: fmt.Sprintf("%s-flaky-%d", set, i),
			Duration: 3 * time.Second, Result: simulator.ResultFailed,
		})
		w.mu.Lock()
		w.jobs = append(w.jobs, id)
		w.mu.Unlock()
		r.mu.Lock()
		r.failing[id] = true
		r.mu.Unlock()
		ids = append(ids, id)
	}
	return ids
}

// failingOf counts the jobs of ids meant to fail.
func (r *r7) failingOf(ids []int64) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, id := range ids {
		if r.failing[id] {
			n++
		}
	}
	return n
}

// eligible are the jobs of ids the test may take the runner of: not meant to fail, not taken yet.
func (r *r7) eligible(ids []int64) map[int64]bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[int64]bool{}
	for _, id := range ids {
		if !r.failing[id] && r.taken[id] == "" {
			out[id] = true
		}
	}
	return out
}

// busyRunner is a runner pod in the middle of a job.
type busyRunner struct {
	pod, node string
	job       int64
}

// busyRunners lists set's live runner pods whose job (one of jobs) GitHub reported started, the
// server recorded on the pod, and has at least left to run; by pod name.
func (r *r7) busyRunners(ctx context.Context, set string, jobs map[int64]bool, left time.Duration) ([]busyRunner, error) {
	list, err := r.w.kube.CoreV1().Pods(r.w.ns).List(ctx, metav1.ListOptions{LabelSelector: v1alpha1.LabelRunnerSet + "=" + set})
	if err != nil {
		return nil, err
	}
	var out []busyRunner
	for i := range list.Items {
		p := &list.Items[i]
		j := contract.JobOf(p)
		if !liveRunner(p) || p.Status.Phase != corev1.PodRunning || !j.Running() || !jobs[j.RequestID] {
			continue
		}
		st, ok := r.w.sim.Job(j.RequestID)
		if !ok || st.State != simulator.JobRunning || st.RunnerName != p.Name || time.Until(st.StartedAt.Add(st.Job.Duration)) < left {
			continue
		}
		out = append(out, busyRunner{pod: p.Name, node: p.Spec.NodeName, job: j.RequestID})
	}
	sort.Slice(out, func(i, k int) bool { return out[i].pod < out[k].pod })
	return out, nil
}

// waitBusy waits until at least n runners of set are busy with jobs (see busyRunners).
func (r *r7) waitBusy(set string, n int, jobs map[int64]bool, left time.Duration) []busyRunner {
	var busy []busyRunner
	r.w.eventually(2*time.Minute, fmt.Sprintf("%d runners of %s busy", n, set), func(ctx context.Context) (bool, string) {
		var err error
		if busy, err = r.busyRunners(ctx, set, jobs, left); err != nil {
			return false, err.Error()
		}
		return len(busy) >= n, fmt.Sprintf("%d busy", len(busy))
	})
	return busy
}

// take takes a busy runner's pod the way kind says, and records the job as one to be lost.
func (r *r7) take(b busyRunner, kind string) {
	ctx := context.Background()
	pods := r.w.kube.CoreV1().Pods(r.w.ns)
	var err error
	switch kind {
	case takeEvict, takeDrain, takeAgain:
		// As kubectl drain does: the eviction API (no PodDisruptionBudget covers runners).
		err = pods.EvictV1(ctx, &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: b.pod, Namespace: r.w.ns}})
	case takeDelete:
		err = pods.Delete(ctx, b.pod, metav1.DeleteOptions{})
	case takeOOM:
		err = r.oomKill(ctx, b.pod)
	}
	require.NoError(r.w.t, err, "%s %s", kind, b.pod)
	r.mu.Lock()
	r.taken[b.job] = kind
	r.mu.Unlock()
}

// oomKill writes what the kubelet writes when the runner container is OOM-killed under
// restartPolicy Never: the container terminated (OOMKilled, exit 137), the pod Failed. kwok
// leaves a Running pod's status alone; the runner emulator takes the runner offline, as the
// killed process goes.
func (r *r7) oomKill(ctx context.Context, name string) error {
	pods := r.w.kube.CoreV1().Pods(r.w.ns)
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		p, err := pods.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		now := metav1.Now()
		for i := range p.Status.ContainerStatuses {
			cs := &p.Status.ContainerStatuses[i]
			term := &corev1.ContainerStateTerminated{ExitCode: 143, Reason: "Error", FinishedAt: now, ContainerID: cs.ContainerID}
			if cs.Name == "runner" {
				term.ExitCode, term.Reason = 137, "OOMKilled"
			}
			if cs.State.Running != nil {
				term.StartedAt = cs.State.Running.StartedAt
			}
			cs.State, cs.Ready, cs.Started = corev1.ContainerState{Terminated: term}, false, ptrFalse()
		}
		for i := range p.Status.Conditions {
			if c := &p.Status.Conditions[i]; c.Type == corev1.PodReady || c.Type == corev1.ContainersReady {
				c.Status, c.Reason, c.LastTransitionTime = corev1.ConditionFalse, "PodFailed", now
			}
		}
		p.Status.Phase = corev1.PodFailed
		_, err = pods.UpdateStatus(ctx, p, metav1.UpdateOptions{})
		return err
	})
}

func ptrFalse() *bool { f := false; return &f }

// cordon marks a node (un)schedulable, as kubectl cordon and uncordon do.
func (r *r7) cordon(node string, on bool) {
	patch := fmt.Sprintf(`{"spec":{"unschedulable":%t}}`, on)
	_, err := r.w.kube.CoreV1().Nodes().Patch(context.Background(), node, types.MergePatchType, []byte(patch), metav1.PatchOptions{})
	require.NoError(r.w.t, err)
}

// takeWave waits until ten runners of set are busy with jobs of ids, then drains one node
// (cordon, evict its busy runners) and evicts, deletes and OOM-kills up to two runners each of
// the others, chosen with the seeded rng.
func (r *r7) takeWave(set string, ids []int64, drainNode string, wave int) string {
	busy := r.waitBusy(set, 10, r.eligible(ids), r7MinLeft)
	r.cordon(drainNode, true)
	var drained, others []busyRunner
	for _, b := range busy {
		if b.node == drainNode {
			drained = append(drained, b)
		} else {
			others = append(others, b)
		}
	}
	r.w.mu.Lock()
	r.w.rng.Shuffle(len(others), func(i, k int) { others[i], others[k] = others[k], others[i] })
	r.w.mu.Unlock()
	per := min(2, len(others)/3)
	require.Positive(r.w.t, per, "too few busy runners off %s to take each way: %v", drainNode, busy)
	for _, b := range drained {
		r.take(b, takeDrain)
	}
	for i, kind := range []string{takeEvict, takeDelete, takeOOM} {
		for _, b := range others[i*per : (i+1)*per] {
			r.take(b, kind)
		}
	}
	return fmt.Sprintf("wave %d: %d jobs on %s (%d meant to fail); with %d runners busy: %s cordoned and its %d busy runners evicted (a drain), then %d runners each evicted, deleted and OOM-killed (pod Failed, runner OOMKilled exit 137)",
		wave, len(ids), set, r.failingOf(ids), len(busy), drainNode, len(drained), per)
}

// loseAgain takes the runner of a re-run too: its run has used its re-run budget
// (lostJobReruns 1), so it must end failed, not be re-run again.
func (r *r7) loseAgain(set string) string {
	first := r.takenOne(takeEvict)
	var rerun int64
	r.w.eventually(2*time.Minute, fmt.Sprintf("job %d re-run", first), func(context.Context) (bool, string) {
		j, _ := r.w.sim.Job(first)
		rerun = j.RerunAs
		return rerun != 0, fmt.Sprintf("%s %s", j.State, j.Result)
	})
	b := r.waitBusy(set, 1, map[int64]bool{rerun: true}, r7MinLeft)[0]
	r.take(b, takeAgain)
	return fmt.Sprintf("job %d, evicted and re-run as job %d, lost again: its re-run's runner %s evicted while running", first, rerun, b.pod)
}

// takenOne is the lowest job taken kind's way.
func (r *r7) takenOne(kind string) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out int64
	for id, k := range r.taken {
		if k == kind && (out == 0 || id < out) {
			out = id
		}
	}
	require.NotZero(r.w.t, out, "no job %s", kind)
	return out
}

// r7Removal is a node removed while runners were busy on it.
type r7Removal struct {
	set, node string
	at        time.Time
	busy      int
	pods      []string
}

// removeNode waits until four runners of set are busy with jobs of ids that outlast pod GC, then
// deletes the node most of them run on, as a node lost to its cloud provider: pod GC deletes its
// pods (DisruptionTarget DeletionByPodGC) once its quarantine is over.
func (r *r7) removeNode(set string, ids []int64) *r7Removal {
	busy := r.waitBusy(set, 4, r.eligible(ids), r7GCLeft)
	perNode := map[string][]busyRunner{}
	for _, b := range busy {
		perNode[b.node] = append(perNode[b.node], b)
	}
	node := busy[0].node
	for n, bs := range perNode {
		if len(bs) > len(perNode[node]) || (len(bs) == len(perNode[node]) && n < node) {
			node = n
		}
	}
	ctx := context.Background()
	require.NoError(r.w.t, r.w.kube.CoreV1().Nodes().Delete(ctx, node, metav1.DeleteOptions{}))
	rm := &r7Removal{set: set, node: node, at: time.Now(), busy: len(perNode[node])}
	// Pods stay bound to a deleted node: listed afterwards, none is missed.
	on, err := r.w.kube.CoreV1().Pods(r.w.ns).List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=" + node})
	require.NoError(r.w.t, err)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.removed[node] = true
	for _, p := range on.Items {
		r.onRemoved[p.Name] = true
		rm.pods = append(rm.pods, p.Name)
	}
	for _, b := range perNode[node] {
		r.taken[b.job] = takeNode
	}
	return rm
}

// finishRemoval waits until the removed node's pods are gone and says how pod GC did it.
func (r *r7) finishRemoval(rm *r7Removal) string {
	w := r.w
	w.eventually(3*time.Minute, "the pods of removed node "+rm.node+" gone", func(ctx context.Context) (bool, string) {
		list, err := w.kube.CoreV1().Pods(w.ns).List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=" + rm.node})
		if err != nil {
			return false, err.Error()
		}
		return len(list.Items) == 0, fmt.Sprintf("%d pods left", len(list.Items))
	})
	var last time.Duration
	byGC, kept := 0, 0
	w.mon.mu.Lock()
	for _, name := range rm.pods {
		if at := w.mon.deleted[name]; at.After(rm.at) {
			last = max(last, at.Sub(rm.at))
		}
		// An idle runner's pod is re-created under its name elsewhere; a lost one's is not.
		if p := w.mon.pods[name]; p != nil && p.Spec.NodeName == rm.node {
			kept++
			if podGCed(p) {
				byGC++
			}
		}
	}
	w.mon.mu.Unlock()
	return fmt.Sprintf("node removal on %s: node %s deleted with %d runners busy on it (%d runner pods); its pods gone by %s later, %d of the %d whose last state was seen there marked DisruptionTarget DeletionByPodGC",
		rm.set, rm.node, rm.busy, len(rm.pods), last.Round(time.Second), byGC, kept)
}

func podGCed(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.DisruptionTarget && c.Reason == "DeletionByPodGC" {
			return true
		}
	}
	return false
}

// settle waits until every job of ids is settled: its last attempt completed, and not lost with
// a re-run still due. A wait that times out is noted, and the audit says what is wrong.
func (r *r7) settle(what string, ids []int64, timeout time.Duration) string {
	begin := time.Now()
	budget := r.budget()
	last, err := poll(timeout, func(context.Context) (bool, string) {
		open := map[string]int{}
		for _, id := range ids {
			if s := unsettled(r.w.sim, id, budget); s != "" {
				open[s]++
			}
		}
		return len(open) == 0, fmt.Sprint(open)
	})
	if err != nil {
		return fmt.Sprintf("%s: NOT settled within %s: %s", what, timeout, last)
	}
	return fmt.Sprintf("%s: %d jobs settled, re-runs included, %s later", what, len(ids), time.Since(begin).Round(time.Second))
}

// unsettled says why a job is not settled, "" when it is.
func unsettled(sim *simulator.Simulator, id int64, budget int) string {
	c, ok := sim.JobAttempts(id)
	if !ok || len(c) == 0 {
		return "unknown"
	}
	last := c[len(c)-1]
	switch {
	case last.State != simulator.JobCompleted:
		return last.State
	case last.LostRunner && len(c)-1 < budget:
		return "lost, re-run due"
	}
	return ""
}

// budget is spec.lostJobReruns of R7's RunnerSets, as the server defaulted it.
func (r *r7) budget() int {
	rs, err := r.w.runnerSet(context.Background(), "r7-a")
	require.NoError(r.w.t, err)
	require.NotNil(r.w.t, rs.Spec.LostJobReruns, "spec.lostJobReruns not defaulted")
	return int(*rs.Spec.LostJobReruns)
}
