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

// Command local-up is the body of `make run`: it starts a local control plane on 127.0.0.1
// with the runnerset-apiserver registered as an aggregated API, sets up two team namespaces,
// applies the sample RunnerSets, prints how to use it, and stops everything on SIGINT or
// SIGTERM. Nothing it starts outlives it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	"k8s.io/klog/v2"

	"actions.dev/runnerset-apiserver/pkg/github/simulator"
	"actions.dev/runnerset-apiserver/pkg/localsystem"
)

// markerFile marks a directory as local-up's own, so that --dir never wipes a directory that
// merely happens to be named on the command line.
const markerFile = ".local-up"

type options struct {
	binDir          string
	dir             string
	serverBinary    string
	simulatorBinary string
	manifests       string
	samples         string
	extraArgs       string
}

func main() {
	o := options{}
	fs := flag.NewFlagSet(os.Args[0], flag.ExitOnError)
	fs.StringVar(&o.binDir, "bin-dir", "_output/bin", "directory of the control-plane binaries built by hack/tools/build.sh")
	fs.StringVar(&o.dir, "dir", "_output/local", "state directory (PKI, etcd data, logs, kubeconfigs); wiped at start")
	fs.StringVar(&o.serverBinary, "server-binary", "_output/bin/runnerset-apiserver", "the built runnerset-apiserver; empty starts the control plane only")
	fs.StringVar(&o.manifests, "manifests", "artifacts/example", "directory of the example manifests (RBAC, APIService, team bindings)")
	fs.StringVar(&o.samples, "samples", "artifacts/example/runnersets", "directory of YAML applied once everything is up; skipped if absent")
	fs.StringVar(&o.simulatorBinary, "simulator-binary", "_output/bin/github-simulator", "the built github-simulator, GitHub for the local system; empty starts none")
	fs.StringVar(&o.extraArgs, "extra-args", "", "space-separated extra flags for the runnerset-apiserver, e.g. \"--v=4\" (no quoting)")
	klog.InitFlags(fs)
	_ = fs.Parse(os.Args[1:])

	// Components run from the state directory: every path must be absolute.
	for _, p := range []*string{&o.binDir, &o.dir, &o.serverBinary, &o.simulatorBinary, &o.manifests, &o.samples} {
		if *p != "" {
			if abs, err := filepath.Abs(*p); err == nil {
				*p = abs
			}
		}
	}
	if err := run(o, os.Stdout); err != nil {
		klog.ErrorS(err, "local-up failed")
		klog.Flush()
		os.Exit(1)
	}
	klog.Flush()
}

func run(o options, out io.Writer) error {
	ctx, stopSignals := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stopSignals()

	if err := resetDir(o.dir); err != nil {
		return err
	}
	opts := localsystem.Options{BinDir: o.binDir, Dir: o.dir}
	if o.simulatorBinary != "" {
		// As on GitHub, only the accounts the samples use exist; a RunnerSet naming another
		// one gets GitHub's 404 (declare it: POST /_sim/accounts).
		opts.Simulator = &localsystem.SimulatorOptions{Binary: o.simulatorBinary, Args: []string{"--any-account=false"}}
	}
	if o.serverBinary != "" {
		opts.Server = &localsystem.ServerOptions{
			Binary:       o.serverBinary,
			Args:         strings.Fields(o.extraArgs),
			ManifestsDir: o.manifests,
		}
	}

	begin := time.Now()
	s, err := localsystem.Start(ctx, opts)
	if err != nil {
		if ctx.Err() != nil {
			klog.InfoS("Interrupted while starting; everything started so far is stopped")
			return nil
		}
		return fmt.Errorf("starting the local system: %w", err)
	}
	defer s.Stop()

	if err := s.ApplyFile(ctx, filepath.Join(o.manifests, "team-bindings.yaml")); err != nil {
		return err
	}
	if opts.Server != nil {
		if _, err := os.Stat(o.samples); err == nil {
			if err := applySamples(ctx, s, o.samples); err != nil {
				return fmt.Errorf("applying samples: %w", err)
			}
		} else {
			klog.InfoS("No samples to apply", "dir", o.samples)
		}
	}
	printUsage(out, s, opts.Server != nil, time.Since(begin))

	select {
	case <-ctx.Done():
		// A second Ctrl-C now kills local-up at once; the kernel then kills the components
		// (parent-death signal), so nothing is left behind either way.
		stopSignals()
		klog.InfoS("Stopping the local system")
		return nil
	case err := <-s.Failed():
		return err
	}
}

// applySamples applies the sample manifests. They name github.com, as a user's would; here
// GitHub is the simulator, so its URL takes github.com's place.
func applySamples(ctx context.Context, s *localsystem.System, dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.IsDir() || !(strings.HasSuffix(e.Name(), ".yaml") || strings.HasSuffix(e.Name(), ".yml")) {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return err
		}
		if url := s.SimulatorURL(); url != "" {
			data = []byte(strings.ReplaceAll(string(data), "https://github.com/", url+"/"))
			if err := declareAccounts(s, string(data)); err != nil {
				return fmt.Errorf("%s: %w", e.Name(), err)
			}
		}
		if err := s.Apply(ctx, data); err != nil {
			return fmt.Errorf("%s: %w", e.Name(), err)
		}
	}
	return nil
}

// configURLs finds the githubConfigUrl values of YAML manifests.
var configURLs = regexp.MustCompile(`(?m)^\s*githubConfigUrl:\s*"?([^"\s]+)"?\s*$`)

// declareAccounts declares on the simulator the organizations and repositories the samples
// name, as their owners would have created them on GitHub.
func declareAccounts(s *localsystem.System, manifests string) error {
	ca, err := os.ReadFile(s.SimulatorCAFile())
	if err != nil {
		return fmt.Errorf("reading the simulator's CA: %w", err)
	}
	cc, err := simulator.NewControlClientTLS(s.SimulatorURL(), ca)
	if err != nil {
		return err
	}
	for _, m := range configURLs.FindAllStringSubmatch(manifests, -1) {
		path := strings.Trim(strings.TrimPrefix(m[1], s.SimulatorURL()), "/")
		if err := cc.DeclareAccount(path); err != nil {
			return fmt.Errorf("declaring %s on the simulator: %w", path, err)
		}
	}
	return nil
}

// resetDir empties dir, refusing to touch a non-empty directory that local-up did not create.
func resetDir(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return fmt.Errorf("reading --dir: %w", err)
	case len(entries) > 0:
		if _, err := os.Stat(filepath.Join(dir, markerFile)); err != nil {
			return fmt.Errorf("--dir %s is not empty and was not created by local-up; refusing to wipe it", dir)
		}
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("wiping --dir: %w", err)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating --dir: %w", err)
	}
	return os.WriteFile(filepath.Join(dir, markerFile), nil, 0o644)
}

func printUsage(out io.Writer, s *localsystem.System, withServer bool, took time.Duration) {
	alice := displayPath(s.Kubeconfig(localsystem.UserAlice))
	bob := displayPath(s.Kubeconfig(localsystem.UserBob))
	fmt.Fprintf(out, "\nLocal system up in %s: kube-apiserver at %s", took.Round(100*time.Millisecond), s.APIServerURL())
	if withServer {
		fmt.Fprintf(out, ", runnerset-apiserver on 127.0.0.1:%d", s.ServerPort())
	}
	fmt.Fprintf(out, "\n\n")
	fmt.Fprintf(out, "  export KUBECONFIG=%s\n", s.Kubeconfig(localsystem.UserAdmin))
	fmt.Fprintf(out, "  export PATH=%s:$PATH   # kubectl and helm matching the cluster\n\n", s.BinDir())
	fmt.Fprintf(out, "Try:\n")
	if withServer {
		fmt.Fprintf(out, "  kubectl get runnersets -A\n")
		fmt.Fprintf(out, "  kubectl --kubeconfig=%s get runnersets -n team-a\n", alice)
		fmt.Fprintf(out, "  kubectl --kubeconfig=%s get runnersets -n team-a   # Forbidden: bob edits team-b only\n", bob)
		fmt.Fprintf(out, "  kubectl --kubeconfig=%s edit runnerset linux-small -n team-a   # carol edits counts only: a new image is refused\n",
			displayPath(s.Kubeconfig(localsystem.UserCarol)))
		fmt.Fprintf(out, "  kubectl explain runnerset.spec\n")
		if url := s.SimulatorURL(); url != "" {
			fmt.Fprintf(out, "\nGitHub is the simulator at %s over HTTPS (the samples point there; its CA: %s).\n", url, displayPath(s.SimulatorCAFile()))
			fmt.Fprintf(out, "  make demo JOBS=20                        # queue 20 jobs on team-a/linux-small\n")
			fmt.Fprintf(out, "  kubectl get runners -A -w                # watch runners come, take jobs and go\n")
		}
	} else {
		fmt.Fprintf(out, "  kubectl get nodes\n")
		fmt.Fprintf(out, "  kubectl --kubeconfig=%s get pods -n kube-system   # Forbidden\n", alice)
	}
	fmt.Fprintf(out, "\nLogs: %s\nPress Ctrl-C to stop.\n", filepath.Dir(s.LogFile("etcd")))
}

// displayPath shortens path relative to the working directory when it lies below it.
func displayPath(path string) string {
	wd, err := os.Getwd()
	if err != nil {
		return path
	}
	rel, err := filepath.Rel(wd, path)
	if err != nil || strings.HasPrefix(rel, "..") {
		return path
	}
	return rel
}
