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
	"math"
	"sync"
	"time"
)

// Bucket is a token bucket: burst tokens, refilled at a steady rate. Every job acquired takes
// one, as every job acquired registers one runner. It is safe for concurrent use: the server's
// budget is one Bucket all sessions share.
type Bucket struct {
	mu     sync.Mutex
	rate   float64 // tokens per second
	burst  float64
	tokens float64
	last   time.Time
}

// NewBucket fills at perMinute tokens a minute up to burst, and starts full.
func NewBucket(perMinute, burst int) *Bucket {
	return &Bucket{rate: float64(perMinute) / 60, burst: float64(max(burst, 1)), tokens: float64(max(burst, 1))}
}

// same tells whether b already has this rate and burst: a RunnerSet's unchanged scaleUp keeps
// its bucket, and the tokens it spent.
func (b *Bucket) same(perMinute, burst int) bool {
	return b.rate == float64(perMinute)/60 && b.burst == float64(max(burst, 1))
}

func (b *Bucket) refill(now time.Time) {
	if !b.last.IsZero() && now.After(b.last) {
		b.tokens = math.Min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	}
	if b.last.IsZero() || now.After(b.last) {
		b.last = now
	}
}

// Take takes up to n whole tokens and returns how many it took.
func (b *Bucket) Take(now time.Time, n int) int {
	if b == nil {
		return n
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refill(now)
	got := min(n, int(b.tokens))
	b.tokens -= float64(got)
	return got
}

// Return gives back tokens taken for jobs that were not acquired after all.
func (b *Bucket) Return(n int) {
	if b == nil || n <= 0 {
		return
	}
	b.mu.Lock()
	b.tokens = math.Min(b.burst, b.tokens+float64(n))
	b.mu.Unlock()
}

// Next is how long until the next whole token.
func (b *Bucket) Next(now time.Time) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refill(now)
	if b.tokens >= 1 || b.rate <= 0 {
		return 0
	}
	return time.Duration((1 - b.tokens) / b.rate * float64(time.Second))
}
