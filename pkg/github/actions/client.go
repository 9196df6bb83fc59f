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
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"k8s.io/utils/clock"

	"actions.dev/runnerset-apiserver/pkg/github/actions/httpretry"
	"actions.dev/runnerset-apiserver/pkg/github/auth"
)

// Paths relative to the tenant URL.
const (
	scaleSetsPath    = "_apis/runtime/runnerscalesets"
	runnerGroupsPath = "_apis/runtime/runnergroups/" // the trailing slash is what the service expects
	runnersPath      = "_apis/distributedtask/pools/0/agents"

	// DefaultRunnerGroupID is the id of every owner's default runner group.
	DefaultRunnerGroupID = 1
	// DefaultRunnerGroupName is the name that (like "") means the default group.
	DefaultRunnerGroupName = "default"
	// DefaultUserAgent is sent when Config.UserAgent is empty.
	DefaultUserAgent = "runnerset-apiserver"
	// LabelTypeSystem is the label type of scale set labels.
	LabelTypeSystem = "System"
)

// TokenSource is what the client needs from the token chain; *auth.Source is one. If it also
// implements auth.Invalidator, a 401 on an admin call drops the token and the call is retried
// once with a fresh one.
type TokenSource = auth.TokenSource

// AdminToken is the tenant URL and admin token the chain hands out.
type AdminToken = auth.AdminToken

// RetryConfig tunes the HTTP retries (reference §9.1).
type RetryConfig struct {
	// MaxRetries is how often a request is repeated after the first attempt (0: never).
	MaxRetries int
	// WaitMin and WaitMax bound the exponential backoff WaitMin*2^n. Retry-After on 429 and 503
	// takes precedence.
	WaitMin, WaitMax time.Duration
}

// DefaultRetryConfig is the protocol's: 4 retries, 1 s to 30 s.
func DefaultRetryConfig() RetryConfig {
	return RetryConfig{MaxRetries: httpretry.DefaultMaxRetries, WaitMin: httpretry.DefaultWaitMin, WaitMax: httpretry.DefaultWaitMax}
}

// Config builds a Client.
type Config struct {
	// Tokens hands out the tenant URL and admin token; required.
	Tokens TokenSource
	// Proxy picks the proxy per request (nil: none; http.ProxyFromEnvironment honours
	// http_proxy, https_proxy and no_proxy).
	Proxy func(*http.Request) (*url.URL, error)
	// RootCAs replaces the system roots (GHES with a private CA).
	RootCAs *x509.CertPool
	// Transport, when set, is used instead of one built from Proxy and RootCAs.
	Transport http.RoundTripper
	// UserAgent is sent on every request.
	UserAgent string
	// Clock times retry waits and the message queue token's proactive refresh; nil means real.
	Clock clock.Clock
	// Retry is the retry policy; nil means DefaultRetryConfig().
	Retry *RetryConfig
	// AttemptTimeout bounds one attempt (it must exceed the ~50 s long poll); 0 means 5 min.
	AttemptTimeout time.Duration
}

// Client speaks the Actions Service's runner scale set API. It is safe for concurrent use.
type Client struct {
	tokens    TokenSource
	hc        *http.Client
	userAgent string
	clock     clock.Clock
	policy    httpretry.Policy
}

// NewClient checks cfg and builds a client; it makes no request.
func NewClient(cfg Config) (*Client, error) {
	if cfg.Tokens == nil {
		return nil, errors.New("actions: Config.Tokens is required")
	}
	clk := cfg.Clock
	if clk == nil {
		clk = clock.RealClock{}
	}
	rc := DefaultRetryConfig()
	if cfg.Retry != nil {
		rc = *cfg.Retry
	}
	if rc.MaxRetries < 0 || rc.WaitMin < 0 || rc.WaitMax < rc.WaitMin {
		return nil, fmt.Errorf("actions: invalid retry config %+v", rc)
	}
	timeout := cfg.AttemptTimeout
	if timeout <= 0 {
		timeout = httpretry.DefaultAttemptTimeout
	}
	tr := cfg.Transport
	if tr == nil {
		tr = httpretry.NewTransport(httpretry.TransportOptions{Proxy: cfg.Proxy, RootCAs: cfg.RootCAs})
	}
	ua := cfg.UserAgent
	if ua == "" {
		ua = DefaultUserAgent
	}
	return &Client{
		tokens:    cfg.Tokens,
		hc:        &http.Client{Transport: tr},
		userAgent: ua,
		clock:     clk,
		policy: httpretry.Policy{
			MaxRetries:     rc.MaxRetries,
			WaitMin:        rc.WaitMin,
			WaitMax:        rc.WaitMax,
			AttemptTimeout: timeout,
			Clock:          clk,
		},
	}, nil
}

// call describes one API call.
type call struct {
	op     string
	method string
	// path is relative to the tenant URL (admin-style calls); url is absolute (queue calls).
	path  string
	query url.Values
	url   *url.URL
	body  []byte
	// queueToken replaces the admin token (message queue calls).
	queueToken string
	header     http.Header
	// apiVersionInQuery adds api-version=6.0-preview to the query.
	apiVersionInQuery bool
	// want is the status the call succeeds with; another 2xx is ErrUnexpectedStatus (0: any 2xx).
	want int
}

// response is a received answer.
type response struct {
	*http.Response
	body     []byte
	attempts int
}

// do sends c with retries. For admin calls a 401 drops the admin token (when the source can) and
// the call is repeated once with a new one.
func (c *Client) do(ctx context.Context, cl call) (*response, error) {
	isQueue := cl.queueToken != ""
	for refreshed := false; ; refreshed = true {
		var (
			target   *url.URL
			bearer   string
			adminTok string
		)
		if cl.url != nil {
			target = cl.url
		} else {
			tok, err := c.tokens.Token(ctx)
			if err != nil {
				return nil, fmt.Errorf("actions: %s: getting an admin token: %w", cl.op, err)
			}
			if tok.TenantURL == nil {
				return nil, fmt.Errorf("actions: %s: the token source gave no tenant URL", cl.op)
			}
			target = joinTenant(tok.TenantURL, cl.path)
			adminTok = tok.Token
		}
		// The target's own query (an opaque queue URL's sessionId) is kept byte for byte;
		// parameters are appended.
		extra := url.Values{}
		for k, vs := range cl.query {
			for _, v := range vs {
				extra.Add(k, v)
			}
		}
		if cl.apiVersionInQuery && target.Query().Get("api-version") == "" && extra.Get("api-version") == "" {
			extra.Set("api-version", APIVersion)
		}
		u := *target
		if enc := extra.Encode(); enc != "" {
			if u.RawQuery != "" {
				u.RawQuery += "&"
			}
			u.RawQuery += enc
		}
		bearer = adminTok
		if isQueue {
			bearer = cl.queueToken
		}
		newReq := func(ctx context.Context) (*http.Request, error) {
			var body *bytes.Reader
			if cl.body != nil {
				body = bytes.NewReader(cl.body)
			}
			var req *http.Request
			var err error
			if body != nil {
				req, err = http.NewRequestWithContext(ctx, cl.method, u.String(), body)
			} else {
				req, err = http.NewRequestWithContext(ctx, cl.method, u.String(), nil)
			}
			if err != nil {
				return nil, err
			}
			for k, vs := range cl.header {
				for _, v := range vs {
					req.Header.Set(k, v)
				}
			}
			// Every admin-style call carries Content-Type: application/json, as the reference
			// client sends it; the long poll carries its Accept header instead.
			if req.Header.Get("Content-Type") == "" && !(cl.url != nil && cl.method == http.MethodGet) {
				req.Header.Set("Content-Type", "application/json")
			}
			req.Header.Set("Authorization", "Bearer "+bearer)
			req.Header.Set("User-Agent", c.userAgent)
			return req, nil
		}
		retry := httpretry.DefaultRetryable
		if cl.method == http.MethodGet {
			// An empty 200 to a read is as transient as a 502.
			retry = httpretry.Or(httpretry.DefaultRetryable, httpretry.EmptyOK)
		}
		resp, res, err := c.policy.Do(ctx, c.hc, newReq, retry)
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("actions: %s: %w", cl.op, ctx.Err())
			}
			return nil, fmt.Errorf("actions: %s %s: %w", cl.op, redactURL(&u), err)
		}
		r := &response{Response: resp, body: res.Body, attempts: res.Attempts}
		if !isQueue && !refreshed && resp.StatusCode == http.StatusUnauthorized {
			if inv, ok := c.tokens.(auth.Invalidator); ok && adminTok != "" {
				inv.Invalidate(adminTok)
				continue
			}
		}
		return r, nil
	}
}
