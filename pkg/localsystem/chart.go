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
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
)

// Helpers for running a server that something else installed (a Helm chart, say) rather than
// Options.Server: a process on this machine, under a ServiceAccount the chart created, behind
// the chart's APIService and an ExternalName Service pointing at localhost.

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago, for a process whose port
// must be known before it starts (to put it in a Service). Another process may still take it
// first; StartProcess then fails with the process's log saying so.
func FreePort() (int, error) {
	ports, err := freePorts(1)
	if err != nil {
		return 0, err
	}
	return ports[0], nil
}

// ServiceAccountKubeconfig requests a token for the ServiceAccount namespace/name through the
// TokenRequest API (as UserAdmin) and writes a kubeconfig carrying it to Dir/<name>, returning
// its path. There is no kubelet to refresh the token: ttl must outlast its use.
func (s *System) ServiceAccountKubeconfig(ctx context.Context, namespace, name string, ttl time.Duration) (string, error) {
	tr, err := s.admin.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To(int64(ttl.Seconds()))},
	}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("requesting a token for ServiceAccount %s/%s: %w", namespace, name, err)
	}
	path := filepath.Join(s.dir, "serviceaccount-"+namespace+"-"+name+".kubeconfig")
	if err := writeKubeconfig(path, s.apiServerURL, s.pki.CAFile, "system:serviceaccount:"+namespace+":"+name, tr.Status.Token); err != nil {
		return "", err
	}
	return path, nil
}

// ProcessOptions configures StartProcess.
type ProcessOptions struct {
	// Name is the component's name; it logs to LogFile(Name). It must not be one of the
	// system's own components.
	Name string
	// Binary and Args are the command line, complete.
	Binary string
	Args   []string
	// Env is added to the process's environment.
	Env []string
	// ReadyURL, if set, is polled until it answers 200 "ok" (e.g. https://127.0.0.1:<port>/readyz).
	ReadyURL string
	// ReadyCA (PEM) verifies ReadyURL's certificate, for the name ReadyServerName (e.g. the
	// <service>.<namespace>.svc the aggregator checks). Without ReadyCA the certificate is not
	// verified.
	ReadyCA         []byte
	ReadyServerName string
	// ReadyTimeout bounds the wait; default 90s.
	ReadyTimeout time.Duration
}

// Process is a process started by StartProcess.
type Process struct {
	s *System
	p *process
}

// StartProcess starts a process under the system's supervision: it runs in its own process
// group, dies with the caller, is stopped by Stop (or earlier by its own Stop), and an exit
// nobody asked for is reported on Failed. It returns once ReadyURL answers.
func (s *System) StartProcess(ctx context.Context, o ProcessOptions) (*Process, error) {
	if o.Name == "" || o.Binary == "" {
		return nil, errors.New("localsystem: ProcessOptions.Name and Binary are required")
	}
	s.setEnv(o.Name, o.Env)
	p, err := s.start(o.Name, o.Binary, o.Args)
	if err != nil {
		return nil, err
	}
	proc := &Process{s: s, p: p}
	if o.ReadyURL != "" {
		tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: o.ReadyServerName}
		if o.ReadyCA != nil {
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(o.ReadyCA) {
				proc.Stop()
				return nil, errors.New("localsystem: ProcessOptions.ReadyCA holds no PEM certificate")
			}
			tlsConfig.RootCAs = pool
		} else {
			tlsConfig.InsecureSkipVerify = true
		}
		client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsConfig, DisableKeepAlives: true}}
		timeout := o.ReadyTimeout
		if timeout == 0 {
			timeout = serverReadyTimeout
		}
		begin := time.Now()
		if err := waitReady(ctx, p, timeout, func(ctx context.Context) (bool, error) { return probe(ctx, client, o.ReadyURL, "ok") }); err != nil {
			proc.Stop()
			return nil, fmt.Errorf("starting %s: %w", o.Name, err)
		}
		klog.InfoS("Component ready", "component", o.Name, "url", o.ReadyURL, "duration", time.Since(begin).Round(time.Millisecond))
	}
	if s.started.Load() {
		s.onExitCheck(p)
	}
	return proc, nil
}

// Stop stops the process (SIGTERM, then SIGKILL after 10s) and waits for it. It is idempotent.
func (p *Process) Stop() {
	p.p.stop(stopGrace)
	p.s.forget(p.p)
}

// Exited reports whether the process has ended.
func (p *Process) Exited() bool { return p.p.exited() }
