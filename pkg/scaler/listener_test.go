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

package scaler

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubefake "k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/generated/clientset/versioned/fake"
	"actions.dev/runnerset-apiserver/pkg/github/actions"
	"actions.dev/runnerset-apiserver/pkg/github/ghrest"
)

// fakeGitHub is a ScaleSetClient and ClientFactory whose sessions answer scripted polls.
type fakeGitHub struct {
	mu sync.Mutex
	// polls are the answers of successive GetMessage calls of the next session; when they run
	// out, GetMessage blocks until its context ends.
	polls []error
	// openErrs are the answers of successive OpenSession calls (nil opens a session).
	openErrs []error
	opened   []string // session ids handed out
	deleted  []string // DeleteSession calls
	closed   int      // session Close calls
	closeErr error    // what Close answers
	// deletedScaleSets are the DeleteScaleSet calls.
	deletedScaleSets []int
	scaleSet         *actions.RunnerScaleSet
}

func (f *fakeGitHub) ForRunnerSet(context.Context, *v1alpha1.RunnerSet) (ScaleSetClient, error) {
	return f, nil
}

func (f *fakeGitHub) GetRunnerGroupByName(context.Context, string) (*actions.RunnerGroup, error) {
	return &actions.RunnerGroup{ID: 1, Name: "Default"}, nil
}

func (f *fakeGitHub) GetScaleSet(context.Context, int, string) (*actions.RunnerScaleSet, error) {
	return f.scaleSet, nil
}

func (f *fakeGitHub) GetScaleSetByID(context.Context, int) (*actions.RunnerScaleSet, error) {
	return f.scaleSet, nil
}

func (f *fakeGitHub) CreateScaleSet(_ context.Context, ss *actions.RunnerScaleSet) (*actions.RunnerScaleSet, error) {
	return f.scaleSet, nil
}

func (f *fakeGitHub) DeleteScaleSet(_ context.Context, id int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deletedScaleSets = append(f.deletedScaleSets, id)
	return nil
}

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
	id := "session-" + string(rune('a'+len(f.opened)))
	f.opened = append(f.opened, id)
	return &fakeSession{f: f, id: id}, nil
}

type fakeSession struct {
	f  *fakeGitHub
	id string
}

func (s *fakeSession) Session() *actions.Session {
	return &actions.Session{SessionID: s.id, Statistics: &actions.Statistics{}}
}

func (s *fakeSession) GetMessage(ctx context.Context, _ int64, _ int) (*actions.Message, error) {
	s.f.mu.Lock()
	if len(s.f.polls) > 0 {
		err := s.f.polls[0]
		s.f.polls = s.f.polls[1:]
		s.f.mu.Unlock()
		return nil, err
	}
	s.f.mu.Unlock()
	<-ctx.Done()
	return nil, ctx.Err()
}

func (s *fakeSession) DeleteMessage(context.Context, int64) error { return nil }

func (s *fakeSession) AcquireJobs(context.Context, []int64) ([]int64, error) { return nil, nil }

func (s *fakeSession) Close(context.Context) error {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	s.f.closed++
	return s.f.closeErr
}

func testWorker(t *testing.T, gh *fakeGitHub) *worker {
	t.Helper()
	rs := &v1alpha1.RunnerSet{
		ObjectMeta: metav1.ObjectMeta{Name: "rs", Namespace: "ns", UID: "uid", Generation: 1, Finalizers: []string{v1alpha1.RunnerSetFinalizer}},
		Spec:       v1alpha1.RunnerSetSpec{GitHubConfigURL: "https://github.com/acme", GitHubConfigSecret: "s", RunnerScaleSetName: "rs", MaxRunners: ptr.To[int32](3)},
	}
	m := New(Config{Client: fake.NewSimpleClientset(rs.DeepCopy()), KubeClient: kubefake.NewSimpleClientset(), GitHub: gh, Identity: "me"})
	w := newWorker(m, rs)
	w.update(rs)
	return w
}

// listenReturns runs one listen and returns its error, failing the test if it does not return.
func listenReturns(t *testing.T, w *worker) error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- w.listen(ctx) }()
	select {
	case err := <-done:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("listen kept polling a session that is gone")
		return nil
	}
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
			gh := &fakeGitHub{scaleSet: &actions.RunnerScaleSet{ID: 7, Name: "rs", RunnerGroupID: 1}, polls: []error{nil, pollErr}}
			w := testWorker(t, gh)
			err := listenReturns(t, w)
			if err == nil {
				t.Fatal("listen returned no error")
			}
			if gh.closed != 1 {
				t.Errorf("session closed %d times, want 1", gh.closed)
			}
		})
	}
}

// TestListenPollsAgainWhenMaxRunnersChanges: a poll cut short because maxRunners changed is
// repeated in the same session.
func TestListenPollsAgainWhenMaxRunnersChanges(t *testing.T) {
	gh := &fakeGitHub{scaleSet: &actions.RunnerScaleSet{ID: 7, Name: "rs", RunnerGroupID: 1}}
	w := testWorker(t, gh)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.listen(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		w.mu.Lock()
		polling := w.pollCancel != nil
		w.mu.Unlock()
		if polling {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no poll started")
		}
		time.Sleep(10 * time.Millisecond)
	}
	rs := w.snapshot()
	rs.Spec.MaxRunners = ptr.To[int32](9)
	w.update(rs)
	for {
		w.mu.Lock()
		capacity, polling := w.polledCapacity, w.pollCancel != nil
		w.mu.Unlock()
		if polling && capacity == 9 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no poll with the new capacity")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("listen: %v", err)
	}
	if len(gh.opened) != 1 {
		t.Errorf("%d sessions opened, want 1", len(gh.opened))
	}
}

// TestListenSkipsMalformedMessages: a malformed answer of the long poll is skipped and the same
// session polls again. Regression: it ended the session (found by the fault suite, R5).
func TestListenSkipsMalformedMessages(t *testing.T) {
	malformed := fmt.Errorf("actions: GetMessage: %w: unexpected end of JSON input", actions.ErrMalformedMessage)
	gh := &fakeGitHub{scaleSet: &actions.RunnerScaleSet{ID: 7, Name: "rs", RunnerGroupID: 1}, polls: []error{malformed, malformed, nil}}
	w := testWorker(t, gh)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.listen(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		gh.mu.Lock()
		left := len(gh.polls)
		gh.mu.Unlock()
		if left == 0 {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("listen ended on a malformed message: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the polls after the malformed messages did not come")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	if len(gh.opened) != 1 {
		t.Errorf("%d sessions opened, want the one", len(gh.opened))
	}
}

// TestListenKeepsTheSessionIDWhenCloseFails: a session GitHub could not be told to close is
// remembered, so that the next one, meeting a 409, closes it. Regression: its id was forgotten
// and every new session met the 409 until the old one expired (found by the fault suite, R3).
func TestListenKeepsTheSessionIDWhenCloseFails(t *testing.T) {
	gh := &fakeGitHub{scaleSet: &actions.RunnerScaleSet{ID: 7, Name: "rs", RunnerGroupID: 1},
		polls: []error{errors.New("dial tcp 127.0.0.1:1: connect: connection refused")}, closeErr: errors.New("connection refused")}
	w := testWorker(t, gh)
	if err := listenReturns(t, w); err == nil {
		t.Fatal("listen returned no error")
	}
	w.mu.Lock()
	id := w.sessionID
	w.mu.Unlock()
	if id != gh.opened[0] {
		t.Fatalf("session id %q after a failed close, want %q", id, gh.opened[0])
	}
	c := meta.FindStatusCondition(w.conditions, v1alpha1.ConditionSessionActive)
	if c == nil || c.Status != metav1.ConditionFalse || c.Reason != ReasonGitHubUnreachable {
		t.Errorf("SessionActive %+v, want False GitHubUnreachable", c)
	}

	// The next session meets the stale one and closes it first.
	gh.mu.Lock()
	gh.openErrs = []error{actions.ErrSessionConflict, nil}
	gh.polls = []error{actions.ErrSessionNotFound}
	gh.closeErr = nil
	gh.mu.Unlock()
	_ = listenReturns(t, w)
	if len(gh.deleted) != 1 || gh.deleted[0] != id {
		t.Errorf("deleted sessions %v, want the stale %s", gh.deleted, id)
	}
	if len(gh.opened) != 2 {
		t.Errorf("%d sessions opened, want 2", len(gh.opened))
	}
}

// TestImpossibleStatisticsAreSkipped: negative counts never reach the desired count.
func TestImpossibleStatisticsAreSkipped(t *testing.T) {
	if validStatistics(&actions.Statistics{TotalAssignedJobs: -7}) {
		t.Error("negative assigned jobs accepted")
	}
	if !validStatistics(&actions.Statistics{TotalAssignedJobs: 3, TotalRegisteredRunners: 3}) || !validStatistics(nil) {
		t.Error("valid statistics refused")
	}
}
