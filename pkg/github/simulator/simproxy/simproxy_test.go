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

package simproxy

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

func start(t *testing.T, o Options) *Proxy {
	t.Helper()
	p, err := Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// client goes through p with user info userinfo ("" for none), trusting roots if not nil.
func client(t *testing.T, p *Proxy, userinfo *url.Userinfo, roots *x509.CertPool) *http.Client {
	t.Helper()
	u, err := url.Parse(p.URL())
	if err != nil {
		t.Fatal(err)
	}
	u.User = userinfo
	tr := &http.Transport{Proxy: http.ProxyURL(u), TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 20 * time.Second}
}

// rawConnect sends "CONNECT target" on a connection of its own and returns the status and
// the connection (to tunnel through when 200).
func rawConnect(t *testing.T, p *Proxy, target string) (int, net.Conn) {
	t.Helper()
	c, err := net.DialTimeout("tcp", strings.TrimPrefix(p.URL(), "http://"), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(c, "CONNECT "+target+" HTTP/1.1\r\nHost: "+target+"\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: http.MethodConnect})
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Time{})
	return resp.StatusCode, c
}

func hostOf(rawURL string) string { u, _ := url.Parse(rawURL); return u.Host }

// TestTunnelsAndForwardsByName: a name in Resolve reaches its loopback server, TLS end to end
// through CONNECT and plain HTTP forwarded, and Requests records both.
func TestTunnelsAndForwardsByName(t *testing.T) {
	secure := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "secure "+r.Host)
	}))
	t.Cleanup(secure.Close)
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "plain "+r.Host+" "+r.URL.RequestURI()+" auth="+r.Header.Get("Proxy-Authorization"))
	}))
	t.Cleanup(plain.Close)
	p := start(t, Options{Username: "u", Password: "p", Resolve: map[string]string{
		"Example.com:443": hostOf(secure.URL), "plain.test:80": hostOf(plain.URL)}})
	roots := x509.NewCertPool()
	roots.AddCert(secure.Certificate()) // httptest's certificate names example.com
	hc := client(t, p, url.UserPassword("u", "p"), roots)
	for _, tc := range []struct{ url, want string }{
		{"https://example.com/", "secure example.com"},
		{"http://plain.test/x?q=1", "plain plain.test /x?q=1 auth="},
		{plain.URL + "/direct", "plain " + hostOf(plain.URL) + " /direct auth="}, // loopback, not in Resolve
	} {
		resp, err := hc.Get(tc.url)
		if err != nil {
			t.Fatalf("GET %s: %v", tc.url, err)
		}
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK || string(b) != tc.want {
			t.Errorf("GET %s: %d %q, want 200 %q", tc.url, resp.StatusCode, b, tc.want)
		}
	}
	want := []string{"CONNECT example.com:443", "GET http://plain.test/x", "GET " + plain.URL + "/direct"}
	if got := p.Requests(); !slices.Equal(got, want) {
		t.Errorf("Requests() = %q, want %q", got, want)
	}
}

// TestProxyAuthentication: with a username set, anything but the right basic credentials is
// 407, for forwards and tunnels alike.
func TestProxyAuthentication(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(srv.Close)
	p := start(t, Options{Username: "alice", Password: "s3cret"})
	for _, tc := range []struct {
		name string
		user *url.Userinfo
		want int
	}{
		{"none", nil, http.StatusProxyAuthRequired},
		{"wrong password", url.UserPassword("alice", "nope"), http.StatusProxyAuthRequired},
		{"wrong user", url.UserPassword("bob", "s3cret"), http.StatusProxyAuthRequired},
		{"right", url.UserPassword("alice", "s3cret"), http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := client(t, p, tc.user, nil).Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("forward: status %d, want %d", resp.StatusCode, tc.want)
			}
			if tc.want == http.StatusProxyAuthRequired && !strings.HasPrefix(resp.Header.Get("Proxy-Authenticate"), "Basic") {
				t.Errorf("407 without a Basic challenge: %q", resp.Header.Get("Proxy-Authenticate"))
			}
		})
	}
	if status, _ := rawConnect(t, p, hostOf(srv.URL)); status != http.StatusProxyAuthRequired {
		t.Errorf("CONNECT without credentials: %d, want 407", status)
	}
}

// TestRefusesEgress: a target neither in Resolve nor on loopback is refused at once, never
// dialled; a proxy that would listen or resolve off loopback does not start.
func TestRefusesEgress(t *testing.T) {
	p := start(t, Options{})
	hc := client(t, p, nil, nil)
	for _, target := range []string{"example.com:443", "203.0.113.7:443", "10.0.0.1:22", "api.github.com:443"} {
		if status, _ := rawConnect(t, p, target); status != http.StatusForbidden {
			t.Errorf("CONNECT %s: %d, want 403", target, status)
		}
	}
	for _, u := range []string{"http://203.0.113.7/", "http://example.com/x"} {
		resp, err := hc.Get(u)
		if err != nil {
			t.Fatalf("GET %s: %v", u, err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("GET %s: %d, want 403", u, resp.StatusCode)
		}
	}
	for name, o := range map[string]Options{
		"listen":  {Listen: "0.0.0.0:0"},
		"resolve": {Resolve: map[string]string{"github.com:443": "140.82.112.3:443"}},
		"key":     {Resolve: map[string]string{"github.com": "127.0.0.1:443"}},
	} {
		if p, err := Start(o); err == nil {
			p.Close()
			t.Errorf("%s: Start(%+v) succeeded", name, o)
		}
	}
}

// TestCloseEndsTunnels: Close ends an open tunnel; its client sees the end at once.
func TestCloseEndsTunnels(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(c, c); _ = c.Close() }() // echo
		}
	}()
	p := start(t, Options{})
	status, c := rawConnect(t, p, ln.Addr().String())
	if status != http.StatusOK {
		t.Fatalf("CONNECT: %d", status)
	}
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	buf := make([]byte, 4)
	if _, err := io.WriteString(c, "ping"); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("echo through the tunnel: %q, %v", buf, err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	closed := make(chan struct{})
	go func() { p.Close(); close(closed) }()
	select {
	case <-closed:
	case <-ctx.Done():
		t.Fatal("Close hangs on an open tunnel")
	}
	if n, err := c.Read(buf); err == nil {
		t.Errorf("read %d bytes after Close, want the end of the tunnel", n)
	}
}
