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
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// freePorts returns n distinct TCP ports on 127.0.0.1 that were free a moment ago. All n
// listeners are held open together so the kernel hands out n different ports. Another process
// can still take a port before our component binds it; startListening retries for that case.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	listeners := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range listeners {
			_ = l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("finding a free port on 127.0.0.1: %w", err)
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// probe GETs url and reports whether it answered 200 with a body containing want. Errors are
// returned so that the caller can report the last one when a deadline passes.
func probe(ctx context.Context, client *http.Client, url, want string) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
		return false, fmt.Errorf("GET %s: %d %s", url, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	return true, nil
}

// probeClient returns an HTTP client for readiness probes on loopback. With a nil pool it does
// not verify the server certificate: kube-controller-manager and kube-scheduler serve
// /healthz with a self-signed certificate they generate in memory, and the probe only asks
// whether the process is up.
func probeClient(roots *x509.CertPool) *http.Client {
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}
	if roots == nil {
		tlsConfig.InsecureSkipVerify = true
	} else {
		tlsConfig.RootCAs = roots
	}
	return &http.Client{
		Timeout: 5 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig:   tlsConfig,
			DisableKeepAlives: true, // probes are rare; idle connections would only delay shutdowns
		},
	}
}
