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
	"archive/tar"
	"bytes"
	"context"
	"crypto/x509"
	"debug/buildinfo"
	"debug/elf"
	"encoding/pem"
	"errors"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// The layer's entries, exactly: anything more (a shell, a package manager) is a regression.
var wantEntries = []string{
	"etc/", "etc/group", "etc/passwd", "etc/ssl/", "etc/ssl/certs/", "etc/ssl/certs/ca-certificates.crt",
	"home/", "home/nonroot/", "runnerset-apiserver", "tmp/",
}

// wantMachine is the ELF machine of each architecture's binary.
var wantMachine = map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}

// TestImage builds the image from the working tree, as `make image` does but into a scratch
// directory, so that it can never pass on a stale or missing _output/image; then it checks the
// image as a user gets it, read back from the tarball. Cold, the build compiles the server for
// two platforms (minutes); with a warm Go build cache it only links.
func TestImage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the server for linux/amd64 and linux/arm64")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	o := &options{root: "../..", output: t.TempDir()}
	digest, err := run(ctx, o)
	if err != nil {
		t.Fatal(err)
	}

	idx := indexFromArchive(t, filepath.Join(o.output, tarballName), o)
	if got, _ := idx.Digest(); got.String() != digest {
		t.Fatalf("the tarball's index is %s, the build printed %s", got, digest)
	}
	checkLayoutDir(t, filepath.Join(o.output, layoutDir), digest)
	manifest, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, desc := range manifest.Manifests {
		if desc.Platform == nil {
			t.Fatalf("manifest %s has no platform", desc.Digest)
		}
		got = append(got, desc.Platform.OS+"/"+desc.Platform.Architecture)
		t.Run(desc.Platform.Architecture, func(t *testing.T) {
			img, err := idx.Image(desc.Digest)
			if err != nil {
				t.Fatal(err)
			}
			checkImage(t, o, *desc.Platform, img)
		})
	}
	if want := []string{"linux/amd64", "linux/arm64"}; !slices.Equal(got, want) {
		t.Errorf("platforms %v, want %v", got, want)
	}
}

// indexFromArchive unpacks the oci-archive and returns the image index its index.json names,
// after checking the names that skopeo, containerd and docker load read.
func indexFromArchive(t *testing.T, archive string, o *options) v1.ImageIndex {
	t.Helper()
	dir := t.TempDir()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		extract(t, dir, hdr, tr)
	}
	outer, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, err := outer.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Manifests) != 1 || !m.Manifests[0].MediaType.IsIndex() {
		t.Fatalf("index.json should name one image index: %+v", m.Manifests)
	}
	desc := m.Manifests[0]
	if got := desc.Annotations["org.opencontainers.image.ref.name"]; got != o.tag {
		t.Errorf("ref.name %q, want %q", got, o.tag)
	}
	if got := desc.Annotations["io.containerd.image.name"]; got != o.imageName() {
		t.Errorf("io.containerd.image.name %q, want %q", got, o.imageName())
	}
	idx, err := outer.ImageIndex(desc.Digest)
	if err != nil {
		t.Fatal(err)
	}
	return idx
}

// extract writes one entry of the archive under dir.
func extract(t *testing.T, dir string, hdr *tar.Header, r io.Reader) {
	t.Helper()
	dst := filepath.Join(dir, filepath.FromSlash(path.Clean(hdr.Name)))
	if !strings.HasPrefix(dst, dir+string(filepath.Separator)) {
		t.Fatalf("archive entry %q escapes the archive", hdr.Name)
	}
	if hdr.Typeflag == tar.TypeDir {
		if err := os.MkdirAll(dst, 0o755); err != nil {
			t.Fatal(err)
		}
		return
	}
	data, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// checkLayoutDir checks that the layout directory names the same index as the tarball.
func checkLayoutDir(t *testing.T, dir, digest string) {
	t.Helper()
	outer, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, err := outer.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Manifests) != 1 || m.Manifests[0].Digest.String() != digest {
		t.Errorf("the layout directory names %+v, want the index %s", m.Manifests, digest)
	}
}

// checkImage checks one platform's image: its config, and its layer's files and binary.
func checkImage(t *testing.T, o *options, p v1.Platform, img v1.Image) {
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.OS != p.OS || cf.Architecture != p.Architecture || cf.Variant != p.Variant {
		t.Errorf("config platform %s/%s/%s, index says %+v", cf.OS, cf.Architecture, cf.Variant, p)
	}
	c := cf.Config
	if c.User != "65532:65532" || !slices.Equal(c.Entrypoint, []string{"/runnerset-apiserver"}) || c.WorkingDir != "/" || len(c.Cmd) != 0 {
		t.Errorf("user %q, entrypoint %q, cmd %q, workdir %q", c.User, c.Entrypoint, c.Cmd, c.WorkingDir)
	}
	for k, want := range map[string]string{
		"org.opencontainers.image.version":  o.version,
		"org.opencontainers.image.revision": o.commit,
		"org.opencontainers.image.licenses": "Apache-2.0",
	} {
		if c.Labels[k] != want {
			t.Errorf("label %s = %q, want %q", k, c.Labels[k], want)
		}
	}
	if c.Labels["org.opencontainers.image.source"] != o.source {
		t.Errorf("label org.opencontainers.image.source = %q, want %q", c.Labels["org.opencontainers.image.source"], o.source)
	}
	if !cf.Created.Equal(o.created) {
		t.Errorf("created %s, want the commit time %s", cf.Created, o.created)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("want one layer, got %d (%v)", len(layers), err)
	}
	binary := checkLayer(t, layers[0])
	checkBinary(t, o, p.Architecture, binary)
}

// checkLayer checks the layer's entries, owners and modes, and returns the server binary.
func checkLayer(t *testing.T, layer v1.Layer) []byte {
	t.Helper()
	rc, err := layer.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	files := map[string][]byte{}
	headers := map[string]*tar.Header{}
	var names []string
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if shell(hdr.Name) {
			t.Errorf("the layer has a shell: %s", hdr.Name)
		}
		names = append(names, hdr.Name)
		headers[hdr.Name] = hdr
		if files[hdr.Name], err = io.ReadAll(tr); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(names, wantEntries) {
		t.Errorf("layer entries:\n%q\nwant\n%q", names, wantEntries)
	}
	checkModes(t, headers)
	checkUsers(t, string(files["etc/passwd"]), string(files["etc/group"]))
	checkCertificates(t, files["etc/ssl/certs/ca-certificates.crt"])
	return files["runnerset-apiserver"]
}

// shell reports whether name is a shell or a multi-call binary that contains one.
func shell(name string) bool {
	switch path.Base(strings.TrimSuffix(name, "/")) {
	case "sh", "bash", "ash", "dash", "zsh", "busybox", "toybox":
		return true
	}
	return false
}

func checkModes(t *testing.T, headers map[string]*tar.Header) {
	t.Helper()
	for name, want := range map[string]struct {
		mode int64
		uid  int
	}{
		"runnerset-apiserver": {0o755, 0},
		"tmp/":                {0o1777, 0},
		"home/nonroot/":       {0o700, nonroot},
		"etc/passwd":          {0o644, 0},
	} {
		if hdr := headers[name]; hdr == nil || hdr.Mode != want.mode || hdr.Uid != want.uid || hdr.Gid != want.uid {
			t.Errorf("%s: want mode %o owner %d: %+v", name, want.mode, want.uid, hdr)
		}
	}
}

func checkUsers(t *testing.T, passwd, group string) {
	t.Helper()
	if !strings.Contains(passwd, "\nnonroot:x:65532:65532:") {
		t.Errorf("/etc/passwd has no nonroot user 65532:\n%s", passwd)
	}
	if !strings.Contains(group, "\nnonroot:x:65532:") {
		t.Errorf("/etc/group has no nonroot group 65532:\n%s", group)
	}
}

// checkCertificates checks that the bundle is PEM certificates only, and enough of them.
func checkCertificates(t *testing.T, data []byte) {
	t.Helper()
	n := 0
	for len(bytes.TrimSpace(data)) > 0 {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil || block.Type != "CERTIFICATE" {
			t.Fatalf("the CA bundle has something other than certificates after %d of them", n)
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			t.Fatalf("CA certificate %d: %v", n, err)
		}
		n++
	}
	if n < 100 {
		t.Errorf("the CA bundle has %d certificates; Mozilla's store has over 100", n)
	}
}

// checkBinary checks that the binary is a static ELF executable for arch, built as the
// Makefile builds it; the host's own architecture's binary must run and report its version.
func checkBinary(t *testing.T, o *options, arch string, binary []byte) {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(binary))
	if err != nil {
		t.Fatalf("not an ELF file: %v", err)
	}
	if f.Machine != wantMachine[arch] || f.Type != elf.ET_EXEC {
		t.Errorf("ELF machine %s type %s, want %s %s", f.Machine, f.Type, wantMachine[arch], elf.ET_EXEC)
	}
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP || prog.Type == elf.PT_DYNAMIC {
			t.Errorf("the binary is dynamically linked (%s)", prog.Type)
		}
	}
	checkBuildInfo(t, o, arch, binary)
	if runtime.GOOS == "linux" && runtime.GOARCH == arch {
		checkRuns(t, o, binary)
	}
}

// checkBuildInfo reads the settings the go command recorded in the binary.
func checkBuildInfo(t *testing.T, o *options, arch string, binary []byte) {
	t.Helper()
	info, err := buildinfo.Read(bytes.NewReader(binary))
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	if settings["CGO_ENABLED"] != "0" || settings["GOARCH"] != arch || settings["-trimpath"] != "true" {
		t.Errorf("build settings %v", settings)
	}
	if info.Path != "actions.dev/runnerset-apiserver/cmd/apiserver" {
		t.Errorf("the binary is %s", info.Path)
	}
	// With -trimpath the go command does not record -ldflags (they may hold paths), so look for
	// what -X put in the binary instead: the 40-digit commit can hardly be there by chance.
	if !bytes.Contains(binary, []byte(o.commit)) || !bytes.Contains(binary, []byte(o.version)) {
		t.Errorf("the binary does not hold the version %s and commit %s that -ldflags -X set", o.version, o.commit)
	}
}

// checkRuns runs the binary with --version, straight from the layer's bytes.
func checkRuns(t *testing.T, o *options, binary []byte) {
	t.Helper()
	exe := filepath.Join(t.TempDir(), "runnerset-apiserver")
	if err := os.WriteFile(exe, binary, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, exe, "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("%s --version: %v\n%s", exe, err, out)
	}
	line := strings.TrimSpace(string(out))
	if !strings.HasPrefix(line, "runnerset-apiserver v") || !strings.Contains(line, o.version) || !strings.Contains(line, o.commit) {
		t.Errorf("--version printed %q, want runnerset-apiserver %s (commit %s, ...)", line, o.version, o.commit)
	}
}
