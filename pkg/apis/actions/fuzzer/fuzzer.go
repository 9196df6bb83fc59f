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

// Package fuzzer fills RunnerSets with random values for round-trip tests.
package fuzzer

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	runtimeserializer "k8s.io/apimachinery/pkg/runtime/serializer"
	"sigs.k8s.io/randfill"

	"actions.dev/runnerset-apiserver/pkg/apis/actions"
)

// Funcs normalises what cannot survive a round trip through the versioned form: v1alpha1
// defaults minRunners, lostJobReruns, scaleUp.burst and a runner container (or its image), and JSON drops empty lists. The embedded core/v1 types are filled with
// a realistic template rather than fuzzed field by field: their round trip is core/v1's own
// business, and without core's defaulters a fully random pod spec does not round-trip.
var Funcs = func(codecs runtimeserializer.CodecFactory) []interface{} {
	return []interface{}{
		func(s *actions.RunnerSetStatus, c randfill.Continue) {
			c.FillNoCustom(s)
			if len(s.RecentJobs) == 0 {
				s.RecentJobs = nil
			}
		},
		func(s *actions.WorkflowJobStatus, c randfill.Continue) {
			c.FillNoCustom(s)
			if len(s.Labels) == 0 {
				s.Labels = nil
			}
			if len(s.Transitions) == 0 {
				s.Transitions = nil
			}
		},
		func(s *actions.RunnerSetSpec, c randfill.Continue) {
			c.FillNoCustom(s)
			if s.MinRunners == nil {
				n := int32(c.Intn(10))
				s.MinRunners = &n
			}
			if s.LostJobReruns == nil {
				n := int32(c.Intn(11))
				s.LostJobReruns = &n
			}
			if len(s.Labels) == 0 {
				s.Labels = nil
			}
			if u := s.ScaleUp; u != nil && u.Burst == nil {
				b := u.RunnersPerMinute
				u.Burst = &b
			}
			if len(s.Schedules) == 0 {
				s.Schedules = nil
			}
			for i := range s.Schedules {
				if len(s.Schedules[i].Days) == 0 {
					s.Schedules[i].Days = nil
				}
			}
			if s.Proxy != nil && len(s.Proxy.NoProxy) == 0 {
				s.Proxy.NoProxy = nil
			}
			if s.ContainerMode != nil {
				s.ContainerMode.KubernetesModeAdditionalRoleRules = roleRules(s.ContainerMode.KubernetesModeAdditionalRoleRules)
			}
			if s.ContainerMode != nil && s.ContainerMode.KubernetesModeWorkVolumeClaim != nil {
				s.ContainerMode.KubernetesModeWorkVolumeClaim = &corev1.PersistentVolumeClaimSpec{
					AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{
						corev1.ResourceStorage: *resource.NewQuantity(int64(c.Intn(100)+1)<<30, resource.BinarySI),
					}},
				}
			}
			s.Template = corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"team": c.String(10)}},
				Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyNever,
					Containers: []corev1.Container{{
						Name:    "runner",
						Image:   "runner:" + c.String(20), // never empty: v1alpha1 defaults an empty one
						Command: []string{"/home/runner/run.sh"},
						Env:     []corev1.EnvVar{{Name: c.String(8), Value: c.String(8)}},
					}},
				},
			}
		},
	}
}

// roleRules drops what JSON drops: empty lists (verbs, without omitempty, keeps an empty one).
func roleRules(in []actions.RoleRule) []actions.RoleRule {
	if len(in) == 0 {
		return nil
	}
	for i := range in {
		r := &in[i]
		for _, l := range []*[]string{&r.APIGroups, &r.Resources, &r.ResourceNames} {
			if len(*l) == 0 {
				*l = nil
			}
		}
	}
	return in
}
