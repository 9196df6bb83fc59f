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
	"cmp"
	"fmt"
	"strconv"
	"strings"
)

// MinRunnerVersion is the oldest runner GitHub lets connect: since 2026-09-25 it refuses
// runners older than 2.329.0 (GitHub's enforcement of its minimum runner version).
const MinRunnerVersion = "2.329.0"

// RunnerVersion is a runner release, e.g. 2.329.0.
type RunnerVersion struct {
	Major, Minor, Patch int
}

// ParseRunnerVersion reads "2.329.0" or "v2.329.0".
func ParseRunnerVersion(s string) (RunnerVersion, error) {
	parts := strings.Split(strings.TrimPrefix(strings.TrimSpace(s), "v"), ".")
	if len(parts) != 3 {
		return RunnerVersion{}, fmt.Errorf("runner version %q: want MAJOR.MINOR.PATCH", s)
	}
	var n [3]int
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil || v < 0 || p[0] == '+' {
			return RunnerVersion{}, fmt.Errorf("runner version %q: want MAJOR.MINOR.PATCH", s)
		}
		n[i] = v
	}
	return RunnerVersion{Major: n[0], Minor: n[1], Patch: n[2]}, nil
}

// Compare is -1, 0 or +1 as v is older than, the same as or newer than o.
func (v RunnerVersion) Compare(o RunnerVersion) int {
	if c := cmp.Compare(v.Major, o.Major); c != 0 {
		return c
	}
	if c := cmp.Compare(v.Minor, o.Minor); c != 0 {
		return c
	}
	return cmp.Compare(v.Patch, o.Patch)
}

func (v RunnerVersion) String() string {
	return strconv.Itoa(v.Major) + "." + strconv.Itoa(v.Minor) + "." + strconv.Itoa(v.Patch)
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
