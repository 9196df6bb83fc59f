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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	testingclock "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/github/actions"
	"actions.dev/runnerset-apiserver/pkg/github/ratelimit"
	"actions.dev/runnerset-apiserver/pkg/github/simulator"
	"actions.dev/runnerset-apiserver/pkg/github/simulator/simtest"
)

// TestThrottledRegistrationHoldsTheSessionBack: over the real client and the simulator, the
// Actions Service's 429 with a long Retry-After on a JIT registration (the cluster side's call)
// fails that call at once and closes the credential's gate; the session stops polling, leaves a
// job queued meanwhile available, says RateLimited, and once the limit ends polls again and
// acquires the job.
func TestThrottledRegistrationHoldsTheSessionBack(t *testing.T) {
	sim := simtest.New(t, simulator.Options{LongPollHold: 100 * time.Millisecond, ReofferAfter: -1})
	kube := fake.NewClientset(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "pat", Namespace: "ns"},
		Data: map[string][]byte{"github_token": []byte(simulator.DefaultPAT)}})
	rs := &v1alpha1.RunnerSet{
		ObjectMeta: metav1.ObjectMeta{Name: "rs", Namespace: "ns", UID: "uid", Generation: 1},
		Spec: v1alpha1.RunnerSetSpec{GitHubConfigURL: sim.ConfigURL("acme/app"), GitHubConfigSecret: "pat",
			RunnerScaleSetName: "linux", MaxRunners: ptr.To[int32](5)},
	}
	fc := testingclock.NewFakeClock(time.Now()) // the session's, the gate's and the retries'
	alive := func(context.Context, Owner) (bool, error) { return true, nil }
	cfg := Config{
		GitHub:    &SecretFactory{KubeClient: kube, UserAgent: "test", Clock: fc},
		Registrar: &Registrar{Claims: NewClaims(kube.CoreV1(), "srv", alive)},
		Clock:     fc, Identity: "me",
	}
	var (
		mu   sync.Mutex
		last Demand
	)
	s := New(cfg, func() *v1alpha1.RunnerSet { return rs }, Demand{}, func(d Demand) { mu.Lock(); defer mu.Unlock(); last = d })
	published := func() Demand { mu.Lock(); defer mu.Unlock(); return last }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Run(ctx) }()
	defer func() { cancel(); <-done }()
	eventually(t, "no session opened", func() bool { return published().Listening })
	d := published()

	sim.InjectFault(simulator.Fault{Endpoint: simulator.EPGenerateJitConfig, Status: 429, RetryAfter: 2 * time.Minute, Count: 1})
	_, err := d.Client.GenerateJitConfig(ctx, d.ScaleSetID, &actions.JitRunnerSetting{Name: "linux-abcde"})
	require.ErrorIs(t, err, ratelimit.ErrRateLimited, "a long Retry-After is not slept on")
	assert.Equal(t, fc.Now().Add(2*time.Minute), d.Client.RateLimitedUntil(ratelimit.APIActions))
	_, err = d.Client.GetScaleSetByID(ctx, d.ScaleSetID)
	require.ErrorIs(t, err, ratelimit.ErrRateLimited, "held back")

	eventually(t, "the session did not wait", func() bool {
		return conditionOf(published().Conditions, v1alpha1.ConditionRateLimited).Status == metav1.ConditionTrue && fc.HasWaiters()
	})
	polls := sim.Counters().Endpoint(simulator.EPGetMessage)
	id := sim.QueueJob(simulator.Job{Labels: []string{"linux"}, Owner: "acme", Repository: "app"})
	time.Sleep(300 * time.Millisecond)
	assert.Equal(t, polls, sim.Counters().Endpoint(simulator.EPGetMessage), "no poll while rate-limited")
	job, _ := sim.Job(id)
	assert.Equal(t, simulator.JobQueued, job.State, "not acquired: still available")

	fc.Step(2 * time.Minute)
	eventually(t, "the job was not acquired after the limit", func() bool { d := published(); return d.Stats != nil && d.Stats.TotalAssignedJobs == 1 })
	c := conditionOf(published().Conditions, v1alpha1.ConditionRateLimited)
	assert.Equal(t, [2]string{string(metav1.ConditionFalse), ReasonNotRateLimited}, [2]string{string(c.Status), c.Reason})
	assert.True(t, published().Listening)
}
