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
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/utils/clock"
	testingclock "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/github/actions"
)

// offersMessage offers jobs with request ids ids, with statistics saying held jobs are
// acquired or assigned to the scale set already.
func offersMessage(t *testing.T, id int64, held int, ids ...int64) *actions.Message {
	var jobs []actions.JobMessage
	for _, rid := range ids {
		jobs = append(jobs, actions.JobMessage{MessageType: actions.JobMessageAvailable, RunnerRequestID: rid})
	}
	body, err := json.Marshal(jobs)
	require.NoError(t, err)
	return &actions.Message{MessageID: id, MessageType: actions.MessageTypeJobMessages, Body: string(body),
		Statistics: &actions.Statistics{TotalAvailableJobs: len(ids), TotalAssignedJobs: held}}
}

func (f *fakeGitHub) acquiredIDs() []int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]int64(nil), f.acquired...)
}

// TestAcquiresOnlyWhatTheCapacityLeaves: with capacity 3 and one job held, two of five offers
// are acquired, oldest first; the others wait, published as Offers, and are acquired when the
// capacity grows, without a new message. The poll announced each capacity.
func TestAcquiresOnlyWhatTheCapacityLeaves(t *testing.T) {
	gh := &fakeGitHub{scaleSet: scaleSet7(), polls: []poll{{msg: offersMessage(t, 5, 1, 21, 22, 23, 24, 25)}}}
	h := newHarness(t, gh)
	h.s.SetLimits(Limits{Capacity: 3})
	stop, _ := h.listen()

	eventually(t, "two offers acquired", func() bool { return len(gh.acquiredIDs()) == 2 })
	eventually(t, "the waiting offers were not published", func() bool { return h.published().Offers == 3 })
	assert.Equal(t, []int64{21, 22}, gh.acquiredIDs())
	h.s.SetLimits(Limits{Capacity: 5})
	eventually(t, "no acquisition when the capacity grew", func() bool { return len(gh.acquiredIDs()) == 4 })
	require.NoError(t, stop())
	assert.Equal(t, []int64{21, 22, 23, 24}, gh.acquiredIDs())
	gh.mu.Lock()
	defer gh.mu.Unlock()
	assert.Equal(t, []int{3, 3, 5}, gh.capacities[:3], "each poll announced the capacity of its time")
	h.mu.Lock()
	defer h.mu.Unlock()
	var acquired []int64
	for _, j := range h.jobs {
		acquired = append(acquired, j.RunnerRequestID)
	}
	assert.Equal(t, []int64{21, 22, 23, 24}, acquired, "only acquired offers reach the cluster side")
}

// TestScaleUpRateHoldsAcquisition: a RunnerSet's rate of 60 a minute with a burst of 2 acquires
// two of four offers at once and one more a second later; the poll in between lasts no longer
// than the next token, and Throttled says why the rest wait.
func TestScaleUpRateHoldsAcquisition(t *testing.T) {
	fc := testingclock.NewFakeClock(time.Now())
	gh := &fakeGitHub{scaleSet: scaleSet7(), polls: []poll{{msg: offersMessage(t, 5, 0, 31, 32, 33, 34)}}}
	h := newHarnessWith(t, gh, fc, nil)
	h.s.SetLimits(Limits{Capacity: 10, ScaleUp: &v1alpha1.ScaleUpPolicy{RunnersPerMinute: 60, Burst: ptr.To[int32](2)}})
	stop := h.listenInBackground(t)

	eventually(t, "the burst was not acquired", func() bool { return len(gh.acquiredIDs()) == 2 })
	eventually(t, "not throttled", func() bool { return h.published().Throttled == ThrottledScaleUpRate })
	eventually(t, "no poll waiting for the token", fc.HasWaiters)
	fc.Step(time.Second)
	eventually(t, "no acquisition after a second", func() bool { return len(gh.acquiredIDs()) == 3 })
	require.NoError(t, stop())
	assert.Equal(t, []int64{31, 32, 33}, gh.acquiredIDs())
}

// TestBudgetIsShared: the server's budget is one bucket for every session: what one takes,
// another cannot.
func TestBudgetIsShared(t *testing.T) {
	now := time.Now()
	b := NewBucket(60, 3)
	assert.Equal(t, 2, b.Take(now, 2))
	assert.Equal(t, 1, b.Take(now, 5), "one token left")
	assert.Equal(t, 0, b.Take(now, 1))
	assert.Equal(t, time.Second, b.Next(now))
	b.Return(1)
	assert.Equal(t, 1, b.Take(now, 1), "a token given back is taken again")
	assert.Equal(t, 2, b.Take(now.Add(2*time.Second), 5), "refilled at one a second")
	var none *Bucket
	assert.Equal(t, 7, none.Take(now, 7), "no budget: no bound")
}

// TestOffersForgottenOnceSettled: an offer is forgotten when the service assigns or ends the
// job (another scale set took it) or when it is older than offerTTL; an offer made again is
// kept once, with its new time.
func TestOffersForgottenOnceSettled(t *testing.T) {
	s := &Session{cfg: Config{Clock: clock.RealClock{}}}
	now := time.Now()
	avail := func(id int64) actions.JobMessage {
		return actions.JobMessage{MessageType: actions.JobMessageAvailable, RunnerRequestID: id}
	}
	s.noteOffers([]actions.JobMessage{avail(1), avail(2), avail(3)}, now)
	s.noteOffers([]actions.JobMessage{avail(2), {MessageType: actions.JobMessageCompleted, RunnerRequestID: 3}}, now.Add(offerTTL-time.Second))
	var ids []int64
	for _, o := range s.offers {
		ids = append(ids, o.msg.RunnerRequestID)
	}
	assert.Equal(t, []int64{1, 2}, ids)
	s.noteOffers(nil, now.Add(offerTTL))
	require.Len(t, s.offers, 1, "offer 1 expired, offer 2 was made again")
	assert.Equal(t, int64(2), s.offers[0].msg.RunnerRequestID)
}
