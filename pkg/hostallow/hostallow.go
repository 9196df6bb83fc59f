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

// Package hostallow decides which hosts the server may dial on behalf of a tenant's RunnerSet:
// the GitHub config URL, its proxies, and the Actions Service and broker hosts GitHub returns.
// Without it a tenant could point a RunnerSet at, say, the kube-apiserver's or etcd's port and
// have the server send requests there (server-side request forgery).
//
// An allowlist is a set of entries: "host", "host:port", "host:*" (any port: for development
// machines where a test GitHub listens on random ports), "*.domain", "*.domain:port" or "*"
// (any host: an explicit opt-out). Hosts are case-insensitive; IPv6 literals are written in
// brackets ("[::1]:8080"). An entry without a port matches only the default port of the URL's
// scheme (443 for https, 80 for http), so allowing "127.0.0.1" does not allow
// "127.0.0.1:6443". "*.example.com" matches subdomains at any depth but not example.com itself,
// and never an IP address. Hosts are matched by name, not by resolved address: list only names
// whose DNS you trust.
//
// Companions: GitHub serves github.com and GHE.com tenants from more hosts than the one in the
// config URL, so an entry that allows the config host also allows the hosts GitHub is known to
// send clients to, on the same port rule:
//
//   - an entry allowing github.com or www.github.com also allows api.github.com and
//     *.actions.githubusercontent.com (the Actions Service and its broker,
//     broker.actions.githubusercontent.com);
//   - an entry allowing a GHE.com tenant T.ghe.com (exactly, or through *.ghe.com) also allows
//     api.T.ghe.com, *.T.ghe.com and *.actions.githubusercontent.com.
//
// Without companions every operator would have to know and keep up with those hosts. Any other
// host GitHub returns (GitHub Enterprise Server's own Actions hosts, for instance) must be listed
// explicitly.
package hostallow

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// ErrNotAllowed is wrapped by every refusal of this package.
var ErrNotAllowed = errors.New("host not allowed")

// defaultPorts mirrors the ports net/http dials when a URL (or proxy URL) gives none, so that
// the port checked is the port dialled.
var defaultPorts = map[string]int{"http": 80, "https": 443, "socks5": 1080, "socks5h": 1080}

// actionsDomain hosts the Actions Service and its broker for github.com and GHE.com.
const actionsDomain = "actions.githubusercontent.com"

// List is a parsed allowlist. A nil *List allows every host: no allowlist is configured.
type List struct {
	given   []string // the entries as given, for messages
	rules   []rule   // the entries and their companions
	anyHost bool     // an entry was "*"
}

// rule is one parsed entry: an exact host or, when wildcard, the domain after "*.".
type rule struct {
	wildcard bool
	host     string // canonical: lower case, or the canonical form of an IP address
	port     int    // 0: the default port of the URL's scheme
	anyPort  bool   // the entry said "host:*"
}

// Parse reads an allowlist. No entries at all is an error rather than a list that allows
// nothing (or everything): "*" is the way to allow any host.
func Parse(entries []string) (*List, error) {
	if len(entries) == 0 {
		return nil, errors.New(`hostallow: no allowed hosts given (use "*" to allow any host)`)
	}
	l := &List{}
	for _, raw := range entries {
		s := strings.TrimSpace(raw)
		if s == "*" {
			l.anyHost = true
			l.given = append(l.given, s)
			continue
		}
		r, err := parseEntry(s)
		if err != nil {
			return nil, fmt.Errorf("hostallow: invalid allowed host %q: %w", raw, err)
		}
		l.given = append(l.given, s)
		l.rules = append(l.rules, r)
		l.rules = append(l.rules, companions(r)...)
	}
	return l, nil
}

// parseEntry reads one entry other than "*".
func parseEntry(s string) (rule, error) {
	if s == "" {
		return rule{}, errors.New("empty entry")
	}
	if strings.Contains(s, "://") || strings.ContainsAny(s, "/?#@") {
		return rule{}, errors.New("give a host or host:port, not a URL")
	}
	host, port, err := splitEntry(s)
	if err != nil {
		return rule{}, err
	}
	var r rule
	if port == "*" {
		r.anyPort = true
	} else if port != "" {
		if r.port = parsePort(port); r.port == 0 {
			return rule{}, fmt.Errorf("invalid port %q", port)
		}
	}
	if host == "*" {
		return rule{}, errors.New(`"*" allows every host and port; it cannot have a port`)
	}
	host, r.wildcard = strings.CutPrefix(host, "*.")
	if strings.Contains(host, "*") {
		return rule{}, errors.New(`a wildcard must be the whole leftmost label, as in "*.example.com"`)
	}
	h, ok := canonicalHost(host)
	if !ok {
		return rule{}, fmt.Errorf("%q is not a valid host name or IP address", host)
	}
	if _, err := netip.ParseAddr(h); err == nil && r.wildcard {
		return rule{}, errors.New("a wildcard needs a domain name, not an IP address")
	}
	r.host = h
	return r, nil
}

// splitEntry separates the host from an optional port. IPv6 literals need brackets: without
// them "2001:db8::1:443" could be an address or an address and a port.
func splitEntry(s string) (host, port string, err error) {
	if rest, ok := strings.CutPrefix(s, "["); ok {
		host, after, found := strings.Cut(rest, "]")
		if !found {
			return "", "", errors.New(`missing "]"`)
		}
		if a, err := netip.ParseAddr(host); err != nil || !a.Is6() {
			return "", "", fmt.Errorf("%q in brackets is not an IPv6 address", host)
		}
		if after == "" {
			return host, "", nil
		}
		if port, ok = strings.CutPrefix(after, ":"); !ok || port == "" {
			return "", "", fmt.Errorf("invalid port after \"]\": %q", after)
		}
		return host, port, nil
	}
	switch strings.Count(s, ":") {
	case 0:
		return s, "", nil
	case 1:
		host, port, _ = strings.Cut(s, ":")
		if port == "" {
			return "", "", errors.New(`invalid port ""`)
		}
		return host, port, nil
	default:
		return "", "", errors.New(`IPv6 addresses need brackets, as in "[::1]:8080"`)
	}
}

// parsePort returns the port number, or 0 when p is not a decimal port in 1..65535.
func parsePort(p string) int {
	if p == "" || strings.Trim(p, "0123456789") != "" {
		return 0
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || n > 65535 {
		return 0
	}
	return n
}

// canonicalHost lower-cases a host name and writes an IP address in its canonical form, so that
// equal hosts compare equal; ok is false for anything that is neither.
func canonicalHost(h string) (string, bool) {
	if a, err := netip.ParseAddr(h); err == nil {
		return a.String(), true
	}
	h = strings.ToLower(h)
	return h, validName(h)
}

// validName accepts DNS names of letters, digits, "-" and "_". The last label must start with a
// letter: all-numeric or hex forms such as "2130706433" or "127.0x1" are IPv4 addresses in
// disguise that some resolvers accept.
func validName(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	labels := strings.Split(h, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 || strings.Trim(l, "abcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
			return false
		}
	}
	last := labels[len(labels)-1]
	return last[0] >= 'a' && last[0] <= 'z'
}

// companions returns the hosts GitHub sends clients of r's host to (see the package comment).
func companions(r rule) []rule {
	with := func(wildcard bool, host string) rule {
		return rule{wildcard: wildcard, host: host, port: r.port, anyPort: r.anyPort}
	}
	switch {
	case r.host == "github.com" || (!r.wildcard && r.host == "www.github.com"):
		// "*.github.com" allows www.github.com, so it gets the companions too.
		return []rule{with(false, "api.github.com"), with(true, actionsDomain)}
	case r.wildcard && r.host == "ghe.com":
		return []rule{with(true, actionsDomain)} // api.T.ghe.com is already under *.ghe.com
	case !r.wildcard && isGHETenant(r.host):
		return []rule{with(false, "api."+r.host), with(true, r.host), with(true, actionsDomain)}
	}
	return nil
}

// isGHETenant reports whether h is a GHE.com tenant host, T.ghe.com with T one label.
func isGHETenant(h string) bool {
	t, ok := strings.CutSuffix(h, ".ghe.com")
	return ok && t != "" && !strings.Contains(t, ".")
}

// matches reports whether r allows host on port, reached with a scheme whose default port is
// defaultPort (0 when the scheme has none).
func (r rule) matches(host string, port, defaultPort int) bool {
	switch {
	case r.anyPort:
	case r.port == 0 && (defaultPort == 0 || port != defaultPort):
		return false
	case r.port != 0 && port != r.port:
		return false
	}
	if !r.wildcard {
		return host == r.host
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return false
	}
	return len(host) > len(r.host)+1 && strings.HasSuffix(host, "."+r.host)
}

// Allows reports whether the list allows dialling u.
func (l *List) Allows(u *url.URL) bool {
	return l.Check(u) == nil
}

// Check returns nil when the list allows dialling u, else a *NotAllowedError.
func (l *List) Check(u *url.URL) error {
	if l.allows(u) {
		return nil
	}
	return l.refusal(u, false)
}

// allows decides on the host and port net/http would dial for u: u.Hostname(), and u.Port() or
// the scheme's default port.
func (l *List) allows(u *url.URL) bool {
	if l == nil || l.anyHost {
		return true
	}
	if u == nil {
		return false
	}
	def := defaultPorts[strings.ToLower(u.Scheme)]
	port := def
	if p := u.Port(); p != "" {
		port = parsePort(p)
	}
	host, ok := canonicalHost(u.Hostname())
	if !ok || port == 0 {
		return false
	}
	for _, r := range l.rules {
		if r.matches(host, port, def) {
			return true
		}
	}
	return false
}

// refusal describes why u was refused. It names the port dialled even when the URL leaves it
// implicit, since an entry's port rule is often the reason.
func (l *List) refusal(u *url.URL, proxy bool) *NotAllowedError {
	host := "<no URL>"
	if u != nil {
		host = u.Host
		port := defaultPorts[strings.ToLower(u.Scheme)]
		if u.Port() == "" && port != 0 && u.Hostname() != "" {
			host = net.JoinHostPort(u.Hostname(), strconv.Itoa(port))
		}
	}
	return &NotAllowedError{Host: host, Proxy: proxy, Allowed: l.String()}
}

// String lists the entries as given, separated by ", ". A nil list shows as "*".
func (l *List) String() string {
	if l == nil {
		return "*"
	}
	return strings.Join(l.given, ", ")
}

// NotAllowedError is a refusal: the host is not in the list. It wraps ErrNotAllowed.
//
// Retrying cannot help (the list does not change between attempts) and only delays the error
// the tenant needs to see: retry layers must not retry it (see Temporary).
type NotAllowedError struct {
	// Host is the refused host and port.
	Host string
	// Proxy is true when the host is a proxy's.
	Proxy bool
	// Allowed is the list's entries as given.
	Allowed string
}

func (e *NotAllowedError) Error() string {
	what := "host"
	if e.Proxy {
		what = "proxy host"
	}
	return fmt.Sprintf("%s %q is not in this server's allowed GitHub hosts (%s)", what, e.Host, e.Allowed)
}

// Unwrap makes errors.Is(err, ErrNotAllowed) true.
func (e *NotAllowedError) Unwrap() error { return ErrNotAllowed }

// Temporary is false: the refusal is permanent, and retry layers must not retry it.
func (e *NotAllowedError) Temporary() bool { return false }

// Transport returns a RoundTripper that refuses, without sending anything, a request whose URL
// the list does not allow, and passes the others to base (http.DefaultTransport when nil).
// Being a transport, it also checks every redirect an http.Client follows. A nil list returns
// base unchanged.
func (l *List) Transport(base http.RoundTripper) http.RoundTripper {
	if l == nil {
		return base
	}
	return &transport{list: l, base: base}
}

type transport struct {
	list *List
	base http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.list.Check(req.URL); err != nil {
		if req.Body != nil {
			_ = req.Body.Close() // a RoundTripper closes the body, errors included
		}
		return nil, err
	}
	return t.baseRT().RoundTrip(req)
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the base transport.
func (t *transport) CloseIdleConnections() {
	if c, ok := t.baseRT().(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

func (t *transport) baseRT() http.RoundTripper {
	if t.base == nil {
		return http.DefaultTransport
	}
	return t.base
}

// Proxy wraps a proxy selector (such as http.Transport.Proxy) so that choosing a proxy outside
// the list fails the request with a *NotAllowedError. The request's own URL is not checked here
// (Transport does that); "no proxy" (a nil URL) passes. A nil fn or a nil list returns fn.
func (l *List) Proxy(fn func(*http.Request) (*url.URL, error)) func(*http.Request) (*url.URL, error) {
	if fn == nil || l == nil {
		return fn
	}
	return func(req *http.Request) (*url.URL, error) {
		u, err := fn(req)
		if err != nil || u == nil || l.allows(u) {
			return u, err
		}
		return nil, l.refusal(u, true)
	}
}
