//go:build e2e

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

// Package e2e runs the real system: etcd, kube-apiserver, controller-manager, scheduler and kwok
// built from pinned sources, our aggregated server registered through an APIService, and the
// real kubectl. It uses the same start-up code as `make run`.
package e2e

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	clientset "actions.dev/runnerset-apiserver/pkg/generated/clientset/versioned"
	"actions.dev/runnerset-apiserver/pkg/github/simulator"
	"actions.dev/runnerset-apiserver/pkg/localsystem"
	"actions.dev/runnerset-apiserver/pkg/runneremulator"
)

var (
	binDir  = flag.String("bin-dir", "", "directory with the built tools and runnerset-apiserver (default: <repo>/_output/bin)")
	keepDir = flag.Bool("keep", false, "keep the state directory (logs, kubeconfigs) after the run")

	sys *localsystem.System
	// gh is GitHub for this run: the simulator, on loopback, in this process.
	gh *simulator.Simulator
	// ghCAFile is the simulator's CA certificate (PEM).
	ghCAFile string
	// e2eAppKey is the private key of the run's GitHub App (PEM).
	e2eAppKey = func() []byte {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	}()
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
	dir, err := os.MkdirTemp(filepath.Join(root, "_output"), "e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// GitHub over HTTPS, its REST API, Actions Service and broker on hosts of their own.
	gh, err = simulator.Start(simulator.Options{
		Listen: localsystem.GitHubListen, ServiceListen: localsystem.GitHubServiceListen, BrokerListen: localsystem.GitHubBrokerListen,
		TLS: true, SeparateHosts: true, LongPollHold: 2 * time.Second, AssignTimeout: time.Minute,
		// GitHub fails the job of a runner that vanished ~10 minutes later; tests that delete a
		// busy runner wait seconds.
		RunnerLostTimeout: 5 * time.Second,
		Apps: []simulator.App{{
			AppID: e2eAppID, ClientID: e2eAppClientID, PrivateKeyPEM: e2eAppKey,
			Installations: []simulator.Installation{{ID: e2eAppInstallation, Account: e2eAppElsewhere}},
		}},
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "starting the GitHub simulator: %v\n", err)
		return 1
	}
	defer gh.Close()
	ghCAFile = filepath.Join(dir, "github-ca.crt")
	if err := os.WriteFile(ghCAFile, gh.CACertPEM(), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	start := time.Now()
	sys, err = localsystem.Start(ctx, localsystem.Options{
		BinDir: *binDir,
		Dir:    dir,
		Server: &localsystem.ServerOptions{
			Binary:       filepath.Join(*binDir, "runnerset-apiserver"),
			ManifestsDir: filepath.Join(root, "artifacts", "example"),
			// github.com too, with its companions (api., the Actions Service and the broker): one
			// test reaches the simulator by GitHub's names through a proxy.
			Args: []string{"-v=2", "--allowed-github-hosts=github.com"},
			// The server trusts the simulator's CA as an operator trusts a GitHub Enterprise
			// Server's; RunnerSets with githubServerTLS trust only their own CA.
			Env: []string{"SSL_CERT_FILE=" + ghCAFile},
		},
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "starting the local system: %v\n", err)
		return 1
	}
	fmt.Printf("local system up in %s (state in %s)\n", time.Since(start).Round(time.Millisecond), dir)
	if err := sys.ApplyFile(ctx, filepath.Join(root, "artifacts", "example", "team-bindings.yaml")); err != nil {
		fmt.Fprintf(os.Stderr, "applying team bindings: %v\n", err)
		sys.Stop()
		return 1
	}
	// Runner pods get runner processes from the emulator: no container runs on kwok's node.
	emu, err := runneremulator.New(runneremulator.Config{Client: sys.AdminClient(), Runners: gh})
	if err != nil {
		fmt.Fprintf(os.Stderr, "runner emulator: %v\n", err)
		sys.Stop()
		return 1
	}
	emuCtx, stopEmu := context.WithCancel(context.Background())
	emuDone := make(chan struct{})
	go func() { defer close(emuDone); _ = emu.Run(emuCtx) }()
	code := m.Run()
	stopEmu()
	<-emuDone
	sys.Stop()
	if code != 0 {
		fmt.Printf("logs kept in %s/logs\n", dir)
	} else if !*keepDir {
		os.RemoveAll(dir)
	}
	return code
}

// kubectl runs the real kubectl as user and fails the test on error.
func kubectl(t *testing.T, user string, args ...string) string {
	t.Helper()
	out, errOut, err := sys.Kubectl(context.Background(), user, args...)
	require.NoError(t, err, "kubectl %s\nstdout: %s\nstderr: %s", strings.Join(args, " "), out, errOut)
	return out
}

// kubectlFails runs kubectl expecting failure and returns its stderr.
func kubectlFails(t *testing.T, user string, args ...string) string {
	t.Helper()
	out, errOut, err := sys.Kubectl(context.Background(), user, args...)
	require.Error(t, err, "kubectl %s should fail\nstdout: %s", strings.Join(args, " "), out)
	return errOut
}

// kubectlStdin runs kubectl with input on stdin.
func kubectlStdin(user, stdin string, args ...string) (string, string, error) {
	return sys.KubectlWithInput(context.Background(), user, stdin, args...)
}

func actionsClient(t *testing.T, user string) clientset.Interface {
	t.Helper()
	c, err := clientset.NewForConfig(sys.RESTConfig(user))
	require.NoError(t, err)
	return c
}

func kubeClient(t *testing.T, user string) kubernetes.Interface {
	t.Helper()
	c, err := kubernetes.NewForConfig(sys.RESTConfig(user))
	require.NoError(t, err)
	return c
}

// eventually polls cond every 100ms until it holds or the deadline passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, timeout, true, cond)
	require.NoError(t, err, "waiting for %s", what)
}

// namespace creates a fresh namespace for one test and deletes it afterwards.
func namespace(t *testing.T, name string) string {
	t.Helper()
	require.NoError(t, sys.EnsureNamespace(context.Background(), name))
	t.Cleanup(func() {
		_, _, _ = sys.Kubectl(context.Background(), "admin", "delete", "namespace", name, "--wait=false")
	})
	return name
}

// samplesForSimulator copies the sample RunnerSets with github.com replaced by the simulator.
func samplesForSimulator(t *testing.T) string {
	t.Helper()
	src := filepath.Join(repoRoot(), "artifacts", "example", "runnersets")
	dst := t.TempDir()
	entries, err := os.ReadDir(src)
	require.NoError(t, err)
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		require.NoError(t, err)
		data = []byte(strings.ReplaceAll(string(data), "https://github.com/", gh.URL()+"/"))
		for _, m := range regexp.MustCompile(`githubConfigUrl: (\S+)`).FindAllStringSubmatch(string(data), -1) {
			require.NoError(t, gh.DeclareAccount(strings.Trim(strings.TrimPrefix(m[1], gh.URL()), "/")))
		}
		require.NoError(t, os.WriteFile(filepath.Join(dst, e.Name()), data, 0o644))
	}
	return dst
}

// settled waits until the scaler has acted on the RunnerSet's current generation, so a test
// that updates it next does not race the scaler's status write.
func settled(t *testing.T, ns, name string) *v1alpha1.RunnerSet {
	t.Helper()
	var rs *v1alpha1.RunnerSet
	eventually(t, 30*time.Second, "RunnerSet "+ns+"/"+name+" to settle", func(ctx context.Context) (bool, error) {
		got, err := actionsClient(t, "admin").ActionsV1alpha1().RunnerSets(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		rs = got
		return got.Status.ObservedGeneration == got.Generation &&
			meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionReady) != nil &&
			meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionGitHubAuthenticated) != nil, nil
	})
	return rs
}
