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

package contract

import (
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
)

// StoragePrefix is put before a RunnerSet's name to name the ConfigMap that stores it. Runner
// pods and Secrets are owned by that ConfigMap, so the garbage collector removes them with it.
const StoragePrefix = "runnerset."

// StorageName is the name of the ConfigMap that stores the RunnerSet name.
func StorageName(runnerSet string) string { return StoragePrefix + runnerSet }

// AnnotationJobCompleted is when the server learned that GitHub completed the runner's job
// (RFC 3339), written with AnnotationJobResult. It is the durable start of the grace a runner
// has to exit after its job (a runner still running after it is hung and removed), so that a
// new leader times it from the same moment. The scaler is its one writer.
const AnnotationJobCompleted = "actions.dev/job-completed"

// Job is what GitHub said about the job of a runner, as the scaler wrote it onto its pod.
type Job struct {
	RequestID   int64
	ID          string
	Repository  string
	WorkflowRef string
	DisplayName string
	RunID       int64
	Started     time.Time
	// Result is set once GitHub said the job completed; Completed is when the server learned
	// it (zero if it was recorded without a time, by an older server).
	Result    string
	Completed time.Time
}

// Running tells a job that started and has not completed: its runner is busy.
func (j *Job) Running() bool { return j != nil && j.Result == "" }

// JobOf reads a runner pod's job, nil when GitHub has reported none.
func JobOf(pod *corev1.Pod) *Job {
	a := pod.Annotations
	if a[v1alpha1.AnnotationJobRequestID] == "" {
		return nil
	}
	j := &Job{
		RequestID: atoi64(a[v1alpha1.AnnotationJobRequestID]), ID: a[v1alpha1.AnnotationJobID],
		Repository: a[v1alpha1.AnnotationJobRepository], WorkflowRef: a[v1alpha1.AnnotationJobWorkflowRef],
		DisplayName: a[v1alpha1.AnnotationJobDisplayName], RunID: atoi64(a[v1alpha1.AnnotationJobRunID]),
		Result: a[v1alpha1.AnnotationJobResult],
	}
	if t, err := time.Parse(time.RFC3339, a[v1alpha1.AnnotationJobStarted]); err == nil {
		j.Started = t
	}
	if t, err := time.Parse(time.RFC3339, a[AnnotationJobCompleted]); err == nil {
		j.Completed = t
	}
	return j
}

// JobStartedAnnotations are what a runner pod carries once GitHub said its job started.
func JobStartedAnnotations(j Job) map[string]string {
	return map[string]string{
		v1alpha1.AnnotationJobRequestID:   strconv.FormatInt(j.RequestID, 10),
		v1alpha1.AnnotationJobID:          j.ID,
		v1alpha1.AnnotationJobRepository:  j.Repository,
		v1alpha1.AnnotationJobWorkflowRef: j.WorkflowRef,
		v1alpha1.AnnotationJobDisplayName: j.DisplayName,
		v1alpha1.AnnotationJobRunID:       strconv.FormatInt(j.RunID, 10),
		v1alpha1.AnnotationJobStarted:     j.Started.UTC().Format(time.RFC3339),
		v1alpha1.AnnotationRunnerOnline:   "true",
	}
}

// JobCompletedAnnotations are what a runner pod carries once GitHub said its job completed, at
// the time the server learned it.
func JobCompletedAnnotations(result string, at time.Time) map[string]string {
	if result == "" {
		result = "completed"
	}
	return map[string]string{v1alpha1.AnnotationJobResult: result, AnnotationJobCompleted: at.UTC().Format(time.RFC3339)}
}

// OnlineAnnotations record whether GitHub lists the runner online.
func OnlineAnnotations(online bool) map[string]string {
	return map[string]string{v1alpha1.AnnotationRunnerOnline: strconv.FormatBool(online)}
}

// Online reads what OnlineAnnotations recorded: "" while unknown.
func Online(pod *corev1.Pod) string { return pod.Annotations[v1alpha1.AnnotationRunnerOnline] }

// Unschedulable is the scheduler's word that no node can take pod, if it said so.
func Unschedulable(pod *corev1.Pod) (*corev1.PodCondition, bool) {
	for i := range pod.Status.Conditions {
		c := &pod.Status.Conditions[i]
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
			return c, true
		}
	}
	return nil, false
}

// FailureAnnotations record on a runner's Secret, which outlives its pods, how often its pod
// failed and when last.
func FailureAnnotations(failures int, at time.Time) map[string]string {
	return map[string]string{
		v1alpha1.AnnotationFailures:    strconv.Itoa(failures),
		v1alpha1.AnnotationLastFailure: at.UTC().Format(time.RFC3339),
	}
}

// Phase is where one runner is in its life.
type Phase string

const (
	// PhasePending: registered on GitHub, its pod not running yet (or waiting to be re-created).
	PhasePending Phase = "Pending"
	// PhaseIdle: pod running, no job.
	PhaseIdle Phase = "Idle"
	// PhaseBusy: GitHub reported a job started on it, or its job completed and its process is
	// about to exit: either way it is not to be removed.
	PhaseBusy Phase = "Busy"
	// PhaseSucceeded: the runner process exited 0 after its job; to be cleaned up.
	PhaseSucceeded Phase = "Succeeded"
	// PhaseDeprecated: the runner exited 7, its version is too old.
	PhaseDeprecated Phase = "Deprecated"
	// PhaseFailed: the pod failed.
	PhaseFailed Phase = "Failed"
)

// Runner is one runner as its objects show it: its Secret (the durable record, holding the JIT
// configuration) and its pod, if one exists.
type Runner struct {
	Name         string
	RunnerID     int
	ScaleSetID   int
	Created      time.Time
	TemplateHash string
	Phase        Phase
	// Failures counts failed pods of this runner; LastFailure is when the last one failed.
	Failures    int
	LastFailure time.Time
	Job         *Job
	Secret      *corev1.Secret
	Pod         *corev1.Pod
}

// Classify reads a runner from its Secret and pod (nil when it has none).
func Classify(secret *corev1.Secret, pod *corev1.Pod) Runner {
	a := secret.Annotations
	r := Runner{Name: secret.Name, Secret: secret, Created: secret.CreationTimestamp.Time, Phase: PhasePending,
		RunnerID: atoi(a[v1alpha1.AnnotationRunnerID]), ScaleSetID: atoi(a[v1alpha1.AnnotationScaleSetID]),
		Failures: atoi(a[v1alpha1.AnnotationFailures])}
	if t, err := time.Parse(time.RFC3339, a[v1alpha1.AnnotationLastFailure]); err == nil {
		r.LastFailure = t
	}
	if pod == nil {
		return r
	}
	r.Pod, r.Job = pod, JobOf(pod)
	r.TemplateHash = pod.Annotations[v1alpha1.AnnotationTemplateHash]
	r.Phase = podPhase(pod, r.Job != nil)
	return r
}

func podPhase(pod *corev1.Pod, hadJob bool) Phase {
	if pod.DeletionTimestamp != nil {
		// Going away: it still holds its slot until it is gone.
		if hadJob {
			return PhaseBusy
		}
		return PhasePending
	}
	if term := runnerTerminated(pod); term != nil {
		switch term.ExitCode {
		case 0:
			return PhaseSucceeded
		case 7:
			return PhaseDeprecated
		}
		return PhaseFailed
	}
	switch {
	case pod.Status.Phase == corev1.PodFailed || initContainerFailed(pod):
		return PhaseFailed
	case pod.Status.Phase == corev1.PodSucceeded:
		return PhaseSucceeded
	case hadJob:
		return PhaseBusy
	case pod.Status.Phase == corev1.PodRunning:
		return PhaseIdle
	}
	return PhasePending
}

func runnerTerminated(pod *corev1.Pod) *corev1.ContainerStateTerminated {
	for _, cs := range pod.Status.ContainerStatuses {
		if cs.Name == v1alpha1.RunnerContainerName && cs.State.Terminated != nil {
			return cs.State.Terminated
		}
	}
	return nil
}

func initContainerFailed(pod *corev1.Pod) bool {
	for _, cs := range pod.Status.InitContainerStatuses {
		if t := cs.State.Terminated; t != nil && t.ExitCode != 0 {
			return true
		}
	}
	return false
}

// GitHubState is GitHub's side of a runner as far as its pod tells: a runner whose job runs is
// online and busy; one whose job completed is offline (an ephemeral runner is removed with its
// job); otherwise what the scaler last recorded, or unknown.
func GitHubState(pod *corev1.Pod) (status string, busy bool) {
	if j := JobOf(pod); j != nil {
		if j.Running() {
			return "online", true
		}
		return "offline", false
	}
	switch Online(pod) {
	case "true":
		return "online", false
	case "false":
		return "offline", false
	}
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return "offline", false
	}
	return "unknown", false
}

// OwnerReference points a runner's objects at the ConfigMap storing its RunnerSet.
func OwnerReference(runnerSet string, storageUID types.UID) metav1.OwnerReference {
	return metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: StorageName(runnerSet), UID: storageUID, BlockOwnerDeletion: ptr.To(false)}
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

func atoi64(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}
