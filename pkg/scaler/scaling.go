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

package scaler

import (
	"math"
	"sort"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
)

// DesiredRunners is min(minRunners + assignedJobs, maxRunners): minRunners idle runners on top of
// one runner per job assigned to the scale set, capped (ARC's semantics since 0.8).
func DesiredRunners(minRunners, maxRunners *int32, assignedJobs int) int {
	desired := int64(assignedJobs)
	if minRunners != nil {
		desired += int64(*minRunners)
	}
	if maxRunners != nil && desired > int64(*maxRunners) {
		desired = int64(*maxRunners)
	}
	if desired > math.MaxInt32 {
		desired = math.MaxInt32
	}
	if desired < 0 {
		desired = 0
	}
	return int(desired)
}

// MaxCapacity is what the long poll announces in X-ScaleSetMaxCapacity.
func MaxCapacity(maxRunners *int32) int {
	if maxRunners == nil {
		return math.MaxInt32
	}
	return int(*maxRunners)
}

// RunnerPhase is where one runner is in its life.
type RunnerPhase string

const (
	// PhasePending: registered on GitHub, its pod not running yet (or waiting to be re-created).
	PhasePending RunnerPhase = "Pending"
	// PhaseIdle: pod running, no job.
	PhaseIdle RunnerPhase = "Idle"
	// PhaseBusy: GitHub reported a job started on it.
	PhaseBusy RunnerPhase = "Busy"
	// PhaseSucceeded: the runner process exited 0 after its job; to be cleaned up.
	PhaseSucceeded RunnerPhase = "Succeeded"
	// PhaseDeprecated: the runner exited 7, its version is too old.
	PhaseDeprecated RunnerPhase = "Deprecated"
	// PhaseFailed: the pod failed; retried with backoff.
	PhaseFailed RunnerPhase = "Failed"
)

// Runner is one runner as the scaler sees it: its Secret (the durable record, holding the JIT
// configuration) and its pod, if one exists.
type Runner struct {
	Name         string
	RunnerID     int
	Created      time.Time
	TemplateHash string
	Phase        RunnerPhase
	// Failures counts failed pods of this runner; LastFailure is when the last one failed.
	Failures    int
	LastFailure time.Time
	Secret      *corev1.Secret
	Pod         *corev1.Pod
}

// ClassifyRunner derives a runner's phase from its Secret and pod.
func ClassifyRunner(secret *corev1.Secret, pod *corev1.Pod) Runner {
	r := Runner{Name: secret.Name, Secret: secret, Created: secret.CreationTimestamp.Time, Phase: PhasePending}
	r.RunnerID, _ = strconv.Atoi(secret.Annotations[v1alpha1.AnnotationRunnerID])
	r.Failures, _ = strconv.Atoi(secret.Annotations[v1alpha1.AnnotationFailures])
	if t, err := time.Parse(time.RFC3339, secret.Annotations[v1alpha1.AnnotationLastFailure]); err == nil {
		r.LastFailure = t
	}
	if pod == nil {
		return r
	}
	r.Pod = pod
	r.TemplateHash = pod.Annotations[v1alpha1.AnnotationTemplateHash]
	if pod.DeletionTimestamp != nil {
		// Going away: it still holds its slot until it is gone.
		if pod.Annotations[v1alpha1.AnnotationJobRequestID] != "" {
			r.Phase = PhaseBusy
		}
		return r
	}
	if term := runnerTerminated(pod); term != nil {
		switch term.ExitCode {
		case 0:
			r.Phase = PhaseSucceeded
		case 7:
			r.Phase = PhaseDeprecated
		default:
			r.Phase = PhaseFailed
		}
		return r
	}
	if pod.Status.Phase == corev1.PodFailed || initContainerFailed(pod) {
		r.Phase = PhaseFailed
		return r
	}
	if pod.Status.Phase == corev1.PodSucceeded {
		r.Phase = PhaseSucceeded
		return r
	}
	if pod.Annotations[v1alpha1.AnnotationJobRequestID] != "" {
		r.Phase = PhaseBusy
		return r
	}
	if pod.Status.Phase == corev1.PodRunning {
		r.Phase = PhaseIdle
	}
	return r
}

func runnerTerminated(pod *corev1.Pod) *corev1.ContainerStateTerminated {
	for _, cs := range pod.Status.ContainerStatuses {
		if cs.Name == v1alpha1.RunnerContainerName && cs.State.Terminated != nil {
			return cs.State.Terminated
		}
	}
	return nil
}

func initContainerFailed(pod *corev1.Pod) bool {
	for _, cs := range pod.Status.InitContainerStatuses {
		if t := cs.State.Terminated; t != nil && t.ExitCode != 0 {
			return true
		}
	}
	return false
}

// FailureBackoff is how long a runner waits before its pod is re-created after its n-th failure
// (ARC's 0, 5, 10, 20, 40, 80 s); after MaxFailures the runner is given up.
func FailureBackoff(failures int) time.Duration {
	steps := []time.Duration{0, 5 * time.Second, 10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second}
	if failures < 0 {
		failures = 0
	}
	if failures >= len(steps) {
		return steps[len(steps)-1]
	}
	return steps[failures]
}

// MaxFailures is how many failed pods a runner may have before it is replaced by a new one.
const MaxFailures = 5

// Plan says what to do to reach a desired count.
type Plan struct {
	// Create is how many new runners to register.
	Create int
	// Remove are idle runners to deregister and delete, oldest first.
	Remove []string
}

// PlanScale compares the runners that hold a slot with the desired count. Scale-down only ever
// picks idle runners, oldest first; busy runners finish their job. Idle runners made from an
// older template are replaced even when the count is right. Runners that finished are not
// counted: they are cleaned up separately.
func PlanScale(desired int, runners []Runner, templateHash string, mayCreate bool) Plan {
	var plan Plan
	var idle []Runner
	slots := 0
	for _, r := range runners {
		switch r.Phase {
		case PhaseSucceeded, PhaseDeprecated:
			continue
		case PhaseIdle:
			idle = append(idle, r)
		}
		slots++
	}
	sort.SliceStable(idle, func(i, j int) bool {
		if !idle[i].Created.Equal(idle[j].Created) {
			return idle[i].Created.Before(idle[j].Created)
		}
		return idle[i].Name < idle[j].Name
	})
	excess := slots - desired
	removed := map[string]bool{}
	for _, r := range idle {
		if excess <= 0 {
			break
		}
		plan.Remove = append(plan.Remove, r.Name)
		removed[r.Name] = true
		excess--
	}
	for _, r := range idle {
		if !removed[r.Name] && r.TemplateHash != "" && r.TemplateHash != templateHash {
			plan.Remove = append(plan.Remove, r.Name)
			removed[r.Name] = true
		}
	}
	remaining := slots - len(plan.Remove)
	if mayCreate && remaining < desired {
		plan.Create = desired - remaining
	}
	return plan
}
