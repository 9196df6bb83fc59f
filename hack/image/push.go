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

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// push writes the index, its images and their blobs to ref. Credentials come from the docker
// configuration (~/.docker/config.json, $DOCKER_CONFIG), which `docker login` and
// docker/login-action write; blobs the registry already has are not sent again.
func push(ctx context.Context, ref string, idx v1.ImageIndex) error {
	r, err := name.ParseReference(ref, name.StrictValidation)
	if err != nil {
		return err
	}
	logf("pushing to %s", r)
	err = remote.WriteIndex(r, idx, remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain))
	if err != nil {
		return fmt.Errorf("push %s: %w", r, err)
	}
	digest, err := idx.Digest()
	if err != nil {
		return err
	}
	logf("pushed %s", r.Context().Digest(digest.String()))
	return nil
}
