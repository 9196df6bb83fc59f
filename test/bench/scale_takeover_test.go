//go:build bench

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

package bench

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/localsystem"
)

const (
	// scaleReplica2 is the second server replica, started as R2 (test/faults) starts its own.
	scaleReplica2 = localsystem.ServerName + "-2"
	// r2Bound is R2's bound on a takeover (docs/reliability.md): the lease duration, the server's
	// default 15 s, plus 10 s.
	r2Bound    = 25 * time.Second
	scalerLock = "runnerset-apiserver-scaler"
)

// takeover: a second replica joins, the leader is killed (SIGKILL) and a job is queued at once on
// a RunnerSet without runners. Measured from the kill: the Lease held by the replica, a session of
// the replica's for every RunnerSet, and the job's runner pod.
func (s *scaleRun) takeover(ctx context.Context) error {
	s.mem.setPhase("takeover")
	rss, _, err := procStatus(s.serverPID)
	if err != nil {
		return err
	}
	minFree := int64(*scaleMinFree) * mebi
	if avail := memAvailable(); avail > 0 && avail-rss*3/2 < minFree {
		s.add(Result{ID: "S.takeover.sessions", Figure: "leader killed → every RunnerSet's session held by the new leader", Unit: "s", Met: boolp(false),
			Target: fmt.Sprintf("≤ %s (R2's bound)", r2Bound), Note: fmt.Sprintf("not measured: a second replica did not fit (the leader's RSS %.0f MiB, MemAvailable %.1f GiB, floor %d MiB)",
				float64(rss)/mebi, float64(avail)/gibi, *scaleMinFree)})
		return nil
	}
	if _, err := s.sys.StartServerReplica(ctx, scaleReplica2); err != nil {
		return err
	}
	old, err := s.leaseHolder(ctx)
	if err != nil || old == "" {
		return fmt.Errorf("no Lease holder before the kill (%q): %v", old, err)
	}
	podT, err := track(ctx, s.kube, pods, s.probe.ns, v1alpha1.LabelRunnerSet)
	if err != nil {
		return err
	}
	defer podT.stop()
	t0 := time.Now()
	if err := s.sys.KillComponent(localsystem.ServerName); err != nil {
		return err
	}
	if _, err := s.sim.QueueJobs(s.job(s.probe.name, 30*time.Minute), 1); err != nil {
		return err
	}
	var lease, sessions, pod time.Duration
	var holder string
	missing := len(s.ids)
	deadline, _ := ctx.Deadline()
	err = wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, time.Until(deadline), true, func(ctx context.Context) (bool, error) {
		if h, _ := s.leaseHolder(ctx); lease == 0 && h != "" && h != old {
			holder, lease = h, time.Since(t0)
		}
		if lease != 0 && sessions == 0 {
			if missing = s.sessionsMissing(holder); missing == 0 {
				sessions = time.Since(t0)
			}
		}
		if at, ok := podT.nthAdded(1); ok && pod == 0 {
			pod = at.Sub(t0)
		}
		return lease != 0 && sessions != 0 && pod != 0, nil
	})
	s.takeoverRows(t0, lease, sessions, pod, missing, err)
	return nil
}

func (s *scaleRun) leaseHolder(ctx context.Context) (string, error) {
	l, err := s.kube.CoordinationV1().Leases(localsystem.ServerNamespace).Get(ctx, scalerLock, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	return ptr.Deref(l.Spec.HolderIdentity, ""), nil
}

// sessionsMissing counts the RunnerSets whose scale set has no session of holder on GitHub.
func (s *scaleRun) sessionsMissing(holder string) int {
	sessions, err := s.sim.Sessions()
	if err != nil {
		return len(s.ids)
	}
	owned := map[int]bool{}
	for _, sess := range sessions {
		if sess.OwnerName == holder && sess.RunnerScaleSet != nil {
			owned[sess.RunnerScaleSet.ID] = true
		}
	}
	missing := 0
	for _, id := range s.ids {
		if !owned[id] {
			missing++
		}
	}
	return missing
}

func (s *scaleRun) takeoverRows(t0 time.Time, lease, sessions, pod time.Duration, missing int, waitErr error) {
	target := fmt.Sprintf("≤ %s (R2's bound: lease 15 s + 10 s)", r2Bound)
	size := fmt.Sprintf("%d RunnerSets with sessions, %d warm runners and the burst's %d (%d runner pods and as many Secrets for the new leader to list)",
		len(s.ids), s.runners, *scaleBurst, s.runners+*scaleBurst)
	leading, running := logTime(s.sys.LogFile(scaleReplica2), "Leading: starting the scaler"), logTime(s.sys.LogFile(scaleReplica2), "Scaler running")
	caches := "its log does not say when it led and had its caches"
	if !leading.IsZero() && !running.IsZero() {
		caches = fmt.Sprintf("its log: leading %.1f s after the kill, caches synced and workers started %.1f s after it", leading.Sub(t0).Seconds(), running.Sub(leading).Seconds())
	}
	if rss, _, err := procStatus(s.sys.ComponentPID(scaleReplica2)); err == nil {
		caches += fmt.Sprintf("; the new leader's RSS %.0f MiB", float64(rss)/mebi)
	}
	timedOut := ""
	if waitErr != nil {
		timedOut = fmt.Sprintf(" Not all reached before the phase's deadline (%s after the kill; %d RunnerSets still without the new leader's session): %v.", time.Since(t0).Round(time.Second), missing, waitErr)
	}
	for _, r := range []struct {
		id, figure string
		d          time.Duration
	}{
		{"S.takeover.lease", "leader killed (SIGKILL) → the Lease held by the other replica", lease},
		{"S.takeover.sessions", "leader killed → every RunnerSet's session held by the new leader", sessions},
		{"S.takeover.job", "leader killed, a job queued at once → its runner pod exists", pod},
	} {
		met := r.d != 0 && r.d <= r2Bound
		s.add(Result{ID: r.id, Figure: r.figure + " at size", Value: r.d.Seconds(), Unit: "s", Target: target, Met: boolp(met), Samples: len(s.ids),
			Note: fmt.Sprintf("two replicas as in R2 (same flags, ServiceAccount and Lease), the leader killed at %s; %s; %s; sessions from the simulator's list (owner = the Lease holder).%s",
				t0.Format("15:04:05"), size, caches, timedOut)})
	}
}

// logTime is the time of the last klog line of file containing substr, or zero.
func logTime(file, substr string) time.Time {
	f, err := os.Open(file)
	if err != nil {
		return time.Time{}
	}
	defer f.Close()
	var at time.Time
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.Contains(line, substr) || len(line) < 21 {
			continue
		}
		// klog: "I1203 19:39:55.938066 ..." (month, day, time; no year).
		t, err := time.ParseInLocation("0102 15:04:05.000000", line[1:21], time.Local)
		if err == nil {
			at = t.AddDate(time.Now().Year(), 0, 0)
		}
	}
	return at
}
