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

// Package version is the server's own version, set at build time with -ldflags "-X ...".
//
// It is not k8s.io/component-base/version: the generic API server derives the Kubernetes
// version it emulates, and with it which feature gates are on (WatchList, say), from that
// package's gitVersion, so a version of ours there would turn Kubernetes features off.
package version

import (
	"fmt"
	"runtime"
)

// Set by the Makefile's VERSION_LDFLAGS and by hack/image.
var (
	gitVersion = "v0.0.0-dev"
	gitCommit  = ""
)

// Version is the server's version, e.g. v0.1.0.
func Version() string { return gitVersion }

// Commit is the commit the server was built from, or empty.
func Commit() string { return gitCommit }

// String is what --version prints.
func String() string {
	return fmt.Sprintf("runnerset-apiserver %s (commit %s, %s, %s/%s)", gitVersion, gitCommit, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
