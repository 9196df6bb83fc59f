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

package localsystem

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
)

// binDirForTest returns _output/bin of this repository, or skips the test when the tools have
// not been built (hack/tools/build.sh writes the stamp last).
func binDirForTest(t *testing.T) string {
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

func TestControlPlane(t *testing.T) {
	bin := binDirForTest(t)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()

	begin := time.Now()
	s, err := Start(ctx, Options{BinDir: bin, Dir: t.TempDir()})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Logf("control plane ready in %s at %s", time.Since(begin).Round(time.Millisecond), s.APIServerURL())
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			s.Stop()
		}
	})

	pids := s.pids()
	if len(pids) != 5 {
		t.Errorf("started %d processes, want 5 (etcd, kube-apiserver, controller-manager, scheduler, kwok)", len(pids))
	}

	admin := s.AdminClient()
	node, err := admin.CoreV1().Nodes().Get(ctx, FakeNodeName, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("getting fake node: %v", err)
	}
	if got := node.Status.Allocatable.Pods().Value(); got != FakeNodePods {
		t.Errorf("fake node allocatable pods = %d, want %d", got, FakeNodePods)
	}

	t.Run("pod runs on the fake node", func(t *testing.T) {
		const ns = "smoke"
		if err := s.EnsureNamespace(ctx, ns); err != nil {
			t.Fatal(err)
		}
		// No nodeName: the scheduler has to place it.
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "fake", Namespace: ns},
			Spec: corev1.PodSpec{
				NodeSelector: map[string]string{"type": "kwok"},
				Tolerations:  []corev1.Toleration{FakeNodeToleration()},
				Containers:   []corev1.Container{{Name: "app", Image: "registry.invalid/fake:1"}},
			},
		}
		if _, err := admin.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating pod: %v", err)
		}
		created := time.Now()
		var last *corev1.Pod
		err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
			last, err = admin.CoreV1().Pods(ns).Get(ctx, pod.Name, metav1.GetOptions{})
			return err == nil && last.Status.Phase == corev1.PodRunning, nil
		})
		if err != nil {
			t.Fatalf("pod not Running: %v; last seen: %+v", err, last)
		}
		if last.Spec.NodeName != FakeNodeName {
			t.Errorf("pod runs on %q, want %q", last.Spec.NodeName, FakeNodeName)
		}
		t.Logf("pod Running %s after creation", time.Since(created).Round(time.Millisecond))
	})

	t.Run("alice is forbidden in kube-system", func(t *testing.T) {
		alice, err := kubernetes.NewForConfig(s.RESTConfig(UserAlice))
		if err != nil {
			t.Fatal(err)
		}
		_, err = alice.CoreV1().Pods(metav1.NamespaceSystem).List(ctx, metav1.ListOptions{})
		if !apierrors.IsForbidden(err) {
			t.Errorf("alice listing kube-system pods: err = %v, want Forbidden", err)
		}

		// The same through the real kubectl and alice's kubeconfig file.
		_, stderr, err := s.Kubectl(ctx, UserAlice, "get", "pods", "-n", metav1.NamespaceSystem)
		if err == nil || !strings.Contains(stderr, `User "alice" cannot list resource "pods"`) {
			t.Errorf("kubectl as alice: err = %v, stderr = %q; want Forbidden", err, stderr)
		}
		out, _, err := s.Kubectl(ctx, UserAlice, "auth", "whoami", "-o", "jsonpath={.status.userInfo.groups}")
		if err != nil || !strings.Contains(out, "team-a") {
			t.Errorf("kubectl auth whoami as alice = %q, %v; want group team-a", out, err)
		}
	})

	stopBegin := time.Now()
	s.Stop()
	stopped = true
	t.Logf("stopped in %s", time.Since(stopBegin).Round(time.Millisecond))
	s.Stop() // idempotent
	assertAllGone(t, pids)
}

// TestAggregatedServer runs the full path with the runnerset-apiserver. The binary is
// $RUNNERSET_APISERVER_BINARY or _output/bin/runnerset-apiserver; without one the test skips.
func TestAggregatedServer(t *testing.T) {
	bin := binDirForTest(t)
	binary := os.Getenv("RUNNERSET_APISERVER_BINARY")
	if binary == "" {
		binary = filepath.Join(bin, ServerName)
	}
	if _, err := os.Stat(binary); err != nil {
		t.Skipf("no aggregated server binary: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()

	begin := time.Now()
	s, err := Start(ctx, Options{BinDir: bin, Dir: t.TempDir(), Server: &ServerOptions{
		Binary:       binary,
		ManifestsDir: filepath.Join(filepath.Dir(filepath.Dir(bin)), "artifacts", "example"),
	}})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Logf("control plane and aggregated server ready in %s", time.Since(begin).Round(time.Millisecond))
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			s.Stop()
		}
	})
	pids := s.pids()

	if s.ServerPort() == 0 {
		t.Errorf("ServerPort = 0 with a server running")
	}
	// Through the aggregator: ExternalName Service, serving certificate and caBundle all work.
	out, _, err := s.Kubectl(ctx, UserAdmin, "get", "--raw", "/apis/actions.dev/v1alpha1")
	if err != nil || !strings.Contains(out, `"groupVersion":"actions.dev/v1alpha1"`) {
		t.Errorf("discovery through the aggregator = %q, %v", out, err)
	}
	// The server's kubeconfig carries a working ServiceAccount token.
	out, _, err = s.Kubectl(ctx, UserServer, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}")
	if want := "system:serviceaccount:" + ServerNamespace + ":" + ServerName; err != nil || out != want {
		t.Errorf("server identity = %q, %v; want %q", out, err, want)
	}

	s.Stop()
	stopped = true
	assertAllGone(t, pids)
}

// TestStartReportsAFailingServer checks that a component dying during start-up fails Start
// quickly, with the component's own explanation, and leaves nothing running.
func TestStartReportsAFailingServer(t *testing.T) {
	bin := binDirForTest(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	// kubectl stands in for a broken server: it rejects --bind-address and exits 1.
	_, err := Start(ctx, Options{BinDir: bin, Dir: t.TempDir(), Server: &ServerOptions{
		Binary:       filepath.Join(bin, "kubectl"),
		ManifestsDir: filepath.Join(filepath.Dir(filepath.Dir(bin)), "artifacts", "example"),
	}})
	if err == nil {
		t.Fatal("Start succeeded with a server that cannot start")
	}
	if msg := err.Error(); !strings.Contains(msg, "exited") || !strings.Contains(msg, "unknown flag: --bind-address") {
		t.Errorf("error does not carry the exit and the log tail: %v", err)
	}
	if children := childProcesses(t); len(children) > 0 {
		t.Errorf("child processes left after a failed Start: %v", children)
	}
}

func TestStartRefusesAnEarlierRunsState(t *testing.T) {
	bin := binDirForTest(t)
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Start(t.Context(), Options{BinDir: bin, Dir: dir}); err == nil || !strings.Contains(err.Error(), "earlier run") {
		t.Errorf("Start on a used dir: err = %v, want a refusal", err)
	}
}

// pids returns the pids of the running components.
func (s *System) pids() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	var pids []int
	for _, p := range s.procs {
		pids = append(pids, p.pid())
	}
	return pids
}

// assertAllGone checks that the components and every other child of the test have exited.
func assertAllGone(t *testing.T, pids []int) {
	t.Helper()
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("process %d still exists after Stop (kill -0: %v)", pid, err)
		}
	}
	if children := childProcesses(t); len(children) > 0 {
		t.Errorf("child processes left after Stop: %v", children)
	}
}

// childProcesses lists the pids whose parent is this test process, from /proc.
func childProcesses(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Logf("cannot list /proc: %v", err)
		return nil
	}
	self := strconv.Itoa(os.Getpid())
	var children []string
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // exited meanwhile
		}
		// Fields after the parenthesised command name: state, ppid, ...
		rest := string(stat[strings.LastIndexByte(string(stat), ')')+1:])
		fields := strings.Fields(rest)
		if len(fields) > 1 && fields[1] == self {
			children = append(children, e.Name()+" "+strings.TrimSpace(string(stat[:strings.LastIndexByte(string(stat), ')')+1])))
		}
	}
	return children
}
