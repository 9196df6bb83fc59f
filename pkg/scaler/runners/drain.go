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
	"context"
	"errors"
	"fmt"
	"time"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/contract"
	"actions.dev/runnerset-apiserver/pkg/github/actions"
)

// Drained is where a drain stands.
type Drained struct {
	// Waiting counts the runners still to go (busy, or their deregistration failed).
	Waiting int
	// Left are the registrations left on GitHub because it was unreachable too long.
	Left []string
	// GiveUp is true when GitHub has been unreachable for longer than GitHubGiveUp.
	GiveUp bool
	// Registered tells whether runners existed (nothing to wait for otherwise).
	Registered bool
}

// Drain takes a deleted RunnerSet's runners apart: idle runners are removed at once, busy ones
// finish their job. It ends in bounded time: after DrainTimeout busy runners are removed too,
// and once GitHub has been unreachable for GitHubGiveUp (since gitHubFailing, the session's, or
// the cluster side's own) the drain stops waiting for it. client may be nil (no credentials).
func (r *Reconciler) Drain(ctx context.Context, rs *v1alpha1.RunnerSet, client GitHub, gitHubFailing time.Time) Drained {
	runners, _ := r.runnersAndStrays(ctx)
	failing := earliest(gitHubFailing, r.failingSince)
	now := r.cfg.Clock.Now()
	d := Drained{Registered: len(runners) > 0, GiveUp: !failing.IsZero() && now.Sub(failing) > r.cfg.GitHubGiveUp}
	pastDeadline := now.Sub(rs.DeletionTimestamp.Time) > r.cfg.DrainTimeout
	for _, run := range runners {
		if run.Phase == contract.PhaseBusy && !pastDeadline && !d.GiveUp {
			d.Waiting++
			continue
		}
		if run.RunnerID != 0 {
			stays, left := r.drainRegistration(ctx, client, run, pastDeadline, d.GiveUp)
			if stays {
				d.Waiting++
				continue
			}
			if left {
				d.Left = append(d.Left, fmt.Sprintf("runner %s (id %d)", run.Name, run.RunnerID))
			}
		}
		r.deleteRunner(ctx, run, "its RunnerSet is being deleted")
	}
	return d
}

// drainRegistration deregisters a runner being drained. stays: wait for it (busy, or GitHub
// failing and not given up on); left: its registration is left on GitHub.
func (r *Reconciler) drainRegistration(ctx context.Context, client GitHub, run contract.Runner, pastDeadline, giveUp bool) (stays, left bool) {
	if client == nil {
		return !giveUp, true
	}
	err := client.RemoveRunner(ctx, run.RunnerID)
	switch {
	case errors.Is(err, actions.ErrJobStillRunning) && !pastDeadline:
		return true, false
	case err != nil && !errors.Is(err, actions.ErrRunnerNotFound):
		r.failed()
		return !giveUp, true
	}
	r.ok()
	return false, false
}

func earliest(a, b time.Time) time.Time {
	switch {
	case a.IsZero():
		return b
	case b.IsZero() || a.Before(b):
		return a
	}
	return b
}
