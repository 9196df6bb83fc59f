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

package contract

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
)

func params(mode v1alpha1.ContainerModeType) Params {
	rs := &v1alpha1.RunnerSet{
		ObjectMeta: metav1.ObjectMeta{Name: "linux", Namespace: "team-a"},
		Spec: v1alpha1.RunnerSetSpec{
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"team": "a"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "runner", Image: "ghcr.io/actions/actions-runner:2.330.0",
					Env: []corev1.EnvVar{{Name: "ACTIONS_RUNNER_REQUIRE_JOB_CONTAINER", Value: "false"}},
				}}},
			},
		},
	}
	if mode != "" {
		rs.Spec.ContainerMode = &v1alpha1.ContainerMode{Type: mode}
	}
	return Params{
		RunnerSet: rs, Name: "linux-abcde", ScaleSetID: 7, RunnerID: 42,
		Owner:                        metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: "runnerset.linux", UID: "u1"},
		KubernetesModeServiceAccount: "linux-kube-mode",
		UserAgent:                    "runnerset-apiserver/test",
	}
}

func env(c corev1.Container, name string) *corev1.EnvVar {
	for i := range c.Env {
		if c.Env[i].Name == name {
			return &c.Env[i]
		}
	}
	return nil
}

func container(pod *corev1.Pod, name string) corev1.Container {
	for _, c := range append(pod.Spec.InitContainers, pod.Spec.Containers...) {
		if c.Name == name {
			return c
		}
	}
	return corev1.Container{}
}

func TestDefaultMode(t *testing.T) {
	p := params("")
	pod := Pod(p)
	assert.Equal(t, "linux-abcde", pod.Name)
	assert.Equal(t, "team-a", pod.Namespace)
	assert.Equal(t, "linux", pod.Labels[v1alpha1.LabelRunnerSet])
	assert.Equal(t, "a", pod.Labels["team"], "template labels kept")
	assert.Equal(t, "42", pod.Annotations[v1alpha1.AnnotationRunnerID])
	assert.Equal(t, TemplateHash(p.RunnerSet), pod.Annotations[v1alpha1.AnnotationTemplateHash])
	assert.Equal(t, []metav1.OwnerReference{p.Owner}, pod.OwnerReferences)
	assert.Equal(t, corev1.RestartPolicyNever, pod.Spec.RestartPolicy)
	require.NotNil(t, pod.Spec.AutomountServiceAccountToken)
	assert.False(t, *pod.Spec.AutomountServiceAccountToken, "no Kubernetes credentials in runner pods by default")

	runner := container(pod, "runner")
	jit := env(runner, "ACTIONS_RUNNER_INPUT_JITCONFIG")
	require.NotNil(t, jit)
	assert.Empty(t, jit.Value, "the JIT config only by secretKeyRef")
	assert.Equal(t, &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "linux-abcde"}, Key: "jitToken"}, jit.ValueFrom.SecretKeyRef)
	assert.Equal(t, "1", env(runner, "ACTIONS_RUNNER_RETURN_VERSION_DEPRECATED_EXIT_CODE").Value)
	assert.Nil(t, env(runner, "ACTIONS_RUNNER_CONTAINER_HOOKS"))
	assert.Empty(t, pod.Spec.InitContainers)
	// The input is not modified.
	assert.Len(t, p.RunnerSet.Spec.Template.Spec.Containers[0].Env, 1)

	s := Secret(p, "blob")
	assert.Equal(t, "linux-abcde", s.Name)
	assert.Equal(t, []byte("blob"), s.Data["jitToken"])
	assert.Equal(t, "linux", s.Labels[v1alpha1.LabelRunnerSet])
}

func TestDindMode(t *testing.T) {
	pod := Pod(params(v1alpha1.ContainerModeDind))
	assert.Equal(t, []string{"init-dind-externals", "dind"}, names(pod.Spec.InitContainers))
	assert.Equal(t, []string{"runner"}, names(pod.Spec.Containers))
	dind := container(pod, "dind")
	require.NotNil(t, dind.RestartPolicy, "dind runs as a native sidecar")
	assert.Equal(t, corev1.ContainerRestartPolicyAlways, *dind.RestartPolicy)
	assert.True(t, *dind.SecurityContext.Privileged)
	assert.Equal(t, "ghcr.io/actions/actions-runner:2.330.0", container(pod, "init-dind-externals").Image)
	runner := container(pod, "runner")
	assert.Equal(t, DockerHost, env(runner, "DOCKER_HOST").Value)
	var mounts []string
	for _, m := range runner.VolumeMounts {
		mounts = append(mounts, m.Name+":"+m.MountPath)
	}
	assert.ElementsMatch(t, []string{"work:/home/runner/_work", "dind-sock:/var/run"}, mounts)
	assert.Len(t, pod.Spec.Volumes, 3)
}

func names(cs []corev1.Container) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}

func mounts(c corev1.Container) []string {
	var out []string
	for _, m := range c.VolumeMounts {
		out = append(out, m.Name+":"+m.MountPath)
	}
	return out
}

// TestDindTemplateContainers: as in ARC's chart, the template's init containers run after the
// dind sidecar started, and a template container named dind (or init-dind-externals) takes the
// place of the server's, filled in with what it leaves out.
func TestDindTemplateContainers(t *testing.T) {
	userInit := corev1.Container{Name: "chown", Image: "busybox"}
	custom := corev1.Container{Name: "dind", Image: "docker:27-dind", Args: []string{"dockerd", "--mtu=1400"},
		Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("2Gi")}}}
	tests := []struct {
		name                       string
		containers, initContainers []corev1.Container
		wantInit, wantContainers   []string
		wantImage                  string
		wantArgs                   []string
	}{
		{name: "template init containers after the sidecar", initContainers: []corev1.Container{userInit},
			wantInit: []string{"init-dind-externals", "dind", "chown"}, wantContainers: []string{"runner"},
			wantImage: DindImage, wantArgs: []string{"dockerd", "--host=unix:///var/run/docker.sock", "--group=$(DOCKER_GROUP_GID)"}},
		{name: "dind among the containers becomes the sidecar", containers: []corev1.Container{custom}, initContainers: []corev1.Container{userInit},
			wantInit: []string{"init-dind-externals", "dind", "chown"}, wantContainers: []string{"runner"},
			wantImage: "docker:27-dind", wantArgs: []string{"dockerd", "--mtu=1400"}},
		{name: "dind among the init containers moves before theirs", initContainers: []corev1.Container{userInit, custom},
			wantInit: []string{"init-dind-externals", "dind", "chown"}, wantContainers: []string{"runner"},
			wantImage: "docker:27-dind", wantArgs: []string{"dockerd", "--mtu=1400"}},
		{name: "init-dind-externals of the template", initContainers: []corev1.Container{{Name: "init-dind-externals", Image: "mine"}},
			wantInit: []string{"init-dind-externals", "dind"}, wantContainers: []string{"runner"},
			wantImage: DindImage, wantArgs: []string{"dockerd", "--host=unix:///var/run/docker.sock", "--group=$(DOCKER_GROUP_GID)"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := params(v1alpha1.ContainerModeDind)
			spec := &p.RunnerSet.Spec.Template.Spec
			spec.Containers = append(spec.Containers, tc.containers...)
			spec.InitContainers = tc.initContainers
			pod := Pod(p)
			assert.Equal(t, tc.wantInit, names(pod.Spec.InitContainers))
			assert.Equal(t, tc.wantContainers, names(pod.Spec.Containers))
			dind := pod.Spec.InitContainers[1]
			assert.Equal(t, tc.wantImage, dind.Image)
			assert.Equal(t, tc.wantArgs, dind.Args)
			assert.Equal(t, corev1.ContainerRestartPolicyAlways, *dind.RestartPolicy, "a native sidecar, so the pod ends with the runner")
			assert.True(t, *dind.SecurityContext.Privileged)
			assert.Equal(t, []string{"docker", "info"}, dind.StartupProbe.Exec.Command, "the next init containers wait for Docker")
			assert.Equal(t, "123", env(dind, "DOCKER_GROUP_GID").Value)
			assert.Equal(t, []string{"work:/home/runner/_work", "dind-sock:/var/run", "dind-externals:/home/runner/externals"}, mounts(dind))
			if tc.wantImage != DindImage {
				assert.Equal(t, "2Gi", dind.Resources.Limits.Memory().String(), "the template's settings are kept")
			}
			assert.Len(t, p.RunnerSet.Spec.Template.Spec.Containers, 1+len(tc.containers), "the input is not modified")
		})
	}
}

func TestKubernetesNoVolumeMode(t *testing.T) {
	tests := []struct {
		name        string
		env         []corev1.EnvVar
		volumes     []corev1.Volume
		wantImage   string
		wantVolumes []string
	}{
		{name: "as ARC renders it", wantImage: "ghcr.io/actions/actions-runner:2.330.0"},
		{name: "the template's image for the hooks and its volumes",
			env:       []corev1.EnvVar{{Name: "ACTIONS_RUNNER_IMAGE", Value: "registry.example.com/runner:1"}},
			volumes:   []corev1.Volume{{Name: "cache", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
			wantImage: "registry.example.com/runner:1", wantVolumes: []string{"cache"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := params(v1alpha1.ContainerModeKubernetesNoVolume)
			p.RunnerSet.Spec.Template.Spec.Containers[0].Env = append(p.RunnerSet.Spec.Template.Spec.Containers[0].Env, tc.env...)
			p.RunnerSet.Spec.Template.Spec.Volumes = tc.volumes
			pod := Pod(p)
			runner := container(pod, "runner")
			assert.Equal(t, ContainerHooksNoVolume, env(runner, "ACTIONS_RUNNER_CONTAINER_HOOKS").Value)
			assert.Equal(t, "metadata.name", env(runner, "ACTIONS_RUNNER_POD_NAME").ValueFrom.FieldRef.FieldPath)
			assert.Equal(t, "false", env(runner, "ACTIONS_RUNNER_REQUIRE_JOB_CONTAINER").Value, "the user's value wins")
			assert.Equal(t, tc.wantImage, env(runner, "ACTIONS_RUNNER_IMAGE").Value)
			assert.Empty(t, runner.VolumeMounts, "no work volume")
			var vols []string
			for _, v := range pod.Spec.Volumes {
				vols = append(vols, v.Name)
			}
			assert.Equal(t, tc.wantVolumes, vols)
			assert.Equal(t, "linux-kube-mode", pod.Spec.ServiceAccountName)
			assert.Nil(t, pod.Spec.AutomountServiceAccountToken, "the hooks need the account's token")
		})
	}
}

func TestPodLabelsAndAnnotations(t *testing.T) {
	tests := []struct {
		url, scaleSetName, group string
		wantLabels, wantAnnot    map[string]string
	}{
		{url: "https://github.com/my-org",
			wantLabels: map[string]string{"actions.github.com/organization": "my-org"},
			wantAnnot:  map[string]string{"actions.github.com/runner-scale-set-name": "linux", "actions.github.com/runner-group-name": "Default"}},
		{url: "https://github.com/my-org/my-repo", scaleSetName: "linux-small", group: "builders",
			wantLabels: map[string]string{"actions.github.com/organization": "my-org", "actions.github.com/repository": "my-repo"},
			wantAnnot:  map[string]string{"actions.github.com/runner-scale-set-name": "linux-small", "actions.github.com/runner-group-name": "builders"}},
		{url: "https://github.com/enterprises/my-enterprise",
			wantLabels: map[string]string{"actions.github.com/enterprise": "my-enterprise"},
			wantAnnot:  map[string]string{"actions.github.com/runner-scale-set-name": "linux", "actions.github.com/runner-group-name": "Default"}},
	}
	for _, tc := range tests {
		t.Run(tc.url, func(t *testing.T) {
			p := params("")
			p.RunnerSet.Spec.GitHubConfigURL, p.RunnerSet.Spec.RunnerScaleSetName, p.RunnerSet.Spec.RunnerGroup = tc.url, tc.scaleSetName, tc.group
			p.RunnerSet.Spec.Template.Annotations = map[string]string{"actions.github.com/runner-group-name": "forged", "note": "kept"}
			pod := Pod(p)
			want := map[string]string{
				"team": "a", "actions.dev/runnerset": "linux", "app.kubernetes.io/component": "runner",
				"app.kubernetes.io/managed-by": "runnerset-apiserver", "actions.github.com/scale-set-name": "linux",
				"actions.github.com/scale-set-namespace": "team-a", "actions-ephemeral-runner": "True",
			}
			for k, v := range tc.wantLabels {
				want[k] = v
			}
			assert.Equal(t, want, pod.Labels)
			for k, v := range tc.wantAnnot {
				assert.Equal(t, v, pod.Annotations[k], k)
			}
			assert.Equal(t, "kept", pod.Annotations["note"])
			assert.Equal(t, RunnerLabels("linux"), Secret(p, "blob").Labels, "the Secret carries ours only")
		})
	}
}

func TestKubernetesMode(t *testing.T) {
	p := params(v1alpha1.ContainerModeKubernetes)
	p.RunnerSet.Spec.ContainerMode.KubernetesModeWorkVolumeClaim = &corev1.PersistentVolumeClaimSpec{
		AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
		Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
	}
	pod := Pod(p)
	runner := container(pod, "runner")
	assert.Equal(t, ContainerHooks, env(runner, "ACTIONS_RUNNER_CONTAINER_HOOKS").Value)
	assert.Equal(t, "metadata.name", env(runner, "ACTIONS_RUNNER_POD_NAME").ValueFrom.FieldRef.FieldPath)
	assert.Equal(t, "false", env(runner, "ACTIONS_RUNNER_REQUIRE_JOB_CONTAINER").Value, "the user's value wins")
	assert.Equal(t, "linux-kube-mode", pod.Spec.ServiceAccountName)
	require.Len(t, pod.Spec.Volumes, 1)
	assert.NotNil(t, pod.Spec.Volumes[0].Ephemeral)
	assert.Nil(t, pod.Spec.AutomountServiceAccountToken, "kubernetes mode needs its account's token")
}

func TestProxyAndTLS(t *testing.T) {
	p := params("")
	p.RunnerSet.Spec.Proxy = &v1alpha1.ProxyConfig{
		HTTP:    &v1alpha1.ProxyServerConfig{URL: "http://proxy:3128"},
		HTTPS:   &v1alpha1.ProxyServerConfig{URL: "http://proxy:3128", CredentialSecretRef: "proxy-creds"},
		NoProxy: []string{"example.com", ".internal"},
	}
	p.ProxySecretName = "linux-runner-proxy"
	p.RunnerSet.Spec.GitHubServerTLS = &v1alpha1.TLSConfig{
		CertificateFrom: &v1alpha1.TLSCertificateSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "ca"}, Key: "ca.crt"}},
		RunnerMountPath: "/usr/local/share/ca-certificates/",
	}
	runner := container(Pod(p), "runner")
	assert.Equal(t, "http://proxy:3128", env(runner, "http_proxy").Value)
	assert.Equal(t, "linux-runner-proxy", env(runner, "https_proxy").ValueFrom.SecretKeyRef.Name, "credentials only through a Secret")
	assert.Equal(t, "example.com,.internal", env(runner, "no_proxy").Value)
	assert.Equal(t, "/usr/local/share/ca-certificates/ca.crt", env(runner, "NODE_EXTRA_CA_CERTS").Value)
}

func TestTemplateHashFollowsTheTemplate(t *testing.T) {
	a := params("").RunnerSet
	b := a.DeepCopy()
	assert.Equal(t, TemplateHash(a), TemplateHash(b))
	b.Spec.MaxRunners = new(int32) // scaling fields do not replace runners
	assert.Equal(t, TemplateHash(a), TemplateHash(b))
	b.Spec.Template.Spec.Containers[0].Image = "other"
	assert.NotEqual(t, TemplateHash(a), TemplateHash(b))
}

// TestPodIdleForNodeAutoscalers: a new runner pod is idle, free for node autoscalers to move,
// unless its template says otherwise or protection is off.
func TestPodIdleForNodeAutoscalers(t *testing.T) {
	for name, tc := range map[string]struct {
		protect  bool
		template map[string]string
		want     map[string]string
	}{
		"idle":          {true, nil, map[string]string{AnnotationSafeToEvict: "true", AnnotationDoNotDisrupt: "false"}},
		"template wins": {true, map[string]string{AnnotationDoNotDisrupt: "true"}, map[string]string{AnnotationSafeToEvict: "true", AnnotationDoNotDisrupt: "true"}},
		"off":           {false, nil, map[string]string{}},
	} {
		t.Run(name, func(t *testing.T) {
			p := params("")
			p.ProtectBusy = tc.protect
			p.RunnerSet.Spec.Template.Annotations = tc.template
			pod := Pod(p)
			got := map[string]string{}
			for _, k := range []string{AnnotationSafeToEvict, AnnotationDoNotDisrupt} {
				if v, ok := pod.Annotations[k]; ok {
					got[k] = v
				}
			}
			assert.Equal(t, tc.want, got)
		})
	}
}
