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
	"time"

	"actions.dev/runnerset-apiserver/pkg/github/actions"
)

const (
	// progressPause is how long the session waits before its next long poll after a message
	// that only reported job progress and was already waiting when it polled.
	progressPause = 250 * time.Millisecond
	// waitingAlready is how fast a long poll answers when a message was waiting for it.
	waitingAlready = 50 * time.Millisecond
	// streamJobs is how many jobs must be assigned to the scale set for their progress to come
	// as a stream worth gathering: with fewer, a pause gathers little and may hold back the next
	// job offered.
	streamJobs = 4
)

// batchProgress paces the long poll while many jobs start and finish in a stream. The service
// puts every event into the message the session has not fetched yet, so a session that polls
// again at once gets one event per message: a long poll and an acknowledgement for each
// JobStarted and each JobCompleted of a busy scale set. When a message that only reported
// progress (no job offered, none assigned) was already waiting with several events, and the
// statistics show at least streamJobs jobs assigned, events come faster than the session polls:
// it pauses progressPause so that the next message carries what came meanwhile. No pause follows
// a message offering or assigning jobs, one the long poll had to wait for, one with a single
// event, or one of a scale set running a job or two: a job arriving at a quiet or trickling scale
// set gets its runner as fast as ever.
func (s *Session) batchProgress(ctx context.Context, jobs []actions.JobMessage, stats *actions.Statistics, polled time.Duration) {
	if polled > waitingAlready || len(jobs) < 2 || stats == nil || stats.TotalAssignedJobs < streamJobs {
		return
	}
	for _, j := range jobs {
		if j.MessageType == actions.JobMessageAvailable || j.MessageType == actions.JobMessageAssigned {
			return
		}
	}
	select {
	case <-ctx.Done():
	case <-s.cfg.Clock.After(progressPause):
	}
}
