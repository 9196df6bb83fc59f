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

package runners

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"k8s.io/utils/ptr"

	"actions.dev/runnerset-apiserver/pkg/contract"
)

func TestDesiredRunners(t *testing.T) {
	cases := []struct {
		name     string
		min, max *int32
		assigned int
		want     int
	}{
		{"nothing set, no jobs", nil, nil, 0, 0},
		{"jobs only", nil, nil, 7, 7},
		{"warm pool only", ptr.To[int32](2), nil, 0, 2},
		{"warm pool on top of jobs", ptr.To[int32](2), ptr.To[int32](10), 3, 5},
		{"capped by max", ptr.To[int32](2), ptr.To[int32](4), 3, 4},
		{"max zero", nil, ptr.To[int32](0), 5, 0},
		{"min equals max", ptr.To[int32](3), ptr.To[int32](3), 100, 3},
		{"huge backlog uncapped", ptr.To[int32](math.MaxInt32), nil, math.MaxInt32, math.MaxInt32},
		{"negative assigned is ignored", nil, nil, -3, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, DesiredRunners(tc.min, tc.max, tc.assigned))
		})
	}
}

func runner(name string, phase contract.Phase, age time.Duration, hash string) contract.Runner {
	return contract.Runner{Name: name, Phase: phase, Created: time.Unix(1000, 0).Add(-age), TemplateHash: hash}
}

func TestPlanScale(t *testing.T) {
	rs := []contract.Runner{
		runner("busy-old", contract.PhaseBusy, 10*time.Minute, "h1"),
		runner("idle-old", contract.PhaseIdle, 9*time.Minute, "h1"),
		runner("idle-new", contract.PhaseIdle, 1*time.Minute, "h1"),
		runner("pending", contract.PhasePending, 0, "h1"),
		runner("done", contract.PhaseSucceeded, 20*time.Minute, "h1"),
	}
	assert.Equal(t, Plan{Create: 2}, PlanScale(6, rs, "h1", true), "finished runners hold no slot")
	assert.Equal(t, Plan{}, PlanScale(4, rs, "h1", true))
	assert.Equal(t, Plan{Remove: []string{"idle-old"}}, PlanScale(3, rs, "h1", true), "oldest idle first")
	assert.Equal(t, Plan{Remove: []string{"idle-old", "idle-new"}}, PlanScale(0, rs, "h1", true), "never busy or pending ones")
	assert.Equal(t, Plan{Remove: []string{"idle-old", "idle-new"}, Create: 2}, PlanScale(4, rs, "h2", true), "idle runners of an old template are replaced")
	assert.Equal(t, Plan{}, PlanScale(6, rs, "h1", false), "creation held back")
}

func TestFailureBackoff(t *testing.T) {
	assert.Equal(t, time.Duration(0), FailureBackoff(0))
	assert.Equal(t, 5*time.Second, FailureBackoff(1))
	assert.Equal(t, 80*time.Second, FailureBackoff(5))
	assert.Equal(t, 80*time.Second, FailureBackoff(9))
}
