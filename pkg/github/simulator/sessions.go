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
	"time"

	"k8s.io/klog/v2"
)

// Message sessions expire when nobody uses them. A listener that dies without deleting its
// session (OOM, node loss) leaves it open on the service, and the next listener of the scale
// set meets 409 until the service expires it (reference §3.1, ARC issue #4285). Idle means no
// request of the holder (create, refresh, poll, acknowledge, acquire) for SessionIdleTimeout; a
// held long poll is never idle. Expiry is checked where a session is used, so a fake clock's
// Step takes effect on the next request, and by the timekeeper, so that Sessions and
// statistics do not show a dead session for ever.

// touchLocked records that sess's holder was heard from at now.
func (st *state) touchLocked(sess *session, now time.Time) {
	sess.lastActive = now
	if st.sessionIdle > 0 {
		st.scheduleLocked(now.Add(st.sessionIdle))
	}
}

// expiresLocked is when sess expires; zero when it does not (no expiry, or a poll is held).
func (st *state) expiresLocked(sess *session) time.Time {
	if st.sessionIdle <= 0 || sess.polls > 0 {
		return time.Time{}
	}
	return sess.lastActive.Add(st.sessionIdle)
}

// expireLocked ends sess if it has been idle too long at now, and reports whether it did.
func (st *state) expireLocked(sess *session, now time.Time) bool {
	if sess == nil {
		return false
	}
	at := st.expiresLocked(sess)
	if at.IsZero() || now.Before(at) {
		return false
	}
	klog.V(2).InfoS("Message session expired: its holder went quiet", "scaleSetID", sess.scaleSet.rs.ID,
		"sessionID", sess.id, "idle", now.Sub(sess.lastActive))
	st.endSessionLocked(sess)
	return true
}

// endSessionLocked ends a session: its id and queue tokens are unknown from now on, and the
// undeleted messages of its queue stay for the next session. Held polls end with 202.
func (st *state) endSessionLocked(sess *session) {
	delete(st.sessions, sess.id)
	if ss := sess.scaleSet; ss.session == sess {
		ss.session = nil
		ss.wakeLocked()
	}
}

// sweepSessionsLocked ends every session idle too long at now and returns the next expiry
// (zero: none).
func (st *state) sweepSessionsLocked(now time.Time) time.Time {
	var next time.Time
	for _, sess := range st.sessions {
		if st.expireLocked(sess, now) {
			continue
		}
		next = earliest(next, st.expiresLocked(sess))
	}
	return next
}

// earliest is the earlier of two times, a zero time counting as none.
func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// SetSessionIdleTimeout changes Options.SessionIdleTimeout while the simulator runs (negative:
// sessions never expire; zero: the default). Sessions idle longer than the new timeout end at
// once.
func (s *Simulator) SetSessionIdleTimeout(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state.sessionIdle = sessionIdleOrDefault(d)
	s.state.sweepSessionsLocked(s.clock.Now())
	s.state.armed = time.Time{} // recompute the next deadline
	s.kick()
}

// SessionIdleTimeout is the current idle timeout of message sessions (negative: none).
func (s *Simulator) SessionIdleTimeout() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state.sessionIdle
}

func sessionIdleOrDefault(d time.Duration) time.Duration {
	if d == 0 {
		return DefaultSessionIdleTimeout
	}
	return d
}
