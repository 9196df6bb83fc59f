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
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
)

// options describe one image build. Every field left empty gets the default the Makefile would
// use, so `make image` and a bare run of the tool build the same image.
type options struct {
	root       string // the repository root: ./cmd/apiserver is built there
	output     string // where the layout and the tarball go; default <root>/_output/image
	version    string // the server's version (--version); default v<appVersion of the chart>
	commit     string // the commit the binary reports; default git rev-parse HEAD
	repository string // the image's name in the layout and the tarball; default the chart's
	tag        string // its tag; default the version without its leading v
	source     string // org.opencontainers.image.source; default the GitHub repository in CI
	push       string // a reference to push the index to; empty: do not push

	created time.Time // from SOURCE_DATE_EPOCH or the commit time
}

func (o *options) addFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.root, "root", ".", "The repository root.")
	fs.StringVar(&o.output, "output", "", "Output directory (default <root>/_output/image).")
	fs.StringVar(&o.version, "version", "", `The server's version, as the Makefile's VERSION (default "v" + appVersion of charts/runnerset-apiserver).`)
	fs.StringVar(&o.commit, "commit", "", "The commit the server reports (default: git rev-parse HEAD).")
	fs.StringVar(&o.repository, "repository", "", "The image repository named in the layout and tarball (default: image.repository of the chart's values.yaml).")
	fs.StringVar(&o.tag, "tag", "", "The image tag (default: the version without its leading v, as the chart expects).")
	fs.StringVar(&o.source, "source", "", "The org.opencontainers.image.source label (default: $GITHUB_SERVER_URL/$GITHUB_REPOSITORY when set).")
	fs.StringVar(&o.push, "push", "", "Push the image index to this reference (e.g. ghcr.io/owner/runnerset-apiserver:0.1.0), with the credentials of ~/.docker/config.json.")
}

// complete fills in the defaults and checks the result.
func (o *options) complete(ctx context.Context) error {
	root, err := filepath.Abs(o.root)
	if err != nil {
		return err
	}
	o.root = root
	if _, err := os.Stat(filepath.Join(root, "cmd", "apiserver")); err != nil {
		return fmt.Errorf("--root %s is not the repository root: %w", root, err)
	}
	if o.output == "" {
		o.output = filepath.Join(root, "_output", "image")
	}
	steps := []func(context.Context) error{o.completeVersion, o.completeCommit, o.completeCreated, o.completeName, o.warnUncommitted}
	for _, step := range steps {
		if err := step(ctx); err != nil {
			return err
		}
	}
	if o.source == "" && os.Getenv("GITHUB_SERVER_URL") != "" && os.Getenv("GITHUB_REPOSITORY") != "" {
		o.source = os.Getenv("GITHUB_SERVER_URL") + "/" + os.Getenv("GITHUB_REPOSITORY")
	}
	if o.source == "" {
		logf("no --source and no GITHUB_REPOSITORY: the image has no org.opencontainers.image.source label")
	}
	if o.push != "" {
		if _, err := name.ParseReference(o.push, name.StrictValidation); err != nil {
			return fmt.Errorf("--push: %w", err)
		}
	}
	return nil
}

// warnUncommitted says so when the working tree is not the commit: the image is built from
// the tree but labelled with the commit, and will not have the digest a build of the commit
// has. Best effort: a tree without git (a source archive with --commit) is not an error.
func (o *options) warnUncommitted(ctx context.Context) error {
	out, err := git(ctx, o.root, "status", "--porcelain")
	if err == nil && out != "" {
		logf("warning: the working tree has uncommitted changes: they are in the image, labelled revision %s", o.commit)
	}
	return nil
}

// appVersionLine is the Makefile's sed expression for VERSION, as a Go regexp.
var appVersionLine = regexp.MustCompile(`(?m)^appVersion: "(.*)"$`)

func (o *options) completeVersion(context.Context) error {
	if o.version != "" {
		return nil
	}
	chart, err := os.ReadFile(filepath.Join(o.root, "charts", "runnerset-apiserver", "Chart.yaml"))
	if err != nil {
		return err
	}
	m := appVersionLine.FindSubmatch(chart)
	if m == nil {
		return fmt.Errorf("no appVersion line in charts/runnerset-apiserver/Chart.yaml")
	}
	o.version = "v" + string(m[1])
	return nil
}

func (o *options) completeCommit(ctx context.Context) error {
	if o.commit != "" {
		return nil
	}
	out, err := git(ctx, o.root, "rev-parse", "HEAD")
	o.commit = out
	return err
}

// completeCreated fixes the image's timestamps: SOURCE_DATE_EPOCH (the reproducible-builds
// convention) when set, else the commit's committer time, so a rebuild of the same commit gives
// the same digest.
func (o *options) completeCreated(ctx context.Context) error {
	epoch := os.Getenv("SOURCE_DATE_EPOCH")
	if epoch == "" {
		out, err := git(ctx, o.root, "log", "-1", "--format=%ct", o.commit)
		if err != nil {
			return fmt.Errorf("no SOURCE_DATE_EPOCH and no commit time: %w", err)
		}
		epoch = out
	}
	secs, err := strconv.ParseInt(epoch, 10, 64)
	if err != nil {
		return fmt.Errorf("SOURCE_DATE_EPOCH or commit time %q: %w", epoch, err)
	}
	o.created = time.Unix(secs, 0).UTC()
	return nil
}

// completeName defaults the image's name to what the chart installs by default, so an image
// loaded from the tarball (kind load image-archive) is the one `helm install` asks for.
func (o *options) completeName(context.Context) error {
	if o.repository == "" {
		repo, err := chartImageRepository(filepath.Join(o.root, "charts", "runnerset-apiserver", "values.yaml"))
		if err != nil {
			return err
		}
		o.repository = repo
	}
	if o.tag == "" {
		o.tag = strings.TrimPrefix(o.version, "v")
	}
	if _, err := name.NewTag(o.imageName(), name.StrictValidation); err != nil {
		return fmt.Errorf("image name %q: %w", o.imageName(), err)
	}
	return nil
}

// imageName is the image's full name, registry included: containerd records an imported image
// under exactly the name in the archive, and the kubelet asks for the normalized form
// (docker.io/library/x:tag for a bare x:tag).
func (o *options) imageName() string {
	repo := o.repository
	first, _, qualified := strings.Cut(repo, "/")
	if !qualified || (!strings.ContainsAny(first, ".:") && first != "localhost") {
		if !qualified {
			repo = "library/" + repo
		}
		repo = "docker.io/" + repo
	}
	return repo + ":" + o.tag
}

// chartImageRepository reads image.repository from the chart's values.yaml. A line scan is
// enough for this file and spares the module a YAML dependency.
func chartImageRepository(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	inImage := false
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		if line != "" && line[0] != ' ' && line[0] != '#' {
			inImage = line == "image:"
			continue
		}
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "repository:"); ok && inImage {
			return strings.Trim(strings.TrimSpace(v), `"'`), nil
		}
	}
	return "", fmt.Errorf("no image.repository in %s", path)
}

// git runs a read-only git command in dir and returns its trimmed output.
func git(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %w", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out)), nil
}
