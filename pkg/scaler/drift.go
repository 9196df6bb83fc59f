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
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/github/ghrest"
)

const (
	// onlineCheckGap spaces the REST lists that learn whether new runners came online.
	onlineCheckGap = 5 * time.Second
	// driftInterval is how often a RunnerSet with runners compares both sides anyway.
	driftInterval = 5 * time.Minute
	// driftGrace is how long one side may disagree before the server cleans up: long enough
	// for a new runner to register and for GitHub's list to catch up.
	driftGrace = 2 * time.Minute
	// maxGitHubOnly bounds how many GitHub-only runners the status lists.
	maxGitHubOnly = 50
)

// driftState is what the drift check remembers between runs.
type driftState struct {
	last       time.Time
	firstSeen  map[string]time.Time // GitHub-only runner name -> when first seen without a pod
	githubOnly []v1alpha1.GitHubRunner
	// scaleSetOf caches which scale set a runner GitHub lists without a pod here belongs to.
	scaleSetOf map[int64]int
}

// checkDrift compares GitHub's runner list with the runner pods. It records online state on the
// pods (once per change), lists runners GitHub has without a pod, and after a grace period removes
// registrations without pods and pods without registrations. It is cheap: the list uses ETags,
// and it runs only when a new runner's state is unknown or every driftInterval while runners exist.
func (w *worker) checkDrift(ctx context.Context, client ScaleSetClient, rs *v1alpha1.RunnerSet, runners []Runner, registered int) time.Duration {
	now := w.m.cfg.Clock.Now()
	unknown := false
	for _, r := range runners {
		if r.Pod != nil && r.Pod.Status.Phase == corev1.PodRunning && r.Pod.Annotations[v1alpha1.AnnotationRunnerOnline] == "" {
			unknown = true
		}
	}
	w.mu.Lock()
	last := w.drift.last
	w.mu.Unlock()
	switch {
	case unknown && now.Sub(last) < onlineCheckGap:
		return onlineCheckGap - now.Sub(last)
	case unknown:
	case len(runners) == 0 && registered == 0:
		return 0 // nothing that could drift: an idle empty RunnerSet costs GitHub nothing
	case now.Sub(last) < driftInterval:
		return driftInterval - now.Sub(last)
	}
	listed, err := client.ListRunners(ctx)
	w.mu.Lock()
	w.drift.last = now
	w.mu.Unlock()
	if err != nil {
		klog.FromContext(ctx).V(2).Info("Listing runners on GitHub failed", "err", err)
		return onlineCheckGap
	}
	matched, mine := w.ourGitHubRunners(ctx, client, rs, listed, runners)
	byName := map[string]Runner{}
	var clusterOnly []string
	for _, r := range runners {
		byName[r.Name] = r
		gr, ok := matched[r.Name]
		if r.Pod == nil || r.Pod.DeletionTimestamp != nil {
			continue
		}
		online := "false"
		if ok && gr.Status == "online" {
			online = "true"
		}
		if r.Pod.Status.Phase == corev1.PodRunning && r.Pod.Annotations[v1alpha1.AnnotationRunnerOnline] != online {
			w.annotatePod(ctx, r.Name, v1alpha1.AnnotationRunnerOnline, online)
		}
		if !ok && r.Phase == PhaseIdle && now.Sub(r.Pod.CreationTimestamp.Time) > driftGrace {
			clusterOnly = append(clusterOnly, r.Name)
			w.event(rs, corev1.EventTypeWarning, "OrphanRunner", "Runner %s has a pod but no registration on GitHub; deleting it", r.Name)
			w.deleteRunner(ctx, r, "GitHub does not know it")
		}
	}
	w.mu.Lock()
	if w.drift.firstSeen == nil {
		w.drift.firstSeen = map[string]time.Time{}
	}
	var githubOnly []v1alpha1.GitHubRunner
	var removed []string
	for name, gr := range mine {
		first, ok := w.drift.firstSeen[name]
		if !ok {
			first = now
			w.drift.firstSeen[name] = now
		}
		if now.Sub(first) > driftGrace && !gr.Busy {
			removed = append(removed, name)
			delete(w.drift.firstSeen, name)
			continue
		}
		t := metav1.NewTime(first.Truncate(time.Second))
		githubOnly = append(githubOnly, v1alpha1.GitHubRunner{ID: gr.ID, Name: name, Status: gr.Status, Busy: gr.Busy, FirstSeen: &t})
	}
	for name := range w.drift.firstSeen {
		if _, ok := mine[name]; !ok {
			delete(w.drift.firstSeen, name)
		}
	}
	sort.Slice(githubOnly, func(i, j int) bool { return githubOnly[i].Name < githubOnly[j].Name })
	if len(githubOnly) > maxGitHubOnly {
		githubOnly = githubOnly[:maxGitHubOnly]
	}
	w.drift.githubOnly = githubOnly
	w.mu.Unlock()
	for _, name := range removed {
		if err := client.RemoveRunner(ctx, int(mine[name].ID)); err == nil {
			w.event(rs, corev1.EventTypeNormal, "OrphanRegistrationRemoved", "Removed runner %s (id %d) registered on GitHub without a pod for over %s", name, mine[name].ID, driftGrace)
		}
	}
	if n := len(githubOnly) + len(clusterOnly); n > 0 {
		w.setCondition(v1alpha1.ConditionOrphanRunners, metav1.ConditionTrue, "Drift",
			fmt.Sprintf("%d runners registered on GitHub without a pod, %d pods without a registration; cleaned up after %s", len(githubOnly), len(clusterOnly), driftGrace))
	} else {
		w.setCondition(v1alpha1.ConditionOrphanRunners, metav1.ConditionFalse, "InSync", "GitHub and the cluster agree on the runners")
	}
	if unknown {
		return onlineCheckGap
	}
	return driftInterval
}

// ourGitHubRunners sorts GitHub's runner list by owner. matched are the runners this RunnerSet
// registered (by the runner ids its Secrets record), by runner name; githubOnly are the others
// of its scale set, by name. A runner GitHub lists without a pod here is counted ours only when
// the Actions Service says it is in our scale set: runner names and labels are chosen by whoever
// registers a runner, so another namespace's RunnerSet of the same name, or one with our scale
// set's name as a label, never has its runners taken for ours.
func (w *worker) ourGitHubRunners(ctx context.Context, client ScaleSetClient, rs *v1alpha1.RunnerSet, listed []ghrest.Runner, runners []Runner) (matched, githubOnly map[string]ghrest.Runner) {
	byID := map[int64]string{}
	for _, r := range runners {
		if r.RunnerID != 0 {
			byID[int64(r.RunnerID)] = r.Name
		}
	}
	w.mu.Lock()
	scaleSetID := w.scaleSetID
	if w.drift.scaleSetOf == nil {
		w.drift.scaleSetOf = map[int64]int{}
	}
	cache := maps.Clone(w.drift.scaleSetOf)
	w.mu.Unlock()
	matched, githubOnly = map[string]ghrest.Runner{}, map[string]ghrest.Runner{}
	seen := map[int64]int{}
	for _, gr := range listed {
		if name, ok := byID[gr.ID]; ok {
			matched[name] = gr
			continue
		}
		if scaleSetID == 0 || !slices.Contains(gr.Labels, rs.Spec.RunnerScaleSetName) {
			continue // not of our scale set, whatever its name
		}
		owner, known := cache[gr.ID]
		if !known {
			ref, err := client.GetRunnerByName(ctx, gr.Name)
			if err != nil {
				continue // asked again on the next check
			}
			if ref != nil && int64(ref.ID) == gr.ID {
				owner = ref.RunnerScaleSetID
			}
		}
		seen[gr.ID] = owner
		if owner == scaleSetID {
			githubOnly[gr.Name] = gr
		}
	}
	w.mu.Lock()
	w.drift.scaleSetOf = seen // forget the runners GitHub no longer lists
	w.mu.Unlock()
	return matched, githubOnly
}

func (w *worker) annotatePod(ctx context.Context, name, key, value string) {
	patch, _ := jsonMergePatch(map[string]any{"metadata": map[string]any{"annotations": map[string]string{key: value}}})
	if _, err := w.m.cfg.KubeClient.CoreV1().Pods(w.namespace).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		klog.FromContext(ctx).V(2).Info("Annotating runner pod failed", "pod", name, "err", err)
	}
}
