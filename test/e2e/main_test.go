//go:build e2e

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

// Package e2e runs the real system: etcd, kube-apiserver, controller-manager, scheduler and kwok
// built from pinned sources, our aggregated server registered through an APIService, and the
// real kubectl. It uses the same start-up code as `make run`.
package e2e

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	clientset "actions.dev/runnerset-apiserver/pkg/generated/clientset/versioned"
	"actions.dev/runnerset-apiserver/pkg/localsystem"
)

var (
	binDir  = flag.String("bin-dir", "", "directory with the built tools and runnerset-apiserver (default: <repo>/_output/bin)")
	keepDir = flag.Bool("keep", false, "keep the state directory (logs, kubeconfigs) after the run")

	sys *localsystem.System
)

func repoRoot() string {
	wd, _ := os.Getwd()
	return filepath.Clean(filepath.Join(wd, "..", ".."))
}

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(run(m))
}

func run(m *testing.M) int {
	root := repoRoot()
	if *binDir == "" {
		*binDir = filepath.Join(root, "_output", "bin")
	}
	dir, err := os.MkdirTemp(filepath.Join(root, "_output"), "e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	start := time.Now()
	sys, err = localsystem.Start(ctx, localsystem.Options{
		BinDir: *binDir,
		Dir:    dir,
		Server: &localsystem.ServerOptions{
			Binary:       filepath.Join(*binDir, "runnerset-apiserver"),
			ManifestsDir: filepath.Join(root, "artifacts", "example"),
			Args:         []string{"-v=2"},
		},
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "starting the local system: %v\n", err)
		return 1
	}
	fmt.Printf("local system up in %s (state in %s)\n", time.Since(start).Round(time.Millisecond), dir)
	if err := sys.ApplyFile(ctx, filepath.Join(root, "artifacts", "example", "team-bindings.yaml")); err != nil {
		fmt.Fprintf(os.Stderr, "applying team bindings: %v\n", err)
		sys.Stop()
		return 1
	}
	code := m.Run()
	sys.Stop()
	if code != 0 {
		fmt.Printf("logs kept in %s/logs\n", dir)
	} else if !*keepDir {
		os.RemoveAll(dir)
	}
	return code
}

// kubectl runs the real kubectl as user and fails the test on error.
func kubectl(t *testing.T, user string, args ...string) string {
	t.Helper()
	out, errOut, err := sys.Kubectl(context.Background(), user, args...)
	require.NoError(t, err, "kubectl %s\nstdout: %s\nstderr: %s", strings.Join(args, " "), out, errOut)
	return out
}

// kubectlFails runs kubectl expecting failure and returns its stderr.
func kubectlFails(t *testing.T, user string, args ...string) string {
	t.Helper()
	out, errOut, err := sys.Kubectl(context.Background(), user, args...)
	require.Error(t, err, "kubectl %s should fail\nstdout: %s", strings.Join(args, " "), out)
	return errOut
}

// kubectlStdin runs kubectl with input on stdin.
func kubectlStdin(user, stdin string, args ...string) (string, string, error) {
	cmd := exec.Command(filepath.Join(sys.BinDir(), "kubectl"), append([]string{"--kubeconfig", sys.Kubeconfig(user), "--cache-dir", filepath.Join(sys.Dir(), "cache", "kubectl")}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	return out.String(), errOut.String(), err
}

func actionsClient(t *testing.T, user string) clientset.Interface {
	t.Helper()
	c, err := clientset.NewForConfig(sys.RESTConfig(user))
	require.NoError(t, err)
	return c
}

func kubeClient(t *testing.T, user string) kubernetes.Interface {
	t.Helper()
	c, err := kubernetes.NewForConfig(sys.RESTConfig(user))
	require.NoError(t, err)
	return c
}

// eventually polls cond every 100ms until it holds or the deadline passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, timeout, true, cond)
	require.NoError(t, err, "waiting for %s", what)
}

// namespace creates a fresh namespace for one test and deletes it afterwards.
func namespace(t *testing.T, name string) string {
	t.Helper()
	require.NoError(t, sys.EnsureNamespace(context.Background(), name))
	t.Cleanup(func() {
		_, _, _ = sys.Kubectl(context.Background(), "admin", "delete", "namespace", name, "--wait=false")
	})
	return name
}
