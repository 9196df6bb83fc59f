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
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	clocktesting "k8s.io/utils/clock/testing"

	"actions.dev/runnerset-apiserver/pkg/github/actions"
)

// paused runs one batchProgress and tells whether it paused.
func paused(t *testing.T, s *Session, clk *clocktesting.FakeClock, types []string, assigned int, polled time.Duration) bool {
	t.Helper()
	var jobs []actions.JobMessage
	for _, typ := range types {
		jobs = append(jobs, actions.JobMessage{MessageType: typ})
	}
	done := make(chan struct{})
	stats := &actions.Statistics{TotalAssignedJobs: assigned}
	go func() { defer close(done); s.batchProgress(context.Background(), jobs, stats, polled) }()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		select {
		case <-done:
			return false
		default:
		}
		if clk.HasWaiters() {
			clk.Step(progressPause)
			<-done
			return true
		}
	}
	t.Fatal("batchProgress neither returned nor paused")
	return false
}

func TestBatchProgress(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC))
	s := &Session{cfg: Config{Clock: clk}}
	started, completed := actions.JobMessageStarted, actions.JobMessageCompleted
	waiting, slow := 10*time.Millisecond, 2*time.Second

	assert.True(t, paused(t, s, clk, []string{started, completed}, 100, waiting), "progress that was waiting, many jobs assigned: a stream")
	assert.True(t, paused(t, s, clk, []string{started, completed}, streamJobs, waiting), "a stream from streamJobs jobs on")
	assert.False(t, paused(t, s, clk, []string{completed}, 100, waiting), "one event: the session keeps up")
	assert.False(t, paused(t, s, clk, []string{started, completed}, streamJobs-1, waiting), "a job or two in flight: nothing to gather")
	assert.False(t, paused(t, s, clk, []string{started, completed}, 100, slow), "progress the poll waited for")
	assert.False(t, paused(t, s, clk, []string{actions.JobMessageAvailable, started}, 100, waiting), "a job offered is never held back")
	assert.False(t, paused(t, s, clk, []string{actions.JobMessageAssigned}, 100, waiting), "nor one assigned")
	assert.False(t, paused(t, s, clk, nil, 100, waiting), "an empty message")
}
