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

package actions

import (
	"fmt"
	"strings"

	utilversion "k8s.io/apimachinery/pkg/util/version"
)

// MinRunnerVersion is the oldest runner GitHub lets connect: since 2026-09-25 it refuses
// runners older than 2.329.0 (GitHub's enforcement of its minimum runner version).
const MinRunnerVersion = "2.329.0"

// RunnerVersion is a runner release, e.g. 2.329.0.
type RunnerVersion struct {
	*utilversion.Version
}

// ParseRunnerVersion reads "2.329.0" or "v2.329.0": a semantic version without pre-release or
// build metadata, which runner releases never carry.
func ParseRunnerVersion(s string) (RunnerVersion, error) {
	v, err := utilversion.ParseSemantic(strings.TrimSpace(s))
	if err != nil || v.PreRelease() != "" || v.BuildMetadata() != "" {
		return RunnerVersion{}, fmt.Errorf("runner version %q: want MAJOR.MINOR.PATCH", s)
	}
	return RunnerVersion{v}, nil
}

// Compare is -1, 0 or +1 as v is older than, the same as or newer than o.
func (v RunnerVersion) Compare(o RunnerVersion) int {
	switch {
	case v.LessThan(o.Version):
		return -1
	case o.LessThan(v.Version):
		return 1
	}
	return 0
}

// RunnerImageVersion is the runner version an actions-runner image is tagged with
// ("ghcr.io/actions/actions-runner:2.330.0", or a mirror of it): what the runner in it reports.
// Other images, and tags that are no version ("latest"), say nothing.
func RunnerImageVersion(image string) (RunnerVersion, bool) {
	image, _, _ = strings.Cut(image, "@") // a digest says nothing of the version
	name, tag, ok := strings.Cut(image[strings.LastIndex(image, "/")+1:], ":")
	if !ok || name != "actions-runner" {
		return RunnerVersion{}, false
	}
	v, err := ParseRunnerVersion(tag)
	return v, err == nil
}
