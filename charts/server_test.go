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
	"crypto/tls"
	"crypto/x509"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"

	"actions.dev/runnerset-apiserver/cmd/apiserver/app"
)

func TestLint(t *testing.T) {
	t.Parallel()
	_, err := helm(t, "lint", "--strict", chartDir(serverChart))
	require.NoError(t, err)
	// The runnerset chart needs githubConfigUrl and githubConfigSecret, like ARC's: lint it with
	// each of the seed document's values files.
	ci, err := filepath.Glob(filepath.Join(chartDir(runnerSetChart), "ci", "*.yaml"))
	require.NoError(t, err)
	require.Len(t, ci, 3)
	for _, values := range ci {
		_, err := helm(t, "lint", "--strict", chartDir(runnerSetChart), "--values", values)
		require.NoError(t, err, values)
	}
}

// serverFlags parses a container's arguments with the server's own flag set: every flag the
// chart passes exists and has a valid value.
func serverFlags(t *testing.T, args []string) *app.Options {
	t.Helper()
	o := app.NewOptions()
	fs := pflag.NewFlagSet("runnerset-apiserver", pflag.ContinueOnError)
	for _, name := range o.Flags().Order {
		fs.AddFlagSet(o.Flags().FlagSets[name])
	}
	require.NoError(t, fs.Parse(args), "the chart passes flags the server does not take: %v", args)
	require.Empty(t, fs.Args(), "positional arguments")
	return o
}

func serverContainer(t *testing.T, d *appsv1.Deployment) corev1.Container {
	t.Helper()
	require.Len(t, d.Spec.Template.Spec.Containers, 1)
	return d.Spec.Template.Spec.Containers[0]
}

func env(c corev1.Container, name string) (string, bool) {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value, true
		}
	}
	return "", false
}

// TestServerChartDefaults: what `helm install runnerset-apiserver -n runnerset-system` creates.
func TestServerChartDefaults(t *testing.T) {
	t.Parallel()
	objs := renderServer(t)
	for _, want := range []string{
		"ServiceAccount/runnerset-apiserver",
		"ClusterRole/runnerset-apiserver", "ClusterRoleBinding/runnerset-apiserver",
		"Role/runnerset-apiserver:leader-election", "RoleBinding/runnerset-apiserver:leader-election",
		"ClusterRoleBinding/runnerset-apiserver:system:auth-delegator",
		"RoleBinding/runnerset-apiserver:extension-apiserver-authentication-reader",
		"ClusterRole/runnerset-viewer", "ClusterRole/runnerset-editor", "ClusterRole/runnerset-admin",
		"ClusterRole/runnerset-apiserver:metrics-reader",
		"Deployment/runnerset-apiserver", "PodDisruptionBudget/runnerset-apiserver", "Service/runnerset-apiserver",
		"Secret/runnerset-apiserver-serving-cert", "APIService/v1alpha1.actions.dev",
	} {
		assert.Contains(t, objs.names(), want)
	}
	assert.Len(t, objs, 16, "nothing else: %v", objs.names())
	for _, obj := range objs {
		switch obj.GetKind() {
		case "ClusterRole", "ClusterRoleBinding", "APIService":
			assert.Empty(t, obj.GetNamespace(), obj.GetName())
		case "RoleBinding":
			if strings.HasSuffix(obj.GetName(), "extension-apiserver-authentication-reader") {
				assert.Equal(t, "kube-system", obj.GetNamespace())
				continue
			}
			fallthrough
		default:
			assert.Equal(t, serverNamespace, obj.GetNamespace(), "%s %s", obj.GetKind(), obj.GetName())
		}
		assert.Equal(t, "Helm", obj.GetLabels()["app.kubernetes.io/managed-by"], "%s %s", obj.GetKind(), obj.GetName())
	}

	d := as[appsv1.Deployment](t, objs.get(t, "Deployment", "runnerset-apiserver"))
	pod := d.Spec.Template.Spec
	c := serverContainer(t, d)
	assert.Equal(t, int32(2), *d.Spec.Replicas)
	assert.Equal(t, "runnerset-apiserver", pod.ServiceAccountName)
	assert.Equal(t, "ghcr.io/runnerset-apiserver/runnerset-apiserver:0.1.0", c.Image)

	o := serverFlags(t, c.Args)
	assert.Equal(t, 10250, o.RecommendedOptions.SecureServing.BindPort, "a port GKE private clusters' control planes reach")
	assert.True(t, o.Scaler.Enabled)
	assert.True(t, o.Scaler.LeaderElect, "two replicas, one scaler")
	assert.Equal(t, serverNamespace, o.Scaler.LeaseNamespace)
	assert.Equal(t, float32(50), o.ClientQPS)
	assert.Equal(t, 100, o.ClientBurst)
	assert.Equal(t, []string{"github.com", "*.ghe.com"}, o.Policy.AllowedHosts, "no tenant reaches hosts other than GitHub's by default")
	assert.Equal(t, int32(1000), o.Policy.MaxRunners)
	assert.Equal(t, 100, o.Policy.MaxPerNamespace)
	assert.Equal(t, 2*time.Minute, o.Scaler.ExitGrace, "a runner hung after its job goes")
	assert.Equal(t, serverNamespace, o.Namespace)
	assert.Empty(t, o.Policy.WatchNamespaces, "cluster mode")
	assert.Equal(t, int32(10), *d.Spec.RevisionHistoryLimit)
	assert.Empty(t, d.Spec.Strategy, "Kubernetes' default rolling update")
	assert.False(t, pod.HostNetwork)
	assert.Empty(t, pod.DNSPolicy)

	// The certificate files are the Secret's, mounted where the flags say.
	certFile, keyFile := o.RecommendedOptions.SecureServing.ServerCert.CertKey.CertFile, o.RecommendedOptions.SecureServing.ServerCert.CertKey.KeyFile
	require.Len(t, c.VolumeMounts, 2)
	assert.Equal(t, "serving-cert", c.VolumeMounts[0].Name)
	assert.Equal(t, path.Join(c.VolumeMounts[0].MountPath, "tls.crt"), certFile)
	assert.Equal(t, path.Join(c.VolumeMounts[0].MountPath, "tls.key"), keyFile)
	assert.Equal(t, "runnerset-apiserver-serving-cert", pod.Volumes[0].Secret.SecretName)

	// Probes, resources, security.
	require.NotNil(t, c.ReadinessProbe)
	assert.Equal(t, "/readyz", c.ReadinessProbe.HTTPGet.Path)
	assert.Equal(t, corev1.URISchemeHTTPS, c.ReadinessProbe.HTTPGet.Scheme)
	assert.Equal(t, intstr.FromString("https"), c.ReadinessProbe.HTTPGet.Port)
	require.NotNil(t, c.LivenessProbe)
	assert.Equal(t, "/livez", c.LivenessProbe.HTTPGet.Path)
	assert.Equal(t, int32(5), c.ReadinessProbe.PeriodSeconds)
	assert.Equal(t, int32(10), c.LivenessProbe.InitialDelaySeconds)
	assert.Nil(t, c.StartupProbe)
	assert.Equal(t, []corev1.ContainerPort{{Name: "https", ContainerPort: 10250, Protocol: corev1.ProtocolTCP}}, c.Ports)
	assert.False(t, c.Resources.Requests.Cpu().IsZero())
	assert.False(t, c.Resources.Limits.Memory().IsZero())
	require.NotNil(t, pod.SecurityContext)
	assert.True(t, *pod.SecurityContext.RunAsNonRoot)
	assert.Equal(t, corev1.SeccompProfileTypeRuntimeDefault, pod.SecurityContext.SeccompProfile.Type)
	require.NotNil(t, c.SecurityContext)
	assert.True(t, *c.SecurityContext.ReadOnlyRootFilesystem)
	assert.False(t, *c.SecurityContext.AllowPrivilegeEscalation)
	assert.Equal(t, []corev1.Capability{"ALL"}, c.SecurityContext.Capabilities.Drop)
	assert.Nil(t, c.SecurityContext.Privileged)
	require.NotNil(t, c.Lifecycle, "a preStop sleep keeps rolling updates from dropping requests")
	assert.Equal(t, int64(5), c.Lifecycle.PreStop.Sleep.Seconds)
	assert.Less(t, c.Lifecycle.PreStop.Sleep.Seconds, int64(30), "within the termination grace period")

	// Spread across nodes, one disruption at a time.
	selector := d.Spec.Selector.MatchLabels
	assert.Equal(t, selector, map[string]string{"app.kubernetes.io/name": "runnerset-apiserver", "app.kubernetes.io/instance": serverRelease})
	require.Len(t, pod.TopologySpreadConstraints, 1)
	spread := pod.TopologySpreadConstraints[0]
	assert.Equal(t, "kubernetes.io/hostname", spread.TopologyKey)
	assert.Equal(t, corev1.ScheduleAnyway, spread.WhenUnsatisfiable, "a one-node cluster still schedules both")
	assert.Equal(t, selector, spread.LabelSelector.MatchLabels)
	pdb := as[policyv1.PodDisruptionBudget](t, objs.get(t, "PodDisruptionBudget", "runnerset-apiserver"))
	assert.Equal(t, intstr.FromInt32(1), *pdb.Spec.MaxUnavailable)
	require.NotNil(t, pdb.Spec.UnhealthyPodEvictionPolicy)
	assert.Equal(t, policyv1.AlwaysAllow, *pdb.Spec.UnhealthyPodEvictionPolicy, "a replica that is not Ready serves nothing: it must not block drains")
	assert.Equal(t, selector, pdb.Spec.Selector.MatchLabels)

	svc := as[corev1.Service](t, objs.get(t, "Service", "runnerset-apiserver"))
	assert.Equal(t, corev1.ServiceTypeClusterIP, svc.Spec.Type)
	assert.Equal(t, selector, svc.Spec.Selector)
	assert.Equal(t, []corev1.ServicePort{{Name: "https", Port: 443, TargetPort: intstr.FromString("https"), Protocol: corev1.ProtocolTCP}}, svc.Spec.Ports)

	// The APIService names the Service and trusts the CA that signed the Secret's certificate,
	// for the name the aggregator checks.
	apiService := as[apiService](t, objs.get(t, "APIService", "v1alpha1.actions.dev"))
	assert.Equal(t, "actions.dev", apiService.Spec.Group)
	assert.Equal(t, "v1alpha1", apiService.Spec.Version)
	assert.Equal(t, &serviceReference{Namespace: serverNamespace, Name: "runnerset-apiserver", Port: ptrInt32(443)}, apiService.Spec.Service)
	assert.False(t, apiService.Spec.InsecureSkipTLSVerify)
	secret := as[corev1.Secret](t, objs.get(t, "Secret", "runnerset-apiserver-serving-cert"))
	assert.Equal(t, corev1.SecretTypeTLS, secret.Type)
	assert.Equal(t, string(secret.Data["ca.crt"]), string(apiService.Spec.CABundle))
	verifyServingCert(t, secret, apiService.Spec.CABundle, "runnerset-apiserver.runnerset-system.svc")
}

func ptrInt32(v int32) *int32 { return &v }

// apiService is apiregistration.k8s.io/v1 APIService, declared here rather than importing
// k8s.io/kube-aggregator for one type.
type apiService struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Service               *serviceReference `json:"service,omitempty"`
		Group                 string            `json:"group"`
		Version               string            `json:"version"`
		InsecureSkipTLSVerify bool              `json:"insecureSkipTLSVerify,omitempty"`
		CABundle              []byte            `json:"caBundle,omitempty"`
		GroupPriorityMinimum  int32             `json:"groupPriorityMinimum"`
		VersionPriority       int32             `json:"versionPriority"`
	} `json:"spec"`
}

type serviceReference struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Port      *int32 `json:"port,omitempty"`
}

// verifyServingCert checks the Secret's key pair, that caBundle verifies it for dnsName, and its
// default validity.
func verifyServingCert(t *testing.T, secret *corev1.Secret, caBundle []byte, dnsName string) *x509.Certificate {
	t.Helper()
	cert := verifyServingCertFor(t, secret, caBundle, dnsName)
	assert.Greater(t, cert.NotAfter.Sub(cert.NotBefore).Hours(), 24*365*9.0, "valid for validityDays (10 years)")
	return cert
}

// verifyServingCertFor checks the Secret's key pair and that caBundle verifies it for dnsName.
func verifyServingCertFor(t *testing.T, secret *corev1.Secret, caBundle []byte, dnsName string) *x509.Certificate {
	t.Helper()
	pair, err := tls.X509KeyPair(secret.Data["tls.crt"], secret.Data["tls.key"])
	require.NoError(t, err, "tls.crt and tls.key")
	cert, err := x509.ParseCertificate(pair.Certificate[0])
	require.NoError(t, err)
	roots := x509.NewCertPool()
	require.True(t, roots.AppendCertsFromPEM(caBundle), "caBundle holds no PEM certificate")
	_, err = cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: dnsName, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	require.NoError(t, err, "the serving certificate must verify against the caBundle as %s", dnsName)
	return cert
}

// artifactFiles are the files of artifacts/example (and artifacts/example-namespaced) the chart
// also renders.
var artifactFiles = []string{"service-account.yaml", "auth-delegator.yaml", "auth-reader.yaml", "rbac.yaml", "user-roles.yaml", "apiservice.yaml"}

// TestServerChartMatchesArtifacts: artifacts/example (applied by the local system, hence by `make
// run` and the main e2e suite) and the chart hold the same RBAC, identity and APIService, so
// whatever proves one sufficient proves the other; artifacts/example-namespaced (the fault suite's
// R6) holds those of the chart with watchNamespaces={team-a,team-b}. Both ways: every object of
// the artifacts is the chart's, and every identity, RBAC and APIService object of the chart is in
// the artifacts (but the metrics reader's, which the local system does not use).
func TestServerChartMatchesArtifacts(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		dir  string
		args []string
	}{
		{"example", nil},
		{"example-namespaced", []string{"--set", "watchNamespaces={team-a,team-b}"}},
	} {
		t.Run(tc.dir, func(t *testing.T) {
			t.Parallel()
			chart := renderServer(t, tc.args...)
			dir := filepath.Join(repoRoot, "artifacts", tc.dir)
			var artifacts objects
			for _, f := range artifactFiles {
				artifacts = append(artifacts, decodeFile(t, filepath.Join(dir, f))...)
			}
			for _, a := range artifacts {
				c := chart.findIn(a.GetKind(), a.GetNamespace(), a.GetName())
				if !assert.NotNil(t, c, "%s %s/%s of artifacts/%s is not in the chart", a.GetKind(), a.GetNamespace(), a.GetName(), tc.dir) {
					continue
				}
				assertSameObject(t, tc.dir, a, c)
			}
			for _, c := range chart {
				switch c.GetKind() {
				case "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "APIService":
				default:
					continue
				}
				if strings.Contains(c.GetName(), ":metrics-") {
					continue
				}
				assert.NotNil(t, artifacts.findIn(c.GetKind(), c.GetNamespace(), c.GetName()),
					"%s %s/%s of the chart is missing from artifacts/%s", c.GetKind(), c.GetNamespace(), c.GetName(), tc.dir)
			}
		})
	}
}

// assertSameObject compares what matters of an artifact and the chart's object of that name.
func assertSameObject(t *testing.T, dir string, a, c *unstructured.Unstructured) {
	t.Helper()
	what := a.GetKind() + " " + a.GetNamespace() + "/" + a.GetName()
	switch a.GetKind() {
	case "ClusterRole":
		ar, cr := as[rbacv1.ClusterRole](t, a), as[rbacv1.ClusterRole](t, c)
		assert.Equal(t, ar.Rules, cr.Rules, "%s: the chart and artifacts/%s differ", what, dir)
		assert.Equal(t, aggregationLabels(ar.Labels), aggregationLabels(cr.Labels), what)
	case "Role":
		assert.Equal(t, as[rbacv1.Role](t, a).Rules, as[rbacv1.Role](t, c).Rules, "%s: the chart and artifacts/%s differ", what, dir)
	case "ClusterRoleBinding":
		ab, cb := as[rbacv1.ClusterRoleBinding](t, a), as[rbacv1.ClusterRoleBinding](t, c)
		assert.Equal(t, ab.RoleRef, cb.RoleRef, what)
		assert.Equal(t, ab.Subjects, cb.Subjects, what)
	case "RoleBinding":
		ab, cb := as[rbacv1.RoleBinding](t, a), as[rbacv1.RoleBinding](t, c)
		assert.Equal(t, ab.RoleRef, cb.RoleRef, what)
		assert.Equal(t, ab.Subjects, cb.Subjects, what)
	case "ServiceAccount":
	case "APIService":
		aa, ca := as[apiService](t, a), as[apiService](t, c)
		ca.Spec.CABundle = nil // the artifacts leave it to the local system
		assert.Equal(t, aa.Spec, ca.Spec)
	default:
		t.Errorf("unexpected %s in artifacts/%s", what, dir)
	}
}

// TestNamespacedArtifacts: artifacts/example-namespaced is artifacts/example but for its RBAC and
// its namespaces, which the local system applies first (pkg/localsystem serverManifests):
// namespace.yaml creates every namespace rbac.yaml puts a Role in.
func TestNamespacedArtifacts(t *testing.T) {
	t.Parallel()
	example, namespaced := filepath.Join(repoRoot, "artifacts", "example"), filepath.Join(repoRoot, "artifacts", "example-namespaced")
	files := func(dir string) []string {
		var out []string
		require.NoError(t, filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				rel, _ := filepath.Rel(dir, path)
				out = append(out, rel)
			}
			return err
		}))
		sort.Strings(out)
		return out
	}
	assert.Equal(t, files(example), files(namespaced), "the same files")
	for _, f := range files(example) {
		if f == "rbac.yaml" || f == "namespace.yaml" {
			continue
		}
		a, err := os.ReadFile(filepath.Join(example, f))
		require.NoError(t, err)
		b, err := os.ReadFile(filepath.Join(namespaced, f))
		if assert.NoError(t, err) {
			assert.Equal(t, string(a), string(b), "artifacts/example-namespaced/%s differs from artifacts/example's", f)
		}
	}

	created := map[string]bool{}
	for _, ns := range decodeFile(t, filepath.Join(namespaced, "namespace.yaml")) {
		require.Equal(t, "Namespace", ns.GetKind())
		created[ns.GetName()] = true
	}
	assert.True(t, created[serverNamespace], "the server's namespace")
	roles := 0
	for _, f := range []string{"service-account.yaml", "rbac.yaml"} {
		for _, obj := range decodeFile(t, filepath.Join(namespaced, f)) {
			if ns := obj.GetNamespace(); ns != "" {
				assert.True(t, created[ns], "%s %s/%s in %s: namespace.yaml does not create %s", obj.GetKind(), ns, obj.GetName(), f, ns)
			}
			if obj.GetKind() == "Role" && strings.HasSuffix(obj.GetName(), ":runners") {
				roles++
			}
		}
	}
	assert.Equal(t, 2, roles, "a runners Role in team-a and in team-b")
}

func aggregationLabels(labels map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range labels {
		if strings.HasPrefix(k, "rbac.authorization.k8s.io/aggregate-to-") {
			out[k] = v
		}
	}
	return out
}

// grants flattens rules into "group/resource: verbs" lines, sorted.
func grants(rules []rbacv1.PolicyRule) []string {
	byResource := map[string][]string{}
	for _, r := range rules {
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				key := g + "/" + res
				if len(r.ResourceNames) > 0 {
					key += "[" + strings.Join(r.ResourceNames, ",") + "]"
				}
				byResource[key] = append(byResource[key], r.Verbs...)
			}
		}
		for _, u := range r.NonResourceURLs {
			byResource[u] = append(byResource[u], r.Verbs...)
		}
	}
	var out []string
	for k, verbs := range byResource {
		sort.Strings(verbs)
		out = append(out, k+": "+strings.Join(slices.Compact(verbs), ","))
	}
	sort.Strings(out)
	return out
}

// TestServerChartRBACIsExact pins the server's rights, so that any new right is a deliberate
// change of this list (each line says which code needs it in templates/rbac.yaml). Together with
// the e2e suite, which passes under exactly these rules, this is the proof that they are both
// sufficient and minimal.
func TestServerChartRBACIsExact(t *testing.T) {
	t.Parallel()
	base := []string{
		"/configmaps: create,delete,get,list,update,watch",
		"/events: create,patch",
		"/namespaces: get,list,watch",
		"/pods: create,delete,get,list,patch,watch",
		"/resourcequotas: get,list,watch",
		"/secrets: create,delete,get,list,patch,watch",
		"admissionregistration.k8s.io/mutatingadmissionpolicies: list,watch",
		"admissionregistration.k8s.io/mutatingadmissionpolicybindings: list,watch",
		"admissionregistration.k8s.io/mutatingwebhookconfigurations: list,watch",
		"admissionregistration.k8s.io/validatingadmissionpolicies: list,watch",
		"admissionregistration.k8s.io/validatingadmissionpolicybindings: list,watch",
		"admissionregistration.k8s.io/validatingwebhookconfigurations: list,watch",
		"flowcontrol.apiserver.k8s.io/flowschemas: list,watch",
		"flowcontrol.apiserver.k8s.io/prioritylevelconfigurations: list,watch",
	}
	kubeMode := []string{
		"/pods/exec: create,get",
		"/pods/log: get,list,watch",
		"/serviceaccounts: create",
		"batch/jobs: create,delete,get,list",
		"rbac.authorization.k8s.io/rolebindings: create",
		"rbac.authorization.k8s.io/roles: create,update",
	}
	withKubeMode := append(slices.Clone(base), kubeMode...)
	sort.Strings(withKubeMode)

	objs := renderServer(t)
	role := as[rbacv1.ClusterRole](t, objs.get(t, "ClusterRole", "runnerset-apiserver"))
	assert.Equal(t, withKubeMode, grants(role.Rules))
	lease := as[rbacv1.Role](t, objs.get(t, "Role", "runnerset-apiserver:leader-election"))
	assert.Equal(t, []string{
		"coordination.k8s.io/leases: create",
		"coordination.k8s.io/leases[runnerset-apiserver-scaler]: get,update",
	}, grants(lease.Rules))
	metrics := as[rbacv1.ClusterRole](t, objs.get(t, "ClusterRole", "runnerset-apiserver:metrics-reader"))
	assert.Equal(t, []string{"/metrics: get"}, grants(metrics.Rules))

	// Only the Lease Role binds in the release namespace; the auth-reader binding is the only
	// one in kube-system, and to the built-in Role.
	for _, b := range objs.ofKind("RoleBinding") {
		rb := as[rbacv1.RoleBinding](t, b)
		assert.Equal(t, []rbacv1.Subject{{Kind: "ServiceAccount", Name: "runnerset-apiserver", Namespace: serverNamespace}}, rb.Subjects)
	}
	for _, b := range objs.ofKind("ClusterRoleBinding") {
		crb := as[rbacv1.ClusterRoleBinding](t, b)
		assert.Contains(t, []string{"runnerset-apiserver", "system:auth-delegator"}, crb.RoleRef.Name)
	}

	objs = renderServer(t, "--set", "rbac.kubernetesMode=false")
	role = as[rbacv1.ClusterRole](t, objs.get(t, "ClusterRole", "runnerset-apiserver"))
	assert.Equal(t, base, grants(role.Rules), "rbac.kubernetesMode=false drops the kubernetes-mode rights")

	objs = renderServer(t, "--set", "rbac.create=false,userRoles.create=false,metrics.enabled=false,serviceAccount.create=false,serviceAccount.name=mine")
	for _, kind := range []string{"ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "ServiceAccount"} {
		assert.Empty(t, objs.ofKind(kind).names(), kind)
	}
	d := as[appsv1.Deployment](t, objs.get(t, "Deployment", "runnerset-apiserver"))
	assert.Equal(t, "mine", d.Spec.Template.Spec.ServiceAccountName)
}

// TestServerChartUserRoles: the user roles and their aggregation into view, edit and admin.
func TestServerChartUserRoles(t *testing.T) {
	t.Parallel()
	objs := renderServer(t)
	viewer := as[rbacv1.ClusterRole](t, objs.get(t, "ClusterRole", "runnerset-viewer"))
	editor := as[rbacv1.ClusterRole](t, objs.get(t, "ClusterRole", "runnerset-editor"))
	admin := as[rbacv1.ClusterRole](t, objs.get(t, "ClusterRole", "runnerset-admin"))
	read := []string{
		"actions.dev/runners: get,list,watch",
		"actions.dev/runnersets/scale: get,list,watch",
		"actions.dev/runnersets/status: get,list,watch",
		"actions.dev/runnersets: get,list,watch",
		"actions.dev/workflowjobs: get,list,watch",
	}
	write := []string{
		"actions.dev/runners: delete,get,list,watch",
		"actions.dev/runnersets/scale: get,list,patch,update,watch",
		"actions.dev/runnersets/status: get,list,watch",
		"actions.dev/runnersets: create,delete,deletecollection,get,list,patch,update,watch",
		"actions.dev/workflowjobs: get,list,watch",
	}
	assert.Equal(t, read, grants(viewer.Rules))
	assert.Equal(t, write, grants(editor.Rules), "editors scale RunnerSets and delete runners; status stays the server's")
	assert.Equal(t, write, grants(admin.Rules))
	assert.Equal(t, "true", viewer.Labels["rbac.authorization.k8s.io/aggregate-to-view"])
	assert.Equal(t, "true", editor.Labels["rbac.authorization.k8s.io/aggregate-to-edit"])
	assert.Equal(t, "true", admin.Labels["rbac.authorization.k8s.io/aggregate-to-admin"])

	objs = renderServer(t, "--set", "userRoles.aggregateToDefaultRoles=false")
	for _, name := range []string{"runnerset-viewer", "runnerset-editor", "runnerset-admin"} {
		assert.Empty(t, aggregationLabels(objs.get(t, "ClusterRole", name).GetLabels()), name)
	}
}

// TestServerChartExternalName: what the e2e test installs to route the aggregator to a server
// process on the host.
func TestServerChartExternalName(t *testing.T) {
	t.Parallel()
	objs := renderServer(t, "--set", "service.type=ExternalName,service.externalName=localhost,service.port=34567")
	svc := as[corev1.Service](t, objs.get(t, "Service", "runnerset-apiserver"))
	assert.Equal(t, corev1.ServiceTypeExternalName, svc.Spec.Type)
	assert.Equal(t, "localhost", svc.Spec.ExternalName)
	assert.Empty(t, svc.Spec.Selector)
	assert.Equal(t, []corev1.ServicePort{{Name: "https", Port: 34567, Protocol: corev1.ProtocolTCP}}, svc.Spec.Ports)
	apiService := as[apiService](t, objs.get(t, "APIService", "v1alpha1.actions.dev"))
	assert.Equal(t, int32(34567), *apiService.Spec.Service.Port)
}

func TestServerChartValues(t *testing.T) {
	t.Parallel()
	t.Run("flags", func(t *testing.T) {
		t.Parallel()
		objs := renderServer(t, "--set", "replicaCount=1,leaderElection.enabled=false,logLevel=4,kubeAPI.qps=5,kubeAPI.burst=7,"+
			"scaler.drainTimeout=5m,scaler.runnerExitGrace=0,scaler.allowedGitHubHosts={github.com,ghes.example.com},limits.maxRunnersPerRunnerSet=50,image.repository=registry.example.com/rs,image.tag=v1,extraArgs={--github-give-up=1m}")
		d := as[appsv1.Deployment](t, objs.get(t, "Deployment", "runnerset-apiserver"))
		c := serverContainer(t, d)
		assert.Equal(t, int32(1), *d.Spec.Replicas)
		assert.Equal(t, "registry.example.com/rs:v1", c.Image)
		o := serverFlags(t, c.Args)
		assert.False(t, o.Scaler.LeaderElect)
		assert.Equal(t, float32(5), o.ClientQPS)
		assert.Equal(t, 7, o.ClientBurst)
		assert.Equal(t, "5m0s", o.Scaler.DrainTimeout.String())
		assert.Equal(t, "1m0s", o.Scaler.GitHubGiveUp.String())
		assert.Zero(t, o.Scaler.ExitGrace, "0 (a number in YAML) turns it off")
		assert.Equal(t, []string{"github.com", "ghes.example.com"}, o.Policy.AllowedHosts)
		assert.Equal(t, int32(50), o.Policy.MaxRunners)
		assert.Contains(t, c.Args, "--v=4")
	})
	t.Run("JIT budget", func(t *testing.T) {
		t.Parallel()
		// JSON numbers reach the template as floats: a large one must not render as 1e+06.
		c := serverContainer(t, serverDeployment(t, "--set-json", `scaler.jitBudget={"perMinute":1000000,"burst":50}`))
		o := serverFlags(t, c.Args)
		assert.Equal(t, 1000000, o.Scaler.JITBudget)
		assert.Equal(t, 50, o.Scaler.JITBurst)
		assert.Contains(t, c.Args, "--jit-budget=1000000")
		assert.Contains(t, c.Args, "--jit-budget-burst=50")

		c = serverContainer(t, serverDeployment(t, "--set", "scaler.jitBudget.perMinute=600"))
		o = serverFlags(t, c.Args)
		assert.Equal(t, 600, o.Scaler.JITBudget)
		assert.Zero(t, o.Scaler.JITBurst, "burst 0: one minute's worth, the server's default")
		assert.NotContains(t, strings.Join(c.Args, " "), "--jit-budget-burst")

		// The defaults (0, 0: no budget) pass no flag, so a release rendered before the values
		// existed renders the same.
		c = serverContainer(t, serverDeployment(t))
		assert.NotContains(t, strings.Join(c.Args, " "), "--jit-budget")
		o = serverFlags(t, c.Args)
		assert.Zero(t, o.Scaler.JITBudget)
		assert.Zero(t, o.Scaler.JITBurst)
	})
	t.Run("proxy and extra CA", func(t *testing.T) {
		t.Parallel()
		objs := renderServer(t, "--set", "proxy.https=http://proxy.example.com:3128,proxy.noProxy={10.0.0.0/8},extraCA.configMap.name=corp-ca")
		d := as[appsv1.Deployment](t, objs.get(t, "Deployment", "runnerset-apiserver"))
		c := serverContainer(t, d)
		v, _ := env(c, "HTTPS_PROXY")
		assert.Equal(t, "http://proxy.example.com:3128", v)
		v, _ = env(c, "NO_PROXY")
		assert.Equal(t, "$(KUBERNETES_SERVICE_HOST),.svc,.cluster.local,10.0.0.0/8", v, "the kube-apiserver is never proxied")
		v, _ = env(c, "SSL_CERT_DIR")
		assert.Equal(t, "/etc/ssl/certs:/etc/runnerset-apiserver/extra-ca", v)
		var vol *corev1.Volume
		for i := range d.Spec.Template.Spec.Volumes {
			if d.Spec.Template.Spec.Volumes[i].Name == "extra-ca" {
				vol = &d.Spec.Template.Spec.Volumes[i]
			}
		}
		require.NotNil(t, vol)
		assert.Equal(t, "corp-ca", vol.ConfigMap.Name)

		objs = renderServer(t)
		c = serverContainer(t, as[appsv1.Deployment](t, objs.get(t, "Deployment", "runnerset-apiserver")))
		for _, name := range []string{"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "SSL_CERT_DIR"} {
			_, ok := env(c, name)
			assert.False(t, ok, "%s without proxy/extraCA values", name)
		}
	})
	t.Run("placement", func(t *testing.T) {
		t.Parallel()
		objs := renderServer(t, "--set", "priorityClassName=system-cluster-critical,tolerations[0].key=dedicated,tolerations[0].operator=Exists,"+
			"topologySpreadConstraints[0].maxSkew=1,topologySpreadConstraints[0].topologyKey=topology.kubernetes.io/zone,topologySpreadConstraints[0].whenUnsatisfiable=DoNotSchedule,"+
			"affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].key=pool,"+
			"affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].operator=Exists,podDisruptionBudget.enabled=false")
		pod := as[appsv1.Deployment](t, objs.get(t, "Deployment", "runnerset-apiserver")).Spec.Template.Spec
		assert.Equal(t, "system-cluster-critical", pod.PriorityClassName)
		assert.Equal(t, map[string]string{"kubernetes.io/os": "linux"}, pod.NodeSelector)
		assert.Equal(t, "dedicated", pod.Tolerations[0].Key)
		assert.Equal(t, "topology.kubernetes.io/zone", pod.TopologySpreadConstraints[0].TopologyKey)
		assert.Len(t, pod.TopologySpreadConstraints, 1)
		assert.Equal(t, "pool", pod.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0].MatchExpressions[0].Key)
		assert.Nil(t, objs.find("PodDisruptionBudget", "runnerset-apiserver"))
	})
	t.Run("names", func(t *testing.T) {
		t.Parallel()
		objs := render(t, "prod", chartDir(serverChart), "ops")
		secret := as[corev1.Secret](t, objs.get(t, "Secret", "prod-runnerset-apiserver-serving-cert"))
		apiService := as[apiService](t, objs.get(t, "APIService", "v1alpha1.actions.dev"))
		assert.Equal(t, "prod-runnerset-apiserver", apiService.Spec.Service.Name)
		assert.Equal(t, "ops", apiService.Spec.Service.Namespace)
		verifyServingCert(t, secret, apiService.Spec.CABundle, "prod-runnerset-apiserver.ops.svc")
		o := serverFlags(t, serverContainer(t, as[appsv1.Deployment](t, objs.get(t, "Deployment", "prod-runnerset-apiserver"))).Args)
		assert.Equal(t, "ops", o.Scaler.LeaseNamespace)
		// User roles keep their names: they are the API's.
		objs.get(t, "ClusterRole", "runnerset-editor")
	})
}

// TestServerChartRefusals: values that would install a broken server fail with what to do.
func TestServerChartRefusals(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ set, want string }{
		{"leaderElection.enabled=false", "keep leader election on, or set replicaCount: 1"},
		{"service.type=ExternalName", "needs service.externalName"},
		{"service.type=Headless", "use ClusterIP"},
		{"tls.type=existingSecret,tls.existingSecret.name=my-tls", "give apiService.caBundle"},
		{"extraCA.configMap.name=a,extraCA.secret.name=b", "not both"},
	} {
		t.Run(tc.set, func(t *testing.T) {
			t.Parallel()
			msg := renderFails(t, serverRelease, chartDir(serverChart), serverNamespace, "--set", tc.set)
			assert.Contains(t, msg, tc.want)
		})
	}
}
