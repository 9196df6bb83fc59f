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

package charts

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"actions.dev/runnerset-apiserver/pkg/apis/actions"
	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/apis/actions/validation"
)

// arcShapes are the values files in the shapes of the 15 values files of ARC's
// gha-runner-scale-set chart 0.14.2, one each (testdata/arc-shapes/README.md).
func arcShapes(t *testing.T) map[string]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repoRoot, "charts", "testdata", "arc-shapes", "*.yaml"))
	require.NoError(t, err)
	out := map[string]string{}
	for _, f := range files {
		out[strings.TrimSuffix(filepath.Base(f), ".yaml")] = f
	}
	require.Len(t, out, 15, "one file per values file of ARC's chart")
	return out
}

// names are the names of containers or volumes, in order.
func containerNames(cs []corev1.Container) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}

func volumeNames(vs []corev1.Volume) []string {
	var out []string
	for _, v := range vs {
		out = append(out, v.Name)
	}
	return out
}

// TestARCShapedValues: each of ARC's values files, in its shape, installs: it renders a RunnerSet
// the server accepts, with the meaning ARC gives it, and the release notes list what ARC's chart
// reads and this one does not need.
func TestARCShapedValues(t *testing.T) {
	t.Parallel()
	files := arcShapes(t)
	for _, tc := range []struct {
		file string
		args []string
		// mode is spec.containerMode.type ("" for none).
		mode v1alpha1.ContainerModeType
		// containers, initContainers and volumes of the template as the server serves it.
		containers, initContainers, volumes []string
		min, max                            *int32
		ignored, unknown                    []string
	}{
		{file: "chart-values", args: []string{"--set", "githubConfigUrl=https://github.com/octo-org,githubConfigSecret.github_token=ghp_x"},
			containers: []string{"runner"}},
		{file: "ci-values", containers: []string{"runner"}},
		{file: "values", containers: []string{"runner"}, min: ptr(2), max: ptr(8), ignored: []string{"controllerServiceAccount"}},
		{file: "values_dind_extra_init_containers", mode: v1alpha1.ContainerModeDind,
			containers: []string{"runner"}, initContainers: []string{"fix-work-owner", "say-hello"}},
		{file: "values_dind_extra_volumes", mode: v1alpha1.ContainerModeDind,
			containers: []string{"runner", "cache"}, volumes: []string{"scratch", "tools", "work"}},
		{file: "values_dind_merge_spec", mode: v1alpha1.ContainerModeDind, containers: []string{"runner"}, volumes: []string{"work"}},
		{file: "values_extra_containers", containers: []string{"runner", "cache"}, volumes: []string{"work"}},
		{file: "values_extra_pod_spec", containers: []string{"runner"}},
		{file: "values_extra_volumes", containers: []string{"runner", "cache"}, volumes: []string{"scratch", "tools", "work"}},
		{file: "values_k8s_extra_role_rules", mode: v1alpha1.ContainerModeKubernetes,
			containers: []string{"runner", "cache"}, volumes: []string{"scratch", "tools", "work"},
			unknown: []string{"containerMode.kubernetesModeAdditionalRoleRule: did you mean kubernetesModeAdditionalRoleRules?"}},
		{file: "values_k8s_extra_volumes", mode: v1alpha1.ContainerModeKubernetes,
			containers: []string{"runner", "cache"}, volumes: []string{"scratch", "tools", "work"}},
		{file: "values_k8s_merge_spec", mode: v1alpha1.ContainerModeKubernetes, containers: []string{"runner"}, volumes: []string{"work"}},
		{file: "values_k8s_novolume_custom_volume_mounts", mode: v1alpha1.ContainerModeKubernetesNoVolume,
			containers: []string{"runner"}, volumes: []string{"certs"}, ignored: []string{"controllerServiceAccount"}},
		{file: "values_k8s_novolume_custom_volumes", mode: v1alpha1.ContainerModeKubernetesNoVolume,
			containers: []string{"runner"}, volumes: []string{"certs"}, ignored: []string{"controllerServiceAccount"}},
		{file: "values_listener_template", containers: []string{"runner"}, ignored: []string{"listenerTemplate"}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			path, ok := files[tc.file]
			require.True(t, ok, "testdata/arc-shapes/%s.yaml", tc.file)
			args := append([]string{"--values", path}, tc.args...)
			objs := renderRunnerSet(t, args...)
			rs := runnerSet(t, objs)
			assert.Equal(t, "arc-runner-set", rs.Name)
			assert.Equal(t, "arc-runner-set", rs.Spec.RunnerScaleSetName)
			githubSecret(t, objs, "arc-runner-set-github-secret")
			if tc.mode == "" {
				assert.Nil(t, rs.Spec.ContainerMode, "containerMode.type none and \"\" are the default mode")
			} else {
				require.NotNil(t, rs.Spec.ContainerMode)
				assert.Equal(t, tc.mode, rs.Spec.ContainerMode.Type)
				assert.Nil(t, rs.Spec.ContainerMode.KubernetesModeWorkVolumeClaim, "every file that uses a work volume declares it")
				assert.Empty(t, rs.Spec.ContainerMode.KubernetesModeAdditionalRoleRules)
			}
			spec := served(rs).Spec.Template.Spec
			assert.Equal(t, tc.containers, containerNames(spec.Containers))
			assert.Equal(t, tc.initContainers, containerNames(spec.InitContainers))
			assert.Equal(t, tc.volumes, volumeNames(spec.Volumes))
			assert.Equal(t, tc.min, rs.Spec.MinRunners)
			assert.Equal(t, tc.max, rs.Spec.MaxRunners)
			runner := container(&spec, "runner")
			require.NotNil(t, runner)
			assert.NotEmpty(t, runner.Image)
			assert.Empty(t, spec.RestartPolicy, "Never, which the server sets")

			notes := runnerSetNotes(t, args...)
			for _, key := range tc.ignored {
				assert.Contains(t, notes, "\n  - "+key+": ")
			}
			for _, u := range tc.unknown {
				assert.Contains(t, notes, "\n  - "+u)
			}
			if len(tc.ignored) == 0 {
				assert.NotContains(t, notes, "IGNORED")
			}
			if len(tc.unknown) == 0 {
				assert.NotContains(t, notes, "WARNING")
			}
		})
	}
}

func ptr(i int32) *int32 { return &i }

// TestARCShapedValuesMeaning: what ARC's chart does with the values of its test files, the
// RunnerSet keeps (the server renders the mode's parts of each pod; test/e2e checks the pods).
func TestARCShapedValuesMeaning(t *testing.T) {
	t.Parallel()
	files := arcShapes(t)
	get := func(t *testing.T, file string) *v1alpha1.RunnerSet {
		return served(runnerSet(t, renderRunnerSet(t, "--values", files[file])))
	}
	t.Run("dind merge", func(t *testing.T) {
		t.Parallel()
		spec := get(t, "values_dind_merge_spec").Spec.Template.Spec
		runner := container(&spec, "runner")
		// The template's DOCKER_HOST and work mount stand: the server adds only what is missing.
		assert.Equal(t, corev1.EnvVar{Name: "DOCKER_HOST", Value: "tcp://localhost:2375"}, runner.Env[0])
		assert.Equal(t, "/runner/work", runner.VolumeMounts[0].MountPath)
		assert.Equal(t, "2Gi", runner.Resources.Limits.Memory().String())
		assert.Equal(t, "/var/lib/runner-work", spec.Volumes[0].HostPath.Path)
	})
	t.Run("kubernetes merge", func(t *testing.T) {
		t.Parallel()
		spec := get(t, "values_k8s_merge_spec").Spec.Template.Spec
		assert.Equal(t, corev1.EnvVar{Name: "ACTIONS_RUNNER_CONTAINER_HOOKS", Value: "/opt/hooks/k8s/index.js"}, container(&spec, "runner").Env[0])
	})
	t.Run("extra pod spec", func(t *testing.T) {
		t.Parallel()
		for _, file := range []string{"values_extra_pod_spec", "values_extra_containers"} {
			spec := get(t, file).Spec.Template.Spec
			assert.Equal(t, corev1.DNSNone, spec.DNSPolicy, file)
			assert.Equal(t, []string{"198.51.100.53"}, spec.DNSConfig.Nameservers, file)
		}
	})
	t.Run("novolume mounts", func(t *testing.T) {
		t.Parallel()
		// A runner container without an image (what ARC's chart renders too): the server's
		// default gives it ARC's image and command, with the file's mount.
		runner := container(&get(t, "values_k8s_novolume_custom_volume_mounts").Spec.Template.Spec, "runner")
		assert.Equal(t, []corev1.VolumeMount{{Name: "certs", MountPath: "/etc/runner-certs"}}, runner.VolumeMounts)
		assert.Equal(t, v1alpha1.DefaultRunnerImage, runner.Image)
		assert.Equal(t, []string{v1alpha1.DefaultRunnerCommand}, runner.Command)
	})
	t.Run("runner without image, with a command", func(t *testing.T) {
		t.Parallel()
		rs := served(runnerSet(t, renderRunnerSet(t, "--values", files["ci-values"], "--set", "template.spec.containers[0].name=runner,template.spec.containers[0].command={/bin/run}")))
		runner := container(&rs.Spec.Template.Spec, "runner")
		assert.Equal(t, v1alpha1.DefaultRunnerImage, runner.Image)
		assert.Equal(t, []string{"/bin/run"}, runner.Command)
	})
	t.Run("the API's default runner", func(t *testing.T) {
		t.Parallel()
		// The chart's copy of it (the experimental chart's runner.container defaults) is the API's.
		rs := runnerSet(t, renderRunnerSet(t, "--set", "auth.url=https://github.com/o,auth.githubToken=t,runner.env[0].name=A,runner.env[0].value=b"))
		runner := container(&rs.Spec.Template.Spec, "runner")
		assert.Equal(t, v1alpha1.DefaultRunnerImage, runner.Image)
		assert.Equal(t, []string{v1alpha1.DefaultRunnerCommand}, runner.Command)
	})
}

// apiChecksOff is the runnerset chart without its early checks of what the API refuses.
func apiChecksOff(t *testing.T) string {
	t.Helper()
	chart := copyChart(t, runnerSetChart)
	path := filepath.Join(chart, "templates", "_apichecks.tpl")
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Contains(t, string(data), `{{- define "runnerset.apiErrors" -}}`)
	require.NoError(t, os.WriteFile(path, []byte(`{{- define "runnerset.apiErrors" -}}[]{{- end }}`), 0o644))
	return chart
}

// apiErrors validates the chart's RunnerSet as the server does on create.
func apiErrors(t *testing.T, objs objects) (string, field.ErrorList) {
	t.Helper()
	all := objs.ofKind("RunnerSet")
	require.Len(t, all, 1)
	rs := as[v1alpha1.RunnerSet](t, all[0])
	scheme.Default(rs)
	internal := &actions.RunnerSet{}
	require.NoError(t, scheme.Convert(rs, internal, nil))
	return rs.Name, validation.ValidateRunnerSet(internal)
}

// TestRunnerSetChartAPIChecks: what the API refuses fails helm install before anything is
// installed, with the API's own message: the chart's early checks say, word for word, what the
// server's validation says of the same RunnerSet.
func TestRunnerSetChartAPIChecks(t *testing.T) {
	t.Parallel()
	seed := filepath.Join(chartDir(runnerSetChart), "ci", "default-values.yaml")
	unchecked := apiChecksOff(t)
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"claim and work volume", []string{"--set", "containerMode.type=kubernetes,containerMode.kubernetesModeWorkVolumeClaim.accessModes={ReadWriteOnce}," +
			"containerMode.kubernetesModeWorkVolumeClaim.resources.requests.storage=1Gi,template.spec.volumes[0].name=work,template.spec.volumes[0].emptyDir.medium=Memory"}},
		{"kubernetes without work volume", []string{"--set", "containerMode.type=kubernetes"}},
		{"claim without size", []string{"--set", "containerMode.type=kubernetes,containerMode.kubernetesModeWorkVolumeClaim.storageClassName=x"}},
		{"unknown mode", []string{"--set", "containerMode.type=podman"}},
		{"duplicate labels", []string{"--set", "scaleSetLabels={linux,x64,linux}"}},
		{"empty label", []string{"--set", "scaleSetLabels={a,}"}},
		{"long label", []string{"--set", "scaleSetLabels={" + strings.Repeat("l", 256) + "}"}},
		{"name starting with a digit", []string{"--set", "runnerScaleSetName=1st-runners"}},
		{"long name", []string{"--set", "runnerScaleSetName=" + strings.Repeat("a", 46)}},
		{"name with a space", []string{"--set", "runnerScaleSetName=my runners"}},
		{"restartPolicy", []string{"--set", "template.spec.restartPolicy=OnFailure"}},
		{"negative min", []string{"--set", "minRunners=-1"}},
		{"min above max", []string{"--set", "minRunners=5,maxRunners=2"}},
		{"negative max", []string{"--set", "maxRunners=-2"}},
		{"URL scheme", []string{"--set", "githubConfigUrl=ftp://github.com/octo-org"}},
		{"URL with a query", []string{"--set", "githubConfigUrl=https://github.com/octo-org?x=1"}},
		{"URL of a host", []string{"--set", "githubConfigUrl=https://github.com"}},
		{"URL too deep", []string{"--set", "githubConfigUrl=https://github.com/a/b/c"}},
		{"URL with an empty segment", []string{"--set", "githubConfigUrl=https://github.com/a//b"}},
		{"Secret name", []string{"--set", "githubConfigSecret=GitHub_PAT"}},
		{"duplicate containers", []string{"--set", "template.spec.containers[0].name=sidecar,template.spec.containers[0].image=s,template.spec.containers[1].name=sidecar,template.spec.containers[1].image=s"}},
		{"container name", []string{"--set", "template.spec.containers[0].name=Side_Car,template.spec.containers[0].image=s"}},
		{"dind twice", []string{"--set", "containerMode.type=dind,template.spec.containers[0].name=dind,template.spec.containers[0].image=d,template.spec.initContainers[0].name=dind,template.spec.initContainers[0].image=d"}},
		{"reserved pod label", []string{"--set", "template.metadata.labels.actions-ephemeral-runner=yes"}},
		{"pod label value", []string{"--set", "template.metadata.labels.team=a b"}},
		{"RunnerSet label value", []string{"--set", "labels.team=a b"}},
		{"role rules without verbs", []string{"--set", "containerMode.type=kubernetes-novolume,containerMode.kubernetesModeAdditionalRoleRules[0].resources={configmaps}"}},
		{"proxy URL", []string{"--set", "proxy.https.url=proxy.example.com:3128"}},
		{"proxy credentials", []string{"--set", "proxy.http.url=http://user:pw@proxy.example.com:3128"}},
		{"proxy Secret", []string{"--set", "proxy.http.url=http://proxy.example.com,proxy.http.credentialSecretRef=Proxy_Auth"}},
		{"TLS without key", []string{"--set", "githubServerTLS.certificateFrom.configMapKeyRef.name=ca"}},
		{"TLS without ConfigMap", []string{"--set", "githubServerTLS.runnerMountPath=/certs"}},
		{"TLS mount path", []string{"--set", "githubServerTLS.certificateFrom.configMapKeyRef.name=ca,githubServerTLS.certificateFrom.configMapKeyRef.key=ca.crt,githubServerTLS.runnerMountPath=certs"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"--values", seed}, tc.args...)
			name, errs := apiErrors(t, render(t, runnerSetRelease, unchecked, runnerSetNamespace, args...))
			require.NotEmpty(t, errs, "the API accepts this RunnerSet: not a case for the early checks")
			want := fmt.Sprintf("RunnerSet.actions.dev %q is invalid: %s", name, errs.ToAggregate().Error())
			msg := renderFails(t, runnerSetRelease, chartDir(runnerSetChart), runnerSetNamespace, args...)
			assert.Contains(t, msg, want)
		})
	}
	t.Run("accepted alike", func(t *testing.T) {
		t.Parallel()
		// Every ARC shape passes both.
		for name, path := range arcShapes(t) {
			args := []string{"--values", path, "--set", "githubConfigUrl=https://github.com/octo-org,githubConfigSecret=github-pat"}
			_, errs := apiErrors(t, render(t, runnerSetRelease, unchecked, runnerSetNamespace, args...))
			assert.Empty(t, errs, name)
		}
	})
}

// experimentalFiles are the values files in the form of ARC's gha-runner-scale-set-experimental
// chart (testdata/arc-experimental).
func experimentalFiles(t *testing.T) map[string]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repoRoot, "charts", "testdata", "arc-experimental", "*.yaml"))
	require.NoError(t, err)
	out := map[string]string{}
	for _, f := range files {
		out[strings.TrimSuffix(filepath.Base(f), ".yaml")] = f
	}
	require.NotEmpty(t, out)
	return out
}

func envMap(c *corev1.Container) map[string]string {
	out := map[string]string{}
	for _, e := range c.Env {
		out[e.Name] = e.Value
	}
	return out
}

// TestExperimentalValues: the values of ARC's gha-runner-scale-set-experimental chart are a
// second form of the same values, read into the RunnerSet the equivalent gha-runner-scale-set
// values give.
func TestExperimentalValues(t *testing.T) {
	t.Parallel()
	files := experimentalFiles(t)
	render := func(t *testing.T, file string, args ...string) (objects, *v1alpha1.RunnerSet, string) {
		args = append([]string{"--values", files[file]}, args...)
		objs := renderRunnerSet(t, args...)
		return objs, runnerSet(t, objs), runnerSetNotes(t, args...)
	}
	t.Run("App by Client ID", func(t *testing.T) {
		t.Parallel()
		objs, rs, notes := render(t, "app-client-id")
		secret := githubSecret(t, objs, "arc-runner-set-github-secret")
		assert.Equal(t, "Iv23liOctoApp0000000", secret.StringData["github_app_id"], "the Client ID, which the server takes as the App's id")
		assert.Equal(t, "87654321", secret.StringData["github_app_installation_id"])
		assert.Contains(t, secret.StringData["github_app_private_key"], "BEGIN RSA PRIVATE KEY")
		assert.Equal(t, "platform", secret.Labels["team"], "resource.all")
		assert.Equal(t, "platform@example.com", secret.Annotations["owner"])

		assert.Equal(t, "linux-x64", rs.Name, "named after scaleset.name")
		assert.Equal(t, "linux-x64", rs.Spec.RunnerScaleSetName)
		assert.Equal(t, "https://github.com/octo-org", rs.Spec.GitHubConfigURL)
		assert.Equal(t, "default", rs.Spec.RunnerGroup)
		assert.Equal(t, []string{"linux", "x64"}, rs.Spec.Labels)
		assert.Equal(t, ptr(1), rs.Spec.MinRunners)
		assert.Equal(t, ptr(6), rs.Spec.MaxRunners)
		assert.Nil(t, rs.Spec.ContainerMode)
		assert.Equal(t, "gold", rs.Labels["tier"])
		assert.Equal(t, "platform", rs.Labels["team"])
		assert.Equal(t, map[string]string{"pool": "general", "team": "platform", "tier": "gold"}, rs.Spec.Template.Labels)
		spec := rs.Spec.Template.Spec
		assert.Equal(t, map[string]string{"kubernetes.io/arch": "amd64"}, spec.NodeSelector)
		require.Len(t, spec.Containers, 1)
		assert.Equal(t, "ghcr.io/actions/actions-runner:2.330.0", spec.Containers[0].Image)
		assert.Equal(t, "500m", spec.Containers[0].Resources.Requests.Cpu().String())

		assert.Contains(t, notes, "read as those of ARC's gha-runner-scale-set-experimental chart")
		assert.Contains(t, notes, "- resource.listenerRole.metadata: there is no listener here")
		assert.Contains(t, notes, "- resource.managerRole.extraRules: there is no manager Role here")
		assert.Contains(t, notes, "- controllerServiceAccount: there is no controller to bind")
		assert.NotContains(t, notes, "WARNING")
	})
	t.Run("dind", func(t *testing.T) {
		t.Parallel()
		_, rs, notes := render(t, "dind")
		assert.Equal(t, v1alpha1.ContainerModeDind, rs.Spec.ContainerMode.Type)
		spec := rs.Spec.Template.Spec
		assert.Equal(t, []string{"runner", "cache"}, containerNames(spec.Containers))
		assert.Equal(t, []string{"warm-cache"}, containerNames(spec.InitContainers), "ARC's dind sidecar as the server renders it")
		assert.Equal(t, []string{"scratch"}, volumeNames(spec.Volumes))
		assert.Equal(t, map[string]string{"BUILD_FLAVOUR": "docker", "RUNNER_WAIT_FOR_DOCKER_IN_SECONDS": "300"}, envMap(&spec.Containers[0]))
		assert.Contains(t, notes, "- listenerPodTemplate: there is no listener pod")
	})
	t.Run("dind changed", func(t *testing.T) {
		t.Parallel()
		_, rs, _ := render(t, "dind-custom")
		spec := rs.Spec.Template.Spec
		runner := container(&spec, "runner")
		assert.Equal(t, "registry.example.com/actions-runner:2.330.0", runner.Image)
		assert.Equal(t, map[string]string{"DOCKER_HOST": "unix:///run/docker/docker.sock"}, envMap(runner))
		assert.Equal(t, []corev1.VolumeMount{{Name: "dind-sock", MountPath: "/run/docker"}}, runner.VolumeMounts)
		// A sidecar named dind replaces the server's.
		require.Len(t, spec.InitContainers, 1)
		dind := spec.InitContainers[0]
		assert.Equal(t, "dind", dind.Name)
		assert.Equal(t, "docker:28-dind", dind.Image)
		assert.Equal(t, []string{"dockerd", "--host=unix:///run/docker/docker.sock", "--group=$(DOCKER_GROUP_GID)"}, dind.Args)
		assert.Equal(t, map[string]string{"DOCKER_GROUP_GID": "2375"}, envMap(&dind))
		assert.Equal(t, corev1.ContainerRestartPolicyAlways, *dind.RestartPolicy)
		assert.True(t, *dind.SecurityContext.Privileged)
		assert.Equal(t, "4Gi", dind.Resources.Limits.Memory().String())
		assert.Contains(t, dind.VolumeMounts, corev1.VolumeMount{Name: "dind-sock", MountPath: "/run/docker"})
	})
	t.Run("kubernetes", func(t *testing.T) {
		t.Parallel()
		objs, rs, notes := render(t, "kubernetes")
		assert.Empty(t, objs.ofKind("Secret").names(), "auth.secretName names an existing Secret")
		assert.Equal(t, "github-pat", rs.Spec.GitHubConfigSecret)
		assert.Equal(t, "https://github.com/enterprises/octo-enterprise", rs.Spec.GitHubConfigURL)
		cm := rs.Spec.ContainerMode
		assert.Equal(t, v1alpha1.ContainerModeKubernetes, cm.Type)
		// ARC's claim defaults under the values'.
		assert.Equal(t, []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}, cm.KubernetesModeWorkVolumeClaim.AccessModes)
		assert.Equal(t, "fast-ssd", *cm.KubernetesModeWorkVolumeClaim.StorageClassName)
		assert.Equal(t, "10Gi", cm.KubernetesModeWorkVolumeClaim.Resources.Requests.Storage().String())
		assert.Equal(t, []v1alpha1.RoleRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "list"}}}, cm.KubernetesModeAdditionalRoleRules)
		runner := container(&rs.Spec.Template.Spec, "runner")
		assert.Equal(t, map[string]string{
			"ACTIONS_RUNNER_REQUIRE_JOB_CONTAINER":   "false",
			"ACTIONS_RUNNER_CONTAINER_HOOK_TEMPLATE": "/home/runner/k8s/hook-template.yaml",
		}, envMap(runner))
		assert.Equal(t, []corev1.VolumeMount{{Name: "hook-extension", MountPath: "/home/runner/k8s/hook-template.yaml", SubPath: "extension", ReadOnly: true}}, runner.VolumeMounts)
		require.Len(t, rs.Spec.Template.Spec.Volumes, 1)
		assert.Equal(t, "k8s-jobs-hook-template", rs.Spec.Template.Spec.Volumes[0].ConfigMap.Name)
		ext := as[corev1.ConfigMap](t, objs.get(t, "ConfigMap", "k8s-jobs-hook-template"))
		assert.Contains(t, ext.Data["extension"], "name: $job")
		assert.Contains(t, notes, "- resource.kubernetesModeServiceAccount.metadata: the server creates the kubernetes-mode Role")
	})
	t.Run("kubernetes defaults", func(t *testing.T) {
		t.Parallel()
		_, rs, _ := render(t, "kubernetes", "--set", "runner.kubernetesMode.workVolumeClaim=null,runner.kubernetesMode.extension=null,runner.kubernetesMode.requireJobContainer=null")
		claim := rs.Spec.ContainerMode.KubernetesModeWorkVolumeClaim
		assert.Equal(t, "local-path", *claim.StorageClassName, "ARC's default claim")
		assert.Equal(t, "1Gi", claim.Resources.Requests.Storage().String())
		assert.Empty(t, rs.Spec.Template.Spec.Containers, "nothing to say about the runner: the server's default")
	})
	t.Run("kubernetes with a work volume and an account", func(t *testing.T) {
		t.Parallel()
		_, rs, notes := render(t, "kubernetes", "--set", "runner.kubernetesMode.workVolumeClaim=null,runner.kubernetesMode.serviceAccountName=ci-runner,"+
			"runner.pod.spec.volumes[0].name=work,runner.pod.spec.volumes[0].emptyDir.medium=Memory")
		assert.Nil(t, rs.Spec.ContainerMode.KubernetesModeWorkVolumeClaim, "the pod's work volume instead of ARC's default claim")
		assert.Equal(t, "ci-runner", rs.Spec.Template.Spec.ServiceAccountName)
		assert.Empty(t, rs.Spec.ContainerMode.KubernetesModeAdditionalRoleRules)
		assert.Contains(t, notes, "- resource.kubernetesModeRole.extraRules: runner pods run as runner.kubernetesMode.serviceAccountName (ci-runner)")
	})
	t.Run("token", func(t *testing.T) {
		t.Parallel()
		objs := renderRunnerSet(t, "--set", "auth.url=https://github.com/octo-org/,auth.githubToken=ghp_t")
		assert.Equal(t, map[string]string{"github_token": "ghp_t"}, githubSecret(t, objs, "arc-runner-set-github-secret").StringData)
		rs := runnerSet(t, objs)
		assert.Equal(t, "https://github.com/octo-org", rs.Spec.GitHubConfigURL)
		assert.Equal(t, "arc-runner-set", rs.Name, "the release name without scaleset.name")
	})
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"vault", []string{"--set", "auth.url=https://github.com/o,auth.secretName=s,secretResolution.type=azureKeyVault"},
			`secretResolution.type "azureKeyVault" is not supported: the runnerset-apiserver reads GitHub credentials from Kubernetes Secrets only`},
		{"no URL", []string{"--set", "auth.githubToken=t"}, "auth.url is required"},
		{"no credentials", []string{"--set", "auth.url=https://github.com/o"}, "auth needs secretName"},
		{"App without key", []string{"--set", "auth.url=https://github.com/o,auth.app.clientId=Iv1,auth.app.installationId=1"}, "auth.app.privateKey is required"},
		{"runner in pod containers", []string{"--set", "auth.url=https://github.com/o,auth.githubToken=t,runner.pod.spec.containers[0].name=runner"},
			"runner.pod.spec.containers[].name must not be 'runner' (reserved)"},
		{"no account", []string{"--set", "auth.url=https://github.com/o,auth.githubToken=t,runner.mode=kubernetes,runner.kubernetesMode.default=false"},
			"runner.kubernetesMode.serviceAccountName must be set"},
		{"no externals", []string{"--set", "auth.url=https://github.com/o,auth.githubToken=t,runner.mode=dind,runner.dind.copyRunnerExternals=false"},
			"runner.dind.copyRunnerExternals false is not supported: the server always copies the runner image's externals"},
		{"dind volumes", []string{"--set", "auth.url=https://github.com/o,auth.githubToken=t,runner.mode=dind,runner.dind.container.volumes[0].name=x"},
			"runner.dind.container.volumes is not supported"},
		{"API check", []string{"--set", "auth.url=https://github.com/o,auth.githubToken=t,scaleset.name=9lives"},
			`RunnerSet.actions.dev "9lives" is invalid: metadata.name: Invalid value: "9lives": a DNS-1035 label`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Contains(t, renderFails(t, runnerSetRelease, chartDir(runnerSetChart), runnerSetNamespace, tc.args...), tc.want)
		})
	}
}

// TestChartSchemas: both charts ship a values.schema.json that knows every value of their
// values.yaml; the server chart's refuses a value of the wrong type (a key it does not read
// passes, and the release notes warn about it: server_notes_test.go).
func TestChartSchemas(t *testing.T) {
	t.Parallel()
	for _, chart := range []string{serverChart, runnerSetChart} {
		t.Run(chart, func(t *testing.T) {
			t.Parallel()
			var schema map[string]any
			data, err := os.ReadFile(filepath.Join(chartDir(chart), "values.schema.json"))
			require.NoError(t, err)
			require.NoError(t, json.Unmarshal(data, &schema))
			values := decodeFile(t, filepath.Join(chartDir(chart), "values.yaml"))
			var missing []string
			if len(values) > 0 {
				walkSchema(schema, schema, values[0].Object, "", &missing)
			}
			sort.Strings(missing)
			assert.Empty(t, missing, "values.yaml keys values.schema.json does not describe")
		})
	}
	for _, tc := range []struct{ name, set, want string }{
		{"hosts as a string", "scaler.allowedGitHubHosts=github.com", "/scaler/allowedGitHubHosts': got string, want array"},
		{"log level", "logLevel=11", "/logLevel': maximum: got 11, want 10"},
		{"duration", "scaler.drainTimeout=thirty", "/scaler/drainTimeout': 'thirty' does not match pattern"},
		{"negative JIT budget", "scaler.jitBudget.perMinute=-1", "/scaler/jitBudget/perMinute': minimum: got -1, want 0"},
		{"negative JIT burst", "scaler.jitBudget.burst=-5", "/scaler/jitBudget/burst': minimum: got -5, want 0"},
		{"JIT budget key", "scaler.jitBudget.rate=10", "/scaler/jitBudget': additional properties 'rate' not allowed"},
	} {
		t.Run("server chart refuses "+tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Contains(t, renderFails(t, serverRelease, chartDir(serverChart), serverNamespace, "--set", tc.set), tc.want)
		})
	}
	t.Run("server chart takes an umbrella chart's keys", func(t *testing.T) {
		t.Parallel()
		renderServer(t, "--set", "enabled=true,global.imageRegistry=registry.example.com")
	})
}

// walkSchema records the paths of values the schema node does not describe: a key of an object
// whose schema lists properties and allows no others.
func walkSchema(root, node map[string]any, value any, path string, missing *[]string) {
	node = resolveRef(root, node)
	m, ok := value.(map[string]any)
	if !ok {
		return
	}
	props, _ := node["properties"].(map[string]any)
	additional, _ := node["additionalProperties"].(map[string]any)
	closed := node["additionalProperties"] == false
	for k, v := range m {
		p := strings.TrimPrefix(path+"."+k, ".")
		switch sub, ok := props[k].(map[string]any); {
		case ok:
			walkSchema(root, sub, v, p, missing)
		case additional != nil:
			walkSchema(root, additional, v, p, missing)
		case closed || props != nil:
			*missing = append(*missing, p)
		}
	}
}

func resolveRef(root, node map[string]any) map[string]any {
	ref, ok := node["$ref"].(string)
	if !ok {
		return node
	}
	name := strings.TrimPrefix(ref, "#/definitions/")
	defs, _ := root["definitions"].(map[string]any)
	def, _ := defs[name].(map[string]any)
	return resolveRef(root, def)
}
