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
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"actions.dev/runnerset-apiserver/pkg/apis/actions"
	"actions.dev/runnerset-apiserver/pkg/apis/actions/install"
	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/apis/actions/validation"
)

var scheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	install.Install(s)
	return s
}()

// runnerSet returns the chart's single RunnerSet, decoded strictly, after checking that the
// server would accept it: defaulted, converted and validated as the server does on create.
func runnerSet(t *testing.T, objs objects) *v1alpha1.RunnerSet {
	t.Helper()
	all := objs.ofKind("RunnerSet")
	require.Len(t, all, 1, "one RunnerSet: %v", objs.names())
	assert.Equal(t, "actions.dev/v1alpha1", all[0].GetAPIVersion())
	rs := as[v1alpha1.RunnerSet](t, all[0])
	defaulted := rs.DeepCopy()
	scheme.Default(defaulted)
	internal := &actions.RunnerSet{}
	require.NoError(t, scheme.Convert(defaulted, internal, nil))
	assert.Empty(t, validation.ValidateRunnerSet(internal).ToAggregate(), "the server would refuse this RunnerSet")
	return rs
}

func githubSecret(t *testing.T, objs objects, name string) *corev1.Secret {
	t.Helper()
	s := as[corev1.Secret](t, objs.get(t, "Secret", name))
	assert.Equal(t, corev1.SecretTypeOpaque, s.Type)
	return s
}

// TestRunnerSetChartSeedValues: the seed document's three values files, as written for ARC's
// chart, render a RunnerSet the server accepts, with the meaning ARC gives them.
func TestRunnerSetChartSeedValues(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"default", "dind", "kubernetes"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			values := filepath.Join(chartDir(runnerSetChart), "ci", mode+"-values.yaml")
			objs := renderRunnerSet(t, "--values", values)
			assert.Len(t, objs, 2, "a Secret and a RunnerSet: %v", objs.names())

			secret := githubSecret(t, objs, "arc-runner-set-github-secret")
			assert.Equal(t, map[string]string{"github_token": "ghp_xxxxxxxxxxxxxxxxxxxxxxxxx"}, secret.StringData)
			assert.Equal(t, runnerSetNamespace, secret.Namespace)

			rs := runnerSet(t, objs)
			assert.Equal(t, "arc-runner-set", rs.Name, "named after the release, as ARC's AutoscalingRunnerSet")
			assert.Equal(t, runnerSetNamespace, rs.Namespace)
			assert.Equal(t, "https://github.com/SoulChildTc/tekton-demo", rs.Spec.GitHubConfigURL)
			assert.Equal(t, "arc-runner-set-github-secret", rs.Spec.GitHubConfigSecret)
			assert.Equal(t, "arc-runner-set", rs.Spec.RunnerScaleSetName, "the runs-on label is the release name")
			runner := rs.Spec.Template.Spec.Containers[0]
			assert.Equal(t, "runner", runner.Name)
			assert.Equal(t, "ghcr.io/actions/actions-runner:latest", runner.Image)
			assert.Equal(t, []string{"/home/runner/run.sh"}, runner.Command)
			switch mode {
			case "default":
				assert.Equal(t, int32(0), *rs.Spec.MinRunners)
				assert.Equal(t, int32(10), *rs.Spec.MaxRunners)
				assert.Nil(t, rs.Spec.ContainerMode)
				assert.Len(t, rs.Spec.Template.Spec.Containers, 1)
			case "dind":
				// The server adds the dind sidecar, volumes and env to each runner pod; the
				// RunnerSet keeps the user's template as given.
				assert.Equal(t, v1alpha1.ContainerModeDind, rs.Spec.ContainerMode.Type)
				assert.Nil(t, rs.Spec.MinRunners)
				assert.Nil(t, rs.Spec.MaxRunners)
				assert.Len(t, rs.Spec.Template.Spec.Containers, 1)
			case "kubernetes":
				assert.Equal(t, v1alpha1.ContainerModeKubernetes, rs.Spec.ContainerMode.Type)
				assert.Nil(t, rs.Spec.ContainerMode.KubernetesModeWorkVolumeClaim, "the work volume is in the template")
				require.Len(t, rs.Spec.Template.Spec.Volumes, 1)
				work := rs.Spec.Template.Spec.Volumes[0]
				assert.Equal(t, "work", work.Name)
				assert.Equal(t, "standard", *work.Ephemeral.VolumeClaimTemplate.Spec.StorageClassName)
				assert.Contains(t, runner.Env, corev1.EnvVar{Name: "ACTIONS_RUNNER_REQUIRE_JOB_CONTAINER", Value: "false"})
				assert.Contains(t, runner.VolumeMounts, corev1.VolumeMount{Name: "work", MountPath: "/home/runner/_work"})
			}
		})
	}
}

// TestRunnerSetChartValues: each ARC value that applies maps onto the RunnerSet.
func TestRunnerSetChartValues(t *testing.T) {
	t.Parallel()
	base := []string{"--set", "githubConfigUrl=https://github.com/my-org/"}
	t.Run("GitHub App", func(t *testing.T) {
		t.Parallel()
		// IDs as YAML numbers (ARC asks for strings; numbers must not turn into 1.2e+07).
		objs := renderRunnerSet(t, append(base, "--set-json",
			`githubConfigSecret={"github_app_id":12345678,"github_app_installation_id":"87654321","github_app_private_key":"-----BEGIN RSA PRIVATE KEY-----\nx\n-----END RSA PRIVATE KEY-----\n"}`)...)
		secret := githubSecret(t, objs, "arc-runner-set-github-secret")
		assert.Equal(t, map[string]string{
			"github_app_id":              "12345678",
			"github_app_installation_id": "87654321",
			"github_app_private_key":     "-----BEGIN RSA PRIVATE KEY-----\nx\n-----END RSA PRIVATE KEY-----\n",
		}, secret.StringData)
		rs := runnerSet(t, objs)
		assert.Equal(t, "https://github.com/my-org", rs.Spec.GitHubConfigURL, "trailing / trimmed, as ARC does")
	})
	t.Run("existing Secret", func(t *testing.T) {
		t.Parallel()
		objs := renderRunnerSet(t, append(base, "--set", "githubConfigSecret=pre-defined-secret")...)
		assert.Empty(t, objs.ofKind("Secret").names())
		assert.Equal(t, "pre-defined-secret", runnerSet(t, objs).Spec.GitHubConfigSecret)
	})
	t.Run("scale set", func(t *testing.T) {
		t.Parallel()
		objs := renderRunnerSet(t, append(base, "--set",
			"githubConfigSecret.github_token=t,runnerScaleSetName=Linux_X64.large,runnerGroup=builders,scaleSetLabels={linux,x64},minRunners=2,maxRunners=8")...)
		rs := runnerSet(t, objs)
		assert.Equal(t, "linux-x64-large", rs.Name, "a valid object name derived from runnerScaleSetName")
		assert.Equal(t, "Linux_X64.large", rs.Spec.RunnerScaleSetName, "the runs-on label, as given")
		assert.Equal(t, "builders", rs.Spec.RunnerGroup)
		assert.Equal(t, []string{"linux", "x64"}, rs.Spec.Labels)
		assert.Equal(t, int32(2), *rs.Spec.MinRunners)
		assert.Equal(t, int32(8), *rs.Spec.MaxRunners)
		assert.Equal(t, "arc-runner-set-github-secret", rs.Spec.GitHubConfigSecret)
	})
	t.Run("proxy, TLS, template and kubernetes claim", func(t *testing.T) {
		t.Parallel()
		objs := renderRunnerSet(t, append(base, "--set", "githubConfigSecret.github_token=t,"+
			"proxy.https.url=http://proxy.example.com:3128,proxy.https.credentialSecretRef=proxy-auth,proxy.noProxy={example.com},"+
			"githubServerTLS.certificateFrom.configMapKeyRef.name=ghes-ca,githubServerTLS.certificateFrom.configMapKeyRef.key=ca.crt,"+
			"githubServerTLS.runnerMountPath=/usr/local/share/ca-certificates/,"+
			"containerMode.type=kubernetes,containerMode.kubernetesModeWorkVolumeClaim.accessModes={ReadWriteOnce},"+
			"containerMode.kubernetesModeWorkVolumeClaim.resources.requests.storage=1Gi,"+
			"template.spec.nodeSelector.pool=runners")...)
		rs := runnerSet(t, objs)
		assert.Equal(t, &v1alpha1.ProxyConfig{
			HTTPS:   &v1alpha1.ProxyServerConfig{URL: "http://proxy.example.com:3128", CredentialSecretRef: "proxy-auth"},
			NoProxy: []string{"example.com"},
		}, rs.Spec.Proxy)
		assert.Equal(t, "ghes-ca", rs.Spec.GitHubServerTLS.CertificateFrom.ConfigMapKeyRef.Name)
		assert.Equal(t, "/usr/local/share/ca-certificates/", rs.Spec.GitHubServerTLS.RunnerMountPath)
		assert.Equal(t, "1Gi", rs.Spec.ContainerMode.KubernetesModeWorkVolumeClaim.Resources.Requests.Storage().String())
		// A partial template keeps the default runner container (Helm merges maps, as in ARC).
		assert.Equal(t, map[string]string{"pool": "runners"}, rs.Spec.Template.Spec.NodeSelector)
		assert.Equal(t, "runner", rs.Spec.Template.Spec.Containers[0].Name)
	})
	t.Run("namespace and metadata", func(t *testing.T) {
		t.Parallel()
		objs := renderRunnerSet(t, append(base, "--set", "githubConfigSecret.github_token=t,namespaceOverride=ci,"+
			"labels.team=platform,annotations.owner=alice,resourceMeta.autoscalingRunnerSet.labels.tier=gold,"+
			"resourceMeta.githubConfigSecret.annotations.rotated=2026")...)
		rs := runnerSet(t, objs)
		secret := githubSecret(t, objs, "arc-runner-set-github-secret")
		assert.Equal(t, "ci", rs.Namespace)
		assert.Equal(t, "ci", secret.Namespace)
		assert.Equal(t, "platform", rs.Labels["team"])
		assert.Equal(t, "gold", rs.Labels["tier"])
		assert.Equal(t, "platform", secret.Labels["team"])
		assert.NotContains(t, secret.Labels, "tier")
		assert.Equal(t, "alice", rs.Annotations["owner"])
		assert.Equal(t, map[string]string{"owner": "alice", "rotated": "2026"}, secret.Annotations)
		assert.Equal(t, "Helm", rs.Labels["app.kubernetes.io/managed-by"])
	})
}

// TestRunnerSetChartRefusals: ARC values with no equivalent, and mistakes, are refused with a
// message that says what to do instead.
func TestRunnerSetChartRefusals(t *testing.T) {
	t.Parallel()
	seed := filepath.Join(chartDir(runnerSetChart), "ci", "default-values.yaml")
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"listenerTemplate", []string{"--set", "listenerTemplate.spec.containers[0].name=listener"},
			[]string{"listenerTemplate is not supported", "no listener pod", "runnerset-apiserver chart"}},
		{"listenerMetrics", []string{"--set", "listenerMetrics.counters.gha_started_jobs_total.labels={repository}"},
			[]string{"listenerMetrics is not supported", "/metrics", "metrics.serviceMonitor.enabled"}},
		{"keyVault", []string{"--set", "keyVault.type=azure_key_vault"},
			[]string{"keyVault is not supported", "Kubernetes Secret", "githubConfigSecret"}},
		{"controllerServiceAccount", []string{"--set", "controllerServiceAccount.name=arc-gha-rs-controller,controllerServiceAccount.namespace=arc-systems"},
			[]string{"controllerServiceAccount is not supported", "ClusterRole"}},
		{"kubernetes-novolume", []string{"--set", "containerMode.type=kubernetes-novolume"},
			[]string{"kubernetes-novolume is not supported", "use type kubernetes", "kubernetesModeWorkVolumeClaim"}},
		{"additional role rules", []string{"--set", "containerMode.type=kubernetes,containerMode.kubernetesModeAdditionalRoleRules[0].verbs={get}"},
			[]string{"kubernetesModeAdditionalRoleRules is not supported", "-kube-mode", "RoleBinding"}},
		{"unknown container mode", []string{"--set", "containerMode.type=podman"}, []string{`containerMode.type "podman"`, "dind or kubernetes"}},
		{"resourceMeta of a listener", []string{"--set", "resourceMeta.listenerServiceAccount.labels.a=b"},
			[]string{"resourceMeta.listenerServiceAccount has no equivalent", "template.metadata"}},
		{"typo", []string{"--set", "githubConfigURL=https://github.com/o"}, []string{`unknown value "githubConfigURL"`, "githubConfigUrl"}},
		{"min above max", []string{"--set", "minRunners=5,maxRunners=2"}, []string{"maxRunners has to be greater than or equal to minRunners"}},
		{"negative min", []string{"--set", "minRunners=-1"}, []string{"minRunners has to be greater than or equal to 0"}},
		{"empty label", []string{"--set", "scaleSetLabels={a,}"}, []string{"scaleSetLabels"}},
		{"long name", []string{"--set", "runnerScaleSetName=" + strings.Repeat("a", 46)}, []string{"longer than 45 characters"}},
		{"bad secret key", []string{"--set", "githubConfigSecret.token=x"}, []string{"githubConfigSecret.token is not a key the server reads"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			msg := renderFails(t, runnerSetRelease, chartDir(runnerSetChart), runnerSetNamespace, append([]string{"--values", seed}, tc.args...)...)
			for _, want := range tc.want {
				assert.Contains(t, msg, want)
			}
		})
	}
	t.Run("required values", func(t *testing.T) {
		t.Parallel()
		msg := renderFails(t, runnerSetRelease, chartDir(runnerSetChart), runnerSetNamespace)
		assert.Contains(t, msg, "githubConfigUrl is required")
		msg = renderFails(t, runnerSetRelease, chartDir(runnerSetChart), runnerSetNamespace, "--set", "githubConfigUrl=https://github.com/o")
		assert.Contains(t, msg, "githubConfigSecret is required")
		msg = renderFails(t, runnerSetRelease, chartDir(runnerSetChart), runnerSetNamespace, "--set", "githubConfigUrl=https://github.com/o,githubConfigSecret.github_app_id=1")
		assert.Contains(t, msg, "needs github_token, or all of github_app_id")
	})
}
