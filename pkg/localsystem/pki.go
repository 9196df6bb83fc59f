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
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The PKI is generated in Go with crypto/x509 so that bringing the system up needs no openssl
// and no shell. ECDSA P-256 keys are used throughout: generating them is instant (RSA 2048 costs
// tens of milliseconds per key), and every component involved (kube-apiserver serving and client
// CA, service-account token signing, the aggregated server) accepts them.

// certValidity is long enough for any local session and short enough that a forgotten state
// directory does not hold a decade-long credential.
const certValidity = 30 * 24 * time.Hour

// keyPair is a certificate with its private key, in parsed and PEM form.
type keyPair struct {
	Cert    *x509.Certificate
	Key     crypto.Signer
	CertPEM []byte
	KeyPEM  []byte
}

// certSpec describes a leaf certificate to be signed by a CA.
type certSpec struct {
	CommonName   string
	Organization []string
	DNSNames     []string
	IPs          []net.IP
	// ExtKeyUsage is x509.ExtKeyUsageServerAuth and/or x509.ExtKeyUsageClientAuth.
	ExtKeyUsage []x509.ExtKeyUsage
}

// newCA creates a self-signed CA certificate and key.
func newCA(commonName string) (*keyPair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating key for CA %q: %w", commonName, err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: commonName},
		NotBefore:             now.Add(-time.Hour), // tolerate small clock differences
		NotAfter:              now.Add(certValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		// A path length of 0 forbids intermediates; nothing here needs them.
		MaxPathLen:     0,
		MaxPathLenZero: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("self-signing CA %q: %w", commonName, err)
	}
	return newKeyPair(der, key)
}

// sign issues a leaf certificate for spec, signed by ca.
func (ca *keyPair) sign(spec certSpec) (*keyPair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating key for %q: %w", spec.CommonName, err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: spec.CommonName, Organization: spec.Organization},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(certValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           spec.ExtKeyUsage,
		BasicConstraintsValid: true,
		DNSNames:              spec.DNSNames,
		IPAddresses:           spec.IPs,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		return nil, fmt.Errorf("signing certificate for %q: %w", spec.CommonName, err)
	}
	return newKeyPair(der, key)
}

func newKeyPair(der []byte, key *ecdsa.PrivateKey) (*keyPair, error) {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parsing generated certificate: %w", err)
	}
	keyPEM, err := encodePrivateKey(key)
	if err != nil {
		return nil, err
	}
	return &keyPair{
		Cert:    cert,
		Key:     key,
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  keyPEM,
	}, nil
}

// write stores the pair as <dir>/<name>.crt and <dir>/<name>.key and returns both paths.
func (kp *keyPair) write(dir, name string) (certFile, keyFile string, err error) {
	certFile = filepath.Join(dir, name+".crt")
	keyFile = filepath.Join(dir, name+".key")
	if err := os.WriteFile(certFile, kp.CertPEM, 0o644); err != nil {
		return "", "", fmt.Errorf("writing %s: %w", certFile, err)
	}
	if err := os.WriteFile(keyFile, kp.KeyPEM, 0o600); err != nil {
		return "", "", fmt.Errorf("writing %s: %w", keyFile, err)
	}
	return certFile, keyFile, nil
}

// encodePrivateKey returns key as a PKCS#8 PEM block, the format every consumer here parses.
func encodePrivateKey(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("marshalling private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// encodePublicKey returns the PKIX PEM form of key's public half.
func encodePublicKey(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return nil, fmt.Errorf("marshalling public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

func randomSerial() (*big.Int, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("generating serial number: %w", err)
	}
	return serial, nil
}

// randomToken returns a fresh bearer token. Tokens are random per start, not fixed strings, so
// that a kubeconfig from an earlier run never works against a later one by accident.
func randomToken() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generating token: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// staticUser is one line of the kube-apiserver's --token-auth-file.
type staticUser struct {
	Name   string
	Token  string
	Groups []string
}

// Users known to the local system. admin is a cluster admin; alice, bob, carol and dave are
// ordinary users whose only rights come from RBAC bindings of them or their groups.
var staticUsers = []struct {
	Name   string
	Groups []string
}{
	{Name: UserAdmin, Groups: []string{"system:masters"}},
	{Name: UserAlice, Groups: []string{"team-a"}},
	{Name: UserBob, Groups: []string{"team-b"}},
	{Name: UserCarol, Groups: []string{"team-a-editors"}},
	{Name: UserDave, Groups: []string{"team-a-configmaps"}},
}

// tokenFileContent renders users in the CSV format of --token-auth-file:
// token,user,uid,"group1,group2".
func tokenFileContent(users []staticUser) string {
	var b strings.Builder
	for _, u := range users {
		fmt.Fprintf(&b, "%s,%s,uid-%s,%q\n", u.Token, u.Name, u.Name, strings.Join(u.Groups, ","))
	}
	return b.String()
}

// pki holds the paths of everything the control plane reads from pki/.
type pki struct {
	CA                *keyPair
	CAFile            string
	APIServerCertFile string
	APIServerKeyFile  string
	FrontProxyCAFile  string
	FrontProxyCert    string
	FrontProxyKey     string
	SAKeyFile         string
	SAPubFile         string
	TokenFile         string
	Users             []staticUser
}

// apiServerSANs are the names kube-apiserver's serving certificate is valid for: loopback for
// our clients, plus the in-cluster names of the kubernetes Service in case a client uses them.
func apiServerSANs() ([]string, []net.IP) {
	return []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
			"kubernetes.default.svc.cluster.local"},
		[]net.IP{net.IPv4(127, 0, 0, 1), net.IPv4(10, 0, 0, 1)}
}

// writePKI generates the cluster CA, kube-apiserver's serving certificate, the front-proxy CA
// and client certificate (what the aggregator presents to aggregated servers), the
// service-account signing key pair and the static token file, all under dir.
func writePKI(dir string) (*pki, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating %s: %w", dir, err)
	}
	p := &pki{}

	ca, err := newCA("runnerset-local-ca")
	if err != nil {
		return nil, err
	}
	p.CA = ca
	if p.CAFile, _, err = ca.write(dir, "ca"); err != nil {
		return nil, err
	}

	dns, ips := apiServerSANs()
	serving, err := ca.sign(certSpec{
		CommonName:  "kube-apiserver",
		DNSNames:    dns,
		IPs:         ips,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	if err != nil {
		return nil, err
	}
	if p.APIServerCertFile, p.APIServerKeyFile, err = serving.write(dir, "apiserver"); err != nil {
		return nil, err
	}

	// The front-proxy CA is separate from the cluster CA on purpose: aggregated servers trust
	// X-Remote-User headers only from clients whose certificate chains to it, so no ordinary
	// client certificate can impersonate the aggregator.
	fpCA, err := newCA("runnerset-local-front-proxy-ca")
	if err != nil {
		return nil, err
	}
	if p.FrontProxyCAFile, _, err = fpCA.write(dir, "front-proxy-ca"); err != nil {
		return nil, err
	}
	fpClient, err := fpCA.sign(certSpec{
		CommonName:  frontProxyClientName,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	if err != nil {
		return nil, err
	}
	if p.FrontProxyCert, p.FrontProxyKey, err = fpClient.write(dir, "front-proxy-client"); err != nil {
		return nil, err
	}

	saKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating service-account signing key: %w", err)
	}
	saKeyPEM, err := encodePrivateKey(saKey)
	if err != nil {
		return nil, err
	}
	saPubPEM, err := encodePublicKey(saKey)
	if err != nil {
		return nil, err
	}
	p.SAKeyFile = filepath.Join(dir, "sa.key")
	p.SAPubFile = filepath.Join(dir, "sa.pub")
	if err := os.WriteFile(p.SAKeyFile, saKeyPEM, 0o600); err != nil {
		return nil, fmt.Errorf("writing %s: %w", p.SAKeyFile, err)
	}
	if err := os.WriteFile(p.SAPubFile, saPubPEM, 0o644); err != nil {
		return nil, fmt.Errorf("writing %s: %w", p.SAPubFile, err)
	}

	for _, u := range staticUsers {
		token, err := randomToken()
		if err != nil {
			return nil, err
		}
		p.Users = append(p.Users, staticUser{Name: u.Name, Token: token, Groups: u.Groups})
	}
	p.TokenFile = filepath.Join(dir, "tokens.csv")
	if err := os.WriteFile(p.TokenFile, []byte(tokenFileContent(p.Users)), 0o600); err != nil {
		return nil, fmt.Errorf("writing %s: %w", p.TokenFile, err)
	}
	return p, nil
}
