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
	"sort"
	"time"

	"actions.dev/runnerset-apiserver/pkg/contract"
)

// DesiredRunners is min(minRunners + assignedJobs, maxRunners): minRunners idle runners on top of
// one runner per job assigned to the scale set, capped (ARC's semantics since 0.8).
func DesiredRunners(minRunners, maxRunners *int32, assignedJobs int) int {
	desired := int64(assignedJobs)
	if minRunners != nil {
		desired += int64(*minRunners)
	}
	if maxRunners != nil && desired > int64(*maxRunners) {
		desired = int64(*maxRunners)
	}
	if desired > math.MaxInt32 {
		desired = math.MaxInt32
	}
	if desired < 0 {
		desired = 0
	}
	return int(desired)
}

// FailureBackoff is how long a runner waits before its pod is re-created after its n-th failure
// (ARC's 0, 5, 10, 20, 40, 80 s); after MaxFailures the runner is given up.
func FailureBackoff(failures int) time.Duration {
	steps := []time.Duration{0, 5 * time.Second, 10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second}
	if failures < 0 {
		failures = 0
	}
	if failures >= len(steps) {
		return steps[len(steps)-1]
	}
	return steps[failures]
}

// MaxFailures is how many failed pods a runner may have before it is replaced by a new one.
const MaxFailures = 5

// Plan says what to do to reach a desired count.
type Plan struct {
	// Create is how many new runners to register.
	Create int
	// Remove are idle runners to deregister and delete, oldest first.
	Remove []string
}

// PlanScale compares the runners that hold a slot with the desired count. Scale-down only ever
// picks idle runners, oldest first; busy runners finish their job. Idle runners made from an
// older template are replaced even when the count is right. Runners that finished are not
// counted: they are cleaned up separately.
func PlanScale(desired int, runners []contract.Runner, templateHash string, mayCreate bool) Plan {
	var plan Plan
	var idle []contract.Runner
	slots := 0
	for _, r := range runners {
		switch r.Phase {
		case contract.PhaseSucceeded, contract.PhaseDeprecated:
			continue
		case contract.PhaseIdle:
			idle = append(idle, r)
		}
		slots++
	}
	sort.SliceStable(idle, func(i, j int) bool {
		if !idle[i].Created.Equal(idle[j].Created) {
			return idle[i].Created.Before(idle[j].Created)
		}
		return idle[i].Name < idle[j].Name
	})
	excess := slots - desired
	removed := map[string]bool{}
	for _, r := range idle {
		if excess <= 0 {
			break
		}
		plan.Remove = append(plan.Remove, r.Name)
		removed[r.Name] = true
		excess--
	}
	for _, r := range idle {
		if !removed[r.Name] && r.TemplateHash != "" && r.TemplateHash != templateHash {
			plan.Remove = append(plan.Remove, r.Name)
			removed[r.Name] = true
		}
	}
	remaining := slots - len(plan.Remove)
	if mayCreate && remaining < desired {
		plan.Create = desired - remaining
	}
	return plan
}
