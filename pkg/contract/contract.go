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
	"slices"

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

// KubernetesModeRoleRules are the rules of the Role of a RunnerSet's runners: the base rules,
// without jobs in kubernetes-novolume mode (its hooks run no jobs; ARC's chart leaves them out
// too), then the RunnerSet's additional rules. The server can create that Role only if it holds
// every rule itself (Kubernetes' RBAC escalation check), which its ClusterRole grants for the
// base rules only: additional rules beyond it make the Role's creation, and so runner creation,
// fail with Forbidden. The RunnerSet's author must hold all of them too.
func KubernetesModeRoleRules(noVolume bool, additional []rbacv1.PolicyRule) []rbacv1.PolicyRule {
	var rules []rbacv1.PolicyRule
	for _, r := range KubernetesModeRules() {
		if noVolume && slices.Contains(r.APIGroups, "batch") {
			continue
		}
		rules = append(rules, r)
	}
	for _, r := range additional {
		rules = append(rules, *r.DeepCopy())
	}
	return rules
}

// DindContainerName is the Docker-in-Docker sidecar of dind mode. A template container or init
// container of that name replaces the server's sidecar (the server fills in what it leaves
// out), so a template customises Docker without getting two.
const DindContainerName = "dind"

// KubernetesModeAccount is the ServiceAccount (and Role, RoleBinding) of a kubernetes-mode
// RunnerSet's runners.
func KubernetesModeAccount(runnerSet string) string { return runnerSet + "-kube-mode" }
