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
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/contract"
)

// Why an assigned job has no runner yet.
const (
	WaitQuota            = "Quota"
	WaitPodsFailing      = "PodsFailing"
	WaitUnschedulable    = "Unschedulable"
	WaitImagePullBackOff = "ImagePullBackOff"
	WaitRunnerStarting   = "RunnerStarting"
)

// Waiting is why jobs assigned to the RunnerSet wait for a runner.
type Waiting struct {
	Reason, Message string
}

// waiting reads, from the pod conditions and the runners not yet running, what holds the next
// job back: runners refused or failing first (no runner comes), then pods the cluster cannot
// place or pull, then runners on their way.
func (r *Reconciler) waiting(live []contract.Runner) Waiting {
	if c := meta.FindStatusCondition(r.conditions, v1alpha1.ConditionPodsFailing); c != nil && c.Status == metav1.ConditionTrue {
		if c.Reason == ReasonQuotaExceeded {
			return Waiting{WaitQuota, c.Message}
		}
		return Waiting{WaitPodsFailing, c.Message}
	}
	starting := 0
	for _, run := range live {
		if run.Phase != contract.PhasePending {
			continue
		}
		starting++
		if w, ok := podWaiting(run.Pod); ok {
			return w
		}
	}
	if starting > 0 {
		return Waiting{WaitRunnerStarting, fmt.Sprintf("%d runners are starting", starting)}
	}
	return Waiting{}
}

// podWaiting tells a pending runner pod the cluster cannot place, or whose image it cannot pull.
func podWaiting(pod *corev1.Pod) (Waiting, bool) {
	if pod == nil {
		return Waiting{}, false
	}
	if c, ok := contract.Unschedulable(pod); ok {
		return Waiting{WaitUnschedulable, fmt.Sprintf("pod %s: %s", pod.Name, c.Message)}, true
	}
	for _, cs := range pod.Status.ContainerStatuses {
		if w := cs.State.Waiting; w != nil && (w.Reason == "ImagePullBackOff" || w.Reason == "ErrImagePull") {
			return Waiting{WaitImagePullBackOff, fmt.Sprintf("pod %s, container %s: %s", pod.Name, cs.Name, w.Message)}, true
		}
	}
	return Waiting{}, false
}
