//go:build faults

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

package faults

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"actions.dev/runnerset-apiserver/pkg/github/simulator"
	"actions.dev/runnerset-apiserver/pkg/localsystem"
)

// namespacedSystem starts a local system whose server runs in namespaced mode, serving team-a
// and team-b with the rights of artifacts/example-namespaced, and makes it the suite's system
// until the test ends.
func namespacedSystem(t *testing.T) {
	t.Helper()
	root := repoRoot()
	dir, err := os.MkdirTemp(filepath.Join(root, "_output"), "faults-namespaced-")
	require.NoError(t, err)
	manifests := filepath.Join(root, "artifacts", "example-namespaced")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	ns, err := localsystem.Start(ctx, localsystem.Options{
		BinDir: *binDir, Dir: dir,
		Server: &localsystem.ServerOptions{
			Binary: filepath.Join(*binDir, "runnerset-apiserver"), ManifestsDir: manifests,
			Args: []string{"-v=2", "--watch-namespaces=team-a,team-b", "--github-give-up=45s"},
			Env:  []string{"SSL_CERT_FILE=" + githubCAFile},
		},
	})
	require.NoError(t, err)
	require.NoError(t, ns.ApplyFile(ctx, filepath.Join(manifests, "team-bindings.yaml")))
	suite := sys
	sys = ns
	t.Cleanup(func() { // registered first, so it runs after the worlds' clean-ups
		sys = suite
		ns.Stop()
		if !t.Failed() {
			_ = os.RemoveAll(dir)
		}
	})
}

// TestR6NamespacedMode: the server in namespaced mode runs team-a's jobs as in cluster mode,
// while its ServiceAccount holds no right on Secrets or pods outside the served namespaces, and a
// RunnerSet created elsewhere is refused with a 403 that names them.
func TestR6NamespacedMode(t *testing.T) {
	namespacedSystem(t)
	ctx := context.Background()
	w := newWorld(t, "R6 namespaced mode", "team-a", simulator.Options{})
	var problems []string
	expect := func(ok bool, format string, args ...any) {
		if !ok {
			problems = append(problems, fmt.Sprintf(format, args...))
		}
	}
	name := "r6-namespaced"
	_, errOut, err := kubectlStdin("alice", manifest(name, "team-a", w.configURL(), map[string]any{"minRunners": 1, "maxRunners": 3}), "create", "-f", "-")
	require.NoError(t, err, errOut)
	w.mu.Lock()
	w.sets[name] = setSpec{name: name, min: 1, max: 3}
	w.mu.Unlock()
	w.queue(name, 3, time.Second, 3*time.Second)
	w.waitJobs(3 * time.Minute)

	// Outside the served namespaces: refused, naming them.
	require.NoError(t, sys.EnsureNamespace(ctx, "team-x"))
	_, errOut, err = kubectlStdin(localsystem.UserAdmin, manifest("elsewhere", "team-x", w.configURL(), nil), "create", "-f", "-")
	expect(err != nil && strings.Contains(errOut, "Forbidden") && strings.Contains(errOut, "only in namespaces team-a, team-b"),
		"a RunnerSet in team-x was not refused with the served namespaces named: %v %s", err, errOut)
	// Every runner of the served namespaces is listed across namespaces, read namespace by namespace.
	out, errOut, err := sys.Kubectl(ctx, localsystem.UserAdmin, "get", "runners", "-A", "-o", "name")
	expect(err == nil && strings.Contains(out, "runner.actions.dev/"+name+"-"), "kubectl get runners -A: %v %s %s", err, out, errOut)

	sa := "system:serviceaccount:" + localsystem.ServerNamespace + ":" + localsystem.ServerName
	canI := func(args ...string) string {
		out, _, _ := sys.Kubectl(ctx, localsystem.UserAdmin, append([]string{"auth", "can-i", "--as=" + sa}, args...)...)
		return strings.TrimSpace(out)
	}
	for _, args := range [][]string{
		{"get", "secrets", "-n", "team-a"}, {"create", "pods", "-n", "team-b"}, {"create", "events", "-n", "team-a"},
		{"list", "configmaps", "--all-namespaces"},
	} {
		expect(canI(args...) == "yes", "the server's ServiceAccount cannot %s but needs to", strings.Join(args, " "))
	}
	for _, args := range [][]string{
		{"get", "secrets", "-n", "team-x"}, {"get", "secrets", "-n", "kube-system"}, {"list", "secrets", "--all-namespaces"},
		{"list", "pods", "--all-namespaces"}, {"create", "pods", "-n", "team-x"}, {"create", "configmaps", "-n", "team-x"},
		{"create", "events", "-n", "team-x"}, {"create", "roles", "-n", "team-x"},
	} {
		expect(canI(args...) == "no", "the server's ServiceAccount may %s in namespaced mode", strings.Join(args, " "))
	}
	list, _, err := sys.Kubectl(ctx, localsystem.UserAdmin, "auth", "can-i", "--list", "--as="+sa, "-n", "team-x")
	expect(err == nil && !strings.Contains(list, "secrets "), "the server's rights in team-x list Secrets:\n%s", list)

	lines := []string{
		fmt.Sprintf("%-15s server with --watch-namespaces=team-a,team-b and the Roles of artifacts/example-namespaced; %s's jobs ran", "mode", name),
		fmt.Sprintf("%-15s a RunnerSet in team-x refused (403, the served namespaces named); get runners -A read team-a and team-b only; no right on Secrets, pods, ConfigMap writes, events or Roles outside them (can-i, and can-i --list in team-x)", "outside"),
	}
	for _, p := range problems {
		lines = append(lines, "FAIL "+p)
		t.Error(p)
	}
	bar := strings.Repeat("=", 20)
	report(t, fmt.Sprintf("%s AUDIT R6 namespaced mode (RBAC part) %s\n%s\n", bar, bar, indent(lines)))
	w.audit("RunnerSet created by alice in a served namespace, server in namespaced mode")
}
