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

package install

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"

	"actions.dev/runnerset-apiserver/pkg/apis/actions"
	"actions.dev/runnerset-apiserver/pkg/apis/actions/validation"
)

// TestDefaultRunnerContainer: a RunnerSet without a runner container, as a client sends it, is
// given ARC's default one first and then passes validation.
func TestDefaultRunnerContainer(t *testing.T) {
	const head = `{"apiVersion":"actions.dev/v1alpha1","kind":"RunnerSet","metadata":{"name":"linux","namespace":"a"},` +
		`"spec":{"githubConfigUrl":"https://github.com/my-org","githubConfigSecret":"github-pat"`
	tests := []struct {
		name, doc string
		want      []string // container name=image
	}{
		{"four lines of spec", head + `}}`, []string{"runner=ghcr.io/actions/actions-runner:latest"}},
		{"no containers", head + `,"template":{"spec":{"containers":[]}}}}`, []string{"runner=ghcr.io/actions/actions-runner:latest"}},
		{"a sidecar only", head + `,"template":{"spec":{"containers":[{"name":"proxy","image":"envoy"}]}}}}`,
			[]string{"runner=ghcr.io/actions/actions-runner:latest", "proxy=envoy"}},
		{"a runner of its own", head + `,"template":{"spec":{"containers":[{"name":"proxy","image":"envoy"},{"name":"runner","image":"mine"}]}}}}`,
			[]string{"proxy=envoy", "runner=mine"}},
	}
	scheme := runtime.NewScheme()
	Install(scheme)
	decoder := serializer.NewCodecFactory(scheme).UniversalDecoder(actions.SchemeGroupVersion)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			obj, _, err := decoder.Decode([]byte(tc.doc), nil, nil)
			require.NoError(t, err)
			rs := obj.(*actions.RunnerSet)
			var got []string
			for _, c := range rs.Spec.Template.Spec.Containers {
				got = append(got, c.Name+"="+c.Image)
				if c.Name == actions.RunnerContainerName && c.Image == "ghcr.io/actions/actions-runner:latest" {
					assert.Equal(t, []string{"/home/runner/run.sh"}, c.Command)
				}
			}
			assert.Equal(t, tc.want, got)
			assert.Empty(t, validation.ValidateRunnerSet(rs))
		})
	}
}
