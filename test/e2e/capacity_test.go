//go:build e2e

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

package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the schedule's time zone, on a machine without a zone database

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/github/simulator"
)

// jobStates counts the states of jobs ids, and how many of them the scale set holds.
func jobStates(ids []int64, scaleSetID int) (states map[string]int, held int) {
	states = map[string]int{}
	for _, id := range ids {
		j, _ := gh.Job(id)
		states[j.State]++
		if j.ScaleSetID == scaleSetID && j.State != simulator.JobQueued && j.State != simulator.JobCompleted {
			held++
		}
	}
	return states, held
}

func setQuota(t *testing.T, ns string, pods int64) {
	t.Helper()
	q := &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: "runners"},
		Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourcePods: *resource.NewQuantity(pods, resource.DecimalSI)}}}
	quotas := kubeClient(t, "admin").CoreV1().ResourceQuotas(ns)
	got, err := quotas.Get(context.Background(), q.Name, metav1.GetOptions{})
	if err == nil {
		got.Spec = q.Spec
		_, err = quotas.Update(context.Background(), got, metav1.UpdateOptions{})
	} else {
		_, err = quotas.Create(context.Background(), q, metav1.CreateOptions{})
	}
	require.NoError(t, err)
	eventually(t, 30*time.Second, "the quota's usage computed", func(ctx context.Context) (bool, error) {
		got, err := quotas.Get(ctx, q.Name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		hard := got.Status.Hard[corev1.ResourcePods]
		_, used := got.Status.Used[corev1.ResourcePods]
		return hard.Value() == pods && used, nil
	})
}

// TestCapacityFollowsTheQuota: a ResourceQuota with room for 3 runner pods in a RunnerSet with
// maxRunners 20 leads to exactly 3 jobs acquired; the others stay queued on GitHub. The status
// shows capacity 3 and Saturated (Quota). Raising the quota to 5 takes 2 more at once, without a
// restart; every job runs once.
func TestCapacityFollowsTheQuota(t *testing.T) {
	const ns, name = "e2e-capacity", "capacity"
	namespace(t, ns)
	setQuota(t, ns, 3)
	rs := fleet(t, ns, name, 0, 20)
	scaleSetID := int(rs.Status.ScaleSetID)
	var ids []int64
	for i := range 6 {
		ids = append(ids, gh.QueueJob(simulator.Job{Labels: []string{name}, Owner: "acme", Repository: name,
			DisplayName: fmt.Sprintf("build-%d", i), Duration: 40 * time.Second}))
	}
	eventually(t, 60*time.Second, "3 jobs held, 3 queued", func(ctx context.Context) (bool, error) {
		states, held := jobStates(ids, scaleSetID)
		return held == 3 && states[simulator.JobQueued] == 3, nil
	})
	eventually(t, 30*time.Second, "capacity 3, Saturated (Quota)", func(ctx context.Context) (bool, error) {
		rs = getRunnerSet(ctx, t, ns, name)
		c := meta.FindStatusCondition(rs.Status.Conditions, v1alpha1.ConditionSaturated)
		return ptr.Deref(rs.Status.Capacity, 0) == 3 && c != nil && c.Status == metav1.ConditionTrue && c.Reason == "Quota", nil
	})
	out := kubectl(t, "admin", "describe", "rset", name, "-n", ns)
	assert.Contains(t, out, "Saturated")
	assert.Contains(t, out, `ResourceQuota "runners"`, "the condition names the quota")
	_, held := jobStates(ids, scaleSetID)
	assert.Equal(t, 3, held, "no job acquired beyond the quota while it stayed")

	setQuota(t, ns, 5)
	eventually(t, 60*time.Second, "5 jobs held once the quota grew", func(ctx context.Context) (bool, error) {
		_, held := jobStates(ids, scaleSetID)
		return held == 5, nil
	})
	eventually(t, 180*time.Second, "every job completed", func(ctx context.Context) (bool, error) {
		states, _ := jobStates(ids, scaleSetID)
		return states[simulator.JobCompleted] == len(ids), nil
	})
	for _, id := range ids {
		j, _ := gh.Job(id)
		assert.Equal(t, simulator.ResultSucceeded, j.Result, "job %d", id)
	}
	eventually(t, 60*time.Second, "Saturated False once idle", func(ctx context.Context) (bool, error) {
		rs = getRunnerSet(ctx, t, ns, name)
		return meta.IsStatusConditionFalse(rs.Status.Conditions, v1alpha1.ConditionSaturated), nil
	})
	kubectl(t, "admin", "delete", "rset", name, "-n", ns, "--wait=false")
	audit(t, ns, scaleSetID, true)
}

func getRunnerSet(ctx context.Context, t *testing.T, ns, name string) *v1alpha1.RunnerSet {
	got, err := actionsClient(t, "admin").ActionsV1alpha1().RunnerSets(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return &v1alpha1.RunnerSet{}
	}
	return got
}

// TestScheduleChangesTheWarmPool: a window opening a few seconds from now keeps 2 idle runners
// while it is open and none after; the status shows the window and its next edge, and events
// say when it opened and closed.
func TestScheduleChangesTheWarmPool(t *testing.T) {
	const ns, name = "e2e-schedule", "schedule"
	rs := fleet(t, ns, name, 0, 5)
	zone, _ := time.LoadLocation("Europe/Berlin")
	open := time.Now().In(zone).Add(15 * time.Second).Truncate(time.Second)
	shut := open.Add(25 * time.Second)
	window := fmt.Sprintf(`{"spec":{"schedules":[{"name":"office-hours","start":%q,"end":%q,"timeZone":"Europe/Berlin","minRunners":2}]}}`,
		open.Format("15:04:05"), shut.Format("15:04:05"))
	kubectl(t, "admin", "patch", "rset", name, "-n", ns, "--type=merge", "-p", window)
	eventually(t, 15*time.Second, "the next edge in the status", func(ctx context.Context) (bool, error) {
		rs = getRunnerSet(ctx, t, ns, name)
		s := rs.Status.Schedule
		return s != nil && s.Active == "" && s.NextChange != nil && s.NextChange.Time.Equal(open) && s.NextWindow == "office-hours", nil
	})
	assert.Empty(t, runnerPods(t, ns), "no warm pool before the window")

	eventually(t, 60*time.Second, "2 idle runners in the window", func(ctx context.Context) (bool, error) {
		rs = getRunnerSet(ctx, t, ns, name)
		return rs.Status.IdleRunners == 2 && rs.Status.Schedule != nil && rs.Status.Schedule.Active == "office-hours", nil
	})
	assert.False(t, time.Now().Before(open), "the warm pool came with the window, not before")
	assert.Equal(t, int32(2), ptr.Deref(rs.Status.Schedule.MinRunners, 0))
	assert.True(t, rs.Status.Schedule.NextChange.Time.Equal(shut), "the next edge is the window's end")

	eventually(t, 60*time.Second, "no runner after the window", func(ctx context.Context) (bool, error) {
		return len(runnerPods(t, ns)) == 0 && time.Now().After(shut), nil
	})
	events := kubectl(t, "admin", "get", "events", "-n", ns, "--field-selector", "involvedObject.name="+name, "-o", "custom-columns=REASON:.reason")
	assert.True(t, strings.Contains(events, "ScheduleWindowOpened") && strings.Contains(events, "ScheduleWindowClosed"), events)
	kubectl(t, "admin", "delete", "rset", name, "-n", ns, "--wait=false")
	audit(t, ns, int(rs.Status.ScaleSetID), true)
}
