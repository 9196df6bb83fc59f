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
	"time"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/scaler/metrics"
	"actions.dev/runnerset-apiserver/pkg/scaler/runners"
	"actions.dev/runnerset-apiserver/pkg/scaler/session"
)

// statusCoalesce is how long a change of a RunnerSet's status waits before it is written,
// together with whatever else changed meanwhile, and the least time between two writes. A job's
// acquisition, its assignment, its runner's pod going Running, the job starting and ending are
// each a change; in a burst they were 60% of the server's requests to the kube-apiserver. Written
// at once, the first change of a job (its acquisition) also went to the kube-apiserver just before
// the job's runner, through the aggregation layer and the RunnerSet's storage, and delayed it;
// written a second later, it goes after the runner, with the job's next changes. Every change is
// written, at most this late (later only while writes fail).
const statusCoalesce = time.Second

// statusWriter is the one writer of a RunnerSet's status.
type statusWriter struct {
	written time.Time
	// changed is when the first change not written yet was seen; zero when none waits.
	changed time.Time
}

// write writes the status when it differs from what is stored and the difference has waited
// statusCoalesce. It returns how long to wait before writing it, or 0.
func (sw *statusWriter) write(ctx context.Context, w *worker, orig *v1alpha1.RunnerSet, d session.Demand, res runners.Result, recent []v1alpha1.RecentJob, b bounds) time.Duration {
	rs := orig.DeepCopy()
	now := w.m.cfg.Clock.Now()
	st := BuildStatus(rs, d, res, metav1.NewTime(now.Truncate(time.Second)))
	if recent != nil {
		st.RecentJobs = recent
	}
	applyBounds(&st, b, d, rs.Generation)
	metrics.Capacity(rs.Namespace, rs.Name, b.limit, b.capacity)
	metrics.RecordConditions(rs, st.Conditions)
	if apiequality.Semantic.DeepEqual(st, rs.Status) {
		sw.changed = time.Time{}
		return 0
	}
	if sw.changed.IsZero() {
		sw.changed = now
	}
	if wait := max(statusCoalesce-now.Sub(sw.written), statusCoalesce-now.Sub(sw.changed)); wait > 0 {
		return wait
	}
	sw.written, sw.changed = now, time.Time{}
	rs.Status = st
	updated, err := w.m.cfg.Client.ActionsV1alpha1().RunnerSets(rs.Namespace).UpdateStatus(ctx, rs, metav1.UpdateOptions{})
	switch {
	case err == nil:
		// The next write starts from this version, unless the informer brought a newer one
		// meanwhile: a write from an older one would only meet a conflict.
		w.rs.CompareAndSwap(orig, updated)
	case apierrors.IsNotFound(err):
	case apierrors.IsConflict(err):
		// A newer object is on its way through the informer; the next reconcile writes again.
		w.kick()
	default:
		klog.FromContext(ctx).Error(err, "Writing status failed")
	}
	return 0
}

// BuildStatus is the status of rs from what GitHub said (d) and what the cluster side found
// (res). The GitHub conditions are the session's, the runner conditions the cluster side's, and
// Ready summarizes them; a refusal of the credentials the cluster side met since the session's
// last word on them turns GitHubAuthenticated False, so it tells the last authentication's result.
func BuildStatus(rs *v1alpha1.RunnerSet, d session.Demand, res runners.Result, now metav1.Time) v1alpha1.RunnerSetStatus {
	st := *rs.Status.DeepCopy()
	st.ObservedGeneration = rs.Generation
	st.ScaleSetID, st.RunnerGroupID, st.SessionID = int64(d.ScaleSetID), int64(d.RunnerGroupID), d.SessionID
	st.DesiredRunners, st.CurrentRunners = int32(res.Desired), int32(res.Current)
	st.PendingRunners, st.IdleRunners, st.BusyRunners, st.FailedRunners = int32(res.Counts.Pending), int32(res.Counts.Idle), int32(res.Counts.Busy), int32(res.Counts.Failed)
	if d.Stats != nil {
		st.AvailableJobs, st.AssignedJobs, st.RunningJobs = int32(d.Stats.TotalAvailableJobs), int32(d.Stats.TotalAssignedJobs), int32(d.Stats.TotalRunningJobs)
	}
	st.LastMessageTime = d.LastMessage
	st.GitHubOnlyRunners = append([]v1alpha1.GitHubRunner(nil), res.GitHubOnly...)
	for _, c := range append(append([]metav1.Condition(nil), d.Conditions...), res.Conditions...) {
		c.ObservedGeneration = rs.Generation
		meta.SetStatusCondition(&st.Conditions, c) // keeps the stored transition time if unchanged
	}
	if u := res.Unauthorized; u != nil {
		if c := meta.FindStatusCondition(d.Conditions, v1alpha1.ConditionGitHubAuthenticated); c == nil || c.LastTransitionTime.Time.Before(u.At) {
			meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: v1alpha1.ConditionGitHubAuthenticated, Status: metav1.ConditionFalse,
				Reason: session.AuthReason(u.Err), Message: "GitHub refused the credentials in " + rs.Spec.GitHubConfigSecret + ": " + u.Err.Error(),
				ObservedGeneration: rs.Generation, LastTransitionTime: now})
		}
	}
	setReady(&st, now)
	return st
}

// setReady derives Ready from the conditions it summarizes.
func setReady(st *v1alpha1.RunnerSetStatus, now metav1.Time) {
	for _, t := range session.Conditions {
		c := meta.FindStatusCondition(st.Conditions, t)
		if !session.Healthy(t, c) {
			reason, msg := "Pending", "waiting for "+t
			if c != nil {
				reason, msg = c.Reason, c.Message
			}
			meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: v1alpha1.ConditionReady, Status: metav1.ConditionFalse, Reason: reason, Message: msg,
				ObservedGeneration: st.ObservedGeneration, LastTransitionTime: now})
			return
		}
	}
	meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: v1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: "Listening",
		Message: "registered on GitHub and listening for jobs", ObservedGeneration: st.ObservedGeneration, LastTransitionTime: now})
}
