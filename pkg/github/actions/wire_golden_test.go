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

package actions

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// The protocol reference's payloads, which the simulator's own wire types are pinned to as
// well: the client and the simulator share no struct, so a misnamed field fails here.
const wireDir = "../simulator/testdata/wire"

func readWire(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(wireDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sameJSON compares two JSON documents as values, not bytes.
func sameJSON(t *testing.T, what string, got, want []byte) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: %v in %s", what, err, got)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s:\n got %s\nwant %s", what, got, want)
	}
}

func wantEqual(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		t.Errorf("%s decoded as\n%s\nwant\n%s", what, g, w)
	}
}

const goldenTenant = "https://pipelinesghubeus22.actions.githubusercontent.com/abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKL/"

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

var goldenStatistics = Statistics{TotalAvailableJobs: 7, TotalAcquiredJobs: 1, TotalAssignedJobs: 5, TotalRunningJobs: 3,
	TotalRegisteredRunners: 4, TotalBusyRunners: 3, TotalIdleRunners: 1}

func goldenScaleSet() *RunnerScaleSet {
	st := goldenStatistics
	return &RunnerScaleSet{
		ID: 3, Name: "arc", RunnerGroupID: 2, RunnerGroupName: "gpu",
		Labels:             []Label{{Type: "System", Name: "arc"}, {Type: "System", Name: "linux"}},
		RunnerSetting:      RunnerSetting{DisableUpdate: true},
		CreatedOn:          at("2026-05-05T09:58:00Z"),
		RunnerJitConfigURL: goldenTenant + "_apis/runtime/runnerscalesets/3/generatejitconfig",
		Statistics:         &st,
	}
}

// goldenJobs are job-available.json, job-assigned.json, job-started.json and
// job-completed.json, the elements of message.json's body.
func goldenJobs() []JobMessage {
	common := JobMessage{
		RunnerRequestID: 5001, RepositoryName: "app", OwnerName: "acme", JobID: "2f7e4a52-1c8a-4c1e-9d7b-6a3f0e8b9c11",
		JobWorkflowRef: "acme/app/.github/workflows/ci.yml@refs/heads/main", JobDisplayName: "build",
		WorkflowRunID: 9001, EventName: "push", RequestLabels: []string{"arc", "linux"}, QueueTime: at("2026-05-05T10:00:00Z"),
	}
	available, assigned, started, completed := common, common, common, common
	available.MessageType = JobMessageAvailable
	available.AcquireJobURL = goldenTenant + "_apis/runtime/runnerscalesets/3/acquirejobs"
	assigned.MessageType = JobMessageAssigned
	assigned.ScaleSetAssignTime = at("2026-05-05T10:00:01Z")
	started = assigned
	started.MessageType = JobMessageStarted
	started.RunnerAssignTime = at("2026-05-05T10:00:20Z")
	started.RunnerID, started.RunnerName = 42, "arc-runner-abcde"
	completed = started
	completed.MessageType = JobMessageCompleted
	completed.FinishTime = at("2026-05-05T10:03:00Z")
	completed.Result = "succeeded"
	return []JobMessage{available, assigned, started, completed}
}

// TestClientDecodesGoldenPayloads: the client's structs read every answer of the reference
// into the values it holds.
func TestClientDecodesGoldenPayloads(t *testing.T) {
	jobs := goldenJobs()
	cases := []struct {
		name       string
		into, want any
	}{
		{"statistics.json", new(Statistics), &goldenStatistics},
		{"scale-set.json", new(RunnerScaleSet), goldenScaleSet()},
		{"job-available.json", new(JobMessage), &jobs[0]},
		{"job-assigned.json", new(JobMessage), &jobs[1]},
		{"job-started.json", new(JobMessage), &jobs[2]},
		{"job-completed.json", new(JobMessage), &jobs[3]},
		{"runner-groups.json", new(List[RunnerGroup]), &List[RunnerGroup]{Count: 1, Value: []RunnerGroup{{ID: 2, Name: "gpu", Size: 1}}}},
		{"acquire-jobs.json", new(List[int64]), &List[int64]{Count: 1, Value: []int64{5001}}},
	}
	for _, c := range cases {
		if err := json.Unmarshal(readWire(t, c.name), c.into); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		wantEqual(t, c.name, c.into, c.want)
	}

	m, err := DecodeMessage(readWire(t, "message.json"))
	if err != nil {
		t.Fatal(err)
	}
	body, err := ParseJobMessages(m.Body)
	if err != nil {
		t.Fatal(err)
	}
	if m.MessageID != 100000171 || m.MessageType != MessageTypeJobMessages {
		t.Errorf("message.json: messageId %d, messageType %q", m.MessageID, m.MessageType)
	}
	wantEqual(t, "message.json's statistics", m.Statistics, &goldenStatistics)
	wantEqual(t, "message.json's body", body, jobs)
}

// TestClientSpeaksGoldenPayloads: the client's calls send the reference's request bodies and
// return what the reference's answers say.
func TestClientSpeaksGoldenPayloads(t *testing.T) {
	ts := newTestServer(t, nil)
	c := newTestClient(t, ts)
	ctx := ctxT(t)
	st := goldenStatistics
	cases := []struct {
		answer, request string // golden files; request "" when the call has no body
		call            func() (any, error)
		want            any
	}{
		{"scale-set.json", "scale-set-create.json", func() (any, error) {
			return c.CreateScaleSet(ctx, &RunnerScaleSet{Name: "arc", RunnerGroupID: 1, RunnerSetting: RunnerSetting{DisableUpdate: true}})
		}, goldenScaleSet()},
		{"session.json", "session-create.json", func() (any, error) { return c.CreateSession(ctx, 3, "arc-listener-abcde") }, &Session{
			SessionID: "6f1c7b8e-2d4a-4f1e-9c3b-8a7d5e4f3a21", OwnerName: "arc-listener-abcde", RunnerScaleSet: goldenScaleSet(),
			MessageQueueURL:         "https://broker.actions.githubusercontent.com/scalesets/message",
			MessageQueueAccessToken: "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzY29wZSI6Im1lc3NhZ2VxdWV1ZSJ9.c2ln", Statistics: &st,
		}},
		{"acquire-jobs.json", "acquire-jobs-request.json", func() (any, error) { return c.AcquireJobs(ctx, 3, "mq", []int64{5001, 5002}) }, []int64{5001}},
		{"jit-config.json", "jit-config-request.json", func() (any, error) {
			return c.GenerateJitConfig(ctx, 3, &JitRunnerSetting{Name: "arc-runner-abcde", WorkFolder: "/home/runner/_work"})
		}, &JitConfig{Runner: &RunnerReference{ID: 42, Name: "arc-runner-abcde", RunnerScaleSetID: 3}, EncodedJITConfig: goldenJITConfig(t)}},
		{"runner-groups.json", "", func() (any, error) { return c.GetRunnerGroupByName(ctx, "gpu") }, &RunnerGroup{ID: 2, Name: "gpu", Size: 1}},
	}
	for _, tc := range cases {
		t.Run(tc.answer, func(t *testing.T) {
			answer := readWire(t, tc.answer)
			ts.setHandler(func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, string(answer)) })
			got, err := tc.call()
			if err != nil {
				t.Fatal(err)
			}
			wantEqual(t, tc.answer, got, tc.want)
			if tc.request != "" {
				sameJSON(t, tc.request, ts.last(t).Body, readWire(t, tc.request))
			}
		})
	}
}

// goldenJITConfig is the opaque blob of jit-config.json, read by its exact key.
func goldenJITConfig(t *testing.T) string {
	var m map[string]any
	if err := json.Unmarshal(readWire(t, "jit-config.json"), &m); err != nil {
		t.Fatal(err)
	}
	blob, _ := m["encodedJITConfig"].(string)
	if blob == "" {
		t.Fatal("jit-config.json has no encodedJITConfig")
	}
	return blob
}
