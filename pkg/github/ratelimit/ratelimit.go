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

// Package ratelimit recognizes GitHub's rate limits in its answers and holds a credential's calls
// back until they end. GitHub counts its limits per credential, and keeps refusing (or, for
// secondary limits, bans for longer) a client that goes on sending: so a Gate, shared by every
// client of one credential, is the one owner of what GitHub said, and the calls it holds back
// fail at once with an *Error instead of reaching GitHub.
package ratelimit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-github/v62/github"
)

// The APIs a Gate tells apart: GitHub counts their limits separately.
const (
	// APIREST is GitHub's REST API (the token chain, the runner list).
	APIREST = "GitHub REST API"
	// APIActions is the Actions Service (tenant and message queue).
	APIActions = "Actions Service"
)

// Kinds of limit.
const (
	// KindPrimary: the hourly budget is spent (X-RateLimit-Remaining: 0); it ends at
	// X-RateLimit-Reset.
	KindPrimary = "primary"
	// KindSecondary: too many requests too fast; it ends after Retry-After, or a minute when
	// GitHub does not say (GitHub's documented advice).
	KindSecondary = "secondary"
)

const (
	// SecondaryDefault is how long a secondary limit without Retry-After lasts.
	SecondaryDefault = time.Minute
	// maxWait bounds any limit: a Retry-After or reset further away is taken for a broken clock
	// or header, not a reason to stop for days.
	maxWait = 24 * time.Hour
)

// ErrRateLimited is what every *Error is (errors.Is).
var ErrRateLimited = errors.New("rate limited by GitHub")

// Error is a call GitHub refused, or the Gate held back, because GitHub rate-limits the
// credentials; it is not a refusal of the credentials.
type Error struct {
	// API is APIREST or APIActions, or the host when no Gate knew the API.
	API string
	// Until is when the limit ends and calls are sent again.
	Until time.Time
	// Kind is KindPrimary or KindSecondary.
	Kind string
	// Status is the status of GitHub's answer that set the limit (403 or 429).
	Status int
	// Message is GitHub's message, if it sent one.
	Message string
}

func (e *Error) Error() string {
	s := fmt.Sprintf("%s rate limit (%s, %d): calls held back until %s", e.API, e.Kind, e.Status, e.Until.UTC().Format(time.RFC3339))
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Is makes errors.Is(err, ErrRateLimited) true.
func (e *Error) Is(target error) bool { return target == ErrRateLimited }

// FromResponse tells whether an answer is a rate-limit refusal, and until when: a 403 or 429 with
// Retry-After (a secondary limit, or the Actions Service throttling), with
// X-RateLimit-Remaining: 0 (the primary limit, until X-RateLimit-Reset), or whose message speaks
// of a rate limit. A bare 429 is not taken for one: the retry loop backs off from it as the
// protocol says. body is the answer's body, or its start.
func FromResponse(api string, resp *http.Response, body []byte, now time.Time) *Error {
	if resp == nil || (resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusTooManyRequests) {
		return nil
	}
	e := &Error{API: api, Status: resp.StatusCode, Message: message(body)}
	reset, exhausted := Exhausted(resp.Header, now)
	if d, ok := ParseRetryAfter(resp.Header.Get("Retry-After"), now); ok {
		e.Kind, e.Until = KindSecondary, now.Add(d)
		return e
	}
	if exhausted {
		e.Kind, e.Until = KindPrimary, reset
		return e
	}
	if strings.Contains(strings.ToLower(e.Message), "rate limit") {
		e.Kind, e.Until = KindSecondary, now.Add(SecondaryDefault)
		return e
	}
	return nil
}

// Exhausted reads X-RateLimit-Remaining: 0 and X-RateLimit-Reset, which any answer (a success
// too) may carry: the next call would be refused until reset. A reset in the past (clock skew)
// counts as a second from now.
func Exhausted(h http.Header, now time.Time) (reset time.Time, ok bool) {
	if strings.TrimSpace(h.Get("X-RateLimit-Remaining")) != "0" {
		return time.Time{}, false
	}
	secs, err := strconv.ParseInt(strings.TrimSpace(h.Get("X-RateLimit-Reset")), 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	reset = time.Unix(secs, 0)
	switch {
	case !reset.After(now):
		reset = now.Add(time.Second)
	case reset.Sub(now) > maxWait:
		reset = now.Add(maxWait)
	}
	return reset, true
}

// ParseRetryAfter reads a Retry-After header: delay seconds or an HTTP date. Values over a day
// are refused.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s < 0 || s > int64(maxWait/time.Second) {
			return 0, false
		}
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		d := t.Sub(now)
		if d < 0 {
			d = 0
		}
		if d > maxWait {
			return 0, false
		}
		return d, true
	}
	return 0, false
}

// FromGitHub converts go-github's own rate-limit errors, which it returns without a request
// when it remembers a spent budget, so that they too are an *Error.
func FromGitHub(err error, now time.Time) (*Error, bool) {
	var rl *github.RateLimitError
	if errors.As(err, &rl) {
		until := rl.Rate.Reset.Time
		if !until.After(now) {
			until = now.Add(time.Second)
		}
		return &Error{API: APIREST, Until: until, Kind: KindPrimary, Status: statusOf(rl.Response), Message: rl.Message}, true
	}
	var arl *github.AbuseRateLimitError
	if errors.As(err, &arl) {
		d := SecondaryDefault
		if arl.RetryAfter != nil && *arl.RetryAfter >= 0 && *arl.RetryAfter <= maxWait {
			d = *arl.RetryAfter
		}
		return &Error{API: APIREST, Until: now.Add(d), Kind: KindSecondary, Status: statusOf(arl.Response), Message: arl.Message}, true
	}
	return nil, false
}

func statusOf(resp *http.Response) int {
	if resp == nil {
		return 0
	}
	return resp.StatusCode
}

// message is GitHub's "message" (the Actions Service's too), or the start of a text body.
func message(body []byte) string {
	body = bytes.TrimSpace(bytes.TrimPrefix(body, []byte("\xef\xbb\xbf")))
	var m struct {
		Message      string `json:"message"`
		ErrorMessage string `json:"errorMessage"`
	}
	if json.Unmarshal(body, &m) == nil {
		if m.Message != "" {
			return m.Message
		}
		return m.ErrorMessage
	}
	const max = 200
	if len(body) > max {
		return string(body[:max]) + "..."
	}
	return string(body)
}
