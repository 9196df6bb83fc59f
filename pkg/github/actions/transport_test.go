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

package actions

import (
	"context"
	"crypto/x509"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"actions.dev/runnerset-apiserver/pkg/github/auth"
)

// TestGoldenBodiesMatchReference pins the golden files to the bodies the protocol reference
// quotes, so that -update cannot silently drift from the wire format.
func TestGoldenBodiesMatchReference(t *testing.T) {
	for name, want := range map[string]string{
		"create-scale-set.json":    `{"name":"arc","runnerGroupId":1,"labels":[{"type":"System","name":"arc"}],"RunnerSetting":{"disableUpdate":true},"createdOn":"0001-01-01T00:00:00Z"}`,
		"update-scale-set.json":    `{"runnerGroupId":2,"RunnerSetting":{},"createdOn":"0001-01-01T00:00:00Z"}`,
		"create-session.json":      `{"sessionId":"00000000-0000-0000-0000-000000000000","ownerName":"pod-1"}`,
		"acquire-jobs.json":        `[123,124]`,
		"generate-jit-config.json": `{"name":"arc-runner-abcde","workFolder":""}`,
	} {
		got, err := os.ReadFile(filepath.Join("testdata", "golden", name))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Errorf("%s = %s, reference says %s", name, got, want)
		}
	}
}

// TestProxy: requests go through Config.Proxy.
func TestProxy(t *testing.T) {
	var proxied atomic.Int32
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A forward proxy receives the absolute URL.
		if r.URL.Host == "tenant.invalid" {
			proxied.Add(1)
			writeJSON(w, 200, `{"id":5,"name":"arc"}`)
			return
		}
		http.Error(w, "unexpected "+r.URL.String(), 500)
	}))
	defer proxy.Close()
	pu, _ := url.Parse(proxy.URL)
	tenant, _ := url.Parse("http://tenant.invalid/t/")
	c, err := NewClient(Config{
		Tokens: auth.StaticTokenSource(auth.AdminToken{TenantURL: tenant, Token: "x", Expiry: time.Now().Add(time.Hour)}),
		Proxy:  http.ProxyURL(pu),
		Retry:  &RetryConfig{},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetScaleSetByID(ctxT(t), 5); err != nil {
		t.Fatal(err)
	}
	if proxied.Load() != 1 {
		t.Errorf("%d proxied requests", proxied.Load())
	}
}

// TestRootCAs: a private CA is trusted only through Config.RootCAs, and a certificate error is
// not retried.
func TestRootCAs(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		writeJSON(w, 200, `{"id":5,"name":"arc"}`)
	}))
	defer srv.Close()
	tenant, _ := url.Parse(srv.URL + "/t/")
	tokens := auth.StaticTokenSource(auth.AdminToken{TenantURL: tenant, Token: "x", Expiry: time.Now().Add(time.Hour)})

	c, err := NewClient(Config{Tokens: tokens, Retry: fastRetry})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.GetScaleSetByID(ctxT(t), 5)
	var uerr x509.UnknownAuthorityError
	if err == nil || !errors.As(err, &uerr) {
		t.Fatalf("unknown CA: %v", err)
	}

	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	c, err = NewClient(Config{Tokens: tokens, RootCAs: pool, Retry: fastRetry})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetScaleSetByID(ctxT(t), 5); err != nil {
		t.Fatal(err)
	}
}

// TestContextCancellation: a cancelled context ends a long poll at once.
func TestContextCancellation(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	ts := newTestServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	c := newTestClient(t, ts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := c.GetMessage(ctx, ts.URL+"/q", "mq", 0, 1)
		done <- err
	}()
	eventually(t, "the poll to arrive", func() bool { return len(ts.reqs()) == 1 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if n := len(ts.reqs()); n != 1 {
		t.Errorf("cancelled poll retried: %d requests", n)
	}
}
