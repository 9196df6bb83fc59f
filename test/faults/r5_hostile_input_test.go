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
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/github/actions/httpretry"
	"actions.dev/runnerset-apiserver/pkg/github/simulator"
	"actions.dev/runnerset-apiserver/pkg/localsystem"
)

// TestR5HostileInput: every invalid RunnerSet is a 422 naming its field; huge objects, deeply
// nested documents and YAML bombs are refused with a 4xx, not crashed on; and malformed,
// truncated, oversized or nonsensical messages from the Actions Service are logged and skipped
// without losing the session. (The fuzz targets for validation and message decoding run in
// make test-faults next to this test.)
func TestR5HostileInput(t *testing.T) {
	w := newWorld(t, "R5 hostile input", "faults-r5", simulator.Options{LongPollHold: 2 * time.Second})
	ctx := context.Background()
	var notes []string

	// 1. Invalid RunnerSets: 422, and the cause names the field.
	cases := []struct {
		name, field string
		mutate      func(*v1alpha1.RunnerSet)
	}{
		{"empty url", "spec.githubConfigUrl", func(r *v1alpha1.RunnerSet) { r.Spec.GitHubConfigURL = "" }},
		{"url not github", "spec.githubConfigUrl", func(r *v1alpha1.RunnerSet) { r.Spec.GitHubConfigURL = "ftp://example.com/x" }},
		{"url too deep", "spec.githubConfigUrl", func(r *v1alpha1.RunnerSet) { r.Spec.GitHubConfigURL = "https://github.com/a/b/c" }},
		{"no secret", "spec.githubConfigSecret", func(r *v1alpha1.RunnerSet) { r.Spec.GitHubConfigSecret = "" }},
		{"bad secret name", "spec.githubConfigSecret", func(r *v1alpha1.RunnerSet) { r.Spec.GitHubConfigSecret = "Not_A_Name" }},
		{"negative min", "spec.minRunners", func(r *v1alpha1.RunnerSet) { r.Spec.MinRunners = ptr.To[int32](-1) }},
		{"negative max", "spec.maxRunners", func(r *v1alpha1.RunnerSet) { r.Spec.MaxRunners = ptr.To[int32](-5) }},
		{"max below min", "spec.maxRunners", func(r *v1alpha1.RunnerSet) { r.Spec.MinRunners = ptr.To[int32](9) }},
		{"scale set name too long", "spec.runnerScaleSetName", func(r *v1alpha1.RunnerSet) { r.Spec.RunnerScaleSetName = strings.Repeat("n", 46) }},
		{"scale set name chars", "spec.runnerScaleSetName", func(r *v1alpha1.RunnerSet) { r.Spec.RunnerScaleSetName = "linux runners!" }},
		{"empty label", "spec.labels[0]", func(r *v1alpha1.RunnerSet) { r.Spec.Labels = []string{""} }},
		{"long label", "spec.labels[0]", func(r *v1alpha1.RunnerSet) { r.Spec.Labels = []string{strings.Repeat("l", 300)} }},
		{"duplicate label", "spec.labels[1]", func(r *v1alpha1.RunnerSet) { r.Spec.Labels = []string{"gpu", "gpu"} }},
		{"unknown mode", "spec.containerMode.type", func(r *v1alpha1.RunnerSet) { r.Spec.ContainerMode = &v1alpha1.ContainerMode{Type: "podman"} }},
		{"kubernetes mode without volume", "spec.containerMode.kubernetesModeWorkVolumeClaim", func(r *v1alpha1.RunnerSet) {
			r.Spec.ContainerMode = &v1alpha1.ContainerMode{Type: "kubernetes"}
		}},
		{"claim outside kubernetes mode", "spec.containerMode.kubernetesModeWorkVolumeClaim", func(r *v1alpha1.RunnerSet) {
			r.Spec.ContainerMode = &v1alpha1.ContainerMode{Type: "dind", KubernetesModeWorkVolumeClaim: &corev1.PersistentVolumeClaimSpec{}}
		}},
		{"a label the server sets on runner pods", "spec.template.metadata.labels[actions.dev/runnerset]", func(r *v1alpha1.RunnerSet) {
			r.Spec.Template.Labels = map[string]string{"actions.dev/runnerset": "someone-else"}
		}},
		{"container without a name", "spec.template.spec.containers[1].name", func(r *v1alpha1.RunnerSet) {
			r.Spec.Template.Spec.Containers = append(r.Spec.Template.Spec.Containers, corev1.Container{Image: "busybox"})
		}},
		{"duplicate containers", "spec.template.spec.containers[1].name", func(r *v1alpha1.RunnerSet) {
			r.Spec.Template.Spec.Containers = append(r.Spec.Template.Spec.Containers, r.Spec.Template.Spec.Containers[0])
		}},
		{"restart policy", "spec.template.spec.restartPolicy", func(r *v1alpha1.RunnerSet) { r.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyAlways }},
		{"proxy with credentials", "spec.proxy.https.url", func(r *v1alpha1.RunnerSet) {
			r.Spec.Proxy = &v1alpha1.ProxyConfig{HTTPS: &v1alpha1.ProxyServerConfig{URL: "http://user:pw@proxy:3128"}}
		}},
		{"relative CA mount", "spec.githubServerTLS.runnerMountPath", func(r *v1alpha1.RunnerSet) {
			r.Spec.GitHubServerTLS = &v1alpha1.TLSConfig{RunnerMountPath: "certs", CertificateFrom: &v1alpha1.TLSCertificateSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "ca"}, Key: "ca.crt"}}}
		}},
		{"reserved label", "metadata.labels[actions.dev/runnerset]", func(r *v1alpha1.RunnerSet) { r.Labels = map[string]string{v1alpha1.LabelRunnerSet: "x"} }},
		{"name too long", "metadata.name", func(r *v1alpha1.RunnerSet) { r.Name = strings.Repeat("a", 58) }},
		{"annotations too large", "metadata.annotations", func(r *v1alpha1.RunnerSet) {
			r.Annotations = map[string]string{"big": strings.Repeat("x", 300<<10)}
		}},
		{"template annotations too large", "spec.template.metadata.annotations", func(r *v1alpha1.RunnerSet) {
			r.Spec.Template.Annotations = map[string]string{"big": strings.Repeat("x", 300<<10)}
		}},
	}
	valid := func(name string) *v1alpha1.RunnerSet {
		return &v1alpha1.RunnerSet{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: w.ns},
			Spec: v1alpha1.RunnerSetSpec{
				GitHubConfigURL: w.configURL(), GitHubConfigSecret: "github-pat", MinRunners: ptr.To[int32](1), MaxRunners: ptr.To[int32](5),
				Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "runner", Image: "ghcr.io/actions/actions-runner:latest"}}}},
			},
		}
	}
	rsc := w.rsets.ActionsV1alpha1().RunnerSets(w.ns)
	for _, tc := range cases {
		rs := valid("invalid")
		tc.mutate(rs)
		_, err := rsc.Create(ctx, rs, metav1.CreateOptions{})
		var fields []string
		if status, ok := err.(apierrors.APIStatus); ok && status.Status().Details != nil {
			for _, c := range status.Status().Details.Causes {
				fields = append(fields, c.Field)
			}
		}
		if !apierrors.IsInvalid(err) || !contains(fields, tc.field) {
			t.Errorf("%s: want a 422 naming %s, got %v (fields %v)", tc.name, tc.field, err, fields)
		}
	}
	// And on update: a valid RunnerSet made invalid is refused the same way.
	_, err := rsc.Create(ctx, valid("r5-valid"), metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = rsc.Patch(ctx, "r5-valid", types.MergePatchType, []byte(`{"spec":{"maxRunners":-1}}`), metav1.PatchOptions{})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.maxRunners") {
		t.Errorf("invalid update: want a 422 naming spec.maxRunners, got %v", err)
	}
	require.NoError(t, rsc.Delete(ctx, "r5-valid", metav1.DeleteOptions{}))
	notes = append(notes, fmt.Sprintf("1. %d invalid RunnerSets (and an invalid update) refused with 422 naming the field", len(cases)))

	// 2. Huge and deeply nested documents: a 4xx, never a 5xx, a hang or a crash.
	raw := sys.AdminClient().Discovery().RESTClient()
	post := func(contentType string, body []byte) (int, string) {
		ctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		res := raw.Post().AbsPath("/apis/actions.dev/v1alpha1/namespaces/"+w.ns+"/runnersets").SetHeader("Content-Type", contentType).Body(body).Do(ctx)
		var code int
		res.StatusCode(&code)
		err := res.Error()
		msg := ""
		if err != nil {
			msg = err.Error()
			if len(msg) > 200 {
				msg = msg[:200] + "..."
			}
		}
		return code, msg
	}
	asJSON := func(rs *v1alpha1.RunnerSet) []byte {
		rs.APIVersion, rs.Kind = "actions.dev/v1alpha1", "RunnerSet"
		b, err := json.Marshal(rs)
		require.NoError(t, err)
		return b
	}
	bigEnv := valid("huge-env")
	bigEnv.Spec.Template.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "BIG", Value: strings.Repeat("x", 1536<<10)}}
	manyEnv := valid("many-env")
	for i := 0; i < 20000; i++ {
		manyEnv.Spec.Template.Spec.Containers[0].Env = append(manyEnv.Spec.Template.Spec.Containers[0].Env, corev1.EnvVar{Name: fmt.Sprintf("V%d", i), Value: strings.Repeat("v", 40)})
	}
	nested := func(depth int) []byte {
		b := asJSON(valid("nested"))
		inner := strings.Repeat("[", depth) + strings.Repeat("]", depth)
		return []byte(strings.Replace(string(b), `"name":"runner"`, `"name":"runner","x":`+inner, 1))
	}
	deepObject := func(depth int) []byte {
		b := asJSON(valid("deep-object"))
		inner := strings.Repeat(`{"a":`, depth) + "1" + strings.Repeat("}", depth)
		return []byte(strings.Replace(string(b), `"template":{`, `"template":{"x":`+inner+`,`, 1))
	}
	bomb := "apiVersion: actions.dev/v1alpha1\nkind: RunnerSet\nmetadata:\n  name: bomb\n" +
		"a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
	prev := "a"
	for _, n := range []string{"b", "c", "d", "e", "f", "g", "h", "i"} {
		bomb += fmt.Sprintf("%s: &%s [*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s]\n", n, n, prev, prev, prev, prev, prev, prev, prev, prev, prev)
		prev = n
	}
	huge := []struct {
		name, contentType string
		body              []byte
		want              []int
	}{
		{"1.5 MiB env value (over a ConfigMap's 1 MiB)", "application/json", asJSON(bigEnv), []int{http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity}},
		{"20000 env vars", "application/json", asJSON(manyEnv), []int{http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity}},
		{"4 MiB body", "application/json", append(asJSON(valid("four-mib")), []byte(strings.Repeat(" ", 4<<20))...), []int{http.StatusRequestEntityTooLarge}},
		{"arrays nested 100000 deep", "application/json", nested(100000), []int{http.StatusBadRequest, http.StatusUnprocessableEntity}},
		{"objects nested 100000 deep", "application/json", deepObject(100000), []int{http.StatusBadRequest, http.StatusUnprocessableEntity}},
		{"YAML alias bomb", "application/yaml", []byte(bomb), []int{http.StatusBadRequest, http.StatusUnprocessableEntity, http.StatusUnsupportedMediaType, http.StatusRequestEntityTooLarge}},
		{"truncated JSON", "application/json", asJSON(valid("truncated"))[:120], []int{http.StatusBadRequest}},
	}
	var refused []string
	for _, h := range huge {
		begin := time.Now()
		code, msg := post(h.contentType, h.body)
		took := time.Since(begin)
		refused = append(refused, fmt.Sprintf("%s: %d in %s", h.name, code, took.Round(time.Millisecond)))
		if !containsInt(h.want, code) {
			t.Errorf("%s (%d bytes): got %d %s, want one of %v", h.name, len(h.body), code, msg, h.want)
		}
	}
	list, err := rsc.List(ctx, metav1.ListOptions{})
	require.NoError(t, err, "the server still serves")
	cms, err := w.kube.CoreV1().ConfigMaps(w.ns).List(ctx, metav1.ListOptions{LabelSelector: v1alpha1.LabelRunnerSet})
	require.NoError(t, err)
	if len(list.Items) != 0 || len(cms.Items) != 0 {
		t.Errorf("refused documents left %d RunnerSets, %d ConfigMaps", len(list.Items), len(cms.Items))
	}
	if pid := sys.ComponentPID(localsystem.ServerName); pid == 0 {
		t.Errorf("the server died")
	}
	notes = append(notes, "2. refused, nothing stored, server alive: "+strings.Join(refused, "; "))

	// 3. The Actions Service sends garbage on the long poll. Each is logged and skipped; the
	// session stays the same one throughout, and jobs run afterwards.
	w.addSet(setSpec{name: "r5-a", min: 1, max: 4})
	id, _ := w.scaleSetOf("r5-a")
	sessionID := func() string {
		for _, s := range w.sim.Sessions() {
			if s.RunnerScaleSet != nil && s.RunnerScaleSet.ID == id {
				return s.SessionID
			}
		}
		return ""
	}
	session := sessionID()
	creates := w.sim.Counters().ScaleSet(id, simulator.EPCreateSession)
	stats := `{"totalAvailableJobs":0,"totalAcquiredJobs":0,"totalAssignedJobs":0,"totalRunningJobs":0,"totalRegisteredRunners":1,"totalBusyRunners":0,"totalIdleRunners":1}`
	envelope := func(body string) string {
		b, _ := json.Marshal(body)
		return `{"messageId":1,"messageType":"RunnerScaleSetJobMessages","body":` + string(b) + `,"statistics":` + stats + `}`
	}
	garbage := []struct{ name, body string }{
		{"truncated envelope", `{"messageId":100000001,"messageType":"RunnerScaleSetJobMessages","body":"[{\"messageType\":\"JobAvail`},
		{"body not JSON", envelope(`[{"messageType":`)},
		{"not JSON", `<html><body>502 Bad Gateway</body></html>`},
		{"body of wrong types", envelope(`[{"messageType":42,"runnerRequestId":"x"}]`)},
		{"wrong JSON type", `[1,2,3]`},
		{"unknown message type", `{"messageId":1,"messageType":"SomethingNew","body":"[]","statistics":` + stats + `}`},
		{"oversized (33 MiB)", `{"messageId":1,"messageType":"RunnerScaleSetJobMessages","body":"` + strings.Repeat("A", httpretry.MaxBodyBytes+(1<<20)) + `"}`},
		{"unknown job message type", envelope(`[{"messageType":"JobTeleported","runnerRequestId":5}]`)},
		{"negative statistics", `{"messageId":1,"messageType":"RunnerScaleSetJobMessages","body":"[]","statistics":{"totalAssignedJobs":-7,"totalRegisteredRunners":-1}}`},
	}
	// All of them in a row, one answer each (faults answer in the order injected), so that
	// the malformed ones alternate with ones that decode.
	before := w.sim.Counters().ScaleSet(id, simulator.EPGetMessage)
	garbageFrom := time.Now()
	warm := w.mon.livePods("r5-a")
	for _, g := range garbage {
		w.sim.InjectFault(simulator.Fault{Endpoint: simulator.EPGetMessage, ScaleSetID: id, Body: g.body, Count: 1})
	}
	w.eventually(2*time.Minute, "the scaler polling past all the garbage", func(context.Context) (bool, string) {
		left := 0
		for _, f := range w.sim.Faults() {
			if f.Fault.ScaleSetID == id {
				left++
			}
		}
		n := w.sim.Counters().ScaleSet(id, simulator.EPGetMessage)
		return left == 0 && n >= before+len(garbage)+1, fmt.Sprintf("%d answers left, %d polls", left, n-before)
	})
	if s := sessionID(); s != session || w.sim.Counters().ScaleSet(id, simulator.EPCreateSession) != creates {
		t.Errorf("after the garbage the session changed (%q -> %q, %d creates): it was lost", session, s, w.sim.Counters().ScaleSet(id, simulator.EPCreateSession)-creates)
		session = s
	}
	if gone := w.mon.deletedSince(garbageFrom); len(gone) > 0 {
		t.Errorf("the warm pool %v lost %v to the garbage (negative statistics taken for fewer jobs?)", warm, gone)
	}
	logData, _ := os.ReadFile(sys.LogFile(localsystem.ServerName))
	skipped := strings.Count(string(logData), "Skipping")
	w.queue("r5-a", pick(8, 4), time.Second, 3*time.Second)
	w.waitJobs(3 * time.Minute)
	if s := sessionID(); s != session {
		t.Errorf("the session changed while running jobs after the garbage")
	}
	notes = append(notes, fmt.Sprintf("3. %d kinds of garbage on the long poll (%s): the same session throughout, %d skips logged, jobs run afterwards",
		len(garbage), names(garbage), skipped))
	w.audit(notes...)
}

func names(g []struct{ name, body string }) string {
	var out []string
	for _, x := range g {
		out = append(out, x.name)
	}
	return strings.Join(out, ", ")
}

func containsInt(list []int, n int) bool {
	for _, x := range list {
		if x == n {
			return true
		}
	}
	return false
}
