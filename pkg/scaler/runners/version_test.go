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
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/record"
)

// The simulator's refusal of a runner below the minimum, and GitHub's refusal of a runner left
// behind by the 30-day rule (field reports).
const (
	floorRefusal     = "Runner version v2.328.0 is deprecated and cannot receive messages. The minimum supported runner version is v2.329.0."
	deprecatedNotice = "Runner version v2.317.0 is deprecated and cannot receive messages."
)

// exited7 makes a runner pod whose runner container (of image) exited 7 saying message.
func exited7(pod *corev1.Pod, image, message string) *corev1.Pod {
	pod.Spec.Containers = []corev1.Container{{Name: "runner", Image: image}}
	pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "runner",
		State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 7, Reason: "Error", Message: message}}}}
	return pod
}

func TestVersionVerdictOf(t *testing.T) {
	for _, tc := range []struct {
		name, image, message   string
		wantVersion, wantFloor string
		wantTooOld             bool
	}{
		{"refusal naming the minimum", "ghcr.io/actions/actions-runner:latest", floorRefusal, "2.328.0", "2.329.0", true},
		{"GitHub's minimum wins over ours", "", "Runner version v2.330.0 is deprecated and cannot receive messages. The minimum supported runner version is v2.331.0.", "2.330.0", "2.331.0", true},
		{"refusal without a minimum, below ours", "", deprecatedNotice, "2.317.0", "2.329.0", true},
		{"refusal without a minimum, above ours: deprecated", "", "Runner version v2.330.0 is deprecated and cannot receive messages.", "2.330.0", "2.329.0", false},
		{"no message, old image", "ghcr.io/actions/actions-runner:2.328.0", "", "2.328.0", "2.329.0", true},
		{"no message, image at the minimum", "ghcr.io/actions/actions-runner:2.329.0", "", "2.329.0", "2.329.0", false},
		{"no message, unversioned image", "ghcr.io/actions/actions-runner:latest", "", "", "2.329.0", false},
		{"no message, another image", "ghcr.io/acme/runner:1.0.0", "", "", "2.329.0", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, p := newWorld(t).runner("rs-x", 11, corev1.PodFailed, nil)
			v := versionVerdictOf(exited7(p, tc.image, tc.message))
			assert.Equal(t, versionVerdict{version: tc.wantVersion, minimum: tc.wantFloor, tooOld: tc.wantTooOld}, v)
		})
	}
	// A container restarted since keeps the message in its last termination state.
	_, p := newWorld(t).runner("rs-x", 11, corev1.PodRunning, nil)
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "runner", LastTerminationState: corev1.ContainerState{
		Terminated: &corev1.ContainerStateTerminated{ExitCode: 7, Message: floorRefusal}}}}
	assert.True(t, versionVerdictOf(p).tooOld)
	assert.False(t, versionVerdictOf(nil).tooOld)
}

// TestReconcileHoldsRunnersTooOldForGitHub: a runner GitHub refused for being older than the
// minimum version exited 7. RunnerVersionTooOld names the minimum, creation is held however
// long until spec.template changes, and then runners are created again.
func TestReconcileHoldsRunnersTooOldForGitHub(t *testing.T) {
	for _, tc := range []struct {
		name, image, message string
	}{
		{"the refusal in the termination message", "ghcr.io/actions/actions-runner:latest", floorRefusal},
		{"an actions-runner image below the minimum", "ghcr.io/actions/actions-runner:2.328.0", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := newWorld(t)
			s, p := base.runner("rs-old1", 11, corev1.PodFailed, nil)
			w := newWorld(t, s, exited7(p, tc.image, tc.message))
			events := record.NewFakeRecorder(10)
			w.r.cfg.Recorder = events
			ctx := context.Background()

			res := w.r.Reconcile(ctx, w.rs, w.demand(2))
			c := meta.FindStatusCondition(res.Conditions, "RunnerVersionTooOld")
			require.NotNil(t, c, "conditions %+v", res.Conditions)
			assert.Equal(t, metav1.ConditionTrue, c.Status)
			assert.Equal(t, ReasonTooOld, c.Reason)
			assert.Contains(t, c.Message, "minimum runner version 2.329.0")
			assert.Contains(t, c.Message, "2.328.0")
			assert.False(t, meta.IsStatusConditionTrue(res.Conditions, "RunnerVersionDeprecated"), "one condition says it")
			assert.Empty(t, w.writes("create", "pods"), "no runner is created to be refused again")
			assert.Equal(t, []string{"rs-old1"}, w.writes("delete", "secrets"), "the refused runner is cleaned up")
			assert.Equal(t, []int{11}, w.gh.removed, "and deregistered")
			require.Len(t, events.Events, 1)
			assert.True(t, strings.HasPrefix(<-events.Events, "Warning RunnerVersionTooOld Runner rs-old1 (version 2.328.0) is older than GitHub's minimum runner version 2.329.0"))

			w.clock.Step(time.Hour)
			w.r.Reconcile(ctx, w.rs, w.demand(2))
			assert.Empty(t, w.writes("create", "pods"), "time alone does not lift it")

			w.rs.Generation = 2 // spec.template changed: a newer image
			res = w.r.Reconcile(ctx, w.rs, w.demand(2))
			assert.Len(t, w.writes("create", "pods"), 2)
			assert.Equal(t, metav1.ConditionFalse, meta.FindStatusCondition(res.Conditions, "RunnerVersionTooOld").Status)
		})
	}
}

// TestReconcileDeprecatedRunnerIsNotTooOld: exit 7 of a runner not known to be below the
// minimum (GitHub's other reasons to deprecate a version) keeps RunnerVersionDeprecated.
func TestReconcileDeprecatedRunnerIsNotTooOld(t *testing.T) {
	base := newWorld(t)
	s, p := base.runner("rs-old1", 11, corev1.PodFailed, nil)
	w := newWorld(t, s, exited7(p, "ghcr.io/actions/actions-runner:2.330.0", ""))
	res := w.r.Reconcile(context.Background(), w.rs, w.demand(2))
	assert.True(t, meta.IsStatusConditionTrue(res.Conditions, "RunnerVersionDeprecated"))
	assert.Nil(t, meta.FindStatusCondition(res.Conditions, "RunnerVersionTooOld"))
	assert.Empty(t, w.writes("create", "pods"), "creation is held as well")

	w.rs.Generation = 2
	res = w.r.Reconcile(context.Background(), w.rs, w.demand(2))
	assert.Nil(t, meta.FindStatusCondition(res.Conditions, "RunnerVersionTooOld"), "a spec change adds no condition that was never set")
}

func TestNewKeepsRunnerVersionTooOld(t *testing.T) {
	r := New(Config{}, "ns", "rs", []metav1.Condition{{Type: "RunnerVersionTooOld", Status: metav1.ConditionTrue}})
	require.Len(t, r.conditions, 1)
}
