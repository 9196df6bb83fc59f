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
	"fmt"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The user the server runs as, by number: the kubelet can only check runAsNonRoot against a
// numeric user.
const user = "65532:65532"

// assemble builds one image per platform around its binary and returns their index.
func assemble(o *options, binaries map[string][]byte) (v1.ImageIndex, error) {
	certs := caBundle()
	var idx v1.ImageIndex = empty.Index
	for _, p := range platforms {
		binary, ok := binaries[p.Architecture]
		if !ok {
			return nil, fmt.Errorf("no binary for linux/%s", p.Architecture)
		}
		img, err := platformImage(o, p, binary, certs)
		if err != nil {
			return nil, fmt.Errorf("linux/%s: %w", p.Architecture, err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        plainImage{img},
			Descriptor: v1.Descriptor{Platform: &p},
		})
	}
	// Registries and UIs read an index's annotations, not its images' labels (ghcr.io shows
	// org.opencontainers.image.description and links the repository from them).
	annotations := labels(o)
	annotations["org.opencontainers.image.created"] = o.created.Format(time.RFC3339)
	return mutate.Annotations(mutate.IndexMediaType(idx, types.OCIImageIndex), annotations).(v1.ImageIndex), nil
}

// platformImage is the image for one platform: its one layer and a config that runs the
// server as nonroot.
func platformImage(o *options, p v1.Platform, binary, certs []byte) (v1.Image, error) {
	tarData, err := layerTar(rootFS(binary, certs), o.created)
	if err != nil {
		return nil, err
	}
	layer, err := newLayer(tarData)
	if err != nil {
		return nil, err
	}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err = mutate.ConfigFile(img, &v1.ConfigFile{
		Created:      v1.Time{Time: o.created},
		OS:           p.OS,
		Architecture: p.Architecture,
		Variant:      p.Variant,
		Config: v1.Config{
			User:       user,
			Entrypoint: []string{binaryPath},
			WorkingDir: "/",
			Labels:     labels(o),
		},
		RootFS: v1.RootFS{Type: "layers"},
	})
	if err != nil {
		return nil, err
	}
	return mutate.Append(img, mutate.Addendum{
		Layer: layer,
		History: v1.History{
			Created:   v1.Time{Time: o.created},
			CreatedBy: "hack/image: " + binaryPath + ", CA certificates, nonroot user",
		},
	})
}

// labels are the image's OCI labels (and its index's annotations).
func labels(o *options) map[string]string {
	l := map[string]string{
		"org.opencontainers.image.title":    "runnerset-apiserver",
		"org.opencontainers.image.version":  o.version,
		"org.opencontainers.image.revision": o.commit,
		"org.opencontainers.image.licenses": "Apache-2.0",
	}
	if o.source != "" {
		l["org.opencontainers.image.source"] = o.source
	}
	return l
}

// plainImage is an image whose entry in an index has no artifactType. go-containerregistry
// fills that field in with the config's media type, but it is meant for artifacts, and tools
// that predate OCI 1.1 (skopeo 1.9, Debian 12's) drop it when they copy the index: the copy
// then has another digest than the one this tool printed and a release attested.
type plainImage struct{ v1.Image }

// Descriptor is what partial.Descriptor, and so mutate.AppendManifests, use when present.
func (i plainImage) Descriptor() (*v1.Descriptor, error) {
	digest, err := i.Digest()
	if err != nil {
		return nil, err
	}
	size, err := i.Size()
	if err != nil {
		return nil, err
	}
	mediaType, err := i.MediaType()
	if err != nil {
		return nil, err
	}
	return &v1.Descriptor{MediaType: mediaType, Size: size, Digest: digest}, nil
}
