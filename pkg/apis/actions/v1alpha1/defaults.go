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
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// The runner container ARC's gha-runner-scale-set chart renders when its values name none
// (values.yaml of 0.14.2): a template without a runner gets it, so that four lines of spec make
// a working RunnerSet and ARC's values without a runner container keep working.
const (
	DefaultRunnerImage   = "ghcr.io/actions/actions-runner:latest"
	DefaultRunnerCommand = "/home/runner/run.sh"
)

func addDefaultingFuncs(scheme *runtime.Scheme) error {
	return RegisterDefaults(scheme)
}

// DefaultLostJobReruns is how many lost jobs of one workflow run are re-run unless a RunnerSet
// says otherwise: one, as a person would, without a job that dies again and again costing more.
const DefaultLostJobReruns = 1

// SetDefaults_RunnerSet fills in what an omitted field means, so every reader of a stored
// RunnerSet sees the same values. runnerScaleSetName defaults to the object's name in the
// registry strategy instead, because a generated name is only known after defaulting.
func SetDefaults_RunnerSet(obj *RunnerSet) {
	if obj.Spec.MinRunners == nil {
		var zero int32
		obj.Spec.MinRunners = &zero
	}
	if obj.Spec.LostJobReruns == nil {
		one := int32(DefaultLostJobReruns)
		obj.Spec.LostJobReruns = &one
	}
	if u := obj.Spec.ScaleUp; u != nil && u.Burst == nil {
		burst := u.RunnersPerMinute
		u.Burst = &burst
	}
	setDefaultRunnerContainer(&obj.Spec.Template.Spec)
}

// setDefaultRunnerContainer puts ARC's default runner container first when no container is
// named runner, and gives a runner container without an image ARC's default image (and its
// command, unless one is set). ARC's chart renders the user's containers alone in the default
// mode, and a runner without an image when values change the runner container's mounts (Helm
// replaces lists): neither runs a job, and both mean ARC's default runner. First is where its
// other modes put the runner.
func setDefaultRunnerContainer(spec *corev1.PodSpec) {
	for i := range spec.Containers {
		c := &spec.Containers[i]
		if c.Name != RunnerContainerName {
			continue
		}
		if c.Image == "" {
			c.Image = DefaultRunnerImage
			if len(c.Command) == 0 {
				c.Command = []string{DefaultRunnerCommand}
			}
		}
		return
	}
	runner := corev1.Container{Name: RunnerContainerName, Image: DefaultRunnerImage, Command: []string{DefaultRunnerCommand}}
	spec.Containers = append([]corev1.Container{runner}, spec.Containers...)
}
