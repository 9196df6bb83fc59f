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

// Package contract holds what the server promises about the objects it makes for runners, in
// one place that the registry and the scaler both import: neither may import the other.
package contract

import (
	rbacv1 "k8s.io/api/rbac/v1"
)

// KubernetesModeRules are the rights a kubernetes-mode RunnerSet's runners get in its namespace
// (a Role bound to the RunnerSet's ServiceAccount), so the container hooks can run job pods.
// Whoever creates such a RunnerSet must hold them herself, as Kubernetes' RBAC asks of whoever
// creates a Role.
func KubernetesModeRules() []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list", "create", "delete"}},
		{APIGroups: []string{""}, Resources: []string{"pods/exec"}, Verbs: []string{"get", "create"}},
		{APIGroups: []string{""}, Resources: []string{"pods/log"}, Verbs: []string{"get", "list", "watch"}},
		{APIGroups: []string{"batch"}, Resources: []string{"jobs"}, Verbs: []string{"get", "list", "create", "delete"}},
		{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "list", "create", "delete"}},
	}
}

// KubernetesModeAccount is the ServiceAccount (and Role, RoleBinding) of a kubernetes-mode
// RunnerSet's runners.
func KubernetesModeAccount(runnerSet string) string { return runnerSet + "-kube-mode" }
