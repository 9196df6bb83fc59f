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

// Package runneremulator plays the GitHub Actions runner process for runner pods on a cluster
// where no container really runs (kwok's fake nodes). For each runner pod that is Running and
// carries a JIT config the simulator issued, it brings the runner online, takes a job, runs it
// for the job's duration and ends the pod the way an ephemeral runner exits: the runner
// container terminates with exit code 0 and the pod phase becomes Succeeded.
//
// It is deliberately as strict as a real kubelet and runner, so that it does not hide a
// scaler bug: a pod that never runs, has no JIT config in its runner container's environment
// (ACTIONS_RUNNER_INPUT_JITCONFIG from a secretKeyRef), or whose Secret holds a config the
// simulator does not know, brings no runner online.
//
// Annotations on a pod ask for other exits:
//
//	emulator.actions.dev/exit-code: "7"       # runner version deprecated: exit 7 once online, before any job
//	emulator.actions.dev/exit-code: "1"       # or "crash": the runner crashes (exit 1, pod Failed)
//	emulator.actions.dev/exit-when: job-started  # with a non-zero exit code: crash mid-job instead
//
// Each runner reports a version when it connects: the annotation
// emulator.actions.dev/runner-version, else the tag of an actions-runner image
// (ghcr.io/actions/actions-runner:2.330.0), else Config.RunnerVersion. The simulator refuses a
// runner older than its minimum version (2.329.0 by default, as GitHub since 2026-09-25); the
// runner then exits as the real one does: code 7 when its container has
// ACTIONS_RUNNER_RETURN_VERSION_DEPRECATED_EXIT_CODE=1 (the scaler sets it), else 0, with the
// service's refusal as its output, which the kubelet puts into the container's termination
// message under terminationMessagePolicy FallbackToLogsOnError.
//
// A runner that goes away with a job (a crash mid-job, or its pod deleted, evicted or failed)
// is disconnected and says nothing more: like a killed runner process, it stops renewing its
// job lock, and the simulator fails the job once the lock lapses (its RunnerLostTimeout), as
// GitHub does. The graceful path of a real runner, which ends its job itself when it gets
// SIGTERM (GAG sees such jobs fail within 15-26 s of a preemption or drain), is not emulated.
//
// The exit is written through the pod's status subresource (read, change, update; retried
// on conflict) as the kubelet would: the runner container terminated, native sidecars
// stopped, the phase Succeeded or Failed under restartPolicy Never (a restarting policy
// leaves the container in CrashLoopBackOff instead, as a used-up JIT config would). kwok
// leaves such a status alone: its stages only touch Pending pods (pod-ready), Running pods
// owned by a Job (pod-complete) and pods being deleted (pod-delete); TestOnKwok checks it.
package runneremulator

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/retry"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"actions.dev/runnerset-apiserver/pkg/github/actions"
	"actions.dev/runnerset-apiserver/pkg/github/simulator"
)

// Names the emulator looks for.
const (
	// RunnerSetLabel selects runner pods (any value).
	RunnerSetLabel = "actions.dev/runnerset"
	// RunnerContainer is the container that runs the runner.
	RunnerContainer = "runner"
	// JITConfigEnv carries the encoded JIT config, from a secretKeyRef.
	JITConfigEnv = "ACTIONS_RUNNER_INPUT_JITCONFIG"
	// ExitCodeAnnotation asks for a non-zero exit: a number, or "crash" (= 1).
	ExitCodeAnnotation = "emulator.actions.dev/exit-code"
	// ExitWhenAnnotation says when that exit happens: "online" (default: right after the
	// runner comes online, before any job) or "job-started" (in the middle of its job).
	ExitWhenAnnotation = "emulator.actions.dev/exit-when"
	// ExitVersionDeprecated is the runner's exit code for a deprecated version (with
	// ACTIONS_RUNNER_RETURN_VERSION_DEPRECATED_EXIT_CODE=1).
	ExitVersionDeprecated = 7
	// RunnerVersionAnnotation sets the version a pod's runner reports.
	RunnerVersionAnnotation = "emulator.actions.dev/runner-version"
	// DeprecatedExitCodeEnv makes the runner exit 7 rather than 0 when the service refuses its
	// version (reference §6.1).
	DeprecatedExitCodeEnv = "ACTIONS_RUNNER_RETURN_VERSION_DEPRECATED_EXIT_CODE"
	// DefaultRunnerVersion is the version runners report by default: a current release, at or
	// above GitHub's minimum.
	DefaultRunnerVersion = "2.330.0"

	DefaultPollInterval = 200 * time.Millisecond
	secretRetryMin      = time.Second
	secretRetryMax      = 30 * time.Second
)

// RunnerSide is the runner's side of the Actions Service: *simulator.Simulator in-process,
// or *simulator.ControlClient for a simulator in another process.
type RunnerSide interface {
	ConnectRunner(encodedJITConfig string) (simulator.RunnerInfo, error)
	AcquireRunnerJob(runnerID int) (simulator.JobStatus, bool)
	CompleteRunnerJob(runnerID int, result string) error
	DisconnectRunner(runnerID int)
}

// VersionedRunnerSide is a RunnerSide that is told the runner's version when it connects,
// and refuses one too old with simulator.ErrRunnerVersionTooOld. A RunnerSide without it
// connects runners without a version check.
type VersionedRunnerSide interface {
	ConnectRunnerVersion(encodedJITConfig, version string) (simulator.RunnerInfo, error)
}

var (
	_ RunnerSide          = (*simulator.Simulator)(nil)
	_ RunnerSide          = (*simulator.ControlClient)(nil)
	_ VersionedRunnerSide = (*simulator.Simulator)(nil)
	_ VersionedRunnerSide = (*simulator.ControlClient)(nil)
)

// Config configures an Emulator.
type Config struct {
	// Client reads pods and secrets and writes pod status.
	Client kubernetes.Interface
	// Runners is the service the emulated runners talk to.
	Runners RunnerSide
	// Clock times polls and jobs; default the real clock.
	Clock clock.WithTicker
	// PollInterval is how often an idle runner asks for a job; default 200ms.
	PollInterval time.Duration
	// Namespace limits the emulator to one namespace; default all.
	Namespace string
	// RunnerVersion is the version runners report unless their pod says another; default
	// DefaultRunnerVersion.
	RunnerVersion string
}

// Emulator plays runner processes for runner pods. Create it with New and start it with Run.
type Emulator struct {
	cfg Config

	mu    sync.Mutex
	procs map[types.UID]*process
	wg    sync.WaitGroup
}

// States of an emulated runner, as Runners reports them.
const (
	StateStarting = "Starting" // reading its JIT config
	StateRejected = "Rejected" // no config, or one the service does not know: never online
	StateIdle     = "Idle"     // online, waiting for a job
	StateRunning  = "Running"  // running a job
	StateExited   = "Exited"   // the process ended (ExitCode says how)
	StateStopped  = "Stopped"  // the pod went away, or the emulator stopped
)

// Runner is what the emulator knows about one runner pod's process.
type Runner struct {
	Pod          types.NamespacedName
	UID          types.UID
	State        string
	Reason       string // why it was rejected or stopped
	RunnerID     int
	RunnerName   string
	JobRequestID int64
	ExitCode     int
	// Version is the runner version it reported.
	Version string
}

type process struct {
	pod    types.NamespacedName
	uid    types.UID
	cancel context.CancelFunc
	// deleted is set (under Emulator.mu) when the pod is going away, as opposed to the
	// emulator stopping: only then does the runner go offline.
	deleted bool
	status  Runner
}

// New checks the configuration and returns an emulator.
func New(cfg Config) (*Emulator, error) {
	if cfg.Client == nil || cfg.Runners == nil {
		return nil, errors.New("runneremulator: Config.Client and Config.Runners are required")
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.RunnerVersion == "" {
		cfg.RunnerVersion = DefaultRunnerVersion
	}
	if _, err := actions.ParseRunnerVersion(cfg.RunnerVersion); err != nil {
		return nil, fmt.Errorf("runneremulator: Config.RunnerVersion: %w", err)
	}
	return &Emulator{cfg: cfg, procs: map[types.UID]*process{}}, nil
}

// Run watches runner pods until ctx ends, then stops every emulated runner process and
// returns once all its goroutines have ended. Runners are not taken offline when the
// emulator stops (their pods still "run"); a later Run picks them up again.
func (e *Emulator) Run(ctx context.Context) error {
	factory := informers.NewSharedInformerFactoryWithOptions(e.cfg.Client, 0,
		informers.WithNamespace(e.cfg.Namespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = RunnerSetLabel }))
	inf := factory.Core().V1().Pods().Informer()
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { e.onPod(ctx, obj) },
		UpdateFunc: func(_, obj any) { e.onPod(ctx, obj) },
		DeleteFunc: e.onDelete,
	}); err != nil {
		return err
	}
	factory.Start(ctx.Done())
	synced := cache.WaitForCacheSync(ctx.Done(), inf.HasSynced)
	if synced {
		klog.V(2).InfoS("Runner emulator watching runner pods", "namespace", e.cfg.Namespace)
	}
	<-ctx.Done()
	factory.Shutdown()
	e.wg.Wait()
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, p := range e.procs {
		if p.status.State != StateExited && p.status.State != StateRejected {
			p.status.State, p.status.Reason = StateStopped, "emulator stopped"
		}
	}
	return nil
}

// Runners reports the emulated runner processes, by pod name.
func (e *Emulator) Runners() []Runner {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Runner, 0, len(e.procs))
	for _, p := range e.procs {
		out = append(out, p.status)
	}
	slices.SortFunc(out, func(a, b Runner) int { return strings.Compare(a.Pod.String(), b.Pod.String()) })
	return out
}

func (e *Emulator) onPod(ctx context.Context, obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	if _, ok := pod.Labels[RunnerSetLabel]; !ok {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	p := e.procs[pod.UID]
	switch {
	case pod.DeletionTimestamp != nil:
		// The kubelet stops the containers of a pod being deleted.
		e.stopLocked(p, "pod is being deleted")
	case pod.Status.Phase != corev1.PodRunning:
		// Never ran, or ended: by our own hand (the process has exited) or someone else's.
		e.stopLocked(p, "pod is "+string(pod.Status.Phase))
	case p == nil:
		e.startLocked(ctx, pod)
	}
}

func (e *Emulator) onDelete(obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if p := e.procs[pod.UID]; p != nil {
		e.stopLocked(p, "pod deleted")
		delete(e.procs, pod.UID)
	}
}

// stopLocked ends a live process because its pod went away; the runner goes offline (its job,
// if any, fails when the job lock lapses).
func (e *Emulator) stopLocked(p *process, reason string) {
	if p == nil || p.deleted {
		return
	}
	p.deleted = true
	switch p.status.State {
	case StateExited, StateRejected:
	default:
		p.status.State, p.status.Reason = StateStopped, reason
	}
	p.cancel()
}

func (e *Emulator) startLocked(ctx context.Context, pod *corev1.Pod) {
	pctx, cancel := context.WithCancel(ctx)
	p := &process{
		pod:    types.NamespacedName{Namespace: pod.Namespace, Name: pod.Name},
		uid:    pod.UID,
		cancel: cancel,
		status: Runner{Pod: types.NamespacedName{Namespace: pod.Namespace, Name: pod.Name}, UID: pod.UID, State: StateStarting},
	}
	e.procs[pod.UID] = p
	pod = pod.DeepCopy()
	e.wg.Go(func() {
		defer cancel()
		e.runProcess(pctx, p, pod)
	})
}

func (e *Emulator) update(p *process, f func(r *Runner)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	f(&p.status)
}

func (e *Emulator) reject(p *process, reason string) {
	klog.InfoS("Runner pod brings no runner online", "pod", p.pod, "reason", reason)
	e.update(p, func(r *Runner) { r.State, r.Reason = StateRejected, reason })
}

// exitPlan is what a pod's annotations ask of its runner.
type exitPlan struct {
	code       int
	midJob     bool
	annotation string
}

func planOf(pod *corev1.Pod) exitPlan {
	v := strings.TrimSpace(pod.Annotations[ExitCodeAnnotation])
	plan := exitPlan{annotation: v, midJob: pod.Annotations[ExitWhenAnnotation] == "job-started"}
	switch {
	case v == "" || v == "0":
	case strings.EqualFold(v, "crash"):
		plan.code = 1
	default:
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 255 {
			klog.InfoS("Ignoring an invalid exit-code annotation", "pod", klog.KObj(pod), "value", v)
			return exitPlan{}
		}
		plan.code = n
	}
	return plan
}

// runProcess is one runner process, from start to exit.
func (e *Emulator) runProcess(ctx context.Context, p *process, pod *corev1.Pod) {
	info, ok := e.start(ctx, p, pod)
	if !ok {
		return
	}
	e.update(p, func(r *Runner) { r.State, r.RunnerID, r.RunnerName = StateIdle, info.ID, info.Name })
	klog.V(2).InfoS("Runner online", "pod", p.pod, "runnerID", info.ID, "runner", info.Name)
	online := true
	defer func() {
		// Only a pod going away takes its runner offline; the emulator stopping does not.
		e.mu.Lock()
		deleted := p.deleted
		e.mu.Unlock()
		if online && deleted {
			e.cfg.Runners.DisconnectRunner(info.ID)
			klog.V(2).InfoS("Runner offline: its pod went away", "pod", p.pod, "runnerID", info.ID)
		}
	}()

	plan := planOf(pod)
	if plan.code != 0 && !plan.midJob {
		online = false
		e.cfg.Runners.DisconnectRunner(info.ID)
		e.exit(ctx, p, plan.code)
		return
	}

	job, ok := e.waitForJob(ctx, info.ID)
	if !ok {
		return
	}
	e.update(p, func(r *Runner) { r.State, r.JobRequestID = StateRunning, job.RequestID })
	klog.V(2).InfoS("Runner running a job", "pod", p.pod, "runnerID", info.ID, "job", job.RequestID, "duration", job.Job.Duration)
	if plan.code != 0 {
		online = false
		e.cfg.Runners.DisconnectRunner(info.ID) // the service fails the job when its lock lapses
		e.exit(ctx, p, plan.code)
		return
	}
	if job.Job.Duration > 0 {
		t := e.cfg.Clock.NewTimer(job.Job.Duration)
		select {
		case <-t.C():
		case <-ctx.Done():
			t.Stop()
			return
		}
	}
	if err := e.complete(ctx, info.ID); err != nil {
		if ctx.Err() != nil {
			return
		}
		klog.InfoS("Completing the job failed; the runner exits anyway", "pod", p.pod, "runnerID", info.ID, "err", err)
	}
	online = false // an ephemeral runner is deregistered with its job
	e.exit(ctx, p, 0)
}

// start is the runner process starting: it reads its JIT config and connects, reporting its
// version. It is false when the runner does not come online (it ended, or was refused).
func (e *Emulator) start(ctx context.Context, p *process, pod *corev1.Pod) (simulator.RunnerInfo, bool) {
	jit, reason, err := e.readJITConfig(ctx, p, pod)
	if err != nil {
		return simulator.RunnerInfo{}, false // ctx ended
	}
	if reason != "" {
		e.reject(p, reason)
		return simulator.RunnerInfo{}, false
	}
	version := e.versionOf(pod)
	e.update(p, func(r *Runner) { r.Version = version })
	info, err := e.connect(ctx, jit, version)
	switch {
	case errors.Is(err, simulator.ErrRunnerVersionTooOld):
		e.refused(ctx, p, pod, err)
		return simulator.RunnerInfo{}, false
	case err != nil:
		if ctx.Err() == nil {
			e.reject(p, "the service does not know the JIT config: "+err.Error())
		}
		return simulator.RunnerInfo{}, false
	}
	return info, true
}

// readJITConfig finds the runner container's JIT config in its Secret. A reason means there
// is none to be had; err means ctx ended.
func (e *Emulator) readJITConfig(ctx context.Context, p *process, pod *corev1.Pod) (jit, reason string, err error) {
	var ref *corev1.SecretKeySelector
	found := false
	for _, c := range pod.Spec.Containers {
		if c.Name != RunnerContainer {
			continue
		}
		found = true
		for _, env := range c.Env {
			if env.Name == JITConfigEnv && env.ValueFrom != nil && env.ValueFrom.SecretKeyRef != nil {
				ref = env.ValueFrom.SecretKeyRef
			}
		}
	}
	switch {
	case !found:
		return "", "no container named " + RunnerContainer, nil
	case ref == nil:
		return "", "container " + RunnerContainer + " has no env " + JITConfigEnv + " from a secretKeyRef", nil
	}
	// As the kubelet does, wait for a missing Secret (the container cannot start without it).
	delay := secretRetryMin
	for {
		secret, err := e.cfg.Client.CoreV1().Secrets(pod.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
		switch {
		case err == nil:
			v, ok := secret.Data[ref.Key]
			if !ok {
				v, ok = []byte(secret.StringData[ref.Key]), secret.StringData[ref.Key] != ""
			}
			if !ok || len(v) == 0 {
				return "", fmt.Sprintf("secret %s has no key %q", ref.Name, ref.Key), nil
			}
			return string(v), "", nil
		case apierrors.IsNotFound(err) && ref.Optional != nil && *ref.Optional:
			return "", "optional secret " + ref.Name + " is missing: the runner starts without a config", nil
		case apierrors.IsNotFound(err):
			e.update(p, func(r *Runner) { r.Reason = "waiting for secret " + ref.Name })
		default:
			klog.V(2).InfoS("Reading the JIT config secret failed; retrying", "pod", p.pod, "secret", ref.Name, "err", err)
		}
		if !e.wait(ctx, delay) {
			return "", "", ctx.Err()
		}
		delay = min(2*delay, secretRetryMax)
	}
}

// connect brings the runner online, reporting version where the service is told versions. It
// retries errors other than an unknown config or a refused version (a simulator in another
// process may be briefly unreachable).
func (e *Emulator) connect(ctx context.Context, jit, version string) (simulator.RunnerInfo, error) {
	for {
		var info simulator.RunnerInfo
		var err error
		if v, ok := e.cfg.Runners.(VersionedRunnerSide); ok {
			info, err = v.ConnectRunnerVersion(jit, version)
		} else {
			info, err = e.cfg.Runners.ConnectRunner(jit)
		}
		if err == nil || errors.Is(err, simulator.ErrUnknownJITConfig) || errors.Is(err, simulator.ErrRunnerVersionTooOld) {
			return info, err
		}
		klog.V(2).InfoS("Connecting a runner failed; retrying", "err", err)
		if !e.wait(ctx, e.cfg.PollInterval) {
			return simulator.RunnerInfo{}, ctx.Err()
		}
	}
}

func (e *Emulator) complete(ctx context.Context, runnerID int) error {
	for {
		err := e.cfg.Runners.CompleteRunnerJob(runnerID, "")
		if err == nil || errors.Is(err, simulator.ErrRunnerNotFound) || errors.Is(err, simulator.ErrNoJob) {
			return err
		}
		klog.V(2).InfoS("Completing a job failed; retrying", "runnerID", runnerID, "err", err)
		if !e.wait(ctx, e.cfg.PollInterval) {
			return ctx.Err()
		}
	}
}

// waitForJob polls for a job every PollInterval, as an idle runner waits for one.
func (e *Emulator) waitForJob(ctx context.Context, runnerID int) (simulator.JobStatus, bool) {
	tick := e.cfg.Clock.NewTicker(e.cfg.PollInterval)
	defer tick.Stop()
	for {
		if job, ok := e.cfg.Runners.AcquireRunnerJob(runnerID); ok {
			return job, true
		}
		select {
		case <-tick.C():
		case <-ctx.Done():
			return simulator.JobStatus{}, false
		}
	}
}

func (e *Emulator) wait(ctx context.Context, d time.Duration) bool {
	t := e.cfg.Clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C():
		return true
	case <-ctx.Done():
		return false
	}
}

// exit ends the runner container with code and records it in the pod's status.
func (e *Emulator) exit(ctx context.Context, p *process, code int) {
	e.exitSaying(ctx, p, code, "")
}

// exitSaying is exit for a runner whose last output was said.
func (e *Emulator) exitSaying(ctx context.Context, p *process, code int, said string) {
	e.update(p, func(r *Runner) { r.State, r.ExitCode = StateExited, code })
	klog.V(2).InfoS("Runner exited", "pod", p.pod, "exitCode", code)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		pod, err := e.cfg.Client.CoreV1().Pods(p.pod.Namespace).Get(ctx, p.pod.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if pod.UID != p.uid {
			return nil
		}
		terminate(pod, code, e.cfg.Clock.Now())
		if code != 0 {
			setTerminationMessage(pod, said)
		}
		_, err = e.cfg.Client.CoreV1().Pods(p.pod.Namespace).UpdateStatus(ctx, pod, metav1.UpdateOptions{})
		return err
	})
	if err != nil && !apierrors.IsNotFound(err) && ctx.Err() == nil {
		klog.ErrorS(err, "Recording the runner's exit in the pod status failed", "pod", p.pod)
	}
}

// terminate changes a pod's status as the kubelet does when its runner container exits with
// code: the container is terminated, native sidecars stop once every regular container has,
// and the phase follows the restart policy.
func terminate(pod *corev1.Pod, code int, now time.Time) {
	at := metav1.NewTime(now.Truncate(time.Second))
	reason := "Completed"
	if code != 0 {
		reason = "Error"
	}
	st := &pod.Status
	i := slices.IndexFunc(st.ContainerStatuses, func(c corev1.ContainerStatus) bool { return c.Name == RunnerContainer })
	if i < 0 {
		st.ContainerStatuses = append(st.ContainerStatuses, corev1.ContainerStatus{Name: RunnerContainer})
		i = len(st.ContainerStatuses) - 1
	}
	cs := &st.ContainerStatuses[i]
	started := at
	if cs.State.Running != nil {
		started = cs.State.Running.StartedAt
	}
	terminated := &corev1.ContainerStateTerminated{ExitCode: int32(code), Reason: reason, StartedAt: started, FinishedAt: at}
	restarts := pod.Spec.RestartPolicy == corev1.RestartPolicyAlways ||
		(pod.Spec.RestartPolicy == corev1.RestartPolicyOnFailure && code != 0)
	if restarts {
		// The kubelet restarts the container; a JIT runner whose config is used up only
		// fails again, so it stays in back-off.
		cs.LastTerminationState = corev1.ContainerState{Terminated: terminated}
		cs.State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff",
			Message: "back-off restarting failed container " + RunnerContainer}}
		cs.RestartCount++
	} else {
		cs.State = corev1.ContainerState{Terminated: terminated}
	}
	cs.Ready = false
	cs.Started = new(false)

	allDone, anyFailed := true, false
	for _, c := range st.ContainerStatuses {
		switch {
		case c.State.Terminated == nil:
			allDone = false
		case c.State.Terminated.ExitCode != 0:
			anyFailed = true
		}
	}
	if restarts {
		allDone = false
	}
	condReason := "ContainersNotReady"
	if allDone {
		for j := range st.InitContainerStatuses {
			ics := &st.InitContainerStatuses[j]
			if ics.State.Running != nil { // a native sidecar still running: stopped now
				ics.State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
					ExitCode: 0, Reason: "Completed", StartedAt: ics.State.Running.StartedAt, FinishedAt: at}}
				ics.Ready = false
				ics.Started = new(false)
			}
		}
		st.Phase = corev1.PodSucceeded
		if anyFailed {
			st.Phase = corev1.PodFailed
		}
		condReason = "PodCompleted"
	}
	for j := range st.Conditions {
		c := &st.Conditions[j]
		if (c.Type == corev1.PodReady || c.Type == corev1.ContainersReady) && c.Status != corev1.ConditionFalse {
			c.Status, c.Reason, c.LastTransitionTime = corev1.ConditionFalse, condReason, at
		}
	}
}

// versionOf is the version a pod's runner reports: its annotation, else the tag of an
// actions-runner image (what the real runner in it would report), else the default.
func (e *Emulator) versionOf(pod *corev1.Pod) string {
	if v := strings.TrimSpace(pod.Annotations[RunnerVersionAnnotation]); v != "" {
		return v
	}
	for _, c := range pod.Spec.Containers {
		if c.Name == RunnerContainer {
			if v, ok := actions.RunnerImageVersion(c.Image); ok {
				return v.String()
			}
		}
	}
	return e.cfg.RunnerVersion
}

// refused ends a runner whose version the service refused. The runner prints the refusal and
// exits 7 when the pod asks for the deprecated-version exit code, else 0 (reference §6.1); its
// registration stays, offline.
func (e *Emulator) refused(ctx context.Context, p *process, pod *corev1.Pod, err error) {
	code := 0
	if deprecatedExitCode(pod) {
		code = ExitVersionDeprecated
	}
	klog.InfoS("The service refused the runner's version", "pod", p.pod, "err", err, "exitCode", code)
	e.update(p, func(r *Runner) { r.Reason = err.Error() })
	e.exitSaying(ctx, p, code, err.Error())
}

// deprecatedExitCode reports whether the runner container sets
// ACTIONS_RUNNER_RETURN_VERSION_DEPRECATED_EXIT_CODE.
func deprecatedExitCode(pod *corev1.Pod) bool {
	for _, c := range pod.Spec.Containers {
		if c.Name != RunnerContainer {
			continue
		}
		for _, env := range c.Env {
			if env.Name == DeprecatedExitCodeEnv {
				v := strings.TrimSpace(env.Value)
				return v == "1" || strings.EqualFold(v, "true")
			}
		}
	}
	return false
}

// setTerminationMessage does what the kubelet does for a failed runner container whose
// terminationMessagePolicy is FallbackToLogsOnError: the runner writes no termination-log
// file, so the message is the tail of its output. Under the default policy (File) the message
// stays empty.
func setTerminationMessage(pod *corev1.Pod, said string) {
	if said == "" {
		return
	}
	i := slices.IndexFunc(pod.Spec.Containers, func(c corev1.Container) bool { return c.Name == RunnerContainer })
	if i < 0 || pod.Spec.Containers[i].TerminationMessagePolicy != corev1.TerminationMessageFallbackToLogsOnError {
		return
	}
	for j := range pod.Status.ContainerStatuses {
		cs := &pod.Status.ContainerStatuses[j]
		if cs.Name != RunnerContainer {
			continue
		}
		switch {
		case cs.State.Terminated != nil:
			cs.State.Terminated.Message = said
		case cs.LastTerminationState.Terminated != nil:
			cs.LastTerminationState.Terminated.Message = said
		}
	}
}
