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

package session

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/github/ratelimit"
)

// minHoldBack is the least a session waits for a rate limit, so that one ending as it is read
// never makes the session spin.
const minHoldBack = time.Second

// errHeldBack: a message was left in the queue, neither acknowledged nor acted on, because the
// Actions Service rate-limits the credentials; the queue delivers it again once the limit ends.
var errHeldBack = fmt.Errorf("message held back while the Actions Service rate-limits the credentials: %w", ratelimit.ErrRateLimited)

// limit is a rate limit in force: calls to api are held back until until.
type limit struct {
	api   string
	until time.Time
}

// rateLimits are the limits in force: the gates of client (nil: none known) and err's, when it is
// one the gates do not show (go-github's own memory of a spent budget, a limit met without a
// gate). The Actions Service comes first.
func (s *Session) rateLimits(client ScaleSetClient, err error) []limit {
	now := s.cfg.Clock.Now()
	var rl *ratelimit.Error
	errors.As(err, &rl)
	var out []limit
	for _, api := range []string{ratelimit.APIActions, ratelimit.APIREST} {
		var until time.Time
		if client != nil {
			until = client.RateLimitedUntil(api)
		}
		if rl != nil && rl.API == api && rl.Until.After(until) {
			until = rl.Until
		}
		if until.After(now) {
			out = append(out, limit{api: api, until: until})
		}
	}
	if rl != nil && rl.API != ratelimit.APIActions && rl.API != ratelimit.APIREST && rl.Until.After(now) {
		out = append(out, limit{api: rl.API, until: rl.Until}) // met without a gate: named by host
	}
	return out
}

// noteRateLimits sets RateLimited: True while a limit is in force, naming the APIs and when
// their limits end, with a Warning event when it turns True; False otherwise. It reports whether
// the condition changed.
func (s *Session) noteRateLimits(rs *v1alpha1.RunnerSet, limits []limit) bool {
	prev := meta.FindStatusCondition(s.state.Conditions, v1alpha1.ConditionRateLimited)
	status, reason, msg := metav1.ConditionFalse, ReasonNotRateLimited, "GitHub does not rate-limit the credentials"
	if len(limits) > 0 {
		parts := make([]string, 0, len(limits))
		for _, l := range limits {
			parts = append(parts, fmt.Sprintf("calls to the %s are held back until %s", l.api, l.until.UTC().Format(time.RFC3339)))
		}
		secret := ""
		if rs != nil {
			secret = " in " + rs.Spec.GitHubConfigSecret
		}
		status, reason, msg = metav1.ConditionTrue, ReasonRateLimited, "GitHub rate-limits the credentials"+secret+": "+strings.Join(parts, "; ")
	}
	if prev != nil && prev.Status == status && prev.Reason == reason && prev.Message == msg {
		return false
	}
	s.setCondition(v1alpha1.ConditionRateLimited, status, reason, msg)
	if status == metav1.ConditionTrue && (prev == nil || prev.Status != metav1.ConditionTrue) {
		s.event(rs, corev1.EventTypeWarning, ReasonRateLimited, "%s", msg)
	}
	return true
}

// holdBack keeps RateLimited up to date and, while the session may not call the Actions Service,
// waits until it may: while the Actions Service's gate is closed, or until the end of err's limit
// when a call failed on one (the REST API's too: the call needed it). It reports whether it
// waited; the caller then looks again, as the limit may have been extended meanwhile.
func (s *Session) holdBack(ctx context.Context, rs *v1alpha1.RunnerSet, client ScaleSetClient, err error) bool {
	limits := s.rateLimits(client, err)
	if s.noteRateLimits(rs, limits) {
		s.emit()
	}
	var rl *ratelimit.Error
	errors.As(err, &rl)
	var until time.Time
	for _, l := range limits {
		if (l.api == ratelimit.APIActions || (rl != nil && l.api == rl.API)) && l.until.After(until) {
			until = l.until
		}
	}
	if until.IsZero() && !errors.Is(err, ratelimit.ErrRateLimited) {
		return false
	}
	wait := max(until.Sub(s.cfg.Clock.Now()), minHoldBack)
	klog.FromContext(ctx).Info("GitHub rate-limits the credentials: waiting before the next call", "until", until, "wait", wait, "err", err)
	select {
	case <-ctx.Done():
	case <-s.cfg.Clock.After(wait):
	}
	return true
}

// retryDelay is how long Run waits before the next session: the backoff, and at least until a
// rate limit that ended the last one is over.
func (s *Session) retryDelay(failures int, err error) time.Duration {
	d := backoff(failures, err)
	var rl *ratelimit.Error
	if errors.As(err, &rl) {
		d = max(d, rl.Until.Sub(s.cfg.Clock.Now()), minHoldBack)
	}
	return d
}
