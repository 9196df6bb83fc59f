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
	"fmt"
	"maps"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/contract"
	"actions.dev/runnerset-apiserver/pkg/github/actions"
	"actions.dev/runnerset-apiserver/pkg/scaler/runnerpod"
)

// Condition reasons of runner trouble.
const (
	ReasonInvalidPodTemplate = "InvalidPodTemplate"
	ReasonQuotaExceeded      = "QuotaExceeded"
	ReasonPodFailures        = "PodFailures"
	ReasonRunnersHealthy     = "RunnersHealthy"
	ReasonDeprecated         = "RunnerVersionDeprecated"
	ReasonPodSecurity        = "PodSecurityViolation"
)

// podSecurityRetry is how often runner pods that Pod Security admission refused are tried
// again without a spec change: the namespace's level may have been changed instead.
const podSecurityRetry = 5 * time.Minute

// quotaRetry is how often a runner refused by a ResourceQuota is tried again.
const quotaRetry = 30 * time.Second

// reconcile brings the runners in line with the desired count and returns when to look again.
func (w *worker) reconcile(ctx context.Context) time.Duration {
	rs := w.snapshot()
	if rs == nil {
		return 0
	}
	start := w.m.cfg.Clock.Now()
	defer func() { reconcileDuration.Observe(w.m.cfg.Clock.Since(start).Seconds()) }()
	if rs.DeletionTimestamp != nil {
		w.stopListener()
		return w.drain(ctx, rs)
	}
	w.ensureListener(ctx, rs)

	w.mu.Lock()
	client, scaleSetID, stats := w.client, w.scaleSetID, w.stats
	blockedGen, until := w.blockedGeneration, w.blockedUntil
	w.mu.Unlock()
	blocked := blockedGen != 0 && blockedGen == rs.Generation
	if blocked && !until.IsZero() && !w.m.cfg.Clock.Now().Before(until) {
		blocked = false // tried again: the namespace may allow the pods now
	}
	if blockedGen != 0 && blockedGen != rs.Generation {
		// The spec changed: whatever blocked creation may be fixed.
		w.mu.Lock()
		w.blockedGeneration, w.blockedUntil = 0, time.Time{}
		w.mu.Unlock()
		w.setCondition(v1alpha1.ConditionPodsFailing, metav1.ConditionFalse, ReasonRunnersHealthy, "the spec changed; runners are created again")
		w.setCondition(v1alpha1.ConditionRunnerVersionDeprecated, metav1.ConditionFalse, "SpecChanged", "the spec changed since a runner reported a deprecated version")
	}

	runners, strayRequeue := w.runnersAndStrays(ctx)
	requeue := time.Duration(0)
	soon := func(d time.Duration) {
		if d > 0 && (requeue == 0 || d < requeue) {
			requeue = d
		}
	}
	soon(strayRequeue)
	if blocked && !until.IsZero() {
		soon(until.Sub(w.m.cfg.Clock.Now()))
	}
	// podTrouble: a runner pod failed, waits to be re-created after a failure, or was refused by
	// a quota in this pass. A pass without any clears PodsFailing.
	podTrouble := false
	w.mu.Lock()
	refusals := w.podRefusals
	w.mu.Unlock()
	var live []Runner
	var ended []endedRunner // cleaned up after the new runners are created
	for _, r := range runners {
		if r.Phase == PhaseFailed || (r.Pod == nil && r.Failures > 0) { // failed, or waiting out its backoff
			podTrouble = true
		}
		switch {
		case r.RunnerID != 0 && scaleSetID != 0 && r.Secret.Annotations[v1alpha1.AnnotationScaleSetID] != strconv.Itoa(scaleSetID) && r.Phase != PhaseBusy:
			// Registered in a scale set GitHub lost: the registration is gone with it.
			w.deleteRunner(ctx, r, "its scale set was deleted on GitHub")
		case r.Phase == PhaseSucceeded:
			ended = append(ended, endedRunner{r, w.jobEnded(r)})
		case r.Phase == PhaseDeprecated:
			w.deprecated(ctx, client, rs, r)
		case r.Phase == PhaseFailed:
			soon(w.runnerFailed(ctx, client, rs, r))
			live = append(live, r)
		case r.Pod == nil && r.Secret != nil && client != nil && !blocked:
			soon(w.recreatePod(ctx, rs, r, scaleSetID))
			live = append(live, r)
		default:
			live = append(live, r)
		}
	}

	desired := 0
	if stats != nil {
		desired = DesiredRunners(rs.Spec.MinRunners, rs.Spec.MaxRunners, stats.TotalAssignedJobs)
	}
	if client != nil && scaleSetID != 0 && stats != nil {
		// The statistics and the pods tell a job's end at slightly different moments: a runner
		// that finished a job GitHub has not yet reported completed keeps its slot until the
		// report comes, and one whose job GitHub reported completed holds none while its pod
		// exits (ledger.go). So the newest statistics are read with the ledger, which the
		// listener changes together with them.
		w.mu.Lock()
		if w.stats != nil {
			stats = w.stats
		}
		finished, recheck, lost := w.jobs.finishedAwaiting(w.m.cfg.Clock.Now())
		slots := w.jobs.slots(live)
		w.mu.Unlock()
		desired = DesiredRunners(rs.Spec.MinRunners, rs.Spec.MaxRunners, stats.TotalAssignedJobs)
		soon(recheck)
		for _, id := range lost {
			w.deregister(ctx, client, rs, id, "")
		}
		plan := PlanScale(max(desired-finished, 0), slots, runnerpod.TemplateHash(rs), !blocked)
		removed := w.removeRunners(ctx, client, live, plan.Remove)
		live = withoutNames(live, removed)
		created := w.createRunners(ctx, client, rs, scaleSetID, plan.Create)
		live = append(live, created...)
		if len(created) < plan.Create {
			soon(5 * time.Second)
		}
		registered := 0
		if stats != nil {
			registered = stats.TotalRegisteredRunners
		}
		soon(w.checkDrift(ctx, client, rs, live, registered))
	}
	w.finishRunners(ctx, client, rs, ended)
	w.mu.Lock()
	podTrouble = podTrouble || w.podRefusals != refusals
	w.mu.Unlock()
	if !podTrouble && !blocked {
		w.podsHealthy()
	}
	// Counted as users understand runners: one whose job GitHub reported completed is on its
	// way out and no longer one (its replacement may already exist, and RUNNERS would exceed MAX).
	w.mu.Lock()
	c := countRunners(w.jobs.slots(live))
	w.mu.Unlock()
	c.desired = desired
	w.mu.Lock()
	listening := w.sessionID != ""
	w.mu.Unlock()
	recordStatistics(rs, stats, desired, c, listening)
	soon(w.writeStatus(ctx, c))
	return requeue
}

// runners pairs the RunnerSet's Secrets with their pods; pods without a Secret are strays and
// are deleted once they are old enough not to be a creation in flight.
func (w *worker) runners(ctx context.Context) []Runner {
	out, _ := w.runnersAndStrays(ctx)
	return out
}

func (w *worker) runnersAndStrays(ctx context.Context) ([]Runner, time.Duration) {
	pods := w.m.podsOf(w.namespace, w.name)
	var out []Runner
	now := w.m.cfg.Clock.Now()
	w.mu.Lock()
	seen := map[string]bool{}
	for _, s := range w.m.secretsOf(w.namespace, w.name) {
		seen[s.Name] = true
	}
	for name, at := range w.created {
		if seen[name] || now.Sub(at) > expectationTimeout {
			delete(w.created, name)
		} else {
			// Created moments ago, not in the cache yet: it holds its slot.
			out = append(out, Runner{Name: name, Phase: PhasePending, Created: at})
		}
	}
	for name, at := range w.deleted {
		if !seen[name] || now.Sub(at) > expectationTimeout {
			delete(w.deleted, name)
		}
	}
	deleted := maps.Clone(w.deleted)
	w.mu.Unlock()
	for _, s := range w.m.secretsOf(w.namespace, w.name) {
		if _, gone := deleted[s.Name]; gone {
			delete(pods, s.Name)
			continue
		}
		if s.Data[v1alpha1.SecretKeyJITConfig] == nil && s.Annotations[v1alpha1.AnnotationRunnerID] == "" {
			continue // not a runner Secret (e.g. a proxy Secret)
		}
		pod := pods[s.Name]
		delete(pods, s.Name)
		if s.DeletionTimestamp != nil {
			continue
		}
		out = append(out, ClassifyRunner(s, pod))
	}
	var requeue time.Duration
	for _, p := range pods {
		if p.DeletionTimestamp != nil {
			continue
		}
		if age := w.m.cfg.Clock.Since(p.CreationTimestamp.Time); age < strayGrace {
			if requeue == 0 || strayGrace-age < requeue {
				requeue = strayGrace - age + time.Second
			}
			continue
		}
		klog.FromContext(ctx).Info("Deleting a runner pod without its Secret", "pod", klog.KObj(p))
		_ = w.m.cfg.KubeClient.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, requeue
}

// strayGrace is how old a runner pod without a Secret must be before it is deleted.
const strayGrace = 30 * time.Second

// expectationTimeout bounds how long a write of ours may be missing from the informer caches.
const expectationTimeout = time.Minute

func (w *worker) expectCreated(name string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.created == nil {
		w.created = map[string]time.Time{}
	}
	w.created[name] = w.m.cfg.Clock.Now()
}

func (w *worker) expectDeleted(name string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.deleted == nil {
		w.deleted = map[string]time.Time{}
	}
	w.deleted[name] = w.m.cfg.Clock.Now()
	delete(w.created, name)
}

func countRunners(rs []Runner) counts {
	var c counts
	for _, r := range rs {
		c.current++
		switch r.Phase {
		case PhasePending:
			c.pending++
		case PhaseIdle:
			c.idle++
		case PhaseBusy:
			c.busy++
		case PhaseFailed:
			c.failed++
		}
	}
	return c
}

func withoutNames(rs []Runner, names map[string]bool) []Runner {
	var out []Runner
	for _, r := range rs {
		if !names[r.Name] {
			out = append(out, r)
		}
	}
	return out
}

// ownerRef points runner objects at the RunnerSet's backing ConfigMap, so the garbage collector
// removes them if everything else fails.
func (w *worker) ownerRef(ctx context.Context) (metav1.OwnerReference, error) {
	w.mu.Lock()
	uid := w.ownerUID
	w.mu.Unlock()
	name := "runnerset." + w.name
	if uid == "" {
		cm, err := w.m.cfg.KubeClient.CoreV1().ConfigMaps(w.namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return metav1.OwnerReference{}, fmt.Errorf("reading the RunnerSet's ConfigMap: %w", err)
		}
		uid = cm.UID
		w.mu.Lock()
		w.ownerUID = uid
		w.mu.Unlock()
	}
	return metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: name, UID: uid, BlockOwnerDeletion: ptr.To(false)}, nil
}

func (w *worker) params(ctx context.Context, rs *v1alpha1.RunnerSet, name string, scaleSetID, runnerID int) (runnerpod.Params, error) {
	owner, err := w.ownerRef(ctx)
	if err != nil {
		return runnerpod.Params{}, err
	}
	return runnerpod.Params{
		RunnerSet: rs, Name: name, Owner: owner, ScaleSetID: scaleSetID, RunnerID: runnerID,
		KubernetesModeServiceAccount: contract.KubernetesModeAccount(rs.Name),
		ProxySecretName:              rs.Name + "-runner-proxy",
		UserAgent:                    w.m.cfg.UserAgent,
	}, nil
}

// createRunners registers n runners on GitHub and creates their Secrets and pods, in parallel.
func (w *worker) createRunners(ctx context.Context, client ScaleSetClient, rs *v1alpha1.RunnerSet, scaleSetID, n int) []Runner {
	if n <= 0 {
		return nil
	}
	if cm := rs.Spec.ContainerMode; cm != nil && (cm.Type == v1alpha1.ContainerModeKubernetes || cm.Type == v1alpha1.ContainerModeKubernetesNoVolume) &&
		rs.Spec.Template.Spec.ServiceAccountName == "" {
		if err := w.ensureKubeModeRBAC(ctx, rs); err != nil {
			klog.FromContext(ctx).Error(err, "Preparing the kubernetes mode service account failed")
			return nil
		}
	}
	workFolder := ""
	for _, c := range rs.Spec.Template.Spec.Containers {
		if c.Name == v1alpha1.RunnerContainerName {
			workFolder = c.WorkingDir
		}
	}
	var mu sync.Mutex
	var created []Runner
	sem := make(chan struct{}, w.m.cfg.CreateConcurrency)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			r, err := w.createRunner(ctx, client, rs, scaleSetID, workFolder)
			if err != nil {
				klog.FromContext(ctx).Error(err, "Creating a runner failed")
				return
			}
			mu.Lock()
			created = append(created, r)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return created
}

func (w *worker) createRunner(ctx context.Context, client ScaleSetClient, rs *v1alpha1.RunnerSet, scaleSetID int, workFolder string) (Runner, error) {
	start := w.m.cfg.Clock.Now()
	defer func() { runnerCreateDuration.Observe(w.m.cfg.Clock.Since(start).Seconds()) }()
	name := rs.Name + "-" + utilrand.String(5)
	jit, err := client.GenerateJitConfig(ctx, scaleSetID, &actions.JitRunnerSetting{Name: name, WorkFolder: workFolder})
	if errors.Is(err, actions.ErrRunnerExists) {
		// A registration of that name outlived its pod: drop it if it is ours, then retry later.
		if ref, lerr := client.GetRunnerByName(ctx, name); lerr == nil && ref != nil && ref.RunnerScaleSetID == scaleSetID {
			_ = client.RemoveRunner(ctx, ref.ID)
		}
		return Runner{}, err
	}
	if err != nil {
		w.githubError(rs, err)
		return Runner{}, fmt.Errorf("generating the JIT config of %s: %w", name, err)
	}
	w.githubOK()
	w.authenticated(rs)
	p, err := w.params(ctx, rs, name, scaleSetID, jit.Runner.ID)
	if err != nil {
		_ = client.RemoveRunner(ctx, jit.Runner.ID)
		return Runner{}, err
	}
	secret, err := w.m.cfg.KubeClient.CoreV1().Secrets(rs.Namespace).Create(ctx, runnerpod.Secret(p, jit.EncodedJITConfig), metav1.CreateOptions{})
	if err != nil {
		_ = client.RemoveRunner(ctx, jit.Runner.ID)
		return Runner{}, fmt.Errorf("creating the Secret of %s: %w", name, err)
	}
	w.expectCreated(name)
	r := ClassifyRunner(secret, nil)
	pod, err := w.createPod(ctx, rs, p, r)
	if pod != nil {
		r = ClassifyRunner(secret, pod)
	}
	return r, err
}

// createPod creates a runner's pod. A pod spec the cluster refuses blocks further creation until
// the spec changes; a quota refusal is retried.
func (w *worker) createPod(ctx context.Context, rs *v1alpha1.RunnerSet, p runnerpod.Params, r Runner) (*corev1.Pod, error) {
	pod, err := w.m.cfg.KubeClient.CoreV1().Pods(rs.Namespace).Create(ctx, runnerpod.Pod(p), metav1.CreateOptions{})
	switch {
	case err == nil:
		return pod, nil
	case apierrors.IsAlreadyExists(err):
		return nil, nil
	case apierrors.IsForbidden(err) && strings.Contains(err.Error(), "exceeded quota"):
		w.mu.Lock()
		w.podRefusals++
		w.mu.Unlock()
		w.setCondition(v1alpha1.ConditionPodsFailing, metav1.ConditionTrue, ReasonQuotaExceeded, err.Error())
		w.event(rs, corev1.EventTypeWarning, ReasonQuotaExceeded, "Runner pod %s refused by a ResourceQuota; retrying every %s: %v", p.Name, quotaRetry, err)
		return nil, err
	case apierrors.IsInvalid(err) || apierrors.IsForbidden(err) || apierrors.IsBadRequest(err):
		psa := apierrors.IsForbidden(err) && strings.Contains(err.Error(), "violates PodSecurity")
		w.mu.Lock()
		w.podRefusals++
		w.blockedGeneration, w.blockedUntil = rs.Generation, time.Time{}
		if psa {
			w.blockedUntil = w.m.cfg.Clock.Now().Add(podSecurityRetry)
		}
		client := w.client
		w.mu.Unlock()
		if psa {
			msg := fmt.Sprintf("namespace %s's Pod Security admission refuses runner pods of this template (%v). Change the template or container mode (dind needs level privileged), or the namespace's pod-security.kubernetes.io/enforce label; runners are tried again when the spec changes, or every %s",
				rs.Namespace, err, podSecurityRetry)
			w.setCondition(v1alpha1.ConditionPodsFailing, metav1.ConditionTrue, ReasonPodSecurity, msg)
			w.event(rs, corev1.EventTypeWarning, ReasonPodSecurity, "%s", msg)
		} else {
			w.setCondition(v1alpha1.ConditionPodsFailing, metav1.ConditionTrue, ReasonInvalidPodTemplate, err.Error())
			w.event(rs, corev1.EventTypeWarning, ReasonInvalidPodTemplate, "The cluster refuses runner pods of this template; no more runners until spec.template changes: %v", err)
		}
		w.deleteRunner(ctx, r, "its pod was refused")
		if client != nil && r.RunnerID != 0 {
			_ = client.RemoveRunner(ctx, r.RunnerID)
		}
		return nil, err
	}
	return nil, err
}

// podsHealthy clears a PodsFailing that a quota or failed pods set, once no runner pod is
// failing or refused any more. (An invalid template is cleared when the spec changes.)
func (w *worker) podsHealthy() {
	w.mu.Lock()
	c := meta.FindStatusCondition(w.conditions, v1alpha1.ConditionPodsFailing)
	w.mu.Unlock()
	if c != nil && c.Status == metav1.ConditionTrue && (c.Reason == ReasonQuotaExceeded || c.Reason == ReasonPodFailures || c.Reason == ReasonPodSecurity) {
		w.setCondition(v1alpha1.ConditionPodsFailing, metav1.ConditionFalse, ReasonRunnersHealthy, "runner pods are created and run again")
	}
}

// recreatePod gives a runner whose pod is gone (failed, or refused by a quota) a new pod once
// its backoff has passed.
func (w *worker) recreatePod(ctx context.Context, rs *v1alpha1.RunnerSet, r Runner, scaleSetID int) time.Duration {
	wait := FailureBackoff(r.Failures)
	if left := r.LastFailure.Add(wait).Sub(w.m.cfg.Clock.Now()); left > 0 && !r.LastFailure.IsZero() {
		return left
	}
	p, err := w.params(ctx, rs, r.Name, scaleSetID, r.RunnerID)
	if err != nil {
		return 5 * time.Second
	}
	if _, err := w.createPod(ctx, rs, p, r); err != nil {
		if apierrors.IsForbidden(err) && strings.Contains(err.Error(), "exceeded quota") {
			return quotaRetry
		}
		return 5 * time.Second
	}
	return 0
}

// finishRunner cleans up after a runner that ran its job and exited.
func (w *worker) finishRunner(ctx context.Context, client ScaleSetClient, rs *v1alpha1.RunnerSet, r Runner) {
	w.cleanUpFinished(ctx, client, rs, r, w.jobEnded(r))
}

// endedRunner is a runner whose pod ended, and what the ledger knows of its job.
type endedRunner struct {
	Runner
	end jobEnd
}

// jobEnded records in the ledger that a runner's pod ended with exit code 0.
func (w *worker) jobEnded(r Runner) jobEnd {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.jobs.finished(r.Name, r.RunnerID, r.Pod != nil && r.Pod.Annotations[v1alpha1.AnnotationJobRequestID] != "", w.m.cfg.Clock.Now())
}

// finishRunners cleans up after runners that ran their job and exited, several at a time. The
// reconciler does it after creating new runners: when jobs end as others arrive, the new jobs'
// runners do not wait for the old ones' deletions, and a burst of jobs ending is cleaned up in
// parallel rather than one runner after the other.
func (w *worker) finishRunners(ctx context.Context, client ScaleSetClient, rs *v1alpha1.RunnerSet, ended []endedRunner) {
	sem := make(chan struct{}, w.m.cfg.CreateConcurrency)
	var wg sync.WaitGroup
	for _, r := range ended {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			w.cleanUpFinished(ctx, client, rs, r.Runner, r.end)
		})
	}
	wg.Wait()
}

// cleanUpFinished deregisters a finished runner unless GitHub already did, and deletes its pod
// and Secret.
func (w *worker) cleanUpFinished(ctx context.Context, client ScaleSetClient, rs *v1alpha1.RunnerSet, r Runner, end jobEnd) {
	// GitHub removes an ephemeral runner with its job, and the runner deregisters itself. One
	// that ran no known job is deregistered now; one whose JobCompleted is still to come is
	// deregistered only if it never comes (finishedAwaiting).
	if end == endUnknown {
		w.deregister(ctx, client, rs, r.RunnerID, r.Name)
	}
	w.deleteRunner(ctx, r, "")
}

// deregister removes a finished runner's registration on GitHub. If GitHub refuses, the drift
// check removes the registration later.
func (w *worker) deregister(ctx context.Context, client ScaleSetClient, rs *v1alpha1.RunnerSet, runnerID int, name string) {
	if client == nil || runnerID == 0 {
		return
	}
	if err := client.RemoveRunner(ctx, runnerID); err != nil && !errors.Is(err, actions.ErrRunnerNotFound) {
		w.githubFailed()
		if name == "" {
			name = "of a finished job"
		}
		w.event(rs, corev1.EventTypeWarning, "DeregistrationFailed", "Runner %s (id %d) finished but could not be deregistered: %v", name, runnerID, err)
	}
}

func (w *worker) deprecated(ctx context.Context, client ScaleSetClient, rs *v1alpha1.RunnerSet, r Runner) {
	w.mu.Lock()
	w.blockedGeneration = rs.Generation
	w.mu.Unlock()
	w.setCondition(v1alpha1.ConditionRunnerVersionDeprecated, metav1.ConditionTrue, ReasonDeprecated,
		"runner "+r.Name+" exited with code 7: its version is too old for GitHub; update the runner image in spec.template")
	w.event(rs, corev1.EventTypeWarning, ReasonDeprecated, "Runner %s exited 7 (version deprecated); no new runners until spec.template changes", r.Name)
	w.finishRunner(ctx, client, rs, r)
}

// runnerFailed handles a failed pod: a busy runner's job is lost, so it is removed; an idle one
// gets a new pod after a backoff, at most MaxFailures times.
func (w *worker) runnerFailed(ctx context.Context, client ScaleSetClient, rs *v1alpha1.RunnerSet, r Runner) time.Duration {
	busy := r.Pod != nil && r.Pod.Annotations[v1alpha1.AnnotationJobRequestID] != ""
	failures := r.Failures + 1
	w.setCondition(v1alpha1.ConditionPodsFailing, metav1.ConditionTrue, ReasonPodFailures, fmt.Sprintf("runner %s: pod failed (%d times)", r.Name, failures))
	if busy || failures > MaxFailures {
		why := fmt.Sprintf("its pod failed %d times", failures)
		if busy {
			why = "its pod failed while running a job"
		}
		w.event(rs, corev1.EventTypeWarning, "RunnerFailed", "Runner %s removed: %s", r.Name, why)
		if client != nil && r.RunnerID != 0 {
			_ = client.RemoveRunner(ctx, r.RunnerID)
		}
		w.deleteRunner(ctx, r, why)
		return 0
	}
	w.event(rs, corev1.EventTypeWarning, "RunnerFailed", "Runner %s pod failed (%d/%d); a new pod follows in %s", r.Name, failures, MaxFailures, FailureBackoff(failures))
	patch, _ := jsonMergePatch(map[string]any{"metadata": map[string]any{"annotations": map[string]string{
		v1alpha1.AnnotationFailures:    strconv.Itoa(failures),
		v1alpha1.AnnotationLastFailure: w.m.cfg.Clock.Now().UTC().Format(time.RFC3339),
	}}})
	if _, err := w.m.cfg.KubeClient.CoreV1().Secrets(w.namespace).Patch(ctx, r.Name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		klog.FromContext(ctx).Error(err, "Recording a runner failure failed", "runner", r.Name)
	}
	if err := w.m.cfg.KubeClient.CoreV1().Pods(w.namespace).Delete(ctx, r.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &r.Pod.UID}}); err != nil && !apierrors.IsNotFound(err) {
		klog.FromContext(ctx).Error(err, "Deleting a failed runner pod failed", "runner", r.Name)
	}
	return FailureBackoff(failures) + time.Second
}

// removeRunners scales down: deregister on GitHub first, and keep runners GitHub says are busy.
func (w *worker) removeRunners(ctx context.Context, client ScaleSetClient, runners []Runner, names []string) map[string]bool {
	byName := map[string]Runner{}
	for _, r := range runners {
		byName[r.Name] = r
	}
	removed := map[string]bool{}
	for _, name := range names {
		r := byName[name]
		if r.RunnerID != 0 {
			err := client.RemoveRunner(ctx, r.RunnerID)
			if errors.Is(err, actions.ErrJobStillRunning) {
				continue // it took a job since we looked: it stays
			}
			if err != nil && !errors.Is(err, actions.ErrRunnerNotFound) {
				w.githubFailed()
				klog.FromContext(ctx).Info("Deregistering an idle runner failed; keeping it", "runner", name, "err", err)
				continue
			}
		}
		w.deleteRunner(ctx, r, "")
		removed[name] = true
	}
	return removed
}

// deleteRunner deletes a runner's pod and Secret.
func (w *worker) deleteRunner(ctx context.Context, r Runner, why string) {
	if why != "" {
		klog.FromContext(ctx).Info("Deleting runner", "runner", r.Name, "why", why)
	}
	if r.Pod != nil {
		if err := w.m.cfg.KubeClient.CoreV1().Pods(w.namespace).Delete(ctx, r.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			klog.FromContext(ctx).Error(err, "Deleting runner pod failed", "runner", r.Name)
		}
	}
	if err := w.m.cfg.KubeClient.CoreV1().Secrets(w.namespace).Delete(ctx, r.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		klog.FromContext(ctx).Error(err, "Deleting runner Secret failed", "runner", r.Name)
		return
	}
	w.expectDeleted(r.Name)
}
