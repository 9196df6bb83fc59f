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

package capacity

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// rl builds a ResourceList from name/quantity pairs.
func rl(pairs ...string) corev1.ResourceList {
	list := corev1.ResourceList{}
	for i := 0; i < len(pairs); i += 2 {
		list[corev1.ResourceName(pairs[i])] = resource.MustParse(pairs[i+1])
	}
	return list
}

// rq is a quota whose status is computed: spec.hard equals status.hard.
func rq(name string, hard, used corev1.ResourceList, mutate ...func(*corev1.ResourceQuota)) *corev1.ResourceQuota {
	q := &corev1.ResourceQuota{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "runners"},
		Spec:       corev1.ResourceQuotaSpec{Hard: hard},
		Status:     corev1.ResourceQuotaStatus{Hard: hard, Used: used},
	}
	for _, m := range mutate {
		m(q)
	}
	return q
}

func scopes(s ...corev1.ResourceQuotaScope) func(*corev1.ResourceQuota) {
	return func(q *corev1.ResourceQuota) { q.Spec.Scopes = s }
}

func scopeSelector(reqs ...corev1.ScopedResourceSelectorRequirement) func(*corev1.ResourceQuota) {
	return func(q *corev1.ResourceQuota) {
		q.Spec.ScopeSelector = &corev1.ScopeSelector{MatchExpressions: reqs}
	}
}

func container(name string, requests, limits corev1.ResourceList) corev1.Container {
	return corev1.Container{Name: name, Resources: corev1.ResourceRequirements{Requests: requests, Limits: limits}}
}

// runnerPod is a runner container plus a restartable (sidecar) dind init container.
func runnerPod(runner, sidecar corev1.ResourceRequirements, mutate ...func(*corev1.Pod)) *corev1.Pod {
	dind := corev1.Container{Name: "dind", Resources: sidecar, RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways)}
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "runner", Namespace: "runners"},
		Spec: corev1.PodSpec{
			InitContainers: []corev1.Container{dind},
			Containers:     []corev1.Container{{Name: "runner", Resources: runner}},
		},
	}
	for _, m := range mutate {
		m(p)
	}
	return p
}

func req(requests, limits corev1.ResourceList) corev1.ResourceRequirements {
	return corev1.ResourceRequirements{Requests: requests, Limits: limits}
}

var (
	halfCPU  = req(rl("cpu", "500m", "memory", "1Gi"), rl("cpu", "1", "memory", "2Gi"))
	noneReq  = corev1.ResourceRequirements{}
	standard = runnerPod(halfCPU, halfCPU)
	empty    = runnerPod(noneReq, noneReq)
)

func TestQuotaRoom(t *testing.T) {
	tests := []struct {
		name     string
		pod      *corev1.Pod
		quotas   []*corev1.ResourceQuota
		room     int
		quota    string
		resource corev1.ResourceName
		message  string
	}{
		{
			name: "no quotas", pod: standard, room: Unbounded,
		},
		{
			name: "pods count", pod: standard,
			quotas: []*corev1.ResourceQuota{rq("team-a", rl("pods", "5"), rl("pods", "2"))},
			room:   3, quota: "team-a", resource: "pods",
		},
		{
			name: "object count/pods", pod: standard,
			quotas: []*corev1.ResourceQuota{rq("team-a", rl("count/pods", "5"), rl("count/pods", "4"))},
			room:   1, quota: "team-a", resource: "count/pods",
			message: `ResourceQuota "team-a" has room for 1 more runner pod (count/pods: used 4, hard 5, a runner pod counts 1)`,
		},
		{
			name: "requests.cpu: runner plus sidecar", pod: standard,
			quotas: []*corev1.ResourceQuota{rq("team-a", rl("requests.cpu", "9"), rl("requests.cpu", "6"))},
			room:   3, quota: "team-a", resource: "requests.cpu",
			message: `ResourceQuota "team-a" has room for 3 more runner pods (requests.cpu: used 6, hard 9, a runner pod requests 1)`,
		},
		{
			name: "a missing request defaults to the limit", pod: runnerPod(req(nil, rl("cpu", "2")), noneReq),
			quotas: []*corev1.ResourceQuota{rq("team-a", rl("requests.cpu", "5"), rl("requests.cpu", "0"))},
			room:   2, quota: "team-a", resource: "requests.cpu",
		},
		{
			name: "bare cpu is requests", pod: standard,
			quotas: []*corev1.ResourceQuota{rq("team-a", rl("cpu", "2500m"), rl("cpu", "0"))},
			room:   2, quota: "team-a", resource: "cpu",
		},
		{
			name: "limits.memory", pod: standard,
			quotas: []*corev1.ResourceQuota{rq("team-a", rl("limits.memory", "20Gi"), rl("limits.memory", "7Gi"))},
			room:   3, quota: "team-a", resource: "limits.memory",
			message: `ResourceQuota "team-a" has room for 3 more runner pods (limits.memory: used 7Gi, hard 20Gi, a runner pod has a limit of 4Gi)`,
		},
		{
			name: "least room across resources of one quota", pod: standard,
			quotas: []*corev1.ResourceQuota{rq("team-a",
				rl("pods", "10", "requests.memory", "8Gi", "limits.cpu", "100"),
				rl("pods", "0", "requests.memory", "4Gi", "limits.cpu", "0"))},
			room: 2, quota: "team-a", resource: "requests.memory",
		},
		{
			name: "two quotas: the tighter wins", pod: standard,
			quotas: []*corev1.ResourceQuota{
				rq("team-a", rl("pods", "10"), rl("pods", "0")),
				rq("team-b", rl("requests.cpu", "4"), rl("requests.cpu", "2")),
			},
			room: 2, quota: "team-b", resource: "requests.cpu",
		},
		{
			name: "tie: first quota by name, then resource name", pod: standard,
			quotas: []*corev1.ResourceQuota{
				rq("zeta", rl("pods", "2"), rl("pods", "0")),
				rq("alpha", rl("requests.cpu", "2", "pods", "2"), rl("requests.cpu", "0", "pods", "0")),
			},
			room: 2, quota: "alpha", resource: "pods",
		},
		{
			name: "untracked resources do not bound", pod: empty,
			quotas: []*corev1.ResourceQuota{rq("team-a",
				rl("services", "1", "configmaps", "1", "persistentvolumeclaims", "1", "requests.cpu", "1"),
				rl("services", "1", "configmaps", "1", "persistentvolumeclaims", "1", "requests.cpu", "1"))},
			room: Unbounded,
		},
		{
			name: "used above hard is full", pod: standard,
			quotas: []*corev1.ResourceQuota{rq("team-a", rl("requests.cpu", "4"), rl("requests.cpu", "5"))},
			room:   0, quota: "team-a", resource: "requests.cpu",
			message: `ResourceQuota "team-a" is full for runner pods (requests.cpu: used 5, hard 4, a runner pod requests 1)`,
		},
		{
			name: "status not computed yet", pod: standard,
			quotas: []*corev1.ResourceQuota{rq("team-a", rl("pods", "5"), nil, func(q *corev1.ResourceQuota) {
				q.Status = corev1.ResourceQuotaStatus{}
			})},
			room: 0, quota: "team-a", resource: "pods",
			message: `ResourceQuota "team-a" has no room for runner pods: its pods usage is not computed yet`,
		},
		{
			name: "used not computed for a tracked resource the pod does not consume", pod: empty,
			quotas: []*corev1.ResourceQuota{rq("team-a", rl("requests.nvidia.com/gpu", "4"), nil)},
			room:   0, quota: "team-a", resource: "requests.nvidia.com/gpu",
		},
		{
			name: "uncomputed non-pod resource does not block", pod: standard,
			quotas: []*corev1.ResourceQuota{rq("team-a", rl("pods", "5", "services", "3"), rl("pods", "1"),
				func(q *corev1.ResourceQuota) { q.Status.Hard = rl("pods", "5") })},
			room: 4, quota: "team-a", resource: "pods",
		},
		{
			name: "init container larger than the containers", pod: func() *corev1.Pod {
				p := runnerPod(halfCPU, halfCPU)
				p.Spec.InitContainers = append(p.Spec.InitContainers, container("setup", rl("cpu", "3"), nil))
				return p
			}(),
			quotas: []*corev1.ResourceQuota{rq("team-a", rl("requests.cpu", "10"), rl("requests.cpu", "0"))},
			// max(sidecar + setup, sidecar + runner) = 3500m
			room: 2, quota: "team-a", resource: "requests.cpu",
		},
		{
			name: "overhead counted", pod: runnerPod(halfCPU, halfCPU, func(p *corev1.Pod) {
				p.Spec.Overhead = rl("cpu", "250m")
			}),
			quotas: []*corev1.ResourceQuota{rq("team-a", rl("requests.cpu", "5"), rl("requests.cpu", "0"))},
			room:   4, quota: "team-a", resource: "requests.cpu",
		},
		{
			name: "extended resource", pod: runnerPod(req(rl("cpu", "1", "nvidia.com/gpu", "1"), rl("nvidia.com/gpu", "1")), noneReq),
			quotas: []*corev1.ResourceQuota{rq("gpu", rl("requests.nvidia.com/gpu", "4"), rl("requests.nvidia.com/gpu", "1"))},
			room:   3, quota: "gpu", resource: "requests.nvidia.com/gpu",
		},
		{
			name: "hugepages", pod: runnerPod(req(rl("hugepages-2Mi", "64Mi", "memory", "1Gi"), rl("hugepages-2Mi", "64Mi", "memory", "1Gi")), noneReq),
			quotas: []*corev1.ResourceQuota{rq("hp", rl("requests.hugepages-2Mi", "256Mi"), rl("requests.hugepages-2Mi", "64Mi"))},
			room:   3, quota: "hp", resource: "requests.hugepages-2Mi",
		},
		{
			name: "Terminating quota ignored without activeDeadlineSeconds", pod: standard,
			quotas: []*corev1.ResourceQuota{rq("t", rl("pods", "1"), rl("pods", "1"), scopes(corev1.ResourceQuotaScopeTerminating))},
			room:   Unbounded,
		},
		{
			name: "Terminating quota applied with activeDeadlineSeconds",
			pod:  runnerPod(halfCPU, halfCPU, func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr.To[int64](3600) }),
			quotas: []*corev1.ResourceQuota{
				rq("t", rl("pods", "1"), rl("pods", "1"), scopes(corev1.ResourceQuotaScopeTerminating)),
				rq("nt", rl("pods", "1"), rl("pods", "1"), scopes(corev1.ResourceQuotaScopeNotTerminating)),
			},
			room: 0, quota: "t", resource: "pods",
		},
		{
			name: "BestEffort quota ignored for a pod with requests", pod: standard,
			quotas: []*corev1.ResourceQuota{rq("be", rl("pods", "1"), rl("pods", "1"), scopes(corev1.ResourceQuotaScopeBestEffort))},
			room:   Unbounded,
		},
		{
			name: "BestEffort quota applied to a best-effort pod", pod: runnerPod(req(rl("ephemeral-storage", "1Gi"), nil), noneReq),
			quotas: []*corev1.ResourceQuota{
				rq("be", rl("pods", "3"), rl("pods", "1"), scopes(corev1.ResourceQuotaScopeBestEffort)),
				rq("nbe", rl("pods", "1"), rl("pods", "1"), scopes(corev1.ResourceQuotaScopeNotBestEffort)),
			},
			room: 2, quota: "be", resource: "pods",
		},
		{
			name: "PriorityClass In matches",
			pod:  runnerPod(halfCPU, halfCPU, func(p *corev1.Pod) { p.Spec.PriorityClassName = "high" }),
			quotas: []*corev1.ResourceQuota{rq("pc", rl("pods", "4"), rl("pods", "3"), scopeSelector(corev1.ScopedResourceSelectorRequirement{
				ScopeName: corev1.ResourceQuotaScopePriorityClass, Operator: corev1.ScopeSelectorOpIn, Values: []string{"low", "high"},
			}))},
			room: 1, quota: "pc", resource: "pods",
		},
		{
			name: "PriorityClass In does not match another class or none", pod: standard,
			quotas: []*corev1.ResourceQuota{
				rq("pc", rl("pods", "4"), rl("pods", "4"), scopeSelector(corev1.ScopedResourceSelectorRequirement{
					ScopeName: corev1.ResourceQuotaScopePriorityClass, Operator: corev1.ScopeSelectorOpIn, Values: []string{"high"},
				})),
				rq("bare", rl("pods", "4"), rl("pods", "4"), scopes(corev1.ResourceQuotaScopePriorityClass)),
			},
			room: Unbounded,
		},
		{
			name: "PriorityClass NotIn matches a pod without a class", pod: standard,
			quotas: []*corev1.ResourceQuota{rq("pc", rl("pods", "4"), rl("pods", "4"), scopeSelector(corev1.ScopedResourceSelectorRequirement{
				ScopeName: corev1.ResourceQuotaScopePriorityClass, Operator: corev1.ScopeSelectorOpNotIn, Values: []string{"high"},
			}))},
			room: 0, quota: "pc", resource: "pods",
		},
		{
			name: "CrossNamespacePodAffinity", pod: runnerPod(halfCPU, halfCPU, func(p *corev1.Pod) {
				p.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
					PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{
						Weight:          1,
						PodAffinityTerm: corev1.PodAffinityTerm{TopologyKey: "kubernetes.io/hostname", NamespaceSelector: &metav1.LabelSelector{}},
					}},
				}}
			}),
			quotas: []*corev1.ResourceQuota{rq("xns", rl("pods", "2"), rl("pods", "0"), scopes(corev1.ResourceQuotaScopeCrossNamespacePodAffinity))},
			room:   2, quota: "xns", resource: "pods",
		},
		{
			name: "CrossNamespacePodAffinity ignored without such terms", pod: standard,
			quotas: []*corev1.ResourceQuota{rq("xns", rl("pods", "2"), rl("pods", "2"), scopes(corev1.ResourceQuotaScopeCrossNamespacePodAffinity))},
			room:   Unbounded,
		},
		{
			name: "unknown scope applies", pod: standard,
			quotas: []*corev1.ResourceQuota{rq("future", rl("pods", "2"), rl("pods", "1"), scopes("SomeFutureScope"))},
			room:   1, quota: "future", resource: "pods",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			room, limit := QuotaRoom(tc.pod, tc.quotas)
			assert.Equal(t, tc.room, room)
			if tc.quota == "" {
				assert.Nil(t, limit)
				return
			}
			require.NotNil(t, limit)
			assert.Equal(t, tc.quota, limit.Quota)
			assert.Equal(t, tc.resource, limit.Resource)
			if tc.message != "" {
				assert.Equal(t, tc.message, limit.Message)
			}
			assert.NotEmpty(t, limit.Message)
		})
	}
}

func TestQuotaRoomLeavesInputsAlone(t *testing.T) {
	quotas := []*corev1.ResourceQuota{rq("b", rl("pods", "1"), rl("pods", "0")), nil, rq("a", rl("pods", "1"), rl("pods", "0"))}
	room, limit := QuotaRoom(standard, quotas)
	assert.Equal(t, 1, room)
	require.NotNil(t, limit)
	assert.Equal(t, "a", limit.Quota)
	assert.Equal(t, "b", quotas[0].Name)
	assert.Nil(t, quotas[1])

	limitsOnly := runnerPod(req(nil, rl("cpu", "2")), noneReq)
	QuotaRoom(limitsOnly, quotas)
	assert.Nil(t, limitsOnly.Spec.Containers[0].Resources.Requests, "the pod is not defaulted in place")
}

func TestCountsAgainstQuota(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	deleting := func(at time.Time, grace int64) func(*corev1.Pod) {
		return func(p *corev1.Pod) {
			p.DeletionTimestamp = &metav1.Time{Time: at}
			p.DeletionGracePeriodSeconds = ptr.To(grace)
		}
	}
	phase := func(ph corev1.PodPhase) func(*corev1.Pod) {
		return func(p *corev1.Pod) { p.Status.Phase = ph }
	}
	tests := []struct {
		name string
		pod  *corev1.Pod
		want bool
	}{
		{"running", runnerPod(halfCPU, halfCPU, phase(corev1.PodRunning)), true},
		{"pending", runnerPod(halfCPU, halfCPU, phase(corev1.PodPending)), true},
		{"succeeded", runnerPod(halfCPU, halfCPU, phase(corev1.PodSucceeded)), false},
		{"failed", runnerPod(halfCPU, halfCPU, phase(corev1.PodFailed)), false},
		{"deleting within grace", runnerPod(halfCPU, halfCPU, phase(corev1.PodRunning), deleting(now.Add(-10*time.Second), 30)), true},
		{"deleting past grace", runnerPod(halfCPU, halfCPU, phase(corev1.PodRunning), deleting(now.Add(-31*time.Second), 30)), false},
		{"deleting without grace period", runnerPod(halfCPU, halfCPU, phase(corev1.PodRunning), func(p *corev1.Pod) {
			p.DeletionTimestamp = &metav1.Time{Time: now.Add(-time.Hour)}
		}), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, CountsAgainstQuota(tc.pod, now))
		})
	}
}
