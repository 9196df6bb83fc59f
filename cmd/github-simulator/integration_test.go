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

package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"actions.dev/runnerset-apiserver/pkg/github/simulator"
	"actions.dev/runnerset-apiserver/pkg/github/simulator/simtest"
	"actions.dev/runnerset-apiserver/pkg/localsystem"
	"actions.dev/runnerset-apiserver/pkg/runneremulator"
)

func binDir(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a control plane; skipped with -short")
	}
	bin, err := filepath.Abs("../../_output/bin")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(bin, ".tools-stamp")); err != nil {
		t.Skipf("control-plane tools not built (%v); run hack/tools/build.sh", err)
	}
	return bin
}

// TestEmulatesRunnersOfACluster runs the command as `make run` would, with --kubeconfig and
// --emulate-runners, and drives one runner pod from JIT config to Succeeded through the
// simulator's HTTP APIs only.
func TestEmulatesRunnersOfACluster(t *testing.T) {
	bin := binDir(t)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	sys, err := localsystem.Start(ctx, localsystem.Options{BinDir: bin, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sys.Stop)

	urlFile := filepath.Join(t.TempDir(), "url")
	// Plain HTTP: simtest and the control client here speak it (separate hosts stay on).
	o := parse(t, "--listen", "127.0.0.1:0", "--tls=false", "--url-file", urlFile, "--long-poll-hold", "1s",
		"--kubeconfig", sys.Kubeconfig(localsystem.UserAdmin), "--emulate-runners", "--runner-poll-interval", "50ms")
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- run(runCtx, o, &bytes.Buffer{}) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	var url string
	if err := wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		b, err := os.ReadFile(urlFile)
		url = strings.TrimSpace(string(b))
		return err == nil && url != "", nil
	}); err != nil {
		t.Fatal("no URL written")
	}

	// The wire side, as a scaler would do it: a scale set, a listener, a runner's JIT config.
	tn := simtest.Register(t, simtest.At(url), "acme")
	rs := tn.CreateScaleSet(t, "linux")
	tn.Listen(t, rs.ID).Start(t)
	jit := tn.GenerateJIT(t, rs.ID, "linux-1")
	cc := simulator.NewControlClient(url)
	id, err := cc.QueueJob(simulator.Job{Labels: []string{"linux"}, Owner: "acme", Repository: "app", Duration: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}

	client := sys.AdminClient()
	if err := sys.EnsureNamespace(ctx, "runners"); err != nil {
		t.Fatal(err)
	}
	if _, err := client.CoreV1().Secrets("runners").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "linux-1"},
		Data: map[string][]byte{"jitToken": []byte(jit.EncodedJITConfig)}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.CoreV1().Pods("runners").Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "linux-1", Labels: map[string]string{runneremulator.RunnerSetLabel: "linux"}},
		Spec: corev1.PodSpec{
			NodeName: localsystem.FakeNodeName, Tolerations: []corev1.Toleration{localsystem.FakeNodeToleration()},
			RestartPolicy: corev1.RestartPolicyNever,
			Containers: []corev1.Container{{Name: "runner", Image: "ghcr.io/actions/actions-runner:latest",
				Env: []corev1.EnvVar{{Name: runneremulator.JITConfigEnv, ValueFrom: &corev1.EnvVarSource{
					SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "linux-1"}, Key: "jitToken"}}}}}},
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var pod *corev1.Pod
	if err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		pod, err = client.CoreV1().Pods("runners").Get(ctx, "linux-1", metav1.GetOptions{})
		return err == nil && pod.Status.Phase == corev1.PodSucceeded, nil
	}); err != nil {
		t.Fatalf("the runner pod never succeeded: %+v", pod)
	}
	if js, ok, err := cc.Job(id); err != nil || !ok || js.State != simulator.JobCompleted || js.RunnerName != "linux-1" {
		t.Errorf("job = %+v, %v, %v", js, ok, err)
	}
	if runners, err := cc.ListRunners(); err != nil || len(runners) != 0 {
		t.Errorf("runners after the job: %+v, %v (the ephemeral runner should be gone)", runners, err)
	}
}
