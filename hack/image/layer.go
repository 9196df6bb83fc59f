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
	"compress/gzip"
	"encoding/pem"
	"io"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/crypto/x509roots/fallback/bundle"
)

const (
	// binaryPath is where the server lives in the image, and the entrypoint.
	binaryPath = "/runnerset-apiserver"
	// nonroot is the uid and gid the server runs as: distroless' nonroot, which the chart's
	// podSecurityContext (runAsUser/runAsGroup 65532) expects.
	nonroot = 65532
	// caBundlePath is the first file Go's crypto/x509 reads for the system roots on Linux, and the
	// first directory of the chart's SSL_CERT_DIR when it adds an extra CA.
	caBundlePath = "/etc/ssl/certs/ca-certificates.crt"
)

// The user database: root owns the files, nonroot runs the server. The login shell names a
// program the image does not have, on purpose: there is no shell.
const (
	passwd = "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
	group  = "root:x:0:\nnonroot:x:65532:\n"
)

// file is one entry of the image's only layer.
type file struct {
	path string // absolute, without a trailing slash
	mode int64  // permission bits, and tar's c_ISVTX for /tmp
	uid  int
	dir  bool
	data []byte
}

// rootFS lists the layer's entries, parents before children, in a fixed order.
func rootFS(binary, caBundle []byte) []file {
	return []file{
		{path: "/etc", mode: 0o755, dir: true},
		{path: "/etc/group", mode: 0o644, data: []byte(group)},
		{path: "/etc/passwd", mode: 0o644, data: []byte(passwd)},
		{path: "/etc/ssl", mode: 0o755, dir: true},
		{path: "/etc/ssl/certs", mode: 0o755, dir: true},
		{path: caBundlePath, mode: 0o644, data: caBundle},
		{path: "/home", mode: 0o755, dir: true},
		{path: "/home/nonroot", mode: 0o700, uid: nonroot, dir: true},
		{path: binaryPath, mode: 0o755, data: binary},
		// The chart mounts an emptyDir here (the root filesystem is read-only); outside the chart
		// the server still finds the usual world-writable, sticky /tmp.
		{path: "/tmp", mode: 0o1777, dir: true},
	}
}

// caBundle returns Mozilla's root store, as packaged for Go in golang.org/x/crypto/x509roots,
// in PEM. Taken from a Go module rather than the build machine's /etc/ssl/certs so that the
// bundle, and so the digest, depend only on go.sum, not on which distribution built the image
// (this module's version is as current as the last go get; Debian stable's lags by years).
// Roots with a constraint X.509 cannot express (a distrust-after date) are left out: a PEM
// bundle would trust them without it.
func caBundle() []byte {
	var b bytes.Buffer
	for root := range bundle.Roots() {
		if root.Constraint != nil {
			continue
		}
		// Writing to a bytes.Buffer does not fail.
		_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: root.Certificate})
	}
	return b.Bytes()
}

// layerTar writes files as a tar stream with every timestamp set to mtime and no user or
// group names, so that the bytes depend on the contents alone.
func layerTar(files []file, mtime time.Time) ([]byte, error) {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, f := range files {
		hdr := &tar.Header{
			Name:    f.path[1:],
			Mode:    f.mode,
			Uid:     f.uid,
			Gid:     f.uid,
			ModTime: mtime,
		}
		if f.dir {
			hdr.Typeflag, hdr.Name = tar.TypeDir, hdr.Name+"/"
		} else {
			hdr.Typeflag, hdr.Size = tar.TypeReg, int64(len(f.data))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// newLayer compresses the tar stream itself, with the standard library's gzip at a fixed level
// and an empty gzip header, rather than leaving it to go-containerregistry: the digest then
// cannot change when that library changes its compressor. The default level, not the best:
// on the server's binary the best saves 0.5% for 2.5 times the time (28 s per platform here).
func newLayer(tarData []byte) (v1.Layer, error) {
	var b bytes.Buffer
	zw, err := gzip.NewWriterLevel(&b, gzip.DefaultCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(tarData); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	compressed := b.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(compressed)), nil
	}, tarball.WithMediaType(types.OCILayer))
}
