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

// Package capacity computes how many more runner pods a namespace admits,
// mirroring the kube-apiserver's ResourceQuota admission so that the capacity
// advertised to GitHub is what admission would actually accept.
package capacity

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
	resourcehelper "k8s.io/component-helpers/resource"
)

// Unbounded is the room when no quota limits.
const Unbounded = math.MaxInt32

// podCountResource is the object-count quota name for pods.
const podCountResource corev1.ResourceName = "count/pods"

// Limit is what bounds the room: the quota and resource with the least room.
type Limit struct {
	Quota    string              // the ResourceQuota's name
	Resource corev1.ResourceName // e.g. "pods", "requests.cpu", "count/pods", "requests.nvidia.com/gpu"
	Message  string              // e.g. `ResourceQuota "team-a" has room for 3 more runner pods (requests.cpu: used 6, hard 9, a runner pod requests 1)`; for room 0 it says the quota is full.
}

// QuotaRoom says how many more pods like pod the quotas admit, and which
// quota and resource bound it (nil when Unbounded).
// pod is a fully rendered runner pod (containers, init containers, overhead,
// priorityClassName, activeDeadlineSeconds).
//
// LimitRanges are not read: admission refuses a pod that lacks a cpu or memory
// request/limit a quota tracks unless a LimitRange defaults it, and a resource
// the pod does not consume never bounds the room here.
func QuotaRoom(pod *corev1.Pod, quotas []*corev1.ResourceQuota) (int, *Limit) {
	pod = withDefaultRequests(pod)
	usage := podUsage(pod)
	sorted := slices.DeleteFunc(slices.Clone(quotas), func(q *corev1.ResourceQuota) bool { return q == nil })
	slices.SortStableFunc(sorted, func(a, b *corev1.ResourceQuota) int { return strings.Compare(a.Name, b.Name) })
	room, limit := Unbounded, (*Limit)(nil)
	for _, q := range sorted {
		if !quotaApplies(q, pod) {
			continue
		}
		// Strict less-than keeps the first quota by name on ties.
		if r, l := roomInQuota(q, usage); l != nil && r < room {
			room, limit = r, l
		}
	}
	return room, limit
}

// roomInQuota is the least room over the quota's resources; nil Limit when the
// quota does not bound the pod.
func roomInQuota(q *corev1.ResourceQuota, usage corev1.ResourceList) (int, *Limit) {
	if l := notComputed(q); l != nil {
		return 0, l
	}
	room, limit := Unbounded, (*Limit)(nil)
	for _, name := range sortedNames(q.Status.Hard) {
		need, ok := usage[name]
		if !ok || need.Sign() <= 0 {
			continue
		}
		hard, used := q.Status.Hard[name], q.Status.Used[name]
		if r := roomFor(hard, used, need); r < room {
			room = r
			limit = &Limit{Quota: q.Name, Resource: name, Message: message(q.Name, name, r, hard, used, need)}
		}
	}
	return room, limit
}

// notComputed reports a pod-tracked resource whose usage the quota controller
// has not computed yet; admission refuses pods until it has.
func notComputed(q *corev1.ResourceQuota) *Limit {
	for _, name := range sortedNames(q.Spec.Hard, q.Status.Hard) {
		if !trackedForPods(name) {
			continue
		}
		_, inHard := q.Status.Hard[name]
		_, inUsed := q.Status.Used[name]
		if inHard && inUsed {
			continue
		}
		return &Limit{Quota: q.Name, Resource: name, Message: fmt.Sprintf(
			"ResourceQuota %q has no room for runner pods: its %s usage is not computed yet", q.Name, name)}
	}
	return nil
}

// roomFor is floor((hard - used) / need), in milli-units so fractional cpu
// divides exactly without floats.
func roomFor(hard, used, need resource.Quantity) int {
	free := hard.MilliValue() - used.MilliValue()
	if free <= 0 {
		return 0
	}
	return int(min(free/need.MilliValue(), Unbounded))
}

func message(quota string, name corev1.ResourceName, room int, hard, used, need resource.Quantity) string {
	detail := fmt.Sprintf("%s: used %s, hard %s, a runner pod %s %s",
		name, used.String(), hard.String(), needVerb(name), need.String())
	switch room {
	case 0:
		return fmt.Sprintf("ResourceQuota %q is full for runner pods (%s)", quota, detail)
	case 1:
		return fmt.Sprintf("ResourceQuota %q has room for 1 more runner pod (%s)", quota, detail)
	}
	return fmt.Sprintf("ResourceQuota %q has room for %d more runner pods (%s)", quota, room, detail)
}

func needVerb(name corev1.ResourceName) string {
	switch {
	case strings.HasPrefix(string(name), "limits."):
		return "has a limit of"
	case name == corev1.ResourcePods || name == podCountResource:
		return "counts"
	}
	return "requests"
}

// sortedNames merges the lists' resource names in order, so results are deterministic.
func sortedNames(lists ...corev1.ResourceList) []corev1.ResourceName {
	var names []corev1.ResourceName
	for _, list := range lists {
		for name := range list {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// CountsAgainstQuota tells whether an existing pod is counted in a quota's
// pods/compute usage now, as the kube pod quota evaluator decides: terminal
// pods are not, nor pods whose deletion timestamp plus grace period has
// passed (stuck terminating, e.g. on a lost node). count/pods counts every
// stored pod regardless.
func CountsAgainstQuota(pod *corev1.Pod, now time.Time) bool {
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return false
	}
	if pod.DeletionTimestamp != nil && pod.DeletionGracePeriodSeconds != nil {
		grace := time.Duration(*pod.DeletionGracePeriodSeconds) * time.Second
		if now.After(pod.DeletionTimestamp.Add(grace)) {
			return false
		}
	}
	return true
}

// withDefaultRequests applies the API's pod defaulting, which runs before
// admission: a container's missing request defaults to its limit.
func withDefaultRequests(pod *corev1.Pod) *corev1.Pod {
	p := pod.DeepCopy()
	for _, containers := range [][]corev1.Container{p.Spec.InitContainers, p.Spec.Containers} {
		for i := range containers {
			r := &containers[i].Resources
			for name, limit := range r.Limits {
				if _, ok := r.Requests[name]; ok {
					continue
				}
				if r.Requests == nil {
					r.Requests = corev1.ResourceList{}
				}
				r.Requests[name] = limit.DeepCopy()
			}
		}
	}
	return p
}

// podUsage is what creating pod adds to quota usage, named as the kube pod
// quota evaluator names it.
func podUsage(pod *corev1.Pod) corev1.ResourceList {
	one := *resource.NewQuantity(1, resource.DecimalSI)
	usage := corev1.ResourceList{corev1.ResourcePods: one, podCountResource: one}
	// Pod-level resources are honoured: the PodLevelResources gate is on by default.
	opts := resourcehelper.PodResourcesOptions{}
	for name, q := range resourcehelper.PodRequests(pod, opts) {
		switch {
		case name == corev1.ResourceCPU || name == corev1.ResourceMemory ||
			name == corev1.ResourceEphemeralStorage || strings.HasPrefix(string(name), corev1.ResourceHugePagesPrefix):
			usage[name] = q
			usage[corev1.DefaultResourceRequestsPrefix+name] = q
		case isExtendedResource(name):
			// Extended resources are only quota'd as requests.<name>.
			usage[corev1.DefaultResourceRequestsPrefix+name] = q
		}
	}
	limits := resourcehelper.PodLimits(pod, opts)
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage} {
		if q, ok := limits[name]; ok {
			usage["limits."+name] = q
		}
	}
	return usage
}

// isNativeResource: unprefixed names and *kubernetes.io/ names are native.
func isNativeResource(name corev1.ResourceName) bool {
	return !strings.Contains(string(name), "/") || strings.Contains(string(name), corev1.ResourceDefaultNamespacePrefix)
}

// isExtendedResource mirrors the scheduler's test for extended resources,
// including DRA device-class-backed ones.
func isExtendedResource(name corev1.ResourceName) bool {
	if strings.HasPrefix(string(name), resourcev1.ResourceDeviceClassPrefix) {
		return true
	}
	if isNativeResource(name) || strings.HasPrefix(string(name), corev1.DefaultResourceRequestsPrefix) {
		return false
	}
	return len(validation.IsQualifiedName(corev1.DefaultResourceRequestsPrefix+string(name))) == 0
}

// trackedForPods is the set of quota resources the pod evaluator owns; their
// usage must be computed before admission accepts any pod.
func trackedForPods(name corev1.ResourceName) bool {
	switch name {
	case corev1.ResourcePods, podCountResource,
		corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage,
		corev1.ResourceRequestsCPU, corev1.ResourceRequestsMemory, corev1.ResourceRequestsEphemeralStorage,
		corev1.ResourceLimitsCPU, corev1.ResourceLimitsMemory, corev1.ResourceLimitsEphemeralStorage:
		return true
	}
	s := string(name)
	if strings.HasPrefix(s, corev1.ResourceHugePagesPrefix) || strings.HasPrefix(s, corev1.ResourceRequestsHugePagesPrefix) {
		return true
	}
	deviceClass := corev1.DefaultResourceRequestsPrefix + resourcev1.ResourceDeviceClassPrefix
	return strings.HasPrefix(s, corev1.DefaultResourceRequestsPrefix) &&
		(!isNativeResource(name) || strings.HasPrefix(s, deviceClass))
}

// quotaApplies: every scope in spec.scopes and spec.scopeSelector must match.
func quotaApplies(q *corev1.ResourceQuota, pod *corev1.Pod) bool {
	for _, scope := range q.Spec.Scopes {
		// A bare scope is an Exists requirement, as in the quota evaluator.
		req := corev1.ScopedResourceSelectorRequirement{ScopeName: scope, Operator: corev1.ScopeSelectorOpExists}
		if !scopeMatches(req, pod) {
			return false
		}
	}
	if q.Spec.ScopeSelector == nil {
		return true
	}
	for _, req := range q.Spec.ScopeSelector.MatchExpressions {
		if !scopeMatches(req, pod) {
			return false
		}
	}
	return true
}

func scopeMatches(req corev1.ScopedResourceSelectorRequirement, pod *corev1.Pod) bool {
	switch req.ScopeName {
	case corev1.ResourceQuotaScopeTerminating:
		return isTerminating(pod)
	case corev1.ResourceQuotaScopeNotTerminating:
		return !isTerminating(pod)
	case corev1.ResourceQuotaScopeBestEffort:
		return isBestEffort(pod)
	case corev1.ResourceQuotaScopeNotBestEffort:
		return !isBestEffort(pod)
	case corev1.ResourceQuotaScopePriorityClass:
		return priorityClassMatches(req, pod.Spec.PriorityClassName)
	case corev1.ResourceQuotaScopeCrossNamespacePodAffinity:
		return usesCrossNamespaceAffinity(pod)
	case corev1.ResourceQuotaScopeVolumeAttributesClass:
		// A PersistentVolumeClaim scope: never applies to pods.
		return false
	}
	// Unknown scope (newer than this code): assume it applies, so we err
	// towards advertising too little capacity rather than too much. The kube
	// evaluator of this version would not match it.
	return true
}

func isTerminating(pod *corev1.Pod) bool {
	return pod.Spec.ActiveDeadlineSeconds != nil && *pod.Spec.ActiveDeadlineSeconds >= 0
}

// priorityClassMatches evaluates the requirement as a label selector over
// {PriorityClass: name}, where an empty name means the label is absent.
func priorityClassMatches(req corev1.ScopedResourceSelectorRequirement, name string) bool {
	switch req.Operator {
	case corev1.ScopeSelectorOpExists:
		return name != ""
	case corev1.ScopeSelectorOpDoesNotExist:
		return name == ""
	case corev1.ScopeSelectorOpIn:
		return name != "" && slices.Contains(req.Values, name)
	case corev1.ScopeSelectorOpNotIn:
		return name == "" || !slices.Contains(req.Values, name)
	}
	// Unknown operator: assume it applies, for the same reason as unknown scopes.
	return true
}

// isBestEffort mirrors the pod QoS computation: no cpu or memory request or
// limit anywhere, judged on pod-level resources when those are set.
func isBestEffort(pod *corev1.Pod) bool {
	if pod.Status.QOSClass != "" {
		return pod.Status.QOSClass == corev1.PodQOSBestEffort
	}
	if resourcehelper.IsPodLevelResourcesSet(pod) {
		return noCPUOrMemory(pod.Spec.Resources)
	}
	for _, containers := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for i := range containers {
			if !noCPUOrMemory(&containers[i].Resources) {
				return false
			}
		}
	}
	return true
}

func noCPUOrMemory(r *corev1.ResourceRequirements) bool {
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, lim := r.Requests[name], r.Limits[name]
		if !req.IsZero() || !lim.IsZero() {
			return false
		}
	}
	return true
}

// usesCrossNamespaceAffinity: any (anti-)affinity term, required or
// preferred, that names namespaces or a namespace selector.
func usesCrossNamespaceAffinity(pod *corev1.Pod) bool {
	a := pod.Spec.Affinity
	if a == nil {
		return false
	}
	var terms []corev1.PodAffinityTerm
	if a.PodAffinity != nil {
		terms = appendTerms(terms, a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution,
			a.PodAffinity.PreferredDuringSchedulingIgnoredDuringExecution)
	}
	if a.PodAntiAffinity != nil {
		terms = appendTerms(terms, a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution,
			a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution)
	}
	return slices.ContainsFunc(terms, func(t corev1.PodAffinityTerm) bool {
		return len(t.Namespaces) != 0 || t.NamespaceSelector != nil
	})
}

func appendTerms(terms, required []corev1.PodAffinityTerm, preferred []corev1.WeightedPodAffinityTerm) []corev1.PodAffinityTerm {
	terms = append(terms, required...)
	for _, w := range preferred {
		terms = append(terms, w.PodAffinityTerm)
	}
	return terms
}
