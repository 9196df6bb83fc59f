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

package simulator

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"k8s.io/klog/v2"
)

// Rate limits as GitHub answers them: the primary REST budget per credential and hour, the
// secondary limit per credential and minute, and a limit on JIT registrations per tenant.
// All windows run on the injected clock.

const (
	rateWindowLength  = time.Hour
	shortWindowLength = time.Minute
	rateLimitDocsURL  = "https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting"
	// secondaryDocsURL ends in "secondary-rate-limits", which go-github looks for.
	secondaryDocsURL = "https://docs.github.com/en/free-pro-team@latest/rest/overview/resources-in-the-rest-api#secondary-rate-limits"
	msgSecondary     = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
	// The service's throttling answer follows Azure DevOps, whose code the Actions Service
	// shares (TF400733, RequestBlockedException); the reference has no example: our inference.
	asmFramework       = "Microsoft.TeamFoundation.Framework.Server"
	typeRequestBlocked = asmFramework + ".RequestBlockedException, " + asmFramework
)

// rateWindow is one credential's primary REST budget.
type rateWindow struct {
	used  int
	reset time.Time
}

// countWindow counts requests in a fixed window of shortWindowLength from its first one.
type countWindow struct {
	count int
	start time.Time
}

// admit counts a request if fewer than limit came in the window at now; else it reports how
// long until the window ends.
func (cw *countWindow) admit(limit int, now time.Time) (time.Duration, bool) {
	if cw.start.IsZero() || !now.Before(cw.start.Add(shortWindowLength)) {
		cw.count, cw.start = 0, now
	}
	if cw.count >= limit {
		return cw.start.Add(shortWindowLength).Sub(now), false
	}
	cw.count++
	return 0, true
}

// retryAfter is a Retry-After value: whole seconds, rounded up, at least 1.
func retryAfter(d time.Duration) string {
	return strconv.Itoa(max(1, int(math.Ceil(d.Seconds()))))
}

// windowLocked is the live primary window of a rate key.
func (st *state) windowLocked(key string, now time.Time) *rateWindow {
	rw := st.rate[key]
	if rw == nil || !now.Before(rw.reset) {
		rw = &rateWindow{reset: now.Add(rateWindowLength)}
		st.rate[key] = rw
	}
	return rw
}

// chargeLocked applies the primary and secondary limits to a request of c (charge false: a
// free answer such as 304) and sets the X-RateLimit headers. It answers the request itself
// and returns false when a limit refuses it.
func (st *state) chargeLocked(w http.ResponseWriter, c credential, now time.Time, charge bool) bool {
	rw := st.windowLocked(c.rateKey(), now)
	limit := st.restLimit
	if charge && rw.used >= limit {
		setRateHeaders(w, limit, rw)
		klog.V(2).InfoS("REST rate limit exhausted", "credential", c.who(), "reset", rw.reset)
		st.counters.RateLimited["rest"]++
		writeGitHubErrorDoc(w, http.StatusForbidden, "API rate limit exceeded for "+c.who()+".", rateLimitDocsURL)
		return false
	}
	if charge && st.secondaryLimit > 0 {
		cw := st.secondary[c.rateKey()]
		if cw == nil {
			cw = &countWindow{}
			st.secondary[c.rateKey()] = cw
		}
		if wait, ok := cw.admit(st.secondaryLimit, now); !ok {
			setRateHeaders(w, limit, rw)
			w.Header().Set("Retry-After", retryAfter(wait))
			klog.V(2).InfoS("REST secondary rate limit hit", "credential", c.who(), "retryAfter", wait)
			st.counters.RateLimited["rest-secondary"]++
			writeGitHubErrorDoc(w, http.StatusForbidden, msgSecondary, secondaryDocsURL)
			return false
		}
	}
	if charge {
		rw.used++
	}
	setRateHeaders(w, limit, rw)
	return true
}

func setRateHeaders(w http.ResponseWriter, limit int, rw *rateWindow) {
	h := w.Header()
	h.Set("X-RateLimit-Limit", strconv.Itoa(limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(max(0, limit-rw.used)))
	h.Set("X-RateLimit-Used", strconv.Itoa(rw.used))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(rw.reset.Unix(), 10))
	h.Set("X-RateLimit-Resource", "core")
}

// admitJITLocked applies JITConfigRate to a generatejitconfig call of tenant t.
func (st *state) admitJITLocked(t *tenant, now time.Time) (time.Duration, bool) {
	if st.jitRate <= 0 {
		return 0, true
	}
	cw := st.jitWindows[t.id]
	if cw == nil {
		cw = &countWindow{}
		st.jitWindows[t.id] = cw
	}
	wait, ok := cw.admit(st.jitRate, now)
	if !ok {
		st.counters.RateLimited["jit"]++
	}
	return wait, ok
}

// writeJITThrottled answers a generatejitconfig call over JITConfigRate: 429 with Retry-After.
func (s *Simulator) writeJITThrottled(w http.ResponseWriter, wait time.Duration) {
	w.Header().Set("Retry-After", retryAfter(wait))
	s.writeServiceError(w, http.StatusTooManyRequests, typeRequestBlocked,
		"TF400733: The request has been canceled: Request was blocked due to exceeding usage of resource 'RunnerRegistrations' in namespace 'RunnerScaleSet'.")
}

// RateLimit is a credential's primary REST budget, as GitHub's /rate_limit reports it.
type RateLimit struct {
	Limit     int    `json:"limit"`
	Remaining int    `json:"remaining"`
	Used      int    `json:"used"`
	Reset     int64  `json:"reset"` // epoch seconds
	Resource  string `json:"resource"`
}

// RateLimitChange sets the budget of a credential: a personal access token, an installation
// token, or an installation (whose tokens share one budget).
type RateLimitChange struct {
	Token        string `json:"token,omitempty"`
	Installation int64  `json:"installation,omitempty"`
	// Remaining is what is left of the budget; 0 exhausts it.
	Remaining int `json:"remaining"`
	// ResetIn is when the budget is whole again, from now; 0 keeps the window's reset.
	ResetIn time.Duration `json:"-"`
}

type rateLimitChangeAlias RateLimitChange

// MarshalJSON writes ResetIn as a duration string.
func (c RateLimitChange) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		rateLimitChangeAlias
		ResetIn string `json:"resetIn,omitempty"`
	}{rateLimitChangeAlias(c), durationString(c.ResetIn)})
}

// UnmarshalJSON reads ResetIn as a duration string or a number of seconds.
func (c *RateLimitChange) UnmarshalJSON(b []byte) error {
	var v struct {
		*rateLimitChangeAlias
		ResetIn json.RawMessage `json:"resetIn"`
	}
	v.rateLimitChangeAlias = (*rateLimitChangeAlias)(c)
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	d, err := parseDuration(v.ResetIn)
	if err != nil {
		return fmt.Errorf("resetIn: %w", err)
	}
	c.ResetIn = d
	return nil
}

// SetRateLimit changes the primary REST budget of a credential at once, e.g. exhausts it
// until a reset a fake clock's Step then reaches.
func (s *Simulator) SetRateLimit(ch RateLimitChange) (RateLimit, error) {
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.state
	var key string
	switch c, ok := st.authenticateLocked(ch.Token, now); {
	case ch.Token != "" && ok:
		key = c.rateKey()
	case ch.Token == "" && st.installations[ch.Installation] != nil:
		key = credential{inst: st.installations[ch.Installation]}.rateKey()
	default:
		return RateLimit{}, fmt.Errorf("simulator: no such credential (token or installation)")
	}
	if ch.Remaining < 0 || ch.ResetIn < 0 {
		return RateLimit{}, fmt.Errorf("simulator: remaining and resetIn must not be negative")
	}
	rw := st.windowLocked(key, now)
	rw.used = max(0, st.restLimit-ch.Remaining)
	if ch.ResetIn > 0 {
		rw.reset = now.Add(ch.ResetIn)
	}
	return RateLimit{Limit: st.restLimit, Remaining: max(0, st.restLimit-rw.used), Used: rw.used,
		Reset: rw.reset.Unix(), Resource: "core"}, nil
}

func (s *Simulator) rateLimitRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /_sim/ratelimit", func(w http.ResponseWriter, r *http.Request) {
		var ch RateLimitChange
		if !ctlDecode(w, r, &ch) {
			return
		}
		out, err := s.SetRateLimit(ch)
		if err != nil {
			ctlError(w, http.StatusBadRequest, codeBadRequest, err)
			return
		}
		ctlJSON(w, http.StatusOK, out)
	})
}

// SetRateLimit changes the primary REST budget of a credential (see Simulator.SetRateLimit).
func (c *ControlClient) SetRateLimit(ch RateLimitChange) (RateLimit, error) {
	var out RateLimit
	_, err := c.do(http.MethodPost, "/_sim/ratelimit", ch, &out)
	return out, err
}
