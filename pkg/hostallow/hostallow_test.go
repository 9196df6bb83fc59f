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

package hostallow

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func mustParse(t *testing.T, entries ...string) *List {
	t.Helper()
	l, err := Parse(entries)
	require.NoError(t, err)
	return l
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	require.NoError(t, err)
	return u
}

func TestAllows(t *testing.T) {
	tests := []struct {
		name    string
		entries []string
		allow   []string
		deny    []string
	}{
		{
			name:    "default port per scheme",
			entries: []string{"ghes.example.com", "127.0.0.1"},
			allow: []string{
				"https://ghes.example.com/org", "https://ghes.example.com:443/org",
				"http://ghes.example.com/", "http://ghes.example.com:80/",
				"https://127.0.0.1/", "http://127.0.0.1/",
			},
			deny: []string{
				"https://127.0.0.1:6443/api", "https://127.0.0.1:2379/", "http://127.0.0.1:443/",
				"https://ghes.example.com:80/", "http://ghes.example.com:443/", "https://ghes.example.com:8443/",
				"ftp://ghes.example.com/", "//ghes.example.com/", "https://127.0.0.2/",
			},
		},
		{
			name:    "any port on one host",
			entries: []string{"127.0.0.2:*", "*.sim.test:*"},
			allow:   []string{"http://127.0.0.2:41234/", "https://127.0.0.2/", "https://a.sim.test:9/"},
			deny:    []string{"http://127.0.0.1:41234/", "https://127.0.0.3/", "https://sim.test:9/"},
		},
		{
			name:    "explicit port",
			entries: []string{"ghes.example.com:8443", "10.0.0.1:443"},
			allow:   []string{"https://ghes.example.com:8443/", "http://ghes.example.com:8443/", "https://10.0.0.1/", "http://10.0.0.1:443/", "https://ghes.example.com:08443/"},
			deny:    []string{"https://ghes.example.com/", "https://ghes.example.com:443/", "https://10.0.0.1:6443/", "ftp://ghes.example.com/"},
		},
		{
			name:    "wildcard at any depth, not the apex",
			entries: []string{"*.example.com"},
			allow:   []string{"https://a.example.com/", "https://a.b.example.com/", "https://x-y_z.c.d.example.com/"},
			deny: []string{
				"https://example.com/", "https://badexample.com/", "https://a.example.com.evil.io/",
				"https://a.example.com:6443/", "https://example.org/",
			},
		},
		{
			name:    "wildcard with port",
			entries: []string{"*.example.com:8443"},
			allow:   []string{"https://a.example.com:8443/", "http://a.b.example.com:8443/"},
			deny:    []string{"https://a.example.com/", "https://example.com:8443/"},
		},
		{
			name:    "case-insensitive",
			entries: []string{"GHES.Example.COM", "*.Corp.Example"},
			allow:   []string{"https://ghes.example.com/", "HTTPS://GHES.EXAMPLE.COM/", "https://A.corp.EXAMPLE/"},
			deny:    []string{"https://ghes.example.com.evil.io/"},
		},
		{
			name:    "IPv6",
			entries: []string{"[::1]:8080", "[2001:DB8::1]"},
			allow:   []string{"http://[::1]:8080/", "https://[::1]:8080/", "http://[0:0:0:0:0:0:0:1]:8080/", "https://[2001:db8::1]/", "https://[2001:db8:0::1]:443/"},
			deny:    []string{"http://[::1]/", "https://[::1]:6443/", "https://[2001:db8::1]:6443/", "http://[::2]:8080/", "https://[::ffff:127.0.0.1]:8080/"},
		},
		{
			name:    "github.com companions",
			entries: []string{"github.com"},
			allow: []string{
				"https://github.com/org/repo", "https://api.github.com/app/installations",
				"https://pipelines.actions.githubusercontent.com/abc/_apis/runtime", "https://broker.actions.githubusercontent.com/message",
				"https://a.b.actions.githubusercontent.com/", "https://GitHub.com/org",
			},
			deny: []string{
				"https://evil-github.com/", "https://github.com.evil.io/", "https://api.github.com:8443/",
				"https://www.github.com/", "https://uploads.github.com/", "https://actions.githubusercontent.com/",
				"https://github.com:6443/", "https://broker.actions.githubusercontent.com:6443/", "https://evilactions.githubusercontent.com/",
				"https://github.com./org",
			},
		},
		{
			name:    "www.github.com companions",
			entries: []string{"www.github.com"},
			allow:   []string{"https://www.github.com/org", "https://api.github.com/", "https://broker.actions.githubusercontent.com/"},
			deny:    []string{"https://github.com/", "https://api.github.com:8443/"},
		},
		{
			name:    "github.com with port keeps the port rule for companions",
			entries: []string{"github.com:8443"},
			allow:   []string{"https://github.com:8443/", "https://api.github.com:8443/", "https://broker.actions.githubusercontent.com:8443/"},
			deny:    []string{"https://github.com/", "https://api.github.com/", "https://broker.actions.githubusercontent.com/"},
		},
		{
			name:    "*.github.com allows www.github.com, so it has companions",
			entries: []string{"*.github.com"},
			allow:   []string{"https://www.github.com/", "https://api.github.com/", "https://broker.actions.githubusercontent.com/"},
			deny:    []string{"https://github.com/"},
		},
		{
			name:    "GHE.com tenant companions",
			entries: []string{"octo.ghe.com"},
			allow: []string{
				"https://octo.ghe.com/org", "https://api.octo.ghe.com/app", "https://x.octo.ghe.com/",
				"https://a.b.octo.ghe.com/", "https://broker.actions.githubusercontent.com/", "https://pipelines.actions.githubusercontent.com/",
			},
			deny: []string{
				"https://other.ghe.com/", "https://api.other.ghe.com/", "https://ghe.com/", "https://api.octo.ghe.com:8443/",
				"https://api.github.com/", "https://octo.ghe.com.evil.io/", "https://evil-octo.ghe.com/",
			},
		},
		{
			name:    "*.ghe.com companions",
			entries: []string{"*.ghe.com"},
			allow:   []string{"https://octo.ghe.com/", "https://api.octo.ghe.com/", "https://broker.actions.githubusercontent.com/"},
			deny:    []string{"https://ghe.com/", "https://github.com/", "https://api.github.com/", "https://broker.actions.githubusercontent.com:6443/"},
		},
		{
			name:    "no companions for other hosts",
			entries: []string{"api.octo.ghe.com", "github.example.com", "*.octo.ghe.com"},
			allow:   []string{"https://api.octo.ghe.com/", "https://x.octo.ghe.com/"},
			deny:    []string{"https://octo.ghe.com/", "https://broker.actions.githubusercontent.com/", "https://api.github.example.com/"},
		},
		{
			name:    "star allows anything",
			entries: []string{"github.com", "*"},
			allow:   []string{"https://127.0.0.1:6443/", "http://etcd:2379/", "ftp://x/", "https://[::1]:1/"},
		},
		{
			name:    "IP forms are not names",
			entries: []string{"*.example.com", "*.ghe.com"},
			deny: []string{
				"https://2130706433/", "https://127.1/", "https://0x7f.0.0.1/", "https://1.example.com.0x1/",
				"http://localhost/", "https://127.0.0.1/", "https://[::1]/",
			},
		},
		{
			name:    "nonsense URLs",
			entries: []string{"github.com"},
			deny:    []string{"https:///path", "github.com", "https://github.com:0/", "https://github.com:99999/", "/relative"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := mustParse(t, tt.entries...)
			for _, s := range tt.allow {
				u := mustURL(t, s)
				assert.Truef(t, l.Allows(u), "%s should be allowed by %v", s, tt.entries)
				assert.NoErrorf(t, l.Check(u), "%s", s)
			}
			for _, s := range tt.deny {
				u := mustURL(t, s)
				assert.Falsef(t, l.Allows(u), "%s should be refused by %v", s, tt.entries)
				err := l.Check(u)
				assert.ErrorIsf(t, err, ErrNotAllowed, "%s", s)
			}
		})
	}
}

func TestCheckError(t *testing.T) {
	l := mustParse(t, "github.com", "*.ghe.com")
	tests := []struct {
		url, want string
	}{
		{"https://127.0.0.1:6443/api/v1/secrets", `host "127.0.0.1:6443" is not in this server's allowed GitHub hosts (github.com, *.ghe.com)`},
		{"http://github.com:443/org", `host "github.com:443" is not in this server's allowed GitHub hosts (github.com, *.ghe.com)`},
		{"https://[::1]/", `host "[::1]:443" is not in this server's allowed GitHub hosts (github.com, *.ghe.com)`},
		{"ftp://files.example.com/", `host "files.example.com" is not in this server's allowed GitHub hosts (github.com, *.ghe.com)`},
	}
	for _, tt := range tests {
		err := l.Check(mustURL(t, tt.url))
		require.Error(t, err, tt.url)
		assert.Equal(t, tt.want, err.Error())
		assert.ErrorIs(t, err, ErrNotAllowed)
		var nae *NotAllowedError
		require.ErrorAs(t, err, &nae)
		assert.False(t, nae.Temporary())
		assert.False(t, nae.Proxy)
	}
	assert.ErrorIs(t, l.Check(nil), ErrNotAllowed)
	assert.False(t, l.Allows(nil))
}

func TestNilList(t *testing.T) {
	var l *List
	for _, s := range []string{"https://127.0.0.1:6443/", "http://etcd:2379/", "https://github.com/"} {
		assert.True(t, l.Allows(mustURL(t, s)), s)
		assert.NoError(t, l.Check(mustURL(t, s)), s)
	}
	assert.True(t, l.Allows(nil))
	assert.Equal(t, "*", l.String())

	base := roundTripFunc(func(*http.Request) (*http.Response, error) { return nil, nil })
	assert.NotNil(t, l.Transport(base))
	assert.Nil(t, l.Transport(nil), "a nil list leaves the transport alone")
	assert.Nil(t, l.Proxy(nil))
	proxy := l.Proxy(http.ProxyURL(mustURL(t, "http://127.0.0.1:6443")))
	got, err := proxy(&http.Request{URL: mustURL(t, "https://github.com/")})
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:6443", got.Host)
}

func TestString(t *testing.T) {
	l := mustParse(t, " GitHub.com ", "*.ghe.com:8443", "[::1]")
	assert.Equal(t, "GitHub.com, *.ghe.com:8443, [::1]", l.String(), "entries as given (trimmed), no companions")
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		entry, want string
	}{
		{"", "empty"},
		{"   ", "empty"},
		{"https://github.com", "not a URL"},
		{"github.com/org", "not a URL"},
		{"user@github.com", "not a URL"},
		{"github.com?x=1", "not a URL"},
		{"github.com:", "invalid port"},
		{"github.com:0", "invalid port"},
		{"github.com:65536", "invalid port"},
		{"github.com:+443", "invalid port"},
		{"github.com:https", "invalid port"},
		{"*:443", "cannot have a port"},
		{"a.*.example.com", "wildcard"},
		{"*example.com", "wildcard"},
		{"*.*.example.com", "wildcard"},
		{"example.*", "wildcard"},
		{"*.", "not a valid host"},
		{"*.10.0.0.1", "not an IP address"},
		{"github.com.", "not a valid host"},
		{"git hub.com", "not a valid host"},
		{"a..b", "not a valid host"},
		{"2130706433", "not a valid host"},
		{"::1", "brackets"},
		{"2001:db8::1:443", "brackets"},
		{"[::1", `missing "]"`},
		{"[github.com]", "not an IPv6 address"},
		{"[127.0.0.1]:443", "not an IPv6 address"},
		{"[::1]8080", "invalid port"},
		{"[::1]:", "invalid port"},
		{"[::1]:x", "invalid port"},
		{strings.Repeat("a", 64) + ".com", "not a valid host"},
	}
	for _, tt := range tests {
		t.Run(tt.entry, func(t *testing.T) {
			_, err := Parse([]string{"github.com", tt.entry})
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.Contains(t, err.Error(), `"`+tt.entry+`"`, "the error names the entry")
		})
	}
	_, err := Parse(nil)
	assert.ErrorContains(t, err, `use "*"`)
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

type trackedBody struct {
	io.Reader
	closed bool
}

func (b *trackedBody) Close() error { b.closed = true; return nil }

func TestTransport(t *testing.T) {
	l := mustParse(t, "github.com")
	sent := 0
	base := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		sent++
		return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody, Request: r}, nil
	})
	client := &http.Client{Transport: l.Transport(base)}

	resp, err := client.Get("https://api.github.com/meta")
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, 1, sent)

	// Refused requests never reach the base transport; their body is closed all the same.
	refusing := l.Transport(roundTripFunc(func(r *http.Request) (*http.Response, error) {
		t.Errorf("base transport called for %s", r.URL)
		return nil, errors.New("must not be called")
	}))
	body := &trackedBody{Reader: strings.NewReader(`{"kind":"Secret"}`)}
	req, err := http.NewRequest(http.MethodPost, "https://127.0.0.1:6443/api/v1/namespaces", body)
	require.NoError(t, err)
	resp, err = refusing.RoundTrip(req)
	assert.Nil(t, resp)
	assert.ErrorIs(t, err, ErrNotAllowed)
	assert.EqualError(t, err, `host "127.0.0.1:6443" is not in this server's allowed GitHub hosts (github.com)`)
	assert.True(t, body.closed)

	// Through an http.Client the error arrives inside a *url.Error, still recognisable.
	_, err = (&http.Client{Transport: refusing}).Post("http://10.96.0.1:2379/v3/kv/put", "application/json", strings.NewReader("{}"))
	assert.ErrorIs(t, err, ErrNotAllowed)
	var nae *NotAllowedError
	require.ErrorAs(t, err, &nae)
	assert.False(t, nae.Temporary())
}

func TestTransportChecksRedirects(t *testing.T) {
	l := mustParse(t, "github.com")
	var sent []string
	base := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		sent = append(sent, r.URL.String())
		h := http.Header{"Location": []string{"https://127.0.0.1:6443/api"}}
		return &http.Response{StatusCode: http.StatusFound, Header: h, Body: http.NoBody, Request: r}, nil
	})
	_, err := (&http.Client{Transport: l.Transport(base)}).Get("https://github.com/org")
	assert.ErrorIs(t, err, ErrNotAllowed)
	assert.Equal(t, []string{"https://github.com/org"}, sent, "the redirect target was not requested")
}

func TestProxy(t *testing.T) {
	l := mustParse(t, "github.com", "proxy.corp.example:3128")
	req := &http.Request{URL: mustURL(t, "https://github.com/org")}
	tests := []struct {
		name  string
		proxy string // "" for no proxy
		ok    bool
	}{
		{"allowed proxy", "http://proxy.corp.example:3128", true},
		{"allowed proxy with credentials", "http://user:pass@proxy.corp.example:3128", true},
		{"no proxy", "", true},
		{"proxy on the default port", "http://proxy.corp.example", false},
		{"kube-apiserver as proxy", "http://127.0.0.1:6443", false},
		{"socks5 default port", "socks5://proxy.corp.example", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fn := func(*http.Request) (*url.URL, error) { return nil, nil }
			if tt.proxy != "" {
				fn = http.ProxyURL(mustURL(t, tt.proxy))
			}
			got, err := l.Proxy(fn)(req)
			if tt.ok {
				require.NoError(t, err)
				if tt.proxy != "" {
					assert.Equal(t, tt.proxy, got.String())
				}
				return
			}
			assert.Nil(t, got)
			assert.ErrorIs(t, err, ErrNotAllowed)
			var nae *NotAllowedError
			require.ErrorAs(t, err, &nae)
			assert.True(t, nae.Proxy)
			assert.NotContains(t, err.Error(), "pass", "no credentials in the message")
			assert.Contains(t, err.Error(), "proxy host")
		})
	}

	selErr := errors.New("bad proxy config")
	_, err := l.Proxy(func(*http.Request) (*url.URL, error) { return nil, selErr })(req)
	assert.ErrorIs(t, err, selErr, "the selector's own errors pass through")
	assert.Nil(t, l.Proxy(nil))
}

func TestProxyRefusalStopsHTTPTransport(t *testing.T) {
	l := mustParse(t, "github.com")
	tr := &http.Transport{
		Proxy: l.Proxy(http.ProxyURL(mustURL(t, "http://127.0.0.1:6443"))),
		DialContext: func(_ context.Context, _, addr string) (net.Conn, error) {
			t.Errorf("dialled %s", addr)
			return nil, errors.New("must not dial")
		},
	}
	defer tr.CloseIdleConnections()
	_, err := (&http.Client{Transport: tr}).Get("https://github.com/org")
	assert.ErrorIs(t, err, ErrNotAllowed)
	assert.ErrorContains(t, err, `proxy host "127.0.0.1:6443"`)
}
