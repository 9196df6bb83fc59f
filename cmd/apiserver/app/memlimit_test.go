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

package app

import (
	"io/fs"
	"testing"
)

func TestMemoryLimit(t *testing.T) {
	files := func(m map[string]string) func(string) ([]byte, error) {
		return func(name string) ([]byte, error) {
			if v, ok := m[name]; ok {
				return []byte(v), nil
			}
			return nil, fs.ErrNotExist
		}
	}
	v2, v1 := cgroupMemoryFiles[0], cgroupMemoryFiles[1]
	for _, tc := range []struct {
		name   string
		flag   string
		env    bool
		files  map[string]string
		want   int64
		source string
		err    bool
	}{
		{name: "flag wins over everything", flag: "200Mi", env: true, files: map[string]string{v2: "268435456\n"}, want: 200 << 20, source: "--memory-limit"},
		{name: "flag 0 turns it off", flag: "0", files: map[string]string{v2: "268435456\n"}, want: 0, source: "--memory-limit"},
		{name: "bad flag", flag: "lots", err: true},
		{name: "negative flag", flag: "-1Mi", err: true},
		{name: "GOMEMLIMIT is left as the runtime applied it", env: true, files: map[string]string{v2: "268435456\n"}, source: "GOMEMLIMIT"},
		{name: "cgroup v2 limit", files: map[string]string{v2: "268435456\n"}, want: 187904819, source: "70% of the container's limit (" + v2 + ")"},
		{name: "cgroup v2 without a limit", files: map[string]string{v2: "max\n", v1: "268435456"}},
		{name: "cgroup v1 limit", files: map[string]string{v1: "536870912\n"}, want: 375809638, source: "70% of the container's limit (" + v1 + ")"},
		{name: "cgroup v1 without a limit", files: map[string]string{v1: "9223372036854771712\n"}},
		{name: "no cgroup", files: map[string]string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, source, err := memoryLimit(tc.flag, tc.env, files(tc.files))
			if (err != nil) != tc.err {
				t.Fatalf("err %v, want error %v", err, tc.err)
			}
			if got != tc.want || source != tc.source {
				t.Errorf("got %d from %q, want %d from %q", got, source, tc.want, tc.source)
			}
		})
	}
}
