//go:build faults

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

package faults

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/github/simulator"
	"actions.dev/runnerset-apiserver/pkg/localsystem"
)

// TestR3GitHubOutage: GitHub refuses every connection for two minutes (the simulator stops
// listening; the runners cannot reach it either) while runners are busy and idle. The API keeps
// serving throughout, the RunnerSets say GitHub is unreachable (Ready False) and their runners'
// GitHub side shows as unknown, no runner pod is deleted, and afterwards everything recovers on
// its own: sessions, the jobs that were running, and jobs queued during the outage.
func TestR3GitHubOutage(t *testing.T) {
	outage := pick(2*time.Minute, 30*time.Second)
	w := newWorld(t, "R3 GitHub outage", "faults-r3", simulator.Options{})
	sets := []setSpec{{name: "r3-a", min: 2, max: 8}, {name: "r3-b", min: 1, max: 8, app: true}}
	for _, s := range sets {
		w.addSet(s)
	}
	for _, s := range sets {
		w.queue(s.name, 3, outage/2, outage)
	}
	w.eventually(2*time.Minute, "six busy runners and the warm pools", func(ctx context.Context) (bool, string) {
		busy, idle := 0, 0
		for _, r := range w.sim.Runners() {
			if r.Busy {
				busy++
			} else if r.Online {
				idle++
			}
		}
		return busy == 6 && idle == 3, fmt.Sprintf("%d busy, %d idle", busy, idle)
	})
	before := map[string][]string{}
	for _, s := range sets {
		before[s.name] = w.mon.livePods(s.name)
	}

	begin := time.Now()
	w.gate.setDown(true)
	w.sim.StartOutage()
	var (
		apiCalls, apiErrors  int
		conditionAt, unknown = map[string]time.Duration{}, map[string]time.Duration{}
		jobsUnknown          = map[string]time.Duration{}
		lastTable            string
		queuedDuring         []int64
	)
	// The outage lasts a fixed time; during it the API and the pods are observed every second.
	observe := time.NewTicker(time.Second)
	defer observe.Stop()
	for ; time.Since(begin) < outage; <-observe.C {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		for _, args := range [][]string{{"get", "runnersets", "-n", w.ns, "-o", "wide"}, {"get", "runners", "-n", w.ns}} {
			out, errOut, err := sys.Kubectl(ctx, localsystem.UserAdmin, args...)
			apiCalls++
			if err != nil {
				apiErrors++
				t.Logf("kubectl %s during the outage: %v %s", strings.Join(args, " "), err, errOut)
				continue
			}
			if args[1] == "runners" {
				lastTable = out
				for _, s := range sets {
					if _, seen := unknown[s.name]; !seen && runnersAllUnknown(out, s.name) {
						unknown[s.name] = time.Since(begin)
					}
				}
			} else {
				for _, s := range sets {
					if _, seen := jobsUnknown[s.name]; !seen && rowHas(out, s.name, "unknown") {
						jobsUnknown[s.name] = time.Since(begin)
					}
				}
			}
		}
		for _, s := range sets {
			rs, err := w.runnerSet(ctx, s.name)
			if _, seen := conditionAt[s.name]; !seen && err == nil && gitHubUnreachable(rs) {
				conditionAt[s.name] = time.Since(begin)
			}
		}
		cancel()
		if len(queuedDuring) == 0 && time.Since(begin) > outage/2 {
			for _, s := range sets {
				queuedDuring = append(queuedDuring, w.queue(s.name, 2, time.Second, 3*time.Second)...)
			}
		}
		if gone := w.mon.deletedSince(begin); len(gone) > 0 {
			t.Errorf("runner pods deleted during the outage: %v", gone)
			break
		}
	}
	deletedDuring := w.mon.deletedSince(begin)
	require.NoError(t, w.sim.EndOutage())
	w.gate.setDown(false)
	ended := time.Now()

	for _, s := range sets {
		if _, ok := conditionAt[s.name]; !ok {
			t.Errorf("%s never said GitHub was unreachable during the outage", s.name)
		}
		if _, ok := unknown[s.name]; !ok {
			t.Errorf("the runners of %s never showed their GitHub side as unknown during the outage:\n%s", s.name, lastTable)
		}
		if _, ok := jobsUnknown[s.name]; !ok {
			t.Errorf("%s never showed its job counts as unknown during the outage", s.name)
		}
		for _, p := range before[s.name] {
			if !contains(w.mon.livePods(s.name), p) && contains(deletedDuring, p) {
				t.Errorf("pod %s deleted during the outage", p)
			}
		}
	}
	if apiErrors > 0 {
		t.Errorf("%d of %d API calls failed during the outage", apiErrors, apiCalls)
	}

	// Recovery, on its own.
	w.eventually(3*time.Minute, "every RunnerSet Ready again", func(ctx context.Context) (bool, string) {
		var not []string
		for _, s := range sets {
			rs, err := w.runnerSet(ctx, s.name)
			if err != nil || !meta.IsStatusConditionTrue(rs.Status.Conditions, v1alpha1.ConditionReady) {
				not = append(not, s.name)
			}
		}
		return len(not) == 0, strings.Join(not, ", ")
	})
	ready := time.Since(ended)
	w.waitJobs(4 * time.Minute)
	recovered := time.Since(ended)
	c := w.sim.Counters()
	w.audit(
		fmt.Sprintf("outage of %s with 6 jobs running and 3 idle runners; %d more jobs queued during it", outage, len(queuedDuring)),
		fmt.Sprintf("during it: %d API calls (kubectl get runnersets/runners), %d failed; no runner pod deleted (%d watched)", apiCalls, apiErrors, len(before["r3-a"])+len(before["r3-b"])),
		fmt.Sprintf("GitHub unreachable shown (Ready False) after %s; runners' GitHub side shown unknown after %s; RunnerSets' job counts shown unknown after %s",
			durations(conditionAt), durations(unknown), durations(jobsUnknown)),
		fmt.Sprintf("after it: every RunnerSet Ready again in %s, every job done in %s; GitHub saw %d session creates, %d deletes",
			ready.Round(time.Second), recovered.Round(time.Second), c.Endpoint(simulator.EPCreateSession), c.Endpoint(simulator.EPDeleteSession)),
	)
}

// gitHubUnreachable reports whether a RunnerSet's status says GitHub cannot be reached.
func gitHubUnreachable(rs *v1alpha1.RunnerSet) bool {
	c := meta.FindStatusCondition(rs.Status.Conditions, v1alpha1.ConditionReady)
	return c != nil && c.Status == metav1.ConditionFalse && c.Reason == "GitHubUnreachable"
}

// runnersAllUnknown reports whether every row of a RunnerSet in a `kubectl get runners` table
// shows its GitHub side as unknown.
func runnersAllUnknown(table, set string) bool {
	rows := 0
	for _, line := range strings.Split(table, "\n") {
		f := strings.Fields(line)
		if len(f) < 3 || f[1] != set {
			continue
		}
		rows++
		if !strings.HasPrefix(f[2], "unknown") {
			return false
		}
	}
	return rows > 0
}

// rowHas reports whether the table row of name has a cell equal to value.
func rowHas(table, name, value string) bool {
	for _, line := range strings.Split(table, "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && f[0] == name && contains(f[1:], value) {
			return true
		}
	}
	return false
}

func durations(m map[string]time.Duration) string {
	var parts []string
	for k, v := range m {
		parts = append(parts, fmt.Sprintf("%s %s", k, v.Round(time.Second)))
	}
	if len(parts) == 0 {
		return "never"
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
