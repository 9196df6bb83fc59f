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
	"fmt"
	"time"

	"k8s.io/klog/v2"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/github/actions"
)

// Limits bound the jobs a session acquires. The worker computes them from the cluster (it is
// their one writer) and hands the newest over with SetLimits.
type Limits struct {
	// Capacity is how many jobs the scale set may have acquired or assigned at once, which the
	// long poll announces in X-ScaleSetMaxCapacity.
	Capacity int
	// ScaleUp is the RunnerSet's rate of taking on jobs; nil for none.
	ScaleUp *v1alpha1.ScaleUpPolicy
}

// Reasons a session acquires fewer jobs than it has room for (Demand.Throttled).
const (
	ThrottledScaleUpRate = "ScaleUpRate"
	ThrottledJITBudget   = "JITBudget"
)

const (
	// offerTTL is how long an offer not acquired for lack of room is kept: the service offers
	// a job still available again, so an older one was most likely taken by another scale set.
	offerTTL = 5 * time.Minute
	// maxOffers bounds the offers kept.
	maxOffers = 1000
	// minRateWait is the shortest wait for the next token, so a slow rate does not spin.
	minRateWait = 100 * time.Millisecond
)

// offer is a job offered and not acquired yet for lack of room (capacity, rate or budget).
// The jobs beyond the room stay available on GitHub, for other scale sets with the same labels
// and for this one once it has room.
type offer struct {
	msg actions.JobMessage
	at  time.Time
}

func (s *Session) limits() Limits {
	s.poll.mu.Lock()
	defer s.poll.mu.Unlock()
	return s.poll.limits
}

// SetLimits hands over the newest limits. A long poll in flight ends when it announced another
// capacity, so GitHub hears the new one at once, or when offers wait for room the new limits give.
func (s *Session) SetLimits(l Limits) {
	s.poll.mu.Lock()
	defer s.poll.mu.Unlock()
	grew := l.Capacity > s.poll.limits.Capacity
	s.poll.limits = l
	if s.poll.cancel != nil && (l.Capacity != s.poll.capacity || (grew && s.poll.offers)) {
		s.poll.cancel()
	}
}

// noteOffers keeps the jobs offered, and forgets those the service assigned or ended since.
func (s *Session) noteOffers(jobs []actions.JobMessage, now time.Time) {
	settled := map[int64]bool{}
	for _, j := range jobs {
		if j.MessageType != actions.JobMessageAvailable {
			settled[j.RunnerRequestID] = true
		}
	}
	kept := s.offers[:0]
	for _, o := range s.offers {
		if !settled[o.msg.RunnerRequestID] && now.Sub(o.at) < offerTTL {
			kept = append(kept, o)
		}
	}
	s.offers = kept
	for _, j := range jobs {
		if j.MessageType == actions.JobMessageAvailable && !settled[j.RunnerRequestID] {
			s.addOffer(j, now)
		}
	}
	if over := len(s.offers) - maxOffers; over > 0 {
		s.offers = s.offers[over:]
	}
}

func (s *Session) addOffer(j actions.JobMessage, now time.Time) {
	for i := range s.offers {
		if s.offers[i].msg.RunnerRequestID == j.RunnerRequestID {
			s.offers[i] = offer{msg: j, at: now} // offered again: still available
			return
		}
	}
	s.offers = append(s.offers, offer{msg: j, at: now})
}

// acquireOffers acquires the offers there is room for, oldest first, and returns the job
// messages of those the service let this scale set have. Offers tried and not granted went to
// another scale set, or are gone; the others wait for room.
func (s *Session) acquireOffers(ctx context.Context, session MessageSession) ([]actions.JobMessage, error) {
	if len(s.offers) == 0 {
		s.state.Throttled = ""
		return nil, nil
	}
	now := s.cfg.Clock.Now()
	n := s.allowance(now)
	if n == 0 {
		return nil, nil
	}
	ids := make([]int64, n)
	for i := range n {
		ids[i] = s.offers[i].msg.RunnerRequestID
	}
	acquired, err := session.AcquireJobs(ctx, ids)
	if err != nil {
		s.giveBack(n)
		return nil, fmt.Errorf("acquiring %d jobs: %w", n, err)
	}
	s.giveBack(n - len(acquired))
	granted := map[int64]bool{}
	for _, id := range acquired {
		granted[id] = true
	}
	var out []actions.JobMessage
	for _, o := range s.offers[:n] {
		if granted[o.msg.RunnerRequestID] {
			out = append(out, o.msg)
		}
	}
	s.offers = s.offers[n:]
	s.acquiredSince += len(out)
	klog.FromContext(ctx).V(2).Info("Acquired jobs", "tried", n, "acquired", len(out), "waiting", len(s.offers), "throttled", s.state.Throttled)
	return out, nil
}

// allowance is how many offers to acquire now: no more than the capacity leaves room for, then
// no more than the RunnerSet's rate and the server's budget have tokens for (taken here, given
// back for jobs not granted). Throttled says which of the two held offers back.
func (s *Session) allowance(now time.Time) int {
	l := s.limits()
	want := min(len(s.offers), max(l.Capacity-s.busy(), 0))
	s.state.Throttled = ""
	if want == 0 {
		return 0
	}
	s.syncScaleUp(l.ScaleUp)
	got := s.scaleUp.Take(now, want)
	if got < want {
		s.state.Throttled = ThrottledScaleUpRate
	}
	budget := s.cfg.Budget.Take(now, got)
	if budget < got {
		s.scaleUp.Return(got - budget)
		s.state.Throttled = ThrottledJITBudget
	}
	return budget
}

// busy is how many jobs the scale set holds: acquired or assigned as the latest statistics
// count them, and acquired since.
func (s *Session) busy() int {
	n := s.acquiredSince
	if st := s.state.Stats; st != nil {
		n += st.TotalAssignedJobs + st.TotalAcquiredJobs
	}
	return n
}

func (s *Session) giveBack(n int) {
	s.scaleUp.Return(n)
	s.cfg.Budget.Return(n)
}

// syncScaleUp keeps the RunnerSet's bucket in line with its spec; an unchanged rate keeps the
// tokens spent.
func (s *Session) syncScaleUp(p *v1alpha1.ScaleUpPolicy) {
	if p == nil || p.RunnersPerMinute <= 0 {
		s.scaleUp = nil
		return
	}
	burst := int(p.RunnersPerMinute)
	if p.Burst != nil {
		burst = int(*p.Burst)
	}
	if s.scaleUp == nil || !s.scaleUp.same(int(p.RunnersPerMinute), burst) {
		s.scaleUp = NewBucket(int(p.RunnersPerMinute), burst)
	}
}

// rateWait is how long the next long poll may hold before offers held back by a rate get
// their next token; 0 when none are.
func (s *Session) rateWait(now time.Time) time.Duration {
	var b *Bucket
	switch {
	case len(s.offers) == 0:
		return 0
	case s.state.Throttled == ThrottledScaleUpRate:
		b = s.scaleUp
	case s.state.Throttled == ThrottledJITBudget:
		b = s.cfg.Budget
	}
	if b == nil {
		return 0
	}
	return max(b.Next(now), minRateWait)
}
