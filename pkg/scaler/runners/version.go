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
	"regexp"

	corev1 "k8s.io/api/core/v1"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/github/actions"
)

// ReasonTooOld is the reason of the RunnerVersionTooOld condition and its event.
const ReasonTooOld = "RunnerVersionTooOld"

// What GitHub says when it refuses a runner's version, as the runner prints it (and the
// kubelet keeps as the termination message under FallbackToLogsOnError): "Runner version
// v2.328.0 is deprecated and cannot receive messages. The minimum supported runner version is
// v2.329.0."
var (
	refusedVersion = regexp.MustCompile(`Runner version v?(\d+\.\d+\.\d+)`)
	minimumVersion = regexp.MustCompile(`(?i)minimum supported (?:runner )?version is v?(\d+\.\d+\.\d+)`)
)

// versionVerdict is what a runner that exited 7 tells of why its version was refused.
type versionVerdict struct {
	// version is the runner's (empty: unknown); minimum is the oldest GitHub accepts.
	version, minimum string
	// tooOld: the runner is older than the minimum. Otherwise it was deprecated for another
	// reason (GitHub also refuses a runner left 30 days behind the newest release).
	tooOld bool
}

// versionVerdictOf reads a runner's version from its termination message, else from the tag
// of its actions-runner image, and compares it with GitHub's minimum: the one GitHub named, or
// actions.MinRunnerVersion. A runner whose refusal names a minimum is older than it.
func versionVerdictOf(pod *corev1.Pod) versionVerdict {
	msg := terminationMessage(pod)
	v := versionVerdict{version: submatch(refusedVersion, msg), minimum: submatch(minimumVersion, msg)}
	if v.version == "" {
		v.version = imageVersion(pod)
	}
	if v.minimum != "" {
		v.tooOld = true
		return v
	}
	v.minimum = actions.MinRunnerVersion
	version, err1 := actions.ParseRunnerVersion(v.version)
	minimum, err2 := actions.ParseRunnerVersion(v.minimum)
	v.tooOld = err1 == nil && err2 == nil && version.Compare(minimum) < 0
	return v
}

// terminationMessage is the runner container's last termination message.
func terminationMessage(pod *corev1.Pod) string {
	if pod == nil {
		return ""
	}
	for _, cs := range pod.Status.ContainerStatuses {
		if cs.Name != v1alpha1.RunnerContainerName {
			continue
		}
		if t := cs.State.Terminated; t != nil {
			return t.Message
		}
		if t := cs.LastTerminationState.Terminated; t != nil {
			return t.Message
		}
	}
	return ""
}

// imageVersion is the version of the runner container's actions-runner image, if it has one.
func imageVersion(pod *corev1.Pod) string {
	if pod == nil {
		return ""
	}
	for _, c := range pod.Spec.Containers {
		if c.Name != v1alpha1.RunnerContainerName {
			continue
		}
		if v, ok := actions.RunnerImageVersion(c.Image); ok {
			return v.String()
		}
	}
	return ""
}

func submatch(re *regexp.Regexp, s string) string {
	if m := re.FindStringSubmatch(s); m != nil {
		return m[1]
	}
	return ""
}
