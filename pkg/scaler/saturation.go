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
	"fmt"
	"math"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/scaler/metrics"
	"actions.dev/runnerset-apiserver/pkg/scaler/session"
)

// ReasonBelowCapacity is Saturated's reason while the RunnerSet takes jobs.
const ReasonBelowCapacity = "BelowCapacity"

// saturated is the Saturated condition of a RunnerSet bounded by b, as the session d reports.
// It is True while the jobs the scale set holds reach the capacity (reason: the limit), or while
// a rate holds jobs offered back (ScaleUpRate, JITBudget); the jobs beyond stay queued on GitHub.
// nil until the session has statistics.
func saturated(b bounds, d session.Demand) *metav1.Condition {
	if d.Stats == nil {
		return nil
	}
	held := d.Stats.TotalAssignedJobs + d.Stats.TotalAcquiredJobs
	c := metav1.Condition{Type: v1alpha1.ConditionSaturated, Status: metav1.ConditionFalse, Reason: ReasonBelowCapacity,
		Message: "taking jobs: " + capacityText(b)}
	switch {
	case b.capacity < math.MaxInt32 && held >= b.capacity:
		c.Status, c.Reason = metav1.ConditionTrue, b.limit
		c.Message = fmt.Sprintf("%d jobs held, the capacity (%s); further jobs stay queued on GitHub for other scale sets with the same labels",
			held, capacityText(b))
	case d.Throttled != "" && d.Offers > 0:
		c.Status, c.Reason = metav1.ConditionTrue, d.Throttled
		c.Message = fmt.Sprintf("%d jobs offered wait for the %s; they stay queued on GitHub for other scale sets meanwhile", d.Offers, rateText(d.Throttled))
	}
	return &c
}

func capacityText(b bounds) string {
	if b.capacity >= math.MaxInt32 {
		return "no maximum"
	}
	return strconv.Itoa(b.capacity) + ": " + b.message
}

func rateText(reason string) string {
	if reason == session.ThrottledJITBudget {
		return "server's budget of runner registrations"
	}
	return "RunnerSet's scaleUp rate"
}

// saturation is the reason of a True Saturated, "" otherwise.
func saturation(b bounds, d session.Demand) string {
	if c := saturated(b, d); c != nil && c.Status == metav1.ConditionTrue {
		return c.Reason
	}
	return ""
}

// countSaturation adds the time since the last pass to the metric of the limit that held the
// RunnerSet then.
func (w *worker) countSaturation(reason string, now time.Time) {
	if prev := w.saturation.reason; prev != "" {
		metrics.Saturated(w.namespace, w.name, prev, now.Sub(w.saturation.mark))
	}
	w.saturation.reason, w.saturation.mark = reason, now
}

// applyBounds writes the capacity, the schedules' state and Saturated into st.
func applyBounds(st *v1alpha1.RunnerSetStatus, b bounds, d session.Demand, generation int64) {
	st.Capacity = nil
	if b.capacity < math.MaxInt32 {
		st.Capacity = ptr.To(int32(b.capacity))
	}
	st.Schedule = b.schedule
	if c := saturated(b, d); c != nil {
		c.ObservedGeneration = generation
		meta.SetStatusCondition(&st.Conditions, *c)
	}
}

// noteWindow tells, with an event, that a schedule window opened or closed. The first pass of
// a worker (a new leader) takes the window the status shows for the one it knew.
func (w *worker) noteWindow(rs *v1alpha1.RunnerSet, b bounds) {
	open := ""
	if b.schedule != nil {
		open = b.schedule.Active
	}
	if w.openWindow == nil {
		known := ""
		if rs.Status.Schedule != nil {
			known = rs.Status.Schedule.Active
		}
		w.openWindow = &known
	}
	if open == *w.openWindow {
		return
	}
	if *w.openWindow != "" {
		w.m.event(rs, corev1.EventTypeNormal, "ScheduleWindowClosed", "Schedule window %q closed: minRunners %d, maxRunners %s",
			*w.openWindow, ptr.Deref(b.min, 0), bound(b.max))
	}
	if open != "" {
		w.m.event(rs, corev1.EventTypeNormal, "ScheduleWindowOpened", "Schedule window %q opened: minRunners %d, maxRunners %s",
			open, ptr.Deref(b.min, 0), bound(b.max))
	}
	w.openWindow = &open
}

func bound(n *int32) string {
	if n == nil {
		return "unbounded"
	}
	return strconv.Itoa(int(*n))
}
