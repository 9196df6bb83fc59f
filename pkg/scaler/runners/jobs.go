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
	"maps"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/klog/v2"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/contract"
	"actions.dev/runnerset-apiserver/pkg/github/actions"
)

// observeJobs records the job messages of a Demand in the ledger. They come in the same Demand
// as the statistics that count them, so the two always agree.
func (l *jobLedger) observeJobs(jobs []actions.JobMessage, now time.Time) {
	var started, completed []string
	for _, j := range jobs {
		switch j.MessageType {
		case actions.JobMessageStarted:
			started = append(started, j.RunnerName)
		case actions.JobMessageCompleted:
			completed = append(completed, j.RunnerName)
		}
	}
	if len(started)+len(completed) > 0 {
		l.observe(started, completed, now)
	}
}

// annotateJobs writes what GitHub said about runners' jobs onto their pods, so every replica
// shows it without asking GitHub: one patch per runner, whatever its messages, several at a
// time. Runners that ended are skipped: their pods are being deleted. It writes nothing of the
// Reconciler's, so it runs beside the clean-up of ended runners.
func (r *Reconciler) annotateJobs(ctx context.Context, rs *v1alpha1.RunnerSet, jobs []actions.JobMessage, ended map[string]bool) {
	patches := map[string]map[string]string{}
	for _, j := range jobs {
		if j.RunnerName == "" || ended[j.RunnerName] || (j.MessageType != actions.JobMessageStarted && j.MessageType != actions.JobMessageCompleted) {
			continue
		}
		if pod, err := r.cfg.Pods.Pods(r.namespace).Get(j.RunnerName); err != nil || pod.DeletionTimestamp != nil {
			continue // gone or going: nothing to show it on
		}
		if patches[j.RunnerName] == nil {
			patches[j.RunnerName] = map[string]string{}
		}
		maps.Copy(patches[j.RunnerName], r.jobAnnotations(rs, j))
	}
	sem := make(chan struct{}, r.cfg.CreateConcurrency)
	var wg sync.WaitGroup
	for name, a := range patches {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := r.patchAnnotations(ctx, "pods", name, a); err != nil && !apierrors.IsNotFound(err) {
				klog.FromContext(ctx).Error(err, "Recording the job on the runner pod failed", "runner", name)
			}
		})
	}
	wg.Wait()
}

// jobAnnotations are what a job message changes on its runner's pod: the job, and whether node
// autoscalers may take the pod's node (not while the job runs).
func (r *Reconciler) jobAnnotations(rs *v1alpha1.RunnerSet, j actions.JobMessage) map[string]string {
	out := map[string]string{}
	if r.cfg.ProtectBusy {
		out = contract.DisruptionAnnotations(rs, j.MessageType == actions.JobMessageStarted)
	}
	if j.MessageType == actions.JobMessageCompleted {
		maps.Copy(out, contract.JobCompletedAnnotations(j.Result, r.cfg.Clock.Now()))
		return out
	}
	started := j.RunnerAssignTime
	if started.IsZero() {
		started = r.cfg.Clock.Now()
	}
	maps.Copy(out, contract.JobStartedAnnotations(contract.Job{RequestID: j.RunnerRequestID, ID: j.JobID, Repository: j.OwnerName + "/" + j.RepositoryName,
		WorkflowRef: j.JobWorkflowRef, DisplayName: j.JobDisplayName, RunID: j.WorkflowRunID, Started: started}))
	return out
}
