//go:build faults

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

// Package faults is the fault, failover and bad-input suite (issue 7): scenarios R1..R6 run on
// the real local system (etcd, kube-apiserver, controller-manager, scheduler, kwok, our server
// behind its APIService), each with a GitHub simulator of its own on 127.0.0.1 and the runner
// emulator, and each ends with the same audit:
//
//   - every queued job completed exactly once (succeeded, handed to one runner);
//   - at no moment more runners than maxRunners (runner pods and GitHub registrations, watched
//     throughout);
//   - nothing left that should not exist: no runner pod, JIT Secret, registration or session
//     beyond the warm pool at rest, and nothing at all once the RunnerSets are deleted;
//   - every RunnerSet's status and conditions true to the final state.
//
// `make test-faults` runs the full forms (-full), `make test` the short ones. Fault rates are
// seeded (-seed) and every wait has a deadline.
package faults

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/klog/v2"

	"actions.dev/runnerset-apiserver/pkg/github/simulator"
	"actions.dev/runnerset-apiserver/pkg/localsystem"
)

var (
	binDir   = flag.String("bin-dir", "", "directory with the built tools and runnerset-apiserver (default: <repo>/_output/bin)")
	keepDir  = flag.Bool("keep", false, "keep the state directory (logs, kubeconfigs) after the run")
	full     = flag.Bool("full", false, "run the full scenarios (make test-faults); without it the short forms (make test)")
	seed     = flag.Int64("seed", 20260701, "seed of the simulators' fault rates and of job durations")
	auditOut = flag.String("audit-file", "", "also append every scenario's audit to this file")

	sys *localsystem.System
	// lb stands in for the server's Service: the APIService reaches whichever replica lives.
	lb *localsystem.Balancer
	// testLog is where the in-process simulators and emulators log (klog), searched by R6.
	testLog string
	// githubCA signs every scenario's simulator's serving certificate; the server trusts it as
	// an operator trusts a GitHub Enterprise Server's CA, and the worlds' RunnerSets name it
	// in githubServerTLS too.
	githubCA *simulator.CA
	// githubCAFile is githubCA's certificate (PEM), the servers' SSL_CERT_FILE.
	githubCAFile string
)

// Leader election of the server, as deployed (the defaults): R2 checks takeover against it.
const (
	leaseDuration = 15 * time.Second
	renewDeadline = 10 * time.Second
	retryPeriod   = 2 * time.Second
)

func repoRoot() string {
	wd, _ := os.Getwd()
	return filepath.Clean(filepath.Join(wd, "..", ".."))
}

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(run(m))
}

func run(m *testing.M) int {
	root := repoRoot()
	if *binDir == "" {
		*binDir = filepath.Join(root, "_output", "bin")
	}
	if err := os.MkdirAll(filepath.Join(root, "_output"), 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	dir, err := os.MkdirTemp(filepath.Join(root, "_output"), "faults-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// The simulators and emulators run in this process; their klog output goes to a file, which
	// R6 searches for credentials like the components' logs.
	if err := os.MkdirAll(filepath.Join(dir, "logs"), 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	testLog = filepath.Join(dir, "logs", "test-process.log")
	logFile, err := os.Create(testLog)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer logFile.Close()
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	_ = fs.Set("logtostderr", "false")
	_ = fs.Set("alsologtostderr", "false")
	_ = fs.Set("stderrthreshold", "FATAL")
	_ = fs.Set("v", "2")
	klog.SetOutput(logFile)
	defer klog.Flush()

	// The local system is started without the in-process Data dir of an earlier run: MkdirTemp
	// gave a fresh one.
	if githubCA, err = simulator.NewCA(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	githubCAFile = filepath.Join(dir, "github-ca.crt")
	if err := os.WriteFile(githubCAFile, githubCA.CertPEM(), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	start := time.Now()
	sys, err = localsystem.Start(ctx, localsystem.Options{
		BinDir: *binDir,
		Dir:    dir,
		Server: &localsystem.ServerOptions{
			Binary:       filepath.Join(*binDir, "runnerset-apiserver"),
			ManifestsDir: filepath.Join(root, "artifacts", "example"),
			Args: []string{
				"-v=2",
				"--leader-elect-lease-duration=" + leaseDuration.String(),
				"--leader-elect-renew-deadline=" + renewDeadline.String(),
				"--leader-elect-retry-period=" + retryPeriod.String(),
				// A RunnerSet deleted while GitHub is down finishes within this.
				"--github-give-up=45s",
			},
			Env: []string{"SSL_CERT_FILE=" + githubCAFile},
		},
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "starting the local system: %v\n", err)
		return 1
	}
	defer sys.Stop()
	if lb, err = sys.ServeThroughBalancer(ctx, filepath.Join(root, "artifacts", "example")); err != nil {
		fmt.Fprintf(os.Stderr, "putting the server behind a balancer: %v\n", err)
		return 1
	}
	defer lb.Close()
	if err := sys.ApplyFile(ctx, filepath.Join(root, "artifacts", "example", "team-bindings.yaml")); err != nil {
		fmt.Fprintf(os.Stderr, "applying team bindings: %v\n", err)
		return 1
	}
	form := "short"
	if *full {
		form = "full"
	}
	fmt.Printf("local system up in %s (state in %s); %s forms, seed %d\n", time.Since(start).Round(time.Millisecond), dir, form, *seed)

	code := m.Run()
	select {
	case err := <-sys.Failed():
		fmt.Fprintf(os.Stderr, "a component died on its own during the run: %v\n", err)
		code = 1
	default:
	}
	if code != 0 || *keepDir {
		fmt.Printf("logs kept in %s/logs\n", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	return code
}

// pick returns the full or the short value.
func pick[T any](fullValue, shortValue T) T {
	if *full {
		return fullValue
	}
	return shortValue
}

// report prints an audit (and appends it to -audit-file).
func report(t *testing.T, text string) {
	t.Helper()
	text = strings.TrimRight(text, "\n") + "\n"
	fmt.Print(text)
	if *auditOut != "" {
		f, err := os.OpenFile(*auditOut, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			t.Errorf("writing the audit file: %v", err)
			return
		}
		defer f.Close()
		_, _ = f.WriteString(text)
	}
}
