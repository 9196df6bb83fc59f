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

// Command image builds the runnerset-apiserver's multi-architecture OCI image (linux/amd64 and
// linux/arm64) from Go modules alone: no Docker engine, no base image to pull. It cross-compiles
// ./cmd/apiserver of the repository into static binaries, puts each in a one-layer image with CA
// certificates and a nonroot user, and writes under --output:
//
//	oci/                     an OCI image layout whose index.json names one image index
//	runnerset-apiserver.tar  the same layout as a tarball (an "oci-archive")
//
// It prints the image index's digest on stdout (everything else goes to stderr) and, with
// --push, pushes the index to a registry. The same commit gives the same digest: timestamps come
// from SOURCE_DATE_EPOCH or the commit time, never from the clock. Run it from the repository
// root through hack/image.sh (make image).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	o := &options{}
	o.addFlags(flag.CommandLine)
	flag.Parse()
	if flag.NArg() != 0 {
		fmt.Fprintf(os.Stderr, "image: unexpected arguments %q\n", flag.Args())
		os.Exit(2)
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()

	digest, err := run(ctx, o)
	if err != nil {
		fmt.Fprintf(os.Stderr, "image: %v\n", err)
		os.Exit(1)
	}
	fmt.Println(digest)
}

// run builds the image described by o, writes it under o.output, pushes it when asked, and
// returns the digest of its image index.
func run(ctx context.Context, o *options) (string, error) {
	start := time.Now()
	if err := o.complete(ctx); err != nil {
		return "", err
	}
	logf("%s (version %s, commit %s, created %s)", o.imageName(), o.version, o.commit, o.created.Format(time.RFC3339))

	binaries, err := compileAll(ctx, o)
	if err != nil {
		return "", err
	}
	idx, err := assemble(o, binaries)
	if err != nil {
		return "", err
	}
	digest, err := idx.Digest()
	if err != nil {
		return "", err
	}
	if err := writeOutputs(o, idx); err != nil {
		return "", err
	}
	if o.push != "" {
		if err := push(ctx, o.push, idx); err != nil {
			return "", err
		}
	}
	logf("done in %s: index %s", time.Since(start).Round(time.Second), digest)
	return digest.String(), nil
}

// logf prints progress on stderr, keeping stdout for the digest alone.
func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "image: "+format+"\n", args...)
}
