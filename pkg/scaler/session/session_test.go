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
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/github/actions"
	"actions.dev/runnerset-apiserver/pkg/github/ghrest"
)

// poll is one scripted answer of GetMessage.
type poll struct {
	msg *actions.Message
	err error
}

// fakeGitHub is a ScaleSetClient and ClientFactory whose sessions answer scripted polls.
type fakeGitHub struct {
	mu sync.Mutex
	// polls are the answers of successive GetMessage calls; when they run out, GetMessage
	// blocks until its context ends.
	polls []poll
	// capacities are the capacities the polls announced.
	capacities []int
	// openErrs are the answers of successive OpenSession calls (nil opens a session).
	openErrs []error
	opened   []string // session ids handed out
	deleted  []string // DeleteSession calls
	closed   int      // session Close calls
	closeErr error    // what Close answers
	acquired []int64
	scaleSet *actions.RunnerScaleSet
	// limits are the rate limits RateLimitedUntil tells, per API.
	limits map[string]time.Time
	// groupErr is what GetRunnerGroupByName answers; scaleSetErr what GetScaleSet answers.
	groupErr, scaleSetErr error
	// acquireErr is what AcquireJobs answers; acked are the messages deleted, lastIDs the
	// lastMessageId of every poll; onPoll and onAcquire run as a poll or an acquisition answers.
	acquireErr error
	acked      []int64
	lastIDs    []int64
	onPoll     func(f *fakeGitHub)
	onAcquire  func(f *fakeGitHub)
}

func (f *fakeGitHub) ForRunnerSet(context.Context, *v1alpha1.RunnerSet) (ScaleSetClient, error) {
	return f, nil
}

func (f *fakeGitHub) GetRunnerGroupByName(context.Context, string) (*actions.RunnerGroup, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.groupErr != nil {
		return nil, f.groupErr
	}
	return &actions.RunnerGroup{ID: 1, Name: "Default"}, nil
}

func (f *fakeGitHub) GetScaleSet(context.Context, int, string) (*actions.RunnerScaleSet, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.scaleSetErr != nil {
		return nil, f.scaleSetErr
	}
	return f.scaleSet, nil
}

func (f *fakeGitHub) GetScaleSetByID(context.Context, int) (*actions.RunnerScaleSet, error) {
	return f.scaleSet, nil
}

func (f *fakeGitHub) CreateScaleSet(context.Context, *actions.RunnerScaleSet) (*actions.RunnerScaleSet, error) {
	return f.scaleSet, nil
}

func (f *fakeGitHub) DeleteScaleSet(context.Context, int) error { return nil }

func (f *fakeGitHub) DeleteSession(_ context.Context, _ int, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deleted = append(f.deleted, id)
	return nil
}

func (f *fakeGitHub) GenerateJitConfig(context.Context, int, *actions.JitRunnerSetting) (*actions.JitConfig, error) {
	return nil, errors.New("not in this test")
}

func (f *fakeGitHub) GetRunnerByName(context.Context, string) (*actions.RunnerReference, error) {
	return nil, nil
}

func (f *fakeGitHub) RemoveRunner(context.Context, int) error { return nil }

func (f *fakeGitHub) ListRunners(context.Context) ([]ghrest.Runner, error) { return nil, nil }

func (f *fakeGitHub) RateLimitedUntil(api string) time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.limits[api]
}

func (f *fakeGitHub) OpenSession(context.Context, int, string) (MessageSession, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.openErrs) > 0 {
		err := f.openErrs[0]
		f.openErrs = f.openErrs[1:]
		if err != nil {
			return nil, err
		}
	}
	id := fmt.Sprintf("session-%d", len(f.opened))
	f.opened = append(f.opened, id)
	return &fakeSession{f: f, id: id}, nil
}

func (f *fakeGitHub) pollsLeft() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.polls)
}

type fakeSession struct {
	f  *fakeGitHub
	id string
}

func (s *fakeSession) Session() *actions.Session {
	return &actions.Session{SessionID: s.id, Statistics: &actions.Statistics{}}
}

func (s *fakeSession) GetMessage(ctx context.Context, lastID int64, capacity int) (*actions.Message, error) {
	s.f.mu.Lock()
	s.f.capacities = append(s.f.capacities, capacity)
	s.f.lastIDs = append(s.f.lastIDs, lastID)
	if len(s.f.polls) > 0 {
		p := s.f.polls[0]
		s.f.polls = s.f.polls[1:]
		if s.f.onPoll != nil {
			s.f.onPoll(s.f)
		}
		s.f.mu.Unlock()
		return p.msg, p.err
	}
	s.f.mu.Unlock()
	<-ctx.Done()
	return nil, ctx.Err()
}

func (s *fakeSession) DeleteMessage(_ context.Context, id int64) error {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	s.f.acked = append(s.f.acked, id)
	return nil
}

func (s *fakeSession) AcquireJobs(_ context.Context, ids []int64) ([]int64, error) {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	if s.f.onAcquire != nil {
		s.f.onAcquire(s.f)
	}
	if s.f.acquireErr != nil {
		return nil, s.f.acquireErr
	}
	s.f.acquired = append(s.f.acquired, ids...)
	return ids, nil
}

func (s *fakeSession) Close(context.Context) error {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	s.f.closed++
	return s.f.closeErr
}

// harness is a Session of RunnerSet ns/rs over gh, recording what it publishes.
type harness struct {
	s    *Session
	gh   *fakeGitHub
	rs   atomic.Pointer[v1alpha1.RunnerSet]
	mu   sync.Mutex
	last Demand
	jobs []actions.JobMessage
}

func newHarness(t *testing.T, gh *fakeGitHub) *harness {
	t.Helper()
	return newHarnessWith(t, gh, clock.RealClock{}, nil)
}

// newHarnessWith is newHarness with a clock and an event recorder.
func newHarnessWith(t *testing.T, gh *fakeGitHub, clk clock.Clock, recorder record.EventRecorder) *harness {
	t.Helper()
	h := &harness{gh: gh}
	h.rs.Store(&v1alpha1.RunnerSet{
		ObjectMeta: metav1.ObjectMeta{Name: "rs", Namespace: "ns", UID: "uid", Generation: 1},
		Spec:       v1alpha1.RunnerSetSpec{GitHubConfigURL: "https://github.com/acme", GitHubConfigSecret: "s", RunnerScaleSetName: "rs", MaxRunners: ptr.To[int32](3)},
	})
	alive := func(context.Context, Owner) (bool, error) { return true, nil }
	cfg := Config{GitHub: gh, Registrar: &Registrar{Claims: NewClaims(fake.NewClientset().CoreV1(), "srv", alive)}, Clock: clk, Recorder: recorder, Identity: "me"}
	h.s = New(cfg, h.rs.Load, Demand{}, func(d Demand) {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.last = d
		h.jobs = append(h.jobs, d.Jobs...)
	})
	return h
}

func (h *harness) published() Demand {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.last
}

// listen runs listen in the background; the returned function stops it and returns its error.
func (h *harness) listen() (stop func() error, done <-chan error) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan error, 1)
	go func() { ch <- h.s.listen(ctx) }()
	return func() error { cancel(); return <-ch }, ch
}

// listenReturns runs one listen and returns its error, failing the test if it does not return.
func (h *harness) listenReturns(t *testing.T) error {
	t.Helper()
	stop, done := h.listen()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		_ = stop()
		t.Fatal("listen kept polling a session that is gone")
		return nil
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal(what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func scaleSet7() *actions.RunnerScaleSet {
	return &actions.RunnerScaleSet{ID: 7, Name: "rs", RunnerGroupID: 1}
}

// TestListenEndsWhenTheSessionIsGone: a poll that fails because the session or the scale set is
// gone ends the session, so that the next one is opened (or the scale set registered again).
// Regression: every poll error used to be taken for a maxRunners change and polled again, for
// ever (found by the fault suite, R1).
func TestListenEndsWhenTheSessionIsGone(t *testing.T) {
	for name, pollErr := range map[string]error{
		"session gone":   actions.ErrSessionNotFound,
		"scale set gone": actions.ErrScaleSetNotFound,
		"server error":   errors.New("500 after 5 attempts"),
	} {
		t.Run(name, func(t *testing.T) {
			gh := &fakeGitHub{scaleSet: scaleSet7(), polls: []poll{{}, {err: pollErr}}}
			h := newHarness(t, gh)
			require.Error(t, h.listenReturns(t))
			assert.Equal(t, 1, gh.closed, "the session is closed")
			d := h.published()
			assert.False(t, d.Listening)
			if errors.Is(pollErr, actions.ErrScaleSetNotFound) {
				assert.Zero(t, d.ScaleSetID, "a lost scale set is forgotten")
			}
		})
	}
}

// TestListenPollsAgainWhenCapacityChanges: a poll cut short because the capacity changed is
// repeated in the same session, announcing the new capacity.
func TestListenPollsAgainWhenCapacityChanges(t *testing.T) {
	gh := &fakeGitHub{scaleSet: scaleSet7()}
	h := newHarness(t, gh)
	stop, _ := h.listen()
	eventually(t, "no poll started", func() bool { gh.mu.Lock(); defer gh.mu.Unlock(); return len(gh.capacities) == 1 })

	h.s.SetLimits(Limits{Capacity: 9})
	eventually(t, "no poll with the new capacity", func() bool {
		gh.mu.Lock()
		defer gh.mu.Unlock()
		return len(gh.capacities) == 2 && gh.capacities[1] == 9
	})
	h.s.SetLimits(Limits{Capacity: 9}) // the same capacity: the poll goes on
	require.NoError(t, stop())
	assert.Equal(t, []int{3, 9}, gh.capacities)
	assert.Len(t, gh.opened, 1)
}

// TestListenSkipsMalformedMessages: a malformed answer of the long poll is skipped and the same
// session polls again. Regression: it ended the session (found by the fault suite, R5).
func TestListenSkipsMalformedMessages(t *testing.T) {
	malformed := fmt.Errorf("actions: GetMessage: %w: unexpected end of JSON input", actions.ErrMalformedMessage)
	gh := &fakeGitHub{scaleSet: scaleSet7(), polls: []poll{{err: malformed}, {err: malformed}, {}}}
	h := newHarness(t, gh)
	stop, done := h.listen()
	eventually(t, "the polls after the malformed messages did not come", func() bool {
		select {
		case err := <-done:
			t.Fatalf("listen ended on a malformed message: %v", err)
		default:
		}
		return gh.pollsLeft() == 0
	})
	require.NoError(t, stop())
	assert.Len(t, gh.opened, 1)
}

// TestListenKeepsTheSessionIDWhenCloseFails: a session GitHub could not be told to close is
// remembered, so that the next one, meeting a 409, closes it. Regression: its id was forgotten
// and every new session met the 409 until the old one expired (found by the fault suite, R3).
func TestListenKeepsTheSessionIDWhenCloseFails(t *testing.T) {
	gh := &fakeGitHub{scaleSet: scaleSet7(),
		polls: []poll{{err: errors.New("dial tcp 127.0.0.1:1: connect: connection refused")}}, closeErr: errors.New("connection refused")}
	h := newHarness(t, gh)
	require.Error(t, h.listenReturns(t))
	d := h.published()
	assert.Equal(t, gh.opened[0], d.SessionID, "kept after a failed close")
	c := meta.FindStatusCondition(d.Conditions, v1alpha1.ConditionSessionActive)
	require.NotNil(t, c)
	assert.Equal(t, ReasonGitHubUnreachable, c.Reason)
	assert.False(t, d.FailingSince.IsZero(), "GitHub counts as failing")

	gh.mu.Lock()
	gh.openErrs = []error{actions.ErrSessionConflict, nil}
	gh.polls = []poll{{err: actions.ErrSessionNotFound}}
	gh.closeErr = nil
	gh.mu.Unlock()
	_ = h.listenReturns(t)
	assert.Equal(t, []string{d.SessionID}, gh.deleted, "the next session closes the stale one first")
	assert.Len(t, gh.opened, 2)
	assert.Empty(t, h.published().SessionID, "closed this time")
}

// TestListenPublishesJobsAndStatistics: a message's jobs are acquired and its JobStarted and
// JobCompleted messages and statistics published, none lost.
func TestListenPublishesJobsAndStatistics(t *testing.T) {
	body, _ := json.Marshal([]actions.JobMessage{
		{MessageType: actions.JobMessageAvailable, RunnerRequestID: 1},
		{MessageType: actions.JobMessageStarted, RunnerRequestID: 2, RunnerName: "rs-a"},
		{MessageType: actions.JobMessageCompleted, RunnerRequestID: 3, RunnerName: "rs-b", Result: "succeeded"},
	})
	stats := &actions.Statistics{TotalAssignedJobs: 2, TotalRunningJobs: 1}
	gh := &fakeGitHub{scaleSet: scaleSet7(), polls: []poll{
		{msg: &actions.Message{MessageID: 1, MessageType: actions.MessageTypeJobMessages, Body: string(body), Statistics: stats}},
		{msg: &actions.Message{MessageID: 2, MessageType: actions.MessageTypeJobMessages, Body: "[", Statistics: &actions.Statistics{TotalAssignedJobs: -1}}},
	}}
	h := newHarness(t, gh)
	stop, _ := h.listen()
	eventually(t, "the messages were not handled", func() bool { return gh.pollsLeft() == 0 && h.published().LastMessage != nil })
	require.NoError(t, stop())
	assert.Equal(t, []int64{1}, gh.acquired)
	h.mu.Lock()
	defer h.mu.Unlock()
	require.Len(t, h.jobs, 3, "the offer acquired, the start and the completion")
	assert.Equal(t, int64(1), h.jobs[0].RunnerRequestID)
	assert.Equal(t, "rs-a", h.jobs[1].RunnerName)
	assert.Equal(t, "succeeded", h.jobs[2].Result)
	assert.Equal(t, stats, h.last.Stats, "impossible statistics are skipped, the last good ones kept")
	assert.Equal(t, 7, h.last.ScaleSetID)
}

func TestDemandMergeKeepsEveryJob(t *testing.T) {
	a := Demand{ScaleSetID: 1, Jobs: []actions.JobMessage{{RunnerRequestID: 1}}}
	b := Demand{ScaleSetID: 2, Jobs: []actions.JobMessage{{RunnerRequestID: 2}}}
	m := a.Merge(b)
	assert.Equal(t, 2, m.ScaleSetID, "the newest state")
	assert.Equal(t, []int64{1, 2}, []int64{m.Jobs[0].RunnerRequestID, m.Jobs[1].RunnerRequestID})
	assert.Len(t, b.Jobs, 1, "a published Demand is never modified")
	assert.False(t, m.Ready())
}

// TestImpossibleStatisticsAreSkipped: negative counts never reach the desired count.
func TestImpossibleStatisticsAreSkipped(t *testing.T) {
	assert.False(t, ValidStatistics(&actions.Statistics{TotalAssignedJobs: -7}))
	assert.True(t, ValidStatistics(&actions.Statistics{TotalAssignedJobs: 3, TotalRegisteredRunners: 3}))
	assert.True(t, ValidStatistics(nil))
}

func TestMaxCapacity(t *testing.T) {
	assert.Equal(t, math.MaxInt32, MaxCapacity(nil))
	assert.Equal(t, 5, MaxCapacity(ptr.To[int32](5)))
}
