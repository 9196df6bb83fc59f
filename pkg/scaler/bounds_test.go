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
	"testing"
	"time"
	_ "time/tzdata" // Europe/Berlin, on a machine without a zone database

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	kubefake "k8s.io/client-go/kubernetes/fake"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	clocktesting "k8s.io/utils/clock/testing"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/generated/clientset/versioned/fake"
)

var berlin = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		panic(err)
	}
	return loc
}()

// berlinAt is an instant on Berlin's wall clock, December 2026: the 7th is a Monday, the 12th a
// Saturday.
func berlinAt(day, hour int) time.Time {
	return time.Date(2026, time.December, day, hour, 0, 0, 0, berlin)
}

var (
	monday9   = berlinAt(7, 9)
	saturday9 = berlinAt(12, 9)
)

func i32(n int32) *int32 { return &n }

// business is open Mon-Fri 08:00-18:00 in Berlin.
func business(min, max *int32) v1alpha1.RunnerSetSchedule {
	return v1alpha1.RunnerSetSchedule{Name: "business", Days: []string{"Mon", "Tue", "Wed", "Thu", "Fri"}, Start: "08:00", End: "18:00",
		TimeZone: "Europe/Berlin", MinRunners: min, MaxRunners: max}
}

// morning is open on Mondays 07:00-12:00 in Berlin: it overlaps business.
func morning(min int32) v1alpha1.RunnerSetSchedule {
	return v1alpha1.RunnerSetSchedule{Name: "morning", Days: []string{"Mon"}, Start: "07:00", End: "12:00", TimeZone: "Europe/Berlin", MinRunners: &min}
}

// martian would be open all day every day, but its time zone does not load.
func martian() v1alpha1.RunnerSetSchedule {
	return v1alpha1.RunnerSetSchedule{Name: "martian", Start: "00:00", End: "00:00", TimeZone: "Mars/Olympus_Mons", MinRunners: i32(9)}
}

// boundsRunnerSet is testRunnerSet with the given bounds and schedules.
func boundsRunnerSet(min, max *int32, schedules ...v1alpha1.RunnerSetSchedule) *v1alpha1.RunnerSet {
	rs := testRunnerSet()
	rs.Spec.MinRunners, rs.Spec.MaxRunners, rs.Spec.Schedules = min, max, schedules
	return rs
}

// boundsWorker is a worker of rs whose Manager's caches hold objs (pods and ResourceQuotas),
// its events going to the recorder returned.
func boundsWorker(t *testing.T, rs *v1alpha1.RunnerSet, objs ...runtime.Object) (*worker, *record.FakeRecorder) {
	t.Helper()
	events := record.NewFakeRecorder(16)
	cfg := testConfig(fake.NewSimpleClientset(), kubefake.NewClientset(), &fakeGitHub{}, clocktesting.NewFakeClock(monday9))
	cfg.Recorder = events
	m := testManager(t, cfg)
	indexers := cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc}
	pods, quotas := cache.NewIndexer(cache.MetaNamespaceKeyFunc, indexers), cache.NewIndexer(cache.MetaNamespaceKeyFunc, indexers)
	for _, o := range objs {
		switch o := o.(type) {
		case *corev1.Pod:
			require.NoError(t, pods.Add(o))
		case *corev1.ResourceQuota:
			require.NoError(t, quotas.Add(o))
		default:
			t.Fatalf("no cache for %T", o)
		}
	}
	m.pods, m.quotas = corelisters.NewPodLister(pods), corelisters.NewResourceQuotaLister(quotas)
	return newWorker(m, rs), events
}

func ptrText(n *int32) string {
	if n == nil {
		return "nil"
	}
	return fmt.Sprint(*n)
}

// scheduleText is a schedule status in one line, its NextChange on Berlin's wall clock.
func scheduleText(st *v1alpha1.ScheduleStatus) string {
	if st == nil {
		return "none"
	}
	s := fmt.Sprintf("active=%q min=%s max=%s", st.Active, ptrText(st.MinRunners), ptrText(st.MaxRunners))
	if st.NextChange != nil || st.NextWindow != "" {
		next := "nil"
		if st.NextChange != nil {
			next = st.NextChange.In(berlin).Format("Mon Jan 2 15:04 MST")
		}
		s += fmt.Sprintf(" next=%s %q", next, st.NextWindow)
	}
	return s
}

// TestScheduledBounds: an open window's minRunners is a floor under the spec's, its maxRunners
// replaces the spec's and caps the min; a closed window changes nothing.
func TestScheduledBounds(t *testing.T) {
	for _, tc := range []struct {
		name             string
		specMin, specMax *int32
		schedules        []v1alpha1.RunnerSetSchedule
		now              time.Time
		min, max         *int32
	}{
		{"no schedules", i32(1), i32(20), nil, monday9, i32(1), i32(20)},
		{"open: the window's min lifts the spec's", i32(1), i32(20), []v1alpha1.RunnerSetSchedule{business(i32(5), nil)}, monday9, i32(5), i32(20)},
		{"open: a higher spec min stays", i32(7), i32(20), []v1alpha1.RunnerSetSchedule{business(i32(5), nil)}, monday9, i32(7), i32(20)},
		{"open: no spec min", nil, i32(20), []v1alpha1.RunnerSetSchedule{business(i32(5), nil)}, monday9, i32(5), i32(20)},
		{"open: the window's max replaces the spec's and caps the min", i32(1), i32(20), []v1alpha1.RunnerSetSchedule{business(i32(5), i32(3))}, monday9, i32(3), i32(3)},
		{"open: the window's max raises the spec's", i32(1), i32(2), []v1alpha1.RunnerSetSchedule{business(nil, i32(30))}, monday9, i32(1), i32(30)},
		{"open: the spec's max caps the window's min", i32(1), i32(4), []v1alpha1.RunnerSetSchedule{business(i32(5), nil)}, monday9, i32(4), i32(4)},
		{"open: unbounded spec", nil, nil, []v1alpha1.RunnerSetSchedule{business(i32(5), nil)}, monday9, i32(5), nil},
		{"closed on Saturday", i32(1), i32(20), []v1alpha1.RunnerSetSchedule{business(i32(5), i32(3))}, saturday9, i32(1), i32(20)},
		{"closed at 18:00 sharp", i32(1), i32(20), []v1alpha1.RunnerSetSchedule{business(i32(5), i32(3))}, berlinAt(7, 18), i32(1), i32(20)},
		{"open at 08:00 sharp", i32(1), i32(20), []v1alpha1.RunnerSetSchedule{business(i32(5), i32(3))}, berlinAt(7, 8), i32(3), i32(3)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs := boundsRunnerSet(tc.specMin, tc.specMax, tc.schedules...)
			w, _ := boundsWorker(t, rs)
			b := w.scheduled(rs, tc.now)
			assert.Equal(t, [2]string{ptrText(tc.min), ptrText(tc.max)}, [2]string{ptrText(b.min), ptrText(b.max)}, "min, max")
			eff := b.effective(rs)
			assert.Equal(t, [2]string{ptrText(tc.min), ptrText(tc.max)}, [2]string{ptrText(eff.Spec.MinRunners), ptrText(eff.Spec.MaxRunners)}, "effective")
			assert.Equal(t, [2]string{ptrText(tc.specMin), ptrText(tc.specMax)}, [2]string{ptrText(rs.Spec.MinRunners), ptrText(rs.Spec.MaxRunners)}, "rs untouched")
		})
	}
}

// TestScheduledStatus: status.schedule names the open window, the bounds in force, and the next
// change; overlapping windows take the first in the list; a window whose time zone does not
// load never opens, and the others are still named right.
func TestScheduledStatus(t *testing.T) {
	type S = []v1alpha1.RunnerSetSchedule
	for _, tc := range []struct {
		name      string
		schedules S
		now       time.Time
		want      string
	}{
		{"no schedules", nil, monday9, "none"},
		{"open", S{business(i32(5), nil)}, monday9, `active="business" min=5 max=20 next=Mon Dec 7 18:00 CET "business"`},
		{"open with a max", S{business(i32(5), i32(3))}, monday9, `active="business" min=3 max=3 next=Mon Dec 7 18:00 CET "business"`},
		{"closed on Saturday", S{business(i32(5), nil)}, saturday9, `active="" min=1 max=20 next=Mon Dec 14 08:00 CET "business"`},
		{"before opening", S{business(i32(5), nil)}, berlinAt(7, 7), `active="" min=1 max=20 next=Mon Dec 7 08:00 CET "business"`},
		{"overlap: the first applies", S{business(i32(5), nil), morning(9)}, monday9, `active="business" min=5 max=20 next=Mon Dec 7 12:00 CET "morning"`},
		{"overlap, the other order", S{morning(9), business(i32(5), nil)}, monday9, `active="morning" min=9 max=20 next=Mon Dec 7 12:00 CET "morning"`},
		{"bad time zone ignored, open", S{martian(), business(i32(5), nil)}, monday9, `active="business" min=5 max=20 next=Mon Dec 7 18:00 CET "business"`},
		{"bad time zone ignored, closed", S{martian(), business(i32(5), nil)}, saturday9, `active="" min=1 max=20 next=Mon Dec 14 08:00 CET "business"`},
		{"only a bad time zone", S{martian()}, monday9, `active="" min=1 max=20`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs := boundsRunnerSet(i32(1), i32(20), tc.schedules...)
			w, _ := boundsWorker(t, rs)
			b := w.scheduled(rs, tc.now)
			assert.Equal(t, tc.want, scheduleText(b.schedule))
			if b.schedule != nil && b.schedule.NextChange != nil {
				assert.True(t, b.next.Equal(b.schedule.NextChange.Time), "next %s, status %s", b.next, b.schedule.NextChange)
			} else {
				assert.True(t, b.next.IsZero(), "next %s", b.next)
			}
			// A second pass of the same generation reads the parsed windows again.
			assert.Equal(t, tc.want, scheduleText(w.scheduled(rs, tc.now).schedule), "second pass")
		})
	}
}

// TestScheduledWindowsFollowTheGeneration: the parsed windows are kept for a generation; a new
// generation's schedules are parsed again.
func TestScheduledWindowsFollowTheGeneration(t *testing.T) {
	rs := boundsRunnerSet(i32(1), i32(20), business(i32(5), nil))
	w, _ := boundsWorker(t, rs)
	require.Equal(t, "business", w.scheduled(rs, monday9).schedule.Active)
	next := rs.DeepCopy()
	next.Generation++
	next.Spec.Schedules = []v1alpha1.RunnerSetSchedule{morning(9)}
	st := w.scheduled(next, monday9).schedule
	assert.Equal(t, `active="morning" min=9 max=20 next=Mon Dec 7 12:00 CET "morning"`, scheduleText(st))
}

func runnerPod(name string, mutate ...func(*corev1.Pod)) *corev1.Pod {
	_, p := runnerObjects(name)
	for _, f := range mutate {
		f(p)
	}
	return p
}

func onNode(p *corev1.Pod)    { p.Spec.NodeName = "node-1" }
func succeeded(p *corev1.Pod) { p.Status.Phase = corev1.PodSucceeded }
func unschedulable(p *corev1.Pod) {
	p.Status.Phase = corev1.PodPending
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable}}
}

// deletedAgo marks a pod deleted ago before monday9, with a 30s grace period.
func deletedAgo(ago time.Duration) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.DeletionTimestamp = &metav1.Time{Time: monday9.Add(-ago)}
		p.DeletionGracePeriodSeconds = ptrInt64(30)
	}
}

func ptrInt64(n int64) *int64 { return &n }

// otherPod is a pod of the namespace that is no runner of rs.
func otherPod(name string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns"}, Status: corev1.PodStatus{Phase: corev1.PodRunning}}
}

// quota is a ResourceQuota "q" of namespace with hard and used of one resource.
func quota(namespace string, name corev1.ResourceName, hard, used int64) *corev1.ResourceQuota {
	h := corev1.ResourceList{name: *resource.NewQuantity(hard, resource.DecimalSI)}
	return &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: "q", Namespace: namespace}, Spec: corev1.ResourceQuotaSpec{Hard: h},
		Status: corev1.ResourceQuotaStatus{Hard: h, Used: corev1.ResourceList{name: *resource.NewQuantity(used, resource.DecimalSI)}}}
}

type capacityCase struct {
	name    string
	rs      *v1alpha1.RunnerSet
	objs    []runtime.Object
	want    int
	limit   string
	message string
}

func runCapacityCases(t *testing.T, cases []capacityCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w, _ := boundsWorker(t, tc.rs, tc.objs...)
			b := w.bounds(tc.rs, monday9)
			assert.Equal(t, tc.want, b.capacity, "capacity")
			assert.Equal(t, tc.limit, b.limit, "limit")
			assert.Equal(t, tc.message, b.message, "message")
		})
	}
}

type objs = []runtime.Object

// TestBoundsQuota: the capacity is the least of maxRunners and the runner pods the quota counts
// plus the room it leaves.
func TestBoundsQuota(t *testing.T) {
	const room2 = `ResourceQuota "q" has room for 2 more runner pods (pods: used 3, hard 5, a runner pod counts 1)`
	rs := boundsRunnerSet(nil, i32(20))
	runCapacityCases(t, []capacityCase{
		{"quota limits", rs, objs{quota("ns", "pods", 5, 3), runnerPod("a"), runnerPod("b"), otherPod("x")}, 4, LimitQuota, "2 runner pods exist; " + room2},
		{"quota full", rs, objs{quota("ns", "pods", 3, 3), runnerPod("a"), runnerPod("b"), otherPod("x")}, 2, LimitQuota,
			`2 runner pods exist; ResourceQuota "q" is full for runner pods (pods: used 3, hard 3, a runner pod counts 1)`},
		{"quota roomier than maxRunners", rs, objs{quota("ns", "pods", 50, 3), runnerPod("a"), runnerPod("b")}, 20, LimitMaxRunners, "maxRunners is 20"},
		{"quota room equal to maxRunners", boundsRunnerSet(nil, i32(4)), objs{quota("ns", "pods", 5, 3), runnerPod("a"), runnerPod("b")}, 4, LimitMaxRunners, "maxRunners is 4"},
		{"no quota", rs, objs{runnerPod("a")}, 20, LimitMaxRunners, "maxRunners is 20"},
		{"no quota, no maxRunners", boundsRunnerSet(nil, nil), objs{runnerPod("a")}, math.MaxInt32, LimitMaxRunners, ""},
		{"quota, no maxRunners", boundsRunnerSet(nil, nil), objs{quota("ns", "pods", 5, 3), runnerPod("a"), runnerPod("b")}, 4, LimitQuota, "2 runner pods exist; " + room2},
		{"a quota of another namespace", rs, objs{quota("other", "pods", 0, 0), runnerPod("a")}, 20, LimitMaxRunners, "maxRunners is 20"},
		{"finished pods do not count", rs, objs{quota("ns", "pods", 5, 3), runnerPod("a"), runnerPod("b"), runnerPod("done", succeeded)}, 4, LimitQuota, "2 runner pods exist; " + room2},
		{"count/pods counts finished pods", rs, objs{quota("ns", "count/pods", 5, 3), runnerPod("a"), runnerPod("b"), runnerPod("done", succeeded)}, 5, LimitQuota,
			`3 runner pods exist; ResourceQuota "q" has room for 2 more runner pods (count/pods: used 3, hard 5, a runner pod counts 1)`},
		{"a pod past its deletion grace does not count", rs, objs{quota("ns", "pods", 5, 3), runnerPod("a"), runnerPod("b"), runnerPod("gone", deletedAgo(time.Minute))}, 4, LimitQuota,
			"2 runner pods exist; " + room2},
		{"a pod within its deletion grace counts", rs, objs{quota("ns", "pods", 5, 3), runnerPod("a"), runnerPod("b"), runnerPod("going", deletedAgo(10*time.Second))}, 5, LimitQuota,
			"3 runner pods exist; " + room2},
	})
}

// TestBoundsQuotaUnderAWindow: an open window's maxRunners is the max the quota is weighed
// against.
func TestBoundsQuotaUnderAWindow(t *testing.T) {
	runCapacityCases(t, []capacityCase{
		{"window max below the quota", boundsRunnerSet(i32(1), i32(20), business(nil, i32(3))), objs{quota("ns", "pods", 50, 3)}, 3, LimitMaxRunners, "maxRunners is 3"},
		{"window max above the quota", boundsRunnerSet(i32(1), i32(2), business(nil, i32(30))), objs{quota("ns", "pods", 5, 3), runnerPod("a"), runnerPod("b")}, 4, LimitQuota,
			`2 runner pods exist; ResourceQuota "q" has room for 2 more runner pods (pods: used 3, hard 5, a runner pod counts 1)`},
	})
}

// TestBoundsNodes: with capacity.waitForNodes, a runner pod no node takes holds the capacity at
// the pods placed.
func TestBoundsNodes(t *testing.T) {
	waiting := func(max int32) *v1alpha1.RunnerSet {
		rs := boundsRunnerSet(nil, &max)
		rs.Spec.Capacity = &v1alpha1.CapacityPolicy{WaitForNodes: true}
		return rs
	}
	placed := func(extra ...runtime.Object) objs {
		return append(objs{runnerPod("a", onNode), runnerPod("b", onNode), runnerPod("c", onNode)}, extra...)
	}
	const noNodes = "1 runner pods cannot be placed on any node; holding at the 3 placed"
	runCapacityCases(t, []capacityCase{
		{"one unschedulable", waiting(20), placed(runnerPod("d", unschedulable)), 3, LimitNoNodes, noNodes},
		{"none unschedulable", waiting(20), placed(runnerPod("d")), 20, LimitMaxRunners, "maxRunners is 20"},
		{"waitForNodes off", boundsRunnerSet(nil, i32(20)), placed(runnerPod("d", unschedulable)), 20, LimitMaxRunners, "maxRunners is 20"},
		{"finished pods are not placed", waiting(20), placed(runnerPod("d", unschedulable), runnerPod("done", onNode, succeeded)), 3, LimitNoNodes, noNodes},
		{"deleting pods are not placed", waiting(20), placed(runnerPod("d", unschedulable), runnerPod("going", onNode, deletedAgo(0))), 3, LimitNoNodes, noNodes},
		{"maxRunners already lower", waiting(2), placed(runnerPod("d", unschedulable)), 2, LimitMaxRunners, "maxRunners is 2"},
		{"below the quota", waiting(20), placed(runnerPod("d", unschedulable), quota("ns", "pods", 4, 4)), 3, LimitNoNodes, noNodes},
		{"other pods do not count", waiting(20), placed(func() *corev1.Pod { p := otherPod("x"); unschedulable(p); return p }()), 20, LimitMaxRunners, "maxRunners is 20"},
	})
}
