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
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"
)

// wireDir holds the protocol reference's payloads. The Actions client's tests read them too:
// both sides are pinned to the reference, not to each other.
const wireDir = "testdata/wire"

// goldenTypes is the simulator's wire type of every golden payload.
var goldenTypes = map[string]func() any{
	"scale-set-create.json":            func() any { return new(RunnerScaleSet) },
	"scale-set.json":                   func() any { return new(RunnerScaleSet) },
	"session-create.json":              func() any { return new(SessionRequest) },
	"session.json":                     func() any { return new(Session) },
	"message.json":                     func() any { return new(Message) },
	"job-available.json":               func() any { return new(JobMessage) },
	"job-assigned.json":                func() any { return new(JobMessage) },
	"job-started.json":                 func() any { return new(JobMessage) },
	"job-completed.json":               func() any { return new(JobMessage) },
	"statistics.json":                  func() any { return new(Statistics) },
	"runner-groups.json":               func() any { return new(List[RunnerGroup]) },
	"jit-config-request.json":          func() any { return new(JITRunnerSetting) },
	"jit-config.json":                  func() any { return new(JITConfig) },
	"acquire-jobs-request.json":        func() any { return new([]int64) },
	"acquire-jobs.json":                func() any { return new(List[int64]) },
	"runner-registration-request.json": func() any { return new(RunnerRegistrationRequest) },
	"runner-registration.json":         func() any { return new(RunnerRegistration) },
}

func readWire(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(wireDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// decodeStrict decodes b into v, failing on a field v does not know.
func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// sameJSON compares two JSON documents as values, not bytes.
func sameJSON(t *testing.T, what string, got, want []byte) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s:\n got %s\nwant %s", what, compact(got), compact(want))
	}
}

func compact(b []byte) string {
	var buf bytes.Buffer
	if json.Compact(&buf, b) != nil {
		return string(b)
	}
	return buf.String()
}

// TestWireTypesRoundTripGoldenPayloads: every golden payload decodes into the simulator's
// wire type with no field unknown to it and encodes back to the same JSON, so no field is
// misnamed, dropped or added.
func TestWireTypesRoundTripGoldenPayloads(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(wireDir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden payloads in %s: %v", wireDir, err)
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			newV, ok := goldenTypes[name]
			if !ok {
				t.Fatalf("no wire type for %s: add it to goldenTypes", name)
			}
			raw := readWire(t, name)
			v := newV()
			if err := decodeStrict(raw, v); err != nil {
				t.Fatalf("decoding: %v", err)
			}
			out, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			sameJSON(t, name, out, raw)
		})
	}
}

// TestGoldenMessageBodyIsDoubleEncoded: a message's body is a JSON array in a string, whose
// elements are the golden job messages.
func TestGoldenMessageBodyIsDoubleEncoded(t *testing.T) {
	var m Message
	if err := decodeStrict(readWire(t, "message.json"), &m); err != nil {
		t.Fatal(err)
	}
	var elems []json.RawMessage
	if err := json.Unmarshal([]byte(m.Body), &elems); err != nil {
		t.Fatalf("body is not a JSON array in a string: %v", err)
	}
	names := []string{"job-available.json", "job-assigned.json", "job-started.json", "job-completed.json"}
	types := []string{MessageJobAvailable, MessageJobAssigned, MessageJobStarted, MessageJobCompleted}
	if len(elems) != len(names) {
		t.Fatalf("%d job messages in the body, want %d", len(elems), len(names))
	}
	for i, name := range names {
		sameJSON(t, "body["+strconv.Itoa(i)+"]", elems[i], readWire(t, name))
		var jm JobMessage
		if err := decodeStrict(elems[i], &jm); err != nil || jm.MessageType != types[i] {
			t.Errorf("body[%d]: messageType %q (%v), want %q", i, jm.MessageType, err, types[i])
		}
	}
	if m.MessageType != MessageTypeJobMessages {
		t.Errorf("messageType %q", m.MessageType)
	}
}

// fieldPaths collects the field paths of a JSON value: "a.b", "a.list[].c".
func fieldPaths(prefix string, v any, out map[string]bool) {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			out[prefix+"."+k] = true
			fieldPaths(prefix+"."+k, e, out)
		}
	case []any:
		for _, e := range v {
			fieldPaths(prefix+"[]", e, out)
		}
	}
}

// sameFields checks that a served answer has exactly the fields of a golden payload.
func sameFields(t *testing.T, name string, served []byte) {
	t.Helper()
	paths := func(b []byte) []string {
		var v any
		if err := json.Unmarshal(bytes.TrimPrefix(b, bom), &v); err != nil {
			t.Fatalf("%s: %v in %s", name, err, b)
		}
		m := map[string]bool{}
		fieldPaths("", v, m)
		var out []string
		for p := range m {
			out = append(out, p)
		}
		slices.Sort(out)
		return out
	}
	if got, want := paths(served), paths(readWire(t, name)); !slices.Equal(got, want) {
		t.Errorf("the simulator's answer has other fields than %s:\n got %v\nwant %v", name, got, want)
	}
}

// TestServedAnswersHaveTheGoldenFields: what the simulator answers on the wire has the fields
// of the golden payloads, no more, no fewer (the values are its own).
func TestServedAnswersHaveTheGoldenFields(t *testing.T) {
	sim := newSim(t, Options{LongPollHold: 2 * time.Second})
	configURL := sim.ConfigURL("acme/app")
	r := call(t, "POST", sim.URL()+"/api/v3/repos/acme/app/actions/runners/registration-token", "Bearer "+DefaultPAT, nil)
	wantStatus(t, r, http.StatusCreated)
	var reg struct{ Token string }
	r.decode(t, &reg)
	r = call(t, "POST", sim.URL()+"/api/v3/actions/runner-registration", "RemoteAuth "+reg.Token,
		RunnerRegistrationRequest{URL: configURL, RunnerEvent: "register"})
	wantStatus(t, r, http.StatusCreated)
	sameFields(t, "runner-registration.json", r.body)
	var rr RunnerRegistration
	r.decode(t, &rr)
	tc := &tenantClient{t: t, sim: sim, url: rr.URL, token: rr.Token}

	sim.AddRunnerGroup("gpu")
	r = tc.admin("GET", "_apis/runtime/runnergroups/?groupName=gpu", nil)
	wantStatus(t, r, http.StatusOK)
	sameFields(t, "runner-groups.json", r.body)

	r = tc.admin("POST", "_apis/runtime/runnerscalesets", readWire(t, "scale-set-create.json"))
	wantStatus(t, r, http.StatusOK)
	sameFields(t, "scale-set.json", r.body)
	var rs RunnerScaleSet
	r.decode(t, &rs)

	r = tc.admin("POST", "_apis/runtime/runnerscalesets/"+strconv.Itoa(rs.ID)+"/sessions", readWire(t, "session-create.json"))
	wantStatus(t, r, http.StatusOK)
	sameFields(t, "session.json", r.body)
	qc := &queueClient{t: t, tc: tc, scaleSetID: rs.ID}
	r.decode(t, &qc.sess)

	r = tc.admin("POST", "_apis/runtime/runnerscalesets/"+strconv.Itoa(rs.ID)+"/generatejitconfig", readWire(t, "jit-config-request.json"))
	wantStatus(t, r, http.StatusOK)
	sameFields(t, "jit-config.json", r.body)
	var jc JITConfig
	r.decode(t, &jc)

	servedJobMessagesHaveTheGoldenFields(t, sim, qc, jc)
}

// servedJobMessagesHaveTheGoldenFields runs one job through the queue and compares every
// message and job message with the golden ones.
func servedJobMessagesHaveTheGoldenFields(t *testing.T, sim *Simulator, qc *queueClient, jc JITConfig) {
	id := sim.QueueJob(Job{Owner: "acme", Repository: "app", Labels: []string{"arc"}})
	golden := map[string]string{
		MessageJobAvailable: "job-available.json", MessageJobAssigned: "job-assigned.json",
		MessageJobStarted: "job-started.json", MessageJobCompleted: "job-completed.json",
	}
	seen := map[string]bool{}
	var last int64
	for step := 0; len(seen) < len(golden) && step < 10; step++ {
		r, m := qc.poll(last, 10)
		if m == nil {
			t.Fatalf("poll: status %d, want a message", r.status)
		}
		sameFields(t, "message.json", r.body)
		var elems []json.RawMessage
		if err := json.Unmarshal([]byte(m.Body), &elems); err != nil {
			t.Fatal(err)
		}
		for _, e := range elems {
			var jm JobMessage
			if err := decodeStrict(e, &jm); err != nil {
				t.Fatal(err)
			}
			sameFields(t, golden[jm.MessageType], e)
			seen[jm.MessageType] = true
		}
		qc.ack(m.MessageID)
		last = m.MessageID
		advanceJob(t, sim, qc, seen, id, jc)
	}
	if len(seen) != len(golden) {
		t.Errorf("job messages seen: %v", seen)
	}
}

// advanceJob takes the job one step further once its last message was seen: acquire it, run
// it on the JIT runner, complete it.
func advanceJob(t *testing.T, sim *Simulator, qc *queueClient, seen map[string]bool, id int64, jc JITConfig) {
	switch {
	case seen[MessageJobCompleted]:
	case seen[MessageJobStarted]:
		if err := sim.CompleteRunnerJob(jc.Runner.ID, ResultSucceeded); err != nil {
			t.Fatal(err)
		}
	case seen[MessageJobAssigned]:
		if _, err := sim.ConnectRunner(jc.EncodedJITConfig); err != nil {
			t.Fatal(err)
		}
		if _, ok := sim.AcquireRunnerJob(jc.Runner.ID); !ok {
			t.Fatal("the runner got no job")
		}
	case seen[MessageJobAvailable]:
		r := call(t, "POST", qc.tc.url+"_apis/runtime/runnerscalesets/"+strconv.Itoa(qc.scaleSetID)+"/acquirejobs?"+api,
			"Bearer "+qc.sess.MessageQueueAccessToken, []int64{id})
		wantStatus(t, r, http.StatusOK)
		sameFields(t, "acquire-jobs.json", r.body)
	}
}
