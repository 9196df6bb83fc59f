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
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// certManagerCertificate is the part of cert-manager.io/v1 Certificate the chart sets.
type certManagerCertificate struct {
	Spec struct {
		IsCA        bool     `json:"isCA"`
		CommonName  string   `json:"commonName"`
		SecretName  string   `json:"secretName"`
		DNSNames    []string `json:"dnsNames"`
		Duration    string   `json:"duration"`
		RenewBefore string   `json:"renewBefore"`
		Usages      []string `json:"usages"`
		PrivateKey  struct {
			Algorithm      string `json:"algorithm"`
			Size           int    `json:"size"`
			RotationPolicy string `json:"rotationPolicy"`
		} `json:"privateKey"`
		IssuerRef struct {
			Name  string `json:"name"`
			Kind  string `json:"kind"`
			Group string `json:"group"`
		} `json:"issuerRef"`
	} `json:"spec"`
}

func certificateOf(t *testing.T, obj *unstructured.Unstructured) certManagerCertificate {
	t.Helper()
	var c certManagerCertificate
	require.NoError(t, runtimeFromUnstructured(obj, &c))
	return c
}

func servingCertVolume(t *testing.T, objs objects) string {
	t.Helper()
	d := as[appsv1.Deployment](t, objs.get(t, "Deployment", "runnerset-apiserver"))
	for _, v := range d.Spec.Template.Spec.Volumes {
		if v.Name == "serving-cert" {
			require.NotNil(t, v.Secret)
			return v.Secret.SecretName
		}
	}
	t.Fatalf("no serving-cert volume")
	return ""
}

// TestServerChartTLSCertManager: tls.type=cert-manager makes the chart's own CA with cert-manager
// and lets its CA injector write the caBundle.
func TestServerChartTLSCertManager(t *testing.T) {
	t.Parallel()
	objs := renderServer(t, "--set", "tls.type=cert-manager,apiService.annotations.team=ci")
	assert.Empty(t, objs.ofKind("Secret").names(), "cert-manager writes the Secret, not the chart")

	selfSigned := objs.get(t, "Issuer", "runnerset-apiserver-selfsigned")
	assert.Equal(t, serverNamespace, selfSigned.GetNamespace())
	_, ok, _ := unstructured.NestedMap(selfSigned.Object, "spec", "selfSigned")
	assert.True(t, ok, "a self-signed Issuer")

	ca := certificateOf(t, objs.get(t, "Certificate", "runnerset-apiserver-ca"))
	assert.True(t, ca.Spec.IsCA)
	assert.Equal(t, "runnerset-apiserver-ca", ca.Spec.SecretName)
	assert.Equal(t, "87600h", ca.Spec.Duration)
	assert.Equal(t, "runnerset-apiserver-selfsigned", ca.Spec.IssuerRef.Name)
	assert.Equal(t, "Issuer", ca.Spec.IssuerRef.Kind)

	caIssuer := objs.get(t, "Issuer", "runnerset-apiserver-ca")
	caSecret, _, _ := unstructured.NestedString(caIssuer.Object, "spec", "ca", "secretName")
	assert.Equal(t, "runnerset-apiserver-ca", caSecret, "the CA Issuer signs with the CA Certificate's Secret")

	serving := certificateOf(t, objs.get(t, "Certificate", "runnerset-apiserver-serving-cert"))
	assert.False(t, serving.Spec.IsCA)
	assert.Equal(t, "runnerset-apiserver-serving-cert", serving.Spec.SecretName)
	assert.Contains(t, serving.Spec.DNSNames, "runnerset-apiserver.runnerset-system.svc", "the name the aggregator verifies")
	assert.Empty(t, serving.Spec.CommonName, "a CN longer than 64 bytes is refused; the SANs are what is verified")
	assert.Equal(t, "runnerset-apiserver-ca", serving.Spec.IssuerRef.Name)
	assert.Equal(t, "Issuer", serving.Spec.IssuerRef.Kind)
	assert.Equal(t, "2160h", serving.Spec.Duration)
	assert.Equal(t, "720h", serving.Spec.RenewBefore)
	assert.Contains(t, serving.Spec.Usages, "server auth")
	assert.Equal(t, "Always", serving.Spec.PrivateKey.RotationPolicy)
	assert.Equal(t, "runnerset-apiserver-serving-cert", servingCertVolume(t, objs), "the pods mount cert-manager's Secret")

	api := as[apiService](t, objs.get(t, "APIService", "v1alpha1.actions.dev"))
	assert.Empty(t, api.Spec.CABundle, "the CA injector writes it")
	assert.False(t, api.Spec.InsecureSkipTLSVerify)
	assert.Equal(t, map[string]string{
		"cert-manager.io/inject-ca-from": "runnerset-system/runnerset-apiserver-serving-cert",
		"team":                           "ci",
	}, api.Annotations)

	// The ServiceMonitor trusts the CA cert-manager writes next to the certificate.
	objs = renderServer(t, "--set", "tls.type=cert-manager,metrics.serviceMonitor.enabled=true")
	ep := serviceMonitorEndpoint(t, objs)
	name, _, _ := unstructured.NestedString(ep, "tlsConfig", "ca", "secret", "name")
	assert.Equal(t, "runnerset-apiserver-serving-cert", name)
}

func TestServerChartTLSCertManagerIssuerRef(t *testing.T) {
	t.Parallel()
	objs := renderServer(t, "--set", "tls.type=cert-manager,tls.certManager.issuerRef.name=corp-ca,tls.certManager.issuerRef.kind=ClusterIssuer,"+
		"tls.certManager.duration=720h,tls.certManager.renewBefore=240h")
	assert.Empty(t, objs.ofKind("Issuer").names(), "the issuer named is used, no CA of the chart's")
	assert.Nil(t, objs.find("Certificate", "runnerset-apiserver-ca"))
	serving := certificateOf(t, objs.get(t, "Certificate", "runnerset-apiserver-serving-cert"))
	assert.Equal(t, "corp-ca", serving.Spec.IssuerRef.Name)
	assert.Equal(t, "ClusterIssuer", serving.Spec.IssuerRef.Kind)
	assert.Equal(t, "cert-manager.io", serving.Spec.IssuerRef.Group)
	assert.Equal(t, "720h", serving.Spec.Duration)
	assert.Equal(t, "240h", serving.Spec.RenewBefore)

	msg := renderFails(t, serverRelease, chartDir(serverChart), serverNamespace, "--set", "tls.type=cert-manager,tls.certManager.issuerRef.kind=ClusterIssuer")
	assert.Contains(t, msg, "tls.certManager.issuerRef needs a name")
}

// TestServerChartTLSRendersTheSame: with cert-manager or an existing Secret, rendering twice gives
// the same bytes (a GitOps tool syncing `helm template` sees no change), and nothing is looked
// up: a render that may reach the cluster (--dry-run=server) does not try to. With the default
// (tls.type helm) neither holds, which shows both checks can fail.
func TestServerChartTLSRendersTheSame(t *testing.T) {
	t.Parallel()
	// A kubeconfig of a cluster that refuses every connection: a lookup fails the render.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	kubeconfig := filepath.Join(t.TempDir(), "unreachable.kubeconfig")
	require.NoError(t, os.WriteFile(kubeconfig, []byte(fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://%s"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`, addr)), 0o600))

	bundle := base64.StdEncoding.EncodeToString(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("a CA")}))
	template := func(t *testing.T, set string, extra ...string) (string, error) {
		args := append([]string{"template", serverRelease, chartDir(serverChart), "--namespace", serverNamespace, "--set", set}, extra...)
		return helm(t, args...)
	}
	for _, set := range []string{
		"tls.type=cert-manager",
		"tls.type=cert-manager,tls.certManager.issuerRef.name=corp-ca",
		"tls.type=existingSecret,tls.existingSecret.name=my-tls,apiService.caBundle=" + bundle,
		"tls.type=existingSecret,tls.existingSecret.name=my-tls,apiService.annotations.cert-manager\\.io/inject-ca-from=runnerset-system/my-cert",
	} {
		t.Run(set, func(t *testing.T) {
			t.Parallel()
			first, err := template(t, set+",metrics.serviceMonitor.enabled=true,metrics.prometheusRule.enabled=true,metrics.grafanaDashboard.enabled=true")
			require.NoError(t, err)
			second, err := template(t, set+",metrics.serviceMonitor.enabled=true,metrics.prometheusRule.enabled=true,metrics.grafanaDashboard.enabled=true")
			require.NoError(t, err)
			assert.Equal(t, first, second, "two renders differ")
			_, err = template(t, set, "--dry-run=server", "--kubeconfig", kubeconfig)
			assert.NoError(t, err, "the render looked something up in the cluster")
		})
	}
	t.Run("helm (the default) differs and looks up", func(t *testing.T) {
		t.Parallel()
		first, err := template(t, "logLevel=2")
		require.NoError(t, err)
		time.Sleep(time.Second) // certificates' validity starts at the second
		second, err := template(t, "logLevel=2")
		require.NoError(t, err)
		assert.NotEqual(t, first, second, "tls.type=helm generates a new CA and key per render")
		_, err = template(t, "logLevel=2", "--dry-run=server", "--kubeconfig", kubeconfig)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "lookup")
	})
}

// TestServerChartTLSExistingSecret: the user's Secret, with the CA given or injected.
func TestServerChartTLSExistingSecret(t *testing.T) {
	t.Parallel()
	bundle := base64.StdEncoding.EncodeToString(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("not parsed by the chart")}))
	objs := renderServer(t, "--set", "tls.type=existingSecret,tls.existingSecret.name=my-tls,apiService.caBundle="+bundle)
	assert.Empty(t, objs.ofKind("Secret").names(), "the chart generates nothing")
	assert.Empty(t, objs.ofKind("Certificate").names())
	assert.Equal(t, "my-tls", servingCertVolume(t, objs))
	api := objs.get(t, "APIService", "v1alpha1.actions.dev")
	got, _, _ := unstructured.NestedString(api.Object, "spec", "caBundle")
	assert.Equal(t, bundle, got)

	for _, annotation := range []string{
		"cert-manager\\.io/inject-ca-from=runnerset-system/my-cert",
		"cert-manager\\.io/inject-ca-from-secret=runnerset-system/my-tls",
		"service\\.beta\\.openshift\\.io/inject-cabundle=true",
	} {
		objs := renderServer(t, "--set", "tls.type=existingSecret,tls.existingSecret.name=my-tls,apiService.annotations."+annotation)
		api := as[apiService](t, objs.get(t, "APIService", "v1alpha1.actions.dev"))
		assert.Empty(t, api.Spec.CABundle, annotation)
		assert.Len(t, api.Annotations, 1, annotation)
	}

	// The ServiceMonitor reads ca.crt of that Secret, or the tlsConfig given.
	objs = renderServer(t, "--set", "tls.type=existingSecret,tls.existingSecret.name=my-tls,apiService.caBundle="+bundle+",metrics.serviceMonitor.enabled=true")
	ep := serviceMonitorEndpoint(t, objs)
	name, _, _ := unstructured.NestedString(ep, "tlsConfig", "ca", "secret", "name")
	assert.Equal(t, "my-tls", name)
	objs = renderServer(t, "--set", "tls.type=existingSecret,tls.existingSecret.name=my-tls,apiService.caBundle="+bundle+",metrics.serviceMonitor.enabled=true,"+
		"metrics.serviceMonitor.tlsConfig.ca.configMap.name=corp-ca,metrics.serviceMonitor.tlsConfig.ca.configMap.key=ca.crt,metrics.serviceMonitor.tlsConfig.serverName=rs.example")
	ep = serviceMonitorEndpoint(t, objs)
	tlsConfig, _, _ := unstructured.NestedMap(ep, "tlsConfig")
	assert.Equal(t, map[string]any{"ca": map[string]any{"configMap": map[string]any{"name": "corp-ca", "key": "ca.crt"}}, "serverName": "rs.example"}, tlsConfig)
}

// TestServerChartTLSHelm: the chart's own certificate, as before, under tls.helm.
func TestServerChartTLSHelm(t *testing.T) {
	t.Parallel()
	objs := renderServer(t, "--set", "tls.helm.validityDays=30,tls.helm.rotation=2027-01")
	secret := as[corev1.Secret](t, objs.get(t, "Secret", "runnerset-apiserver-serving-cert"))
	assert.Equal(t, "2027-01", secret.Annotations["actions.dev/certificate-rotation"])
	api := as[apiService](t, objs.get(t, "APIService", "v1alpha1.actions.dev"))
	block, _ := pem.Decode(secret.Data["tls.crt"])
	require.NotNil(t, block)
	cert := verifyServingCertFor(t, secret, api.Spec.CABundle, "runnerset-apiserver.runnerset-system.svc")
	assert.InDelta(t, 30*24, cert.NotAfter.Sub(cert.NotBefore).Hours(), 24, "validityDays")
	assert.Empty(t, objs.ofKind("Certificate").names())
	assert.Empty(t, api.Annotations)
}

// TestServerChartTLSRefusals: values that would leave the aggregator unable, or unwilling, to
// verify the server.
func TestServerChartTLSRefusals(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ set, want string }{
		{"apiService.insecureSkipTLSVerify=true", "apiService.insecureSkipTLSVerify=true is refused"},
		{"apiService.insecureSkipTLSVerify=true", "also set apiService.insecureSkipTLSVerifyForce=true"},
		{"apiService.caBundle=Zm9v", "with tls.type=helm the chart writes the caBundle itself"},
		{"tls.type=cert-manager,apiService.caBundle=Zm9v", "with tls.type=cert-manager the CA injector writes the caBundle"},
		{"tls.type=existingSecret", "tls.type=existingSecret needs tls.existingSecret.name"},
		{"tls.type=existingSecret,tls.existingSecret.name=my-tls", "or a CA-injection annotation in apiService.annotations"},
		{"tls.type=vault", "/tls/type': value must be one of 'helm', 'cert-manager', 'existingSecret'"},
	} {
		t.Run(tc.set, func(t *testing.T) {
			t.Parallel()
			assert.Contains(t, renderFails(t, serverRelease, chartDir(serverChart), serverNamespace, "--set", tc.set), tc.want)
		})
	}
	t.Run("forced", func(t *testing.T) {
		t.Parallel()
		set := "apiService.insecureSkipTLSVerify=true,apiService.insecureSkipTLSVerifyForce=true"
		api := as[apiService](t, renderServer(t, "--set", set).get(t, "APIService", "v1alpha1.actions.dev"))
		assert.True(t, api.Spec.InsecureSkipTLSVerify)
		assert.Empty(t, api.Spec.CABundle)
		assert.Contains(t, serverNotes(t, "--set", set), "WARNING: apiService.insecureSkipTLSVerify is true")
		// An existing Secret then needs no CA.
		renderServer(t, "--set", set+",tls.type=existingSecret,tls.existingSecret.name=my-tls")
	})
}
