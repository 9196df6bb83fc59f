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
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"actions.dev/runnerset-apiserver/pkg/github/actions"
)

// The tests speak to the simulator with plain net/http, as a client on the wire would.

type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(bytes.TrimPrefix(r.body, bom), v); err != nil {
		t.Fatalf("decoding %q: %v", r.body, err)
	}
}

func (r reply) serviceError(t *testing.T) actions.ErrorBody {
	t.Helper()
	var e actions.ErrorBody
	r.decode(t, &e)
	return e
}

// call sends one request. auth is the whole Authorization header ("" for none); body is
// sent as is when it is a string or []byte, else JSON-encoded.
func call(t *testing.T, method, url, auth string, body any, headers ...string) reply {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	return callCtx(ctx, t, method, url, auth, body, headers...)
}

func callCtx(ctx context.Context, t *testing.T, method, url, auth string, body any, headers ...string) reply {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: b}
}

func wantStatus(t *testing.T, r reply, want int) {
	t.Helper()
	if r.status != want {
		t.Fatalf("status %d, want %d; body %s", r.status, want, r.body)
	}
}

const api = "api-version=" + actions.APIVersion

// newSim starts a simulator for a test and closes it when the test ends (simtest.New, which
// this package's own tests cannot import).
func newSim(t testing.TB, o Options) *Simulator {
	t.Helper()
	s, err := Start(o)
	if err != nil {
		t.Fatalf("starting the GitHub simulator: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// tenantClient is an admin of one tenant, as the scaler would be after the token chain.
type tenantClient struct {
	t     *testing.T
	sim   *Simulator
	url   string // tenant base URL, ending in "/"
	token string
}

// register runs the PAT token chain for a config path ("acme", "acme/app",
// "enterprises/big") and returns the tenant's admin.
func register(t *testing.T, sim *Simulator, path string) *tenantClient {
	t.Helper()
	var regPath string
	switch parts := strings.Split(path, "/"); {
	case len(parts) == 1:
		regPath = "/orgs/" + path
	case parts[0] == "enterprises":
		regPath = "/" + path
	default:
		regPath = "/repos/" + path
	}
	configURL := sim.ConfigURL(path) // declares the account
	r := call(t, "POST", sim.URL()+"/api/v3"+regPath+"/actions/runners/registration-token", "Bearer "+DefaultPAT, nil)
	wantStatus(t, r, http.StatusCreated)
	var reg struct {
		Token string `json:"token"`
	}
	r.decode(t, &reg)
	r = call(t, "POST", sim.URL()+"/api/v3/actions/runner-registration", "RemoteAuth "+reg.Token,
		map[string]string{"url": configURL, "runner_event": "register"})
	wantStatus(t, r, http.StatusCreated)
	var out struct {
		URL   string `json:"url"`
		Token string `json:"token"`
	}
	r.decode(t, &out)
	return &tenantClient{t: t, sim: sim, url: out.URL, token: out.Token}
}

// admin sends an admin call; path is relative to the tenant and gets api-version.
func (tc *tenantClient) admin(method, path string, body any) reply {
	tc.t.Helper()
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	return call(tc.t, method, tc.url+path+sep+api, "Bearer "+tc.token, body)
}

func (tc *tenantClient) createScaleSet(name string, labels ...string) actions.RunnerScaleSet {
	tc.t.Helper()
	ls := []actions.Label{{Type: "System", Name: name}}
	for _, l := range labels {
		ls = append(ls, actions.Label{Type: "System", Name: l})
	}
	r := tc.admin("POST", "_apis/runtime/runnerscalesets", actions.RunnerScaleSet{
		Name: name, RunnerGroupID: 1, Labels: ls, RunnerSetting: actions.RunnerSetting{DisableUpdate: true},
	})
	wantStatus(tc.t, r, http.StatusOK)
	var rs actions.RunnerScaleSet
	r.decode(tc.t, &rs)
	return rs
}

func (tc *tenantClient) createSession(id int) *queueClient {
	tc.t.Helper()
	r := tc.admin("POST", "_apis/runtime/runnerscalesets/"+strconv.Itoa(id)+"/sessions",
		map[string]string{"sessionId": "00000000-0000-0000-0000-000000000000", "ownerName": "listener-0"})
	wantStatus(tc.t, r, http.StatusOK)
	var sess actions.Session
	r.decode(tc.t, &sess)
	return &queueClient{t: tc.t, tc: tc, scaleSetID: id, sess: sess}
}

func (tc *tenantClient) generateJIT(scaleSetID int, name string) actions.JitConfig {
	tc.t.Helper()
	r := tc.admin("POST", "_apis/runtime/runnerscalesets/"+strconv.Itoa(scaleSetID)+"/generatejitconfig",
		map[string]string{"name": name, "workFolder": ""})
	wantStatus(tc.t, r, http.StatusOK)
	var jc actions.JitConfig
	r.decode(tc.t, &jc)
	return jc
}

// queueClient is a listener: one session's message queue.
type queueClient struct {
	t          *testing.T
	tc         *tenantClient
	scaleSetID int
	sess       actions.Session
}

// poll long-polls once; capacity < 0 sends no X-ScaleSetMaxCapacity.
func (qc *queueClient) poll(lastID int64, capacity int) (reply, *actions.Message) {
	qc.t.Helper()
	u := qc.sess.MessageQueueURL
	if lastID > 0 {
		u += "&lastMessageId=" + strconv.FormatInt(lastID, 10)
	}
	var headers []string
	headers = append(headers, "Accept", "application/json; api-version="+actions.APIVersion)
	if capacity >= 0 {
		headers = append(headers, "X-ScaleSetMaxCapacity", strconv.Itoa(capacity))
	}
	r := call(qc.t, "GET", u, "Bearer "+qc.sess.MessageQueueAccessToken, nil, headers...)
	if r.status != http.StatusOK || len(r.body) == 0 {
		return r, nil
	}
	var m actions.Message
	r.decode(qc.t, &m)
	return r, &m
}

// pollAsync long-polls from another goroutine (no t.Fatal there) and delivers the status.
func (qc *queueClient) pollAsync() <-chan int {
	out := make(chan int, 1)
	req, err := http.NewRequestWithContext(qc.t.Context(), "GET", qc.sess.MessageQueueURL, nil)
	if err != nil {
		qc.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+qc.sess.MessageQueueAccessToken)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			out <- -1
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		out <- resp.StatusCode
	}()
	return out
}

// next polls until a message arrives (the hold in these tests is long, so one poll is
// normally enough) and returns it with its parsed job messages.
func (qc *queueClient) next(lastID int64, capacity int) (*actions.Message, []actions.JobMessage) {
	qc.t.Helper()
	r, m := qc.poll(lastID, capacity)
	if m == nil {
		qc.t.Fatalf("poll: status %d, want a message; body %s", r.status, r.body)
	}
	jobs, err := actions.ParseJobMessages(m.Body)
	if err != nil {
		qc.t.Fatal(err)
	}
	return m, jobs
}

func (qc *queueClient) ack(id int64) {
	qc.t.Helper()
	base, query, _ := strings.Cut(qc.sess.MessageQueueURL, "?")
	r := call(qc.t, "DELETE", base+"/"+strconv.FormatInt(id, 10)+"?"+query, "Bearer "+qc.sess.MessageQueueAccessToken, nil)
	wantStatus(qc.t, r, http.StatusNoContent)
}

func (qc *queueClient) acquire(ids ...int64) []int64 {
	qc.t.Helper()
	r := call(qc.t, "POST", qc.tc.url+"_apis/runtime/runnerscalesets/"+strconv.Itoa(qc.scaleSetID)+"/acquirejobs?"+api,
		"Bearer "+qc.sess.MessageQueueAccessToken, ids)
	wantStatus(qc.t, r, http.StatusOK)
	var out actions.List[int64]
	r.decode(qc.t, &out)
	if out.Count != len(out.Value) {
		qc.t.Fatalf("acquirejobs count %d but %d values", out.Count, len(out.Value))
	}
	return out.Value
}

// drain acks every message until the queue is empty and returns all job messages seen.
func (qc *queueClient) drain() []actions.JobMessage {
	qc.t.Helper()
	var all []actions.JobMessage
	for {
		qc.tc.sim.mu.Lock()
		ss := qc.tc.sim.state.scaleSets[qc.scaleSetID]
		empty := ss == nil || len(ss.messages) == 0
		qc.tc.sim.mu.Unlock()
		if empty {
			return all
		}
		m, jobs := qc.next(0, -1)
		all = append(all, jobs...)
		qc.ack(m.MessageID)
	}
}

func types(jobs []actions.JobMessage) []string {
	out := make([]string, len(jobs))
	for i, j := range jobs {
		out[i] = j.MessageType + ":" + strconv.FormatInt(j.RunnerRequestID, 10)
	}
	return out
}

// eventually polls cond until it holds or 10 s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	err := wait.PollUntilContextTimeout(t.Context(), 5*time.Millisecond, 10*time.Second, true,
		func(context.Context) (bool, error) { return cond(), nil })
	if err != nil {
		t.Fatalf("timed out waiting for %s", what)
	}
}

func stats(t *testing.T, sim *Simulator, id int) Statistics {
	t.Helper()
	s, ok := sim.Statistics(id)
	if !ok {
		t.Fatalf("scale set %d not found", id)
	}
	return s
}

func checkInvariants(t *testing.T, s Statistics) {
	t.Helper()
	if s.TotalAssignedJobs < s.TotalRunningJobs || s.TotalRegisteredRunners != s.TotalBusyRunners+s.TotalIdleRunners ||
		s.TotalBusyRunners != s.TotalRunningJobs {
		t.Fatalf("statistics inconsistent: %+v", s)
	}
}
