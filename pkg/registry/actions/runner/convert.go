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

// Package runner serves runners.actions.dev: a read-only view that joins each runner pod with
// the GitHub facts the scaler wrote onto it, plus the runners GitHub knows that have no pod.
package runner

import (
	"strconv"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"actions.dev/runnerset-apiserver/pkg/apis/actions"
	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/contract"
)

// FromPod builds the Runner a pod stands for. Its identity (name, uid, resourceVersion, labels,
// creation time) is the pod's, so watches and optimistic concurrency carry over.
func FromPod(pod *corev1.Pod) *actions.Runner {
	a := pod.Annotations
	r := &actions.Runner{
		ObjectMeta: metav1.ObjectMeta{
			Name:              pod.Name,
			Namespace:         pod.Namespace,
			UID:               pod.UID,
			ResourceVersion:   pod.ResourceVersion,
			CreationTimestamp: pod.CreationTimestamp,
			DeletionTimestamp: pod.DeletionTimestamp,
			Labels:            pod.Labels,
		},
		Status: actions.RunnerStatus{
			RunnerSet:  pod.Labels[v1alpha1.LabelRunnerSet],
			ScaleSetID: atoi(a[v1alpha1.AnnotationScaleSetID]),
			RunnerID:   atoi(a[v1alpha1.AnnotationRunnerID]),
			Pod:        podState(pod),
		},
	}
	if j := contract.JobOf(pod); j != nil {
		job := &actions.RunnerJob{RequestID: j.RequestID, JobID: j.ID, Repository: j.Repository, WorkflowRef: j.WorkflowRef,
			DisplayName: j.DisplayName, RunID: j.RunID, Result: j.Result}
		if !j.Started.IsZero() {
			job.Started = &metav1.Time{Time: j.Started}
		}
		r.Status.Job = job
	}
	status, busy := contract.GitHubState(pod)
	r.Status.GitHub = actions.RunnerGitHubState{Status: status, Busy: busy}
	if r.Status.RunnerID == 0 {
		r.Status.Drift = actions.DriftClusterOnly
	}
	return r
}

func podState(pod *corev1.Pod) *actions.RunnerPod {
	p := &actions.RunnerPod{Phase: string(pod.Status.Phase), Node: pod.Spec.NodeName, Reason: pod.Status.Reason}
	for _, cs := range pod.Status.ContainerStatuses {
		p.Restarts += cs.RestartCount
		if cs.Name != v1alpha1.RunnerContainerName {
			continue
		}
		switch {
		case cs.State.Waiting != nil && cs.State.Waiting.Reason != "":
			p.Reason = cs.State.Waiting.Reason
		case cs.State.Terminated != nil:
			p.Reason = cs.State.Terminated.Reason
			if p.Reason == "" {
				p.Reason = "ExitCode:" + strconv.Itoa(int(cs.State.Terminated.ExitCode))
			}
		}
	}
	if pod.DeletionTimestamp != nil {
		p.Reason = "Terminating"
	}
	return p
}

// FromGitHub builds the Runner for a runner GitHub lists with no pod in the cluster.
func FromGitHub(rs *actions.RunnerSet, gr actions.GitHubRunner) *actions.Runner {
	r := &actions.Runner{
		ObjectMeta: metav1.ObjectMeta{
			Name:      gr.Name,
			Namespace: rs.Namespace,
			Labels:    map[string]string{v1alpha1.LabelRunnerSet: rs.Name},
		},
		Status: actions.RunnerStatus{
			RunnerSet:  rs.Name,
			ScaleSetID: rs.Status.ScaleSetID,
			RunnerID:   gr.ID,
			GitHub:     actions.RunnerGitHubState{Status: gr.Status, Busy: gr.Busy},
			Drift:      actions.DriftGitHubOnly,
		},
	}
	if gr.FirstSeen != nil {
		r.CreationTimestamp = *gr.FirstSeen
	}
	return r
}

func atoi(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}
