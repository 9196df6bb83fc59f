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

// Package simproxy is an HTTP proxy that gives clients GitHub's host names without DNS. Names
// such as github.com cannot be made to resolve to the GitHub simulator where tests run (no DNS
// control, no /etc/hosts edits), but a client's proxy resolves the names it is asked for:
// this one maps "api.github.com:443" and the others to the simulator's loopback listeners
// (Options.Resolve, from simulator's ResolveMap) and dials nothing but loopback addresses. A
// client configured exactly as for github.com (config URL https://github.com/org/repo,
// HTTPS_PROXY, the simulator's CA) then reaches the simulator, and nothing else.
//
// CONNECT is tunnelled byte for byte, so TLS stays end to end between the client and the
// simulator (the proxy sees no plaintext); absolute-URI requests (plain http://) are
// forwarded. Requests lists every target asked for, for tests asserting what went through
// the proxy and what did not.
package simproxy

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"slices"
	"strings"
	"sync"
	"time"

	"k8s.io/klog/v2"
)

// dialTimeout bounds connecting to a target: every target is on loopback.
const dialTimeout = 10 * time.Second

// Options configures a Proxy. The zero value is usable.
type Options struct {
	// Listen is the proxy's address; default "127.0.0.1:0". Loopback only: the proxy is no
	// open relay.
	Listen string
	// Username, when set, makes the proxy require "Proxy-Authorization: Basic" with Username
	// and Password; a request without them (or with others) is answered 407.
	Username, Password string
	// Resolve maps a target "host:port" (a CONNECT target, or an absolute URI's host with its
	// scheme's default port) to the loopback "host:port" dialled instead; host names are
	// matched case-insensitively. A target not in it is dialled as it is if it is a loopback
	// address, and refused (403) otherwise: the proxy never reaches the internet.
	Resolve map[string]string
}

// Proxy is a running proxy. Its methods are safe for concurrent use.
type Proxy struct {
	opts    Options
	resolve map[string]string // keys with lower-case hosts
	url     string
	srv     *http.Server
	fwd     *httputil.ReverseProxy
	tr      *http.Transport
	tunnels sync.WaitGroup

	mu       sync.Mutex
	requests []string
	open     map[net.Conn]struct{} // tunnelled connections, closed by Close
	closed   bool
}

// Start checks o and serves until Close.
func Start(o Options) (*Proxy, error) {
	if o.Listen == "" {
		o.Listen = "127.0.0.1:0"
	}
	if err := checkLoopback("listen address", o.Listen); err != nil {
		return nil, err
	}
	p := &Proxy{opts: o, resolve: map[string]string{}, open: map[net.Conn]struct{}{}}
	for target, addr := range o.Resolve {
		if err := checkLoopback("Resolve["+target+"]", addr); err != nil {
			return nil, err
		}
		key, err := normalize(target)
		if err != nil {
			return nil, fmt.Errorf("simproxy: Resolve key %q: %w", target, err)
		}
		p.resolve[key] = addr
	}
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return nil, fmt.Errorf("simproxy: %w", err)
	}
	p.url = "http://" + ln.Addr().String()
	p.tr = &http.Transport{DialContext: p.dial, MaxIdleConnsPerHost: 10, IdleConnTimeout: 30 * time.Second}
	p.fwd = &httputil.ReverseProxy{
		Rewrite:   func(*httputil.ProxyRequest) {}, // the absolute URI and Host are the target
		Transport: p.tr,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			http.Error(w, "simproxy: "+err.Error(), http.StatusBadGateway)
		},
	}
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := p.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			klog.ErrorS(err, "Proxy stopped serving", "url", p.url)
		}
	}()
	klog.V(2).InfoS("Proxy listening", "url", p.url, "resolve", o.Resolve, "auth", o.Username != "")
	return p, nil
}

// URL is the proxy's URL, "http://127.0.0.1:PORT", without credentials.
func (p *Proxy) URL() string { return p.url }

// Requests are the requests the proxy received, in order, authorized or not: "CONNECT
// host:port" for a tunnel, "METHOD http://host/path" (without the query) for a forward.
func (p *Proxy) Requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.requests)
}

// Close stops the proxy and ends its open tunnels. It is idempotent.
func (p *Proxy) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	for c := range p.open {
		_ = c.Close()
	}
	p.mu.Unlock()
	_ = p.srv.Close()
	p.tr.CloseIdleConnections()
	p.tunnels.Wait()
}

// ServeHTTP answers one proxy request.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.record(r)
	if !p.authorized(r) {
		w.Header().Set("Proxy-Authenticate", `Basic realm="simproxy"`)
		http.Error(w, "simproxy: proxy authentication required", http.StatusProxyAuthRequired)
		return
	}
	switch {
	case r.Method == http.MethodConnect:
		p.connect(w, r)
	case r.URL.IsAbs() && r.URL.Host != "":
		p.forward(w, r)
	default:
		http.Error(w, "simproxy: not a proxy request (want CONNECT or an absolute URI)", http.StatusBadRequest)
	}
}

func (p *Proxy) record(r *http.Request) {
	target := r.Host
	if r.Method != http.MethodConnect {
		u := *r.URL
		u.RawQuery, u.User = "", nil
		target = u.String()
	}
	klog.V(3).InfoS("Proxy request", "method", r.Method, "target", target)
	p.mu.Lock()
	p.requests = append(p.requests, r.Method+" "+target)
	p.mu.Unlock()
}

// authorized checks basic proxy authentication, when Options.Username asks for it.
func (p *Proxy) authorized(r *http.Request) bool {
	if p.opts.Username == "" {
		return true
	}
	scheme, cred, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Proxy-Authorization")), " ")
	if !ok || !strings.EqualFold(scheme, "Basic") {
		return false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
	if err != nil {
		return false
	}
	user, pass, _ := strings.Cut(string(raw), ":")
	userOK := subtle.ConstantTimeCompare([]byte(user), []byte(p.opts.Username))
	passOK := subtle.ConstantTimeCompare([]byte(pass), []byte(p.opts.Password))
	return userOK&passOK == 1
}

// forward relays an absolute-URI request, refusing a target the proxy may not dial.
func (p *Proxy) forward(w http.ResponseWriter, r *http.Request) {
	port := r.URL.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[strings.ToLower(r.URL.Scheme)]
	}
	if _, err := p.route(net.JoinHostPort(r.URL.Hostname(), port)); err != nil {
		refuse(w, r, err)
		return
	}
	p.fwd.ServeHTTP(w, r)
}

// dial is the forwarding transport's dialer: it dials the routed address.
func (p *Proxy) dial(ctx context.Context, network, target string) (net.Conn, error) {
	addr, err := p.route(target)
	if err != nil {
		return nil, err
	}
	return (&net.Dialer{Timeout: dialTimeout}).DialContext(ctx, network, addr)
}

// route is the address to dial for target "host:port": Resolve's, or target itself when it is
// a loopback address.
func (p *Proxy) route(target string) (string, error) {
	key, err := normalize(target)
	if err != nil {
		return "", err
	}
	if addr, ok := p.resolve[key]; ok {
		return addr, nil
	}
	host, _, _ := net.SplitHostPort(key)
	if isLoopback(host) {
		return target, nil
	}
	return "", fmt.Errorf("%s is not resolved by the proxy and not a loopback address: no egress", target)
}

func refuse(w http.ResponseWriter, r *http.Request, err error) {
	klog.V(2).InfoS("Proxy refused a target", "method", r.Method, "target", r.Host, "reason", err)
	http.Error(w, "simproxy: "+err.Error(), http.StatusForbidden)
}

// normalize lower-cases the host of "host:port", which must have both.
func normalize(target string) (string, error) {
	host, port, err := net.SplitHostPort(target)
	if err != nil {
		return "", err
	}
	if host == "" || port == "" {
		return "", fmt.Errorf("%q: want host:port", target)
	}
	return net.JoinHostPort(strings.ToLower(host), port), nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func checkLoopback(what, addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("simproxy: %s %q: %w", what, addr, err)
	}
	if !isLoopback(host) {
		return fmt.Errorf("simproxy: %s %q is not a loopback address", what, addr)
	}
	return nil
}
