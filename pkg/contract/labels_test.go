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
	rbacv1 "k8s.io/api/rbac/v1"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
)

func TestPodLabels(t *testing.T) {
	ours := map[string]string{
		"actions.dev/runnerset":                  "linux",
		"app.kubernetes.io/component":            "runner",
		"app.kubernetes.io/managed-by":           "runnerset-apiserver",
		"actions.github.com/scale-set-name":      "linux",
		"actions.github.com/scale-set-namespace": "team-a",
		"actions-ephemeral-runner":               "True",
	}
	with := func(extra map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range ours {
			out[k] = v
		}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}
	tests := []struct {
		url  string
		want map[string]string
	}{
		{"https://github.com/my-org", with(map[string]string{"actions.github.com/organization": "my-org"})},
		{"https://github.com/my-org/", with(map[string]string{"actions.github.com/organization": "my-org"})},
		{"https://github.com/my-org/my-repo", with(map[string]string{
			"actions.github.com/organization": "my-org", "actions.github.com/repository": "my-repo"})},
		{"https://github.com/enterprises/my-enterprise", with(map[string]string{"actions.github.com/enterprise": "my-enterprise"})},
		{"https://github.com/Enterprises/Big", with(map[string]string{"actions.github.com/enterprise": "Big"})},
		{"https://ghes.example.com/my-org/my-repo", with(map[string]string{
			"actions.github.com/organization": "my-org", "actions.github.com/repository": "my-repo"})},
		// ARC trims '-', '_' and '.' at both ends.
		{"https://github.com/my-org/.github", with(map[string]string{
			"actions.github.com/organization": "my-org", "actions.github.com/repository": "github"})},
		{"https://github.com/my-org/_private.", with(map[string]string{
			"actions.github.com/organization": "my-org", "actions.github.com/repository": "private"})},
		// ARC keeps 58 characters of a longer name and adds "-trim".
		{"https://github.com/my-org/a-repository-name-that-is-much-longer-than-a-label-value-may-be-at-all", with(map[string]string{
			"actions.github.com/organization": "my-org",
			"actions.github.com/repository":   "a-repository-name-that-is-much-longer-than-a-label-value-m-trim"})},
		// A cut name loses leading separators too: ARC's label would be refused.
		{"https://github.com/my-org/.a-repository-name-that-is-much-longer-than-a-label-value-may-be-at-all", with(map[string]string{
			"actions.github.com/organization": "my-org",
			"actions.github.com/repository":   "a-repository-name-that-is-much-longer-than-a-label-value--trim"})},
		// A name that cannot be a label value is left out, not the pod.
		{"https://github.com/my-org/caf%C3%A9", with(map[string]string{"actions.github.com/organization": "my-org"})},
		{"https://github.com", ours},
		{"https://github.com/a/b/c", ours},
		{"::", ours},
	}
	for _, tc := range tests {
		t.Run(tc.url, func(t *testing.T) {
			got := PodLabels(ScaleSet{Name: "linux", Namespace: "team-a", ConfigURL: tc.url})
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestPodAnnotations(t *testing.T) {
	tests := []struct {
		name string
		in   ScaleSet
		want map[string]string
	}{
		{"defaults", ScaleSet{Name: "linux"}, map[string]string{
			"actions.github.com/runner-scale-set-name": "linux", "actions.github.com/runner-group-name": "Default"}},
		{"default group by name", ScaleSet{Name: "linux", ScaleSetName: "Linux_Small", RunnerGroup: "default"}, map[string]string{
			"actions.github.com/runner-scale-set-name": "Linux_Small", "actions.github.com/runner-group-name": "Default"}},
		{"a group", ScaleSet{Name: "linux", RunnerGroup: "build farm"}, map[string]string{
			"actions.github.com/runner-scale-set-name": "linux", "actions.github.com/runner-group-name": "build farm"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, PodAnnotations(tc.in))
		})
	}
}

func TestReservedPodLabel(t *testing.T) {
	for key, reserved := range map[string]bool{
		"actions.dev/runnerset":                  true,
		"app.kubernetes.io/component":            true,
		"app.kubernetes.io/managed-by":           true,
		"actions.github.com/scale-set-name":      true,
		"actions.github.com/scale-set-namespace": true,
		"actions.github.com/organization":        true,
		"actions.github.com/repository":          true,
		"actions.github.com/enterprise":          true,
		"actions-ephemeral-runner":               true,
		"app.kubernetes.io/part-of":              false,
		"app.kubernetes.io/name":                 false,
		"team":                                   false,
	} {
		why, got := ReservedPodLabel(key)
		assert.Equal(t, reserved, got, key)
		assert.Equal(t, reserved, why != "", key)
	}
	assert.Equal(t, v1alpha1.LabelRunnerSet, LabelRunnerSet, "one key for the API and the contract")
	for k := range RunnerLabels("x") {
		_, reserved := ReservedPodLabel(k)
		assert.True(t, reserved, "every label the server sets is reserved: %s", k)
	}
	for k := range PodLabels(ScaleSet{Name: "x", Namespace: "y", ConfigURL: "https://github.com/enterprises/e"}) {
		_, reserved := ReservedPodLabel(k)
		assert.True(t, reserved, "every label the server sets is reserved: %s", k)
	}
}

func TestKubernetesModeRoleRules(t *testing.T) {
	extra := []rbacv1.PolicyRule{{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: []string{"get"}}}
	tests := []struct {
		name     string
		noVolume bool
		extra    []rbacv1.PolicyRule
		want     []rbacv1.PolicyRule
	}{
		{"kubernetes", false, nil, KubernetesModeRules()},
		{"kubernetes-novolume: no jobs", true, nil, []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list", "create", "delete"}},
			{APIGroups: []string{""}, Resources: []string{"pods/exec"}, Verbs: []string{"get", "create"}},
			{APIGroups: []string{""}, Resources: []string{"pods/log"}, Verbs: []string{"get", "list", "watch"}},
			{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "list", "create", "delete"}},
		}},
		{"additional rules last", false, extra, append(KubernetesModeRules(), extra...)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, KubernetesModeRoleRules(tc.noVolume, tc.extra))
		})
	}
	got := KubernetesModeRoleRules(false, extra)
	got[len(got)-1].Verbs[0] = "delete"
	assert.Equal(t, "get", extra[0].Verbs[0], "the caller's rules are copied")
}
