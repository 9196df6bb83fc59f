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
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/record"
	testingclock "k8s.io/utils/clock/testing"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/github/actions"
	"actions.dev/runnerset-apiserver/pkg/github/auth"
	"actions.dev/runnerset-apiserver/pkg/github/ratelimit"
)

// listenInBackground runs listen until the returned function (or the test's end) stops it.
func (h *harness) listenInBackground(t *testing.T) func() error {
	stop, _ := h.listen()
	once := sync.OnceValue(stop)
	t.Cleanup(func() { _ = once() })
	return once
}

func conditionOf(conds []metav1.Condition, ctype string) metav1.Condition {
	if c := meta.FindStatusCondition(conds, ctype); c != nil {
		return *c
	}
	return metav1.Condition{}
}

// events drains what the recorder holds.
func events(r *record.FakeRecorder) []string {
	var out []string
	for {
		select {
		case e := <-r.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

func rateLimit(api string, until time.Time) *ratelimit.Error {
	return &ratelimit.Error{API: api, Until: until, Kind: ratelimit.KindSecondary, Status: 429, Message: "Too many requests"}
}

// TestGitHubRefusalsSayWhy: what the token chain found out about a refusal is
// GitHubAuthenticated's reason, with a Warning event when it is new; a rate limit leaves
// GitHubAuthenticated alone and turns RateLimited True.
func TestGitHubRefusalsSayWhy(t *testing.T) {
	until := time.Now().Add(time.Hour)
	access := func(reason string) error {
		return fmt.Errorf("actions: GetRunnerGroupByName: getting an admin token: %w", &auth.AccessError{Reason: reason, Status: 403, Message: "why: " + reason})
	}
	for _, tc := range []struct {
		name   string
		err    error
		open   bool   // the refusal comes when opening the session, not connecting
		lookup bool   // it comes from the scale set lookup (the default runner group needs no call)
		reason string // GitHubAuthenticated's; "": still True
		event  string // the Warning event's reason, "" for none
	}{
		{"not found", access(ReasonNotFound), false, false, ReasonNotFound, ReasonNotFound},
		{"not found looking up the scale set", access(ReasonNotFound), false, true, ReasonNotFound, ReasonNotFound},
		{"insufficient scope", access(ReasonInsufficientScope), false, false, ReasonInsufficientScope, ReasonInsufficientScope},
		{"insufficient permission", access(ReasonInsufficientPermission), true, false, ReasonInsufficientPermission, ReasonInsufficientPermission},
		{"app not installed", access(ReasonAppNotInstalled), true, false, ReasonAppNotInstalled, ReasonAppNotInstalled},
		{"unauthorized", fmt.Errorf("x: %w", auth.ErrUnauthorized), false, false, ReasonUnauthorized, ""},
		{"rate limited connecting", fmt.Errorf("x: %w", rateLimit(ratelimit.APIREST, until)), false, false, "", ReasonRateLimited},
		{"rate limited opening", fmt.Errorf("x: %w", rateLimit(ratelimit.APIActions, until)), true, false, "", ReasonRateLimited},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gh := &fakeGitHub{scaleSet: scaleSet7()}
			switch {
			case tc.open:
				gh.openErrs = []error{tc.err, tc.err}
			case tc.lookup:
				gh.scaleSetErr = tc.err
			default:
				gh.groupErr = tc.err
			}
			rec := record.NewFakeRecorder(10)
			h := newHarnessWith(t, gh, testingclock.NewFakeClock(time.Now()), rec)
			h.s.authenticated(h.rs.Load())
			require.Error(t, h.listenReturns(t))
			if !tc.open {
				// The same refusal again: no second event. (Opening, the refusal follows an
				// authentication that worked: it turns the condition False again.)
				require.Error(t, h.listenReturns(t))
			}

			authn := conditionOf(h.s.state.Conditions, v1alpha1.ConditionGitHubAuthenticated)
			limited := conditionOf(h.s.state.Conditions, v1alpha1.ConditionRateLimited)
			if tc.reason == "" {
				assert.Equal(t, metav1.ConditionTrue, authn.Status, "a rate limit says nothing of the credentials")
				assert.Equal(t, [2]string{string(metav1.ConditionTrue), ReasonRateLimited}, [2]string{string(limited.Status), limited.Reason})
				var rl *ratelimit.Error
				require.ErrorAs(t, tc.err, &rl)
				assert.Contains(t, limited.Message, rl.API)
				assert.Contains(t, limited.Message, until.UTC().Format(time.RFC3339))
			} else {
				assert.Equal(t, [2]string{string(metav1.ConditionFalse), tc.reason}, [2]string{string(authn.Status), authn.Reason})
				assert.Contains(t, authn.Message, tc.err.Error()[strings.LastIndex(tc.err.Error(), ":")+1:])
			}
			assertOneWarning(t, rec, tc.event)
		})
	}
}

// assertOneWarning checks that the recorder holds one Warning event of reason, or none when
// reason is "".
func assertOneWarning(t *testing.T, rec *record.FakeRecorder, reason string) {
	t.Helper()
	evs := events(rec)
	if reason == "" {
		assert.Empty(t, evs)
		return
	}
	require.Len(t, evs, 1, "one event per change: %q", evs)
	assert.True(t, strings.HasPrefix(evs[0], corev1.EventTypeWarning+" "+reason+" "), evs[0])
}

// TestSessionWaitsForTheActionsServiceLimit: while the Actions Service rate-limits the
// credentials the session keeps its message session but does not poll; RateLimited says until
// when; once the limit ends it polls again and RateLimited turns False.
func TestSessionWaitsForTheActionsServiceLimit(t *testing.T) {
	fc := testingclock.NewFakeClock(time.Now())
	until := fc.Now().Add(2 * time.Minute)
	gh := &fakeGitHub{scaleSet: scaleSet7(), limits: map[string]time.Time{ratelimit.APIActions: until}}
	rec := record.NewFakeRecorder(10)
	h := newHarnessWith(t, gh, fc, rec)
	stop := h.listenInBackground(t)

	eventually(t, "the session did not wait", fc.HasWaiters)
	c := conditionOf(h.published().Conditions, v1alpha1.ConditionRateLimited)
	assert.Equal(t, [2]string{string(metav1.ConditionTrue), ReasonRateLimited}, [2]string{string(c.Status), c.Reason})
	assert.Contains(t, c.Message, "calls to the Actions Service are held back until "+until.UTC().Format(time.RFC3339))
	assert.Contains(t, c.Message, "credentials in s")
	gh.mu.Lock()
	assert.Empty(t, gh.capacities, "no poll while rate-limited")
	gh.mu.Unlock()
	assert.True(t, conditionOf(h.published().Conditions, v1alpha1.ConditionSessionActive).Status == metav1.ConditionTrue, "the session is kept")
	evs := events(rec)
	require.NotEmpty(t, evs)
	assert.Contains(t, strings.Join(evs, "\n"), "Warning RateLimited GitHub rate-limits the credentials in s")

	fc.Step(time.Minute)
	gh.mu.Lock()
	assert.Empty(t, gh.capacities, "still no poll")
	gh.mu.Unlock()
	fc.Step(time.Minute)
	eventually(t, "no poll after the limit ended", func() bool { gh.mu.Lock(); defer gh.mu.Unlock(); return len(gh.capacities) == 1 })
	c = conditionOf(h.published().Conditions, v1alpha1.ConditionRateLimited)
	assert.Equal(t, [2]string{string(metav1.ConditionFalse), ReasonNotRateLimited}, [2]string{string(c.Status), c.Reason})
	require.NoError(t, stop())
	assert.Len(t, gh.opened, 1)
}

func jobsMessage(t *testing.T, id int64) *actions.Message {
	body, err := json.Marshal([]actions.JobMessage{
		{MessageType: actions.JobMessageAvailable, RunnerRequestID: 11},
		{MessageType: actions.JobMessageStarted, RunnerRequestID: 12, RunnerName: "rs-a"},
	})
	require.NoError(t, err)
	return &actions.Message{MessageID: id, MessageType: actions.MessageTypeJobMessages, Body: string(body), Statistics: &actions.Statistics{TotalAvailableJobs: 1, TotalAssignedJobs: 1}}
}

// TestMessageHeldBackWhileRateLimited: a message that arrives as the Actions Service starts
// rate-limiting (the cluster side's JIT registration was throttled, say) is neither acknowledged
// nor acted on: its job stays available for other scale sets, and the message, delivered again
// once the limit ends, is handled then, once.
func TestMessageHeldBackWhileRateLimited(t *testing.T) {
	fc := testingclock.NewFakeClock(time.Now())
	msg := jobsMessage(t, 5)
	gh := &fakeGitHub{scaleSet: scaleSet7(), polls: []poll{{msg: msg}, {msg: msg}}}
	gh.onPoll = func(f *fakeGitHub) {
		if len(f.lastIDs) == 1 {
			f.limits = map[string]time.Time{ratelimit.APIActions: fc.Now().Add(time.Minute)}
		}
	}
	h := newHarnessWith(t, gh, fc, nil)
	stop := h.listenInBackground(t)

	eventually(t, "the session did not wait", fc.HasWaiters)
	gh.mu.Lock()
	assert.Empty(t, gh.acked, "not acknowledged: the queue keeps it")
	assert.Empty(t, gh.acquired, "not acquired: the job stays available")
	gh.mu.Unlock()
	h.mu.Lock()
	assert.Empty(t, h.jobs, "not acted on")
	h.mu.Unlock()

	fc.Step(time.Minute)
	eventually(t, "the message was not handled after the limit", func() bool {
		gh.mu.Lock()
		defer gh.mu.Unlock()
		return len(gh.acked) == 1 && len(gh.lastIDs) == 3
	})
	require.NoError(t, stop())
	assert.Equal(t, []int64{0, 0, 5}, gh.lastIDs, "polled again from the same place")
	assert.Equal(t, []int64{11}, gh.acquired)
	h.mu.Lock()
	defer h.mu.Unlock()
	require.Len(t, h.jobs, 2, "the offer acquired and the start")
	assert.Equal(t, actions.JobMessageAvailable, h.jobs[0].MessageType)
	assert.Equal(t, "rs-a", h.jobs[1].RunnerName)
}

// TestAcquireRateLimitedAfterTheAck: when acquiring is refused for a rate limit after the
// message was acknowledged, the jobs stay available (the service offers them again), the rest
// of the message is still handled, and the session waits instead of polling at once.
func TestAcquireRateLimitedAfterTheAck(t *testing.T) {
	fc := testingclock.NewFakeClock(time.Now())
	until := fc.Now().Add(time.Minute)
	gh := &fakeGitHub{scaleSet: scaleSet7(), polls: []poll{{msg: jobsMessage(t, 5)}}}
	gh.acquireErr = fmt.Errorf("actions: AcquireJobs: %w", rateLimit(ratelimit.APIActions, until))
	gh.onAcquire = func(f *fakeGitHub) { f.limits = map[string]time.Time{ratelimit.APIActions: until} } // the gate learnt it
	h := newHarnessWith(t, gh, fc, nil)
	stop := h.listenInBackground(t)

	eventually(t, "the message was not handled", func() bool { h.mu.Lock(); defer h.mu.Unlock(); return len(h.jobs) == 1 })
	eventually(t, "the session did not wait", fc.HasWaiters)
	gh.mu.Lock()
	assert.Equal(t, []int64{5}, gh.acked)
	assert.Empty(t, gh.acquired)
	assert.Len(t, gh.lastIDs, 1, "no poll until the limit ends")
	gh.mu.Unlock()
	fc.Step(time.Minute)
	eventually(t, "no poll after the limit", func() bool { gh.mu.Lock(); defer gh.mu.Unlock(); return len(gh.lastIDs) == 2 })
	gh.mu.Lock()
	assert.Zero(t, gh.closed, "the session lived on")
	gh.mu.Unlock()
	require.NoError(t, stop())
	assert.Len(t, gh.opened, 1)
}

// TestRateLimitedPollKeepsTheSession: a poll refused for a rate limit, without a gate that knew,
// waits for the limit's end and polls again in the same session.
func TestRateLimitedPollKeepsTheSession(t *testing.T) {
	fc := testingclock.NewFakeClock(time.Now())
	gh := &fakeGitHub{scaleSet: scaleSet7(), polls: []poll{{err: fmt.Errorf("actions: GetMessage: %w", rateLimit("broker.example", fc.Now().Add(30*time.Second)))}}}
	h := newHarnessWith(t, gh, fc, nil)
	stop := h.listenInBackground(t)

	eventually(t, "the session did not wait", fc.HasWaiters)
	c := conditionOf(h.published().Conditions, v1alpha1.ConditionRateLimited)
	assert.Equal(t, metav1.ConditionTrue, c.Status)
	assert.Contains(t, c.Message, "broker.example")
	fc.Step(30 * time.Second)
	eventually(t, "no second poll", func() bool { gh.mu.Lock(); defer gh.mu.Unlock(); return len(gh.lastIDs) == 2 })
	require.NoError(t, stop())
	assert.Len(t, gh.opened, 1)
	assert.Equal(t, metav1.ConditionTrue, conditionOf(h.published().Conditions, v1alpha1.ConditionGitHubAuthenticated).Status)
}

func TestRetryDelayWaitsForTheLimit(t *testing.T) {
	fc := testingclock.NewFakeClock(time.Now())
	h := newHarnessWith(t, &fakeGitHub{}, fc, nil)
	assert.GreaterOrEqual(t, h.s.retryDelay(1, fmt.Errorf("x: %w", rateLimit(ratelimit.APIREST, fc.Now().Add(5*time.Minute)))), 5*time.Minute)
	assert.Less(t, h.s.retryDelay(1, errors.New("x")), 2*time.Second)
}

func TestHealthy(t *testing.T) {
	for _, tc := range []struct {
		ctype  string
		status metav1.ConditionStatus // "": absent
		want   bool
	}{
		{v1alpha1.ConditionRateLimited, "", true},
		{v1alpha1.ConditionRateLimited, metav1.ConditionFalse, true},
		{v1alpha1.ConditionRateLimited, metav1.ConditionTrue, false},
		{v1alpha1.ConditionSessionActive, "", false},
		{v1alpha1.ConditionSessionActive, metav1.ConditionTrue, true},
		{v1alpha1.ConditionGitHubAuthenticated, metav1.ConditionFalse, false},
	} {
		var c *metav1.Condition
		if tc.status != "" {
			c = &metav1.Condition{Type: tc.ctype, Status: tc.status}
		}
		assert.Equal(t, tc.want, Healthy(tc.ctype, c), "%s %s", tc.ctype, tc.status)
	}
}

// TestFactorySharesTheGateOfACredential: the clients of RunnerSets naming the same credential
// share one gate: a limit one of them met holds the other's calls back before they reach GitHub;
// another credential is not held back.
func TestFactorySharesTheGateOfACredential(t *testing.T) {
	var requests atomic.Int32
	reset := time.Now().Add(time.Hour).Unix()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if r.Header.Get("Authorization") == "Bearer ghp_other" {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"total_count":0,"runners":[]}`))
			return
		}
		w.Header().Set("X-RateLimit-Remaining", "0")
		w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(reset, 10))
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"message":"API rate limit exceeded for user ID 1."}`))
	}))
	defer srv.Close()
	secret := func(name, token string) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns"}, Data: map[string][]byte{"github_token": []byte(token)}}
	}
	f := &SecretFactory{KubeClient: fake.NewClientset(secret("a", "ghp_shared"), secret("b", "ghp_shared"), secret("c", "ghp_other"))}
	client := func(name, secret string) ScaleSetClient {
		rs := &v1alpha1.RunnerSet{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns"},
			Spec: v1alpha1.RunnerSetSpec{GitHubConfigURL: srv.URL + "/acme", GitHubConfigSecret: secret}}
		c, err := f.ForRunnerSet(context.Background(), rs)
		require.NoError(t, err)
		return c
	}
	one, two, other := client("one", "a"), client("two", "b"), client("three", "c")

	_, err := one.ListRunners(context.Background())
	require.ErrorIs(t, err, ratelimit.ErrRateLimited)
	assert.NotErrorIs(t, err, auth.ErrUnauthorized)
	assert.Equal(t, reset, two.RateLimitedUntil(ratelimit.APIREST).Unix(), "the other RunnerSet of the credential knows")
	assert.Zero(t, two.RateLimitedUntil(ratelimit.APIActions))
	_, err = two.ListRunners(context.Background())
	require.ErrorIs(t, err, ratelimit.ErrRateLimited)
	assert.Equal(t, int32(1), requests.Load(), "held back, not sent")

	_, err = other.ListRunners(context.Background())
	require.NoError(t, err, "another credential is not held back")
	assert.Zero(t, other.RateLimitedUntil(ratelimit.APIREST))
}
