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
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/csv"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/keyutil"
)

func TestWritePKI(t *testing.T) {
	dir := t.TempDir()
	p, err := writePKI(dir)
	if err != nil {
		t.Fatalf("writePKI: %v", err)
	}

	roots := x509.NewCertPool()
	roots.AddCert(p.CA.Cert)
	if !p.CA.Cert.IsCA {
		t.Errorf("cluster CA is not a CA")
	}

	t.Run("apiserver serving certificate", func(t *testing.T) {
		cert := loadKeyPair(t, p.APIServerCertFile, p.APIServerKeyFile)
		for _, name := range []string{"localhost", "kubernetes.default.svc", "127.0.0.1", "10.0.0.1"} {
			if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: name, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
				t.Errorf("serving certificate does not verify for %q: %v", name, err)
			}
		}
		if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err == nil {
			t.Errorf("serving certificate is also valid for client auth")
		}
	})

	t.Run("front-proxy client certificate", func(t *testing.T) {
		cert := loadKeyPair(t, p.FrontProxyCert, p.FrontProxyKey)
		if cert.Subject.CommonName != frontProxyClientName {
			t.Errorf("CN = %q, want %q (must match --requestheader-allowed-names)", cert.Subject.CommonName, frontProxyClientName)
		}
		fpRoots := x509.NewCertPool()
		fpRoots.AppendCertsFromPEM(mustRead(t, p.FrontProxyCAFile))
		if _, err := cert.Verify(x509.VerifyOptions{Roots: fpRoots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
			t.Errorf("front-proxy client does not verify against the front-proxy CA: %v", err)
		}
		// The aggregated server must not accept the front proxy's identity from a cert
		// chaining to the cluster CA, and vice versa.
		if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err == nil {
			t.Errorf("front-proxy client verifies against the cluster CA; the CAs must differ")
		}
	})

	t.Run("aggregated server certificate", func(t *testing.T) {
		kp, err := p.CA.sign(certSpec{
			CommonName:  ServerName,
			DNSNames:    []string{ServerName + "." + ServerNamespace + ".svc", "localhost"},
			IPs:         []net.IP{net.IPv4(127, 0, 0, 1)},
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		})
		if err != nil {
			t.Fatal(err)
		}
		certFile, keyFile, err := kp.write(dir, ServerName)
		if err != nil {
			t.Fatal(err)
		}
		cert := loadKeyPair(t, certFile, keyFile)
		// The aggregator verifies <service>.<namespace>.svc, not the address it dials.
		for _, name := range []string{"runnerset-apiserver.runnerset-system.svc", "localhost", "127.0.0.1"} {
			if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: name}); err != nil {
				t.Errorf("server certificate does not verify for %q: %v", name, err)
			}
		}
		if info, err := os.Stat(keyFile); err != nil || info.Mode().Perm() != 0o600 {
			t.Errorf("key file mode = %v (err %v), want 0600", info.Mode().Perm(), err)
		}
	})

	t.Run("service-account keys", func(t *testing.T) {
		key, err := keyutil.PrivateKeyFromFile(p.SAKeyFile)
		if err != nil {
			t.Fatalf("kube-apiserver could not parse %s: %v", p.SAKeyFile, err)
		}
		pubs, err := keyutil.PublicKeysFromFile(p.SAPubFile)
		if err != nil || len(pubs) != 1 {
			t.Fatalf("kube-apiserver could not parse %s: %v", p.SAPubFile, err)
		}
		signer, ok := key.(crypto.Signer)
		if !ok {
			t.Fatalf("service-account key %T has no public half", key)
		}
		if !pubs[0].(interface{ Equal(crypto.PublicKey) bool }).Equal(signer.Public()) {
			t.Errorf("sa.pub does not match sa.key")
		}
	})

	t.Run("token file", func(t *testing.T) {
		records, err := csv.NewReader(strings.NewReader(string(mustRead(t, p.TokenFile)))).ReadAll()
		if err != nil {
			t.Fatalf("token file is not CSV: %v", err)
		}
		want := map[string]string{UserAdmin: "system:masters", UserAlice: "team-a", UserBob: "team-b", UserCarol: "team-a-editors", UserDave: "team-a-configmaps"}
		if len(records) != len(want) {
			t.Fatalf("token file has %d lines, want %d", len(records), len(want))
		}
		tokens := map[string]bool{}
		for _, r := range records {
			if len(r) != 4 {
				t.Fatalf("token line %v has %d fields, want 4 (token,user,uid,groups)", r, len(r))
			}
			if want[r[1]] != r[3] {
				t.Errorf("user %s has groups %q, want %q", r[1], r[3], want[r[1]])
			}
			if len(r[0]) < 32 || tokens[r[0]] {
				t.Errorf("token of %s is short or reused", r[1])
			}
			tokens[r[0]] = true
		}
	})
}

func TestTokenFileContentQuotesGroups(t *testing.T) {
	got := tokenFileContent([]staticUser{{Name: "carol", Token: "t", Groups: []string{"g1", "g2"}}})
	if want := "t,carol,uid-carol,\"g1,g2\"\n"; got != want {
		t.Errorf("tokenFileContent = %q, want %q", got, want)
	}
}

func TestWriteKubeconfig(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "alice.kubeconfig")
	caFile := filepath.Join(dir, "ca.crt")
	if err := os.WriteFile(caFile, []byte("unused"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeKubeconfig(path, "https://127.0.0.1:1234", caFile, UserAlice, "secret"); err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatalf("kubeconfig does not load: %v", err)
	}
	if cfg.Host != "https://127.0.0.1:1234" || cfg.BearerToken != "secret" || cfg.CAFile != caFile {
		t.Errorf("loaded config = host %q token %q ca %q", cfg.Host, cfg.BearerToken, cfg.CAFile)
	}
}

func TestFreePortsAreDistinct(t *testing.T) {
	ports, err := freePorts(5)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(ports)
	if len(slices.Compact(ports)) != 5 {
		t.Errorf("freePorts returned duplicates: %v", ports)
	}
}

func TestDecodeManifests(t *testing.T) {
	objs, err := decodeManifests([]byte(`
# a comment-only document is skipped
---
apiVersion: v1
kind: Namespace
metadata:
  name: a
---
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: b, namespace: a}
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: c, namespace: a}
---
{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "d"}}
`))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, o := range objs {
		names = append(names, o.GetKind()+"/"+o.GetName())
	}
	if want := []string{"Namespace/a", "ConfigMap/b", "ConfigMap/c", "Namespace/d"}; !slices.Equal(names, want) {
		t.Errorf("decoded %v, want %v", names, want)
	}

	if _, err := decodeManifests([]byte("apiVersion: v1\nkind: Namespace\n")); err == nil {
		t.Errorf("an object without a name was accepted")
	}
}

// loadKeyPair checks that the pair loads as a TLS key pair, as Go servers load it, and returns
// the certificate.
func loadKeyPair(t *testing.T, certFile, keyFile string) *x509.Certificate {
	t.Helper()
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatalf("loading %s/%s: %v", certFile, keyFile, err)
	}
	block, _ := pem.Decode(mustRead(t, certFile))
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil || len(pair.Certificate) != 1 {
		t.Fatalf("parsing %s: %v", certFile, err)
	}
	return cert
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
