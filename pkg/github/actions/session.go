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
	"context"
	"errors"
	"sync"
	"time"

	"actions.dev/runnerset-apiserver/pkg/github/auth"
)

// ErrSessionClosed is returned by a MessageSession's calls after Close.
var ErrSessionClosed = errors.New("message session closed")

// queueTokenRefreshBefore: a message queue token that is a JWT is refreshed this long before its
// exp, so a listener rarely meets a 401 at all.
const queueTokenRefreshBefore = 60 * time.Second

// MessageSession is one open message session of a scale set: it carries the message queue URL
// and token, refreshes the token when a queue call answers 401 (or shortly before a JWT token
// expires) and repeats the call once. It is safe for concurrent use; concurrent refreshes are
// collapsed into one.
type MessageSession struct {
	c          *Client
	scaleSetID int

	refreshMu sync.Mutex // serializes refreshes

	mu      sync.Mutex
	session Session
	closed  bool // no more queue calls
	deleted bool // the service no longer has the session
}

// OpenSession creates the scale set's message session. ErrSessionConflict when another session is
// active (a crashed listener's session stays until the service expires it: back off and retry),
// ErrScaleSetNotFound when the scale set is gone.
func OpenSession(ctx context.Context, c *Client, scaleSetID int, owner string) (*MessageSession, error) {
	s, err := c.CreateSession(ctx, scaleSetID, owner)
	if err != nil {
		return nil, err
	}
	return &MessageSession{c: c, scaleSetID: scaleSetID, session: *s}, nil
}

// ScaleSetID is the scale set the session belongs to.
func (s *MessageSession) ScaleSetID() int { return s.scaleSetID }

// Session returns a copy of the session as last received from the service, including the
// statistics snapshot of its creation (later refreshes replace them when they carry some).
func (s *MessageSession) Session() *Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.session
	if c.Statistics != nil {
		st := *c.Statistics
		c.Statistics = &st
	}
	return &c
}

func (s *MessageSession) current() (queueURL, token string, closed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.session.MessageQueueURL, s.session.MessageQueueAccessToken, s.closed
}

// refresh replaces the queue token unless another caller already replaced stale.
func (s *MessageSession) refresh(ctx context.Context, stale string) error {
	s.refreshMu.Lock()
	defer s.refreshMu.Unlock()
	s.mu.Lock()
	id, tok, closed := s.session.SessionID, s.session.MessageQueueAccessToken, s.closed
	s.mu.Unlock()
	if closed {
		return ErrSessionClosed
	}
	if tok != stale {
		return nil
	}
	ns, err := s.c.RefreshSession(ctx, s.scaleSetID, id)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.session.MessageQueueAccessToken = ns.MessageQueueAccessToken
	if ns.MessageQueueURL != "" {
		s.session.MessageQueueURL = ns.MessageQueueURL
	}
	if ns.Statistics != nil {
		s.session.Statistics = ns.Statistics
	}
	if ns.RunnerScaleSet != nil {
		s.session.RunnerScaleSet = ns.RunnerScaleSet
	}
	if ns.OwnerName != "" {
		s.session.OwnerName = ns.OwnerName
	}
	return nil
}

// withQueueToken runs op with the current queue URL and token; on ErrQueueTokenExpired it
// refreshes and runs op once more. A refresh that finds the session gone is ErrSessionNotFound.
func (s *MessageSession) withQueueToken(ctx context.Context, op func(queueURL, token string) error) error {
	u, tok, closed := s.current()
	if closed {
		return ErrSessionClosed
	}
	if exp, ok := auth.TokenExpiry(tok); ok && !s.c.clock.Now().Add(queueTokenRefreshBefore).Before(exp) {
		if err := s.refresh(ctx, tok); err != nil {
			return err
		}
		u, tok, _ = s.current()
	}
	err := op(u, tok)
	if !errors.Is(err, ErrQueueTokenExpired) {
		return err
	}
	if err := s.refresh(ctx, tok); err != nil {
		return err
	}
	u, tok, closed = s.current()
	if closed {
		return ErrSessionClosed
	}
	return op(u, tok)
}

// GetMessage long-polls for the next message; nil, nil when there is none. An empty 200 from the
// broker (after the client's retries) also counts as no message: unacknowledged messages are
// redelivered, so nothing is lost.
func (s *MessageSession) GetMessage(ctx context.Context, lastMessageID int64, maxCapacity int) (*Message, error) {
	var m *Message
	err := s.withQueueToken(ctx, func(u, tok string) error {
		var err error
		m, err = s.c.GetMessage(ctx, u, tok, lastMessageID, maxCapacity)
		return err
	})
	if errors.Is(err, ErrEmptyResponse) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if m != nil && m.Statistics != nil {
		st := *m.Statistics
		s.mu.Lock()
		s.session.Statistics = &st
		s.mu.Unlock()
	}
	return m, nil
}

// DeleteMessage acknowledges a message.
func (s *MessageSession) DeleteMessage(ctx context.Context, messageID int64) error {
	return s.withQueueToken(ctx, func(u, tok string) error {
		return s.c.DeleteMessage(ctx, u, tok, messageID)
	})
}

// AcquireJobs acquires the jobs of JobAvailable messages and returns the ids acquired.
func (s *MessageSession) AcquireJobs(ctx context.Context, requestIDs []int64) ([]int64, error) {
	var ids []int64
	err := s.withQueueToken(ctx, func(_, tok string) error {
		var err error
		ids, err = s.c.AcquireJobs(ctx, s.scaleSetID, tok, requestIDs)
		return err
	})
	return ids, err
}

// Close deletes the session on the service, so the next listener does not meet a 409. A session
// (or scale set) that is already gone is fine. Queue calls after Close fail with
// ErrSessionClosed; Close itself may be called again when it failed.
func (s *MessageSession) Close(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	if s.deleted {
		s.mu.Unlock()
		return nil
	}
	id := s.session.SessionID
	s.mu.Unlock()
	err := s.c.DeleteSession(ctx, s.scaleSetID, id)
	if errors.Is(err, ErrSessionNotFound) || errors.Is(err, ErrScaleSetNotFound) {
		err = nil
	}
	if err == nil {
		s.mu.Lock()
		s.deleted = true
		s.mu.Unlock()
	}
	return err
}
