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
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stesting "k8s.io/client-go/testing"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/contract"
	"actions.dev/runnerset-apiserver/pkg/github/actions"
	"actions.dev/runnerset-apiserver/pkg/scaler/session"
)

// objects lists a runner's Secret and pod (when it has one) for newWorld.
func objects(s *corev1.Secret, p *corev1.Pod) []runtime.Object {
	if p == nil {
		return []runtime.Object{s}
	}
	return []runtime.Object{s, p}
}

// prepared is a world holding one runner made by the world's own helper.
func prepared(t *testing.T, name string, id int, phase corev1.PodPhase, annotations map[string]string) *world {
	return newWorld(t, objects(newWorld(t).runner(name, id, phase, annotations))...)
}

func podsFailing(res Result) *metav1.Condition {
	return meta.FindStatusCondition(res.Conditions, v1alpha1.ConditionPodsFailing)
}

func TestReconcileCreatesWhatGitHubAsks(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()

	res := w.r.Reconcile(ctx, w.rs, w.demand(3))
	assert.Equal(t, 3, res.Desired)
	assert.Equal(t, 3, res.Current)
	assert.Len(t, w.writes("create", "secrets"), 3)
	assert.Len(t, w.writes("create", "pods"), 3)
	assert.ElementsMatch(t, w.writes("create", "secrets"), w.writes("create", "pods"), "every runner's Secret and pod share its name")

	// The caches have not seen them yet: the expectations stop a second round of creations.
	w.r.Reconcile(ctx, w.rs, w.demand(3))
	assert.Len(t, w.writes("create", "pods"), 3, "runners created but not cached yet count")
}

func TestReconcileWaitsForADemandItCanActOn(t *testing.T) {
	w := newWorld(t)
	d := w.demand(2)
	d.Client = nil
	res := w.r.Reconcile(context.Background(), w.rs, d)
	assert.Equal(t, 2, res.Desired)
	assert.Empty(t, w.writes("create", "secrets"), "nothing is created without a client to register runners")

	d = w.demand(2)
	d.ScaleSetID = 0
	w.r.Reconcile(context.Background(), w.rs, d)
	assert.Empty(t, w.writes("create", "secrets"), "nor without a scale set")
}

func TestReconcileRemovesIdleRunnersOnly(t *testing.T) {
	base := newWorld(t)
	idleS, idleP := base.runner("rs-idle1", 11, corev1.PodRunning, nil)
	busyS, busyP := base.runner("rs-busy1", 12, corev1.PodRunning, contract.JobStartedAnnotations(contract.Job{RequestID: 5, ID: "j5"}))
	w := newWorld(t, idleS, idleP, busyS, busyP)

	res := w.r.Reconcile(context.Background(), w.rs, w.demand(0))
	assert.Equal(t, []int{11}, w.gh.removed, "the idle runner is deregistered first")
	assert.Equal(t, []string{"rs-idle1"}, w.writes("delete", "secrets"))
	assert.Equal(t, []string{"rs-idle1"}, w.writes("delete", "pods"))
	assert.Equal(t, 1, res.Current, "the busy runner stays")
	assert.Equal(t, 1, res.Counts.Busy)
}

func TestReconcileKeepsARunnerThatTookAJobMeanwhile(t *testing.T) {
	w := prepared(t, "rs-idle1", 11, corev1.PodRunning, nil)
	w.gh.removeErr = map[int]error{11: actions.ErrJobStillRunning}
	res := w.r.Reconcile(context.Background(), w.rs, w.demand(0))
	assert.Empty(t, w.writes("delete", "secrets"), "GitHub says it is running a job")
	assert.Equal(t, 1, res.Current)
}

func TestReconcileCleansUpFinishedRunners(t *testing.T) {
	for _, tc := range []struct {
		name           string
		annotations    map[string]string
		wantDeregister []int
	}{
		{"ran no job: deregistered", nil, []int{11}},
		{"ran a job GitHub completed: GitHub removed it", contract.JobCompletedAnnotations("succeeded", time.Date(2026, 12, 3, 9, 59, 0, 0, time.UTC)), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := map[string]string{}
			for k, v := range tc.annotations {
				a[k] = v
			}
			if tc.annotations != nil {
				for k, v := range contract.JobStartedAnnotations(contract.Job{RequestID: 5, ID: "j5"}) {
					a[k] = v
				}
			}
			w := prepared(t, "rs-done1", 11, corev1.PodSucceeded, a)
			res := w.r.Reconcile(context.Background(), w.rs, w.demand(0))
			assert.Equal(t, tc.wantDeregister, w.gh.removed)
			assert.Equal(t, []string{"rs-done1"}, w.writes("delete", "secrets"))
			assert.Equal(t, []string{"rs-done1"}, w.writes("delete", "pods"))
			assert.Equal(t, 0, res.Current, "a finished runner holds no slot")
		})
	}
}

func TestReconcileRetriesAFailedIdleRunner(t *testing.T) {
	w := prepared(t, "rs-fail1", 11, corev1.PodFailed, nil)
	res := w.r.Reconcile(context.Background(), w.rs, w.demand(1))

	assert.Equal(t, []string{"rs-fail1"}, w.writes("patch", "secrets"), "its failure is recorded on its Secret")
	assert.Equal(t, []string{"rs-fail1"}, w.writes("delete", "pods"), "its pod goes")
	assert.Empty(t, w.writes("delete", "secrets"), "its registration and Secret stay for the next pod")
	assert.Empty(t, w.gh.removed)
	assert.Equal(t, FailureBackoff(1)+time.Second, res.Requeue)
	c := podsFailing(res)
	require.NotNil(t, c)
	assert.Equal(t, ReasonPodFailures, c.Reason)
	assert.Empty(t, w.writes("create", "pods"), "no other runner is created in its place")
}

func TestReconcileRemovesARunnerWhosePodFailedDuringAJob(t *testing.T) {
	w := prepared(t, "rs-fail1", 11, corev1.PodFailed, contract.JobStartedAnnotations(contract.Job{RequestID: 5, ID: "j5"}))
	w.r.Reconcile(context.Background(), w.rs, w.demand(0))
	assert.Equal(t, []int{11}, w.gh.removed)
	assert.Equal(t, []string{"rs-fail1"}, w.writes("delete", "secrets"))
}

func TestReconcileReplacesIdleRunnersOfAnOldTemplate(t *testing.T) {
	w := prepared(t, "rs-old01", 11, corev1.PodRunning, nil)
	w.rs.Generation = 2
	w.rs.Spec.Template.Spec.Containers[0].Image = "r:2"
	res := w.r.Reconcile(context.Background(), w.rs, w.demand(1))
	assert.Equal(t, []string{"rs-old01"}, w.writes("delete", "pods"))
	created := w.writes("create", "pods")
	require.Len(t, created, 1)
	pod, err := w.kube.CoreV1().Pods("ns").Get(context.Background(), created[0], metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "r:2", pod.Spec.Containers[0].Image)
	assert.Equal(t, 1, res.Current)
}

// refuse makes the cluster refuse runner pods with err.
func refuse(w *world, err error) {
	w.kube.PrependReactor("create", "pods", func(k8stesting.Action) (bool, runtime.Object, error) { return true, nil, err })
}

func forbidden(msg string) error {
	return apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "rs-x", fmt.Errorf("%s", msg))
}

func TestReconcileHonoursAQuota(t *testing.T) {
	w := newWorld(t)
	refuse(w, forbidden("exceeded quota: pods, requested: pods=1, used: pods=4, limited: pods=4"))
	res := w.r.Reconcile(context.Background(), w.rs, w.demand(2))
	assert.Equal(t, ReasonQuotaExceeded, podsFailing(res).Reason)
	assert.Empty(t, w.writes("delete", "secrets"), "the runners' Secrets stay; their pods are tried again")
	assert.Empty(t, w.gh.removed)
	assert.Equal(t, 2, res.Current)
}

func TestReconcileStopsWherePodSecurityRefuses(t *testing.T) {
	w := newWorld(t)
	refuse(w, forbidden(`violates PodSecurity "baseline:latest": privileged`))
	ctx := context.Background()
	res := w.r.Reconcile(ctx, w.rs, w.demand(1))
	assert.Equal(t, ReasonPodSecurity, podsFailing(res).Reason)
	assert.Len(t, w.writes("delete", "secrets"), 1, "a runner whose pod cannot exist is removed")
	assert.Len(t, w.gh.removed, 1, "with its registration")

	w.r.Reconcile(ctx, w.rs, w.demand(1))
	assert.Len(t, w.writes("create", "secrets"), 1, "no more runners for this spec")

	w.clock.Step(podSecurityRetry)
	w.r.Reconcile(ctx, w.rs, w.demand(1))
	assert.Len(t, w.writes("create", "secrets"), 2, "tried again: the namespace's level may have changed")

	w.rs.Generation = 2
	res = w.r.Reconcile(ctx, w.rs, w.demand(1))
	assert.Len(t, w.writes("create", "secrets"), 3, "a new spec is tried at once")
	assert.Equal(t, ReasonPodSecurity, podsFailing(res).Reason, "and refused again")
}

func TestReconcileBlocksAnInvalidTemplateUntilTheSpecChanges(t *testing.T) {
	w := newWorld(t)
	refuse(w, apierrors.NewInvalid(schema.GroupKind{Kind: "Pod"}, "rs-x", nil))
	ctx := context.Background()
	res := w.r.Reconcile(ctx, w.rs, w.demand(1))
	assert.Equal(t, ReasonInvalidPodTemplate, podsFailing(res).Reason)
	w.clock.Step(time.Hour)
	w.r.Reconcile(ctx, w.rs, w.demand(1))
	assert.Len(t, w.writes("create", "secrets"), 1, "time alone does not lift it")

	w.kube.ReactionChain = w.kube.ReactionChain[1:]
	w.rs.Generation = 2
	res = w.r.Reconcile(ctx, w.rs, w.demand(1))
	assert.Len(t, w.writes("create", "pods"), 2)
	assert.Equal(t, metav1.ConditionFalse, podsFailing(res).Status)
}

func TestReconcileReportsRefusedCredentials(t *testing.T) {
	w := newWorld(t)
	w.gh.jitErr = fmt.Errorf("generating: %w", actions.ErrUnauthorized)
	res := w.r.Reconcile(context.Background(), w.rs, w.demand(1))
	require.NotNil(t, res.Unauthorized)
	assert.True(t, res.FailingSince.IsZero(), "a refusal is GitHub's answer, not GitHub failing")

	w.gh.jitErr = nil
	res = w.r.Reconcile(context.Background(), w.rs, w.demand(1))
	assert.Nil(t, res.Unauthorized, "forgotten once a registration works")
}

// TestPodsFailingClearsOnceRunnersRunAgain: PodsFailing set by a quota or failed pods goes back
// to False once no runner pod fails or waits after a failure; it stays while one does.
// Regression: it stayed True for ever once set (found by the fault suite, R4).
func TestPodsFailingClearsOnceRunnersRunAgain(t *testing.T) {
	for _, tc := range []struct {
		name      string
		reason    string
		failures  string
		phase     corev1.PodPhase
		wantFalse bool
	}{
		{"quota lifted, runner running", ReasonQuotaExceeded, "", corev1.PodRunning, true},
		{"crashes over, runner running again", ReasonPodFailures, "3", corev1.PodRunning, true},
		{"runner waiting out its backoff", ReasonPodFailures, "2", "", false},
		{"runner pod failed", ReasonPodFailures, "1", corev1.PodFailed, false},
		{"invalid template is cleared by a spec change only", ReasonInvalidPodTemplate, "", corev1.PodRunning, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, p := newWorld(t).runner("rs-abcde", 11, tc.phase, nil)
			if tc.failures != "" {
				s.Annotations[v1alpha1.AnnotationFailures] = tc.failures
				s.Annotations[v1alpha1.AnnotationLastFailure] = time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC).Format(time.RFC3339)
			}
			w := newWorld(t, objects(s, p)...)
			w.r.setCondition(1, v1alpha1.ConditionPodsFailing, metav1.ConditionTrue, tc.reason, "trouble")
			res := w.r.Reconcile(context.Background(), w.rs, w.demand(1))
			c := podsFailing(res)
			if got := c.Status == metav1.ConditionFalse; got != tc.wantFalse {
				t.Errorf("PodsFailing %s (%s), want False=%v", c.Status, c.Reason, tc.wantFalse)
			}
		})
	}
}

func TestNewKeepsOnlyTheClusterSidesConditions(t *testing.T) {
	r := New(Config{}, "ns", "rs", []metav1.Condition{
		{Type: v1alpha1.ConditionPodsFailing, Status: metav1.ConditionTrue},
		{Type: v1alpha1.ConditionSessionActive, Status: metav1.ConditionTrue},
	})
	require.Len(t, r.conditions, 1)
	assert.Equal(t, v1alpha1.ConditionPodsFailing, r.conditions[0].Type)
}

var _ GitHub = session.ScaleSetClient(nil)

// TestReconcileAsksGitHubNothingWhileTheSessionIsDown: without a listening session GitHub is
// unreachable or taken, and a runner list would only hold the status back with its retries.
func TestReconcileAsksGitHubNothingWhileTheSessionIsDown(t *testing.T) {
	w := prepared(t, "rs-idle1", 11, corev1.PodRunning, nil)
	w.gh.listed = nil
	d := w.demand(1)
	d.Listening = false
	w.r.Reconcile(context.Background(), w.rs, d)
	assert.Zero(t, w.r.drift.last, "no runner list")

	w.r.Reconcile(context.Background(), w.rs, w.demand(1))
	assert.NotZero(t, w.r.drift.last, "listed once the session listens")
}

// TestARunnerDeletedByUsIsNoStray: the pod of a runner the Reconciler deleted may stay in the
// pod cache after its Secret left the Secret cache; it is not a stray to delete again.
func TestARunnerDeletedByUsIsNoStray(t *testing.T) {
	base := newWorld(t)
	_, pod := base.runner("rs-gone1", 11, corev1.PodRunning, nil)
	w := newWorld(t, pod)
	w.r.expect.expectDeleted("rs-gone1", w.clock.Now())
	w.clock.Step(strayGrace)
	w.r.Reconcile(context.Background(), w.rs, w.demand(0))
	assert.Empty(t, w.writes("delete", "pods"))

	w.clock.Step(expectationTimeout)
	w.r.Reconcile(context.Background(), w.rs, w.demand(0))
	assert.Equal(t, []string{"rs-gone1"}, w.writes("delete", "pods"), "a pod left behind for good is a stray")
}

// TestAStrayIsCheckedAtTheAPIServer: a runner pod whose Secret the Secret cache lacks past the
// grace keeps its pod while the kube-apiserver has the Secret (the cache lags; under load a watch
// may restart), and loses it once the Secret is really gone.
func TestAStrayIsCheckedAtTheAPIServer(t *testing.T) {
	base := newWorld(t)
	secret, pod := base.runner("rs-lag1", 11, corev1.PodRunning, nil)
	w := newWorld(t, pod)
	_, err := w.kube.CoreV1().Secrets("ns").Create(context.Background(), secret, metav1.CreateOptions{})
	require.NoError(t, err)
	w.clock.Step(strayGrace + time.Second)
	w.r.Reconcile(context.Background(), w.rs, w.demand(0))
	assert.Empty(t, w.writes("delete", "pods"), "the Secret is there: not a stray")

	require.NoError(t, w.kube.CoreV1().Secrets("ns").Delete(context.Background(), "rs-lag1", metav1.DeleteOptions{}))
	w.clock.Step(time.Second)
	w.r.Reconcile(context.Background(), w.rs, w.demand(0))
	assert.Equal(t, []string{"rs-lag1"}, w.writes("delete", "pods"), "the Secret is gone: a stray")
}
