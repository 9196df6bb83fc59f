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

import "k8s.io/apimachinery/pkg/runtime"

func addDefaultingFuncs(scheme *runtime.Scheme) error {
	return RegisterDefaults(scheme)
}

// SetDefaults_RunnerSet fills in what an omitted field means, so every reader of a stored
// RunnerSet sees the same values. runnerScaleSetName defaults to the object's name in the
// registry strategy instead, because a generated name is only known after defaulting.
func SetDefaults_RunnerSet(obj *RunnerSet) {
	if obj.Spec.MinRunners == nil {
		var zero int32
		obj.Spec.MinRunners = &zero
	}
}
