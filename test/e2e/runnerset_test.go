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

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/ptr"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
)

func runnerSet(ns, name string) *v1alpha1.RunnerSet {
	return &v1alpha1.RunnerSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"tier": "test"}},
		Spec: v1alpha1.RunnerSetSpec{
			GitHubConfigURL:    gh.ConfigURL("acme/app"),
			GitHubConfigSecret: "github-pat",
			MinRunners:         ptr.To[int32](1),
			MaxRunners:         ptr.To[int32](5),
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				Containers: []corev1.Container{{Name: "runner", Image: "ghcr.io/actions/actions-runner:latest"}},
			}},
		},
	}
}

func create(t *testing.T, rs *v1alpha1.RunnerSet) *v1alpha1.RunnerSet {
	t.Helper()
	got, err := actionsClient(t, "admin").ActionsV1alpha1().RunnerSets(rs.Namespace).Create(context.Background(), rs, metav1.CreateOptions{})
	require.NoError(t, err)
	return got
}

func TestAPIResourcesAndExplain(t *testing.T) {
	out := kubectl(t, "admin", "api-resources", "--api-group=actions.dev", "-o", "wide")
	require.Contains(t, out, "runnersets")
	line := ""
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "runnersets") {
			line = l
		}
	}
	fields := strings.Fields(line)
	require.GreaterOrEqual(t, len(fields), 6, line)
	assert.Equal(t, "rset", fields[1], "short name")
	assert.Equal(t, "actions.dev/v1alpha1", fields[2])
	assert.Equal(t, "true", fields[3], "namespaced")
	assert.Equal(t, "RunnerSet", fields[4])
	assert.Contains(t, line, "actions", "category")
	for _, verb := range []string{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"} {
		assert.Contains(t, line, verb)
	}

	out = kubectl(t, "admin", "explain", "runnerset.spec")
	assert.Contains(t, out, "githubConfigUrl")
	assert.Contains(t, out, "repository, organization or enterprise")
	out = kubectl(t, "admin", "explain", "runnerset.spec.template.spec.containers.image")
	assert.Contains(t, out, "image")

	// The category lists runnersets with everything else in it.
	ns := namespace(t, "e2e-category")
	create(t, runnerSet(ns, "cat"))
	assert.Contains(t, kubectl(t, "admin", "get", "actions", "-n", ns, "-o", "name"), "runnerset.actions.dev/cat")
}

func TestSamplesColumnsYAMLDescribe(t *testing.T) {
	for _, ns := range []string{"team-a", "team-b"} {
		require.NoError(t, sys.EnsureNamespace(context.Background(), ns))
	}
	// The samples name github.com; here GitHub is the simulator.
	samples := samplesForSimulator(t)
	kubectl(t, "admin", "apply", "-f", samples)
	t.Cleanup(func() {
		_, _, _ = sys.Kubectl(context.Background(), "admin", "delete", "-f", samples, "--ignore-not-found")
	})

	out := kubectl(t, "admin", "get", "runnersets", "-A")
	header := strings.Fields(strings.Split(out, "\n")[0])
	assert.Equal(t, []string{"NAMESPACE", "NAME", "SCALE", "SET", "MIN", "MAX", "DESIRED", "RUNNERS", "BUSY", "READY", "AGE"}, header)
	assert.Regexp(t, `team-a\s+linux-small\s+linux-small\s+1\s+10\s+\d+\s+\d+\s+\d+\s+.+\s+\d+s`, out)
	assert.Regexp(t, `team-b\s+docker-builds\s+team-b-docker\s+0\s+20\s+`, out)

	wide := kubectl(t, "admin", "get", "rset", "-A", "-o", "wide")
	assert.Contains(t, strings.Split(wide, "\n")[0], "MODE")
	assert.Regexp(t, `docker-builds\s+.*\s+dind\s+`, wide)
	assert.Contains(t, wide, gh.ConfigURL("team-b"))

	var rs v1alpha1.RunnerSet
	require.NoError(t, json.Unmarshal([]byte(kubectl(t, "admin", "get", "rset", "linux-small", "-n", "team-a", "-o", "json", "--show-managed-fields")), &rs))
	assert.Equal(t, "linux-small", rs.Spec.RunnerScaleSetName, "scale set name defaults to the object's name")
	assert.GreaterOrEqual(t, rs.Generation, int64(1))
	assert.Equal(t, "actions.dev/runnerset=linux-small", rs.Status.Selector)
	assert.NotEmpty(t, rs.UID)
	assert.NotEmpty(t, rs.ManagedFields, "managed fields are tracked")

	yaml := kubectl(t, "admin", "get", "rset", "docker-builds", "-n", "team-b", "-o", "yaml")
	assert.Contains(t, yaml, "kind: RunnerSet")
	assert.Contains(t, yaml, "type: dind")

	desc := kubectl(t, "admin", "describe", "runnerset", "linux-small", "-n", "team-a")
	assert.Contains(t, desc, "Name:")
	assert.Contains(t, desc, "Github Config URL:")
}

func TestPatchApplyAndGeneration(t *testing.T) {
	ns := namespace(t, "e2e-patch")
	create(t, runnerSet(ns, "p"))

	// What kubectl edit sends: a merge patch.
	kubectl(t, "admin", "patch", "rset", "p", "-n", ns, "--type=merge", "-p", `{"spec":{"maxRunners":8}}`)
	// A JSON patch.
	kubectl(t, "admin", "patch", "rset", "p", "-n", ns, "--type=json", "-p", `[{"op":"add","path":"/spec/labels","value":["gpu"]}]`)
	// A label change does not bump the generation.
	kubectl(t, "admin", "label", "rset", "p", "-n", ns, "color=blue")
	got, err := actionsClient(t, "admin").ActionsV1alpha1().RunnerSets(ns).Get(context.Background(), "p", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, int32(8), *got.Spec.MaxRunners)
	assert.Equal(t, []string{"gpu"}, got.Spec.Labels)
	assert.Equal(t, "blue", got.Labels["color"])
	assert.Equal(t, int64(3), got.Generation, "two spec changes after creation")

	// Server-side apply: a second manager that changes an owned field conflicts, --force-conflicts wins.
	manifest := `apiVersion: actions.dev/v1alpha1
kind: RunnerSet
metadata: {name: ssa, namespace: ` + ns + `}
spec:
  githubConfigUrl: ` + gh.ConfigURL("acme") + `
  githubConfigSecret: github-pat
  maxRunners: 4
  template: {spec: {containers: [{name: runner, image: runner:1}]}}
`
	_, errOut, err := kubectlStdin("admin", manifest, "apply", "--server-side", "--field-manager=team-a-gitops", "-f", "-")
	require.NoError(t, err, errOut)
	other := strings.Replace(manifest, "maxRunners: 4", "maxRunners: 6", 1)
	_, errOut, err = kubectlStdin("admin", other, "apply", "--server-side", "--field-manager=someone-else", "-f", "-")
	require.Error(t, err)
	assert.Contains(t, errOut, "conflict")
	assert.Contains(t, errOut, ".spec.maxRunners")
	_, errOut, err = kubectlStdin("admin", other, "apply", "--server-side", "--field-manager=someone-else", "--force-conflicts", "-f", "-")
	require.NoError(t, err, errOut)
	assert.Equal(t, "6", kubectl(t, "admin", "get", "rset", "ssa", "-n", ns, "-o", "jsonpath={.spec.maxRunners}"))
	managers := kubectl(t, "admin", "get", "rset", "ssa", "-n", ns, "-o", "jsonpath={.metadata.managedFields[*].manager}", "--show-managed-fields")
	assert.Contains(t, managers, "someone-else")

	// Dry run writes nothing.
	kubectl(t, "admin", "patch", "rset", "ssa", "-n", ns, "--type=merge", "-p", `{"spec":{"maxRunners":9}}`, "--dry-run=server")
	assert.Equal(t, "6", kubectl(t, "admin", "get", "rset", "ssa", "-n", ns, "-o", "jsonpath={.spec.maxRunners}"))
}

func TestScaleSubresource(t *testing.T) {
	ns := namespace(t, "e2e-scale")
	create(t, runnerSet(ns, "s"))

	out := kubectl(t, "admin", "scale", "rset/s", "-n", ns, "--replicas=3")
	assert.Contains(t, out, "scaled")
	assert.Equal(t, "3", kubectl(t, "admin", "get", "rset", "s", "-n", ns, "-o", "jsonpath={.spec.minRunners}"))

	errOut := kubectlFails(t, "admin", "scale", "rset/s", "-n", ns, "--replicas=6")
	assert.Contains(t, errOut, "spec.replicas")
	assert.Contains(t, errOut, "maxRunners (5)")
	assert.Equal(t, "3", kubectl(t, "admin", "get", "rset", "s", "-n", ns, "-o", "jsonpath={.spec.minRunners}"))

	// client-go's typed scale call, as HPA and KEDA use it, including the 422 status code.
	// The scaler writes status after every spec change, so each read waits for it to settle.
	c := actionsClient(t, "admin").ActionsV1alpha1().RunnerSets(ns)
	settled(t, ns, "s")
	scale, err := c.GetScale(context.Background(), "s", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, int32(3), scale.Spec.Replicas)
	assert.Equal(t, "actions.dev/runnerset=s", scale.Status.Selector)
	scale.Spec.Replicas = 2
	stale, err := c.UpdateScale(context.Background(), "s", scale, metav1.UpdateOptions{})
	require.NoError(t, err)
	assert.Equal(t, int32(2), stale.Spec.Replicas)
	settled(t, ns, "s")
	scale, err = c.GetScale(context.Background(), "s", metav1.GetOptions{})
	require.NoError(t, err)
	scale.Spec.Replicas = 1
	_, err = c.UpdateScale(context.Background(), "s", scale, metav1.UpdateOptions{})
	require.NoError(t, err)
	stale.Spec.Replicas = 4
	_, err = c.UpdateScale(context.Background(), "s", stale, metav1.UpdateOptions{})
	assert.True(t, apierrors.IsConflict(err), "stale scale update: %v", err)
	too := &autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: ns}, Spec: autoscalingv1.ScaleSpec{Replicas: 50}}
	_, err = c.UpdateScale(context.Background(), "s", too, metav1.UpdateOptions{})
	require.True(t, apierrors.IsInvalid(err), "over maxRunners: %v", err)
	assert.Equal(t, "1", kubectl(t, "admin", "get", "rset", "s", "-n", ns, "-o", "jsonpath={.spec.minRunners}"))
}

func TestWatchSeesUpdates(t *testing.T) {
	ns := namespace(t, "e2e-watch")
	create(t, runnerSet(ns, "w"))

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(sys.BinDir(), "kubectl"), "--kubeconfig", sys.Kubeconfig("admin"),
		"get", "rset", "-n", ns, "-w", "-o", "custom-columns=NAME:.metadata.name,MAX:.spec.maxRunners,GEN:.metadata.generation", "--no-headers")
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	defer func() { cancel(); _ = cmd.Wait() }()
	lines := make(chan string)
	go func() {
		s := bufio.NewScanner(stdout)
		for s.Scan() {
			lines <- s.Text()
		}
		close(lines)
	}()
	expect := func(want string) {
		t.Helper()
		for {
			select {
			case l, ok := <-lines:
				require.True(t, ok, "watch ended before %q", want)
				if strings.Join(strings.Fields(l), " ") == want {
					return
				}
			case <-ctx.Done():
				t.Fatalf("no watch line %q", want)
			}
		}
	}
	expect("w 5 1")
	kubectl(t, "admin", "patch", "rset", "w", "-n", ns, "--type=merge", "-p", `{"spec":{"maxRunners":7}}`)
	expect("w 7 2")
	create(t, runnerSet(ns, "w2"))
	expect("w2 5 1")

	// A watch through client-go with a label selector sees an object leave the selection as a DELETED event.
	rc := actionsClient(t, "admin").ActionsV1alpha1().RunnerSets(ns)
	list, err := rc.List(ctx, metav1.ListOptions{LabelSelector: "tier=test"})
	require.NoError(t, err)
	require.Len(t, list.Items, 2)
	wi, err := rc.Watch(ctx, metav1.ListOptions{LabelSelector: "tier=test", ResourceVersion: list.ResourceVersion, AllowWatchBookmarks: true})
	require.NoError(t, err)
	defer wi.Stop()
	_, err = rc.Patch(ctx, "w2", types.MergePatchType, []byte(`{"metadata":{"labels":{"tier":"prod"}}}`), metav1.PatchOptions{})
	require.NoError(t, err)
	// Status writes of the scaler may come first; the label change must end in a DELETED.
	sawDeleted := false
	for ev := range wi.ResultChan() {
		if rs, ok := ev.Object.(*v1alpha1.RunnerSet); ok && rs.Name == "w2" && ev.Type == watch.Deleted {
			sawDeleted = true
			break
		}
	}
	assert.True(t, sawDeleted, "the object leaving the selection is a DELETED event")
}

func TestDeleteAndSelectors(t *testing.T) {
	ns := namespace(t, "e2e-delete")
	create(t, runnerSet(ns, "d1"))
	other := runnerSet(ns, "d2")
	other.Labels = map[string]string{"tier": "prod"}
	create(t, other)

	assert.Equal(t, "d2", kubectl(t, "admin", "get", "rset", "-n", ns, "-l", "tier=prod", "-o", "jsonpath={.items[*].metadata.name}"))
	assert.Equal(t, "d1", kubectl(t, "admin", "get", "rset", "-n", ns, "--field-selector", "metadata.name=d1", "-o", "jsonpath={.items[*].metadata.name}"))
	assert.Equal(t, "d1", kubectl(t, "admin", "get", "rset", "-n", ns, "--field-selector", "metadata.name!=d2", "-o", "jsonpath={.items[*].metadata.name}"))
	errOut := kubectlFails(t, "admin", "get", "rset", "-n", ns, "--field-selector", "spec.githubConfigUrl=x")
	assert.Contains(t, errOut, "field label not supported")

	// Pagination through the ConfigMaps' continue tokens.
	list, err := actionsClient(t, "admin").ActionsV1alpha1().RunnerSets(ns).List(context.Background(), metav1.ListOptions{Limit: 1})
	require.NoError(t, err)
	require.Len(t, list.Items, 1)
	require.NotEmpty(t, list.Continue)
	next, err := actionsClient(t, "admin").ActionsV1alpha1().RunnerSets(ns).List(context.Background(), metav1.ListOptions{Limit: 1, Continue: list.Continue})
	require.NoError(t, err)
	require.Len(t, next.Items, 1)
	assert.NotEqual(t, list.Items[0].Name, next.Items[0].Name)

	kubectl(t, "admin", "delete", "rset", "d1", "-n", ns)
	errOut = kubectlFails(t, "admin", "get", "rset", "d1", "-n", ns)
	assert.Contains(t, errOut, `runnersets.actions.dev "d1" not found`)
	_, err = kubeClient(t, "admin").CoreV1().ConfigMaps(ns).Get(context.Background(), "runnerset.d1", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "backing ConfigMap is gone: %v", err)

	// Finalizers hold a deletion until they are removed, as for any resource.
	kubectl(t, "admin", "patch", "rset", "d2", "-n", ns, "--type=merge", "-p", `{"metadata":{"finalizers":["example.com/hold"]}}`)
	kubectl(t, "admin", "delete", "rset", "d2", "-n", ns, "--wait=false")
	assert.NotEmpty(t, kubectl(t, "admin", "get", "rset", "d2", "-n", ns, "-o", "jsonpath={.metadata.deletionTimestamp}"))
	kubectl(t, "admin", "patch", "rset", "d2", "-n", ns, "--type=merge", "-p", `{"metadata":{"finalizers":null}}`)
	eventually(t, 10*time.Second, "d2 gone", func(ctx context.Context) (bool, error) {
		_, err := actionsClient(t, "admin").ActionsV1alpha1().RunnerSets(ns).Get(ctx, "d2", metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
}

func TestValidationAnswers422WithFieldPaths(t *testing.T) {
	ns := namespace(t, "e2e-invalid")
	cases := map[string]struct {
		mutate func(*v1alpha1.RunnerSet)
		field  string
	}{
		"empty url":       {func(r *v1alpha1.RunnerSet) { r.Spec.GitHubConfigURL = "" }, "spec.githubConfigUrl"},
		"malformed url":   {func(r *v1alpha1.RunnerSet) { r.Spec.GitHubConfigURL = "https://github.com/a/b/c" }, "spec.githubConfigUrl"},
		"no secret":       {func(r *v1alpha1.RunnerSet) { r.Spec.GitHubConfigSecret = "" }, "spec.githubConfigSecret"},
		"negative min":    {func(r *v1alpha1.RunnerSet) { r.Spec.MinRunners = ptr.To[int32](-1) }, "spec.minRunners"},
		"max below min":   {func(r *v1alpha1.RunnerSet) { r.Spec.MinRunners = ptr.To[int32](9) }, "spec.maxRunners"},
		"long name":       {func(r *v1alpha1.RunnerSet) { r.Spec.RunnerScaleSetName = strings.Repeat("n", 46) }, "spec.runnerScaleSetName"},
		"bad name chars":  {func(r *v1alpha1.RunnerSet) { r.Spec.RunnerScaleSetName = "linux runners!" }, "spec.runnerScaleSetName"},
		"unknown mode":    {func(r *v1alpha1.RunnerSet) { r.Spec.ContainerMode = &v1alpha1.ContainerMode{Type: "podman"} }, "spec.containerMode.type"},
		"k8s mode no pvc": {func(r *v1alpha1.RunnerSet) { r.Spec.ContainerMode = &v1alpha1.ContainerMode{Type: "kubernetes"} }, "spec.containerMode.kubernetesModeWorkVolumeClaim"},
		"reserved pod label": {func(r *v1alpha1.RunnerSet) {
			r.Spec.Template.Labels = map[string]string{"actions.github.com/scale-set-name": "other"}
		}, "spec.template.metadata.labels[actions.github.com/scale-set-name]"},
		"empty label":    {func(r *v1alpha1.RunnerSet) { r.Spec.Labels = []string{""} }, "spec.labels[0]"},
		"long label":     {func(r *v1alpha1.RunnerSet) { r.Spec.Labels = []string{strings.Repeat("l", 300)} }, "spec.labels[0]"},
		"reserved label": {func(r *v1alpha1.RunnerSet) { r.Labels["actions.dev/runnerset"] = "x" }, "metadata.labels[actions.dev/runnerset]"},
	}
	c := actionsClient(t, "admin").ActionsV1alpha1().RunnerSets(ns)
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			rs := runnerSet(ns, "invalid")
			tc.mutate(rs)
			_, err := c.Create(context.Background(), rs, metav1.CreateOptions{})
			require.Error(t, err)
			var status apierrors.APIStatus
			require.ErrorAs(t, err, &status)
			assert.Equal(t, int32(422), status.Status().Code, err.Error())
			var fields []string
			for _, cause := range status.Status().Details.Causes {
				fields = append(fields, cause.Field)
			}
			assert.Contains(t, fields, tc.field)
		})
	}
	// And through kubectl, which prints the field.
	bad := `{"apiVersion":"actions.dev/v1alpha1","kind":"RunnerSet","metadata":{"name":"bad","namespace":"` + ns + `"},` +
		`"spec":{"githubConfigUrl":"not a url","githubConfigSecret":"s","template":{"spec":{"containers":[{"name":"runner","image":"r"}]}}}}`
	_, errOut, err := kubectlStdin("admin", bad, "create", "-f", "-")
	require.Error(t, err)
	assert.Contains(t, errOut, "is invalid")
	assert.Contains(t, errOut, "spec.githubConfigUrl")
	// Nothing was stored.
	cms, err := kubeClient(t, "admin").CoreV1().ConfigMaps(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "actions.dev/runnerset"})
	require.NoError(t, err)
	assert.Empty(t, cms.Items)
}

func TestStaleUpdateConflicts(t *testing.T) {
	ns := namespace(t, "e2e-conflict")
	c := actionsClient(t, "admin").ActionsV1alpha1().RunnerSets(ns)
	create(t, runnerSet(ns, "c"))
	first := settled(t, ns, "c")
	second := first.DeepCopy()
	first.Spec.MaxRunners = ptr.To[int32](7)
	_, err := c.Update(context.Background(), first, metav1.UpdateOptions{})
	require.NoError(t, err)
	second.Spec.MaxRunners = ptr.To[int32](9)
	_, err = c.Update(context.Background(), second, metav1.UpdateOptions{})
	require.True(t, apierrors.IsConflict(err), "stale update: %v", err)
	assert.Contains(t, err.Error(), "the object has been modified")
	got, err := c.Get(context.Background(), "c", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, int32(7), *got.Spec.MaxRunners)
}

func TestStatusSubresource(t *testing.T) {
	ns := namespace(t, "e2e-status")
	c := actionsClient(t, "admin").ActionsV1alpha1().RunnerSets(ns)
	create(t, runnerSet(ns, "st"))
	rs := settled(t, ns, "st")

	// A spec write cannot set status...
	rs.Status.BusyRunners = 4
	rs, err := c.Update(context.Background(), rs, metav1.UpdateOptions{})
	require.NoError(t, err)
	assert.Zero(t, rs.Status.BusyRunners)
	// ...and a status write cannot change spec.
	rs.Status.BusyRunners = 2
	rs.Status.ObservedGeneration = rs.Generation
	rs.Spec.MaxRunners = ptr.To[int32](1)
	rs, err = c.UpdateStatus(context.Background(), rs, metav1.UpdateOptions{})
	require.NoError(t, err)
	assert.Equal(t, int32(2), rs.Status.BusyRunners)
	assert.Equal(t, int32(5), *rs.Spec.MaxRunners)
	// Users with the editor role do not write status: the server does.
	_, err = actionsClient(t, "alice").ActionsV1alpha1().RunnerSets("team-a").UpdateStatus(context.Background(),
		&v1alpha1.RunnerSet{ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: "team-a"}}, metav1.UpdateOptions{})
	assert.True(t, apierrors.IsForbidden(err), "alice writing status: %v", err)
}

func TestCorruptBackingConfigMapDoesNotBreakList(t *testing.T) {
	ns := namespace(t, "e2e-corrupt")
	create(t, runnerSet(ns, "good"))
	create(t, runnerSet(ns, "broken"))
	cms := kubeClient(t, "admin").CoreV1().ConfigMaps(ns)
	_, err := cms.Patch(context.Background(), "runnerset.broken", types.MergePatchType, []byte(`{"data":{"object":"{not json"}}`), metav1.PatchOptions{})
	require.NoError(t, err)

	out, errOut, err := sys.Kubectl(context.Background(), "admin", "get", "rset", "-n", ns, "-o", "name")
	require.NoError(t, err, errOut)
	assert.Equal(t, "runnerset.actions.dev/good", strings.TrimSpace(out))
	assert.Contains(t, errOut, "Warning: runnersets.actions.dev "+ns+"/broken left out")
	assert.Contains(t, errOut, "runnerset.broken")

	errOut = kubectlFails(t, "admin", "get", "rset", "broken", "-n", ns)
	assert.Contains(t, errOut, "runnerset.broken")

	// A watch skips it too and keeps serving the others.
	w, err := actionsClient(t, "admin").ActionsV1alpha1().RunnerSets(ns).Watch(context.Background(), metav1.ListOptions{})
	require.NoError(t, err)
	defer w.Stop()
	ev := <-w.ResultChan()
	assert.Equal(t, "good", ev.Object.(*v1alpha1.RunnerSet).Name)
}

func TestRBACTeams(t *testing.T) {
	for _, ns := range []string{"team-a", "team-b"} {
		require.NoError(t, sys.EnsureNamespace(context.Background(), ns))
	}
	type check struct {
		user, verb, resource, ns string
		want                     string
	}
	var checks []check
	for _, verb := range []string{"get", "list", "watch", "create", "update", "patch", "delete"} {
		checks = append(checks,
			check{"alice", verb, "runnersets.actions.dev", "team-a", "yes"},
			check{"alice", verb, "runnersets.actions.dev", "team-b", "no"},
			check{"bob", verb, "runnersets.actions.dev", "team-b", "yes"},
			check{"bob", verb, "runnersets.actions.dev", "team-a", "no"},
			check{"carol", verb, "runnersets.actions.dev", "team-a", "yes"},
		)
	}
	checks = append(checks,
		check{"alice", "update", "runnersets.actions.dev/scale", "team-a", "yes"},
		check{"alice", "update", "runnersets.actions.dev/scale", "team-b", "no"},
		check{"alice", "update", "runnersets.actions.dev/status", "team-a", "no"},
		check{"bob", "update", "runnersets.actions.dev/scale", "team-b", "yes"},
		// Authoring a RunnerSet needs these; carol has none of them.
		check{"alice", "create", "pods", "team-a", "yes"},
		check{"carol", "create", "pods", "team-a", "no"},
		check{"carol", "get", "secrets", "team-a", "no"},
	)
	for _, c := range checks {
		res, sub, _ := strings.Cut(c.resource, "/")
		args := []string{"auth", "can-i", c.verb, res, "-n", c.ns}
		if sub != "" {
			args = append(args, "--subresource", sub)
		}
		out, _, _ := sys.Kubectl(context.Background(), c.user, args...)
		assert.Equal(t, c.want, strings.TrimSpace(out), "%s can-i %s %s in %s", c.user, c.verb, c.resource, c.ns)
	}

	// And for real, through the aggregated server's delegated authorization.
	for _, u := range []struct{ user, own, other string }{{"alice", "team-a", "team-b"}, {"bob", "team-b", "team-a"}} {
		name := "rbac-" + u.user
		manifest := fmt.Sprintf(`{"apiVersion":"actions.dev/v1alpha1","kind":"RunnerSet","metadata":{"name":%q},`+
			`"spec":{"githubConfigUrl":"%s","githubConfigSecret":"github-pat","maxRunners":3,`+
			`"template":{"spec":{"containers":[{"name":"runner","image":"r"}]}}}}`, name, gh.ConfigURL(u.own))
		_, errOut, err := kubectlStdin(u.user, manifest, "create", "-n", u.own, "-f", "-")
		require.NoError(t, err, errOut)
		kubectl(t, u.user, "scale", "rset", name, "-n", u.own, "--replicas=2")
		kubectl(t, u.user, "get", "rset", "-n", u.own)
		errOut = kubectlFails(t, u.user, "get", "rset", "-n", u.other)
		assert.Contains(t, errOut, "Forbidden")
		assert.Contains(t, errOut, fmt.Sprintf(`User "%s" cannot list resource "runnersets" in API group "actions.dev" in the namespace "%s"`, u.user, u.other))
		_, errOut, err = kubectlStdin(u.user, manifest, "create", "-n", u.other, "-f", "-")
		require.Error(t, err)
		assert.Contains(t, errOut, "Forbidden")
		if u.user == "alice" {
			carolEditsWhatAliceAuthored(t, name)
		}
		kubectl(t, u.user, "delete", "rset", name, "-n", u.own)
	}
}

// carolEditsWhatAliceAuthored: carol may edit team-a's RunnerSets but neither create pods nor
// read Secrets there. She may scale alice's RunnerSet and change its counts; she may not change
// what its runners get, nor author one of her own, and the 403 says which rights she lacks.
func carolEditsWhatAliceAuthored(t *testing.T, name string) {
	kubectl(t, "carol", "scale", "rset", name, "-n", "team-a", "--replicas=1")
	kubectl(t, "carol", "patch", "rset", name, "-n", "team-a", "--type=merge", "-p", `{"spec":{"maxRunners":2},"metadata":{"labels":{"tier":"x"}}}`)
	errOut := kubectlFails(t, "carol", "patch", "rset", name, "-n", "team-a", "--type=merge", "-p",
		`{"spec":{"template":{"spec":{"containers":[{"name":"runner","image":"attacker.example/steal"}]}}}}`)
	assert.Contains(t, errOut, "Forbidden")
	assert.Contains(t, errOut, `create pods (spec.template)`)
	manifest := fmt.Sprintf(`{"apiVersion":"actions.dev/v1alpha1","kind":"RunnerSet","metadata":{"name":"carols"},`+
		`"spec":{"githubConfigUrl":"%s","githubConfigSecret":"github-pat","maxRunners":3,`+
		`"template":{"spec":{"containers":[{"name":"runner","image":"r"}]}}}}`, gh.ConfigURL("team-a"))
	_, errOut, err := kubectlStdin("carol", manifest, "create", "-n", "team-a", "-f", "-")
	require.Error(t, err)
	assert.Contains(t, errOut, `user "carol" may not, in namespace team-a: create pods (spec.template); get secrets "github-pat" (spec.githubConfigSecret)`)
	_, errOut, err = kubectlStdin("carol", manifest, "create", "--dry-run=server", "-n", "team-a", "-f", "-")
	require.Error(t, err, "a dry run is refused the same way")
	assert.Contains(t, errOut, "Forbidden")
}
