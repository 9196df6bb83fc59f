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
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	clientset "actions.dev/runnerset-apiserver/pkg/generated/clientset/versioned"
	"actions.dev/runnerset-apiserver/pkg/github/simulator"
	"actions.dev/runnerset-apiserver/pkg/localsystem"
	"actions.dev/runnerset-apiserver/pkg/runneremulator"
)

// Credentials R6 searches for, besides the PAT and the App key themselves: installation tokens
// (ghs_ + 36), and JWTs (the Actions Service admin and message-queue tokens, App JWTs).
var (
	installationTokenRE = regexp.MustCompile(`ghs_[A-Za-z0-9]{36}`)
	jwtRE               = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}`)
)

// credentialHits returns what of the world's credentials text contains.
func credentialHits(w *world, text string) []string {
	var hits []string
	if strings.Contains(text, simulator.DefaultPAT) {
		hits = append(hits, "the PAT")
	}
	for _, line := range strings.Split(string(appKey(w.t)), "\n") {
		if len(line) >= 40 && !strings.HasPrefix(line, "-----") && strings.Contains(text, line) {
			hits = append(hits, "the App private key")
			break
		}
	}
	if m := installationTokenRE.FindString(text); m != "" {
		hits = append(hits, "an installation token ("+m[:8]+"...)")
	}
	if m := jwtRE.FindString(text); m != "" {
		hits = append(hits, "a JWT ("+m[:12]+"...)")
	}
	w.mon.mu.Lock()
	for jit := range w.mon.jits {
		if strings.Contains(text, jit) {
			hits = append(hits, "a JIT config")
			break
		}
	}
	w.mon.mu.Unlock()
	return hits
}

// scanForCredentials is R6's search at the end of R1, while the warm pools run: no pod spec or
// env (every version of every runner pod the monitor saw), API response (runnersets and runners
// as YAML, JSON and tables, describe), event, or log line of any component (our server, the
// kube-apiserver, etcd, controller-manager, scheduler, kwok, and this process's simulator and
// emulator) contains the PAT, the App's private key, an installation token, a JWT, or a JIT
// config; and the JIT config reaches runner pods only through a secretKeyRef.
func scanForCredentials(w *world, a *auditResult) {
	ctx := context.Background()
	var problems []string
	sources := 0
	check := func(source, text string) {
		sources++
		if hits := credentialHits(w, text); len(hits) > 0 {
			problems = append(problems, fmt.Sprintf("%s contains %s", source, strings.Join(hits, ", ")))
		}
	}

	w.mon.mu.Lock()
	pods := make([]*corev1.Pod, 0, len(w.mon.pods))
	for _, p := range w.mon.pods {
		pods = append(pods, p)
	}
	jits := len(w.mon.jits)
	w.mon.mu.Unlock()
	for _, p := range pods {
		raw, _ := json.Marshal(p)
		check("pod "+p.Name, string(raw))
		problems = append(problems, jitOnlyBySecretKeyRef(p)...)
	}

	for _, args := range [][]string{
		{"get", "runnersets", "-A", "-o", "yaml"},
		{"get", "runnersets", "-A", "-o", "json"},
		{"get", "runnersets", "-A", "-o", "wide"},
		{"get", "runners", "-A", "-o", "yaml"},
		{"get", "runners", "-A", "-o", "wide"},
		{"describe", "runnersets", "-n", w.ns},
		{"describe", "runners", "-n", w.ns},
		{"get", "events", "-A", "-o", "yaml"},
		{"get", "configmaps", "-A", "-l", v1alpha1.LabelRunnerSet, "-o", "yaml"},
		{"get", "--raw", "/apis/actions.dev/v1alpha1/runnersets"},
		{"get", "--raw", "/apis/actions.dev/v1alpha1/runners"},
	} {
		out, errOut, err := sys.Kubectl(ctx, localsystem.UserAdmin, args...)
		if err != nil {
			problems = append(problems, fmt.Sprintf("kubectl %s: %v", strings.Join(args, " "), err))
		}
		check("kubectl "+strings.Join(args, " "), out+errOut)
	}

	logs, _ := filepath.Glob(filepath.Join(sys.Dir(), "logs", "*.log"))
	var logNames []string
	for _, path := range logs {
		data, err := os.ReadFile(path)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		check("log "+filepath.Base(path), string(data))
		logNames = append(logNames, strings.TrimSuffix(filepath.Base(path), ".log"))
	}
	sort.Strings(logNames)
	if len(problems) > 0 {
		if len(problems) > 8 {
			problems = append(problems[:8], fmt.Sprintf("... %d more", len(problems)-8))
		}
		a.fail("R6 secrets", "%s", strings.Join(problems, "; "))
		return
	}
	a.add("R6 secrets", "no PAT, App key, installation token, JWT or JIT config in %d sources: %d runner pods (every version seen), 11 API answers (runnersets, runners, describe, raw, backing ConfigMaps), all events, logs of %s; the JIT config (%d seen) reached every pod only by secretKeyRef",
		sources, len(pods), strings.Join(logNames, ", "), jits)
}

// jitOnlyBySecretKeyRef checks that the JIT config reaches a pod only as an env var from a
// secretKeyRef of the runner's Secret: never as a literal value, envFrom or a Secret volume.
func jitOnlyBySecretKeyRef(p *corev1.Pod) []string {
	var problems []string
	found := false
	for _, c := range append(append([]corev1.Container{}, p.Spec.InitContainers...), p.Spec.Containers...) {
		for _, e := range c.Env {
			if e.Name != runneremulator.JITConfigEnv {
				continue
			}
			ref := (*corev1.SecretKeySelector)(nil)
			if e.ValueFrom != nil {
				ref = e.ValueFrom.SecretKeyRef
			}
			switch {
			case e.Value != "" || ref == nil:
				problems = append(problems, fmt.Sprintf("pod %s container %s: %s not from a secretKeyRef", p.Name, c.Name, e.Name))
			case ref.Name != p.Name || ref.Key != v1alpha1.SecretKeyJITConfig:
				problems = append(problems, fmt.Sprintf("pod %s: %s from Secret %s key %s", p.Name, e.Name, ref.Name, ref.Key))
			default:
				found = true
			}
		}
		for _, ef := range c.EnvFrom {
			if ef.SecretRef != nil {
				problems = append(problems, fmt.Sprintf("pod %s container %s: envFrom Secret %s", p.Name, c.Name, ef.SecretRef.Name))
			}
		}
	}
	for _, v := range p.Spec.Volumes {
		if v.Secret != nil && v.Secret.SecretName == p.Name {
			problems = append(problems, fmt.Sprintf("pod %s mounts its JIT Secret as a volume", p.Name))
		}
	}
	if !found {
		problems = append(problems, fmt.Sprintf("pod %s: no %s from a secretKeyRef", p.Name, runneremulator.JITConfigEnv))
	}
	return problems
}

// TestR6WhoMayDoWhat: alice (team-a) and bob (team-b) each run a RunnerSet with jobs; each sees
// and scales their own RunnerSets and runners and nothing of the other team's, not even through
// a cluster-wide list; neither reads the JIT Secrets or pods behind them; and the server's own
// ServiceAccount is refused what it does not need.
func TestR6WhoMayDoWhat(t *testing.T) {
	ctx := context.Background()
	var problems []string
	checks := 0
	expect := func(ok bool, format string, args ...any) {
		checks++
		if !ok {
			problems = append(problems, fmt.Sprintf(format, args...))
		}
	}
	worlds := map[string]*world{}
	for _, team := range []struct{ user, ns string }{{"alice", "team-a"}, {"bob", "team-b"}} {
		w := newWorld(t, "R6 who may do what", team.ns, simulator.Options{})
		worlds[team.user] = w
		name := "r6-" + team.user
		// The team creates its own RunnerSet, as itself.
		manifest := fmt.Sprintf(`{"apiVersion":"actions.dev/v1alpha1","kind":"RunnerSet","metadata":{"name":%q,"namespace":%q},`+
			`"spec":{"githubConfigUrl":%q,"githubConfigSecret":"github-pat","minRunners":1,"maxRunners":4,`+
			`"template":{"spec":{"containers":[{"name":"runner","image":"ghcr.io/actions/actions-runner:latest"}]}}}}`, name, team.ns, w.configURL())
		_, errOut, err := kubectlStdin(team.user, manifest, "create", "-f", "-")
		require.NoError(t, err, errOut)
		w.mu.Lock()
		w.sets[name] = setSpec{name: name, min: 1, max: 4}
		w.mu.Unlock()
		w.queue(name, pick(6, 3), time.Second, 3*time.Second)
	}
	for user, w := range worlds {
		w.waitJobs(3 * time.Minute)
		w.eventually(2*time.Minute, "the warm pool of "+user, func(ctx context.Context) (bool, string) {
			p := w.restProblems(ctx, "r6-"+user)
			return len(p) == 0, strings.Join(p, "; ")
		})
	}

	for _, u := range []struct{ user, own, other string }{{"alice", "team-a", "team-b"}, {"bob", "team-b", "team-a"}} {
		mine, theirs := "r6-"+u.user, "r6-"+map[string]string{"alice": "bob", "bob": "alice"}[u.user]
		run := func(args ...string) (string, string, error) { return sys.Kubectl(ctx, u.user, args...) }

		out, _, err := run("get", "runnersets", "-n", u.own, "-o", "name")
		expect(err == nil && strings.Contains(out, mine), "%s cannot list runnersets in %s: %v %s", u.user, u.own, err, out)
		out, _, err = run("get", "runners", "-n", u.own, "-o", "name")
		expect(err == nil && strings.Contains(out, "runner.actions.dev/"+mine+"-"), "%s cannot list runners in %s: %v %s", u.user, u.own, err, out)
		_, _, err = run("scale", "runnerset", mine, "-n", u.own, "--replicas=2")
		expect(err == nil, "%s cannot scale %s: %v", u.user, mine, err)
		_, _, err = run("scale", "runnerset", mine, "-n", u.own, "--replicas=1")
		expect(err == nil, "%s cannot scale %s back: %v", u.user, mine, err)

		for _, args := range [][]string{
			{"get", "runnersets", "-n", u.other},
			{"get", "runnerset", theirs, "-n", u.other},
			{"get", "runners", "-n", u.other},
			{"get", "runnersets", "-A"},
			{"get", "runners", "-A"},
			{"scale", "runnerset", theirs, "-n", u.other, "--replicas=3"},
			{"patch", "runnerset", theirs, "-n", u.other, "--type=merge", "-p", `{"spec":{"maxRunners":1}}`},
			{"delete", "runnerset", theirs, "-n", u.other},
			{"get", "secrets", "-n", u.own},
			{"get", "pods", "-n", u.own},
			{"get", "configmaps", "-n", u.own},
		} {
			_, errOut, err := run(args...)
			expect(err != nil && strings.Contains(errOut, "Forbidden"), "%s may %s (%v %s)", u.user, strings.Join(args, " "), err, errOut)
		}
		// A runner of the other team cannot be deleted either (it would deregister it).
		w := worlds[map[string]string{"alice": "bob", "bob": "alice"}[u.user]]
		for _, p := range w.mon.livePods(theirs) {
			_, errOut, err := run("delete", "runner", p, "-n", u.other)
			expect(err != nil && strings.Contains(errOut, "Forbidden"), "%s may delete runner %s/%s (%v)", u.user, u.other, p, err)
			break
		}
		// Status is the server's to write.
		rs, err := worlds[u.user].runnerSet(ctx, mine)
		if err == nil {
			rs.Status.BusyRunners = 99
			_, err = actionsClientAs(t, u.user).ActionsV1alpha1().RunnerSets(u.own).UpdateStatus(ctx, rs, metav1.UpdateOptions{})
			expect(apierrors.IsForbidden(err), "%s may write status: %v", u.user, err)
		}
	}
	// The other team's scale did not happen.
	for user, w := range worlds {
		rs, err := w.runnerSet(ctx, "r6-"+user)
		expect(err == nil && rs.Spec.MinRunners != nil && *rs.Spec.MinRunners == 1 && *rs.Spec.MaxRunners == 4, "r6-%s changed: %+v %v", user, rs.Spec, err)
	}

	// The server's ServiceAccount: what it needs, and a refusal for everything else asked here.
	sa := "system:serviceaccount:" + localsystem.ServerNamespace + ":" + localsystem.ServerName
	canI := func(args ...string) string {
		out, _, _ := sys.Kubectl(ctx, localsystem.UserAdmin, append([]string{"auth", "can-i", "--as=" + sa}, args...)...)
		return strings.TrimSpace(out)
	}
	needs := [][]string{
		{"create", "pods", "-n", "team-a"}, {"delete", "pods", "-n", "team-a"}, {"patch", "pods", "-n", "team-a"},
		{"create", "secrets", "-n", "team-a"}, {"delete", "secrets", "-n", "team-a"}, {"get", "secrets", "-n", "team-a"},
		{"create", "configmaps", "-n", "team-a"}, {"update", "configmaps", "-n", "team-a"},
		{"create", "events", "-n", "team-a"},
		{"update", "roles", "-n", "team-a"}, // kubernetes mode's Role follows the spec
		{"update", "leases/runnerset-apiserver-scaler", "-n", localsystem.ServerNamespace},
		{"create", "subjectaccessreviews.authorization.k8s.io"}, {"create", "tokenreviews.authentication.k8s.io"},
	}
	refused := [][]string{
		{"*", "*"},
		{"update", "secrets", "-n", "team-a"},
		{"update", "pods", "-n", "team-a"},
		{"create", "pods", "--subresource=eviction", "-n", "team-a"},
		{"delete", "namespaces"}, {"create", "namespaces"},
		{"get", "nodes"}, {"patch", "nodes"}, {"get", "nodes", "--subresource=proxy"},
		{"create", "clusterroles"}, {"create", "clusterrolebindings"},
		{"escalate", "roles", "-n", "team-a"}, {"bind", "roles", "-n", "team-a"},
		{"delete", "roles", "-n", "team-a"}, {"delete", "rolebindings", "-n", "team-a"}, {"update", "rolebindings", "-n", "team-a"},
		{"create", "serviceaccounts", "--subresource=token", "-n", "team-a"},
		{"impersonate", "users"}, {"impersonate", "serviceaccounts"},
		{"update", "leases", "-n", "kube-node-lease"}, {"create", "leases", "-n", "kube-node-lease"},
		{"update", "leases/some-other-lease", "-n", localsystem.ServerNamespace},
		{"create", "deployments.apps", "-n", "team-a"}, {"create", "daemonsets.apps", "-n", "team-a"},
		{"create", "persistentvolumes"}, {"create", "persistentvolumeclaims", "-n", "team-a"},
		{"update", "apiservices.apiregistration.k8s.io"},
		{"create", "validatingwebhookconfigurations.admissionregistration.k8s.io"},
		{"create", "mutatingwebhookconfigurations.admissionregistration.k8s.io"},
		{"create", "certificatesigningrequests.certificates.k8s.io"},
		{"update", "runnersets.actions.dev", "-n", "team-a"},
		{"delete", "services", "-n", localsystem.ServerNamespace},
	}
	for _, args := range needs {
		got := canI(args...)
		expect(got == "yes", "the server's ServiceAccount cannot %s (%q) but needs to", strings.Join(args, " "), got)
	}
	for _, args := range refused {
		got := canI(args...)
		expect(got == "no", "the server's ServiceAccount may %s (%q) and does not need to", strings.Join(args, " "), got)
	}

	lines := []string{
		fmt.Sprintf("%-15s alice (team-a) and bob (team-b) each list, get and scale their own RunnerSets and runners; each is refused the other team's RunnerSets and runners (get, list, scale, patch, delete, delete runner), cluster-wide lists, status writes, and the Secrets, pods and ConfigMaps behind them (%d checks)", "teams", checks-len(needs)-len(refused)),
		fmt.Sprintf("%-15s the server's ServiceAccount may do the %d things it needs and is refused %d it does not: %s", "ServiceAccount", len(needs), len(refused), strings.Join(flat(refused), ", ")),
	}
	// And a credentials search over these two worlds too.
	for _, w := range worlds {
		a := &auditResult{}
		scanForCredentials(w, a)
		for _, l := range a.lines {
			lines = append(lines, l+" ["+w.ns+"]")
		}
		problems = append(problems, a.problems...)
	}
	for _, p := range problems {
		lines = append(lines, "FAIL "+p)
	}
	verdict := "PASS"
	if len(problems) > 0 {
		verdict = fmt.Sprintf("FAIL (%d problems)", len(problems))
	}
	lines = append(lines, fmt.Sprintf("%-15s %s", "verdict", verdict))
	bar := strings.Repeat("=", 20)
	report(t, fmt.Sprintf("%s AUDIT R6 who may do what (RBAC part) %s\n%s\n", bar, bar, indent(lines)))
	for _, p := range problems {
		t.Error(p)
	}
	// The two worlds end with the same audit as every scenario.
	for _, user := range []string{"alice", "bob"} {
		worlds[user].audit("RunnerSet created and scaled by " + user + " with kubectl, as " + user)
	}
}

func flat(cmds [][]string) []string {
	var out []string
	for _, c := range cmds {
		s := strings.Join(c, " ")
		s = strings.ReplaceAll(s, " -n "+localsystem.ServerNamespace, " in "+localsystem.ServerNamespace)
		s = strings.ReplaceAll(s, " -n team-a", "")
		out = append(out, s)
	}
	return out
}

// kubectlStdin runs kubectl as user with stdin.
func kubectlStdin(user, stdin string, args ...string) (string, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return sys.KubectlWithInput(ctx, user, stdin, args...)
}

func actionsClientAs(t *testing.T, user string) clientset.Interface {
	t.Helper()
	c, err := clientset.NewForConfig(sys.RESTConfig(user))
	require.NoError(t, err)
	return c
}
