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

package validation_test

import (
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"

	"actions.dev/runnerset-apiserver/pkg/apis/actions"
	"actions.dev/runnerset-apiserver/pkg/apis/actions/install"
	"actions.dev/runnerset-apiserver/pkg/apis/actions/validation"
)

// FuzzValidateRunnerSet: any document a client can send, once it decodes as a RunnerSet, is
// defaulted, converted and validated (as a create, an update and a status update) without a
// panic, and every error it gets names a field. The fault suite runs it for a bounded time
// (make test-faults); go test runs the seeds.
func FuzzValidateRunnerSet(f *testing.F) {
	scheme := runtime.NewScheme()
	install.Install(scheme)
	decoder := serializer.NewCodecFactory(scheme).UniversalDecoder(actions.SchemeGroupVersion)
	for _, seed := range []string{
		`{"apiVersion":"actions.dev/v1alpha1","kind":"RunnerSet","metadata":{"name":"linux","namespace":"a"},"spec":{"githubConfigUrl":"https://github.com/org","githubConfigSecret":"pat","maxRunners":5,"template":{"spec":{"containers":[{"name":"runner","image":"r"}]}}}}`,
		`{"apiVersion":"actions.dev/v1alpha1","kind":"RunnerSet","metadata":{"name":"k"},"spec":{"githubConfigUrl":"https://ghes.example.com/enterprises/e","githubConfigSecret":"s","minRunners":-1,"maxRunners":-2,"labels":["",""],"containerMode":{"type":"kubernetes","kubernetesModeWorkVolumeClaim":{}},"template":{"metadata":{"labels":{"actions.dev/runnerset":"x"}},"spec":{"restartPolicy":"Always","containers":[{"name":"runner"},{"name":"runner"}]}},"proxy":{"https":{"url":"http://u:p@h"}},"githubServerTLS":{"runnerMountPath":"rel"}}}`,
		`{"apiVersion":"actions.dev/v1alpha1","kind":"RunnerSet","metadata":{"name":"n"},"spec":{"githubConfigUrl":"https://github.com/o/.r","githubConfigSecret":"s","containerMode":{"type":"kubernetes-novolume","kubernetesModeWorkVolumeClaim":{},"kubernetesModeAdditionalRoleRules":[{"verbs":["*"],"apiGroups":["*"],"resources":["*"],"resourceNames":[""]},{}]},"template":{"metadata":{"labels":{"actions-ephemeral-runner":"x"}},"spec":{"initContainers":[{"name":"dind"}],"containers":[{"name":"dind"}]}}}}`,
		`{"apiVersion":"actions.dev/v1alpha1","kind":"RunnerSet","metadata":{"generateName":"g-"},"spec":{}}`,
		`{"apiVersion":"actions.dev/v1alpha1","kind":"RunnerSet"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		obj, _, err := decoder.Decode(data, nil, nil)
		if err != nil {
			return
		}
		rs, ok := obj.(*actions.RunnerSet)
		if !ok {
			return
		}
		old := rs.DeepCopy()
		for _, errs := range [][]error{
			toErrors(validation.ValidateRunnerSet(rs)),
			toErrors(validation.ValidateRunnerSetUpdate(rs, old)),
			toErrors(validation.ValidateRunnerSetStatusUpdate(rs, old)),
		} {
			for _, e := range errs {
				if e.Error() == "" {
					t.Fatalf("an error without a message for %s", data)
				}
			}
		}
		for _, e := range validation.ValidateRunnerSet(rs) {
			if e.Field == "" {
				t.Fatalf("error %q names no field, for %s", e.Error(), data)
			}
		}
	})
}

func toErrors[T error](in []T) []error {
	out := make([]error, len(in))
	for i, e := range in {
		out[i] = e
	}
	return out
}
