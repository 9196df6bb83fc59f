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

package jobs

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/contract"
	"actions.dev/runnerset-apiserver/pkg/github/actions"
	"actions.dev/runnerset-apiserver/pkg/scaler/runners"
	"actions.dev/runnerset-apiserver/pkg/scaler/session"
)

// Reasons a job waits, besides the runners package's (Quota, PodsFailing, Unschedulable,
// ImagePullBackOff, RunnerStarting).
const (
	WaitMaxRunners  = "MaxRunners"
	WaitRateLimited = "RateLimited"
)

// Record applies one reconcile pass: the job messages of the Demand, why jobs wait, and the
// runners the cluster took from their jobs.
func (j *Journal) Record(rs *v1alpha1.RunnerSet, d session.Demand, res runners.Result) {
	now := j.cfg.Clock.Now()
	for _, m := range d.Jobs {
		j.message(rs, m, now)
	}
	j.waitReasons(rs, d, res.Waiting, now)
	for _, l := range res.Lost {
		j.lost(rs, l, now)
	}
}

// message applies one job message.
func (j *Journal) message(rs *v1alpha1.RunnerSet, m actions.JobMessage, now time.Time) {
	if m.RunnerRequestID == 0 {
		return
	}
	e := j.jobs[contract.WorkflowJobName(j.runnerSet, m.RunnerRequestID)]
	if e == nil {
		e = j.add(j.fromMessage(m, now))
	}
	switch m.MessageType {
	case actions.JobMessageAvailable:
		if contract.JobEnded(e.st.Phase) && e.st.Phase != v1alpha1.JobRerun { // offered again
			j.enter(e, v1alpha1.JobQueued, "", "", now)
		}
	case actions.JobMessageAssigned:
		if e.st.Phase == v1alpha1.JobQueued || e.st.Phase == v1alpha1.JobCanceled {
			e.st.Assigned = ptrTime(at(m.ScaleSetAssignTime, now))
			e.st.QueueDuration = duration(e.st.Queued, e.st.Assigned)
			j.enter(e, v1alpha1.JobAssigned, "", "", now)
		}
	case actions.JobMessageStarted:
		j.started(e, m, now)
	case actions.JobMessageCompleted:
		j.completed(rs, e, m, now)
	}
}

// fromMessage is a job first heard of through m: queued (the offer) unless m says more.
func (j *Journal) fromMessage(m actions.JobMessage, now time.Time) v1alpha1.WorkflowJobStatus {
	st := v1alpha1.WorkflowJobStatus{RunnerSet: j.runnerSet, Phase: v1alpha1.JobQueued, RequestID: m.RunnerRequestID, JobID: m.JobID,
		WorkflowRef: m.JobWorkflowRef, DisplayName: m.JobDisplayName, RunID: m.WorkflowRunID, EventName: m.EventName,
		Labels: slices.Clone(m.RequestLabels), Queued: ptrTime(at(m.QueueTime, now))}
	if m.OwnerName != "" || m.RepositoryName != "" {
		st.Repository = m.OwnerName + "/" + m.RepositoryName
	}
	st.Transitions = []v1alpha1.WorkflowJobTransition{{Phase: v1alpha1.JobQueued, Time: metav1.NewTime(now)}}
	j.linkRerun(&st)
	return st
}

// linkRerun ties a job to the lost job it re-runs: the same job of the same run, re-run by us.
func (j *Journal) linkRerun(st *v1alpha1.WorkflowJobStatus) {
	for name, e := range j.jobs {
		if e.st.Phase == v1alpha1.JobRerun && e.st.RerunAs == "" && e.st.RunID == st.RunID && e.st.DisplayName == st.DisplayName &&
			e.st.Repository == st.Repository {
			st.RerunOf = name
			e.st.RerunAs = contract.WorkflowJobName(j.runnerSet, st.RequestID)
			j.touch(e)
			return
		}
	}
}

func (j *Journal) started(e *entry, m actions.JobMessage, now time.Time) {
	if e.st.Phase != v1alpha1.JobQueued && e.st.Phase != v1alpha1.JobAssigned {
		return
	}
	if e.st.Assigned == nil {
		e.st.Assigned = ptrTime(at(m.ScaleSetAssignTime, now))
		e.st.QueueDuration = duration(e.st.Queued, e.st.Assigned)
	}
	e.st.Runner, e.st.Started = m.RunnerName, ptrTime(at(m.RunnerAssignTime, now))
	e.st.StartupDuration = duration(e.st.Assigned, e.st.Started)
	if pod, err := j.cfg.Pods.Pods(j.namespace).Get(m.RunnerName); err == nil {
		e.st.Node = pod.Spec.NodeName
	}
	j.byRunner[m.RunnerName] = contract.WorkflowJobName(j.runnerSet, e.st.RequestID)
	j.enter(e, v1alpha1.JobRunning, "", "", now)
}

// completed ends a job as GitHub says; a lost job that failed waits for its re-run instead.
func (j *Journal) completed(rs *v1alpha1.RunnerSet, e *entry, m actions.JobMessage, now time.Time) {
	if contract.JobEnded(e.st.Phase) && e.st.Phase != v1alpha1.JobCanceled {
		return
	}
	e.st.Result = m.Result
	e.st.Completed = ptrTime(at(m.FinishTime, now))
	e.st.ExecutionDuration = duration(e.st.Started, e.st.Completed)
	phase := phaseOf(m.Result)
	if e.st.Phase == v1alpha1.JobLost {
		j.lostCompleted(rs, e, phase, now)
		return
	}
	j.enter(e, phase, "", "", now)
}

func phaseOf(result string) v1alpha1.WorkflowJobPhase {
	switch strings.ToLower(result) {
	case "succeeded", "success":
		return v1alpha1.JobSucceeded
	case "canceled", "cancelled":
		return v1alpha1.JobCanceled
	}
	return v1alpha1.JobFailed
}

// waitReasons say why each job without a runner waits: one acquired but not assigned waits for
// GitHub to assign it, which it does only below maxRunners; an assigned one for a runner.
func (j *Journal) waitReasons(rs *v1alpha1.RunnerSet, d session.Demand, w runners.Waiting, now time.Time) {
	queued, assigned := runners.Waiting{}, w
	if d.Stats != nil && d.Stats.TotalAcquiredJobs > 0 && rs.Spec.MaxRunners != nil {
		queued = runners.Waiting{Reason: WaitMaxRunners, Message: fmt.Sprintf("the RunnerSet runs its maxRunners (%d) jobs; GitHub assigns this one when one ends", *rs.Spec.MaxRunners)}
	}
	if c := meta.FindStatusCondition(d.Conditions, v1alpha1.ConditionRateLimited); c != nil && c.Status == metav1.ConditionTrue {
		queued = runners.Waiting{Reason: WaitRateLimited, Message: c.Message}
		assigned = queued
	}
	for _, e := range j.jobs {
		switch e.st.Phase {
		case v1alpha1.JobQueued:
			j.enter(e, e.st.Phase, queued.Reason, queued.Message, now)
		case v1alpha1.JobAssigned:
			j.enter(e, e.st.Phase, assigned.Reason, assigned.Message, now)
		}
	}
}

func at(t, now time.Time) time.Time {
	if t.IsZero() {
		return now
	}
	return t
}
