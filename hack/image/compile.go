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

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// platforms are the image's platforms. arm64 carries the variant v8 as Docker's official images
// do; containerd matches an arm64 node with or without it.
var platforms = []v1.Platform{
	{OS: "linux", Architecture: "amd64"},
	{OS: "linux", Architecture: "arm64", Variant: "v8"},
}

// ldflags are the Makefile's VERSION_LDFLAGS (keep the two in step), plus -s -w: the symbol
// table and DWARF are a third of the binary, and a Go binary's stack traces and profiles do not
// need them (Kubernetes strips its release binaries the same way).
func ldflags(version, commit string) string {
	return fmt.Sprintf("-s -w -X actions.dev/runnerset-apiserver/pkg/version.gitVersion=%s -X actions.dev/runnerset-apiserver/pkg/version.gitCommit=%s", version, commit)
}

// compileAll cross-compiles the server for every platform, one after the other (the go command
// already uses every core), and returns the binaries by architecture.
func compileAll(ctx context.Context, o *options) (map[string][]byte, error) {
	dir, err := os.MkdirTemp("", "runnerset-apiserver-image-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	binaries := map[string][]byte{}
	for _, p := range platforms {
		b, err := compile(ctx, o, p.Architecture, filepath.Join(dir, "runnerset-apiserver-"+p.Architecture))
		if err != nil {
			return nil, err
		}
		binaries[p.Architecture] = b
	}
	return binaries, nil
}

// compile builds a static server binary for linux/arch at out and returns its contents.
func compile(ctx context.Context, o *options, arch, out string) ([]byte, error) {
	start := time.Now()
	logf("compiling ./cmd/apiserver for linux/%s", arch)
	cmd := exec.CommandContext(ctx, goCommand(), "build", "-trimpath", "-buildvcs=false",
		"-ldflags", ldflags(o.version, o.commit), "-o", out, "./cmd/apiserver")
	cmd.Dir = o.root
	cmd.Env = append(os.Environ(), buildEnv(arch)...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go build for linux/%s: %w", arch, err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		return nil, err
	}
	logf("linux/%s: %.1f MB in %s", arch, float64(len(b))/1e6, time.Since(start).Round(time.Second))
	return b, nil
}

// buildEnv pins everything in the environment that changes the binary, so that the same commit
// and Go version give the same bytes on any machine: no cgo (a static binary), the baseline
// instruction sets, and no GOFLAGS or go.work of the caller's (-buildvcs=false is explicit
// because the version is stamped by ldflags, and VCS stamping would change the binary with any
// untracked file in the tree).
func buildEnv(arch string) []string {
	return []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=" + arch, "GOAMD64=v1", "GOARM64=v8.0", "GOFLAGS=", "GOWORK=off"}
}

// goCommand is the go command to build with: $GO as in the Makefile, else go from PATH.
func goCommand() string {
	if g := os.Getenv("GO"); g != "" {
		return g
	}
	return "go"
}
