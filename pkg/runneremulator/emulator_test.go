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

package runneremulator

import (
	"context"
	"runtime"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	testingclock "k8s.io/utils/clock/testing"

	"actions.dev/runnerset-apiserver/pkg/github/actions"
	"actions.dev/runnerset-apiserver/pkg/github/simulator"
	"actions.dev/runnerset-apiserver/pkg/github/simulator/simtest"
)

const (
	ns   = "team-a"
	poll = 200 * time.Millisecond
)

type env struct {
	t        *testing.T
	sim      *simulator.Simulator
	tenant   *simtest.Tenant
	scaleSet actions.RunnerScaleSet
	client   kubernetes.Interface
	clock    *testingclock.FakeClock
	em       *Emulator
}

// setup starts a simulator with a listening scale set "linux", and an emulator on a fake
// clientset and a fake clock, configured further by opts.
func setup(t *testing.T, opts ...func(*Config)) *env {
	t.Helper()
	// Jobs of runners that go away mid-job stay running until a test shortens the timeout
	// (lostRunnerFails).
	sim := simtest.New(t, simulator.Options{LongPollHold: 200 * time.Millisecond, RunnerLostTimeout: time.Hour})
	tn := simtest.Register(t, sim, "acme")
	rs := tn.CreateScaleSet(t, "linux")
	tn.Listen(t, rs.ID).Start(t)
	e := &env{t: t, sim: sim, tenant: tn, scaleSet: rs, client: fake.NewClientset(), clock: testingclock.NewFakeClock(time.Now())}
	cfg := Config{Client: e.client, Runners: sim, Clock: e.clock, PollInterval: poll}
	for _, o := range opts {
		o(&cfg)
	}
	em, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.em = em
	run(t, em)
	return e
}

// run runs em until the test ends.
func run(t *testing.T, em *Emulator) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- em.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

type podOption func(*corev1.Pod)

func withAnnotation(k, v string) podOption {
	return func(p *corev1.Pod) { metav1.SetMetaDataAnnotation(&p.ObjectMeta, k, v) }
}

func withEnv(env ...corev1.EnvVar) podOption {
	return func(p *corev1.Pod) { p.Spec.Containers[0].Env = env }
}

// runnerPod is a runner pod as a scaler would create it: labelled, restartPolicy Never, the
// runner container reading its JIT config from the Secret named like the pod.
func runnerPod(name string, opts ...podOption) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, UID: types.UID("uid-" + name), Labels: map[string]string{RunnerSetLabel: "linux"}},
		Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			Containers: []corev1.Container{{
				Name: RunnerContainer, Image: "ghcr.io/actions/actions-runner:latest",
				Env: []corev1.EnvVar{{Name: JITConfigEnv, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
					LocalObjectReference: corev1.LocalObjectReference{Name: name}, Key: "jitToken"}}}},
			}},
		},
		Status: corev1.PodStatus{Phase: corev1.PodPending},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

// createRunner registers a runner named name and creates its Secret and Pod (Pending).
func (e *env) createRunner(name string, opts ...podOption) actions.JitConfig {
	e.t.Helper()
	jit := e.tenant.GenerateJIT(e.t, e.scaleSet.ID, name)
	e.createSecret(name, jit.EncodedJITConfig)
	e.createPod(runnerPod(name, opts...))
	return jit
}

func (e *env) createSecret(name, jit string) {
	e.t.Helper()
	_, err := e.client.CoreV1().Secrets(ns).Create(e.t.Context(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Data:       map[string][]byte{"jitToken": []byte(jit)},
	}, metav1.CreateOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) createPod(p *corev1.Pod) {
	e.t.Helper()
	if _, err := e.client.CoreV1().Pods(ns).Create(e.t.Context(), p, metav1.CreateOptions{}); err != nil {
		e.t.Fatal(err)
	}
}

// markRunning does what kwok's pod-ready stage does.
func (e *env) markRunning(name string) {
	e.t.Helper()
	p := e.pod(name)
	now := metav1.Now()
	p.Status.Phase = corev1.PodRunning
	p.Status.Conditions = []corev1.PodCondition{
		{Type: corev1.PodInitialized, Status: corev1.ConditionTrue}, {Type: corev1.PodReady, Status: corev1.ConditionTrue},
		{Type: corev1.ContainersReady, Status: corev1.ConditionTrue},
	}
	p.Status.ContainerStatuses = nil
	for _, c := range p.Spec.Containers {
		p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{
			Name: c.Name, Image: c.Image, Ready: true, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}})
	}
	for _, c := range p.Spec.InitContainers {
		cs := corev1.ContainerStatus{Name: c.Name, Image: c.Image, Ready: true}
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			cs.State.Running = &corev1.ContainerStateRunning{StartedAt: now}
		} else {
			cs.State.Terminated = &corev1.ContainerStateTerminated{Reason: "Completed"}
		}
		p.Status.InitContainerStatuses = append(p.Status.InitContainerStatuses, cs)
	}
	if _, err := e.client.CoreV1().Pods(ns).UpdateStatus(e.t.Context(), p, metav1.UpdateOptions{}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) pod(name string) *corev1.Pod {
	e.t.Helper()
	p, err := e.client.CoreV1().Pods(ns).Get(e.t.Context(), name, metav1.GetOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

func (e *env) runner(pod string) Runner {
	for _, r := range e.em.Runners() {
		if r.Pod.Name == pod {
			return r
		}
	}
	return Runner{}
}

func (e *env) simRunner(id int) (simulator.RunnerInfo, bool) {
	for _, r := range e.sim.Runners() {
		if r.ID == id {
			return r, true
		}
	}
	return simulator.RunnerInfo{}, false
}

// eventually polls cond, stepping the emulator's fake clock by step whenever something
// waits on it, until cond holds or 10 s pass.
func (e *env) eventually(what string, step time.Duration, cond func() bool) {
	e.t.Helper()
	err := wait.PollUntilContextTimeout(e.t.Context(), 5*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		if cond() {
			return true, nil
		}
		if step > 0 && e.clock.HasWaiters() {
			e.clock.Step(step)
		}
		return false, nil
	})
	if err != nil {
		e.t.Fatalf("timed out waiting for %s; emulator: %+v", what, e.em.Runners())
	}
}

func (e *env) queueJob(d time.Duration) int64 {
	return e.sim.QueueJob(simulator.Job{Labels: []string{"linux"}, Owner: "acme", Repository: "app", Duration: d})
}

func (e *env) job(id int64) simulator.JobStatus {
	js, _ := e.sim.Job(id)
	return js
}

func runnerStatus(p *corev1.Pod) corev1.ContainerStatus {
	for _, cs := range p.Status.ContainerStatuses {
		if cs.Name == RunnerContainer {
			return cs
		}
	}
	return corev1.ContainerStatus{}
}

func TestRunnerTakesAJobAndExitsLikeAnEphemeralRunner(t *testing.T) {
	e := setup(t)
	jit := e.createRunner("linux-abcde")
	// Pending: nothing happens.
	id := e.queueJob(10 * time.Minute)
	e.eventually("the job to be assigned", 0, func() bool { return e.job(id).State == simulator.JobAssigned })
	if rn, _ := e.simRunner(jit.Runner.ID); rn.Online {
		t.Fatal("a runner came online for a Pending pod")
	}

	e.markRunning("linux-abcde")
	e.eventually("the runner to take the job", poll, func() bool { return e.job(id).State == simulator.JobRunning })
	js := e.job(id)
	if js.RunnerID != jit.Runner.ID || js.RunnerName != "linux-abcde" {
		t.Fatalf("job = %+v", js)
	}
	if rn, _ := e.simRunner(jit.Runner.ID); !rn.Online || !rn.Busy {
		t.Fatalf("runner = %+v", rn)
	}
	// The job runs for its duration on the emulator's clock.
	e.eventually("the job timer", 0, func() bool { return e.runner("linux-abcde").State == StateRunning && e.clock.HasWaiters() })
	e.clock.Step(9 * time.Minute)
	if e.job(id).State != simulator.JobRunning || e.pod("linux-abcde").Status.Phase != corev1.PodRunning {
		t.Fatal("the job ended before its duration")
	}
	e.clock.Step(time.Minute)
	e.eventually("the pod to succeed", 0, func() bool { return e.pod("linux-abcde").Status.Phase == corev1.PodSucceeded })

	if js := e.job(id); js.State != simulator.JobCompleted || js.Result != "succeeded" {
		t.Errorf("job = %+v", js)
	}
	if _, ok := e.simRunner(jit.Runner.ID); ok {
		t.Error("the ephemeral runner is still registered")
	}
	p := e.pod("linux-abcde")
	cs := runnerStatus(p)
	if cs.State.Terminated == nil || cs.State.Terminated.ExitCode != 0 || cs.State.Terminated.Reason != "Completed" || cs.Ready {
		t.Errorf("runner container = %+v", cs)
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status != corev1.ConditionFalse {
			t.Errorf("Ready = %s", c.Status)
		}
	}
	if r := e.runner("linux-abcde"); r.State != StateExited || r.ExitCode != 0 || r.JobRequestID != id {
		t.Errorf("emulator = %+v", r)
	}
}

func TestIdleRunnerWaitsForAJob(t *testing.T) {
	e := setup(t)
	jit := e.createRunner("idle")
	e.markRunning("idle")
	e.eventually("the runner to come online", poll, func() bool { rn, _ := e.simRunner(jit.Runner.ID); return rn.Online })
	// Many polls, no job: still idle, still Running.
	for range 20 {
		e.clock.Step(poll)
	}
	if r := e.runner("idle"); r.State != StateIdle || e.pod("idle").Status.Phase != corev1.PodRunning {
		t.Fatalf("idle runner: %+v", r)
	}
	if s, _ := e.sim.Statistics(e.scaleSet.ID); s.TotalIdleRunners != 1 || s.TotalRegisteredRunners != 1 {
		t.Errorf("statistics %+v", s)
	}
	id := e.queueJob(0)
	e.eventually("the pod to succeed", poll, func() bool { return e.pod("idle").Status.Phase == corev1.PodSucceeded })
	if js := e.job(id); js.State != simulator.JobCompleted || js.RunnerID != jit.Runner.ID {
		t.Errorf("job = %+v", js)
	}
}

func TestPodsThatBringNoRunnerOnline(t *testing.T) {
	e := setup(t)
	// A JIT config the simulator never issued.
	e.createSecret("forged", "eyJub3QiOiJpc3N1ZWQifQ==")
	e.createPod(runnerPod("forged"))
	// A config pasted as a plain value instead of a secretKeyRef.
	plain := e.tenant.GenerateJIT(t, e.scaleSet.ID, "plain")
	e.createPod(runnerPod("plain", withEnv(corev1.EnvVar{Name: JITConfigEnv, Value: plain.EncodedJITConfig})))
	// No env at all.
	noEnv := e.tenant.GenerateJIT(t, e.scaleSet.ID, "no-env")
	e.createSecret("no-env", noEnv.EncodedJITConfig)
	e.createPod(runnerPod("no-env", withEnv()))
	// The Secret lacks the key.
	e.createSecret("no-key", "")
	e.createPod(runnerPod("no-key"))
	// A pod without the runner set label is not a runner pod.
	unlabelled := e.tenant.GenerateJIT(t, e.scaleSet.ID, "unlabelled")
	e.createSecret("unlabelled", unlabelled.EncodedJITConfig)
	p := runnerPod("unlabelled")
	p.Labels = nil
	e.createPod(p)

	for _, name := range []string{"forged", "plain", "no-env", "no-key", "unlabelled"} {
		e.markRunning(name)
	}
	for _, name := range []string{"forged", "plain", "no-env", "no-key"} {
		e.eventually(name+" to be rejected", poll, func() bool { return e.runner(name).State == StateRejected })
	}
	if r := e.runner("unlabelled"); r.State != "" {
		t.Errorf("unlabelled pod emulated: %+v", r)
	}
	for _, rn := range e.sim.Runners() {
		if rn.Online {
			t.Errorf("runner %s is online", rn.Name)
		}
	}
	for _, name := range []string{"forged", "plain", "no-env", "no-key", "unlabelled"} {
		if ph := e.pod(name).Status.Phase; ph != corev1.PodRunning {
			t.Errorf("%s: phase %s, want it left Running", name, ph)
		}
	}
}

func TestMissingSecretIsAwaited(t *testing.T) {
	e := setup(t)
	jit := e.tenant.GenerateJIT(t, e.scaleSet.ID, "late")
	e.createPod(runnerPod("late"))
	e.markRunning("late")
	e.eventually("the emulator to wait for the secret", 0, func() bool { return e.runner("late").Reason != "" })
	if rn, _ := e.simRunner(jit.Runner.ID); rn.Online {
		t.Fatal("online without a secret")
	}
	e.createSecret("late", jit.EncodedJITConfig)
	e.eventually("the runner to come online", time.Second, func() bool { rn, _ := e.simRunner(jit.Runner.ID); return rn.Online })
}

func TestExit7WhenTheRunnerVersionIsDeprecated(t *testing.T) {
	e := setup(t)
	id := e.queueJob(0)
	e.eventually("the job to be assigned", 0, func() bool { return e.job(id).State == simulator.JobAssigned })
	jit := e.createRunner("old", withAnnotation(ExitCodeAnnotation, "7"))
	e.markRunning("old")
	e.eventually("the pod to fail", poll, func() bool { return e.pod("old").Status.Phase == corev1.PodFailed })
	cs := runnerStatus(e.pod("old"))
	if cs.State.Terminated == nil || cs.State.Terminated.ExitCode != 7 || cs.State.Terminated.Reason != "Error" {
		t.Errorf("runner container = %+v", cs)
	}
	// It came online, took no job, and is registered but offline.
	if rn, ok := e.simRunner(jit.Runner.ID); !ok || rn.Online || rn.Busy {
		t.Errorf("runner = %+v (registered %v)", rn, ok)
	}
	if js := e.job(id); js.State != simulator.JobAssigned {
		t.Errorf("job = %+v, want still assigned", js)
	}
}

func TestCrashes(t *testing.T) {
	e := setup(t)
	jit := e.createRunner("crash", withAnnotation(ExitCodeAnnotation, "crash"))
	e.markRunning("crash")
	e.eventually("the pod to fail", poll, func() bool { return e.pod("crash").Status.Phase == corev1.PodFailed })
	if cs := runnerStatus(e.pod("crash")); cs.State.Terminated == nil || cs.State.Terminated.ExitCode != 1 {
		t.Errorf("runner container = %+v", cs)
	}
	if rn, _ := e.simRunner(jit.Runner.ID); rn.Online {
		t.Error("a crashed runner is online")
	}

	// Mid-job: the pod fails; the runner renews its job lock no more, and the job fails once
	// the lock lapsed.
	id := e.queueJob(time.Hour)
	mid := e.createRunner("mid", withAnnotation(ExitCodeAnnotation, "1"), withAnnotation(ExitWhenAnnotation, "job-started"))
	e.markRunning("mid")
	e.eventually("the pod to fail", poll, func() bool { return e.pod("mid").Status.Phase == corev1.PodFailed })
	e.lostRunnerFails(id, mid.Runner.ID)
}

// lostRunnerFails checks that job id runs on, on its runner gone offline, until its job lock
// lapses (the simulator's RunnerLostTimeout, shortened here), then fails.
func (e *env) lostRunnerFails(id int64, runnerID int) {
	e.t.Helper()
	if js := e.job(id); js.State != simulator.JobRunning || js.RunnerLostAt.IsZero() || js.RunnerID != runnerID {
		e.t.Fatalf("job of a runner gone mid-job, within its lock = %+v", js)
	}
	if rn, _ := e.simRunner(runnerID); rn.Online {
		e.t.Error("a runner gone mid-job is online")
	}
	if _, err := e.sim.UpdateSettings(simulator.Settings{RunnerLostTimeout: time.Nanosecond}); err != nil {
		e.t.Fatal(err)
	}
	if js := e.job(id); js.State != simulator.JobCompleted || js.Result != simulator.ResultFailed || !js.LostRunner {
		e.t.Errorf("job once the lock lapsed = %+v", js)
	}
}

func TestPodDeletedWhileOnline(t *testing.T) {
	e := setup(t)
	jit := e.createRunner("gone")
	e.markRunning("gone")
	e.eventually("the runner to come online", poll, func() bool { rn, _ := e.simRunner(jit.Runner.ID); return rn.Online })
	if err := e.client.CoreV1().Pods(ns).Delete(t.Context(), "gone", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	e.eventually("the runner to go offline", 0, func() bool { rn, _ := e.simRunner(jit.Runner.ID); return !rn.Online })
	e.eventually("the emulator to forget the pod", 0, func() bool { return e.runner("gone").Pod.Name == "" })

	// Deleted mid-job: the runner goes away without completing its job, which fails when its
	// job lock lapses.
	id := e.queueJob(time.Hour)
	busy := e.createRunner("busy")
	e.markRunning("busy")
	e.eventually("the job to run", poll, func() bool { return e.job(id).State == simulator.JobRunning })
	if err := e.client.CoreV1().Pods(ns).Delete(t.Context(), "busy", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	e.eventually("the runner to go away", 0, func() bool { return !e.job(id).RunnerLostAt.IsZero() })
	e.lostRunnerFails(id, busy.Runner.ID)
}

func TestRestartPolicyAlwaysBacksOff(t *testing.T) {
	e := setup(t)
	e.queueJob(0)
	e.createRunner("always", func(p *corev1.Pod) { p.Spec.RestartPolicy = corev1.RestartPolicyAlways })
	e.markRunning("always")
	e.eventually("the container to back off", poll, func() bool {
		cs := runnerStatus(e.pod("always"))
		return cs.State.Waiting != nil
	})
	p := e.pod("always")
	cs := runnerStatus(p)
	if p.Status.Phase != corev1.PodRunning || cs.RestartCount != 1 || cs.LastTerminationState.Terminated == nil ||
		cs.LastTerminationState.Terminated.ExitCode != 0 || cs.State.Waiting.Reason != "CrashLoopBackOff" {
		t.Errorf("pod %s, runner container %+v", p.Status.Phase, cs)
	}
}

func TestTerminate(t *testing.T) {
	always := corev1.ContainerRestartPolicyAlways
	running := corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
	base := func() *corev1.Pod {
		return &corev1.Pod{
			Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever,
				InitContainers: []corev1.Container{{Name: "dind", RestartPolicy: &always}},
				Containers:     []corev1.Container{{Name: RunnerContainer}}},
			Status: corev1.PodStatus{Phase: corev1.PodRunning,
				InitContainerStatuses: []corev1.ContainerStatus{{Name: "dind", State: running, Ready: true}},
				ContainerStatuses:     []corev1.ContainerStatus{{Name: RunnerContainer, State: running, Ready: true}},
				Conditions:            []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}},
		}
	}
	now := time.Now()

	// The native sidecar stops with the runner; the phase follows the exit code.
	for code, phase := range map[int]corev1.PodPhase{0: corev1.PodSucceeded, 7: corev1.PodFailed} {
		p := base()
		terminate(p, code, now)
		if p.Status.Phase != phase || p.Status.InitContainerStatuses[0].State.Terminated == nil ||
			p.Status.Conditions[0].Status != corev1.ConditionFalse || p.Status.Conditions[0].Reason != "PodCompleted" {
			t.Errorf("exit %d: %+v", code, p.Status)
		}
	}
	// A regular sidecar keeps running, and so does the pod, as with a real kubelet.
	p := base()
	p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "dind"})
	p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{Name: "dind", State: running})
	terminate(p, 0, now)
	if p.Status.Phase != corev1.PodRunning || p.Status.Conditions[0].Reason != "ContainersNotReady" ||
		!slices.ContainsFunc(p.Status.ContainerStatuses, func(c corev1.ContainerStatus) bool { return c.Name == RunnerContainer && c.State.Terminated != nil }) {
		t.Errorf("with a regular sidecar: %+v", p.Status)
	}
	// OnFailure: exit 0 ends the pod.
	p = base()
	p.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
	terminate(p, 0, now)
	if p.Status.Phase != corev1.PodSucceeded {
		t.Errorf("OnFailure, exit 0: %s", p.Status.Phase)
	}
}

// stubRunners is a RunnerSide with one runner that never gets a job.
type stubRunners struct{}

func (stubRunners) ConnectRunner(string) (simulator.RunnerInfo, error) {
	return simulator.RunnerInfo{ID: 1, Name: "stub", Online: true}, nil
}
func (stubRunners) AcquireRunnerJob(int) (simulator.JobStatus, bool) {
	return simulator.JobStatus{}, false
}
func (stubRunners) CompleteRunnerJob(int, string) error { return nil }
func (stubRunners) DisconnectRunner(int)                {}

func TestRunLeavesNoGoroutineBehind(t *testing.T) {
	client := fake.NewClientset()
	before := runtime.NumGoroutine()
	em, err := New(Config{Client: client, Runners: stubRunners{}, PollInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- em.Run(ctx) }()
	for i := range 5 {
		name := "p" + string(rune('0'+i))
		if _, err := client.CoreV1().Secrets(ns).Create(t.Context(), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Data: map[string][]byte{"jitToken": []byte("x")}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		p := runnerPod(name)
		p.Status.Phase = corev1.PodRunning
		if _, err := client.CoreV1().Pods(ns).Create(t.Context(), p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := wait.PollUntilContextTimeout(t.Context(), 5*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		rs := em.Runners()
		return len(rs) == 5 && !slices.ContainsFunc(rs, func(r Runner) bool { return r.State != StateIdle }), nil
	}); err != nil {
		t.Fatalf("runners not idle: %+v", em.Runners())
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
	}
	var after int
	if err := wait.PollUntilContextTimeout(t.Context(), 5*time.Millisecond, 5*time.Second, true, func(context.Context) (bool, error) {
		after = runtime.NumGoroutine()
		return after <= before, nil
	}); err != nil {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines before Run, %d after:\n%s", before, after, buf[:runtime.Stack(buf, true)])
	}
	if slices.ContainsFunc(em.Runners(), func(r Runner) bool { return r.State != StateStopped }) {
		t.Errorf("after Run: %+v", em.Runners())
	}
}
