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
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/contract"
	"actions.dev/runnerset-apiserver/pkg/github/actions"
)

// jobEnded records in the ledger that a runner's pod ended with exit code 0 (or 7).
func (r *Reconciler) jobEnded(run contract.Runner) jobEnd {
	return r.ledger.finished(run.Name, run.RunnerID, run.Job != nil, r.cfg.Clock.Now())
}

// finishRunners cleans up after runners that ran their job and exited, and removes those that
// should have (hungRunners), several at a time. The reconciler does it after creating new
// runners: when jobs end as others arrive, the new jobs' runners do not wait for the old ones'
// deletions, and a burst of jobs ending is cleaned up in parallel rather than one runner after
// the other.
func (r *Reconciler) finishRunners(ctx context.Context, p *pass, ended []endedRunner) {
	deregistered := make([]error, len(ended))
	sem := make(chan struct{}, r.cfg.CreateConcurrency)
	var wg sync.WaitGroup
	for i, run := range ended {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			deregistered[i] = r.finishRunner(ctx, p, run)
		})
	}
	wg.Wait()
	for i, run := range ended {
		r.finished(p, run, deregistered[i])
	}
}

// finishRunner deregisters a runner when GitHub may still hold it, then deletes its objects.
// GitHub removes an ephemeral runner with its job. One that ran no known job is deregistered
// now; one whose JobCompleted is still to come only if it never comes (finishedAwaiting); a
// hung one too, in case GitHub still holds it.
func (r *Reconciler) finishRunner(ctx context.Context, p *pass, run endedRunner) error {
	var err error
	if run.end.deregisters() && p.client() != nil && run.RunnerID != 0 {
		err = removeRegistration(ctx, p.client(), run.RunnerID)
	}
	r.deleteObjects(ctx, run.Runner, "")
	return err
}

// finished records what finishRunner did to one runner: its objects expected gone, the event
// of a runner the server ended, and a failed deregistration.
func (r *Reconciler) finished(p *pass, run endedRunner, err error) {
	r.expect.expectDeleted(run.Name, r.cfg.Clock.Now())
	if run.reason != "" {
		r.ledger.forget(run.Name)
		r.event(p.rs, corev1.EventTypeWarning, run.reason, "Runner %s removed: %s", run.Name, run.why)
	}
	if err != nil {
		r.failed()
		r.event(p.rs, corev1.EventTypeWarning, "DeregistrationFailed", "Runner %s (id %d) finished but could not be deregistered: %v", run.Name, run.RunnerID, err)
	}
}

func removeRegistration(ctx context.Context, client GitHub, runnerID int) error {
	err := client.RemoveRunner(ctx, runnerID)
	if errors.Is(err, actions.ErrRunnerNotFound) {
		return nil
	}
	return err
}

// deregister removes a finished runner's registration on GitHub. If GitHub refuses, the drift
// check removes the registration later.
func (r *Reconciler) deregister(ctx context.Context, p *pass, runnerID int, name string) {
	if p.client() == nil || runnerID == 0 {
		return
	}
	if err := removeRegistration(ctx, p.client(), runnerID); err != nil {
		r.failed()
		if name == "" {
			name = "of a finished job"
		}
		r.event(p.rs, corev1.EventTypeWarning, "DeregistrationFailed", "Runner %s (id %d) finished but could not be deregistered: %v", name, runnerID, err)
	}
}

// deprecated blocks creation until the template changes: the runner exited 7, its version is
// too old for GitHub. A runner known to be older than GitHub's minimum version sets
// RunnerVersionTooOld, naming the minimum; any other sets RunnerVersionDeprecated.
func (r *Reconciler) deprecated(p *pass, run contract.Runner) {
	r.block(p.rs, 0)
	if v := versionVerdictOf(run.Pod); v.tooOld {
		r.tooOld(p, run, v)
		return
	}
	r.setCondition(p.rs.Generation, v1alpha1.ConditionRunnerVersionDeprecated, metav1.ConditionTrue, ReasonDeprecated,
		"runner "+run.Name+" exited with code 7: its version is too old for GitHub; update the runner image in spec.template")
	r.event(p.rs, corev1.EventTypeWarning, ReasonDeprecated, "Runner %s exited 7 (version deprecated); no new runners until spec.template changes", run.Name)
}

// tooOld reports a runner GitHub refused for being older than its minimum version.
func (r *Reconciler) tooOld(p *pass, run contract.Runner, v versionVerdict) {
	version := v.version
	if version == "" {
		version = "unknown"
	}
	r.setCondition(p.rs.Generation, v1alpha1.ConditionRunnerVersionTooOld, metav1.ConditionTrue, ReasonTooOld,
		fmt.Sprintf("runner %s exited with code 7: GitHub refused its version (%s) as older than the minimum runner version %s; use a runner image of version %s or newer in spec.template",
			run.Name, version, v.minimum, v.minimum))
	r.event(p.rs, corev1.EventTypeWarning, ReasonTooOld, "Runner %s (version %s) is older than GitHub's minimum runner version %s; no new runners until spec.template changes",
		run.Name, version, v.minimum)
}

// runnerFailed handles a failed pod: a busy runner's job is lost, so it is removed; an idle one
// gets a new pod after a backoff, at most MaxFailures times.
func (r *Reconciler) runnerFailed(ctx context.Context, p *pass, run contract.Runner) time.Duration {
	failures := run.Failures + 1
	r.setCondition(p.rs.Generation, v1alpha1.ConditionPodsFailing, metav1.ConditionTrue, ReasonPodFailures, fmt.Sprintf("runner %s: pod failed (%d times)", run.Name, failures))
	if run.Job != nil || failures > MaxFailures {
		why := fmt.Sprintf("its pod failed %d times", failures)
		if run.Job != nil {
			why = "its pod failed while running a job"
		}
		r.event(p.rs, corev1.EventTypeWarning, "RunnerFailed", "Runner %s removed: %s", run.Name, why)
		if client := p.client(); client != nil && run.RunnerID != 0 {
			_ = client.RemoveRunner(ctx, run.RunnerID)
		}
		r.deleteRunner(ctx, run, why)
		return 0
	}
	r.event(p.rs, corev1.EventTypeWarning, "RunnerFailed", "Runner %s pod failed (%d/%d); a new pod follows in %s", run.Name, failures, MaxFailures, FailureBackoff(failures))
	if err := r.patchAnnotations(ctx, "secrets", run.Name, contract.FailureAnnotations(failures, r.cfg.Clock.Now())); err != nil {
		klog.FromContext(ctx).Error(err, "Recording a runner failure failed", "runner", run.Name)
	}
	err := r.cfg.Kube.CoreV1().Pods(r.namespace).Delete(ctx, run.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &run.Pod.UID}})
	if err != nil && !apierrors.IsNotFound(err) {
		klog.FromContext(ctx).Error(err, "Deleting a failed runner pod failed", "runner", run.Name)
	}
	return FailureBackoff(failures) + time.Second
}

// deleteRunner deletes a runner's Secret and pod and expects them gone.
func (r *Reconciler) deleteRunner(ctx context.Context, run contract.Runner, why string) {
	if r.deleteObjects(ctx, run, why) {
		r.expect.expectDeleted(run.Name, r.cfg.Clock.Now())
	}
}

// deleteObjects deletes a runner's Secret, then its pod. The Secret goes first: a runner whose
// Secret is left and whose pod is gone is one that gets a new pod (a failed start), and would,
// between the two deletions. It writes nothing of the Reconciler's, so runners can be deleted
// in parallel.
func (r *Reconciler) deleteObjects(ctx context.Context, run contract.Runner, why string) bool {
	logger := klog.FromContext(ctx)
	if why != "" {
		logger.Info("Deleting runner", "runner", run.Name, "why", why)
	}
	if err := r.cfg.Kube.CoreV1().Secrets(r.namespace).Delete(ctx, run.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		logger.Error(err, "Deleting runner Secret failed", "runner", run.Name)
		return false
	}
	if run.Pod != nil {
		if err := r.cfg.Kube.CoreV1().Pods(r.namespace).Delete(ctx, run.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			logger.Error(err, "Deleting runner pod failed", "runner", run.Name)
		}
	}
	return true
}

// podsHealthy clears a PodsFailing that a quota, failed pods or Pod Security set, once no runner
// pod is failing or refused any more. (An invalid template is cleared when the spec changes.)
func (r *Reconciler) podsHealthy() {
	c := meta.FindStatusCondition(r.conditions, v1alpha1.ConditionPodsFailing)
	if c != nil && c.Status == metav1.ConditionTrue && (c.Reason == ReasonQuotaExceeded || c.Reason == ReasonPodFailures || c.Reason == ReasonPodSecurity) {
		r.setCondition(c.ObservedGeneration, v1alpha1.ConditionPodsFailing, metav1.ConditionFalse, ReasonRunnersHealthy, "runner pods are created and run again")
	}
}

// gitHubError records a failed registration: the credentials refused (401) is the last word on
// them (Result.Unauthorized), anything else counts towards how long GitHub has been failing.
func (r *Reconciler) gitHubError(err error) {
	if errors.Is(err, actions.ErrUnauthorized) {
		r.unauthorized = &Unauthorized{At: r.cfg.Clock.Now(), Err: err}
		return
	}
	r.failed()
}

func (r *Reconciler) gitHubOK() {
	r.ok()
	r.unauthorized = nil
}

// Unauthorized is GitHub's refusal of the credentials, met by the cluster side.
type Unauthorized struct {
	At  time.Time
	Err error
}

// patchAnnotations merges annotations into one of the RunnerSet's pods or Secrets.
func (r *Reconciler) patchAnnotations(ctx context.Context, resource, name string, annotations map[string]string) error {
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": annotations}})
	var err error
	if resource == "secrets" {
		_, err = r.cfg.Kube.CoreV1().Secrets(r.namespace).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{})
	} else {
		_, err = r.cfg.Kube.CoreV1().Pods(r.namespace).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{})
	}
	return err
}
