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

package ratelimit

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"weak"

	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
)

// sniffBytes is how much of a 403 or 429 body is read to recognize a rate limit; GitHub's error
// bodies are a few hundred bytes.
const sniffBytes = 64 << 10

// Gate holds back the calls of one credential to an API GitHub rate-limits. It learns the
// limits from the answers passing through Transport. It is safe for concurrent use.
type Gate struct {
	clock clock.PassiveClock
	rest  *url.URL

	mu     sync.Mutex
	closed map[string]*Error
}

// NewGate returns an open gate. Requests under restBase (the config URL's REST API base) are the
// GitHub REST API's, every other one the Actions Service's: on GitHub Enterprise Server both
// live on one host, so the host alone cannot tell them apart.
func NewGate(restBase *url.URL, clk clock.PassiveClock) *Gate {
	if clk == nil {
		clk = clock.RealClock{}
	}
	return &Gate{clock: clk, rest: restBase, closed: map[string]*Error{}}
}

// API is the API a request URL belongs to.
func (g *Gate) API(u *url.URL) string {
	if g.rest != nil && strings.EqualFold(u.Scheme, g.rest.Scheme) && strings.EqualFold(u.Host, g.rest.Host) &&
		strings.HasPrefix(u.EscapedPath()+"/", strings.TrimSuffix(g.rest.EscapedPath(), "/")+"/") {
		return APIREST
	}
	return APIActions
}

// Check returns the *Error a call to api fails with while it is held back, else nil.
func (g *Gate) Check(api string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	e := g.closed[api]
	if e == nil {
		return nil
	}
	if !g.clock.Now().Before(e.Until) {
		delete(g.closed, api)
		return nil
	}
	c := *e
	return &c
}

// Until is when the limit on api ends; zero while calls to it are sent.
func (g *Gate) Until(api string) time.Time {
	var rl *Error
	if errors.As(g.Check(api), &rl) {
		return rl.Until
	}
	return time.Time{}
}

// Close holds calls to e.API back until e.Until; a limit ending later than one already known
// replaces it, an earlier one is ignored. It reports whether e extended the limit.
func (g *Gate) Close(e *Error) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if old := g.closed[e.API]; old != nil && !e.Until.After(old.Until) {
		return false
	}
	c := *e
	g.closed[e.API] = &c
	return true
}

// Transport holds requests back while their API is limited and learns the limits from the
// answers: a rate-limit refusal becomes an *Error (typed for every caller: a 403 rate limit is
// never taken for a refusal of the credentials), and any answer saying the budget is spent
// closes the gate for what follows.
func (g *Gate) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &gateTransport{g: g, base: base}
}

type gateTransport struct {
	g    *Gate
	base http.RoundTripper
}

func (t *gateTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	api := t.g.API(req.URL)
	if err := t.g.Check(api); err != nil {
		if req.Body != nil {
			_ = req.Body.Close() // the RoundTripper contract: always closed
		}
		return nil, err
	}
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	now := t.g.clock.Now()
	if resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusTooManyRequests {
		body, rerr := sniff(resp)
		if rerr != nil {
			return nil, rerr
		}
		if e := FromResponse(api, resp, body, now); e != nil {
			_ = resp.Body.Close()
			t.closeFor(req, e)
			return nil, e
		}
	}
	if reset, ok := Exhausted(resp.Header, now); ok {
		t.closeFor(req, &Error{API: api, Until: reset, Kind: KindPrimary, Status: resp.StatusCode,
			Message: "X-RateLimit-Remaining is 0: the budget is spent until X-RateLimit-Reset"})
	}
	return resp, nil
}

func (t *gateTransport) closeFor(req *http.Request, e *Error) {
	if t.g.Close(e) {
		klog.FromContext(req.Context()).Info("GitHub rate limit: holding calls back", "api", e.API, "until", e.Until, "kind", e.Kind, "status", e.Status, "message", e.Message)
	}
}

// sniff reads the start of resp's body and puts it back in front of the rest.
func sniff(resp *http.Response) ([]byte, error) {
	head, err := io.ReadAll(io.LimitReader(resp.Body, sniffBytes))
	if err != nil {
		_ = resp.Body.Close()
		return nil, err
	}
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(head), resp.Body), resp.Body}
	return head, nil
}

// Registry hands out one Gate per credential, so every client of a credential (every RunnerSet
// naming the same Secret's token, say) waits for the same limit. A Gate no client uses any more
// is dropped.
type Registry struct {
	// Clock times the gates; nil means the real clock.
	Clock clock.PassiveClock

	mu    sync.Mutex
	gates map[string]weak.Pointer[Gate]
}

// Gate returns the gate of key (a credential's fingerprint, never the secret itself) for the
// REST API at restBase.
func (r *Registry) Gate(key string, restBase *url.URL) *Gate {
	key = restBase.String() + "\x00" + key
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.gates == nil {
		r.gates = map[string]weak.Pointer[Gate]{}
	}
	for k, p := range r.gates {
		if p.Value() == nil {
			delete(r.gates, k)
		}
	}
	if g := r.gates[key].Value(); g != nil {
		return g
	}
	g := NewGate(restBase, r.Clock)
	r.gates[key] = weak.Make(g)
	return g
}
