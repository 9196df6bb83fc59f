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

package fairqueue

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	clocktesting "k8s.io/utils/clock/testing"
)

// interval is the token time of the 10 QPS limiters used below.
const interval = 100 * time.Millisecond

// deadline bounds polling so a broken limiter fails the test instead of
// hanging it; passing tests never depend on it.
const deadline = 10 * time.Second

func newFake(qps float32, burst int) (*Limiter, *clocktesting.FakeClock) {
	fc := clocktesting.NewFakeClock(time.Unix(1_000_000, 0))
	return New(qps, burst, fc), fc
}

// waitFor polls cond until it holds, for states other goroutines must reach.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(deadline)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// drain takes all tokens so later Waits must queue.
func drain(l *Limiter) int {
	n := 0
	for l.TryAccept() {
		n++
	}
	return n
}

// spawn starts a Wait in flow and waits until it is queued, so the order of
// spawn calls is the queue order. The result is sent to out with id.
func spawn(t *testing.T, l *Limiter, ctx context.Context, flow, id string, out chan<- string) <-chan error {
	t.Helper()
	before := l.Waiting()[flow]
	errc := make(chan error, 1)
	go func() {
		err := l.Wait(WithFlow(ctx, flow))
		if err == nil && out != nil {
			out <- id
		}
		errc <- err
	}()
	waitFor(t, id+" queued", func() bool { return l.Waiting()[flow] == before+1 })
	return errc
}

// grantNext advances the fake clock by one token time, once the limiter's
// wake-up timer is armed, and returns the id of the waiter served.
func grantNext(t *testing.T, fc *clocktesting.FakeClock, order <-chan string) string {
	t.Helper()
	waitFor(t, "wake-up timer", func() bool { return fc.Waiters() == 1 })
	fc.Step(interval)
	select {
	case id := <-order:
		return id
	case <-time.After(deadline):
		t.Fatal("no waiter served after one token time")
		return ""
	}
}

func recv(t *testing.T, errc <-chan error) error {
	t.Helper()
	select {
	case err := <-errc:
		return err
	case <-time.After(deadline):
		t.Fatal("Wait did not return")
		return nil
	}
}

func TestFlowFrom(t *testing.T) {
	ctx := context.Background()
	assert.Equal(t, DefaultFlow, FlowFrom(ctx))
	assert.Equal(t, DefaultFlow, FlowFrom(WithFlow(ctx, "")))
	assert.Equal(t, "ns-a", FlowFrom(WithFlow(ctx, "ns-a")))
}

func TestFastPath(t *testing.T) {
	l, fc := newFake(10, 3)
	for range 3 {
		require.NoError(t, l.Wait(context.Background()))
	}
	// No queue and no timer were involved.
	assert.Empty(t, l.Waiting())
	assert.Zero(t, fc.Waiters())
	assert.False(t, l.TryAccept())
	assert.Equal(t, float32(10), l.QPS())
}

func TestBurstRespected(t *testing.T) {
	l, fc := newFake(10, 3)
	assert.Equal(t, 3, drain(l))

	fc.Step(interval)
	assert.Equal(t, 1, drain(l), "one token per token time")

	fc.Step(250 * time.Millisecond)
	assert.Equal(t, 2, drain(l), "partial tokens are kept")
	fc.Step(50 * time.Millisecond)
	assert.Equal(t, 1, drain(l))

	fc.Step(time.Hour)
	assert.Equal(t, 3, drain(l), "bucket never holds more than burst")
}

func TestUnlimited(t *testing.T) {
	l, fc := newFake(0, 0)
	for range 1000 {
		require.True(t, l.TryAccept())
		require.NoError(t, l.Wait(context.Background()))
	}
	assert.Zero(t, fc.Waiters())
}

func TestRoundRobinFairness(t *testing.T) {
	l, fc := newFake(10, 1)
	drain(l)
	order := make(chan string, 200)
	ctx := context.Background()
	for i := range 100 {
		spawn(t, l, ctx, "a", fmt.Sprintf("a%03d", i), order)
	}
	spawn(t, l, ctx, "b", "b", order)
	assert.Equal(t, map[string]int{"a": 100, "b": 1}, l.Waiting())

	first := []string{grantNext(t, fc, order), grantNext(t, fc, order)}
	assert.Contains(t, first, "b", "lone waiter of b must not wait behind a")

	var got []string
	for _, id := range first {
		if id != "b" {
			got = append(got, id)
		}
	}
	for len(got) < 100 {
		got = append(got, grantNext(t, fc, order))
	}
	for i, id := range got {
		require.Equal(t, fmt.Sprintf("a%03d", i), id, "FIFO within flow a")
	}
	assert.Empty(t, l.Waiting())
}

func TestInterleavesFlowsFIFO(t *testing.T) {
	l, fc := newFake(10, 1)
	drain(l)
	order := make(chan string, 10)
	ctx := context.Background()
	for _, w := range []struct{ flow, id string }{
		{"a", "a1"}, {"a", "a2"}, {"a", "a3"}, {"b", "b1"}, {"b", "b2"}, {"c", "c1"},
	} {
		spawn(t, l, ctx, w.flow, w.id, order)
	}
	var got []string
	for range 6 {
		got = append(got, grantNext(t, fc, order))
	}
	assert.Equal(t, []string{"a1", "b1", "c1", "a2", "b2", "a3"}, got)
}

func TestWaitUsesDefaultFlow(t *testing.T) {
	l, fc := newFake(10, 1)
	drain(l)
	errc := make(chan error, 1)
	go func() { errc <- l.Wait(context.Background()) }()
	waitFor(t, "queued", func() bool { return l.Waiting()[DefaultFlow] == 1 })
	waitFor(t, "wake-up timer", func() bool { return fc.Waiters() == 1 })
	fc.Step(interval)
	require.NoError(t, recv(t, errc))
}

func TestCancelRemovesWaiter(t *testing.T) {
	l, fc := newFake(10, 1)
	drain(l)
	order := make(chan string, 10)
	ctx, cancel := context.WithCancel(context.Background())
	errc := spawn(t, l, ctx, "a", "a1", order)
	spawn(t, l, context.Background(), "a", "a2", order)

	cancel()
	assert.ErrorIs(t, recv(t, errc), context.Canceled)
	assert.Equal(t, map[string]int{"a": 1}, l.Waiting())

	assert.Equal(t, "a2", grantNext(t, fc, order))
	assert.Empty(t, l.Waiting())
	waitFor(t, "wake-up timer cancelled", func() bool { return fc.Waiters() == 0 })

	// The cancelled waiter took no token: exactly one per token time remains.
	assert.False(t, l.TryAccept())
	fc.Step(interval)
	assert.Equal(t, 1, drain(l))
}

func TestCancelLastWaiterStopsTimer(t *testing.T) {
	l, fc := newFake(10, 1)
	drain(l)
	ctx, cancel := context.WithCancel(context.Background())
	errc := spawn(t, l, ctx, "a", "a1", nil)
	waitFor(t, "wake-up timer", func() bool { return fc.Waiters() == 1 })
	cancel()
	assert.ErrorIs(t, recv(t, errc), context.Canceled)
	assert.Empty(t, l.Waiting())
	assert.Zero(t, fc.Waiters())
	fc.Step(interval)
	assert.Equal(t, 1, drain(l))
}

func TestCancelledContextTakesNoToken(t *testing.T) {
	l, _ := newFake(10, 1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, l.Wait(ctx), context.Canceled)
	assert.True(t, l.TryAccept())
}

// A waiter granted a token at the moment its context ends returns the
// context error; its token must go to the next waiter.
func TestCancelAfterGrantPassesTokenOn(t *testing.T) {
	l, fc := newFake(10, 1)
	drain(l)
	l.mu.Lock()
	w1, w2 := l.enqueueLocked("a"), l.enqueueLocked("b")
	fc.Step(interval)
	l.dispatchLocked(fc.Now())
	l.mu.Unlock()
	require.True(t, w1.done)
	require.False(t, w2.done)

	assert.ErrorIs(t, l.abandon(w1, context.Canceled), context.Canceled)
	require.True(t, w2.done, "refunded token goes to the next waiter")
	assert.NoError(t, w2.err)
	assert.False(t, l.TryAccept())
}

// With nobody else waiting the refunded token goes back to the bucket.
func TestCancelAfterGrantRefundsBucket(t *testing.T) {
	l, fc := newFake(10, 1)
	drain(l)
	l.mu.Lock()
	w := l.enqueueLocked("a")
	fc.Step(interval)
	l.dispatchLocked(fc.Now())
	l.mu.Unlock()
	require.True(t, w.done)

	assert.ErrorIs(t, l.abandon(w, context.Canceled), context.Canceled)
	assert.Equal(t, 1, drain(l))
}

func TestStop(t *testing.T) {
	l, fc := newFake(10, 1)
	drain(l)
	ctx := context.Background()
	errs := []<-chan error{
		spawn(t, l, ctx, "a", "a1", nil),
		spawn(t, l, ctx, "a", "a2", nil),
		spawn(t, l, ctx, "b", "b1", nil),
	}
	l.Stop()
	for _, errc := range errs {
		assert.ErrorIs(t, recv(t, errc), ErrStopped)
	}
	assert.Empty(t, l.Waiting())
	assert.Zero(t, fc.Waiters())

	fc.Step(time.Hour)
	assert.False(t, l.TryAccept())
	assert.ErrorIs(t, l.Wait(ctx), ErrStopped)
	l.Accept() // must not block
	l.Stop()   // idempotent
}

func TestConcurrentRace(t *testing.T) {
	const (
		burst   = 5
		flows   = 4
		perFlow = 50
	)
	l, fc := newFake(10, burst)
	var granted, cancelled atomic.Int64
	var wg sync.WaitGroup
	for f := range flows {
		for i := range perFlow {
			wg.Go(func() {
				ctx, cancel := context.WithCancel(WithFlow(context.Background(), fmt.Sprint("f", f)))
				defer cancel()
				if i%5 == 0 {
					// Cancel concurrently with queueing and granting.
					go cancel()
				}
				switch err := l.Wait(ctx); {
				case err == nil:
					granted.Add(1)
				case errors.Is(err, context.Canceled):
					cancelled.Add(1)
				default:
					t.Errorf("unexpected error %v", err)
				}
				_ = l.Waiting()
			})
		}
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	start, end := fc.Now(), time.Now().Add(deadline)
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
			require.False(t, time.Now().After(end), "waiters did not finish")
			fc.Step(interval)
			time.Sleep(10 * time.Microsecond) // let woken goroutines run
		}
	}

	assert.Equal(t, int64(flows*perFlow), granted.Load()+cancelled.Load())
	assert.LessOrEqual(t, cancelled.Load(), int64(flows*perFlow/5))
	tokens := int64(burst) + int64(fc.Since(start)/interval)
	assert.LessOrEqual(t, granted.Load(), tokens, "granted more than the bucket allows")
	assert.Empty(t, l.Waiting())
}

// TestLightFlowUsesTheReserve: while one flow has a backlog, a quarter of the burst stays in
// reserve, and a request of a flow with nothing queued takes from it at once.
func TestLightFlowUsesTheReserve(t *testing.T) {
	l, fc := newFake(10, 8) // reserve: 2 tokens
	ctx := context.Background()
	for range 8 {
		require.NoError(t, l.Wait(WithFlow(ctx, "burst")), "the whole burst is available to a flow with nothing queued")
	}
	order := make(chan string, 10)
	for i := range 5 {
		spawn(t, l, ctx, "burst", fmt.Sprintf("b%d", i), order)
	}
	// Three token times refill three tokens; the backlog may take only those beyond the two
	// kept in reserve.
	waitFor(t, "wake-up timer", func() bool { return fc.Waiters() == 1 })
	fc.Step(3 * interval)
	select {
	case id := <-order:
		assert.Equal(t, "b0", id)
	case <-time.After(deadline):
		t.Fatal("the backlog got nothing once the bucket held more than the reserve")
	}
	assert.Equal(t, 4, l.Waiting()["burst"], "the backlog took one token, not the reserve")

	done := make(chan error, 1)
	go func() { done <- l.Wait(WithFlow(ctx, "trickle")) }()
	select {
	case err := <-done:
		require.NoError(t, err, "a light flow is served from the reserve without waiting")
	case <-time.After(deadline):
		t.Fatal("a light flow waited behind the backlog")
	}
	assert.Equal(t, 4, l.Waiting()["burst"])
}
