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
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/record"
	"k8s.io/component-base/metrics/legacyregistry"
	"k8s.io/component-base/metrics/testutil"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/github/actions"
	"actions.dev/runnerset-apiserver/pkg/scaler/metrics"
	"actions.dev/runnerset-apiserver/pkg/scaler/session"
)

// holding is a Demand whose statistics say the scale set holds assigned+acquired jobs.
func holding(assigned, acquired int) session.Demand {
	return session.Demand{Stats: &actions.Statistics{TotalAssignedJobs: assigned, TotalAcquiredJobs: acquired}}
}

func throttled(d session.Demand, reason string, offers int) session.Demand {
	d.Throttled, d.Offers = reason, offers
	return d
}

var quota4 = bounds{capacity: 4, limit: LimitQuota, message: "quota q"}

// TestSaturated: True with the limit as reason once the jobs held reach the capacity, or with the
// rate's while a rate holds offers back; False BelowCapacity otherwise; nothing without
// statistics.
func TestSaturated(t *testing.T) {
	unbounded := bounds{capacity: math.MaxInt32, limit: LimitMaxRunners}
	for _, tc := range []struct {
		name    string
		b       bounds
		d       session.Demand
		status  metav1.ConditionStatus
		reason  string
		message string
	}{
		{"held reach the capacity", quota4, holding(2, 2), metav1.ConditionTrue, LimitQuota,
			"4 jobs held, the capacity (4: quota q); further jobs stay queued on GitHub for other scale sets with the same labels"},
		{"held beyond the capacity", quota4, holding(5, 0), metav1.ConditionTrue, LimitQuota,
			"5 jobs held, the capacity (4: quota q); further jobs stay queued on GitHub for other scale sets with the same labels"},
		{"below", quota4, holding(1, 2), metav1.ConditionFalse, ReasonBelowCapacity, "taking jobs: 4: quota q"},
		{"no nodes, nothing held", bounds{capacity: 0, limit: LimitNoNodes, message: "none placed"}, holding(0, 0), metav1.ConditionTrue, LimitNoNodes,
			"0 jobs held, the capacity (0: none placed); further jobs stay queued on GitHub for other scale sets with the same labels"},
		{"unbounded never", unbounded, holding(math.MaxInt32, 5), metav1.ConditionFalse, ReasonBelowCapacity, "taking jobs: no maximum"},
		{"scale-up rate", quota4, throttled(holding(1, 0), session.ThrottledScaleUpRate, 2), metav1.ConditionTrue, session.ThrottledScaleUpRate,
			"2 jobs offered wait for the RunnerSet's scaleUp rate; they stay queued on GitHub for other scale sets meanwhile"},
		{"JIT budget", unbounded, throttled(holding(1, 0), session.ThrottledJITBudget, 1), metav1.ConditionTrue, session.ThrottledJITBudget,
			"1 jobs offered wait for the server's budget of runner registrations; they stay queued on GitHub for other scale sets meanwhile"},
		{"throttled without offers", quota4, throttled(holding(1, 0), session.ThrottledScaleUpRate, 0), metav1.ConditionFalse, ReasonBelowCapacity, "taking jobs: 4: quota q"},
		{"the capacity before the rate", quota4, throttled(holding(4, 0), session.ThrottledScaleUpRate, 3), metav1.ConditionTrue, LimitQuota,
			"4 jobs held, the capacity (4: quota q); further jobs stay queued on GitHub for other scale sets with the same labels"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := saturated(tc.b, tc.d)
			require.NotNil(t, c)
			assert.Equal(t, v1alpha1.ConditionSaturated, c.Type)
			assert.Equal(t, [3]string{string(tc.status), tc.reason, tc.message}, [3]string{string(c.Status), c.Reason, c.Message})
			want := ""
			if tc.status == metav1.ConditionTrue {
				want = tc.reason
			}
			assert.Equal(t, want, saturation(tc.b, tc.d), "saturation")
		})
	}
	assert.Nil(t, saturated(quota4, session.Demand{}), "no statistics: no condition")
	assert.Equal(t, "", saturation(quota4, throttled(session.Demand{}, session.ThrottledScaleUpRate, 3)), "no statistics: not saturated")
}

// TestApplyBounds: the status tells the capacity (nil when unbounded), the schedules and
// Saturated of the generation; without statistics Saturated is left as it was.
func TestApplyBounds(t *testing.T) {
	sched := &v1alpha1.ScheduleStatus{Active: "business", MinRunners: i32(5), MaxRunners: i32(20)}
	st := v1alpha1.RunnerSetStatus{Capacity: i32(9), Schedule: sched}
	b := quota4
	applyBounds(&st, b, holding(4, 0), 3)
	assert.Equal(t, "4", ptrText(st.Capacity))
	assert.Nil(t, st.Schedule, "no schedules")
	c := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionSaturated)
	require.NotNil(t, c)
	assert.Equal(t, [3]any{metav1.ConditionTrue, LimitQuota, int64(3)}, [3]any{c.Status, c.Reason, c.ObservedGeneration})

	b.capacity, b.schedule = math.MaxInt32, sched
	applyBounds(&st, b, holding(4, 0), 4)
	assert.Nil(t, st.Capacity, "unbounded")
	assert.Same(t, sched, st.Schedule)
	c = meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionSaturated)
	assert.Equal(t, [3]any{metav1.ConditionFalse, ReasonBelowCapacity, int64(4)}, [3]any{c.Status, c.Reason, c.ObservedGeneration})

	applyBounds(&st, quota4, session.Demand{}, 5)
	assert.Equal(t, "4", ptrText(st.Capacity))
	require.Len(t, st.Conditions, 1)
	assert.Equal(t, [2]any{ReasonBelowCapacity, int64(4)}, [2]any{st.Conditions[0].Reason, st.Conditions[0].ObservedGeneration}, "no statistics: left as it was")
}

// drainEvents is every event recorded so far, in order.
func drainEvents(r *record.FakeRecorder) []string {
	var out []string
	for {
		select {
		case e := <-r.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

const (
	opened = `Normal ScheduleWindowOpened Schedule window "business" opened: minRunners 5, maxRunners 20`
	closed = `Normal ScheduleWindowClosed Schedule window "business" closed: minRunners 1, maxRunners 20`
)

// TestNoteWindow: an event when a window opens or closes, none while it stays as it was; the
// first pass takes the window the status shows (a new leader), not none.
func TestNoteWindow(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status string // status.schedule.active before the first pass ("": no schedule status)
		passes []time.Time
		want   []string
	}{
		{"taken over while open", "business", []time.Time{monday9, berlinAt(7, 10)}, nil},
		{"taken over while closed", "", []time.Time{saturday9}, nil},
		{"opens on the first pass", "", []time.Time{monday9, berlinAt(7, 10)}, []string{opened}},
		{"closed while no one led", "business", []time.Time{saturday9}, []string{closed}},
		{"opens and closes", "", []time.Time{berlinAt(7, 7), berlinAt(7, 8), berlinAt(7, 17), berlinAt(7, 18), berlinAt(7, 19)}, []string{opened, closed}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs := boundsRunnerSet(i32(1), i32(20), business(i32(5), nil))
			if tc.status != "" {
				rs.Status.Schedule = &v1alpha1.ScheduleStatus{Active: tc.status}
			}
			w, events := boundsWorker(t, rs)
			for _, now := range tc.passes {
				w.noteWindow(rs, w.scheduled(rs, now))
			}
			assert.Equal(t, tc.want, drainEvents(events))
		})
	}
}

// TestNoteWindowHandsOver: a window closing as another opens tells both; schedules removed close
// the open window.
func TestNoteWindowHandsOver(t *testing.T) {
	evening := v1alpha1.RunnerSetSchedule{Name: "evening", Start: "18:00", End: "22:00", TimeZone: "Europe/Berlin", MinRunners: i32(2)}
	rs := boundsRunnerSet(i32(1), i32(20), business(i32(5), nil), evening)
	w, events := boundsWorker(t, rs)
	w.noteWindow(rs, w.scheduled(rs, berlinAt(7, 17)))
	w.noteWindow(rs, w.scheduled(rs, berlinAt(7, 18)))
	assert.Equal(t, []string{opened,
		`Normal ScheduleWindowClosed Schedule window "business" closed: minRunners 2, maxRunners 20`,
		`Normal ScheduleWindowOpened Schedule window "evening" opened: minRunners 2, maxRunners 20`,
	}, drainEvents(events))

	next := boundsRunnerSet(i32(1), nil)
	next.Generation = rs.Generation + 1
	w.noteWindow(next, w.scheduled(next, berlinAt(7, 19)))
	assert.Equal(t, []string{`Normal ScheduleWindowClosed Schedule window "evening" closed: minRunners 1, maxRunners unbounded`}, drainEvents(events))
}

// saturatedSeconds reads runnerset_saturated_seconds_total of namespace/name by reason.
func saturatedSeconds(t *testing.T, namespace, name string) map[string]float64 {
	t.Helper()
	got, err := testutil.GetCounterValuesFromGatherer(legacyregistry.DefaultGatherer, "runnerset_saturated_seconds_total",
		map[string]string{"namespace": namespace, "name": name}, "reason")
	require.NoError(t, err)
	return got
}

// TestCountSaturation: the time from a pass to the next is added to the limit that held the
// RunnerSet at the first; time not saturated is not counted.
func TestCountSaturation(t *testing.T) {
	rs := boundsRunnerSet(i32(1), i32(20))
	rs.Namespace, rs.Name = "count-saturation", "rs-counted"
	w, _ := boundsWorker(t, rs)
	// The counter is the process's: start from none, and leave none (go test -count=N).
	metrics.Forget(rs)
	t.Cleanup(func() { metrics.Forget(rs) })
	w.countSaturation(LimitQuota, monday9)
	w.countSaturation(LimitQuota, monday9.Add(30*time.Second))
	w.countSaturation(LimitQuota, monday9.Add(45*time.Second))
	w.countSaturation("", monday9.Add(50*time.Second))
	w.countSaturation(LimitNoNodes, monday9.Add(80*time.Second))
	w.countSaturation(session.ThrottledScaleUpRate, monday9.Add(82*time.Second))
	w.countSaturation("", monday9.Add(90*time.Second))
	w.countSaturation("", monday9.Add(200*time.Second))
	assert.Equal(t, map[string]float64{LimitQuota: 50, LimitNoNodes: 2, session.ThrottledScaleUpRate: 8}, saturatedSeconds(t, rs.Namespace, rs.Name))
}
