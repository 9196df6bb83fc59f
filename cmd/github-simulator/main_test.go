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
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"actions.dev/runnerset-apiserver/pkg/github/simulator"
	"actions.dev/runnerset-apiserver/pkg/runneremulator"
)

func parse(t *testing.T, args ...string) options {
	t.Helper()
	var o options
	if err := newFlagSet(&o, &bytes.Buffer{}).Parse(args); err != nil {
		t.Fatal(err)
	}
	return o
}

func TestHelpDocumentsFlagsAndControlAPI(t *testing.T) {
	var o options
	var out bytes.Buffer
	err := newFlagSet(&o, &out).Parse([]string{"--help"})
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("--help: %v", err)
	}
	for _, want := range []string{"--listen", "--pat", "--long-poll-hold", "--kubeconfig", "--emulate-runners",
		"--session-idle-timeout", "--runner-lost-timeout", "runnerLostTimeout", "attempts", "--min-runner-version", "--runner-version", "/_sim/jobs", "/_sim/faults", "/_sim/counters", "/_sim/settings", "curl", "GetMessage", "exit-code"} {
		if !strings.Contains(out.String(), strings.TrimPrefix(want, "-")) {
			t.Errorf("--help lacks %q", want)
		}
	}
}

// TestSessionIdleTimeoutFlag: the flag reaches the simulator; its default is the simulator's.
func TestSessionIdleTimeoutFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want time.Duration
	}{
		{nil, simulator.DefaultSessionIdleTimeout},
		{[]string{"--session-idle-timeout", "90s"}, 90 * time.Second},
		{[]string{"--session-idle-timeout", "-1s"}, -time.Second},
	} {
		o := parse(t, tc.args...)
		so, err := o.simulatorOptions()
		if err != nil || so.SessionIdleTimeout != tc.want {
			t.Errorf("%v: SessionIdleTimeout %s (%v), want %s", tc.args, so.SessionIdleTimeout, err, tc.want)
		}
	}
	o := parse(t, "--listen", "127.0.0.1:0", "--session-idle-timeout", "90s")
	so, err := o.simulatorOptions()
	if err != nil {
		t.Fatal(err)
	}
	sim, err := simulator.Start(so)
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	cc, err := simulator.NewControlClientTLS(sim.URL(), sim.CACertPEM()) // --tls is the default
	if err != nil {
		t.Fatal(err)
	}
	if s, err := cc.Settings(); err != nil || s.SessionIdleTimeout != 90*time.Second {
		t.Errorf("settings of the started simulator %+v, %v", s, err)
	}
}

// TestRunnerLostTimeoutFlag: the flag reaches the simulator; its default is the simulator's.
func TestRunnerLostTimeoutFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want time.Duration
	}{
		{nil, simulator.DefaultRunnerLostTimeout},
		{[]string{"--runner-lost-timeout", "30s"}, 30 * time.Second},
		{[]string{"--runner-lost-timeout", "-1s"}, -time.Second},
	} {
		o := parse(t, tc.args...)
		so, err := o.simulatorOptions()
		if err != nil || so.RunnerLostTimeout != tc.want {
			t.Errorf("%v: RunnerLostTimeout %s (%v), want %s", tc.args, so.RunnerLostTimeout, err, tc.want)
		}
	}
}

// TestRunnerVersionFlags: the simulator's minimum and the emulator's version reach them.
func TestRunnerVersionFlags(t *testing.T) {
	o := parse(t)
	so, err := o.simulatorOptions()
	if err != nil || so.MinRunnerVersion != "2.329.0" || o.emulatorConfig(nil, nil).RunnerVersion != runneremulator.DefaultRunnerVersion {
		t.Errorf("defaults: minimum %q (%v), runner version %q", so.MinRunnerVersion, err, o.emulatorConfig(nil, nil).RunnerVersion)
	}
	o = parse(t, "--listen", "127.0.0.1:0", "--min-runner-version", "2.331.0", "--runner-version", "2.328.0")
	if v := o.emulatorConfig(nil, nil).RunnerVersion; v != "2.328.0" {
		t.Errorf("--runner-version reached the emulator as %q", v)
	}
	so, _ = o.simulatorOptions()
	sim, err := simulator.Start(so)
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	if got := sim.MinRunnerVersion(); got != "2.331.0" {
		t.Errorf("--min-runner-version reached the simulator as %q", got)
	}
	if err := run(t.Context(), parse(t, "--listen", "127.0.0.1:0", "--min-runner-version", "new"), &bytes.Buffer{}); err == nil {
		t.Error("an invalid --min-runner-version was accepted")
	}
}

func TestValidate(t *testing.T) {
	for _, args := range [][]string{
		{"--listen", "0.0.0.0:8090"},
		{"--listen", ":8090"},
		{"--listen", "10.1.2.3:80"},
		{"--emulate-runners"},
		{"--kubeconfig", "x"},
	} {
		o := parse(t, args...)
		if err := run(t.Context(), o, &bytes.Buffer{}); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
	if _, err := (&options{apps: []string{"1:2"}}).simulatorOptions(); err == nil {
		t.Error("a malformed --app was accepted")
	}
}

// syncBuffer is a bytes.Buffer safe to read while run writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func TestServesUntilCanceled(t *testing.T) {
	urlFile := filepath.Join(t.TempDir(), "url")
	o := parse(t, "--listen", "127.0.0.1:0", "--pat", "ghp_one", "--pat", "ghp_two", "--url-file", urlFile, "--long-poll-hold", "1s")
	ctx, cancel := context.WithCancel(t.Context())
	var out syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, o, &out) }()

	var url string
	if err := wait.PollUntilContextTimeout(t.Context(), 10*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		b, err := os.ReadFile(urlFile)
		url = strings.TrimSpace(string(b))
		return err == nil && url != "", nil
	}); err != nil {
		t.Fatal("no URL written")
	}
	// --tls is the default; the CA is next to the URL file.
	ca, err := os.ReadFile(filepath.Join(filepath.Dir(urlFile), caFileName))
	if err != nil {
		t.Fatal(err)
	}
	cc, err := simulator.NewControlClientTLS(url, ca)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cc.QueueJob(simulator.Job{Labels: []string{"linux"}, Owner: "acme", Repository: "app"}); err != nil {
		t.Fatal(err)
	}
	if c, err := cc.Counters(); err != nil || c.Total != 0 {
		t.Errorf("counters %+v, %v", c, err)
	}
	if err := wait.PollUntilContextTimeout(t.Context(), 10*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		return strings.Contains(out.String(), url+"/acme/app"), nil
	}); err != nil {
		t.Errorf("banner: %s", out.String())
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return")
	}
}
