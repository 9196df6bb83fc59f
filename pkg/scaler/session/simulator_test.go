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
	"k8s.io/utils/ptr"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/github/actions"
	"actions.dev/runnerset-apiserver/pkg/github/simulator"
)

// TestSessionAgainstTheSimulator: the session over the real client and the simulator's real
// protocol registers the scale set, opens a message session, acquires a queued job and publishes
// the statistics and the job's start and end; stopped, it closes the session on GitHub.
func TestSessionAgainstTheSimulator(t *testing.T) {
	sim := simulator.New(t, simulator.Options{LongPollHold: 200 * time.Millisecond})
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
	eventually(t, "the job's start and end were not published", func() bool { _, j := published(); return len(j) == 2 })
	_, j := published()
	assert.Equal(t, []string{actions.JobMessageStarted, actions.JobMessageCompleted}, []string{j[0].MessageType, j[1].MessageType})
	assert.Equal(t, "linux-abcde", j[1].RunnerName)

	stop()
	assert.Empty(t, sim.Sessions(), "the session is closed on GitHub when the session stops")
	d, _ = published()
	assert.False(t, d.Listening)
	assert.Empty(t, d.SessionID)
}
