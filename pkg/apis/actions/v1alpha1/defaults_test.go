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

package v1alpha1

import (
	"testing"

	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"
)

func TestDefaultRunnerContainer(t *testing.T) {
	arc := corev1.Container{Name: "runner", Image: DefaultRunnerImage, Command: []string{DefaultRunnerCommand}}
	mount := []corev1.VolumeMount{{Name: "certs", MountPath: "/etc/runner-certs"}}
	for _, tc := range []struct {
		name string
		in   []corev1.Container
		want []corev1.Container
	}{
		{"none: ARC's runner, first", []corev1.Container{{Name: "sidecar", Image: "s"}},
			[]corev1.Container{arc, {Name: "sidecar", Image: "s"}}},
		{"a runner without an image: ARC's image and command, its mounts kept",
			[]corev1.Container{{Name: "runner", VolumeMounts: mount}},
			[]corev1.Container{{Name: "runner", Image: DefaultRunnerImage, Command: []string{DefaultRunnerCommand}, VolumeMounts: mount}}},
		{"a runner without an image, with a command: the command kept",
			[]corev1.Container{{Name: "runner", Command: []string{"/bin/run"}}},
			[]corev1.Container{{Name: "runner", Image: DefaultRunnerImage, Command: []string{"/bin/run"}}}},
		{"a runner with an image: untouched, without a command (its image's own)",
			[]corev1.Container{{Name: "runner", Image: "mine"}},
			[]corev1.Container{{Name: "runner", Image: "mine"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs := &RunnerSet{Spec: RunnerSetSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: tc.in}}}}
			SetObjectDefaults_RunnerSet(rs)
			assert.Equal(t, tc.want, rs.Spec.Template.Spec.Containers)
		})
	}
}
