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

package simulator

import (
	"errors"
	"net/http"
	"strconv"
	"testing"
)

// TestRunnerVersionFloor: a JIT runner older than the minimum version (default 2.329.0) is
// refused when it connects; its registration stays, offline.
func TestRunnerVersionFloor(t *testing.T) {
	sim := newSim(t, Options{})
	tc := register(t, sim, "acme")
	rs := tc.createScaleSet("linux")
	for i, c := range []struct {
		version string
		refused bool
	}{
		{"2.328.0", true},
		{"v2.328.9", true},
		{"latest", true},
		{"2.329.0", false},
		{"v2.330.1", false},
		{"", false}, // not reported: not checked
	} {
		jit := tc.generateJIT(rs.ID, "runner-"+strconv.Itoa(i))
		info, err := sim.ConnectRunnerVersion(jit.EncodedJITConfig, c.version)
		if !c.refused {
			if err != nil || !info.Online {
				t.Errorf("%q: %+v, %v; want online", c.version, info, err)
			}
			continue
		}
		var tooOld *RunnerVersionError
		if !errors.Is(err, ErrRunnerVersionTooOld) || !errors.As(err, &tooOld) || tooOld.Minimum != "2.329.0" {
			t.Errorf("%q: %v, want a RunnerVersionError naming 2.329.0", c.version, err)
		}
		for _, r := range sim.Runners() {
			if r.ID == jit.Runner.ID && r.Online {
				t.Errorf("%q: the refused runner is online", c.version)
			}
		}
	}
	_, err := sim.ConnectRunnerVersion(tc.generateJIT(rs.ID, "old").EncodedJITConfig, "2.328.0")
	if want := "Runner version v2.328.0 is deprecated and cannot receive messages. The minimum supported runner version is v2.329.0."; err == nil || err.Error() != want {
		t.Errorf("refusal %q, want %q", err, want)
	}
	if s := stats(t, sim, rs.ID); s.TotalRegisteredRunners != 7 || s.TotalIdleRunners != 7 {
		t.Errorf("refused runners stay registered: %+v", s)
	}
}

func TestRunnerVersionFloorIsConfigurable(t *testing.T) {
	if _, err := Start(Options{MinRunnerVersion: "two"}); err == nil {
		t.Fatal("an invalid MinRunnerVersion was accepted")
	}
	sim := newSim(t, Options{MinRunnerVersion: "2.331.0"})
	tc := register(t, sim, "acme")
	rs := tc.createScaleSet("linux")
	cc := NewControlClient(sim.URL())

	// Over the control API, as the emulator of another process sees it.
	_, err := cc.ConnectRunnerVersion(tc.generateJIT(rs.ID, "a").EncodedJITConfig, "2.330.0")
	var tooOld *RunnerVersionError
	if !errors.As(err, &tooOld) || tooOld.Version != "2.330.0" || tooOld.Minimum != "2.331.0" || !errors.Is(err, ErrRunnerVersionTooOld) {
		t.Fatalf("ConnectRunnerVersion = %v, want the refusal", err)
	}
	r := call(t, "POST", sim.URL()+"/_sim/runners/connect", "", `{"encodedJITConfig":"x","version":"2.330.0"}`)
	wantStatus(t, r, http.StatusNotFound) // an unknown config is unknown first

	// Lowered while running.
	if s, err := cc.UpdateSettings(Settings{MinRunnerVersion: "0.0.0"}); err != nil || s.MinRunnerVersion != "0.0.0" {
		t.Fatalf("UpdateSettings = %+v, %v", s, err)
	}
	if info, err := cc.ConnectRunnerVersion(tc.generateJIT(rs.ID, "b").EncodedJITConfig, "2.300.0"); err != nil || !info.Online {
		t.Fatalf("after lowering the minimum: %+v, %v", info, err)
	}
	if _, err := cc.UpdateSettings(Settings{MinRunnerVersion: "soon"}); err == nil {
		t.Error("an invalid minimum was accepted")
	}
	if got := sim.MinRunnerVersion(); got != "0.0.0" {
		t.Errorf("an invalid update changed the minimum to %s", got)
	}
	if d := newSim(t, Options{}).MinRunnerVersion(); d != "2.329.0" {
		t.Errorf("default minimum %s", d)
	}
}
