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

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/github/actions"
	"actions.dev/runnerset-apiserver/pkg/github/ghrest"
)

// ScaleSetClient is what the scaler needs of the Actions Service for one RunnerSet.
type ScaleSetClient interface {
	GetRunnerGroupByName(ctx context.Context, name string) (*actions.RunnerGroup, error)
	GetScaleSet(ctx context.Context, runnerGroupID int, name string) (*actions.RunnerScaleSet, error)
	GetScaleSetByID(ctx context.Context, id int) (*actions.RunnerScaleSet, error)
	CreateScaleSet(ctx context.Context, ss *actions.RunnerScaleSet) (*actions.RunnerScaleSet, error)
	DeleteScaleSet(ctx context.Context, id int) error
	DeleteSession(ctx context.Context, scaleSetID int, sessionID string) error
	GenerateJitConfig(ctx context.Context, scaleSetID int, setting *actions.JitRunnerSetting) (*actions.JitConfig, error)
	GetRunnerByName(ctx context.Context, name string) (*actions.RunnerReference, error)
	RemoveRunner(ctx context.Context, runnerID int) error
	// OpenSession opens the message session of a scale set.
	OpenSession(ctx context.Context, scaleSetID int, owner string) (MessageSession, error)
	// ListRunners lists the runners GitHub's REST API shows for the config URL's scope, with
	// conditional requests: an unchanged list costs no rate limit.
	ListRunners(ctx context.Context) ([]ghrest.Runner, error)
	// RateLimitedUntil is when GitHub's rate limit of these credentials on api
	// (ratelimit.APIREST or ratelimit.APIActions) ends; zero while calls to it are sent. Until
	// then every call to api fails at once with a *ratelimit.Error.
	RateLimitedUntil(api string) time.Time
}

// MessageSession is one open message session: the long poll and what goes with it.
type MessageSession interface {
	Session() *actions.Session
	GetMessage(ctx context.Context, lastMessageID int64, maxCapacity int) (*actions.Message, error)
	DeleteMessage(ctx context.Context, messageID int64) error
	AcquireJobs(ctx context.Context, requestIDs []int64) ([]int64, error)
	Close(ctx context.Context) error
}

// ClientFactory builds the client of a RunnerSet from its githubConfigUrl, the Secret it names,
// its proxy and TLS settings. Implementations cache clients; a changed Secret gives a new one.
type ClientFactory interface {
	ForRunnerSet(ctx context.Context, rs *v1alpha1.RunnerSet) (ScaleSetClient, error)
}
