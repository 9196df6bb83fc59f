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

package runnerset

import (
	"testing"

	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"actions.dev/runnerset-apiserver/pkg/apis/actions"
)

func baseRunnerSet() *actions.RunnerSet {
	return &actions.RunnerSet{
		ObjectMeta: metav1.ObjectMeta{Name: "rs", Namespace: "team-a"},
		Spec: actions.RunnerSetSpec{
			GitHubConfigURL: "https://github.com/acme", GitHubConfigSecret: "github-pat", RunnerScaleSetName: "rs",
			MinRunners: ptr.To[int32](0), MaxRunners: ptr.To[int32](5),
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "runner", Image: "r"}}}},
		},
	}
}

func rightsOf(n Needs) map[string][]string {
	out := map[string][]string{}
	for r, paths := range n {
		out[r.String()] = paths
	}
	return out
}

func TestRequiredRights(t *testing.T) {
	exfil := baseRunnerSet()
	exfil.Spec.Template.Spec = corev1.PodSpec{
		ServiceAccountName:           "default",
		AutomountServiceAccountToken: ptr.To(true),
		ImagePullSecrets:             []corev1.LocalObjectReference{{Name: "regcred"}},
		Containers: []corev1.Container{{
			Name: "runner", Image: "attacker.example/steal",
			Env: []corev1.EnvVar{
				{Name: "A", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "db"}, Key: "k"}}},
				{Name: "B", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}, Key: "k"}}},
				{Name: "C", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
			},
			EnvFrom: []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "all"}}}},
		}},
		InitContainers: []corev1.Container{{Name: "init", Image: "i", EnvFrom: []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "icfg"}}}}}},
		Volumes: []corev1.Volume{
			{Name: "stolen", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "github-pat"}}},
			{Name: "claim", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}},
			{Name: "proj", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
				{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "ps"}}},
				{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token"}},
			}}}},
			{Name: "csi", VolumeSource: corev1.VolumeSource{CSI: &corev1.CSIVolumeSource{Driver: "d", NodePublishSecretRef: &corev1.LocalObjectReference{Name: "csi-creds"}}}},
			{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		},
	}
	kube := baseRunnerSet()
	kube.Spec.ContainerMode = &actions.ContainerMode{Type: actions.ContainerModeKubernetes}
	noVolume := baseRunnerSet()
	noVolume.Spec.ContainerMode = &actions.ContainerMode{Type: actions.ContainerModeKubernetesNoVolume,
		KubernetesModeAdditionalRoleRules: []actions.RoleRule{
			{APIGroups: []string{"apps"}, Resources: []string{"deployments", "deployments/scale"}, Verbs: []string{"get"}},
			{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "update"}, ResourceNames: []string{"hooks"}},
			{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"list"}},
		}}
	extraRulesChanged := kube.DeepCopy()
	extraRulesChanged.Spec.ContainerMode.KubernetesModeAdditionalRoleRules = []actions.RoleRule{
		{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: []string{"get"}}}
	proxied := baseRunnerSet()
	proxied.Spec.Proxy = &actions.ProxyConfig{HTTPS: &actions.ProxyServerConfig{URL: "http://proxy:3128", CredentialSecretRef: "proxy-creds"}}
	proxied.Spec.GitHubServerTLS = &actions.TLSConfig{CertificateFrom: &actions.TLSCertificateSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: "ca"}, Key: "ca.crt"}}, RunnerMountPath: "/ca"}

	scaled := baseRunnerSet()
	scaled.Spec.MinRunners, scaled.Spec.MaxRunners = ptr.To[int32](3), ptr.To[int32](9)
	scaled.Labels = map[string]string{"tier": "x"}
	imageOnly := exfil.DeepCopy()
	imageOnly.Spec.Template.Spec.Containers[0].Image = "other"
	moved := baseRunnerSet()
	moved.Spec.GitHubConfigURL = "https://github.com/other-org"

	tests := []struct {
		name     string
		rs, old  *actions.RunnerSet
		want     map[string][]string
		wantSome []string
	}{
		{name: "plain create", rs: baseRunnerSet(), want: map[string][]string{
			`get secrets "github-pat"`: {"spec.githubConfigSecret"},
			"create pods":              {"spec.template"},
		}},
		{name: "every reference of the template", rs: exfil, want: map[string][]string{
			`get secrets "github-pat"`:          {"spec.githubConfigSecret", "spec.template.spec.volumes[0].secret.secretName"},
			"create pods":                       {"spec.template"},
			`get secrets "regcred"`:             {"spec.template.spec.imagePullSecrets[0].name"},
			`get secrets "db"`:                  {"spec.template.spec.containers[0].env[0].valueFrom.secretKeyRef.name"},
			`get configmaps "cfg"`:              {"spec.template.spec.containers[0].env[1].valueFrom.configMapKeyRef.name"},
			`get secrets "all"`:                 {"spec.template.spec.containers[0].envFrom[0].secretRef.name"},
			`get configmaps "icfg"`:             {"spec.template.spec.initContainers[0].envFrom[0].configMapRef.name"},
			`get persistentvolumeclaims "data"`: {"spec.template.spec.volumes[1].persistentVolumeClaim.claimName"},
			`get secrets "ps"`:                  {"spec.template.spec.volumes[2].projected.sources[0].secret.name"},
			`get secrets "csi-creds"`:           {"spec.template.spec.volumes[3].csi.nodePublishSecretRef"},
		}},
		{name: "kubernetes mode: the Role's rights", rs: kube, wantSome: []string{
			"create pods", "get secrets", "list secrets", "create pods/exec", "get pods/log", "create jobs.batch", "delete jobs.batch",
		}},
		{name: "kubernetes-novolume: the Role's rights without jobs, and each extra rule", rs: noVolume, want: map[string][]string{
			`get secrets "github-pat"`:   {"spec.githubConfigSecret"},
			"create pods":                {"spec.template", "spec.containerMode.type"},
			"get pods":                   {"spec.containerMode.type"},
			"list pods":                  {"spec.containerMode.type"},
			"delete pods":                {"spec.containerMode.type"},
			"get pods/exec":              {"spec.containerMode.type"},
			"create pods/exec":           {"spec.containerMode.type"},
			"get pods/log":               {"spec.containerMode.type"},
			"list pods/log":              {"spec.containerMode.type"},
			"watch pods/log":             {"spec.containerMode.type"},
			"get secrets":                {"spec.containerMode.type"},
			"list secrets":               {"spec.containerMode.type"},
			"create secrets":             {"spec.containerMode.type"},
			"delete secrets":             {"spec.containerMode.type"},
			"get deployments.apps":       {"spec.containerMode.kubernetesModeAdditionalRoleRules[0]"},
			"get deployments.apps/scale": {"spec.containerMode.kubernetesModeAdditionalRoleRules[0]"},
			`get configmaps "hooks"`:     {"spec.containerMode.kubernetesModeAdditionalRoleRules[1]"},
			`update configmaps "hooks"`:  {"spec.containerMode.kubernetesModeAdditionalRoleRules[1]"},
			"list *.*":                   {"spec.containerMode.kubernetesModeAdditionalRoleRules[2]"},
		}},
		{name: "extra rules changed: the pod side with them", rs: extraRulesChanged, old: kube, wantSome: []string{
			"create pods", "create jobs.batch", "get deployments.apps",
		}},
		{name: "proxy and CA", rs: proxied, want: map[string][]string{
			`get secrets "github-pat"`:  {"spec.githubConfigSecret"},
			"create pods":               {"spec.template"},
			`get secrets "proxy-creds"`: {"spec.proxy.https.credentialSecretRef"},
			`get configmaps "ca"`:       {"spec.githubServerTLS.certificateFrom.configMapKeyRef.name"},
		}},
		{name: "counts and metadata changed: nothing", rs: scaled, old: baseRunnerSet(), want: map[string][]string{}},
		{name: "only the image changed: the whole pod side", rs: imageOnly, old: exfil, wantSome: []string{
			"create pods", `get secrets "github-pat"`, `get secrets "db"`, `get persistentvolumeclaims "data"`,
		}},
		{name: "config URL changed: the credentials", rs: moved, old: baseRunnerSet(), want: map[string][]string{
			`get secrets "github-pat"`: {"spec.githubConfigSecret"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := rightsOf(RequiredRights(tc.rs, tc.old))
			if tc.want != nil {
				assert.Equal(t, tc.want, got)
			}
			for _, r := range tc.wantSome {
				assert.Contains(t, got, r)
			}
		})
	}
}

func TestImageOnlyChangeOmitsGitHubSide(t *testing.T) {
	old := baseRunnerSet()
	rs := old.DeepCopy()
	rs.Spec.Template.Spec.Containers[0].Image = "new"
	got := rightsOf(RequiredRights(rs, old))
	assert.Equal(t, map[string][]string{"create pods": {"spec.template"}}, got,
		"a template change needs the pod side only: the credentials Secret is not handed to runners")
}
