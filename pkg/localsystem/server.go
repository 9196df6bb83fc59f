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

package localsystem

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
)

// serverManifests are applied, in this order, before the server starts: its namespace and
// identity, the delegated authn/authz bindings every aggregated server needs, its own RBAC, and
// the user-facing roles. apiservice.yaml is applied separately once the server serves.
var serverManifests = []string{
	"namespace.yaml",
	"service-account.yaml",
	"auth-delegator.yaml",
	"auth-reader.yaml",
	"rbac.yaml",
	"user-roles.yaml",
}

const (
	apiServiceManifest = "apiservice.yaml"
	// serverTokenTTL is the lifetime of the server's ServiceAccount token. There is no
	// kubelet to refresh it, so it has to outlast any local session.
	serverTokenTTL = 24 * time.Hour
)

var apiServiceGVR = schema.GroupVersionResource{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices"}

// startServer registers and starts the aggregated runnerset-apiserver:
//
//  1. RBAC and identity from the manifests, a 24h ServiceAccount token in a kubeconfig;
//  2. a serving certificate from the cluster CA, valid for <service>.<namespace>.svc, which is
//     the name the aggregator verifies, and for localhost/127.0.0.1;
//  3. the server on a free loopback port, ready on /readyz;
//  4. an ExternalName Service pointing at localhost on that port (the only way the aggregator
//     reaches a loopback server; EndpointSlices may not hold loopback addresses);
//  5. the APIService with the cluster CA as caBundle, waited on until Available.
//
// serverEnv is the server's extra environment. The local system's operator trusts its own
// GitHub, as one trusts a GitHub Enterprise Server's CA on the server's pod; a RunnerSet's
// githubServerTLS still replaces this trust for its own requests.
func (s *System) serverEnv(o *ServerOptions) []string {
	if ca := s.SimulatorCAFile(); ca != "" {
		return append([]string{"SSL_CERT_FILE=" + ca}, o.Env...)
	}
	return o.Env
}

func (s *System) startServer(ctx context.Context, o *ServerOptions) error {
	s.setEnv(ServerName, s.serverEnv(o))
	for _, name := range serverManifests {
		if err := s.ApplyFile(ctx, filepath.Join(o.ManifestsDir, name)); err != nil {
			return fmt.Errorf("preparing %s: %w", ServerName, err)
		}
	}

	tr, err := s.admin.CoreV1().ServiceAccounts(ServerNamespace).CreateToken(ctx, ServerName, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To(int64(serverTokenTTL.Seconds()))},
	}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("requesting a token for ServiceAccount %s/%s: %w", ServerNamespace, ServerName, err)
	}
	kubeconfig := filepath.Join(s.dir, ServerName+".kubeconfig")
	if err := writeKubeconfig(kubeconfig, s.apiServerURL, s.pki.CAFile, UserServer, tr.Status.Token); err != nil {
		return err
	}
	s.kubeconfigs[UserServer] = kubeconfig
	s.restConfigs[UserServer] = s.RESTConfig(UserAdmin)
	s.restConfigs[UserServer].BearerToken = tr.Status.Token

	serving, err := s.pki.CA.sign(certSpec{
		CommonName:  ServerName,
		DNSNames:    []string{ServerName + "." + ServerNamespace + ".svc", "localhost"},
		IPs:         []net.IP{net.IPv4(127, 0, 0, 1)},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	if err != nil {
		return err
	}
	certFile, keyFile, err := serving.write(filepath.Join(s.dir, "pki"), ServerName)
	if err != nil {
		return err
	}

	probes := probeClient(s.caPool())
	p, ports, err := s.startListening(ctx, ServerName, o.Binary, 1, serverReadyTimeout,
		func(ports []int) []string {
			return append([]string{
				"--bind-address=127.0.0.1",
				"--secure-port=" + strconv.Itoa(ports[0]),
				"--tls-cert-file=" + certFile,
				"--tls-private-key-file=" + keyFile,
				"--kubeconfig=" + kubeconfig,
				"--authentication-kubeconfig=" + kubeconfig,
				"--authorization-kubeconfig=" + kubeconfig,
				// GitHub is the simulator on its own loopback address here: a RunnerSet naming
				// any other host (a sample's github.com, the kube-apiserver) is refused.
				"--allowed-github-hosts=" + AllowedGitHubHosts,
			}, o.Args...)
		},
		func(ctx context.Context, ports []int) (bool, error) {
			// Verified against the cluster CA: this also proves the serving certificate is the
			// one the aggregator will be asked to trust.
			return probe(ctx, probes, loopbackURL("https", ports[0])+"/readyz", "ok")
		},
		nil,
	)
	if err != nil {
		return fmt.Errorf("starting %s: %w", ServerName, err)
	}
	s.serverPort = ports[0]

	if err := s.registerServer(ctx, o.ManifestsDir); err != nil {
		return fmt.Errorf("registering %s: %w", ServerName, componentError(p, err))
	}
	return nil
}

// registerServer creates the ExternalName Service and the APIService and waits until the
// aggregator reports the APIService Available.
func (s *System) registerServer(ctx context.Context, manifestsDir string) error {
	svc := &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: metav1.ObjectMeta{Name: ServerName, Namespace: ServerNamespace},
		Spec: corev1.ServiceSpec{
			Type:         corev1.ServiceTypeExternalName,
			ExternalName: "localhost",
			Ports: []corev1.ServicePort{{
				Name: "https", Port: int32(s.serverPort), TargetPort: intstr.FromInt32(int32(s.serverPort)),
			}},
		},
	}
	svcObj, err := toUnstructured(svc)
	if err != nil {
		return err
	}
	if err := s.applier.applyObject(ctx, svcObj); err != nil {
		return fmt.Errorf("applying ExternalName Service: %w", err)
	}

	path := filepath.Join(manifestsDir, apiServiceManifest)
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	objs, err := decodeManifests(data)
	if err != nil {
		return fmt.Errorf("decoding %s: %w", path, err)
	}
	var names []string
	for _, obj := range objs {
		if obj.GetKind() != "APIService" {
			return fmt.Errorf("%s: unexpected %s %s; only APIService objects belong there", path, obj.GetKind(), obj.GetName())
		}
		// The manifest names the in-cluster Service on port 443; here the Service is the
		// ExternalName one on the port just picked, and the CA is ours.
		if err := unstructured.SetNestedField(obj.Object, int64(s.serverPort), "spec", "service", "port"); err != nil {
			return err
		}
		if err := unstructured.SetNestedField(obj.Object, base64.StdEncoding.EncodeToString(s.pki.CA.CertPEM), "spec", "caBundle"); err != nil {
			return err
		}
		unstructured.RemoveNestedField(obj.Object, "spec", "insecureSkipTLSVerify")
		if err := s.applier.applyObject(ctx, obj); err != nil {
			return fmt.Errorf("applying APIService %s: %w", obj.GetName(), err)
		}
		names = append(names, obj.GetName())
	}

	dyn, err := dynamic.NewForConfig(s.restConfigs[UserAdmin])
	if err != nil {
		return err
	}
	for _, name := range names {
		if err := waitAPIServiceAvailable(ctx, dyn, name, serverReadyTimeout); err != nil {
			return err
		}
	}
	return s.waitOpenAPIPublished(ctx, names)
}

// waitOpenAPIPublished waits until the kube-apiserver's aggregated OpenAPI v3 index lists every
// registered group version. The aggregator fetches an aggregated server's OpenAPI on its own
// schedule, a second or so after the APIService turns Available; until then kubectl explain
// and kubectl's client-side field validation cannot find the resources.
func (s *System) waitOpenAPIPublished(ctx context.Context, apiServices []string) error {
	client := s.admin.Discovery().RESTClient()
	var missing string
	err := wait.PollUntilContextTimeout(ctx, pollInterval, serverReadyTimeout, true, func(ctx context.Context) (bool, error) {
		raw, err := client.Get().AbsPath("/openapi/v3").DoRaw(ctx)
		if err != nil {
			missing = err.Error()
			return false, nil
		}
		for _, name := range apiServices {
			version, group, _ := strings.Cut(name, ".")
			if !strings.Contains(string(raw), fmt.Sprintf("%q", "apis/"+group+"/"+version)) {
				missing = "apis/" + group + "/" + version
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("OpenAPI v3 of %v not published by the kube-apiserver: %w (last missing: %s)", apiServices, err, missing)
	}
	return nil
}

func waitAPIServiceAvailable(ctx context.Context, dyn dynamic.Interface, name string, timeout time.Duration) error {
	var last string
	err := wait.PollUntilContextTimeout(ctx, pollInterval, timeout, true, func(ctx context.Context) (bool, error) {
		obj, err := dyn.Resource(apiServiceGVR).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			last = err.Error()
			return false, nil
		}
		conditions, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
		for _, c := range conditions {
			cond, _ := c.(map[string]any)
			if cond["type"] != "Available" {
				continue
			}
			last = fmt.Sprintf("Available=%v reason=%v message=%v", cond["status"], cond["reason"], cond["message"])
			return cond["status"] == "True", nil
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("APIService %s not Available after %s: %w (last: %s)", name, timeout, err, last)
	}
	klog.InfoS("APIService available", "apiservice", name)
	return nil
}

func toUnstructured(obj any) (*unstructured.Unstructured, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, err
	}
	return &unstructured.Unstructured{Object: m}, nil
}
