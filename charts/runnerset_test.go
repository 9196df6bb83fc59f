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

// served is the RunnerSet as the server stores and serves it: defaulted (minRunners, the runner
// container).
func served(rs *v1alpha1.RunnerSet) *v1alpha1.RunnerSet {
	out := rs.DeepCopy()
	scheme.Default(out)
	return out
}

// container returns the named container of a pod spec, or nil.
func container(spec *corev1.PodSpec, name string) *corev1.Container {
	for i := range spec.Containers {
		if spec.Containers[i].Name == name {
			return &spec.Containers[i]
		}
	}
	return nil
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
			// Without a runner container in the values, the server's default (ARC's) applies.
			runner := served(rs).Spec.Template.Spec.Containers[0]
			assert.Equal(t, "runner", runner.Name)
			assert.Equal(t, "ghcr.io/actions/actions-runner:latest", runner.Image)
			assert.Equal(t, []string{"/home/runner/run.sh"}, runner.Command)
			switch mode {
			case "default":
				assert.Equal(t, int32(0), *rs.Spec.MinRunners)
				assert.Equal(t, int32(10), *rs.Spec.MaxRunners)
				assert.Nil(t, rs.Spec.ContainerMode)
				assert.Empty(t, rs.Spec.Template.Spec.Containers, "the API defaults the runner container")
				assert.Len(t, served(rs).Spec.Template.Spec.Containers, 1)
			case "dind":
				// The server adds the dind sidecar, volumes and env to each runner pod; the
				// RunnerSet keeps the user's template as given.
				assert.Equal(t, v1alpha1.ContainerModeDind, rs.Spec.ContainerMode.Type)
				assert.Nil(t, rs.Spec.MinRunners)
				assert.Nil(t, rs.Spec.MaxRunners)
				assert.Len(t, served(rs).Spec.Template.Spec.Containers, 1)
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
		// A partial template keeps the default runner container, as ARC's chart (whose values.yaml
		// has it) does: here the API defaults it.
		assert.Equal(t, map[string]string{"pool": "runners"}, rs.Spec.Template.Spec.NodeSelector)
		assert.Empty(t, rs.Spec.Template.Spec.Containers)
		assert.Equal(t, "runner", served(rs).Spec.Template.Spec.Containers[0].Name)
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
		// ARC's controller passes the AutoscalingRunnerSet's labels on to its runner pods.
		assert.Equal(t, map[string]string{"team": "platform", "tier": "gold"}, rs.Spec.Template.Labels)
		assert.Empty(t, rs.Spec.Template.Annotations, "ARC passes no AutoscalingRunnerSet annotation on to pods")
	})
	t.Run("runner pod metadata", func(t *testing.T) {
		t.Parallel()
		// resourceMeta.ephemeralRunnerSet and ephemeralRunner reach ARC's runner pods; the
		// template's own labels win; the labels the server sets on runner pods are left out.
		objs := renderRunnerSet(t, append(base, "--set", "githubConfigSecret.github_token=t,"+
			"labels.team=platform,labels.app\\.kubernetes\\.io/component=mine,"+
			"resourceMeta.ephemeralRunnerSet.labels.set=1,resourceMeta.ephemeralRunnerSet.annotations.a=set,"+
			"resourceMeta.ephemeralRunner.labels.runner=2,resourceMeta.ephemeralRunner.annotations.b=runner,"+
			"template.metadata.labels.team=runners,template.metadata.annotations.c=template")...)
		rs := runnerSet(t, objs)
		assert.Equal(t, map[string]string{"team": "runners", "set": "1", "runner": "2"}, rs.Spec.Template.Labels)
		assert.Equal(t, map[string]string{"a": "set", "b": "runner", "c": "template"}, rs.Spec.Template.Annotations)
		assert.Equal(t, "mine", rs.Labels["app.kubernetes.io/component"], "the RunnerSet keeps it")
		assert.NotContains(t, rs.Labels, "set")
	})
}

// TestRunnerSetChartRefusals: only values whose meaning the chart could not keep fail, with a
// message that says why and what to use instead.
func TestRunnerSetChartRefusals(t *testing.T) {
	t.Parallel()
	seed := filepath.Join(chartDir(runnerSetChart), "ci", "default-values.yaml")
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		// The server would look githubConfigSecret up as a Kubernetes Secret, not in the vault.
		{"keyVault", []string{"--set", "keyVault.type=azure_key_vault,keyVault.azure_key_vault.url=https://v.vault.azure.net"},
			[]string{`keyVault.type "azure_key_vault" is not supported`, "Kubernetes Secrets only", "set githubConfigSecret to its name"}},
		{"both dialects", []string{"--set", "auth.url=https://github.com/o,scaleset.name=x"},
			[]string{"mix keys of ARC's gha-runner-scale-set chart (githubConfigUrl, githubConfigSecret, minRunners, maxRunners)",
				"gha-runner-scale-set-experimental chart (scaleset, auth)", "write them for one of the two"}},
		{"token and App", []string{"--set", "githubConfigSecret.github_app_id=1,githubConfigSecret.github_app_installation_id=2,githubConfigSecret.github_app_private_key=k"},
			[]string{"github_token and github_app_* keys", "keep either"}},
		{"secret of another type", []string{"--set-json", "githubConfigSecret=[1]"}, []string{"at '/githubConfigSecret': got array"}},
		{"minRunners not a number", []string{"--set-string", "minRunners=two"}, []string{"/minRunners': got string, want null or integer"}},
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

// TestRunnerSetChartIgnored: ARC's values that mean nothing here install, and the release notes
// list them with what to do instead; keys neither chart knows install too, with a warning that
// names the key they probably meant.
func TestRunnerSetChartIgnored(t *testing.T) {
	t.Parallel()
	seed := filepath.Join(chartDir(runnerSetChart), "ci", "default-values.yaml")
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"listenerTemplate", []string{"--set", "listenerTemplate.spec.containers[0].name=listener"},
			[]string{"IGNORED", "- listenerTemplate: there is no listener pod", "runnerset-apiserver chart's values (resources, nodeSelector"}},
		{"listenerMetrics", []string{"--set", "listenerMetrics.counters.gha_started_jobs_total.labels={repository}"},
			[]string{"- listenerMetrics: there is no listener pod", "/metrics", "metrics.serviceMonitor.enabled", "kubectl get rset -o wide"}},
		{"controllerServiceAccount", []string{"--set", "controllerServiceAccount.name=arc-gha-rs-controller,controllerServiceAccount.namespace=arc-systems"},
			[]string{"- controllerServiceAccount: there is no controller to bind", "ClusterRole covers every namespace"}},
		{"umbrella condition", []string{"--set", "enabled=true"}, []string{"- enabled: an umbrella chart's condition reads it"}},
		{"keyVault without a type", []string{"--set", "keyVault.type="}, []string{"- keyVault: keyVault.type is empty", "githubConfigSecret"}},
		{"resourceMeta of a listener", []string{"--set", "resourceMeta.listenerServiceAccount.labels.a=b"},
			[]string{"- resourceMeta.listenerServiceAccount: there is no listener here"}},
		{"resourceMeta of the kubernetes-mode Role", []string{"--set", "resourceMeta.kubernetesModeRole.annotations.a=b"},
			[]string{"- resourceMeta.kubernetesModeRole: the server creates the kubernetes-mode Role", "template.spec.serviceAccountName"}},
		{"claim outside kubernetes mode", []string{"--set", "containerMode.type=dind,containerMode.kubernetesModeWorkVolumeClaim.accessModes={ReadWriteOnce}"},
			[]string{`- containerMode.kubernetesModeWorkVolumeClaim: only containerMode.type kubernetes uses it, and the type is "dind"`}},
		{"role rules outside the kubernetes modes", []string{"--set", "containerMode.kubernetesModeAdditionalRoleRules[0].verbs={get}"},
			[]string{`- containerMode.kubernetesModeAdditionalRoleRules: only the kubernetes modes have a Role`}},
		{"role rules with a ServiceAccount", []string{"--set", "containerMode.type=kubernetes-novolume,template.spec.serviceAccountName=ci,containerMode.kubernetesModeAdditionalRoleRules[0].verbs={get}"},
			[]string{"- containerMode.kubernetesModeAdditionalRoleRules: runner pods run as template.spec.serviceAccountName (ci)", "a Role of your own"}},
		{"typo", []string{"--set", "githubConfigURL=https://github.com/o"},
			[]string{"WARNING: neither ARC's charts nor this one know these values", "- githubConfigURL: did you mean githubConfigUrl?"}},
		{"nested typo", []string{"--set", "containerMode.kubernetesModeAdditionalRoleRule[0].verbs={get},githubConfigSecret.token=x"},
			[]string{"- containerMode.kubernetesModeAdditionalRoleRule: did you mean kubernetesModeAdditionalRoleRules?", "- githubConfigSecret.token\n"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"--values", seed}, tc.args...)
			rs := runnerSet(t, renderRunnerSet(t, args...))
			assert.Equal(t, "arc-runner-set", rs.Name)
			notes := runnerSetNotes(t, args...)
			for _, want := range tc.want {
				assert.Contains(t, notes+"\n", want)
			}
		})
	}
	t.Run("nothing to report", func(t *testing.T) {
		t.Parallel()
		notes := runnerSetNotes(t, "--values", seed)
		assert.Contains(t, notes, "runs-on: arc-runner-set")
		assert.NotContains(t, notes, "IGNORED")
		assert.NotContains(t, notes, "WARNING")
	})
}
