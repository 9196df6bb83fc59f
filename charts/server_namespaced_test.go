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
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	rbacv1 "k8s.io/api/rbac/v1"
)

// The server's rights in namespaced mode, as grants() flattens them.
var (
	namespacedClusterGrants = []string{
		"/configmaps: get,list,watch",
		"/namespaces: get,list,watch",
		"admissionregistration.k8s.io/mutatingadmissionpolicies: list,watch",
		"admissionregistration.k8s.io/mutatingadmissionpolicybindings: list,watch",
		"admissionregistration.k8s.io/mutatingwebhookconfigurations: list,watch",
		"admissionregistration.k8s.io/validatingadmissionpolicies: list,watch",
		"admissionregistration.k8s.io/validatingadmissionpolicybindings: list,watch",
		"admissionregistration.k8s.io/validatingwebhookconfigurations: list,watch",
		"flowcontrol.apiserver.k8s.io/flowschemas: list,watch",
		"flowcontrol.apiserver.k8s.io/prioritylevelconfigurations: list,watch",
	}
	namespacedRunnersGrants = []string{
		"/configmaps: create,delete,update",
		"/events: create,patch",
		"/pods: create,delete,get,list,patch,watch",
		"/resourcequotas: get,list,watch",
		"/secrets: create,delete,get,list,patch,watch",
	}
	namespacedKubeModeGrants = []string{
		"/pods/exec: create,get",
		"/pods/log: get,list,watch",
		"/serviceaccounts: create",
		"batch/jobs: create,delete,get,list",
		"rbac.authorization.k8s.io/rolebindings: create",
		"rbac.authorization.k8s.io/roles: create,update",
	}
	namespacedSelfGrants = []string{
		"/configmaps: create,delete,get,list,update,watch",
		"/events: create,patch",
		"/secrets: create,get",
	}
)

func sortedConcat(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	sort.Strings(out)
	return out
}

// serverSubject is the subject every binding of the server's rights names.
var serverSubject = []rbacv1.Subject{{Kind: "ServiceAccount", Name: "runnerset-apiserver", Namespace: serverNamespace}}

// TestServerChartNamespacedRBAC pins the server's rights in namespaced mode: cluster-wide only
// what the generic API server and the RunnerSet storage read; pods, Secrets, events and
// ConfigMap writes in a Role of each watched namespace; its own records in a Role of the release
// namespace. Nowhere else may it touch a pod or a Secret.
func TestServerChartNamespacedRBAC(t *testing.T) {
	t.Parallel()
	// Unsorted, with a duplicate: the chart passes each namespace once, sorted.
	objs := renderServer(t, "--set", "watchNamespaces={team-b,team-a,team-b}")

	o := serverFlags(t, serverContainer(t, as[appsv1.Deployment](t, objs.get(t, "Deployment", "runnerset-apiserver"))).Args)
	assert.Equal(t, []string{"team-a", "team-b"}, o.Policy.WatchNamespaces)
	assert.Contains(t, serverContainer(t, as[appsv1.Deployment](t, objs.get(t, "Deployment", "runnerset-apiserver"))).Args, "--watch-namespaces=team-a,team-b")

	role := as[rbacv1.ClusterRole](t, objs.get(t, "ClusterRole", "runnerset-apiserver"))
	assert.Equal(t, namespacedClusterGrants, grants(role.Rules))

	roles := map[string][]string{} // namespace/name -> grants
	for _, obj := range objs.ofKind("Role") {
		r := as[rbacv1.Role](t, obj)
		roles[r.Namespace+"/"+r.Name] = grants(r.Rules)
	}
	assert.Equal(t, map[string][]string{
		"team-a/runnerset-apiserver:runners":                     sortedConcat(namespacedRunnersGrants, namespacedKubeModeGrants),
		"team-b/runnerset-apiserver:runners":                     sortedConcat(namespacedRunnersGrants, namespacedKubeModeGrants),
		serverNamespace + "/runnerset-apiserver:self":            namespacedSelfGrants,
		serverNamespace + "/runnerset-apiserver:leader-election": {"coordination.k8s.io/leases: create", "coordination.k8s.io/leases[runnerset-apiserver-scaler]: get,update"},
	}, roles)

	// Each Role is bound, in its namespace, to the server only.
	bindings := map[string]string{}
	for _, obj := range objs.ofKind("RoleBinding") {
		rb := as[rbacv1.RoleBinding](t, obj)
		assert.Equal(t, serverSubject, rb.Subjects, "RoleBinding %s/%s", rb.Namespace, rb.Name)
		bindings[rb.Namespace+"/"+rb.Name] = rb.RoleRef.Kind + " " + rb.RoleRef.Name
	}
	assert.Equal(t, map[string]string{
		"team-a/runnerset-apiserver:runners":                                        "Role runnerset-apiserver:runners",
		"team-b/runnerset-apiserver:runners":                                        "Role runnerset-apiserver:runners",
		serverNamespace + "/runnerset-apiserver:self":                               "Role runnerset-apiserver:self",
		serverNamespace + "/runnerset-apiserver:leader-election":                    "Role runnerset-apiserver:leader-election",
		"kube-system/runnerset-apiserver:extension-apiserver-authentication-reader": "Role extension-apiserver-authentication-reader",
	}, bindings)

	// Delegated authentication and the ClusterRole above are the server's only cluster-wide
	// bindings, as in cluster mode.
	var crbs []string
	for _, obj := range objs.ofKind("ClusterRoleBinding") {
		crb := as[rbacv1.ClusterRoleBinding](t, obj)
		assert.Equal(t, serverSubject, crb.Subjects, crb.Name)
		crbs = append(crbs, crb.RoleRef.Name)
	}
	sort.Strings(crbs)
	assert.Equal(t, []string{"runnerset-apiserver", "system:auth-delegator"}, crbs)

	// No ClusterRole of the chart grants anything on pods, Secrets or events.
	for _, obj := range objs.ofKind("ClusterRole") {
		for _, g := range grants(as[rbacv1.ClusterRole](t, obj).Rules) {
			for _, res := range []string{"/pods", "/secrets", "/events"} {
				assert.False(t, strings.HasPrefix(g, res), "ClusterRole %s grants %s in namespaced mode", obj.GetName(), g)
			}
		}
	}

	// Without kubernetes mode, the Roles of the watched namespaces lose its rights.
	objs = renderServer(t, "--set", "watchNamespaces={team-a},rbac.kubernetesMode=false")
	runners := objs.findIn("Role", "team-a", "runnerset-apiserver:runners")
	require.NotNil(t, runners)
	assert.Equal(t, namespacedRunnersGrants, grants(as[rbacv1.Role](t, runners).Rules))
	assert.Equal(t, namespacedClusterGrants, grants(as[rbacv1.ClusterRole](t, objs.get(t, "ClusterRole", "runnerset-apiserver")).Rules))
	assert.Nil(t, objs.findIn("Role", "team-b", "runnerset-apiserver:runners"))

	// The release namespace watched too: both Roles there.
	objs = renderServer(t, "--set", "watchNamespaces={"+serverNamespace+"}")
	assert.NotNil(t, objs.findIn("Role", serverNamespace, "runnerset-apiserver:runners"))
	assert.NotNil(t, objs.findIn("Role", serverNamespace, "runnerset-apiserver:self"))
}

// TestServerChartClusterMode: with watchNamespaces empty (the default, or an empty list given),
// the server serves every namespace with today's rights: no --watch-namespaces, no Roles of
// namespaced mode.
func TestServerChartClusterMode(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{nil, {"--set", "watchNamespaces=null"}, {"--set-json", "watchNamespaces=[]"}} {
		objs := renderServer(t, args...)
		c := serverContainer(t, as[appsv1.Deployment](t, objs.get(t, "Deployment", "runnerset-apiserver")))
		assert.False(t, slices.ContainsFunc(c.Args, func(a string) bool { return strings.HasPrefix(a, "--watch-namespaces") }), "%v: %v", args, c.Args)
		for _, obj := range objs.ofKind("Role") {
			assert.Equal(t, "runnerset-apiserver:leader-election", obj.GetName(), "%v", args)
		}
		role := as[rbacv1.ClusterRole](t, objs.get(t, "ClusterRole", "runnerset-apiserver"))
		assert.Contains(t, grants(role.Rules), "/secrets: create,delete,get,list,patch,watch", "%v", args)
	}
}
