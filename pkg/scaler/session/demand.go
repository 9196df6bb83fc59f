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
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"actions.dev/runnerset-apiserver/pkg/github/actions"
)

// Demand is what GitHub says a RunnerSet needs, as its session last heard it. A Session
// publishes a new Demand whenever something changes; a published Demand is never modified, so
// the cluster side may read it while the session goes on.
type Demand struct {
	// Client reaches GitHub with the RunnerSet's credentials; nil until they work.
	Client ScaleSetClient
	// ScaleSetID and RunnerGroupID are GitHub's; zero until the scale set is registered.
	ScaleSetID, RunnerGroupID int
	// SessionID is the message session held, or one not closed yet (to be closed on a 409).
	SessionID string
	// Listening is true while the message session is open.
	Listening bool
	// Stats are the Actions Service's latest statistics; nil before the first session.
	Stats *actions.Statistics
	// Jobs are the job messages since the last Demand taken (see Merge): the offers acquired,
	// assignments, starts and completions, in the order they came, with the Stats they came with.
	Jobs []actions.JobMessage
	// LastMessage is when the last message arrived.
	LastMessage *metav1.Time
	// Conditions are GitHubAuthenticated, ScaleSetRegistered, SessionActive and RateLimited.
	Conditions []metav1.Condition
	// FailingSince is when GitHub calls of the session started failing; zero while they work.
	FailingSince time.Time
	// Offers counts the jobs offered and not acquired for lack of room: they stay available on
	// GitHub, for other scale sets and for this one once it has room.
	Offers int
	// Throttled is ThrottledScaleUpRate or ThrottledJITBudget while a rate holds offers back.
	Throttled string
}

// Merge returns the Demand next, keeping the job messages of d that were not taken yet: a
// Demand is a state except for Jobs, which are events none of which may be lost.
func (d Demand) Merge(next Demand) Demand {
	if len(d.Jobs) > 0 {
		next.Jobs = append(slices.Clone(d.Jobs), next.Jobs...)
	}
	return next
}

// Ready tells a Demand the cluster side can act on: a client, a scale set and statistics.
func (d Demand) Ready() bool {
	return d.Client != nil && d.ScaleSetID != 0 && d.Stats != nil
}
