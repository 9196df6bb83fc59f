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
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes/fake"

	"actions.dev/runnerset-apiserver/pkg/github/simulator"
)

const refusal = "Runner version v2.328.0 is deprecated and cannot receive messages. The minimum supported runner version is v2.329.0."

func withImage(image string) podOption {
	return func(p *corev1.Pod) { p.Spec.Containers[0].Image = image }
}

func withFallbackToLogs() podOption {
	return func(p *corev1.Pod) {
		p.Spec.Containers[0].TerminationMessagePolicy = corev1.TerminationMessageFallbackToLogsOnError
	}
}

// withDeprecatedExitCode sets the env the scaler gives every runner container.
func withDeprecatedExitCode(value string) podOption {
	return func(p *corev1.Pod) {
		p.Spec.Containers[0].Env = append(p.Spec.Containers[0].Env, corev1.EnvVar{Name: DeprecatedExitCodeEnv, Value: value})
	}
}

// TestRunnerOlderThanTheMinimumIsRefused: the simulator refuses a runner older than 2.329.0
// when it connects; the runner exits as the real one does, and its registration stays offline.
func TestRunnerOlderThanTheMinimumIsRefused(t *testing.T) {
	for _, tc := range []struct {
		name        string
		opts        []podOption
		config      func(*Config)
		wantCode    int32
		wantPhase   corev1.PodPhase
		wantMessage string
		wantVersion string
	}{
		{"old image, the scaler's env, logs as message", []podOption{withImage("ghcr.io/actions/actions-runner:2.328.0"), withDeprecatedExitCode("1"), withFallbackToLogs()},
			nil, 7, corev1.PodFailed, refusal, "2.328.0"},
		{"default termination message policy: no message", []podOption{withImage("ghcr.io/actions/actions-runner:2.328.0"), withDeprecatedExitCode("1")},
			nil, 7, corev1.PodFailed, "", "2.328.0"},
		{"without the env the runner exits 0", []podOption{withImage("ghcr.io/actions/actions-runner:2.328.0"), withFallbackToLogs()},
			nil, 0, corev1.PodSucceeded, "", "2.328.0"},
		{"the annotation wins over the image", []podOption{withAnnotation(RunnerVersionAnnotation, "2.328.0"), withImage("ghcr.io/actions/actions-runner:2.330.0"), withDeprecatedExitCode("true"), withFallbackToLogs()},
			nil, 7, corev1.PodFailed, refusal, "2.328.0"},
		{"the configured default", []podOption{withDeprecatedExitCode("1"), withFallbackToLogs()},
			func(c *Config) { c.RunnerVersion = "2.328.0" }, 7, corev1.PodFailed, refusal, "2.328.0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var opts []func(*Config)
			if tc.config != nil {
				opts = append(opts, tc.config)
			}
			e := setup(t, opts...)
			jit := e.createRunner("linux-old", tc.opts...)
			e.markRunning("linux-old")
			e.eventually("the runner to exit", 0, func() bool { return e.pod("linux-old").Status.Phase == tc.wantPhase })
			term := runnerStatus(e.pod("linux-old")).State.Terminated
			if term == nil || term.ExitCode != tc.wantCode || term.Message != tc.wantMessage {
				t.Fatalf("runner container terminated %+v, want exit %d, message %q", term, tc.wantCode, tc.wantMessage)
			}
			if r := e.runner("linux-old"); r.State != StateExited || r.Version != tc.wantVersion || r.Reason != refusal {
				t.Errorf("emulated runner %+v", r)
			}
			if rn, ok := e.simRunner(jit.Runner.ID); !ok || rn.Online {
				t.Errorf("registration %+v (registered %t), want it registered and offline", rn, ok)
			}
		})
	}
}

// TestRunnerAtTheMinimumComesOnline: the default version, and an image at the minimum.
func TestRunnerAtTheMinimumComesOnline(t *testing.T) {
	e := setup(t)
	jitA := e.createRunner("linux-a", withDeprecatedExitCode("1"))
	jitB := e.createRunner("linux-b", withImage("ghcr.io/actions/actions-runner:2.329.0"), withDeprecatedExitCode("1"))
	e.markRunning("linux-a")
	e.markRunning("linux-b")
	for _, id := range []int{jitA.Runner.ID, jitB.Runner.ID} {
		e.eventually("the runner to come online", 0, func() bool { rn, _ := e.simRunner(id); return rn.Online })
	}
	if v := e.runner("linux-a").Version; v != DefaultRunnerVersion {
		t.Errorf("default version %q, want %q", v, DefaultRunnerVersion)
	}
	if v := e.runner("linux-b").Version; v != "2.329.0" {
		t.Errorf("version from the image %q", v)
	}
}

func TestInvalidRunnerVersion(t *testing.T) {
	if _, err := New(Config{Client: fake.NewClientset(), Runners: stubRunners{}, RunnerVersion: "latest"}); err == nil {
		t.Error("an invalid RunnerVersion was accepted")
	}
}

var _ VersionedRunnerSide = (*simulator.Simulator)(nil)
