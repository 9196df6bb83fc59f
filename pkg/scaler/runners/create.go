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
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/klog/v2"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/contract"
	"actions.dev/runnerset-apiserver/pkg/github/actions"
	"actions.dev/runnerset-apiserver/pkg/scaler/metrics"
)

// Reasons of the PodsFailing condition.
const (
	ReasonInvalidPodTemplate = "InvalidPodTemplate"
	ReasonQuotaExceeded      = "QuotaExceeded"
	ReasonPodFailures        = "PodFailures"
	ReasonRunnersHealthy     = "RunnersHealthy"
	ReasonDeprecated         = "RunnerVersionDeprecated"
	ReasonPodSecurity        = "PodSecurityViolation"
)

const (
	// quotaRetry is how often a runner refused by a ResourceQuota is tried again.
	quotaRetry = 30 * time.Second
	// podSecurityRetry is how often runner pods that Pod Security admission refused are tried
	// again without a spec change: the namespace's level may have been changed instead.
	podSecurityRetry = 5 * time.Minute
)

// created is what the creation of one runner came to; it is applied by the reconciling
// goroutine (runner creations run in parallel, and the Reconciler has one writer).
type created struct {
	runner *contract.Runner
	// refused is the cluster's refusal of the runner's pod, if it refused it.
	refused error
	// gitHubErr is a failed JIT registration.
	gitHubErr error
}

// createRunners registers n runners on GitHub and creates their Secrets and pods, in parallel.
func (r *Reconciler) createRunners(ctx context.Context, p *pass, n int) []contract.Runner {
	if n <= 0 || !r.ensureKubeModeRBAC(ctx, p.rs) {
		return nil
	}
	uid, err := r.ownerUID(ctx)
	if err != nil {
		klog.FromContext(ctx).Error(err, "Creating runners failed")
		return nil
	}
	results := make([]created, n)
	sem := make(chan struct{}, r.cfg.CreateConcurrency)
	var wg sync.WaitGroup
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			results[i] = r.createRunner(ctx, p, uid)
		})
	}
	wg.Wait()
	var out []contract.Runner
	for _, c := range results {
		if c.runner != nil {
			r.expect.expectCreated(c.runner.Name, r.cfg.Clock.Now())
		}
		if r.applyCreated(ctx, p, c) {
			out = append(out, *c.runner)
		}
	}
	return out
}

// applyCreated records what one creation said about GitHub and the cluster, and tells whether
// the runner stays.
func (r *Reconciler) applyCreated(ctx context.Context, p *pass, c created) bool {
	if c.gitHubErr != nil {
		r.gitHubError(c.gitHubErr)
		klog.FromContext(ctx).Error(c.gitHubErr, "Creating a runner failed")
		return false
	}
	if c.runner == nil {
		return false
	}
	r.gitHubOK()
	if c.refused == nil {
		return true
	}
	p.podTrouble = true
	r.podRefused(p.rs, c.refused)
	if isQuota(c.refused) {
		return true // its Secret stays; its pod is tried again
	}
	r.deleteRunner(ctx, *c.runner, "its pod was refused")
	if client := p.client(); client != nil && c.runner.RunnerID != 0 {
		_ = client.RemoveRunner(ctx, c.runner.RunnerID)
	}
	return false
}

func (r *Reconciler) createRunner(ctx context.Context, p *pass, uid types.UID) created {
	start := r.cfg.Clock.Now()
	defer func() { metrics.RunnerCreateDuration.Observe(r.cfg.Clock.Since(start).Seconds()) }()
	rs, client, scaleSetID := p.rs, p.client(), p.d.ScaleSetID
	name := rs.Name + "-" + utilrand.String(5)
	jit, err := client.GenerateJitConfig(ctx, scaleSetID, &actions.JitRunnerSetting{Name: name, WorkFolder: workFolder(rs)})
	if errors.Is(err, actions.ErrRunnerExists) {
		// A registration of that name outlived its pod: drop it if it is ours, then retry later.
		if ref, lerr := client.GetRunnerByName(ctx, name); lerr == nil && ref != nil && ref.RunnerScaleSetID == scaleSetID {
			_ = client.RemoveRunner(ctx, ref.ID)
		}
		return created{gitHubErr: err}
	}
	if err != nil {
		return created{gitHubErr: fmt.Errorf("generating the JIT config of %s: %w", name, err)}
	}
	params := r.params(rs, uid, name, scaleSetID, jit.Runner.ID)
	secret, err := r.cfg.Kube.CoreV1().Secrets(rs.Namespace).Create(ctx, contract.Secret(params, jit.EncodedJITConfig), metav1.CreateOptions{})
	if err == nil {
		run := contract.Classify(secret, nil)
		pod, refused := r.createPod(ctx, params)
		if pod != nil {
			run = contract.Classify(secret, pod)
		}
		return created{runner: &run, refused: refused}
	}
	_ = client.RemoveRunner(ctx, jit.Runner.ID)
	klog.FromContext(ctx).Error(err, "Creating a runner's Secret failed", "runner", name)
	return created{}
}

func workFolder(rs *v1alpha1.RunnerSet) string {
	for _, c := range rs.Spec.Template.Spec.Containers {
		if c.Name == v1alpha1.RunnerContainerName {
			return c.WorkingDir
		}
	}
	return ""
}

// createPod creates a runner's pod. It returns the cluster's refusal, if any (a quota, an
// invalid pod, an admission's Forbidden), for the caller to record; other errors are retried
// with the runner's next reconcile, as its Secret stays.
func (r *Reconciler) createPod(ctx context.Context, params contract.Params) (*corev1.Pod, error) {
	pod, err := r.cfg.Kube.CoreV1().Pods(params.RunnerSet.Namespace).Create(ctx, contract.Pod(params), metav1.CreateOptions{})
	switch {
	case err == nil:
		return pod, nil
	case apierrors.IsAlreadyExists(err):
		return nil, nil
	case apierrors.IsInvalid(err) || apierrors.IsForbidden(err) || apierrors.IsBadRequest(err):
		return nil, err
	}
	klog.FromContext(ctx).Error(err, "Creating a runner pod failed", "runner", params.Name)
	return nil, nil
}

func isQuota(err error) bool {
	return apierrors.IsForbidden(err) && strings.Contains(err.Error(), "exceeded quota")
}

func isPodSecurity(err error) bool {
	return apierrors.IsForbidden(err) && strings.Contains(err.Error(), "violates PodSecurity")
}

// podRefused records the cluster's refusal of a runner pod: a quota's is retried; Pod Security
// admission's blocks creation until the spec changes or podSecurityRetry passes (the
// namespace's level may change instead); any other holds creation until the spec changes.
func (r *Reconciler) podRefused(rs *v1alpha1.RunnerSet, err error) {
	switch {
	case isQuota(err):
		r.setCondition(rs.Generation, v1alpha1.ConditionPodsFailing, metav1.ConditionTrue, ReasonQuotaExceeded, err.Error())
		r.event(rs, corev1.EventTypeWarning, ReasonQuotaExceeded, "Runner pod refused by a ResourceQuota; retrying every %s: %v", quotaRetry, err)
	case isPodSecurity(err):
		r.block(rs, podSecurityRetry)
		msg := fmt.Sprintf("namespace %s's Pod Security admission refuses runner pods of this template (%v). Change the template or container mode (dind needs level privileged), or the namespace's pod-security.kubernetes.io/enforce label; runners are tried again when the spec changes, or every %s",
			rs.Namespace, err, podSecurityRetry)
		r.setCondition(rs.Generation, v1alpha1.ConditionPodsFailing, metav1.ConditionTrue, ReasonPodSecurity, msg)
		r.event(rs, corev1.EventTypeWarning, ReasonPodSecurity, "%s", msg)
	default:
		r.block(rs, 0)
		r.setCondition(rs.Generation, v1alpha1.ConditionPodsFailing, metav1.ConditionTrue, ReasonInvalidPodTemplate, err.Error())
		r.event(rs, corev1.EventTypeWarning, ReasonInvalidPodTemplate, "The cluster refuses runner pods of this template; no more runners until spec.template changes: %v", err)
	}
}

// recreatePod gives a runner whose pod is gone (failed, or refused by a quota) a new pod once
// its backoff has passed.
func (r *Reconciler) recreatePod(ctx context.Context, p *pass, run contract.Runner) time.Duration {
	wait := FailureBackoff(run.Failures)
	if left := run.LastFailure.Add(wait).Sub(r.cfg.Clock.Now()); left > 0 && !run.LastFailure.IsZero() {
		return left
	}
	uid, err := r.ownerUID(ctx)
	if err != nil {
		return 5 * time.Second
	}
	_, refused := r.createPod(ctx, r.params(p.rs, uid, run.Name, p.d.ScaleSetID, run.RunnerID))
	switch {
	case refused == nil:
		return 0
	case isQuota(refused):
		p.podTrouble = true
		r.podRefused(p.rs, refused)
		return quotaRetry
	}
	p.podTrouble = true
	r.podRefused(p.rs, refused)
	r.deleteRunner(ctx, run, "its pod was refused")
	if client := p.client(); client != nil && run.RunnerID != 0 {
		_ = client.RemoveRunner(ctx, run.RunnerID)
	}
	return 5 * time.Second
}

// params are the inputs of a runner's objects; storageUID is the uid of the RunnerSet's ConfigMap.
func (r *Reconciler) params(rs *v1alpha1.RunnerSet, storageUID types.UID, name string, scaleSetID, runnerID int) contract.Params {
	return contract.Params{
		RunnerSet: rs, Name: name, Owner: contract.OwnerReference(r.name, storageUID), ScaleSetID: scaleSetID, RunnerID: runnerID,
		KubernetesModeServiceAccount: contract.KubernetesModeAccount(rs.Name),
		ProxySecretName:              rs.Name + "-runner-proxy",
		UserAgent:                    r.cfg.UserAgent,
		ProtectBusy:                  r.cfg.ProtectBusy,
	}
}

// ownerUID is the uid of the ConfigMap storing the RunnerSet: runner objects are owned by it,
// so the garbage collector removes them if everything else fails.
func (r *Reconciler) ownerUID(ctx context.Context) (types.UID, error) {
	if r.storageUID != "" {
		return r.storageUID, nil
	}
	cm, err := r.cfg.Kube.CoreV1().ConfigMaps(r.namespace).Get(ctx, contract.StorageName(r.name), metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("reading the RunnerSet's ConfigMap: %w", err)
	}
	r.storageUID = cm.UID
	return cm.UID, nil
}
