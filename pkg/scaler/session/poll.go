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
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/github/actions"
	"actions.dev/runnerset-apiserver/pkg/github/ratelimit"
	"actions.dev/runnerset-apiserver/pkg/scaler/metrics"
)

// pollAll long-polls until the session ends or the RunnerSet goes; it returns why GitHub ended
// the session (nil when the RunnerSet is being deleted). While the Actions Service rate-limits
// the credentials it neither polls nor handles a message, and keeps the session.
func (s *Session) pollAll(ctx context.Context, client ScaleSetClient, session MessageSession, scaleSetID int) error {
	var lastID int64
	malformed := 0
	for {
		rs := s.runnerSet()
		if rs == nil || rs.DeletionTimestamp != nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if s.holdBack(ctx, rs, client, nil) {
			continue
		}
		if err := s.acquireWaiting(ctx, session); err != nil {
			return err
		}
		msg, polled, err := s.pollOnce(ctx, session, lastID, s.limits().Capacity)
		switch {
		case errors.Is(err, errInterrupted), errors.Is(err, actions.ErrEmptyResponse):
			// The capacity changed or offers may have room (poll again, after acquiring them),
			// or the broker answered 200 with no body: nothing to do.
			continue
		case errors.Is(err, ratelimit.ErrRateLimited) && ctx.Err() == nil:
			// Not the session's end: poll again in it once the limit is over.
			s.holdBack(ctx, rs, client, err)
			continue
		case errors.Is(err, actions.ErrMalformedMessage) && ctx.Err() == nil:
			malformed++
			s.skipMalformed(ctx, rs, err, malformed)
			continue
		case errors.Is(err, actions.ErrScaleSetNotFound):
			s.scaleSetLost(rs, scaleSetID)
			return err
		case err != nil:
			if ctx.Err() == nil {
				s.gitHubError(rs, client, err)
				s.event(rs, corev1.EventTypeWarning, "SessionLost", "Lost the message session: %v", err)
			}
			return err
		case msg == nil:
			s.ok()
			malformed = 0
			continue // 202: nothing new within the long poll
		}
		malformed = 0
		s.ok()
		jobs, err := s.handleMessage(ctx, client, session, rs, msg)
		if errors.Is(err, ratelimit.ErrRateLimited) && ctx.Err() == nil {
			s.holdBack(ctx, rs, client, err) // not acknowledged: it comes again, after the limit
			continue
		}
		if err != nil {
			return err
		}
		lastID = msg.MessageID
		s.batchProgress(ctx, jobs, msg.Statistics, polled)
	}
}

// errInterrupted is a long poll ended by SetLimits, or held no longer than a rate allows.
var errInterrupted = errors.New("long poll interrupted")

// pollOnce is one long poll announcing capacity. While a rate holds offers back, it lasts no
// longer than until the rate's next token.
func (s *Session) pollOnce(ctx context.Context, session MessageSession, lastID int64, capacity int) (*actions.Message, time.Duration, error) {
	pollCtx, cancel := context.WithCancel(ctx)
	s.poll.start(cancel, capacity, len(s.offers) > 0)
	polling := s.cfg.Clock.Now()
	if wait := s.rateWait(polling); wait > 0 {
		timer := s.cfg.Clock.NewTimer(wait)
		defer timer.Stop()
		go func() {
			select {
			case <-timer.C():
				cancel()
			case <-pollCtx.Done():
			}
		}()
	}
	msg, err := session.GetMessage(pollCtx, lastID, capacity)
	polled := s.cfg.Clock.Since(polling)
	// Read before cancel below, which would make every error look like an interruption (and
	// hide a lost session or scale set behind endless polls).
	interrupted := pollCtx.Err() != nil
	s.poll.end()
	cancel()
	if err != nil && ctx.Err() == nil && interrupted {
		return nil, polled, errInterrupted
	}
	return msg, polled, err
}

// skipMalformed skips an answer that is truncated, not JSON or too large: there is nothing to
// acknowledge and the session is fine, so it polls again, a little later each time the queue
// keeps sending it.
func (s *Session) skipMalformed(ctx context.Context, rs *v1alpha1.RunnerSet, err error, times int) {
	klog.FromContext(ctx).Error(err, "Skipping a malformed answer of the message queue; polling again", "times", times)
	if times == 1 || times%10 == 0 {
		s.event(rs, corev1.EventTypeWarning, "MalformedMessage", "Skipped a malformed answer of the message queue: %v", err)
	}
	select {
	case <-ctx.Done():
	case <-s.cfg.Clock.After(min(time.Duration(times)*time.Second, 30*time.Second)):
	}
}

// handleMessage acknowledges a message, acquires the jobs it offers there is room for and
// publishes what it says. The message is parsed once; a body that does not parse is skipped, not
// fatal: the statistics still tell how many runners are needed. An error means the message was
// not acknowledged, and comes again (errHeldBack: the Actions Service rate-limits the
// credentials).
func (s *Session) handleMessage(ctx context.Context, client ScaleSetClient, session MessageSession, rs *v1alpha1.RunnerSet, msg *actions.Message) ([]actions.JobMessage, error) {
	logger := klog.FromContext(ctx)
	jobs, err := msg.JobMessages()
	if err != nil {
		logger.Error(err, "Skipping undecodable job messages", "messageID", msg.MessageID)
	}
	if err := s.ack(ctx, client, session, msg.MessageID); err != nil {
		return nil, err
	}
	started := s.cfg.Clock.Now()
	defer func() { metrics.MessageLatency.Observe(s.cfg.Clock.Since(started).Seconds()) }()
	if ValidStatistics(msg.Statistics) {
		if msg.Statistics != nil {
			// Computed as the message was delivered: they count what was acquired before.
			s.state.Stats, s.acquiredSince = msg.Statistics, 0
		}
	} else {
		logger.Error(nil, "Skipping impossible statistics (negative counts)", "messageID", msg.MessageID, "statistics", msg.Statistics)
	}
	s.noteOffers(jobs, started)
	acquired, err := s.acquireOffers(ctx, session)
	switch {
	case errors.Is(err, ratelimit.ErrRateLimited):
		// Not acquired, the offers wait: the service offers them to other scale sets meanwhile.
		// The message's other news is handled below.
		logger.Info("Not acquiring jobs while GitHub rate-limits the credentials", "waiting", len(s.offers), "err", err)
	case err != nil:
		return nil, err
	}
	for _, j := range jobs {
		metrics.RecordJob(rs, j)
	}
	s.state.Jobs = append(s.state.Jobs, jobNews(jobs, acquired)...)
	s.state.Offers = len(s.offers)
	now := metav1.NewTime(s.cfg.Clock.Now().Truncate(time.Second))
	s.state.LastMessage = &now
	s.emit()
	return jobs, nil
}

// acquireWaiting acquires offers kept from earlier messages once there is room for them (the
// capacity grew, a token came). A rate limit of GitHub's leaves them waiting (the long poll that
// follows is held back while it lasts); another error ends the session.
func (s *Session) acquireWaiting(ctx context.Context, session MessageSession) error {
	if len(s.offers) == 0 {
		return nil
	}
	acquired, err := s.acquireOffers(ctx, session)
	if errors.Is(err, ratelimit.ErrRateLimited) && ctx.Err() == nil {
		klog.FromContext(ctx).Info("Not acquiring jobs while GitHub rate-limits the credentials", "waiting", len(s.offers), "err", err)
		return nil
	}
	if err != nil || len(acquired) == 0 && s.state.Offers == len(s.offers) {
		return err
	}
	s.state.Jobs = append(s.state.Jobs, acquired...)
	s.state.Offers = len(s.offers)
	s.emit()
	return nil
}

// jobNews are the job messages the cluster side records: the offers acquired (from this
// message or earlier ones; the others are for other scale sets, or wait for room) and every
// assignment, start and completion.
func jobNews(jobs []actions.JobMessage, acquired []actions.JobMessage) []actions.JobMessage {
	out := slices.Clone(acquired)
	for _, j := range jobs {
		if j.MessageType != actions.JobMessageAvailable {
			out = append(out, j)
		}
	}
	return out
}

// ack acknowledges a message, unless the Actions Service rate-limits the credentials: then the
// message stays in the queue, neither acknowledged nor acted on, so none of its news is lost and
// the jobs it offers stay available (not acquired) for other scale sets until it comes again.
func (s *Session) ack(ctx context.Context, client ScaleSetClient, session MessageSession, id int64) error {
	if client.RateLimitedUntil(ratelimit.APIActions).After(s.cfg.Clock.Now()) {
		return errHeldBack
	}
	if err := session.DeleteMessage(ctx, id); err != nil {
		return fmt.Errorf("acknowledging message %d: %w", id, err)
	}
	return nil
}

// ValidStatistics refuses counts no service sends: a negative count would be taken for fewer
// jobs and remove idle runners.
func ValidStatistics(st *actions.Statistics) bool {
	if st == nil {
		return true
	}
	for _, n := range []int{st.TotalAvailableJobs, st.TotalAcquiredJobs, st.TotalAssignedJobs, st.TotalRunningJobs,
		st.TotalRegisteredRunners, st.TotalBusyRunners, st.TotalIdleRunners} {
		if n < 0 {
			return false
		}
	}
	return true
}
