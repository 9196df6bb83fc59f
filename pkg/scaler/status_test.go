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

package scaler

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubefake "k8s.io/client-go/kubernetes/fake"
	clocktesting "k8s.io/utils/clock/testing"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/generated/clientset/versioned/fake"
	"actions.dev/runnerset-apiserver/pkg/scaler/metrics"
	"actions.dev/runnerset-apiserver/pkg/scaler/runners"
	"actions.dev/runnerset-apiserver/pkg/scaler/session"
)

// TestStatusWritesCoalesce: a change is written a second after it was first seen, with every
// change of that second, and never within a second of the last write; no change, no write.
func TestStatusWritesCoalesce(t *testing.T) {
	rs := testRunnerSet()
	client := fake.NewSimpleClientset(rs.DeepCopy())
	clock := clocktesting.NewFakeClock(time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC))
	m := testManager(t, testConfig(client, kubefake.NewClientset(), &fakeGitHub{}, clock))
	w := newWorker(m, rs)
	w.rs.Store(rs.DeepCopy())
	ctx := context.Background()
	writes := func() int {
		n := 0
		for _, a := range client.Actions() {
			if a.GetVerb() == "update" && a.GetSubresource() == "status" {
				n++
			}
		}
		return n
	}
	write := func(c metrics.Counts) time.Duration {
		return w.status.write(ctx, w, w.rs.Load(), session.Demand{}, runners.Result{Desired: 1, Current: 1, Counts: c}, nil, bounds{capacity: math.MaxInt32})
	}

	wait := write(metrics.Counts{Pending: 1})
	require.Equal(t, [2]any{time.Second, 0}, [2]any{wait, writes()}, "a first change waits a second")
	clock.Step(300 * time.Millisecond)
	wait = write(metrics.Counts{Idle: 1})
	require.Equal(t, [2]any{700 * time.Millisecond, 0}, [2]any{wait, writes()}, "a change 300ms later waits with it")
	clock.Step(700 * time.Millisecond)
	wait = write(metrics.Counts{Busy: 1})
	require.Equal(t, [2]any{time.Duration(0), 1}, [2]any{wait, writes()}, "a second after the first change: the latest written")
	clock.Step(1500 * time.Millisecond)
	wait = write(metrics.Counts{Idle: 1})
	require.Equal(t, [2]any{time.Second, 1}, [2]any{wait, writes()}, "the next change waits its own second")
	wait = write(metrics.Counts{Busy: 1})
	require.Equal(t, [2]any{time.Duration(0), 1}, [2]any{wait, writes()}, "changed back: nothing waits")
	clock.Step(200 * time.Millisecond)
	wait = write(metrics.Counts{Idle: 1})
	require.Equal(t, [2]any{time.Second, 1}, [2]any{wait, writes()}, "a change after one that went away waits a second from now")
	clock.Step(time.Second)
	wait = write(metrics.Counts{Busy: 1})
	require.Equal(t, [2]any{time.Duration(0), 1}, [2]any{wait, writes()}, "back to what is stored: no write")

	got, err := client.ActionsV1alpha1().RunnerSets("ns").Get(ctx, "rs", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, [3]int32{1, 0, 0}, [3]int32{got.Status.BusyRunners, got.Status.IdleRunners, got.Status.PendingRunners})
	assert.Equal(t, got.ResourceVersion, w.rs.Load().ResourceVersion, "the next write starts from the written object")

	clock.Step(5 * time.Second)
	wait = write(metrics.Counts{Busy: 1})
	assert.Equal(t, [2]any{time.Duration(0), 1}, [2]any{wait, writes()}, "no change: nothing written")
}

func condition(ctype string, status metav1.ConditionStatus, reason string, at time.Time) metav1.Condition {
	return metav1.Condition{Type: ctype, Status: status, Reason: reason, LastTransitionTime: metav1.NewTime(at)}
}

// TestBuildStatusJoinsBothSides: the GitHub conditions come from the session, the runner
// conditions from the cluster side, and Ready sums them up.
func TestBuildStatusJoinsBothSides(t *testing.T) {
	at := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	now := metav1.NewTime(at.Add(time.Minute))
	healthy := []metav1.Condition{
		condition(v1alpha1.ConditionGitHubAuthenticated, metav1.ConditionTrue, "Authenticated", at),
		condition(v1alpha1.ConditionScaleSetRegistered, metav1.ConditionTrue, session.ReasonRegistered, at),
		condition(v1alpha1.ConditionSessionActive, metav1.ConditionTrue, session.ReasonSessionOpen, at),
	}
	d := session.Demand{ScaleSetID: 7, RunnerGroupID: 1, SessionID: "s", Conditions: healthy}
	res := runners.Result{Desired: 2, Current: 1, Counts: metrics.Counts{Idle: 1},
		Conditions: []metav1.Condition{condition(v1alpha1.ConditionPodsFailing, metav1.ConditionFalse, runners.ReasonRunnersHealthy, at)}}

	st := BuildStatus(testRunnerSet(), d, res, now)
	assert.Equal(t, int64(7), st.ScaleSetID)
	assert.Equal(t, [2]int32{2, 1}, [2]int32{st.DesiredRunners, st.CurrentRunners})
	assert.True(t, meta.IsStatusConditionTrue(st.Conditions, v1alpha1.ConditionReady))
	assert.NotNil(t, meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionPodsFailing))

	d.Conditions = append([]metav1.Condition(nil), healthy...)
	d.Conditions[2] = condition(v1alpha1.ConditionSessionActive, metav1.ConditionFalse, session.ReasonSessionConflict, at)
	st = BuildStatus(testRunnerSet(), d, res, now)
	ready := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionReady)
	assert.Equal(t, [2]string{string(metav1.ConditionFalse), session.ReasonSessionConflict}, [2]string{string(ready.Status), ready.Reason})
}

// TestBuildStatusTellsTheLastAuthentication: a refusal of the credentials the cluster side met
// after the session authenticated turns GitHubAuthenticated False; an older one does not.
func TestBuildStatusTellsTheLastAuthentication(t *testing.T) {
	at := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	d := session.Demand{Conditions: []metav1.Condition{condition(v1alpha1.ConditionGitHubAuthenticated, metav1.ConditionTrue, "Authenticated", at)}}
	refused := runners.Result{Unauthorized: &runners.Unauthorized{At: at.Add(time.Minute), Err: errors.New("401")}}
	st := BuildStatus(testRunnerSet(), d, refused, metav1.NewTime(at.Add(2*time.Minute)))
	c := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionGitHubAuthenticated)
	assert.Equal(t, session.ReasonUnauthorized, c.Reason)

	refused.Unauthorized.At = at.Add(-time.Minute)
	st = BuildStatus(testRunnerSet(), d, refused, metav1.NewTime(at.Add(2*time.Minute)))
	assert.True(t, meta.IsStatusConditionTrue(st.Conditions, v1alpha1.ConditionGitHubAuthenticated), "the session authenticated since")
}

// TestReadyWhileRateLimited: RateLimited is healthy while not True (absent included); while True,
// Ready is False and says why.
func TestReadyWhileRateLimited(t *testing.T) {
	at := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	healthy := []metav1.Condition{
		condition(v1alpha1.ConditionGitHubAuthenticated, metav1.ConditionTrue, "Authenticated", at),
		condition(v1alpha1.ConditionScaleSetRegistered, metav1.ConditionTrue, session.ReasonRegistered, at),
		condition(v1alpha1.ConditionSessionActive, metav1.ConditionTrue, session.ReasonSessionOpen, at),
	}
	for _, tc := range []struct {
		status metav1.ConditionStatus // "": no RateLimited condition
		ready  metav1.ConditionStatus
		reason string
	}{
		{"", metav1.ConditionTrue, "Listening"},
		{metav1.ConditionFalse, metav1.ConditionTrue, "Listening"},
		{metav1.ConditionTrue, metav1.ConditionFalse, session.ReasonRateLimited},
	} {
		conds := append([]metav1.Condition(nil), healthy...)
		if tc.status != "" {
			reason := session.ReasonNotRateLimited
			if tc.status == metav1.ConditionTrue {
				reason = session.ReasonRateLimited
			}
			conds = append(conds, condition(v1alpha1.ConditionRateLimited, tc.status, reason, at))
		}
		st := BuildStatus(testRunnerSet(), session.Demand{Conditions: conds}, runners.Result{}, metav1.NewTime(at))
		ready := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionReady)
		assert.Equal(t, [2]string{string(tc.ready), tc.reason}, [2]string{string(ready.Status), ready.Reason}, "RateLimited %q", tc.status)
	}
}
