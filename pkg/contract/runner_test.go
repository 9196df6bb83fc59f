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
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
)

func TestClassify(t *testing.T) {
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "r", Annotations: map[string]string{
		v1alpha1.AnnotationRunnerID: "12", v1alpha1.AnnotationFailures: "2", v1alpha1.AnnotationLastFailure: "2026-01-01T00:00:00Z",
	}}}
	r := Classify(secret, nil)
	assert.Equal(t, PhasePending, r.Phase)
	assert.Equal(t, 12, r.RunnerID)
	assert.Equal(t, 2, r.Failures)
	assert.Equal(t, 2026, r.LastFailure.Year())

	pod := func(phase corev1.PodPhase, exit *int32, annotations map[string]string) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "r", Annotations: annotations}, Status: corev1.PodStatus{Phase: phase}}
		if exit != nil {
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "runner", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: *exit}}}}
		}
		return p
	}
	job := map[string]string{v1alpha1.AnnotationJobRequestID: "5"}
	assert.Equal(t, PhasePending, Classify(secret, pod(corev1.PodPending, nil, nil)).Phase)
	assert.Equal(t, PhaseIdle, Classify(secret, pod(corev1.PodRunning, nil, nil)).Phase)
	assert.Equal(t, PhaseBusy, Classify(secret, pod(corev1.PodRunning, nil, job)).Phase)
	assert.Equal(t, PhaseSucceeded, Classify(secret, pod(corev1.PodSucceeded, ptr.To[int32](0), job)).Phase)
	assert.Equal(t, PhaseSucceeded, Classify(secret, pod(corev1.PodFailed, ptr.To[int32](0), nil)).Phase, "a failing sidecar does not hide a finished runner")
	assert.Equal(t, PhaseDeprecated, Classify(secret, pod(corev1.PodFailed, ptr.To[int32](7), nil)).Phase)
	assert.Equal(t, PhaseFailed, Classify(secret, pod(corev1.PodFailed, ptr.To[int32](1), nil)).Phase)
	assert.Equal(t, PhaseFailed, Classify(secret, pod(corev1.PodFailed, nil, nil)).Phase)

}

// TestJobCompletedRecordsWhen: the completion's time is kept on the pod, so the grace a runner
// has to exit after its job survives a change of leader; a pod annotated without it reads zero.
func TestJobCompletedRecordsWhen(t *testing.T) {
	at := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	a := JobStartedAnnotations(Job{RequestID: 5, Started: at.Add(-time.Hour)})
	for k, v := range JobCompletedAnnotations("", at) {
		a[k] = v
	}
	j := JobOf(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Annotations: a}})
	assert.Equal(t, "completed", j.Result)
	assert.True(t, at.Equal(j.Completed), "completed at %s, want %s", j.Completed, at)

	delete(a, AnnotationJobCompleted)
	assert.True(t, JobOf(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Annotations: a}}).Completed.IsZero())
}
