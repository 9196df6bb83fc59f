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
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/contract"
	"actions.dev/runnerset-apiserver/pkg/scaler/capacity"
	"actions.dev/runnerset-apiserver/pkg/scaler/session"
	"actions.dev/runnerset-apiserver/pkg/schedule"
)

// Limits of a RunnerSet's capacity (the Saturated condition's reasons besides the session's
// ThrottledScaleUpRate and ThrottledJITBudget).
const (
	LimitMaxRunners = "MaxRunners"
	LimitQuota      = "Quota"
	LimitNoNodes    = "NoNodes"
)

// bounds are what a RunnerSet may do now, derived each pass from its spec, its schedules, the
// clock and the cluster: the worker is their one owner.
type bounds struct {
	// min and max are minRunners and maxRunners with the open window's applied.
	min, max *int32
	// schedule is the status of the schedules; nil without any.
	schedule *v1alpha1.ScheduleStatus
	// next is when a window opens or closes next; zero without schedules.
	next time.Time
	// capacity is how many jobs the scale set may hold at once, limit what bounds it and
	// message why.
	capacity       int
	limit, message string
}

// effective is rs with the bounds' minRunners and maxRunners: what the runners are scaled to.
func (b bounds) effective(rs *v1alpha1.RunnerSet) *v1alpha1.RunnerSet {
	out := *rs
	out.Spec.MinRunners, out.Spec.MaxRunners = b.min, b.max
	return &out
}

// bounds works out the bounds of rs at now.
func (w *worker) bounds(rs *v1alpha1.RunnerSet, now time.Time) bounds {
	b := w.scheduled(rs, now)
	b.capacity, b.limit = session.MaxCapacity(b.max), LimitMaxRunners
	if b.max != nil {
		b.message = fmt.Sprintf("maxRunners is %d", *b.max)
	}
	pods, err := w.m.pods.Pods(rs.Namespace).List(labels.SelectorFromSet(contract.RunnerLabels(rs.Name)))
	if err != nil {
		return b
	}
	w.quotaBound(&b, rs, pods, now)
	if rs.Spec.Capacity != nil && rs.Spec.Capacity.WaitForNodes {
		nodesBound(&b, pods)
	}
	return b
}

// scheduled applies the first open schedule window: its minRunners is a floor under the spec's
// (which kubectl scale and autoscalers set), its maxRunners replaces the spec's.
func (w *worker) scheduled(rs *v1alpha1.RunnerSet, now time.Time) bounds {
	b := bounds{min: rs.Spec.MinRunners, max: rs.Spec.MaxRunners}
	if len(rs.Spec.Schedules) == 0 {
		return b
	}
	windows, index := w.windowsOf(rs)
	st := schedule.At(windows, now)
	b.schedule, b.next = &v1alpha1.ScheduleStatus{}, st.Next
	if st.Active >= 0 {
		sc := rs.Spec.Schedules[index[st.Active]]
		b.schedule.Active = sc.Name
		if sc.MinRunners != nil && (b.min == nil || *sc.MinRunners > *b.min) {
			b.min = sc.MinRunners
		}
		if sc.MaxRunners != nil {
			b.max = sc.MaxRunners
		}
	}
	if b.min != nil && b.max != nil && *b.min > *b.max {
		b.min = b.max
	}
	b.schedule.MinRunners, b.schedule.MaxRunners = ptr.To(ptr.Deref(b.min, 0)), b.max
	if !st.Next.IsZero() {
		b.schedule.NextChange = ptr.To(metav1.NewTime(st.Next))
		b.schedule.NextWindow = rs.Spec.Schedules[index[st.NextWindow]].Name
	}
	return b
}

// windowsOf parses rs's schedules once per generation, and says which schedule each window is.
// A schedule that does not parse (validation refuses them; a time zone may leave the database)
// never opens.
func (w *worker) windowsOf(rs *v1alpha1.RunnerSet) ([]schedule.Window, []int) {
	if w.windows.generation == rs.Generation && w.windows.parsed != nil {
		return w.windows.parsed, w.windows.index
	}
	parsed, index := []schedule.Window{}, []int{}
	for i, sc := range rs.Spec.Schedules {
		win, err := parseWindow(sc)
		if err != nil {
			klog.InfoS("Ignoring a schedule that does not parse", "runnerSet", klog.KObj(rs), "schedule", sc.Name, "err", err)
			continue
		}
		parsed, index = append(parsed, win), append(index, i)
	}
	w.windows.generation, w.windows.parsed, w.windows.index = rs.Generation, parsed, index
	return parsed, index
}

func parseWindow(sc v1alpha1.RunnerSetSchedule) (schedule.Window, error) {
	days, _, err := schedule.ParseDays(sc.Days)
	if err != nil {
		return schedule.Window{}, err
	}
	start, err := schedule.ParseClock(sc.Start)
	if err != nil {
		return schedule.Window{}, err
	}
	end, err := schedule.ParseClock(sc.End)
	if err != nil {
		return schedule.Window{}, err
	}
	loc, err := schedule.LoadLocation(sc.TimeZone)
	if err != nil {
		return schedule.Window{}, err
	}
	return schedule.Window{Name: sc.Name, Days: days, Start: start, End: end, Location: loc}, nil
}

// quotaBound lowers the capacity to the runner pods the namespace's ResourceQuotas count now
// plus those they leave room for: a job acquired beyond would wait for a pod the quota refuses,
// while another cluster could run it.
func (w *worker) quotaBound(b *bounds, rs *v1alpha1.RunnerSet, pods []*corev1.Pod, now time.Time) {
	quotas, err := w.m.quotas.ResourceQuotas(rs.Namespace).List(labels.Everything())
	if err != nil || len(quotas) == 0 {
		return
	}
	probe := contract.Pod(contract.Params{RunnerSet: b.effective(rs), Name: rs.Name + "-capacity"})
	room, limit := capacity.QuotaRoom(probe, quotas)
	if limit == nil {
		return
	}
	counted := 0
	for _, p := range pods {
		// count/pods counts every stored pod, finished ones too.
		if limit.Resource == "count/pods" || capacity.CountsAgainstQuota(p, now) {
			counted++
		}
	}
	if c := min(counted+room, math.MaxInt32); c < b.capacity {
		b.capacity, b.limit = c, LimitQuota
		b.message = fmt.Sprintf("%d runner pods exist; %s", counted, limit.Message)
	}
}

// nodesBound holds the capacity at the runners placed while one of them cannot be placed.
func nodesBound(b *bounds, pods []*corev1.Pod) {
	placed, unschedulable := 0, 0
	for _, p := range pods {
		switch {
		case p.DeletionTimestamp != nil || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed:
		case p.Spec.NodeName != "":
			placed++
		default:
			if _, ok := contract.Unschedulable(p); ok {
				unschedulable++
			}
		}
	}
	if unschedulable > 0 && placed < b.capacity {
		b.capacity, b.limit = placed, LimitNoNodes
		b.message = fmt.Sprintf("%d runner pods cannot be placed on any node; holding at the %d placed", unschedulable, placed)
	}
}
