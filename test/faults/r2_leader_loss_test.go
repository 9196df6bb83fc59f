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
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/api/meta"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/github/simulator"
	"actions.dev/runnerset-apiserver/pkg/localsystem"
)

// replica2 is the second server replica R2 runs next to the first, behind the same balancer
// and with the same ServiceAccount, flags and Lease.
const replica2 = localsystem.ServerName + "-2"

// TestR2LeaderLoss: two server replicas; the leader is killed with SIGKILL in the middle of a
// burst. The other must take the Lease within its duration plus 10 s and resume every session
// (the dead leader's sessions are still open on GitHub: a 409 it has to handle) within the same
// bound, and the jobs all run. The killed replica comes back as a follower, and the same is done
// with a graceful stop (SIGTERM) of the new leader.
func TestR2LeaderLoss(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, "R2 leader loss", "faults-r2", simulator.Options{})
	sets := []setSpec{{name: "r2-a", min: 1, max: pick(int32(12), int32(6))}, {name: "r2-b", min: 0, max: pick(int32(12), int32(6)), app: true}}
	for _, s := range sets {
		w.addSet(s)
	}
	port2, err := sys.StartServerReplica(ctx, replica2)
	require.NoError(t, err)
	primary := sys.ServerReplicaPort(localsystem.ServerName)
	lb.SetBackends(primary, port2)
	defer func() {
		// Back to one replica for the next scenario.
		_ = sys.StopComponent(replica2, 30*time.Second)
		if sys.ComponentPID(localsystem.ServerName) == 0 {
			_ = sys.RestartComponent(context.Background(), localsystem.ServerName)
		}
		lb.SetBackends(primary)
	}()

	var notes []string
	bound := leaseDuration + 10*time.Second
	for _, how := range []string{"SIGKILL", "SIGTERM"} {
		ids := map[string][]int64{}
		for _, s := range sets {
			ids[s.name] = w.queue(s.name, pick(30, 8), pick(4*time.Second, 3*time.Second), pick(12*time.Second, 6*time.Second))
		}
		w.eventually(2*time.Minute, "runners busy mid-burst", func(context.Context) (bool, string) {
			busy := 0
			for _, r := range w.sim.Runners() {
				if r.Busy {
					busy++
				}
			}
			return busy >= 4, fmt.Sprintf("%d busy", busy)
		})
		old, err := leaderIdentity(ctx, w.kube)
		require.NoError(t, err)
		victim := replicaOf(t, old)
		begin := time.Now()
		exited := make(chan time.Duration, 1)
		if how == "SIGKILL" {
			require.NoError(t, sys.KillComponent(victim))
			exited <- time.Since(begin)
		} else {
			// A graceful stop has to be quick too: a Deployment's default grace is 30 s.
			require.NoError(t, sys.SignalComponent(victim, syscall.SIGTERM))
			go func() {
				if !sys.WaitExited(victim, 30*time.Second) {
					_ = sys.SignalComponent(victim, syscall.SIGQUIT) // its goroutines go to its log
					sys.WaitExited(victim, 10*time.Second)
					exited <- -1
					return
				}
				exited <- time.Since(begin)
			}()
		}

		// Takeover: the Lease changes hands to the other replica.
		var newLeader string
		w.eventually(bound+20*time.Second, "another replica holding the Lease", func(ctx context.Context) (bool, string) {
			id, err := leaderIdentity(ctx, w.kube)
			if err != nil {
				return false, err.Error()
			}
			newLeader = id
			return id != old && id != "", "holder " + id
		})
		takeover := time.Since(begin)
		// Resumed: every scale set has a session opened by the new leader, and the RunnerSets say
		// so.
		w.eventually(bound+2*time.Minute, "every session resumed by the new leader", func(ctx context.Context) (bool, string) {
			var missing []string
			for _, s := range sets {
				id, _ := w.scaleSetOf(s.name)
				owner := ""
				for _, sess := range w.sim.Sessions() {
					if sess.RunnerScaleSet != nil && sess.RunnerScaleSet.ID == id {
						owner = sess.OwnerName
					}
				}
				rs, err := w.runnerSet(ctx, s.name)
				if owner != newLeader || err != nil || !meta.IsStatusConditionTrue(rs.Status.Conditions, v1alpha1.ConditionSessionActive) {
					missing = append(missing, fmt.Sprintf("%s (session owner %q)", s.name, owner))
				}
			}
			return len(missing) == 0, strings.Join(missing, ", ")
		})
		resumed := time.Since(begin)
		stopped := <-exited
		if stopped < 0 {
			t.Errorf("%s did not exit within 30s of SIGTERM; its goroutines are in its log", victim)
			_ = sys.KillComponent(victim)
		}
		note := fmt.Sprintf("%s of the leader %s mid-burst (exited after %s): %s took the Lease after %s and resumed every session after %s (bound: lease %s + 10s = %s)",
			how, victim, stopped.Round(100*time.Millisecond), replicaOf(t, newLeader), takeover.Round(100*time.Millisecond), resumed.Round(100*time.Millisecond), leaseDuration, bound)
		notes = append(notes, note)
		t.Log(note)
		if takeover > bound || resumed > bound {
			t.Errorf("takeover after %s: %s", how, note)
		}
		require.NoError(t, sys.RestartComponent(ctx, victim), "the killed replica comes back")
		w.waitJobs(pick(6*time.Minute, 3*time.Minute))
	}
	c := w.sim.Counters()
	conflicts := 0
	for _, name := range []string{localsystem.ServerName, replica2} {
		data, _ := os.ReadFile(sys.LogFile(name))
		for _, line := range strings.Split(string(data), "\n") {
			if strings.Contains(line, "Session conflict: closing the previous session") && strings.Contains(line, `runnerSet="`+w.ns+`/`) {
				conflicts++
			}
		}
	}
	notes = append(notes, fmt.Sprintf("GitHub saw %d session creates and %d session deletes for 2 scale sets over 3 leaders; %d creates met the previous leader's session (409), which the new leader closed and replaced",
		c.Endpoint(simulator.EPCreateSession), c.Endpoint(simulator.EPDeleteSession), conflicts))
	w.audit(notes...)
}

// replicaOf maps a Lease holder identity to the replica whose log shows it leading.
func replicaOf(t *testing.T, identity string) string {
	t.Helper()
	found := ""
	_, err := poll(10*time.Second, func(context.Context) (bool, string) {
		for _, name := range []string{localsystem.ServerName, replica2} {
			data, err := os.ReadFile(sys.LogFile(name))
			if err == nil && strings.Contains(string(data), `identity="`+identity+`"`) {
				found = name
				return true, ""
			}
		}
		return false, ""
	})
	if err != nil {
		t.Fatalf("no replica's log shows identity %q leading", identity)
	}
	return found
}
