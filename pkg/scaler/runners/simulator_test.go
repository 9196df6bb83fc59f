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
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	kubefake "k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/contract"
	"actions.dev/runnerset-apiserver/pkg/github/actions"
	"actions.dev/runnerset-apiserver/pkg/github/simulator"
	"actions.dev/runnerset-apiserver/pkg/github/simulator/simtest"
	"actions.dev/runnerset-apiserver/pkg/runneremulator"
	"actions.dev/runnerset-apiserver/pkg/scaler/session"
)

// TestRunnerTooOldAgainstTheSimulator: the Reconciler's runner pod, of an actions-runner image
// older than GitHub's minimum, is played by the runner emulator against the simulator. The
// simulator refuses the runner's version, the runner exits 7, and the Reconciler reports
// RunnerVersionTooOld with the minimum and creates no more runners.
func TestRunnerTooOldAgainstTheSimulator(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sim := simtest.New(t, simulator.Options{LongPollHold: 200 * time.Millisecond})
	kube := kubefake.NewClientset(
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: contract.StorageName("rs"), Namespace: "ns", UID: "cm-uid"}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "pat", Namespace: "ns"}, Data: map[string][]byte{"github_token": []byte(simulator.DefaultPAT)}})
	rs := &v1alpha1.RunnerSet{
		ObjectMeta: metav1.ObjectMeta{Name: "rs", Namespace: "ns", UID: "uid", Generation: 1},
		Spec: v1alpha1.RunnerSetSpec{GitHubConfigURL: sim.ConfigURL("acme/app"), GitHubConfigSecret: "pat", RunnerScaleSetName: "rs",
			MinRunners: ptr.To[int32](0), MaxRunners: ptr.To[int32](5),
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "runner", Image: "ghcr.io/actions/actions-runner:2.328.0"}}}}},
	}
	client, err := (&session.SecretFactory{KubeClient: kube, UserAgent: "test", Clock: clock.RealClock{}}).ForRunnerSet(ctx, rs)
	require.NoError(t, err)
	ss, err := client.CreateScaleSet(ctx, &actions.RunnerScaleSet{Name: "rs", RunnerGroupID: 1})
	require.NoError(t, err)

	factory := informers.NewSharedInformerFactoryWithOptions(kube, 0, informers.WithNamespace("ns"))
	pods, secrets := factory.Core().V1().Pods(), factory.Core().V1().Secrets()
	pods.Informer()
	secrets.Informer()
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())
	em, err := runneremulator.New(runneremulator.Config{Client: kube, Runners: sim, PollInterval: 20 * time.Millisecond, Namespace: "ns"})
	require.NoError(t, err)
	emDone := make(chan error, 1)
	go func() { emDone <- em.Run(ctx) }()
	defer func() { cancel(); <-emDone }()

	r := New(Config{Kube: kube, Pods: pods.Lister(), Secrets: secrets.Lister(), Clock: clock.RealClock{}, CreateConcurrency: 2,
		DrainTimeout: time.Minute, GitHubGiveUp: time.Minute}, "ns", "rs", nil)
	demand := session.Demand{Client: client, ScaleSetID: ss.ID, Listening: true, Stats: &actions.Statistics{TotalAssignedJobs: 1}}
	r.Reconcile(ctx, rs, demand)
	list, err := kube.CoreV1().Pods("ns").List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	require.Len(t, list.Items, 1, "one runner for the assigned job")
	pod := list.Items[0]
	markRunning(ctx, t, kube, pod.Name) // what the kubelet (kwok) does

	require.NoError(t, wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		p, err := pods.Lister().Pods("ns").Get(pod.Name)
		return err == nil && p.Status.Phase == corev1.PodFailed, nil
	}), "the runner did not exit: %+v", em.Runners())
	runner := em.Runners()[0]
	assert.Equal(t, 7, runner.ExitCode, "the scaler's pod asks for exit 7 on a refused version")
	assert.Equal(t, "2.328.0", runner.Version, "the version of the image")

	res := r.Reconcile(ctx, rs, demand)
	c := meta.FindStatusCondition(res.Conditions, v1alpha1.ConditionRunnerVersionTooOld)
	require.NotNil(t, c, "conditions %+v", res.Conditions)
	assert.Equal(t, metav1.ConditionTrue, c.Status)
	assert.Contains(t, c.Message, "minimum runner version 2.329.0")
	r.Reconcile(ctx, rs, demand)
	list, err = kube.CoreV1().Pods("ns").List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	assert.Empty(t, list.Items, "the refused runner is gone and no other is created")
	assert.Empty(t, sim.Runners(), "its registration is removed")
}

// markRunning does what kwok's pod-ready stage does to a pod.
func markRunning(ctx context.Context, t *testing.T, kube *kubefake.Clientset, name string) {
	t.Helper()
	p, err := kube.CoreV1().Pods("ns").Get(ctx, name, metav1.GetOptions{})
	require.NoError(t, err)
	p.Status.Phase = corev1.PodRunning
	for _, c := range p.Spec.Containers {
		p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{Name: c.Name, Image: c.Image, Ready: true,
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Now()}}})
	}
	_, err = kube.CoreV1().Pods("ns").UpdateStatus(ctx, p, metav1.UpdateOptions{})
	require.NoError(t, err)
}
