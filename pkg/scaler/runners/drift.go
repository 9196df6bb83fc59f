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

package runners

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/contract"
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
func (r *Reconciler) checkDrift(ctx context.Context, p *pass, runners []contract.Runner) time.Duration {
	now := r.cfg.Clock.Now()
	unknown := slices.ContainsFunc(runners, func(run contract.Runner) bool {
		return run.Pod != nil && run.Pod.Status.Phase == corev1.PodRunning && contract.Online(run.Pod) == ""
	})
	last := r.drift.last
	switch {
	case unknown && now.Sub(last) < onlineCheckGap:
		return onlineCheckGap - now.Sub(last)
	case unknown:
	case len(runners) == 0 && p.d.Stats.TotalRegisteredRunners == 0:
		return 0 // nothing that could drift: an idle empty RunnerSet costs GitHub nothing
	case now.Sub(last) < driftInterval:
		return driftInterval - now.Sub(last)
	}
	listed, err := p.client().ListRunners(ctx)
	r.drift.last = r.cfg.Clock.Now() // a list GitHub made slow or failed waits from its end
	if err != nil {
		klog.FromContext(ctx).V(2).Info("Listing runners on GitHub failed", "err", err)
		return onlineCheckGap
	}
	matched, mine := r.ourGitHubRunners(ctx, p, listed, runners)
	clusterOnly := r.syncPods(ctx, p, runners, matched)
	r.githubOnly(ctx, p, mine)
	if n := len(r.drift.githubOnly) + clusterOnly; n > 0 {
		r.setCondition(p.rs.Generation, v1alpha1.ConditionOrphanRunners, metav1.ConditionTrue, "Drift",
			fmt.Sprintf("%d runners registered on GitHub without a pod, %d pods without a registration; cleaned up after %s", len(r.drift.githubOnly), clusterOnly, driftGrace))
	} else {
		r.setCondition(p.rs.Generation, v1alpha1.ConditionOrphanRunners, metav1.ConditionFalse, "InSync", "GitHub and the cluster agree on the runners")
	}
	if unknown {
		return onlineCheckGap
	}
	return driftInterval
}

// syncPods records on each runner pod whether GitHub lists it online, and deletes idle pods
// GitHub has not known for driftGrace; it returns how many it deleted.
func (r *Reconciler) syncPods(ctx context.Context, p *pass, runners []contract.Runner, matched map[string]ghrest.Runner) int {
	now := r.cfg.Clock.Now()
	clusterOnly := 0
	r.recordOnline(ctx, runners, matched)
	for _, run := range runners {
		_, ok := matched[run.Name]
		if run.Pod == nil || run.Pod.DeletionTimestamp != nil {
			continue
		}
		if !ok && run.Phase == contract.PhaseIdle && now.Sub(run.Pod.CreationTimestamp.Time) > driftGrace {
			clusterOnly++
			r.event(p.rs, corev1.EventTypeWarning, "OrphanRunner", "Runner %s has a pod but no registration on GitHub; deleting it", run.Name)
			r.deleteRunner(ctx, run, "GitHub does not know it")
		}
	}
	return clusterOnly
}

// recordOnline writes GitHub's online state onto the running pods whose annotation differs, as
// many at once as runners are created: one at a time, a scale-up's new runners held the
// reconciling goroutine, and the creation of the next runners, for a second every check.
func (r *Reconciler) recordOnline(ctx context.Context, runners []contract.Runner, matched map[string]ghrest.Runner) {
	type change struct {
		name   string
		online bool
	}
	var changes []change
	for _, run := range runners {
		if run.Pod == nil || run.Pod.DeletionTimestamp != nil || run.Pod.Status.Phase != corev1.PodRunning {
			continue
		}
		gr, ok := matched[run.Name]
		online := ok && gr.Status == "online"
		if contract.Online(run.Pod) != strconv.FormatBool(online) {
			changes = append(changes, change{run.Name, online})
		}
	}
	workqueue.ParallelizeUntil(ctx, max(r.cfg.CreateConcurrency, 1), len(changes), func(i int) {
		c := changes[i]
		if err := r.patchAnnotations(ctx, "pods", c.name, contract.OnlineAnnotations(c.online)); err != nil {
			klog.FromContext(ctx).V(2).Info("Annotating runner pod failed", "pod", c.name, "err", err)
		}
	})
}

// githubOnly lists the runners of the scale set GitHub has without a pod here and removes those
// idle for over driftGrace.
func (r *Reconciler) githubOnly(ctx context.Context, p *pass, mine map[string]ghrest.Runner) {
	now := r.cfg.Clock.Now()
	if r.drift.firstSeen == nil {
		r.drift.firstSeen = map[string]time.Time{}
	}
	var list []v1alpha1.GitHubRunner
	for name, gr := range mine {
		first, ok := r.drift.firstSeen[name]
		if !ok {
			first = now
			r.drift.firstSeen[name] = now
		}
		if now.Sub(first) > driftGrace && !gr.Busy {
			delete(r.drift.firstSeen, name)
			if err := p.client().RemoveRunner(ctx, int(gr.ID)); err == nil {
				r.event(p.rs, corev1.EventTypeNormal, "OrphanRegistrationRemoved", "Removed runner %s (id %d) registered on GitHub without a pod for over %s", name, gr.ID, driftGrace)
			}
			continue
		}
		t := metav1.NewTime(first.Truncate(time.Second))
		list = append(list, v1alpha1.GitHubRunner{ID: gr.ID, Name: name, Status: gr.Status, Busy: gr.Busy, FirstSeen: &t})
	}
	for name := range r.drift.firstSeen {
		if _, ok := mine[name]; !ok {
			delete(r.drift.firstSeen, name)
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
	if len(list) > maxGitHubOnly {
		list = list[:maxGitHubOnly]
	}
	r.drift.githubOnly = list
}

// ourGitHubRunners sorts GitHub's runner list by owner. matched are the runners this RunnerSet
// registered (by the runner ids its Secrets record), by runner name; githubOnly are the others
// of its scale set, by name. A runner GitHub lists without a pod here is counted ours only when
// the Actions Service says it is in our scale set: runner names and labels are chosen by whoever
// registers a runner, so another namespace's RunnerSet of the same name, or one with our scale
// set's name as a label, never has its runners taken for ours.
func (r *Reconciler) ourGitHubRunners(ctx context.Context, p *pass, listed []ghrest.Runner, runners []contract.Runner) (matched, githubOnly map[string]ghrest.Runner) {
	byID := map[int64]string{}
	for _, run := range runners {
		if run.RunnerID != 0 {
			byID[int64(run.RunnerID)] = run.Name
		}
	}
	scaleSetID := p.d.ScaleSetID
	matched, githubOnly = map[string]ghrest.Runner{}, map[string]ghrest.Runner{}
	seen := map[int64]int{}
	for _, gr := range listed {
		if name, ok := byID[gr.ID]; ok {
			matched[name] = gr
			continue
		}
		if scaleSetID == 0 || !slices.Contains(gr.Labels, p.rs.Spec.RunnerScaleSetName) {
			continue // not of our scale set, whatever its name
		}
		owner, known := r.drift.scaleSetOf[gr.ID]
		if !known {
			ref, err := p.client().GetRunnerByName(ctx, gr.Name)
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
	r.drift.scaleSetOf = seen // forget the runners GitHub no longer lists
	return matched, githubOnly
}
