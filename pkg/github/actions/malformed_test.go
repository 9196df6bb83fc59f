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

package actions_test

import (
	"errors"
	"strings"
	"testing"

	"actions.dev/runnerset-apiserver/pkg/github/actions"
	"actions.dev/runnerset-apiserver/pkg/github/actions/httpretry"
	"actions.dev/runnerset-apiserver/pkg/github/simulator"
)

// TestContractMalformedMessages: whatever the long poll answers with a 200 that is not a message
// (truncated, not JSON, the wrong JSON, too large) is ErrMalformedMessage, and the session goes on
// working: the caller can skip it and poll again.
func TestContractMalformedMessages(t *testing.T) {
	sim := startSim(t, simulator.Options{})
	e := newEnv(t, sim, "acme")
	g, err := e.client.GetRunnerGroupByName(ctxT(t), "")
	if err != nil {
		t.Fatal(err)
	}
	ss, err := e.client.CreateScaleSet(ctxT(t), &actions.RunnerScaleSet{Name: "linux", RunnerGroupID: g.ID})
	if err != nil {
		t.Fatal(err)
	}
	s, err := actions.OpenSession(ctxT(t), e.client, ss.ID, "me")
	if err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{
		"truncated": `{"messageId":1,"messageType":"RunnerScaleSetJobMessages","body":"[{\"mess`,
		"not JSON":  `<html>502</html>`,
		"array":     `[1,2,3]`,
		"too large": `{"body":"` + strings.Repeat("A", httpretry.MaxBodyBytes) + `"}`,
	} {
		sim.InjectFault(simulator.Fault{Endpoint: simulator.EPGetMessage, Body: body, Count: 1})
		_, err := s.GetMessage(ctxT(t), 0, 5)
		if !errors.Is(err, actions.ErrMalformedMessage) {
			t.Errorf("%s: %v, want ErrMalformedMessage", name, err)
		}
		if m, err := s.GetMessage(ctxT(t), 0, 5); err != nil || m != nil {
			t.Errorf("%s: the next poll: %v %v, want a 202", name, m, err)
		}
	}
}
