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

package runneremulator

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"actions.dev/runnerset-apiserver/pkg/github/simulator"
	"actions.dev/runnerset-apiserver/pkg/github/simulator/simtest"
	"actions.dev/runnerset-apiserver/pkg/localsystem"
)

// binDir returns the repository's _output/bin, or skips when the control-plane tools are not
// built or the test runs with -short.
func binDir(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a control plane; skipped with -short")
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("repository root not found")
		}
		dir = parent
	}
	bin := filepath.Join(dir, "_output", "bin")
	if _, err := os.Stat(filepath.Join(bin, ".tools-stamp")); err != nil {
		t.Skipf("control-plane tools not built (%v); run hack/tools/build.sh", err)
	}
	return bin
}

// TestOnKwok runs the emulator against a real kube-apiserver with kwok's fake node: pods
// reach Running through kwok, and the status the emulator writes when a runner exits must
// stick (kwok must not flip it back).
func TestOnKwok(t *testing.T) {
	bin := binDir(t)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	begin := time.Now()
	sys, err := localsystem.Start(ctx, localsystem.Options{BinDir: bin, Dir: t.TempDir()})
	if err != nil {
		t.Fatalf("starting the local system: %v", err)
	}
	t.Cleanup(sys.Stop)
	t.Logf("control plane up in %s", time.Since(begin).Round(time.Millisecond))
	client := sys.AdminClient()
	const ns = "runners"
	if err := sys.EnsureNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}

	sim := simtest.New(t, simulator.Options{LongPollHold: 500 * time.Millisecond})
	tn := simtest.Register(t, sim, "acme")
	rs := tn.CreateScaleSet(t, "linux")
	tn.Listen(t, rs.ID).Start(t)
	em, err := New(Config{Client: client, Runners: sim, PollInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	run(t, em)

	create := func(name string, scheduled bool, annotations map[string]string) int {
		t.Helper()
		jit := tn.GenerateJIT(t, rs.ID, name)
		if _, err := client.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Data:       map[string][]byte{"jitToken": []byte(jit.EncodedJITConfig)},
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		p := runnerPod(name)
		p.Namespace, p.UID = ns, ""
		p.Status = corev1.PodStatus{}
		p.Annotations = annotations
		p.Spec.Tolerations = []corev1.Toleration{localsystem.FakeNodeToleration()}
		if scheduled {
			p.Spec.NodeSelector = map[string]string{"type": "kwok"} // the scheduler places it
		} else {
			p.Spec.NodeName = localsystem.FakeNodeName
		}
		if _, err := client.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		return jit.Runner.ID
	}
	waitPhase := func(name string, phase corev1.PodPhase) *corev1.Pod {
		t.Helper()
		var last *corev1.Pod
		if err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
			p, err := client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
			last = p
			return err == nil && p.Status.Phase == phase, nil
		}); err != nil {
			t.Fatalf("pod %s never reached %s: %+v", name, phase, last.Status)
		}
		return last
	}

	// An ephemeral runner: Running through kwok, takes a job, exits 0, pod Succeeded.
	started := time.Now()
	id := sim.QueueJob(simulator.Job{Labels: []string{"linux"}, Owner: "acme", Repository: "app", Duration: 500 * time.Millisecond})
	create("happy", true, nil)
	p := waitPhase("happy", corev1.PodSucceeded)
	t.Logf("pod created to Succeeded in %s", time.Since(started).Round(time.Millisecond))
	if cs := runnerStatus(p); cs.State.Terminated == nil || cs.State.Terminated.ExitCode != 0 {
		t.Fatalf("runner container = %+v", cs)
	}
	if js, _ := sim.Job(id); js.State != simulator.JobCompleted || js.Result != "succeeded" {
		t.Fatalf("job = %+v", js)
	}
	// kwok must leave the terminal status alone: watch the pod for a while.
	assertStays(ctx, t, client, ns, "happy", corev1.PodSucceeded, 3*time.Second)

	// Runner version deprecated: exit 7, pod Failed.
	old := create("old", false, map[string]string{ExitCodeAnnotation: "7"})
	p = waitPhase("old", corev1.PodFailed)
	if cs := runnerStatus(p); cs.State.Terminated == nil || cs.State.Terminated.ExitCode != 7 {
		t.Fatalf("runner container = %+v", cs)
	}
	assertStays(ctx, t, client, ns, "old", corev1.PodFailed, 2*time.Second)
	for _, r := range sim.Runners() {
		if r.ID == old && r.Online {
			t.Error("the exit-7 runner is online")
		}
	}

	// Deleting an online runner's pod takes the runner offline; kwok deletes the pod.
	idle := create("idle", false, nil)
	online := func() bool {
		for _, r := range sim.Runners() {
			if r.ID == idle {
				return r.Online
			}
		}
		return false
	}
	if err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) { return online(), nil }); err != nil {
		t.Fatal("the idle runner never came online")
	}
	if err := client.CoreV1().Pods(ns).Delete(ctx, "idle", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) { return !online(), nil }); err != nil {
		t.Fatal("the runner of a deleted pod is still online")
	}
}

// assertStays watches a pod for d and fails if its phase changes from phase.
func assertStays(ctx context.Context, t *testing.T, client kubernetes.Interface, ns, name string, phase corev1.PodPhase, d time.Duration) {
	t.Helper()
	p, err := client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	w, err := client.CoreV1().Pods(ns).Watch(wctx, metav1.ListOptions{
		FieldSelector: fields.OneTermEqualSelector("metadata.name", name).String(), ResourceVersion: p.ResourceVersion,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	for ev := range w.ResultChan() {
		if ev.Type == watch.Error {
			continue
		}
		if p, ok := ev.Object.(*corev1.Pod); ok && (ev.Type == watch.Deleted || p.Status.Phase != phase) {
			t.Fatalf("pod %s changed to %s (%s) after the runner exited: %+v", name, p.Status.Phase, ev.Type, p.Status)
		}
	}
}
