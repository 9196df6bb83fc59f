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
	"fmt"

	corev1 "k8s.io/api/core/v1"
)

// Why a busy runner's pod ended without its job ending: the cluster took it (these are re-run),
// or the runner's own limit did (LossDeadlineExceeded, never re-run).
const (
	LossEvicted   = "Evicted"
	LossPreempted = "Preempted"
	LossNodeLost  = "NodeLost"
	LossDeleted   = "Deleted"
	LossOOMKilled = "OOMKilled"
	LossKilled    = "Killed"
	// LossDeadlineExceeded: spec.maxRunnerLifetime ended the pod; the job ran longer than the
	// RunnerSet allows, and would again.
	LossDeadlineExceeded = "DeadlineExceeded"
)

// LossOf tells why a busy runner's pod is ending or ended, "" when its runner ended on its own
// (a job that fails makes the runner exit, never its pod fail). The pod's DisruptionTarget
// condition, which the kube-apiserver, scheduler, taint manager, pod GC and kubelet set before
// they delete a pod, names the cause best; then the pod's status; then a deletion by someone.
func LossOf(pod *corev1.Pod) (reason, message string) {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.DisruptionTarget && c.Status == corev1.ConditionTrue {
			return disruptionLoss(c.Reason), fmt.Sprintf("%s: %s", c.Reason, c.Message)
		}
	}
	switch pod.Status.Reason {
	case "Evicted", "Preempting", "Shutdown", "Terminated", "NodeLost":
		return disruptionLoss(pod.Status.Reason), pod.Status.Message
	case "DeadlineExceeded":
		return LossDeadlineExceeded, "the pod outlived spec.maxRunnerLifetime"
	}
	if t := runnerTerminated(pod); t != nil {
		switch {
		case t.Reason == "OOMKilled":
			return LossOOMKilled, "the runner container ran out of memory"
		case t.ExitCode == 137 || t.ExitCode == 143 || t.Signal != 0:
			return LossKilled, fmt.Sprintf("the runner container was killed (exit code %d)", t.ExitCode)
		}
	}
	if pod.DeletionTimestamp != nil {
		return LossDeleted, "the pod was deleted while its job ran"
	}
	return "", ""
}

func disruptionLoss(reason string) string {
	switch reason {
	case "PreemptionByScheduler", "Preempting":
		return LossPreempted
	case "DeletionByTaintManager", "DeletionByPodGC", "NodeLost":
		return LossNodeLost
	case "EvictionByEvictionAPI", "TerminationByKubelet", "Evicted", "Shutdown", "Terminated":
		return LossEvicted
	}
	return LossDeleted
}

// Rerunnable tells the losses a job is re-run after: the cluster's doing, not the job's.
func Rerunnable(reason string) bool {
	switch reason {
	case LossEvicted, LossPreempted, LossNodeLost, LossDeleted, LossOOMKilled, LossKilled:
		return true
	}
	return false
}
