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

package simulator

import (
	"fmt"
	"strings"

	utilversion "k8s.io/apimachinery/pkg/util/version"
)

// parseRunnerVersion reads a runner release, "2.329.0" or "v2.329.0": MAJOR.MINOR.PATCH without
// pre-release or build metadata, which runner releases never carry. The simulator parses
// versions itself, so that a client comparing them wrongly meets GitHub's answer.
func parseRunnerVersion(s string) (*utilversion.Version, error) {
	v, err := utilversion.ParseSemantic(strings.TrimSpace(s))
	if err != nil || v.PreRelease() != "" || v.BuildMetadata() != "" {
		return nil, fmt.Errorf("runner version %q: want MAJOR.MINOR.PATCH", s)
	}
	return v, nil
}
