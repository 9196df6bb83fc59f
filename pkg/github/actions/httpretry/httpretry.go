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

// Package httpretry is the HTTP layer shared by the GitHub REST calls, the runner-registration
// exchange and the Actions Service client: a transport with proxy and custom root CAs, and a
// retry loop with the constants of the scale set protocol (4 retries, 1 s..30 s exponential
// backoff, Retry-After honoured on 429 and 503, 5xx except 501, 429 and transport errors retried,
// a per-attempt timeout of 5 minutes).
//
// Every response the loop returns has its body read completely and replaced by an in-memory
// reader, so that a retry predicate can look at the body (for example to retry an empty 200) and
// the per-attempt timeout ends with the attempt.
//
// A rate limit (a *ratelimit.Error, from a ratelimit.Gate below or recognized in the answer) is
// waited out inline only when it ends within WaitMax; a longer one is returned at once, so that
// no call sleeps for the minutes or the hour GitHub may ask for, and the caller decides.
package httpretry

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"k8s.io/utils/clock"

	"actions.dev/runnerset-apiserver/pkg/github/ratelimit"
	"actions.dev/runnerset-apiserver/pkg/hostallow"
)

// The protocol's defaults (reference §9.1).
const (
	DefaultMaxRetries     = 4
	DefaultWaitMin        = 1 * time.Second
	DefaultWaitMax        = 30 * time.Second
	DefaultAttemptTimeout = 5 * time.Minute
	// MaxBodyBytes bounds how much of a response body is read; the largest legitimate answer
	// (a message with 50 job messages) is a few tens of kilobytes.
	MaxBodyBytes = 32 << 20
)

// ErrBodyTooLarge: the answer's body is over MaxBodyBytes; it was not read.
var ErrBodyTooLarge = errors.New("response body too large")

// Policy says how often and how patiently a request is retried. The zero value retries nothing,
// waits nothing and has no per-attempt timeout; use Default for the protocol's constants.
type Policy struct {
	// MaxRetries is how many times a request is repeated after the first attempt.
	MaxRetries int
	// WaitMin and WaitMax bound the exponential backoff WaitMin*2^n.
	WaitMin, WaitMax time.Duration
	// AttemptTimeout bounds one attempt, reading the body included; 0 means none.
	AttemptTimeout time.Duration
	// Clock times the waits between attempts (not the attempt timeout); nil means the real clock.
	Clock clock.Clock
}

// Default is the protocol's retry policy.
func Default() Policy {
	return Policy{
		MaxRetries:     DefaultMaxRetries,
		WaitMin:        DefaultWaitMin,
		WaitMax:        DefaultWaitMax,
		AttemptTimeout: DefaultAttemptTimeout,
	}
}

// Retryable decides whether an attempt's outcome is worth repeating. resp is nil when err is
// not; body is the complete response body.
type Retryable func(resp *http.Response, body []byte, err error) bool

// DefaultRetryable retries transport errors (except those a retry cannot fix), status 0, 429 and
// every 5xx except 501 Not Implemented.
func DefaultRetryable(resp *http.Response, _ []byte, err error) bool {
	if err != nil {
		return retryableError(err)
	}
	return RetryableStatus(resp.StatusCode)
}

// RetryableStatus is the status part of DefaultRetryable.
func RetryableStatus(code int) bool {
	return code == 0 || code == http.StatusTooManyRequests || (code >= 500 && code != http.StatusNotImplemented)
}

// Or combines predicates: an outcome is retried when any of them says so.
func Or(preds ...Retryable) Retryable {
	return func(resp *http.Response, body []byte, err error) bool {
		for _, p := range preds {
			if p != nil && p(resp, body, err) {
				return true
			}
		}
		return false
	}
}

// Status retries the given status codes.
func Status(codes ...int) Retryable {
	return func(resp *http.Response, _ []byte, err error) bool {
		if err != nil || resp == nil {
			return false
		}
		for _, c := range codes {
			if resp.StatusCode == c {
				return true
			}
		}
		return false
	}
}

// EmptyOK retries a 200 whose body is empty (or only white space or a byte order mark), which the
// Actions broker is known to send.
func EmptyOK(resp *http.Response, body []byte, err error) bool {
	return err == nil && resp != nil && resp.StatusCode == http.StatusOK && IsEmptyBody(body)
}

// IsEmptyBody reports whether body holds nothing but white space and a UTF-8 byte order mark.
func IsEmptyBody(body []byte) bool {
	return len(bytes.TrimSpace(StripBOM(body))) == 0
}

// StripBOM removes a leading UTF-8 byte order mark.
func StripBOM(b []byte) []byte {
	return bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
}

// retryableError tells transport errors worth repeating from those that will fail again the same
// way: redirect loops, an unsupported scheme, an invalid header and certificate errors.
func retryableError(err error) bool {
	var nr errNoRetry
	if err == nil || errors.As(err, &nr) || errors.Is(err, hostallow.ErrNotAllowed) || errors.Is(err, ratelimit.ErrRateLimited) {
		return false // a refused host stays refused; a rate limit is waited out by Do, or not at all
	}
	var (
		unknownAuthority x509.UnknownAuthorityError
		certInvalid      x509.CertificateInvalidError
		hostname         x509.HostnameError
		verify           *tls.CertificateVerificationError
	)
	if errors.As(err, &unknownAuthority) || errors.As(err, &certInvalid) || errors.As(err, &hostname) || errors.As(err, &verify) {
		return false
	}
	msg := err.Error()
	for _, s := range []string{"stopped after", "unsupported protocol scheme", "invalid header", "net/http: invalid", "certificate"} {
		if strings.Contains(msg, s) {
			return false
		}
	}
	return true
}

// Doer sends one request; *http.Client is one.
type Doer interface {
	Do(*http.Request) (*http.Response, error)
}

// RequestFunc builds the request for one attempt, with a fresh body, under ctx.
type RequestFunc func(ctx context.Context) (*http.Request, error)

// Result describes how a call went.
type Result struct {
	// Attempts is how many requests were sent.
	Attempts int
	// Body is the returned response's complete body (also readable from its Body).
	Body []byte
}

// Do sends the request built by newReq until it succeeds, retry says no, the retries are used up or
// ctx ends. When a response was received it is returned (also a failed one after the last
// attempt) with its body fully read; the caller interprets the status. An error is returned
// when no response came back (transport error, timeout, cancellation), wrapped with the number of
// attempts, and for a rate limit: a *ratelimit.Error (errors.Is ratelimit.ErrRateLimited) once it
// cannot be waited out within WaitMax, or the retries are used up.
func (p Policy) Do(ctx context.Context, d Doer, newReq RequestFunc, retry Retryable) (*http.Response, Result, error) {
	if retry == nil {
		retry = DefaultRetryable
	}
	clk := p.Clock
	if clk == nil {
		clk = clock.RealClock{}
	}
	var res Result
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return nil, res, err
		}
		res.Attempts++
		resp, body, err := p.attempt(ctx, d, newReq)
		if err != nil && ctx.Err() != nil {
			// The caller gave up; do not dress that up as a transport failure.
			return nil, res, ctx.Err()
		}
		wait, limited, retryLimit := p.rateLimitWait(attempt, resp, body, err, retry, clk.Now())
		switch {
		case limited != nil && !retryLimit:
			return nil, res, limited
		case limited == nil && (attempt >= p.MaxRetries || !retry(resp, body, err)):
			if err != nil {
				if res.Attempts > 1 {
					err = fmt.Errorf("giving up after %d attempt(s): %w", res.Attempts, err)
				}
				return nil, res, err
			}
			res.Body = body
			return resp, res, nil
		case limited == nil:
			wait = p.backoff(attempt, resp, clk.Now())
		}
		t := clk.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, res, ctx.Err()
		case <-t.C():
		}
	}
}

// attempt sends one request and reads its whole body under the per-attempt timeout.
func (p Policy) attempt(ctx context.Context, d Doer, newReq RequestFunc) (*http.Response, []byte, error) {
	actx := ctx
	if p.AttemptTimeout > 0 {
		var cancel context.CancelFunc
		actx, cancel = context.WithTimeout(ctx, p.AttemptTimeout)
		defer cancel()
	}
	req, err := newReq(actx)
	if err != nil {
		return nil, nil, errNoRetry{err}
	}
	resp, err := d.Do(req)
	if err != nil {
		if actx.Err() != nil && ctx.Err() == nil {
			return nil, nil, fmt.Errorf("attempt timed out after %s: %w", p.AttemptTimeout, err)
		}
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxBodyBytes+1))
	if err != nil {
		return nil, nil, fmt.Errorf("reading response body of %s %s: %w", req.Method, redact(req.URL), err)
	}
	if len(body) > MaxBodyBytes {
		return nil, nil, errNoRetry{fmt.Errorf("%w: response body of %s %s exceeds %d bytes", ErrBodyTooLarge, req.Method, redact(req.URL), MaxBodyBytes)}
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	return resp, body, nil
}

// errNoRetry marks errors that building a request produced; retrying cannot help.
type errNoRetry struct{ error }

func (e errNoRetry) Unwrap() error { return e.error }

// rateLimitWait recognizes a rate limit in an attempt's outcome: the *ratelimit.Error a Gate
// returned, or a refusal in the answer itself (no Gate below). It is retried, after waiting for
// its end, only when it ends within WaitMax, retries are left and retry would repeat its status
// (429, say, but not a 403 the protocol does not retry).
func (p Policy) rateLimitWait(attempt int, resp *http.Response, body []byte, err error, retry Retryable, now time.Time) (time.Duration, *ratelimit.Error, bool) {
	var limited *ratelimit.Error
	switch {
	case err != nil && errors.As(err, &limited):
	case err == nil:
		limited = ratelimit.FromResponse(hostOf(resp), resp, body, now)
	}
	if limited == nil {
		return 0, nil, false
	}
	wait := max(limited.Until.Sub(now), 0)
	status := &http.Response{StatusCode: limited.Status, Header: http.Header{}}
	ok := attempt < p.MaxRetries && wait <= p.WaitMax && retry(status, nil, nil)
	return wait, limited, ok
}

func hostOf(resp *http.Response) string {
	if resp != nil && resp.Request != nil && resp.Request.URL != nil {
		return resp.Request.URL.Host
	}
	return "GitHub"
}

// backoff is Retry-After for 429 and 503 when the server sent a usable one (at most WaitMax: a
// longer wait is not held inline), else WaitMin*2^n capped at WaitMax.
func (p Policy) backoff(attempt int, resp *http.Response, now time.Time) time.Duration {
	if resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
		if d, ok := ParseRetryAfter(resp.Header.Get("Retry-After"), now); ok {
			return min(d, p.WaitMax)
		}
	}
	wait := p.WaitMin
	for i := 0; i < attempt && wait < p.WaitMax; i++ {
		wait *= 2
	}
	if wait > p.WaitMax {
		wait = p.WaitMax
	}
	if wait < 0 {
		wait = 0
	}
	return wait
}

// ParseRetryAfter reads a Retry-After header: delay seconds or an HTTP date.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	return ratelimit.ParseRetryAfter(v, now)
}

// Transport is an http.RoundTripper that retries with Policy; it is how go-github and
// ghinstallation get the protocol's retries. Requests with a body must be replayable
// (http.NewRequest sets GetBody for in-memory bodies).
type Transport struct {
	Base   http.RoundTripper
	Policy Policy
	// Retry is the predicate; nil means DefaultRetryable.
	Retry Retryable
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		// Not replayable: one attempt only.
		return base.RoundTrip(req)
	}
	first := true
	newReq := func(ctx context.Context) (*http.Request, error) {
		r := req.Clone(ctx)
		if req.Body != nil && req.Body != http.NoBody {
			if first {
				r.Body = req.Body
			} else {
				b, err := req.GetBody()
				if err != nil {
					return nil, err
				}
				r.Body = b
			}
		}
		first = false
		return r, nil
	}
	resp, _, err := t.Policy.Do(req.Context(), roundTripDoer{base}, newReq, t.Retry)
	if first && req.Body != nil {
		_ = req.Body.Close() // never handed to the base transport
	}
	if resp != nil {
		resp.Request = req
	}
	return resp, err
}

type roundTripDoer struct{ rt http.RoundTripper }

func (d roundTripDoer) Do(r *http.Request) (*http.Response, error) { return d.rt.RoundTrip(r) }

// TransportOptions configure how GitHub is reached.
type TransportOptions struct {
	// Proxy picks the proxy for a request; nil means none. http.ProxyFromEnvironment honours
	// http_proxy, https_proxy and no_proxy.
	Proxy func(*http.Request) (*url.URL, error)
	// RootCAs replaces the system roots when set (GitHub Enterprise Server with a private CA).
	RootCAs *x509.CertPool
	// InsecureSkipVerify disables certificate verification; for tests only.
	InsecureSkipVerify bool
}

// NewTransport builds an *http.Transport for GitHub with the options' proxy and roots.
func NewTransport(o TransportOptions) *http.Transport {
	t := &http.Transport{
		Proxy: o.Proxy,
		DialContext: (&net.Dialer{
			Timeout:   30 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   10,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: 1 * time.Second,
	}
	if o.RootCAs != nil || o.InsecureSkipVerify {
		t.TLSClientConfig = &tls.Config{
			RootCAs:            o.RootCAs,
			MinVersion:         tls.VersionTLS12,
			InsecureSkipVerify: o.InsecureSkipVerify, //nolint:gosec // opt-in, tests only
		}
	}
	return t
}

// redact drops the query of u, which may carry session ids.
func redact(u *url.URL) string {
	if u == nil {
		return ""
	}
	c := *u
	c.RawQuery = ""
	c.User = nil
	return c.String()
}
