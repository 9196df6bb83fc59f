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

package simulator

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"slices"
	"time"
)

// CACommonName is the subject of the CA the simulator makes at Start with Options.TLS.
const CACommonName = "runnerset-apiserver GitHub simulator CA"

// certValidity: a year outlives any run; the CA is made anew at every Start anyway.
const certValidity = 365 * 24 * time.Hour

// defaultCertIPs are the loopback addresses the serving certificate always names: the default
// listen addresses of every role, so that a certificate does not depend on the ports chosen.
var defaultCertIPs = []string{"127.0.0.1", "127.0.0.2", "127.0.0.3", "::1"}

// certDNSNames are the names the serving certificate covers: localhost and the github.com
// form's hosts (ResolveMap), so that a client reaching the simulator by GitHub's names through
// a proxy verifies it as it would verify GitHub.
var certDNSNames = []string{"localhost", HostGitHub, "www." + HostGitHub, HostAPI, HostPipelines, HostBroker, "*" + actionsDomain}

// serverTLS is the simulator's CA certificate and its serving certificate.
type serverTLS struct {
	caPEM []byte
	cert  tls.Certificate
}

// CA is a certificate authority for simulators' serving certificates.
type CA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

// NewCA makes a self-signed CA. Its validity is wall-clock time, not Options.Clock: clients
// verify certificates against their own real clock.
func NewCA() (*CA, error) {
	now := time.Now()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: CACommonName},
		NotBefore:             now.Add(-time.Hour), // tolerate small clock differences
		NotAfter:              now.Add(certValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true, // no intermediates
	}
	der, cert, err := createCert(tmpl, tmpl, key, key)
	if err != nil {
		return nil, fmt.Errorf("simulator: self-signing the CA: %w", err)
	}
	return &CA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}, nil
}

// CertPEM is the CA's certificate, for clients to trust.
func (c *CA) CertPEM() []byte { return c.pem }

// newServerTLS makes a serving certificate signed by ca (a new CA when nil) for the
// certificate names and addresses, plus ips.
func newServerTLS(ips []net.IP, ca *CA) (*serverTLS, error) {
	if ca == nil {
		var err error
		if ca, err = NewCA(); err != nil {
			return nil, err
		}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	leafDER, leaf, err := createCert(&x509.Certificate{
		Subject:     pkix.Name{CommonName: "runnerset-apiserver GitHub simulator"},
		NotBefore:   ca.cert.NotBefore,
		NotAfter:    ca.cert.NotAfter,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:    certDNSNames,
		IPAddresses: certIPs(ips),
	}, ca.cert, key, ca.key)
	if err != nil {
		return nil, fmt.Errorf("simulator: signing the serving certificate: %w", err)
	}
	return &serverTLS{
		caPEM: ca.pem,
		cert:  tls.Certificate{Certificate: [][]byte{leafDER}, PrivateKey: key, Leaf: leaf},
	}, nil
}

// createCert signs tmpl with a random serial number and parses the result.
func createCert(tmpl, parent *x509.Certificate, key, parentKey *ecdsa.PrivateKey) ([]byte, *x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, nil, err
	}
	tmpl.SerialNumber = serial
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), parentKey)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return der, cert, err
}

// certIPs is defaultCertIPs plus ips, without duplicates.
func certIPs(ips []net.IP) []net.IP {
	var out []net.IP
	for _, s := range defaultCertIPs {
		out = append(out, net.ParseIP(s))
	}
	for _, ip := range ips {
		if !slices.ContainsFunc(out, ip.Equal) {
			out = append(out, ip)
		}
	}
	return out
}

// config is the servers' TLS configuration. net/http adds HTTP/2 ("h2") to it, as GitHub
// offers it.
func (t *serverTLS) config() *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{t.cert}, MinVersion: tls.VersionTLS12}
}

// CACertPEM is the PEM certificate of the CA that signed the simulator's serving certificate,
// for clients to trust; nil without Options.TLS.
func (s *Simulator) CACertPEM() []byte {
	if s.tls == nil {
		return nil
	}
	return slices.Clone(s.tls.caPEM)
}

// NewControlClientTLS is NewControlClient for a simulator serving HTTPS (Options.TLS, the
// command's --tls) whose CA certificate is caPEM (CACertPEM, the command's --ca-file).
func NewControlClientTLS(url string, caPEM []byte) (*ControlClient, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, errors.New("simulator: no PEM certificate in the CA given")
	}
	c := NewControlClient(url)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	c.http.Transport = tr
	return c, nil
}
