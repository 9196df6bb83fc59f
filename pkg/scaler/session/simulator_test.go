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
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/clock"
	testingclock "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/github/actions"
	"actions.dev/runnerset-apiserver/pkg/github/simulator"
	"actions.dev/runnerset-apiserver/pkg/github/simulator/simtest"
)

// TestSessionAgainstTheSimulator: the session over the real client and the simulator's real
// protocol registers the scale set, opens a message session, acquires a queued job and publishes
// the statistics and the job's start and end; stopped, it closes the session on GitHub.
func TestSessionAgainstTheSimulator(t *testing.T) {
	sim := simtest.New(t, simulator.Options{LongPollHold: 200 * time.Millisecond})
	kube := fake.NewClientset(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "pat", Namespace: "ns"},
		Data: map[string][]byte{"github_token": []byte(simulator.DefaultPAT)}})
	rs := &v1alpha1.RunnerSet{
		ObjectMeta: metav1.ObjectMeta{Name: "rs", Namespace: "ns", UID: "uid", Generation: 1},
		Spec: v1alpha1.RunnerSetSpec{GitHubConfigURL: sim.ConfigURL("acme/app"), GitHubConfigSecret: "pat",
			RunnerScaleSetName: "linux", MaxRunners: ptr.To[int32](5)},
	}
	alive := func(context.Context, Owner) (bool, error) { return true, nil }
	cfg := Config{
		GitHub:    &SecretFactory{KubeClient: kube, UserAgent: "test", Clock: clock.RealClock{}},
		Registrar: &Registrar{Claims: NewClaims(kube.CoreV1(), "srv", alive)},
		Clock:     clock.RealClock{}, Identity: "me",
	}
	var (
		mu   sync.Mutex
		last Demand
		jobs []actions.JobMessage
	)
	s := New(cfg, func() *v1alpha1.RunnerSet { return rs }, Demand{}, func(d Demand) {
		mu.Lock()
		defer mu.Unlock()
		last, jobs = d, append(jobs, d.Jobs...)
	})
	published := func() (Demand, []actions.JobMessage) {
		mu.Lock()
		defer mu.Unlock()
		return last, append([]actions.JobMessage(nil), jobs...)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Run(ctx) }()
	stop := sync.OnceFunc(func() { cancel(); <-done })
	defer stop()

	eventually(t, "no session opened", func() bool { d, _ := published(); return d.Listening })
	d, _ := published()
	require.NotNil(t, d.Client)
	assert.True(t, meta.IsStatusConditionTrue(d.Conditions, v1alpha1.ConditionGitHubAuthenticated))
	assert.True(t, meta.IsStatusConditionTrue(d.Conditions, v1alpha1.ConditionScaleSetRegistered))
	assert.Len(t, sim.Sessions(), 1)

	id := sim.QueueJob(simulator.Job{Labels: []string{"linux"}, Owner: "acme", Repository: "app"})
	eventually(t, "the job was not assigned", func() bool { d, _ := published(); return d.Stats != nil && d.Stats.TotalAssignedJobs == 1 })

	jit, err := d.Client.GenerateJitConfig(ctx, d.ScaleSetID, &actions.JitRunnerSetting{Name: "linux-abcde"})
	require.NoError(t, err)
	runner, err := sim.ConnectRunner(jit.EncodedJITConfig)
	require.NoError(t, err)
	job, ok := sim.AcquireRunnerJob(runner.ID)
	require.True(t, ok)
	require.Equal(t, id, job.RequestID)
	require.NoError(t, sim.CompleteRunnerJob(runner.ID, simulator.ResultSucceeded))
	eventually(t, "the job's life was not published", func() bool { _, j := published(); return len(j) == 4 })
	_, j := published()
	var types []string
	for _, m := range j {
		types = append(types, m.MessageType)
	}
	assert.Equal(t, []string{actions.JobMessageAvailable, actions.JobMessageAssigned, actions.JobMessageStarted, actions.JobMessageCompleted}, types)
	assert.Equal(t, "linux-abcde", j[3].RunnerName)

	stop()
	assert.Empty(t, sim.Sessions(), "the session is closed on GitHub when the session stops")
	d, _ = published()
	assert.False(t, d.Listening)
	assert.Empty(t, d.SessionID)
}

// TestSessionConflictUntilTheOldSessionExpires: a listener killed without deleting its message
// session leaves GitHub answering 409 to the next one. The Session, which does not know that
// session's id, keeps retrying on its backoff and becomes active once the simulator, like the
// service, expires the idle session.
func TestSessionConflictUntilTheOldSessionExpires(t *testing.T) {
	simClock := testingclock.NewFakeClock(time.Now())
	sim := simtest.New(t, simulator.Options{LongPollHold: 200 * time.Millisecond, Clock: simClock, AdminTokenTTL: time.Hour})
	kube := fake.NewClientset(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "pat", Namespace: "ns"},
		Data: map[string][]byte{"github_token": []byte(simulator.DefaultPAT)}})
	rs := &v1alpha1.RunnerSet{
		ObjectMeta: metav1.ObjectMeta{Name: "rs", Namespace: "ns", UID: "uid", Generation: 1},
		Spec: v1alpha1.RunnerSetSpec{GitHubConfigURL: sim.ConfigURL("acme/app"), GitHubConfigSecret: "pat",
			RunnerScaleSetName: "linux", MaxRunners: ptr.To[int32](5)},
	}
	alive := func(context.Context, Owner) (bool, error) { return true, nil }
	sessionClock := testingclock.NewFakeClock(time.Now())
	cfg := Config{
		GitHub:    &SecretFactory{KubeClient: kube, UserAgent: "test", Clock: clock.RealClock{}},
		Registrar: &Registrar{Claims: NewClaims(kube.CoreV1(), "srv", alive)},
		Clock:     sessionClock, Identity: "me",
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// The killed listener: it registered the scale set and opened a session, then died.
	client, err := cfg.GitHub.ForRunnerSet(ctx, rs)
	require.NoError(t, err)
	group, err := client.GetRunnerGroupByName(ctx, "")
	require.NoError(t, err)
	ss, err := cfg.Registrar.Ensure(ctx, client, rs, group)
	require.NoError(t, err)
	killed, err := client.OpenSession(ctx, ss.ID, "killed-listener")
	require.NoError(t, err)

	var (
		mu   sync.Mutex
		last Demand
	)
	s := New(cfg, func() *v1alpha1.RunnerSet { return rs }, Demand{}, func(d Demand) {
		mu.Lock()
		defer mu.Unlock()
		last = d
	})
	published := func() Demand { mu.Lock(); defer mu.Unlock(); return last }
	conflicted := func() bool {
		c := meta.FindStatusCondition(published().Conditions, v1alpha1.ConditionSessionActive)
		return c != nil && c.Status == metav1.ConditionFalse && c.Reason == ReasonSessionConflict
	}
	creates := func() int { return sim.Counters().ScaleSet(ss.ID, simulator.EPCreateSession) }
	done := make(chan struct{})
	go func() { defer close(done); s.Run(ctx) }()
	defer func() { cancel(); <-done }()

	// 409, and the Session waits out its backoff on its clock.
	eventually(t, "no session conflict", func() bool { return conflicted() && creates() == 2 && sessionClock.HasWaiters() })
	// Retried while the old session lives: 409 again.
	simClock.Step(simulator.DefaultSessionIdleTimeout - time.Second)
	sessionClock.Step(45 * time.Second)
	eventually(t, "no second try", func() bool { return creates() == 3 && sessionClock.HasWaiters() })
	assert.True(t, conflicted())
	assert.False(t, published().Listening)

	// The old session has been idle for the timeout: the next try opens a session.
	simClock.Step(time.Second)
	sessionClock.Step(45 * time.Second)
	eventually(t, "the session did not become active", func() bool { return published().Listening })
	d := published()
	assert.True(t, meta.IsStatusConditionTrue(d.Conditions, v1alpha1.ConditionSessionActive))
	require.Len(t, sim.Sessions(), 1)
	assert.Equal(t, "me", sim.Sessions()[0].OwnerName)
	assert.NotEqual(t, killed.Session().SessionID, d.SessionID)
}
