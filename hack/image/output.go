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
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

const (
	layoutDir   = "oci"
	tarballName = "runnerset-apiserver.tar"
)

// writeOutputs writes the OCI layout and its tarball next to each other in a scratch directory
// and only then moves them into place, so that a reader of the output directory (a kind load
// running meanwhile) never sees half an image.
func writeOutputs(o *options, idx v1.ImageIndex) error {
	if err := os.MkdirAll(o.output, 0o755); err != nil {
		return err
	}
	scratch, err := os.MkdirTemp(o.output, ".build-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(scratch)

	if err := writeLayout(filepath.Join(scratch, layoutDir), o, idx); err != nil {
		return err
	}
	if err := tarDir(filepath.Join(scratch, layoutDir), filepath.Join(scratch, tarballName), o.created); err != nil {
		return err
	}
	if err := os.RemoveAll(filepath.Join(o.output, layoutDir)); err != nil {
		return err
	}
	for _, name := range []string{layoutDir, tarballName} {
		if err := os.Rename(filepath.Join(scratch, name), filepath.Join(o.output, name)); err != nil {
			return err
		}
	}
	info, err := os.Stat(filepath.Join(o.output, tarballName))
	if err != nil {
		return err
	}
	logf("wrote %s/ and %s (%.1f MB)", filepath.Join(o.output, layoutDir), filepath.Join(o.output, tarballName), float64(info.Size())/1e6)
	return nil
}

// writeLayout writes an OCI image layout whose index.json holds one entry, the image index,
// named twice: org.opencontainers.image.ref.name carries the tag (the OCI convention, which
// skopeo's oci-archive:path:tag and regctl's ocidir://path:tag look up), and
// io.containerd.image.name the full name, under which containerd (ctr import, kind load
// image-archive) and docker load record the image.
func writeLayout(dir string, o *options, idx v1.ImageIndex) error {
	outer := mutate.AppendManifests(empty.Index, mutate.IndexAddendum{
		Add: idx,
		Descriptor: v1.Descriptor{Annotations: map[string]string{
			"org.opencontainers.image.ref.name": o.tag,
			"io.containerd.image.name":          o.imageName(),
		}},
	})
	_, err := layout.Write(dir, outer)
	return err
}

// tarDir archives dir with its paths relative to dir, in lexical order, with fixed modes,
// owners and times, so that the tarball is as reproducible as the layout it holds.
func tarDir(dir, dst string, mtime time.Time) (err error) {
	f, err := os.Create(dst)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	tw := tar.NewWriter(f)
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == dir {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		return addToTar(tw, path, filepath.ToSlash(rel), d, mtime)
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

// addToTar writes one file or directory of the layout.
func addToTar(tw *tar.Writer, path, name string, d fs.DirEntry, mtime time.Time) error {
	hdr := &tar.Header{Name: name, Mode: 0o644, ModTime: mtime, Typeflag: tar.TypeReg}
	if d.IsDir() {
		hdr.Name, hdr.Mode, hdr.Typeflag = name+"/", 0o755, tar.TypeDir
		return tw.WriteHeader(hdr)
	}
	src, err := os.Open(path)
	if err != nil {
		return err
	}
	defer src.Close()
	info, err := src.Stat()
	if err != nil {
		return err
	}
	hdr.Size = info.Size()
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	_, err = io.Copy(tw, src)
	return err
}
