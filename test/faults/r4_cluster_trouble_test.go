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
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/github/simulator"
	"actions.dev/runnerset-apiserver/pkg/runneremulator"
)

// TestR4ClusterTrouble: the cluster misbehaves instead of GitHub. The kube-apiserver is killed
// and restarted mid-burst; a ResourceQuota refuses runner pods for a while; runner pods crash on
// start; a runner exits 7 (its version is deprecated). Each time the RunnerSet says what is
// wrong, nothing is lost, and it recovers once the trouble is gone.
func TestR4ClusterTrouble(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, "R4 cluster trouble", "faults-r4", simulator.Options{})
	sets := []setSpec{{name: "r4-a", min: 1, max: 8}, {name: "r4-b", min: 0, max: 8, app: true}}
	for _, s := range sets {
		w.addSet(s)
	}
	var notes []string

	// 1. The kube-apiserver dies (SIGKILL) and comes back mid-burst.
	for _, s := range sets {
		w.queue(s.name, pick(15, 6), 3*time.Second, pick(8*time.Second, 5*time.Second))
	}
	w.eventually(2*time.Minute, "runners busy", func(context.Context) (bool, string) {
		busy := 0
		for _, r := range w.sim.Runners() {
			if r.Busy {
				busy++
			}
		}
		return busy >= 3, fmt.Sprintf("%d busy", busy)
	})
	begin := time.Now()
	require.NoError(t, sys.KillComponent("kube-apiserver"))
	require.NoError(t, sys.RestartComponent(ctx, "kube-apiserver"))
	down := time.Since(begin)
	require.NoError(t, sys.WaitAPIServiceAvailable(ctx, "v1alpha1.actions.dev", 2*time.Minute))
	w.waitJobs(pick(5*time.Minute, 3*time.Minute))
	notes = append(notes, fmt.Sprintf("1. kube-apiserver killed (SIGKILL) mid-burst with runners busy, serving again after %s; the burst's %d jobs all ran", down.Round(100*time.Millisecond), len(w.queuedJobs())))

	// 2. A ResourceQuota leaves no room for another pod for a while.
	pods, err := w.kube.CoreV1().Pods(w.ns).List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	quota := &corev1.ResourceQuota{
		ObjectMeta: metav1.ObjectMeta{Name: "no-room"},
		Spec:       corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourcePods: *resource.NewQuantity(int64(len(pods.Items)), resource.DecimalSI)}},
	}
	_, err = w.kube.CoreV1().ResourceQuotas(w.ns).Create(ctx, quota, metav1.CreateOptions{})
	require.NoError(t, err)
	w.eventually(time.Minute, "the quota in force", func(ctx context.Context) (bool, string) {
		q, err := w.kube.CoreV1().ResourceQuotas(w.ns).Get(ctx, "no-room", metav1.GetOptions{})
		return err == nil && q.Status.Hard != nil, "no status yet"
	})
	quotaJobs := w.queue("r4-b", pick(6, 3), time.Second, 3*time.Second)
	begin = time.Now()
	// The server claims no job it has no room for: r4-b says its quota holds it, and its jobs
	// stay queued on GitHub, for any other scale set, instead of waiting for pods the quota refuses.
	w.eventually(2*time.Minute, "r4-b saying its quota leaves no room", func(ctx context.Context) (bool, string) {
		rs, err := w.runnerSet(ctx, "r4-b")
		if err != nil {
			return false, err.Error()
		}
		c := meta.FindStatusCondition(rs.Status.Conditions, v1alpha1.ConditionSaturated)
		return c != nil && c.Status == metav1.ConditionTrue && c.Reason == "Quota" && ptr.Deref(rs.Status.Capacity, -1) == 0, condString(c)
	})
	saturatedAfter := time.Since(begin)
	for _, id := range quotaJobs {
		j, _ := w.sim.Job(id)
		require.Equal(t, simulator.JobQueued, j.State, "job %d was claimed although the quota leaves no room", id)
	}
	refused, _ := w.kube.CoreV1().Events(w.ns).List(ctx, metav1.ListOptions{FieldSelector: "reason=QuotaExceeded"})
	require.NoError(t, w.kube.CoreV1().ResourceQuotas(w.ns).Delete(ctx, "no-room", metav1.DeleteOptions{}))
	lifted := time.Now()
	w.waitJobs(pick(4*time.Minute, 3*time.Minute))
	notes = append(notes, fmt.Sprintf("2. ResourceQuota pods=%d: Saturated=True (Quota), capacity 0 after %s, its %d jobs left queued on GitHub (%d pods refused by the quota); quota deleted, the jobs done %s later",
		len(pods.Items), saturatedAfter.Round(time.Second), len(quotaJobs), len(refused.Items), time.Since(lifted).Round(time.Second)))

	// 3. Runner pods crash on start (exit 1) until the template is fixed.
	setExitCode(t, w, "r4-b", "1")
	crashJobs := w.queue("r4-b", pick(4, 2), time.Second, 3*time.Second)
	var failed int
	w.eventually(2*time.Minute, "r4-b's pods crashing and said so", func(ctx context.Context) (bool, string) {
		failed = w.mon.failedPods("r4-b")
		rs, err := w.runnerSet(ctx, "r4-b")
		if err != nil {
			return false, err.Error()
		}
		c := meta.FindStatusCondition(rs.Status.Conditions, v1alpha1.ConditionPodsFailing)
		return failed >= pick(3, 2) && c != nil && c.Status == metav1.ConditionTrue && c.Reason == "PodFailures", fmt.Sprintf("%d failed pods, %s", failed, condString(c))
	})
	setExitCode(t, w, "r4-b", "")
	fixed := time.Now()
	w.waitJobs(pick(4*time.Minute, 3*time.Minute))
	notes = append(notes, fmt.Sprintf("3. runner pods crashing on start: %d failed pods, PodsFailing=True (PodFailures); template fixed, its %d jobs done %s later",
		failed, len(crashJobs), time.Since(fixed).Round(time.Second)))

	// 4. A runner exits 7: its version is deprecated. No new runners until the template changes.
	setExitCode(t, w, "r4-a", "7")
	w.eventually(2*time.Minute, "r4-a RunnerVersionDeprecated and no runner left", func(ctx context.Context) (bool, string) {
		rs, err := w.runnerSet(ctx, "r4-a")
		if err != nil {
			return false, err.Error()
		}
		c := meta.FindStatusCondition(rs.Status.Conditions, v1alpha1.ConditionRunnerVersionDeprecated)
		live := w.mon.livePods("r4-a")
		return c != nil && c.Status == metav1.ConditionTrue && len(live) == 0, fmt.Sprintf("%s, live pods %v", condString(c), live)
	})
	exits := w.mon.failedPods("r4-a")
	held := w.queue("r4-a", pick(4, 2), time.Second, 3*time.Second)
	setExitCode(t, w, "r4-a", "")
	fixed = time.Now()
	w.waitJobs(pick(4*time.Minute, 3*time.Minute))
	notes = append(notes, fmt.Sprintf("4. a runner exiting 7: RunnerVersionDeprecated=True, no runner pods until the template changed (%d pods exited 7); %d jobs queued meanwhile done %s after the fix",
		exits, len(held), time.Since(fixed).Round(time.Second)))
	w.audit(notes...)
}

// setExitCode sets (or, with "", removes) the emulator's exit-code annotation on a RunnerSet's
// pod template.
func setExitCode(t *testing.T, w *world, set, code string) {
	t.Helper()
	value := "null"
	if code != "" {
		value = fmt.Sprintf("%q", code)
	}
	patch := fmt.Sprintf(`{"spec":{"template":{"metadata":{"annotations":{%q:%s}}}}}`, runneremulator.ExitCodeAnnotation, value)
	_, err := w.rsets.ActionsV1alpha1().RunnerSets(w.ns).Patch(context.Background(), set, types.MergePatchType, []byte(patch), metav1.PatchOptions{})
	require.NoError(t, err)
}

// failedPods counts a RunnerSet's runner pods (each pod, by uid: a runner's pod is re-created
// under the same name) seen with the runner exited non-zero.
func (m *monitor) failedPods(set string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for uid, s := range m.failedUIDs {
		if s == set && uid != "" {
			n++
		}
	}
	return n
}
