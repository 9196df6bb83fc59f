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

// Package session is the GitHub side of a RunnerSet: its client, its scale set, its message
// session with the Actions Service, the jobs it acquires, the statistics and the GitHub
// conditions. It publishes all of it as a Demand and changes nothing in the cluster.
package session

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/github/actions"
)

// Config is what every Session shares.
type Config struct {
	// GitHub builds a RunnerSet's client from its Secret, proxy and CA.
	GitHub ClientFactory
	// Registrar registers the scale sets, minding who owns which.
	Registrar *Registrar
	Recorder  record.EventRecorder
	Clock     clock.Clock
	// Identity names this replica as the owner of its message sessions.
	Identity string
	// Budget is the server's budget of runner registrations, shared by every session: each job
	// acquired takes a token (nil: no budget).
	Budget *Bucket
}

// Session holds one RunnerSet's GitHub session until its context ends. Everything it knows is
// written by its own goroutine (Run) and published, a copy at a time, through publish.
type Session struct {
	cfg       Config
	runnerSet func() *v1alpha1.RunnerSet
	publish   func(Demand)
	state     Demand
	poll      pollControl
	// offers, acquiredSince and scaleUp gate acquisition (capacity.go); the session goroutine
	// is their one writer.
	offers        []offer
	acquiredSince int
	scaleUp       *Bucket
}

// New returns the session of the RunnerSet runnerSet returns (the newest known), starting from
// what its status says (scale set, session and conditions), and publishing to publish.
func New(cfg Config, runnerSet func() *v1alpha1.RunnerSet, initial Demand, publish func(Demand)) *Session {
	initial.Jobs, initial.Client, initial.Listening = nil, nil, false
	s := &Session{cfg: cfg, runnerSet: runnerSet, publish: publish, state: initial}
	if rs := runnerSet(); rs != nil {
		s.poll.limits = Limits{Capacity: MaxCapacity(rs.Spec.MaxRunners), ScaleUp: rs.Spec.ScaleUp}
	}
	return s
}

func (s *Session) emit() {
	d := s.state
	d.Conditions = append([]metav1.Condition(nil), s.state.Conditions...)
	s.publish(d)
	s.state.Jobs = nil // handed over
}

// Run keeps a session open, retrying with a backoff, until ctx ends: nothing GitHub does ends
// it, every failure is a condition.
func (s *Session) Run(ctx context.Context) {
	logger := klog.FromContext(ctx)
	failures := 0
	for ctx.Err() == nil {
		err := s.listen(ctx)
		if ctx.Err() != nil {
			return
		}
		failures++
		delay := s.retryDelay(failures, err)
		logger.Info("GitHub session ended; retrying", "err", err, "retryIn", delay)
		s.emit() // the status says why
		select {
		case <-ctx.Done():
			return
		case <-s.cfg.Clock.After(delay):
		}
		if errors.Is(err, errHealthy) {
			failures = 0
		}
	}
}

// errHealthy marks a session that worked for a while before ending: retry at once.
var errHealthy = errors.New("session ended after working")

// backoff is 1 s doubling to 60 s, with jitter; a session conflict waits 30-45 s, as the other
// holder's session has to expire.
func backoff(failures int, err error) time.Duration {
	if errors.Is(err, errHealthy) {
		return 0
	}
	if errors.Is(err, actions.ErrSessionConflict) {
		return 30*time.Second + time.Duration(rand.Int64N(int64(15*time.Second)))
	}
	d := min(time.Second<<min(failures-1, 6), time.Minute)
	return d + time.Duration(rand.Int64N(int64(d/5)+1))
}

// listen runs one session: client, scale set, message session, long polls.
func (s *Session) listen(ctx context.Context) error {
	rs := s.runnerSet()
	if rs == nil {
		return errors.New("RunnerSet not known yet")
	}
	client, group, err := s.connect(ctx, rs)
	if err != nil {
		return err
	}
	ss, err := s.register(ctx, client, rs, group)
	if err != nil {
		return err
	}
	session, err := s.open(ctx, client, rs, ss.ID)
	if err != nil {
		return err
	}
	started := s.cfg.Clock.Now()
	lost := s.pollAll(ctx, client, session, ss.ID)
	if ctx.Err() != nil {
		lost = nil // stopped, not lost
	}
	s.closeSession(ctx, session, lost)
	if lost != nil && s.cfg.Clock.Since(started) > time.Minute {
		return fmt.Errorf("%w: %v", errHealthy, lost)
	}
	return lost
}

// connect builds the client and looks up the runner group. The default group is known without
// asking GitHub, so the credentials are proven by the scale set lookup (register), not here.
func (s *Session) connect(ctx context.Context, rs *v1alpha1.RunnerSet) (ScaleSetClient, *actions.RunnerGroup, error) {
	client, err := s.cfg.GitHub.ForRunnerSet(ctx, rs)
	if err != nil {
		s.authFailed(err)
		return nil, nil, err
	}
	group, err := client.GetRunnerGroupByName(ctx, rs.Spec.RunnerGroup)
	if err != nil {
		s.authFailed(err)
		return nil, nil, err
	}
	s.state.Client = client
	return client, group, nil
}

// register finds or creates the scale set.
func (s *Session) register(ctx context.Context, client ScaleSetClient, rs *v1alpha1.RunnerSet, group *actions.RunnerGroup) (*actions.RunnerScaleSet, error) {
	ss, err := s.cfg.Registrar.Ensure(ctx, client, rs, group)
	var taken *ScaleSetTakenError
	switch {
	case errors.As(err, &taken):
		s.setCondition(v1alpha1.ConditionScaleSetRegistered, metav1.ConditionFalse, ReasonScaleSetNameTaken, err.Error())
		s.event(rs, corev1.EventTypeWarning, ReasonScaleSetNameTaken, "%v", err)
		return nil, err
	case err != nil:
		s.gitHubError(rs, client, err)
		s.setCondition(v1alpha1.ConditionScaleSetRegistered, metav1.ConditionFalse, unreachable(err), err.Error())
		return nil, err
	}
	// The scale set lookup went through the token chain: GitHub accepts the credentials.
	s.ok()
	s.authenticated(rs)
	s.noteRateLimits(rs, s.rateLimits(client, nil))
	s.state.ScaleSetID, s.state.RunnerGroupID = ss.ID, group.ID
	s.setCondition(v1alpha1.ConditionScaleSetRegistered, metav1.ConditionTrue, ReasonRegistered,
		fmt.Sprintf("scale set %q (id %d) in runner group %q", ss.Name, ss.ID, group.Name))
	s.emit()
	return ss, nil
}

// open opens the message session; a conflict with the session this RunnerSet held before (a
// crash, a new leader) closes that one rather than waiting for it to expire.
func (s *Session) open(ctx context.Context, client ScaleSetClient, rs *v1alpha1.RunnerSet, scaleSetID int) (MessageSession, error) {
	session, err := client.OpenSession(ctx, scaleSetID, s.cfg.Identity)
	if stale := s.state.SessionID; errors.Is(err, actions.ErrSessionConflict) && stale != "" {
		klog.FromContext(ctx).Info("Session conflict: closing the previous session", "sessionID", stale)
		if derr := client.DeleteSession(ctx, scaleSetID, stale); derr == nil || errors.Is(derr, actions.ErrSessionNotFound) {
			session, err = client.OpenSession(ctx, scaleSetID, s.cfg.Identity)
		}
	}
	switch {
	case errors.Is(err, actions.ErrSessionConflict):
		s.setCondition(v1alpha1.ConditionSessionActive, metav1.ConditionFalse, ReasonSessionConflict,
			"another listener holds this scale set's session; retrying until it is released or expires")
		return nil, err
	case err != nil:
		s.gitHubError(rs, client, err)
		s.setCondition(v1alpha1.ConditionSessionActive, metav1.ConditionFalse, unreachable(err), err.Error())
		if errors.Is(err, actions.ErrScaleSetNotFound) {
			s.scaleSetLost(rs, scaleSetID)
		}
		return nil, err
	}
	s.state.SessionID, s.state.Listening = session.Session().SessionID, true
	if st := session.Session().Statistics; st != nil {
		s.state.Stats = st
	}
	s.ok()
	s.setCondition(v1alpha1.ConditionSessionActive, metav1.ConditionTrue, ReasonSessionOpen, "listening for jobs")
	s.event(rs, corev1.EventTypeNormal, "SessionOpened", "Listening for jobs of scale set %d", scaleSetID)
	s.emit()
	return session, nil
}

// closeSession closes the message session, even while shutting down, so the next holder gets
// no 409. lost is why GitHub ended it, if it did; the condition says so.
func (s *Session) closeSession(ctx context.Context, session MessageSession, lost error) {
	switch {
	case lost != nil && !errors.Is(lost, actions.ErrSessionNotFound) && !errors.Is(lost, actions.ErrScaleSetNotFound):
		s.setCondition(v1alpha1.ConditionSessionActive, metav1.ConditionFalse, unreachable(lost), "lost the message session: "+lost.Error())
	case lost != nil:
		s.setCondition(v1alpha1.ConditionSessionActive, metav1.ConditionFalse, ReasonSessionLost, "GitHub ended the message session; opening a new one")
	default:
		s.setCondition(v1alpha1.ConditionSessionActive, metav1.ConditionFalse, ReasonSessionLost, "the session is closed")
	}
	s.state.Listening = false
	s.emit() // the status says so while the session is being closed
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := session.Close(cctx); err != nil {
		// Still open on GitHub (unreachable, say): keep its id, so that the next session
		// meeting a 409 closes it instead of waiting for it to expire.
		klog.FromContext(ctx).V(2).Info("Closing the session failed", "err", err)
		return
	}
	s.state.SessionID = ""
	s.emit()
}

// scaleSetLost forgets a scale set GitHub deleted; the next session registers it again, and
// the cluster side removes the runners of the old one, whose registrations went with it.
func (s *Session) scaleSetLost(rs *v1alpha1.RunnerSet, id int) {
	s.state.ScaleSetID, s.state.SessionID = 0, ""
	s.setCondition(v1alpha1.ConditionScaleSetRegistered, metav1.ConditionFalse, ReasonScaleSetLost,
		fmt.Sprintf("scale set %d was deleted on GitHub; registering it again", id))
	s.event(rs, corev1.EventTypeWarning, "ScaleSetLost", "Scale set %d was deleted on GitHub; registering it again", id)
	s.emit()
}

func (s *Session) event(rs *v1alpha1.RunnerSet, eventType, reason, messageFmt string, args ...any) {
	if s.cfg.Recorder != nil && rs != nil {
		s.cfg.Recorder.Eventf(rs, eventType, reason, messageFmt, args...)
	}
}

// MaxCapacity is what the long poll announces in X-ScaleSetMaxCapacity.
func MaxCapacity(maxRunners *int32) int {
	if maxRunners == nil {
		return math.MaxInt32
	}
	return int(*maxRunners)
}

// pollControl lets the worker end a long poll whose announced capacity is stale, and hand over
// the limits (capacity.go).
type pollControl struct {
	mu       sync.Mutex
	cancel   context.CancelFunc
	capacity int
	// offers is whether offers wait for room while the poll is held.
	offers bool
	limits Limits
}

func (p *pollControl) start(cancel context.CancelFunc, capacity int, offers bool) {
	p.mu.Lock()
	p.cancel, p.capacity, p.offers = cancel, capacity, offers
	p.mu.Unlock()
}

func (p *pollControl) end() {
	p.mu.Lock()
	p.cancel = nil
	p.mu.Unlock()
}
