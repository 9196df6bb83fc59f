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
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	testingclock "k8s.io/utils/clock/testing"

	"actions.dev/runnerset-apiserver/pkg/github/actions"
)

func TestAdminCallsNeedTokenAndAPIVersion(t *testing.T) {
	fc := testingclock.NewFakeClock(time.Now())
	sim := newSim(t, Options{Clock: fc, AdminTokenTTL: 5 * time.Minute})
	tc := register(t, sim, "acme")
	other := register(t, sim, "other")
	path := "_apis/runtime/runnergroups/?groupName=Default"

	r := call(t, "GET", tc.url+path+"&"+api, "Bearer "+tc.token, nil)
	wantStatus(t, r, http.StatusOK)
	if r.header.Get("ActivityId") == "" {
		t.Error("no ActivityId header")
	}

	for name, tt := range map[string]struct {
		url, auth, typeName string
		want                int
	}{
		"no api-version":       {tc.url + path, "Bearer " + tc.token, typeVersionMissing, http.StatusBadRequest},
		"wrong api-version":    {tc.url + path + "&api-version=7.1", "Bearer " + tc.token, typeVersionRange, http.StatusBadRequest},
		"no token":             {tc.url + path + "&" + api, "", typeUnauthorized, http.StatusUnauthorized},
		"garbage token":        {tc.url + path + "&" + api, "Bearer nope", typeUnauthorized, http.StatusUnauthorized},
		"other tenant's token": {tc.url + path + "&" + api, "Bearer " + other.token, typeUnauthorized, http.StatusUnauthorized},
	} {
		r := call(t, "GET", tt.url, tt.auth, nil)
		if r.status != tt.want {
			t.Errorf("%s: status %d, want %d", name, r.status, tt.want)
			continue
		}
		e := r.serviceError(t)
		if e.TypeName != tt.typeName || e.Message == "" || r.header.Get("ActivityId") == "" {
			t.Errorf("%s: error %+v (ActivityId %q), want typeName %s", name, e, r.header.Get("ActivityId"), tt.typeName)
		}
	}

	// The admin token expires on the simulator's clock.
	fc.Step(5 * time.Minute)
	wantStatus(t, call(t, "GET", tc.url+path+"&"+api, "Bearer "+tc.token, nil), http.StatusUnauthorized)
	wantStatus(t, register(t, sim, "acme").admin("GET", path, nil), http.StatusOK)
}

func TestRunnerGroups(t *testing.T) {
	sim := newSim(t, Options{})
	tc := register(t, sim, "acme")
	get := func(name string) actions.List[actions.RunnerGroup] {
		r := tc.admin("GET", "_apis/runtime/runnergroups/?groupName="+name, nil)
		wantStatus(t, r, http.StatusOK)
		var l actions.List[actions.RunnerGroup]
		r.decode(t, &l)
		return l
	}
	if l := get("Default"); l.Count != 1 || l.Value[0] != (actions.RunnerGroup{ID: 1, Name: "Default", IsDefaultGroup: true}) {
		t.Errorf("Default = %+v", l)
	}
	if l := get("nope"); l.Count != 0 || l.Value == nil {
		t.Errorf("unknown group = %+v, want count 0 and an empty value", l)
	}
	g := sim.AddRunnerGroup("gpu pool")
	if l := get("gpu%20pool"); l.Count != 1 || l.Value[0].ID != g.ID || g.ID == 1 {
		t.Errorf("added group = %+v (added %+v)", l, g)
	}
	tc.admin("POST", "_apis/runtime/runnerscalesets", actions.RunnerScaleSet{Name: "x", RunnerGroupID: g.ID})
	if l := get("gpu%20pool"); l.Value[0].Size != 1 {
		t.Errorf("group size = %d, want 1", l.Value[0].Size)
	}
}

func TestScaleSetCRUD(t *testing.T) {
	sim := newSim(t, Options{})
	tc := register(t, sim, "acme")

	// The exact body ARC HEAD sends, including the fields Go's encoder emits for "empty".
	r := tc.admin("POST", "_apis/runtime/runnerscalesets",
		`{"name":"arc","runnerGroupId":1,"labels":[{"type":"System","name":"arc"},{"name":"gpu"}],"RunnerSetting":{"disableUpdate":true},"createdOn":"0001-01-01T00:00:00Z"}`)
	wantStatus(t, r, http.StatusOK)
	var raw map[string]any
	r.decode(t, &raw)
	for _, k := range []string{"id", "name", "runnerGroupId", "runnerGroupName", "labels", "RunnerSetting", "createdOn", "runnerJitConfigUrl", "statistics"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("created scale set lacks %q: %s", k, r.body)
		}
	}
	var rs actions.RunnerScaleSet
	r.decode(t, &rs)
	if rs.ID == 0 || rs.RunnerGroupName != "Default" || !rs.RunnerSetting.DisableUpdate || rs.CreatedOn.IsZero() ||
		!slices.Equal(rs.Labels, []actions.Label{{Type: "System", Name: "arc"}, {Type: "System", Name: "gpu"}}) ||
		!strings.HasSuffix(rs.RunnerJitConfigURL, "/runnerscalesets/"+strconv.Itoa(rs.ID)+"/generatejitconfig") {
		t.Errorf("created = %+v", rs)
	}
	id := strconv.Itoa(rs.ID)

	// No labels: the name is the label (SS does the same on its side).
	r = tc.admin("POST", "_apis/runtime/runnerscalesets", `{"name":"plain","RunnerSetting":{},"createdOn":"0001-01-01T00:00:00Z"}`)
	wantStatus(t, r, http.StatusOK)
	var plain actions.RunnerScaleSet
	r.decode(t, &plain)
	if plain.RunnerGroupID != 1 || !slices.Equal(plain.Labels, []actions.Label{{Type: "System", Name: "plain"}}) {
		t.Errorf("plain = %+v", plain)
	}

	wantStatus(t, tc.admin("POST", "_apis/runtime/runnerscalesets", `{"name":"ARC","runnerGroupId":1}`), http.StatusConflict)
	wantStatus(t, tc.admin("POST", "_apis/runtime/runnerscalesets", `{"name":""}`), http.StatusBadRequest)
	wantStatus(t, tc.admin("POST", "_apis/runtime/runnerscalesets", `{"name":"x","runnerGroupId":77}`), http.StatusNotFound)

	byName := func(q string) actions.List[actions.RunnerScaleSet] {
		r := tc.admin("GET", "_apis/runtime/runnerscalesets?"+q, nil)
		wantStatus(t, r, http.StatusOK)
		var l actions.List[actions.RunnerScaleSet]
		r.decode(t, &l)
		return l
	}
	if l := byName("runnerGroupId=1&name=arc"); l.Count != 1 || l.Value[0].ID != rs.ID {
		t.Errorf("by name = %+v", l)
	}
	if l := byName("runnerGroupId=1&name=nope"); l.Count != 0 {
		t.Errorf("unknown name = %+v", l)
	}

	r = tc.admin("GET", "_apis/runtime/runnerscalesets/"+id, nil)
	wantStatus(t, r, http.StatusOK)

	// Sparse updates, as clients send them.
	g := sim.AddRunnerGroup("second")
	r = tc.admin("PATCH", "_apis/runtime/runnerscalesets/"+id,
		`{"runnerGroupId":`+strconv.Itoa(g.ID)+`,"RunnerSetting":{},"createdOn":"0001-01-01T00:00:00Z"}`)
	wantStatus(t, r, http.StatusOK)
	var upd actions.RunnerScaleSet
	r.decode(t, &upd)
	if upd.RunnerGroupID != g.ID || upd.RunnerGroupName != "second" || upd.Name != "arc" || !upd.RunnerSetting.DisableUpdate {
		t.Errorf("after group update = %+v", upd)
	}
	r = tc.admin("PATCH", "_apis/runtime/runnerscalesets/"+id, `{"name":"arc2","RunnerSetting":{},"createdOn":"0001-01-01T00:00:00Z"}`)
	wantStatus(t, r, http.StatusOK)
	r.decode(t, &upd)
	if upd.Name != "arc2" || upd.ID != rs.ID {
		t.Errorf("after rename = %+v", upd)
	}

	wantStatus(t, tc.admin("DELETE", "_apis/runtime/runnerscalesets/"+id, nil), http.StatusNoContent)
	r = tc.admin("GET", "_apis/runtime/runnerscalesets/"+id, nil)
	wantStatus(t, r, http.StatusNotFound)
	if e := r.serviceError(t); e.TypeName != typeScaleSetNotFound {
		t.Errorf("after delete: %+v", e)
	}
	wantStatus(t, tc.admin("DELETE", "_apis/runtime/runnerscalesets/"+id, nil), http.StatusNotFound)

	// Another tenant cannot see this one's scale sets.
	other := register(t, sim, "other")
	wantStatus(t, other.admin("GET", "_apis/runtime/runnerscalesets/"+strconv.Itoa(plain.ID), nil), http.StatusNotFound)
	if l := (&tenantClient{t: t, sim: sim, url: other.url, token: other.token}).admin("GET", "_apis/runtime/runnerscalesets?name=plain", nil); !bytes.Contains(l.body, []byte(`"count":0`)) {
		t.Errorf("other tenant lists %s", l.body)
	}
}

func TestDeleteScaleSetRefusedWhileAJobRuns(t *testing.T) {
	sim := newSim(t, Options{LongPollHold: time.Minute})
	tc := register(t, sim, "acme")
	rs := tc.createScaleSet("linux")
	qc := tc.createSession(rs.ID)
	jit := tc.generateJIT(rs.ID, "r1")
	id := sim.QueueJob(Job{Labels: []string{"linux"}, Owner: "acme", Repository: "app"})
	qc.acquire(id)
	rn, err := sim.ConnectRunner(jit.EncodedJITConfig)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := sim.AcquireRunnerJob(rn.ID); !ok {
		t.Fatal("runner got no job")
	}
	r := tc.admin("DELETE", "_apis/runtime/runnerscalesets/"+strconv.Itoa(rs.ID), nil)
	wantStatus(t, r, http.StatusBadRequest)
	if e := r.serviceError(t); !strings.Contains(e.TypeName, "JobStillRunningException") {
		t.Errorf("error %+v", e)
	}
	if err := sim.CompleteRunnerJob(rn.ID, ""); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, tc.admin("DELETE", "_apis/runtime/runnerscalesets/"+strconv.Itoa(rs.ID), nil), http.StatusNoContent)
	if len(sim.Sessions()) != 0 {
		t.Errorf("sessions left: %+v", sim.Sessions())
	}
}

func TestSessionLifecycle(t *testing.T) {
	sim := newSim(t, Options{LongPollHold: time.Minute})
	tc := register(t, sim, "acme")
	rs := tc.createScaleSet("linux")
	base := "_apis/runtime/runnerscalesets/" + strconv.Itoa(rs.ID) + "/sessions"

	// The ARC-client body has no sessionId; SS sends the zero UUID.
	r := tc.admin("POST", base, `{"ownerName":"listener-abc"}`)
	wantStatus(t, r, http.StatusOK)
	var raw map[string]any
	r.decode(t, &raw)
	for _, k := range []string{"sessionId", "ownerName", "runnerScaleSet", "messageQueueUrl", "messageQueueAccessToken", "statistics"} {
		if raw[k] == nil {
			t.Errorf("session lacks %q: %s", k, r.body)
		}
	}
	var sess actions.Session
	r.decode(t, &sess)
	if sess.SessionID == "" || sess.SessionID == "00000000-0000-0000-0000-000000000000" || sess.OwnerName != "listener-abc" ||
		sess.RunnerScaleSet == nil || sess.RunnerScaleSet.ID != rs.ID || sess.MessageQueueAccessToken == tc.token {
		t.Errorf("session = %+v", sess)
	}

	// One session per scale set.
	r = tc.admin("POST", base, map[string]string{"sessionId": "00000000-0000-0000-0000-000000000000", "ownerName": "second"})
	wantStatus(t, r, http.StatusConflict)
	if e := r.serviceError(t); e.TypeName != "GitHub.Actions.Runtime.WebApi.RunnerScaleSetSessionConflictException, GitHub.Actions.Runtime.WebApi" ||
		!strings.Contains(e.Message, "already has an active session") {
		t.Errorf("conflict = %+v", e)
	}
	wantStatus(t, tc.admin("POST", "_apis/runtime/runnerscalesets/999/sessions", `{}`), http.StatusNotFound)

	// Refresh issues a new queue token for the same session.
	r = tc.admin("PATCH", base+"/"+sess.SessionID, nil)
	wantStatus(t, r, http.StatusOK)
	var refreshed actions.Session
	r.decode(t, &refreshed)
	if refreshed.SessionID != sess.SessionID || refreshed.MessageQueueAccessToken == sess.MessageQueueAccessToken || refreshed.Statistics == nil {
		t.Errorf("refreshed = %+v", refreshed)
	}
	r = tc.admin("PATCH", base+"/0b0e8a4c-0000-0000-0000-000000000000", nil)
	wantStatus(t, r, http.StatusNotFound)
	if e := r.serviceError(t); e.TypeName != typeRunnerAdmin {
		t.Errorf("refresh unknown = %+v", e)
	}

	wantStatus(t, tc.admin("DELETE", base+"/"+sess.SessionID, nil), http.StatusNoContent)
	r = tc.admin("DELETE", base+"/"+sess.SessionID, nil)
	wantStatus(t, r, http.StatusBadRequest)
	if e := r.serviceError(t); e.TypeName != "GitHub.Actions.Runtime.WebApi.RunnerScaleSetSessionExpiredException, GitHub.Actions.Runtime.WebApi" {
		t.Errorf("delete twice = %+v", e)
	}
	// The deleted session's queue token no longer works; a new session can be created.
	qc := &queueClient{t: t, tc: tc, scaleSetID: rs.ID, sess: refreshed}
	if r, _ := qc.poll(0, -1); r.status != http.StatusUnauthorized {
		t.Errorf("poll on a deleted session: %d", r.status)
	}
	wantStatus(t, tc.admin("POST", base, `{"ownerName":"again"}`), http.StatusOK)
}

func TestQueueTokenExpiryAndRefresh(t *testing.T) {
	fc := testingclock.NewFakeClock(time.Now())
	// The queue token runs out before the session idles out: it must still be there to refresh.
	sim := newSim(t, Options{Clock: fc, QueueTokenTTL: 3 * time.Minute, AdminTokenTTL: time.Hour, LongPollHold: 50 * time.Millisecond})
	tc := register(t, sim, "acme")
	rs := tc.createScaleSet("linux")
	qc := tc.createSession(rs.ID)
	if r, _ := qc.poll(0, -1); r.status != http.StatusAccepted {
		t.Fatalf("poll: %d", r.status)
	}
	fc.Step(3 * time.Minute)
	for _, r := range []reply{
		func() reply { r, _ := qc.poll(0, -1); return r }(),
		call(t, "DELETE", strings.Replace(qc.sess.MessageQueueURL, "/messages?", "/messages/100000001?", 1), "Bearer "+qc.sess.MessageQueueAccessToken, nil),
		call(t, "POST", tc.url+"_apis/runtime/runnerscalesets/"+strconv.Itoa(rs.ID)+"/acquirejobs?"+api, "Bearer "+qc.sess.MessageQueueAccessToken, "[1]"),
	} {
		wantStatus(t, r, http.StatusUnauthorized)
	}
	// The admin token does not work on the queue, nor the queue token on admin calls.
	wantStatus(t, call(t, "GET", qc.sess.MessageQueueURL, "Bearer "+tc.token, nil), http.StatusUnauthorized)

	r := tc.admin("PATCH", "_apis/runtime/runnerscalesets/"+strconv.Itoa(rs.ID)+"/sessions/"+qc.sess.SessionID, nil)
	wantStatus(t, r, http.StatusOK)
	r.decode(t, &qc.sess)
	if r, _ := qc.poll(0, -1); r.status != http.StatusAccepted {
		t.Fatalf("poll after refresh: %d", r.status)
	}
	wantStatus(t, call(t, "GET", tc.url+"_apis/runtime/runnerscalesets/"+strconv.Itoa(rs.ID)+"?"+api, "Bearer "+qc.sess.MessageQueueAccessToken, nil), http.StatusUnauthorized)

	// ExpireQueueTokens: 401 at once, until the next refresh.
	sim.ExpireQueueTokens()
	if r, _ := qc.poll(0, -1); r.status != http.StatusUnauthorized {
		t.Fatalf("poll after ExpireQueueTokens: %d", r.status)
	}
	r = tc.admin("PATCH", "_apis/runtime/runnerscalesets/"+strconv.Itoa(rs.ID)+"/sessions/"+qc.sess.SessionID, nil)
	r.decode(t, &qc.sess)
	if r, _ := qc.poll(0, -1); r.status != http.StatusAccepted {
		t.Fatalf("poll after second refresh: %d", r.status)
	}
}

func TestLongPollAnswers202WhenIdle(t *testing.T) {
	sim := newSim(t, Options{LongPollHold: 100 * time.Millisecond})
	tc := register(t, sim, "acme")
	qc := tc.createSession(tc.createScaleSet("linux").ID)
	begin := time.Now()
	r, _ := qc.poll(0, 10)
	wantStatus(t, r, http.StatusAccepted)
	if len(r.body) != 0 {
		t.Errorf("202 with body %q", r.body)
	}
	if held := time.Since(begin); held < 100*time.Millisecond {
		t.Errorf("202 after %s, want the poll held for LongPollHold", held)
	}
}

func TestLongPollWakesAsSoonAsAMessageExists(t *testing.T) {
	sim := newSim(t, Options{LongPollHold: time.Minute})
	tc := register(t, sim, "acme")
	rs := tc.createScaleSet("linux")
	qc := tc.createSession(rs.ID)
	begin := time.Now()
	done := qc.pollAsync()
	// Queue only once the poll is held.
	eventually(t, "the poll to be held", func() bool { return sim.Counters().Endpoint(EPGetMessage) == 1 })
	id := sim.QueueJob(Job{Labels: []string{"linux"}, Owner: "acme", Repository: "app"})
	if st := <-done; st != http.StatusOK || time.Since(begin) > 30*time.Second {
		t.Fatalf("poll returned %d after %s", st, time.Since(begin))
	}
	// The message is still there (not deleted): it carries the job.
	if _, jobs := qc.next(0, -1); len(jobs) != 1 || jobs[0].RunnerRequestID != id {
		t.Fatalf("message %v", types(jobs))
	}
}

func TestMessagesAreDoubleEncodedAndRedeliveredUntilDeleted(t *testing.T) {
	sim := newSim(t, Options{LongPollHold: 50 * time.Millisecond})
	tc := register(t, sim, "acme")
	rs := tc.createScaleSet("linux")
	qc := tc.createSession(rs.ID)
	id := sim.QueueJob(Job{Labels: []string{"Linux"}, Owner: "acme", Repository: "app", DisplayName: "test (ubuntu)", EventName: "pull_request"})

	r, m := qc.poll(0, -1)
	wantStatus(t, r, http.StatusOK)
	var raw map[string]json.RawMessage
	r.decode(t, &raw)
	var body string
	if err := json.Unmarshal(raw["body"], &body); err != nil {
		t.Fatalf("body is not a JSON string: %s", raw["body"])
	}
	var arr []map[string]any
	if err := json.Unmarshal([]byte(body), &arr); err != nil || len(arr) != 1 {
		t.Fatalf("body is not a JSON array of one: %q", body)
	}
	for _, k := range []string{"messageType", "runnerRequestId", "repositoryName", "ownerName", "jobId", "jobWorkflowRef",
		"jobDisplayName", "workflowRunId", "eventName", "requestLabels", "queueTime", "scaleSetAssignTime",
		"runnerAssignTime", "finishTime", "acquireJobUrl"} {
		if _, ok := arr[0][k]; !ok {
			t.Errorf("JobAvailable lacks %q: %s", k, body)
		}
	}
	if m.MessageType != "RunnerScaleSetJobMessages" || m.MessageID < 100000000 || m.Statistics == nil || m.Statistics.TotalAvailableJobs != 1 {
		t.Errorf("message = %+v", m)
	}
	jobs, _ := actions.ParseJobMessages(m.Body)
	j := jobs[0]
	if j.MessageType != "JobAvailable" || j.RunnerRequestID != id || j.OwnerName != "acme" || j.RepositoryName != "app" ||
		j.JobWorkflowRef != "acme/app/.github/workflows/ci.yml@refs/heads/main" || j.JobDisplayName != "test (ubuntu)" ||
		j.EventName != "pull_request" || !slices.Equal(j.RequestLabels, []string{"Linux"}) || j.QueueTime.IsZero() ||
		!strings.HasSuffix(j.AcquireJobURL, "/acquirejobs") {
		t.Errorf("JobAvailable = %+v", j)
	}

	// Not deleted: delivered again, same id.
	_, again := qc.poll(0, -1)
	if again == nil || again.MessageID != m.MessageID || again.Body != m.Body {
		t.Fatalf("redelivery = %+v", again)
	}
	// lastMessageId skips it.
	if r, _ := qc.poll(m.MessageID, -1); r.status != http.StatusAccepted {
		t.Fatalf("poll after lastMessageId: %d", r.status)
	}
	// New events after a delivered message go into a new message with a higher id.
	qc.acquire(id)
	m2, jobs2 := qc.next(m.MessageID, -1)
	if m2.MessageID <= m.MessageID || len(jobs2) != 1 || jobs2[0].MessageType != "JobAssigned" || jobs2[0].ScaleSetAssignTime.IsZero() {
		t.Fatalf("second message %d: %+v", m2.MessageID, jobs2)
	}
	if m2.Statistics.TotalAvailableJobs != 0 || m2.Statistics.TotalAssignedJobs != 1 {
		t.Errorf("statistics = %+v", m2.Statistics)
	}
	// Without lastMessageId the first undeleted message comes first; deleting it moves on.
	_, first := qc.poll(0, -1)
	if first.MessageID != m.MessageID {
		t.Fatalf("first undeleted = %d, want %d", first.MessageID, m.MessageID)
	}
	qc.ack(m.MessageID)
	qc.ack(m.MessageID) // deleting twice is harmless
	if _, m3 := qc.poll(0, -1); m3 == nil || m3.MessageID != m2.MessageID {
		t.Fatalf("after delete: %+v", m3)
	}
	qc.ack(m2.MessageID)
	if r, _ := qc.poll(0, -1); r.status != http.StatusAccepted {
		t.Fatalf("empty queue: %d", r.status)
	}
	// Polling created no state.
	sim.mu.Lock()
	n := len(sim.state.scaleSets[rs.ID].messages)
	sim.mu.Unlock()
	if n != 0 {
		t.Errorf("%d messages kept after all were deleted", n)
	}
}

func TestBatchesHoldAtMost50JobMessages(t *testing.T) {
	sim := newSim(t, Options{LongPollHold: 50 * time.Millisecond})
	tc := register(t, sim, "acme")
	rs := tc.createScaleSet("linux")
	for range 120 {
		sim.QueueJob(Job{Labels: []string{"linux"}, Owner: "acme", Repository: "app"})
	}
	qc := tc.createSession(rs.ID)
	if qc.sess.Statistics.TotalAvailableJobs != 120 {
		t.Errorf("session statistics = %+v", qc.sess.Statistics)
	}
	var available []int
	var seen []int64
	var last int64
	for range 3 {
		m, jobs := qc.next(0, -1)
		if m.MessageID <= last || len(jobs) > 50 {
			t.Fatalf("message id %d after %d, %d job messages", m.MessageID, last, len(jobs))
		}
		last = m.MessageID
		if m.Statistics.TotalAvailableJobs != 120-len(seen) {
			t.Errorf("message %d: available %d, want %d", m.MessageID, m.Statistics.TotalAvailableJobs, 120-len(seen))
		}
		var ids []int64
		for _, j := range jobs {
			if j.MessageType == "JobAvailable" {
				ids = append(ids, j.RunnerRequestID)
			}
		}
		available = append(available, len(ids))
		seen = append(seen, qc.acquire(ids...)...)
		qc.ack(m.MessageID)
	}
	// The third message also carries JobAssigned for the first batch: it was not delivered
	// yet when they happened, and had room.
	if !slices.Equal(available, []int{50, 50, 20}) || len(seen) != 120 {
		t.Fatalf("JobAvailable per message %v, acquired %d", available, len(seen))
	}
	s := stats(t, sim, rs.ID)
	if s.TotalAvailableJobs != 0 || s.TotalAssignedJobs != 120 || s.TotalAcquiredJobs != 0 {
		t.Errorf("statistics = %+v", s)
	}
	assigned := 0
	for _, jm := range qc.drain() {
		if jm.MessageType == "JobAssigned" {
			assigned++
		}
	}
	if assigned != 90 {
		t.Errorf("%d more JobAssigned, want 90 (30 came with the third message)", assigned)
	}
}

func TestCapacityLimitsAssignment(t *testing.T) {
	sim := newSim(t, Options{LongPollHold: 50 * time.Millisecond})
	tc := register(t, sim, "acme")
	rs := tc.createScaleSet("linux")
	qc := tc.createSession(rs.ID)
	if r, _ := qc.poll(0, 2); r.status != http.StatusAccepted { // tells the service the capacity
		t.Fatalf("poll %d", r.status)
	}
	var ids []int64
	for range 5 {
		ids = append(ids, sim.QueueJob(Job{Labels: []string{"linux"}, Owner: "acme", Repository: "app"}))
	}
	if got := qc.acquire(ids...); !slices.Equal(got, ids) {
		t.Fatalf("acquired %v, want all of %v", got, ids)
	}
	s := stats(t, sim, rs.ID)
	if s.TotalAssignedJobs != 2 || s.TotalAcquiredJobs != 3 || s.TotalAvailableJobs != 0 {
		t.Fatalf("statistics = %+v, want 2 assigned (capacity) and 3 acquired", s)
	}
	assigned := func() (n int) {
		for _, j := range sim.Jobs() {
			if j.State == JobAssigned || j.State == JobRunning {
				n++
			}
		}
		return n
	}
	// A runner finishes one job: the next acquired one is assigned.
	jit := tc.generateJIT(rs.ID, "r1")
	rn, _ := sim.ConnectRunner(jit.EncodedJITConfig)
	if _, ok := sim.AcquireRunnerJob(rn.ID); !ok {
		t.Fatal("no job for the runner")
	}
	if err := sim.CompleteRunnerJob(rn.ID, ""); err != nil {
		t.Fatal(err)
	}
	if n := assigned(); n != 2 {
		t.Errorf("after one completion %d assigned, want 2", n)
	}
	// A larger capacity in the next poll assigns the rest.
	qc.poll(0, 10)
	if s := stats(t, sim, rs.ID); s.TotalAssignedJobs != 4 || s.TotalAcquiredJobs != 0 {
		t.Errorf("after capacity 10: %+v", s)
	}
	// Capacity 0 assigns nothing more.
	id := sim.QueueJob(Job{Labels: []string{"linux"}, Owner: "acme", Repository: "app"})
	qc.poll(0, 4)
	qc.acquire(id)
	if s := stats(t, sim, rs.ID); s.TotalAssignedJobs != 4 || s.TotalAcquiredJobs != 1 {
		t.Errorf("at capacity: %+v", s)
	}
	wantStatus(t, call(t, "GET", qc.sess.MessageQueueURL, "Bearer "+qc.sess.MessageQueueAccessToken, nil, "X-ScaleSetMaxCapacity", "-1"), http.StatusBadRequest)
}

func TestAcquireReturnsOnlyTheAcquiredSubset(t *testing.T) {
	sim := newSim(t, Options{LongPollHold: 50 * time.Millisecond})
	tc := register(t, sim, "acme")
	a := tc.createScaleSet("a", "linux")
	b := tc.createScaleSet("b", "linux")
	qa, qb := tc.createSession(a.ID), tc.createSession(b.ID)
	j1 := sim.QueueJob(Job{Labels: []string{"linux"}, Owner: "acme", Repository: "app"})
	j2 := sim.QueueJob(Job{Labels: []string{"a"}, Owner: "acme", Repository: "app"})
	// Both sets got j1; only a got j2.
	_, ja := qa.next(0, -1)
	_, jb := qb.next(0, -1)
	if len(ja) != 2 || len(jb) != 1 || jb[0].RunnerRequestID != j1 {
		t.Fatalf("a got %v, b got %v", types(ja), types(jb))
	}
	if got := qb.acquire(j1, j2, 424242); !slices.Equal(got, []int64{j1}) {
		t.Fatalf("b acquired %v, want only %d", got, j1)
	}
	if got := qa.acquire(j1, j2); !slices.Equal(got, []int64{j2}) {
		t.Fatalf("a acquired %v, want only %d (j1 is b's)", got, j2)
	}
	if s := stats(t, sim, a.ID); s.TotalAvailableJobs != 0 || s.TotalAssignedJobs != 1 {
		t.Errorf("a: %+v", s)
	}
}

func TestJobLifecycleAndStatistics(t *testing.T) {
	sim := newSim(t, Options{LongPollHold: 50 * time.Millisecond})
	tc := register(t, sim, "acme")
	rs := tc.createScaleSet("linux")
	qc := tc.createSession(rs.ID)
	jit := tc.generateJIT(rs.ID, "linux-runner-abcde")
	if s := stats(t, sim, rs.ID); s.TotalRegisteredRunners != 1 || s.TotalIdleRunners != 1 {
		t.Errorf("after JIT: %+v", s)
	}
	id := sim.QueueJob(Job{Labels: []string{"linux"}, Owner: "acme", Repository: "app", Result: "failed"})
	checkInvariants(t, stats(t, sim, rs.ID))
	qc.acquire(id)
	checkInvariants(t, stats(t, sim, rs.ID))

	rn, err := sim.ConnectRunner(jit.EncodedJITConfig)
	if err != nil || rn.ID != jit.Runner.ID || !rn.Online || rn.Busy || rn.ScaleSetID != rs.ID {
		t.Fatalf("connect = %+v, %v", rn, err)
	}
	js, ok := sim.AcquireRunnerJob(rn.ID)
	if !ok || js.RequestID != id || js.State != JobRunning || js.RunnerName != "linux-runner-abcde" {
		t.Fatalf("runner job = %+v", js)
	}
	s := stats(t, sim, rs.ID)
	checkInvariants(t, s)
	if s.TotalRunningJobs != 1 || s.TotalBusyRunners != 1 || s.TotalAssignedJobs != 1 {
		t.Errorf("running: %+v", s)
	}
	if err := sim.CompleteRunnerJob(rn.ID, ""); err != nil {
		t.Fatal(err)
	}
	if s := stats(t, sim, rs.ID); s != (Statistics{}) {
		t.Errorf("after completion: %+v, want all zero (the ephemeral runner is gone)", s)
	}
	jobs := qc.drain()
	if got := strings.Join(types(jobs), " "); got != "JobAvailable:"+strconv.FormatInt(id, 10)+" JobAssigned:"+strconv.FormatInt(id, 10)+
		" JobStarted:"+strconv.FormatInt(id, 10)+" JobCompleted:"+strconv.FormatInt(id, 10) {
		t.Fatalf("messages %s", got)
	}
	started, completed := jobs[2], jobs[3]
	if started.RunnerID != rn.ID || started.RunnerName != "linux-runner-abcde" || started.RunnerAssignTime.IsZero() {
		t.Errorf("JobStarted = %+v", started)
	}
	if completed.Result != "failed" || completed.RunnerID != rn.ID || completed.FinishTime.IsZero() {
		t.Errorf("JobCompleted = %+v", completed)
	}
	final, _ := sim.Job(id)
	if final.State != JobCompleted || final.Result != "failed" || final.Attempts != 1 || final.CompletedAt.IsZero() {
		t.Errorf("final = %+v", final)
	}
	if _, err := sim.ConnectRunner(jit.EncodedJITConfig); err == nil {
		t.Error("a finished ephemeral runner connected again")
	}
}

func TestAssignTimeoutCancelsAndRequeuesAtMostThreeTimes(t *testing.T) {
	fc := testingclock.NewFakeClock(time.Now())
	sim := newSim(t, Options{Clock: fc, AssignTimeout: 2 * time.Minute, ReofferAfter: -1, AdminTokenTTL: time.Hour, LongPollHold: time.Minute})
	tc := register(t, sim, "acme")
	rs := tc.createScaleSet("linux")
	qc := tc.createSession(rs.ID)
	id := sim.QueueJob(Job{Labels: []string{"linux"}, Owner: "acme", Repository: "app"})
	if jobs := qc.drain(); len(jobs) != 1 || jobs[0].MessageType != "JobAvailable" {
		t.Fatalf("first offer: %v", types(jobs))
	}
	for attempt := 1; attempt <= MaxRequeues+1; attempt++ {
		qc.acquire(id)
		if jobs := qc.drain(); len(jobs) != 1 || jobs[0].MessageType != "JobAssigned" {
			t.Fatalf("attempt %d: %v", attempt, types(jobs))
		}
		js, _ := sim.Job(id)
		if js.Attempts != attempt || js.State != JobAssigned {
			t.Fatalf("attempt %d: %+v", attempt, js)
		}
		fc.Step(time.Minute)
		if js, _ := sim.Job(id); js.State != JobAssigned {
			t.Fatalf("canceled before AssignTimeout: %+v", js)
		}
		fc.Step(time.Minute) // no runner took it
		eventually(t, "the assignment to be canceled", func() bool {
			js, _ := sim.Job(id)
			return js.State != JobAssigned
		})
		m, jobs := qc.next(0, -1)
		if jobs[0].MessageType != "JobCompleted" || jobs[0].Result != "canceled" || jobs[0].RunnerRequestID != id {
			t.Fatalf("attempt %d: %v %+v", attempt, types(jobs), jobs[0])
		}
		js, _ = sim.Job(id)
		if attempt <= MaxRequeues {
			// Queued again, and offered again in the same message.
			if js.State != JobQueued || len(jobs) != 2 || jobs[1].MessageType != "JobAvailable" ||
				m.Statistics.TotalAvailableJobs != 1 || m.Statistics.TotalAssignedJobs != 0 {
				t.Fatalf("attempt %d: job %+v, messages %v, statistics %+v", attempt, js, types(jobs), m.Statistics)
			}
			qc.ack(m.MessageID)
		} else if js.State != JobCompleted || js.Result != "canceled" || len(jobs) != 1 {
			t.Fatalf("after %d attempts: %+v, messages %v", attempt, js, types(jobs))
		}
		checkInvariants(t, stats(t, sim, rs.ID))
	}
	if s := stats(t, sim, rs.ID); s.TotalAssignedJobs != 0 || s.TotalAvailableJobs != 0 {
		t.Errorf("final statistics %+v", s)
	}
}

func TestReofferLostJobs(t *testing.T) {
	fc := testingclock.NewFakeClock(time.Now())
	sim := newSim(t, Options{Clock: fc, ReofferAfter: time.Minute, AdminTokenTTL: time.Hour, LongPollHold: time.Minute})
	tc := register(t, sim, "acme")
	rs := tc.createScaleSet("linux")
	qc := tc.createSession(rs.ID)
	id := sim.QueueJob(Job{Labels: []string{"linux"}, Owner: "acme", Repository: "app"})
	m, _ := qc.next(0, -1)
	qc.ack(m.MessageID) // the listener lost it before acquiring
	fc.Step(time.Minute)
	_, jobs := qc.next(0, -1)
	if len(jobs) != 1 || jobs[0].MessageType != "JobAvailable" || jobs[0].RunnerRequestID != id {
		t.Fatalf("re-offer = %v", types(jobs))
	}
}

func TestScopeIsolation(t *testing.T) {
	sim := newSim(t, Options{LongPollHold: 50 * time.Millisecond})
	type set struct {
		tc *tenantClient
		qc *queueClient
		id int
	}
	sets := map[string]set{}
	for _, path := range []string{"acme/app", "acme/other", "acme", "globex", "enterprises/big"} {
		tc := register(t, sim, path)
		rs := tc.createScaleSet("linux") // the same name in every tenant
		sets[path] = set{tc, tc.createSession(rs.ID), rs.ID}
	}
	id := sim.QueueJob(Job{Labels: []string{"linux"}, Owner: "Acme", Repository: "App"})
	visible := map[string]int{"acme/app": 1, "acme/other": 0, "acme": 1, "globex": 0, "enterprises/big": 1}
	for path, want := range visible {
		if s := stats(t, sim, sets[path].id); s.TotalAvailableJobs != want {
			t.Errorf("%s sees %d available jobs, want %d", path, s.TotalAvailableJobs, want)
		}
	}
	for path, want := range visible {
		r, m := sets[path].qc.poll(0, -1)
		if (m != nil) != (want == 1) {
			t.Errorf("%s: poll %d", path, r.status)
		}
		// Acquiring a job of another scope gets nothing.
		if got := sets[path].qc.acquire(id); want == 0 && len(got) != 0 {
			t.Errorf("%s acquired a job outside its scope", path)
		}
	}
	// Tenants cannot reach each other's scale sets.
	wantStatus(t, sets["acme"].tc.admin("GET", "_apis/runtime/runnerscalesets/"+strconv.Itoa(sets["globex"].id), nil), http.StatusNotFound)
	wantStatus(t, sets["acme"].tc.admin("POST", "_apis/runtime/runnerscalesets/"+strconv.Itoa(sets["globex"].id)+"/generatejitconfig", `{"name":"x"}`), http.StatusNotFound)
	// A queue token of one scale set is not another's.
	wantStatus(t, call(t, "GET", sets["globex"].qc.sess.MessageQueueURL, "Bearer "+sets["acme"].qc.sess.MessageQueueAccessToken, nil), http.StatusUnauthorized)
}

func TestJITConfigAndRunners(t *testing.T) {
	sim := newSim(t, Options{LongPollHold: 50 * time.Millisecond})
	tc := register(t, sim, "acme")
	rs := tc.createScaleSet("linux")
	jit := tc.generateJIT(rs.ID, "runner-a")
	if jit.Runner == nil || jit.Runner.ID == 0 || jit.Runner.Name != "runner-a" || jit.Runner.RunnerScaleSetID != rs.ID {
		t.Fatalf("runner = %+v", jit.Runner)
	}
	raw, err := base64.StdEncoding.DecodeString(jit.EncodedJITConfig)
	if err != nil {
		t.Fatal(err)
	}
	var files map[string]string
	if err := json.Unmarshal(raw, &files); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{".runner", ".credentials", ".credentials_rsaparams"} {
		b, err := base64.StdEncoding.DecodeString(files[f])
		if err != nil || !json.Valid(b) {
			t.Errorf("%s is not base64 JSON: %q", f, files[f])
		}
	}
	runnerFile, _ := base64.StdEncoding.DecodeString(files[".runner"])
	if !bytes.Contains(runnerFile, []byte(`"agentName":"runner-a"`)) {
		t.Errorf(".runner = %s", runnerFile)
	}
	// Each config is unique, even for the same name after removal.
	r := tc.admin("POST", "_apis/runtime/runnerscalesets/"+strconv.Itoa(rs.ID)+"/generatejitconfig", `{"name":"runner-a","workFolder":""}`)
	wantStatus(t, r, http.StatusConflict)
	if e := r.serviceError(t); !strings.Contains(e.TypeName, "AgentExistsException") {
		t.Errorf("duplicate = %+v", e)
	}
	// The name is taken in the whole tenant, not only the scale set.
	other := tc.createScaleSet("other")
	wantStatus(t, tc.admin("POST", "_apis/runtime/runnerscalesets/"+strconv.Itoa(other.ID)+"/generatejitconfig", `{"name":"RUNNER-A"}`), http.StatusConflict)

	agents := "_apis/distributedtask/pools/0/agents"
	r = tc.admin("GET", agents+"/"+strconv.Itoa(jit.Runner.ID), nil)
	wantStatus(t, r, http.StatusOK)
	var ref actions.RunnerReference
	r.decode(t, &ref)
	if ref != *jit.Runner {
		t.Errorf("by id = %+v", ref)
	}
	r = tc.admin("GET", agents+"?agentName=runner-a", nil)
	var l actions.List[actions.RunnerReference]
	r.decode(t, &l)
	if l.Count != 1 || l.Value[0] != *jit.Runner {
		t.Errorf("by name = %+v", l)
	}
	r = tc.admin("GET", agents+"/424242", nil)
	wantStatus(t, r, http.StatusNotFound)
	if e := r.serviceError(t); !strings.Contains(e.TypeName, "AgentNotFoundException") {
		t.Errorf("missing = %+v", e)
	}

	// Busy runners cannot be removed.
	qc := tc.createSession(rs.ID)
	id := sim.QueueJob(Job{Labels: []string{"linux"}, Owner: "acme", Repository: "app"})
	qc.acquire(id)
	rn, _ := sim.ConnectRunner(jit.EncodedJITConfig)
	sim.AcquireRunnerJob(rn.ID)
	r = tc.admin("DELETE", agents+"/"+strconv.Itoa(rn.ID), nil)
	wantStatus(t, r, http.StatusBadRequest)
	if e := r.serviceError(t); !strings.Contains(e.TypeName, "JobStillRunningException") {
		t.Errorf("busy = %+v", e)
	}
	// Offline mid-job: the job runs on while its lock holds and the runner cannot be removed;
	// once the lock lapsed the job fails and the runner can be removed.
	sim.DisconnectRunner(rn.ID)
	if js, _ := sim.Job(id); js.State != JobRunning || js.RunnerLostAt.IsZero() {
		t.Errorf("job of a disconnected runner, within its lock: %+v", js)
	}
	wantStatus(t, tc.admin("DELETE", agents+"/"+strconv.Itoa(rn.ID), nil), http.StatusBadRequest)
	sim.SetRunnerLostTimeout(time.Nanosecond)
	if js, _ := sim.Job(id); js.State != JobCompleted || js.Result != "failed" || !js.LostRunner {
		t.Errorf("job of a disconnected runner: %+v", js)
	}
	wantStatus(t, tc.admin("DELETE", agents+"/"+strconv.Itoa(rn.ID), nil), http.StatusNoContent)
	wantStatus(t, tc.admin("DELETE", agents+"/"+strconv.Itoa(rn.ID), nil), http.StatusNoContent) // missing: 204 too
	if _, err := sim.ConnectRunner(jit.EncodedJITConfig); err == nil {
		t.Error("a removed runner connected")
	}
	if _, err := sim.ConnectRunner("not-a-config"); err == nil {
		t.Error("an unknown config connected")
	}
	jit2 := tc.generateJIT(rs.ID, "runner-a")
	if jit2.EncodedJITConfig == jit.EncodedJITConfig || jit2.Runner.ID == jit.Runner.ID {
		t.Error("a new registration reused the old config or id")
	}
}

func TestAcquirableJobs(t *testing.T) {
	sim := newSim(t, Options{})
	tc := register(t, sim, "acme")
	rs := tc.createScaleSet("linux")
	path := "_apis/runtime/runnerscalesets/" + strconv.Itoa(rs.ID) + "/acquirablejobs"
	wantStatus(t, tc.admin("GET", path, nil), http.StatusNoContent)
	id := sim.QueueJob(Job{Labels: []string{"linux"}, Owner: "acme", Repository: "app"})
	r := tc.admin("GET", path, nil)
	wantStatus(t, r, http.StatusOK)
	var l actions.List[actions.JobMessage]
	r.decode(t, &l)
	if l.Count != 1 || l.Value[0].RunnerRequestID != id || l.Value[0].AcquireJobURL == "" {
		t.Errorf("acquirable = %+v", l)
	}
}

func TestResponseBOM(t *testing.T) {
	sim := newSim(t, Options{ResponseBOM: true})
	tc := register(t, sim, "acme")
	r := tc.admin("GET", "_apis/runtime/runnergroups/?groupName=Default", nil)
	if !bytes.HasPrefix(r.body, bom) {
		t.Fatalf("no BOM: %q", r.body[:10])
	}
	var l actions.List[actions.RunnerGroup]
	r.decode(t, &l)
	if l.Count != 1 {
		t.Errorf("%+v", l)
	}
}
