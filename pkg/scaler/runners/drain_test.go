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
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"actions.dev/runnerset-apiserver/pkg/contract"
)

// drainWorld is a deleted RunnerSet with an idle runner (id 11) and a busy one (id 12).
func drainWorld(t *testing.T) *world {
	base := newWorld(t)
	idleS, idleP := base.runner("rs-idle1", 11, corev1.PodRunning, nil)
	busyS, busyP := base.runner("rs-busy1", 12, corev1.PodRunning, contract.JobStartedAnnotations(contract.Job{RequestID: 5, ID: "j5"}))
	w := newWorld(t, idleS, idleP, busyS, busyP)
	w.rs.DeletionTimestamp = &metav1.Time{Time: w.clock.Now()}
	return w
}

func TestDrainWaitsForBusyRunners(t *testing.T) {
	w := drainWorld(t)
	dr := w.r.Drain(context.Background(), w.rs, w.gh, time.Time{})
	assert.Equal(t, Drained{Waiting: 1, Registered: true}, dr)
	assert.Equal(t, []int{11}, w.gh.removed, "the idle runner goes at once")
	assert.Equal(t, []string{"rs-idle1"}, w.writes("delete", "secrets"))
}

func TestDrainEndsAfterItsTimeout(t *testing.T) {
	w := drainWorld(t)
	w.clock.Step(w.r.cfg.DrainTimeout + time.Second)
	dr := w.r.Drain(context.Background(), w.rs, w.gh, time.Time{})
	assert.Zero(t, dr.Waiting)
	assert.ElementsMatch(t, []int{11, 12}, w.gh.removed, "busy runners go too")
	assert.ElementsMatch(t, []string{"rs-idle1", "rs-busy1"}, w.writes("delete", "secrets"))
}

func TestDrainGivesUpOnAnUnreachableGitHub(t *testing.T) {
	w := drainWorld(t)
	ctx := context.Background()
	w.gh.removeErr = map[int]error{11: errors.New("503")}
	dr := w.r.Drain(ctx, w.rs, w.gh, time.Time{})
	assert.Equal(t, 2, dr.Waiting, "a failed deregistration is retried")
	assert.Empty(t, w.writes("delete", "secrets"))

	w.clock.Step(w.r.cfg.GitHubGiveUp + time.Second)
	dr = w.r.Drain(ctx, w.rs, w.gh, time.Time{})
	assert.True(t, dr.GiveUp, "GitHub has failed for longer than GitHubGiveUp")
	assert.Zero(t, dr.Waiting)
	assert.Equal(t, []string{"runner rs-idle1 (id 11)"}, dr.Left)
	assert.ElementsMatch(t, []string{"rs-idle1", "rs-busy1"}, w.writes("delete", "secrets"))
}

func TestDrainWithoutCredentials(t *testing.T) {
	w := drainWorld(t)
	dr := w.r.Drain(context.Background(), w.rs, nil, time.Time{})
	assert.Equal(t, 2, dr.Waiting, "without a client nothing can be deregistered yet")

	failing := w.clock.Now()
	w.clock.Step(w.r.cfg.GitHubGiveUp + time.Second)
	dr = w.r.Drain(context.Background(), w.rs, nil, failing)
	assert.True(t, dr.GiveUp)
	assert.Len(t, dr.Left, 2)
	assert.Len(t, w.writes("delete", "secrets"), 2)
}
