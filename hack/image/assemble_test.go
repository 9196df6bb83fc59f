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
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// The tests in this file need no compiler: stand-in binaries are enough to check what the tool
// does with them.

func fakeOptions(t *testing.T) *options {
	return &options{
		version:    "v1.2.3",
		commit:     "0123456789abcdef0123456789abcdef01234567",
		repository: "ghcr.io/example/runnerset-apiserver",
		tag:        "1.2.3",
		output:     t.TempDir(),
		created:    time.Unix(1796297822, 0).UTC(),
	}
}

var fakeBinaries = map[string][]byte{"amd64": []byte("amd64 server"), "arm64": []byte("arm64 server")}

// TestReproducible checks that the same inputs give the same digests, layout and tarball, and
// that the timestamp is an input (the clock is not).
func TestReproducible(t *testing.T) {
	o := fakeOptions(t)
	first := digest(t, o)
	time.Sleep(1100 * time.Millisecond) // a clock-derived timestamp would now differ
	again := fakeOptions(t)
	if second := digest(t, again); second != first {
		t.Fatalf("same inputs, two digests: %s and %s", first, second)
	}
	for _, name := range []string{tarballName, filepath.Join(layoutDir, "index.json")} {
		a, errA := os.ReadFile(filepath.Join(o.output, name))
		b, errB := os.ReadFile(filepath.Join(again.output, name))
		if errA != nil || errB != nil || !bytes.Equal(a, b) {
			t.Errorf("%s differs between two builds of the same inputs (%v, %v)", name, errA, errB)
		}
	}
	later := fakeOptions(t)
	later.created = later.created.Add(time.Second)
	if digest(t, later) == first {
		t.Errorf("the creation time does not reach the digest")
	}
}

// digest assembles the fake image, writes its outputs and returns the index digest.
func digest(t *testing.T, o *options) v1.Hash {
	t.Helper()
	idx, err := assemble(o, fakeBinaries)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeOutputs(o, idx); err != nil {
		t.Fatal(err)
	}
	d, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestLayerFromFakeBinaries checks the layer without a compiler: the same checks as TestImage
// on the files around the binary.
func TestLayerFromFakeBinaries(t *testing.T) {
	o := fakeOptions(t)
	idx, err := assemble(o, fakeBinaries)
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Manifests) != 2 {
		t.Fatalf("%d manifests, want 2", len(m.Manifests))
	}
	for _, desc := range m.Manifests {
		if desc.ArtifactType != "" || desc.Platform == nil || !desc.MediaType.IsImage() {
			t.Errorf("index entry %+v: want an image with a platform and no artifactType", desc)
			continue
		}
		img, err := idx.Image(desc.Digest)
		if err != nil {
			t.Fatal(err)
		}
		layers, err := img.Layers()
		if err != nil || len(layers) != 1 {
			t.Fatalf("want one layer, got %d (%v)", len(layers), err)
		}
		if got := checkLayer(t, layers[0]); !bytes.Equal(got, fakeBinaries[desc.Platform.Architecture]) {
			t.Errorf("%s: the layer holds %q", desc.Platform.Architecture, got)
		}
	}
	if got := m.Annotations["org.opencontainers.image.created"]; got != "2026-12-03T11:37:02Z" {
		t.Errorf("index annotation created = %q", got)
	}
}

func TestImageName(t *testing.T) {
	for repo, want := range map[string]string{
		"runnerset-apiserver":                 "docker.io/library/runnerset-apiserver:1.2.3",
		"example/runnerset-apiserver":         "docker.io/example/runnerset-apiserver:1.2.3",
		"ghcr.io/example/runnerset-apiserver": "ghcr.io/example/runnerset-apiserver:1.2.3",
		"localhost/runnerset-apiserver":       "localhost/runnerset-apiserver:1.2.3",
		"localhost:5000/runnerset-apiserver":  "localhost:5000/runnerset-apiserver:1.2.3",
	} {
		o := &options{repository: repo, tag: "1.2.3"}
		if got := o.imageName(); got != want {
			t.Errorf("%s: %s, want %s", repo, got, want)
		}
	}
}

// TestChartDefaults reads the real chart, as the tool's defaults do.
func TestChartDefaults(t *testing.T) {
	o := &options{root: "../.."}
	if err := o.completeVersion(t.Context()); err != nil || len(o.version) < 2 || o.version[0] != 'v' {
		t.Errorf("version %q from the chart: %v", o.version, err)
	}
	repo, err := chartImageRepository(filepath.Join("..", "..", "charts", "runnerset-apiserver", "values.yaml"))
	if err != nil || repo == "" {
		t.Errorf("image.repository %q from the chart: %v", repo, err)
	}
}
