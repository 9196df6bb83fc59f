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

// Package fairqueue provides a client-side rate limiter for a kube client
// that shares one QPS/burst budget fairly between flows (for example one flow
// per tenant namespace), so a burst of requests in one flow cannot make the
// requests of another flow wait behind all of it.
package fairqueue

import (
	"container/list"
	"context"
	"errors"
	"math"
	"sync"
	"time"

	"k8s.io/client-go/util/flowcontrol"
	"k8s.io/utils/clock"
)

// DefaultFlow is the flow of requests whose context carries no flow key.
const DefaultFlow = "default"

// ErrStopped is returned by Wait once the Limiter has been stopped.
var ErrStopped = errors.New("fairqueue: rate limiter stopped")

type flowKey struct{}

// WithFlow returns a context whose requests are queued in the flow key.
func WithFlow(ctx context.Context, key string) context.Context {
	return context.WithValue(ctx, flowKey{}, key)
}

// FlowFrom returns the flow key of ctx, or DefaultFlow if it has none.
func FlowFrom(ctx context.Context) string {
	if key, _ := ctx.Value(flowKey{}).(string); key != "" {
		return key
	}
	return DefaultFlow
}

// Limiter is a token bucket shared by all flows. When tokens run short,
// callers queue per flow and tokens are handed out round-robin across flows.
// It implements flowcontrol.RateLimiter so it can be used as
// rest.Config.RateLimiter; the flow is read from the context given to Wait.
type Limiter struct {
	clk      clock.WithTicker
	qps      float32
	interval time.Duration // time to earn one token; 0 means unlimited
	capacity time.Duration // burst * interval
	// reserve is the part of the burst that queued flows leave untouched: a flow with nothing
	// queued takes a token from it at once instead of waiting behind a backlog of others.
	reserve time.Duration

	mu sync.Mutex
	// fullAt is when the bucket is full again. Tracking this instant instead
	// of a float token count keeps the arithmetic exact (GCRA).
	fullAt  time.Time
	flows   map[string]*flow // flows with queued waiters, by name
	active  *list.List       // round-robin order of those flows (*flow)
	wake    *wakeup          // pending wake-up for the next token, if any
	stopped bool
}

type flow struct {
	name    string
	waiters *list.List    // FIFO of *waiter
	elem    *list.Element // position in Limiter.active
}

type waiter struct {
	flow  *flow
	elem  *list.Element // position in flow.waiters
	ready chan struct{} // closed once done is set
	done  bool          // guarded by Limiter.mu
	err   error         // nil if a token was granted
}

type wakeup struct {
	timer  clock.Timer
	at     time.Time
	cancel chan struct{} // ends the goroutine of a superseded wake-up
}

var _ flowcontrol.RateLimiter = (*Limiter)(nil)

// New returns a Limiter that allows qps requests per second with bursts of
// up to burst (at least 1). qps <= 0 means unlimited.
func New(qps float32, burst int, clk clock.WithTicker) *Limiter {
	l := &Limiter{clk: clk, qps: qps, flows: map[string]*flow{}, active: list.New()}
	if qps > 0 {
		l.interval = max(time.Duration(float64(time.Second)/float64(qps)), 1)
		// Cap the capacity so burst*interval cannot overflow.
		n := min(int64(max(burst, 1)), math.MaxInt64/int64(l.interval))
		l.capacity = time.Duration(n) * l.interval
		l.reserve = time.Duration(n/4) * l.interval
	}
	return l
}

// QPS returns the configured rate.
func (l *Limiter) QPS() float32 { return l.qps }

// TryAccept takes a token if one is available now and nobody is queued, so
// it never overtakes queued waiters.
func (l *Limiter) TryAccept() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return !l.stopped && l.tryTakeLocked()
}

// Accept blocks until a token is granted or the Limiter is stopped.
func (l *Limiter) Accept() { _ = l.Wait(context.Background()) }

// Wait blocks until a token is granted to the flow of ctx, ctx ends or the
// Limiter is stopped.
func (l *Limiter) Wait(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	l.mu.Lock()
	if l.stopped {
		l.mu.Unlock()
		return ErrStopped
	}
	name := FlowFrom(ctx)
	if l.lightTakeLocked(name) { // fast path: no hand-off
		l.mu.Unlock()
		return nil
	}
	w := l.enqueueLocked(name)
	l.dispatchLocked(l.clk.Now())
	l.mu.Unlock()

	select {
	case <-w.ready:
		return w.err
	case <-ctx.Done():
		return l.abandon(w, ctx.Err())
	}
}

// Stop fails all queued and future Waits with ErrStopped; TryAccept then
// returns false.
func (l *Limiter) Stop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stopped = true
	for l.active.Len() > 0 {
		l.finishLocked(l.popLocked(l.active.Front().Value.(*flow)), ErrStopped)
	}
	l.cancelWakeLocked()
}

// Waiting returns the number of queued waiters per flow; flows without
// waiters are omitted.
func (l *Limiter) Waiting() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]int, len(l.flows))
	for name, f := range l.flows {
		out[name] = f.waiters.Len()
	}
	return out
}

// tryTakeLocked takes a token only if no one is queued, to keep fairness.
func (l *Limiter) tryTakeLocked() bool {
	return l.interval == 0 || (l.active.Len() == 0 && l.takeLocked(l.clk.Now(), 0))
}

// lightTakeLocked takes a token at once for a flow that has nothing queued, from the reserve
// if need be: like a new flow in start-time fair queuing, a light flow (a tenant's first job
// while another tenant's burst is queued) is served ahead of the backlog, not behind it.
func (l *Limiter) lightTakeLocked(name string) bool {
	return l.interval == 0 || (l.flows[name] == nil && l.takeLocked(l.clk.Now(), 0))
}

// takeLocked takes a token if the bucket holds one at now beyond keep.
func (l *Limiter) takeLocked(now time.Time, keep time.Duration) bool {
	next := later(l.fullAt, now).Add(l.interval)
	if next.Sub(now) > l.capacity-keep {
		return false
	}
	l.fullAt = next
	return true
}

// nextTokenLocked returns the earliest time a queued waiter can get a token.
func (l *Limiter) nextTokenLocked(now time.Time) time.Time {
	return later(l.fullAt, now).Add(l.interval - (l.capacity - l.reserve))
}

func (l *Limiter) enqueueLocked(name string) *waiter {
	f := l.flows[name]
	if f == nil {
		// A new flow joins at the back so every flow already waiting gets
		// its turn in this round first.
		f = &flow{name: name, waiters: list.New()}
		f.elem = l.active.PushBack(f)
		l.flows[name] = f
	}
	w := &waiter{flow: f, ready: make(chan struct{})}
	w.elem = f.waiters.PushBack(w)
	return w
}

// dispatchLocked hands out the available tokens one per flow per round: the
// front flow gets a token for its oldest waiter and moves to the back.
func (l *Limiter) dispatchLocked(now time.Time) {
	for l.active.Len() > 0 && l.takeLocked(now, l.reserve) {
		f := l.active.Front().Value.(*flow)
		w := l.popLocked(f)
		if f.elem != nil {
			l.active.MoveToBack(f.elem)
		}
		l.finishLocked(w, nil)
	}
	l.armLocked(now)
}

// popLocked removes and returns the oldest waiter of f.
func (l *Limiter) popLocked(f *flow) *waiter {
	w := f.waiters.Front().Value.(*waiter)
	l.removeLocked(w)
	return w
}

// removeLocked unqueues w and drops its flow once empty, so idle flows cost
// nothing and the round-robin only visits flows with waiters.
func (l *Limiter) removeLocked(w *waiter) {
	f := w.flow
	f.waiters.Remove(w.elem)
	if f.waiters.Len() == 0 {
		l.active.Remove(f.elem)
		f.elem = nil
		delete(l.flows, f.name)
	}
}

func (l *Limiter) finishLocked(w *waiter, err error) {
	w.done, w.err = true, err
	close(w.ready)
}

// abandon withdraws a waiter whose context ended. A token granted to it in
// the meantime is given back and passed on, so cancelled requests never
// consume tokens.
func (l *Limiter) abandon(w *waiter, err error) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case !w.done:
		l.removeLocked(w)
	case w.err == nil:
		l.fullAt = l.fullAt.Add(-l.interval)
	}
	l.dispatchLocked(l.clk.Now())
	return err
}

// armLocked keeps exactly one wake-up pending, at the next token time,
// while waiters exist.
func (l *Limiter) armLocked(now time.Time) {
	if l.active.Len() == 0 {
		l.cancelWakeLocked()
		return
	}
	at := l.nextTokenLocked(now)
	if l.wake != nil && l.wake.at.Equal(at) {
		return
	}
	l.cancelWakeLocked()
	w := &wakeup{timer: l.clk.NewTimer(at.Sub(now)), at: at, cancel: make(chan struct{})}
	l.wake = w
	go l.runWake(w)
}

func (l *Limiter) runWake(w *wakeup) {
	select {
	case <-w.timer.C():
	case <-w.cancel:
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.wake == w {
		l.wake = nil
	}
	l.dispatchLocked(l.clk.Now())
}

func (l *Limiter) cancelWakeLocked() {
	if l.wake != nil {
		l.wake.timer.Stop()
		close(l.wake.cancel)
		l.wake = nil
	}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
