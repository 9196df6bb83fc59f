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

package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"actions.dev/runnerset-apiserver/pkg/github/simulator"
)

// TestServingFlags: TLS and separate hosts are on by default; the CA goes next to the URL
// file unless --ca-file says otherwise, and nowhere without either or without TLS.
func TestServingFlags(t *testing.T) {
	dir := t.TempDir()
	urlFile := filepath.Join(dir, "sim.url")
	for _, tc := range []struct {
		args           []string
		tls, separate  bool
		service, ca    string
		validateFailed bool
	}{
		{nil, true, true, simulator.DefaultServiceListen, "", false},
		{[]string{"--url-file", urlFile}, true, true, simulator.DefaultServiceListen, filepath.Join(dir, caFileName), false},
		{[]string{"--url-file", urlFile, "--ca-file", "/x/ca.pem"}, true, true, simulator.DefaultServiceListen, "/x/ca.pem", false},
		{[]string{"--url-file", urlFile, "--tls=false"}, false, true, simulator.DefaultServiceListen, "", false},
		{[]string{"--separate-hosts=false", "--service-listen", "10.0.0.1:0"}, true, false, "10.0.0.1:0", "", false},
		{[]string{"--service-listen", "10.0.0.1:0"}, true, true, "10.0.0.1:0", "", true},
		{[]string{"--broker-listen", ":8443"}, true, true, simulator.DefaultServiceListen, "", true},
		{[]string{"--tls=false", "--ca-file", "/x/ca.pem"}, false, true, simulator.DefaultServiceListen, "", true},
	} {
		o := parse(t, tc.args...)
		so, err := o.simulatorOptions()
		if err != nil || so.TLS != tc.tls || so.SeparateHosts != tc.separate || so.ServiceListen != tc.service ||
			so.BrokerListen == "" || o.caPath() != tc.ca {
			t.Errorf("%v: options %+v (%v), CA file %q; want TLS %t, separate %t, service %s, CA file %q",
				tc.args, so, err, o.caPath(), tc.tls, tc.separate, tc.service, tc.ca)
		}
		if err := o.validate(); (err != nil) != tc.validateFailed {
			t.Errorf("%v: validate: %v", tc.args, err)
		}
	}
	var out bytes.Buffer
	if err := newFlagSet(&options{}, &out).Parse([]string{"--help"}); !errors.Is(err, flag.ErrHelp) {
		t.Fatal(err)
	}
	for _, f := range []string{"-tls", "-separate-hosts", "-service-listen", "-broker-listen", "-ca-file", "--cacert"} {
		if !strings.Contains(out.String(), f) {
			t.Errorf("--help lacks %q", f)
		}
	}
}

// TestServesTLSOnSeparateHosts runs the command with its defaults: the CA is on disk when the
// URL file appears, the banner names it and the three hosts, and only a client trusting it
// gets through.
func TestServesTLSOnSeparateHosts(t *testing.T) {
	urlFile := filepath.Join(t.TempDir(), "sim.url")
	ctx, cancel := context.WithCancel(t.Context())
	var out syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, parse(t, "--listen", "127.0.0.1:0", "--url-file", urlFile), &out) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	var url string
	var ca []byte
	if err := wait.PollUntilContextTimeout(t.Context(), 10*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		b, err := os.ReadFile(urlFile)
		if err != nil {
			return false, nil
		}
		url = strings.TrimSpace(string(b))
		ca, err = os.ReadFile(filepath.Join(filepath.Dir(urlFile), caFileName))
		return true, err // the CA must be there as soon as the URL is
	}); err != nil {
		t.Fatalf("URL file and CA: %v", err)
	}
	if !strings.HasPrefix(url, "https://127.0.0.1:") {
		t.Errorf("URL %s, want https on 127.0.0.1", url)
	}
	if !x509.NewCertPool().AppendCertsFromPEM(ca) {
		t.Fatalf("the CA file holds no certificate: %q", ca)
	}
	cc, err := simulator.NewControlClientTLS(url, ca)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cc.Counters(); err != nil {
		t.Errorf("control API with the CA: %v", err)
	}
	if _, err := simulator.NewControlClient(url).Counters(); err == nil {
		t.Error("a client not trusting the CA got through")
	}
	if err := wait.PollUntilContextTimeout(t.Context(), 10*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		return strings.Contains(out.String(), "--cacert "+filepath.Join(filepath.Dir(urlFile), caFileName)), nil
	}); err != nil {
		t.Fatalf("banner without the CA: %s", out.String())
	}
	for _, want := range []string{"127.0.0.2:", "127.0.0.3:"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("banner lacks host %s: %s", want, out.String())
		}
	}
}
