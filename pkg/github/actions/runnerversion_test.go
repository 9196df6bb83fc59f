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

import "testing"

func TestRunnerVersions(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"2.329.0", MinRunnerVersion, 0},
		{"v2.329.0", "2.329.0", 0},
		{"2.328.9", "2.329.0", -1},
		{"2.330.0", "2.329.0", 1},
		{"2.1000.0", "2.999.0", 1},
		{"3.0.0", "2.999.999", 1},
		{"1.999.999", "2.0.0", -1},
	} {
		a, err1 := ParseRunnerVersion(tc.a)
		b, err2 := ParseRunnerVersion(tc.b)
		if err1 != nil || err2 != nil {
			t.Fatalf("%s, %s: %v %v", tc.a, tc.b, err1, err2)
		}
		if got := a.Compare(b); got != tc.want {
			t.Errorf("%s vs %s = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
	for _, bad := range []string{"", "latest", "2.329", "2.329.0.1", "2.x.0", "2.-1.0", "2.+1.0", "2..0"} {
		if v, err := ParseRunnerVersion(bad); err == nil {
			t.Errorf("ParseRunnerVersion(%q) = %v, want an error", bad, v)
		}
	}
	if v, _ := ParseRunnerVersion(" v2.330.1 "); v.String() != "2.330.1" {
		t.Errorf("String() = %q", v.String())
	}
}

func TestRunnerImageVersion(t *testing.T) {
	for image, want := range map[string]string{
		"ghcr.io/actions/actions-runner:2.330.0":            "2.330.0",
		"ghcr.io/actions/actions-runner:v2.328.1":           "2.328.1",
		"registry:5000/mirror/actions-runner:2.331.0":       "2.331.0",
		"actions-runner:2.329.0@sha256:abcd":                "2.329.0",
		"ghcr.io/actions/actions-runner:latest":             "",
		"ghcr.io/actions/actions-runner":                    "",
		"ghcr.io/acme/custom-runner:2.300.0":                "",
		"registry:5000/actions-runner":                      "",
		"ghcr.io/actions/actions-runner@sha256:2.300.0.0.0": "",
		"": "",
	} {
		v, ok := RunnerImageVersion(image)
		if ok != (want != "") || (ok && v.String() != want) {
			t.Errorf("RunnerImageVersion(%q) = %v, %t; want %q", image, v, ok, want)
		}
	}
}
