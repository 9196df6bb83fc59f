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

package validation

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"actions.dev/runnerset-apiserver/pkg/apis/actions"
)

func validRunnerSet() *actions.RunnerSet {
	return &actions.RunnerSet{
		ObjectMeta: metav1.ObjectMeta{Name: "linux", Namespace: "team-a"},
		Spec: actions.RunnerSetSpec{
			GitHubConfigURL:    "https://github.com/org/repo",
			GitHubConfigSecret: "pat",
			MinRunners:         ptr.To[int32](1),
			MaxRunners:         ptr.To[int32](5),
			Labels:             []string{"linux"},
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				Containers: []corev1.Container{{Name: "runner", Image: "ghcr.io/actions/actions-runner:latest"}},
			}},
		},
	}
}

func TestValidRunnerSet(t *testing.T) {
	assert.Empty(t, ValidateRunnerSet(validRunnerSet()))
	rs := validRunnerSet()
	rs.Spec.ContainerMode = &actions.ContainerMode{
		Type: actions.ContainerModeKubernetes,
		KubernetesModeWorkVolumeClaim: &corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	}
	assert.Empty(t, ValidateRunnerSet(rs))

	// ARC's kubernetes-mode values declare the work volume in the template instead.
	rs = validRunnerSet()
	rs.Spec.ContainerMode = &actions.ContainerMode{Type: actions.ContainerModeKubernetes}
	rs.Spec.Template.Spec.Volumes = []corev1.Volume{{Name: "work", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
	assert.Empty(t, ValidateRunnerSet(rs))
}

func TestValidContainerModes(t *testing.T) {
	rules := []actions.RoleRule{
		{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: []string{"get", "list"}},
		{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get"}, ResourceNames: []string{"hooks"}},
	}
	tests := map[string]*actions.ContainerMode{
		"kubernetes-novolume needs no work volume": {Type: actions.ContainerModeKubernetesNoVolume},
		"kubernetes-novolume with extra rules":     {Type: actions.ContainerModeKubernetesNoVolume, KubernetesModeAdditionalRoleRules: rules},
		"kubernetes with extra rules": {Type: actions.ContainerModeKubernetes, KubernetesModeAdditionalRoleRules: rules,
			KubernetesModeWorkVolumeClaim: &corev1.PersistentVolumeClaimSpec{
				AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
			}},
		"dind": {Type: actions.ContainerModeDind},
	}
	for name, cm := range tests {
		t.Run(name, func(t *testing.T) {
			rs := validRunnerSet()
			rs.Spec.ContainerMode = cm
			rs.Spec.Template.Spec.InitContainers = []corev1.Container{{Name: "dind", Image: "docker:27-dind"}}
			rs.Spec.Template.Labels = map[string]string{"app.kubernetes.io/part-of": "ci", "team": "a"}
			assert.Empty(t, ValidateRunnerSet(rs))
		})
	}
}

func TestValidationRules(t *testing.T) {
	cases := map[string]struct {
		mutate func(*actions.RunnerSet)
		field  string
	}{
		"empty url":               {func(r *actions.RunnerSet) { r.Spec.GitHubConfigURL = "" }, "spec.githubConfigUrl"},
		"malformed url":           {func(r *actions.RunnerSet) { r.Spec.GitHubConfigURL = "github.com/org" }, "spec.githubConfigUrl"},
		"url without scope":       {func(r *actions.RunnerSet) { r.Spec.GitHubConfigURL = "https://github.com" }, "spec.githubConfigUrl"},
		"url too deep":            {func(r *actions.RunnerSet) { r.Spec.GitHubConfigURL = "https://github.com/a/b/c" }, "spec.githubConfigUrl"},
		"missing secret":          {func(r *actions.RunnerSet) { r.Spec.GitHubConfigSecret = "" }, "spec.githubConfigSecret"},
		"negative min":            {func(r *actions.RunnerSet) { r.Spec.MinRunners = ptr.To[int32](-1) }, "spec.minRunners"},
		"max below min":           {func(r *actions.RunnerSet) { r.Spec.MinRunners, r.Spec.MaxRunners = ptr.To[int32](3), ptr.To[int32](2) }, "spec.maxRunners"},
		"lifetime too short":      {func(r *actions.RunnerSet) { r.Spec.MaxRunnerLifetime = &metav1.Duration{Duration: 30 * time.Second} }, "spec.maxRunnerLifetime"},
		"scale set name too long": {func(r *actions.RunnerSet) { r.Spec.RunnerScaleSetName = strings.Repeat("a", 46) }, "spec.runnerScaleSetName"},
		"scale set name chars":    {func(r *actions.RunnerSet) { r.Spec.RunnerScaleSetName = "my runners" }, "spec.runnerScaleSetName"},
		"scale set name comma":    {func(r *actions.RunnerSet) { r.Spec.RunnerScaleSetName = "a,b" }, "spec.runnerScaleSetName"},
		"default name too long":   {func(r *actions.RunnerSet) { r.Name = strings.Repeat("a", 50) }, "spec.runnerScaleSetName"},
		"unknown container mode":  {func(r *actions.RunnerSet) { r.Spec.ContainerMode = &actions.ContainerMode{Type: "podman"} }, "spec.containerMode.type"},
		"kubernetes without claim": {func(r *actions.RunnerSet) {
			r.Spec.ContainerMode = &actions.ContainerMode{Type: actions.ContainerModeKubernetes}
		}, "spec.containerMode.kubernetesModeWorkVolumeClaim"},
		"novolume with claim": {func(r *actions.RunnerSet) {
			r.Spec.ContainerMode = &actions.ContainerMode{Type: actions.ContainerModeKubernetesNoVolume, KubernetesModeWorkVolumeClaim: &corev1.PersistentVolumeClaimSpec{}}
		}, "spec.containerMode.kubernetesModeWorkVolumeClaim"},
		"extra rules in dind mode": {func(r *actions.RunnerSet) {
			r.Spec.ContainerMode = &actions.ContainerMode{Type: actions.ContainerModeDind,
				KubernetesModeAdditionalRoleRules: []actions.RoleRule{{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get"}}}}
		}, "spec.containerMode.kubernetesModeAdditionalRoleRules"},
		"extra rule without verbs": {func(r *actions.RunnerSet) {
			r.Spec.ContainerMode = &actions.ContainerMode{Type: actions.ContainerModeKubernetesNoVolume,
				KubernetesModeAdditionalRoleRules: []actions.RoleRule{{APIGroups: []string{""}, Resources: []string{"pods"}}}}
		}, "spec.containerMode.kubernetesModeAdditionalRoleRules[0].verbs"},
		"extra rule without API groups": {func(r *actions.RunnerSet) {
			r.Spec.ContainerMode = &actions.ContainerMode{Type: actions.ContainerModeKubernetesNoVolume,
				KubernetesModeAdditionalRoleRules: []actions.RoleRule{{Resources: []string{"pods"}, Verbs: []string{"get"}}}}
		}, "spec.containerMode.kubernetesModeAdditionalRoleRules[0].apiGroups"},
		"extra rule without resources": {func(r *actions.RunnerSet) {
			r.Spec.ContainerMode = &actions.ContainerMode{Type: actions.ContainerModeKubernetesNoVolume,
				KubernetesModeAdditionalRoleRules: []actions.RoleRule{{}, {APIGroups: []string{"apps"}, Verbs: []string{"get"}}}}
		}, "spec.containerMode.kubernetesModeAdditionalRoleRules[1].resources"},
		"extra rules spell out too many rights": {func(r *actions.RunnerSet) {
			r.Spec.ContainerMode = &actions.ContainerMode{Type: actions.ContainerModeKubernetesNoVolume,
				KubernetesModeAdditionalRoleRules: []actions.RoleRule{{APIGroups: []string{"", "apps"},
					Resources: []string{"a", "b", "c", "d", "e", "f", "g", "h"}, Verbs: []string{"get", "list", "watch", "create"},
					ResourceNames: []string{"1", "2", "3", "4", "5"}}}} // 2x8x4x5 = 320
		}, "spec.containerMode.kubernetesModeAdditionalRoleRules"},
		"dind twice": {func(r *actions.RunnerSet) {
			r.Spec.ContainerMode = &actions.ContainerMode{Type: actions.ContainerModeDind}
			r.Spec.Template.Spec.Containers = append(r.Spec.Template.Spec.Containers, corev1.Container{Name: "dind"})
			r.Spec.Template.Spec.InitContainers = []corev1.Container{{Name: "dind"}}
		}, "spec.template.spec.initContainers[0].name"},
		"no runner container": {func(r *actions.RunnerSet) { r.Spec.Template.Spec.Containers[0].Name = "main" }, "spec.template.spec.containers"},
		"empty label":         {func(r *actions.RunnerSet) { r.Spec.Labels = []string{""} }, "spec.labels[0]"},
		"long label":          {func(r *actions.RunnerSet) { r.Spec.Labels = []string{"ok", strings.Repeat("x", 257)} }, "spec.labels[1]"},
		"duplicate label":     {func(r *actions.RunnerSet) { r.Spec.Labels = []string{"a", "a"} }, "spec.labels[1]"},
		"restart policy":      {func(r *actions.RunnerSet) { r.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyAlways }, "spec.template.spec.restartPolicy"},
		"proxy url": {func(r *actions.RunnerSet) {
			r.Spec.Proxy = &actions.ProxyConfig{HTTPS: &actions.ProxyServerConfig{URL: "proxy:3128"}}
		}, "spec.proxy.https.url"},
		"tls without source": {func(r *actions.RunnerSet) { r.Spec.GitHubServerTLS = &actions.TLSConfig{} }, "spec.githubServerTLS.certificateFrom.configMapKeyRef"},
		"bad name":           {func(r *actions.RunnerSet) { r.Name = "Linux_Runners" }, "metadata.name"},
	}
	for _, key := range []string{"actions.dev/runnerset", "app.kubernetes.io/component", "app.kubernetes.io/managed-by",
		"actions.github.com/scale-set-name", "actions.github.com/scale-set-namespace", "actions.github.com/organization",
		"actions.github.com/repository", "actions.github.com/enterprise", "actions-ephemeral-runner"} {
		cases["reserved template label "+key] = struct {
			mutate func(*actions.RunnerSet)
			field  string
		}{func(r *actions.RunnerSet) { r.Spec.Template.Labels = map[string]string{key: "x"} }, "spec.template.metadata.labels[" + key + "]"}
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			rs := validRunnerSet()
			tc.mutate(rs)
			errs := ValidateRunnerSet(rs)
			var fields []string
			for _, e := range errs {
				fields = append(fields, e.Field)
			}
			assert.Contains(t, fields, tc.field, "errors: %v", errs)
		})
	}
}

func TestValidateStatusUpdate(t *testing.T) {
	old := validRunnerSet()
	old.ResourceVersion = "1"
	rs := old.DeepCopy()
	rs.Status.BusyRunners = -1
	errs := ValidateRunnerSetStatusUpdate(rs, old)
	if assert.Len(t, errs, 1) {
		assert.Equal(t, "status.busyRunners", errs[0].Field)
	}
}

// TestStoredObjectsAreRatcheted: a RunnerSet stored before the server reserved a template label
// is still read back; what it always had to satisfy is still checked.
func TestStoredObjectsAreRatcheted(t *testing.T) {
	rs := validRunnerSet()
	rs.Spec.Template.Labels = map[string]string{"app.kubernetes.io/component": "mine"}
	if errs := ValidateRunnerSet(rs); len(errs) == 0 {
		t.Fatalf("a reserved template label is refused on write")
	}
	if errs := ValidateStoredRunnerSet(rs); len(errs) != 0 {
		t.Errorf("stored with a label reserved since: %v", errs)
	}
	rs.Status.BusyRunners = -1
	rs.Spec.MinRunners, rs.Spec.MaxRunners = ptr.To[int32](4), ptr.To[int32](2)
	errs := ValidateStoredRunnerSet(rs)
	if len(errs) != 2 || errs[0].Field != "spec.maxRunners" || errs[1].Field != "status.busyRunners" {
		t.Errorf("stored invalid object: %v, want spec.maxRunners and status.busyRunners", errs)
	}
}
