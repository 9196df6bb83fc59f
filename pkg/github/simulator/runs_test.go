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
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v62/github"
	testingclock "k8s.io/utils/clock/testing"

	"actions.dev/runnerset-apiserver/pkg/github/actions"
)

// runFixture is a repository scale set with a listener on a fake clock, whose sessions and
// tokens outlive the clock steps.
type runFixture struct {
	t   *testing.T
	sim *Simulator
	fc  *testingclock.FakeClock
	tc  *tenantClient
	qc  *queueClient
	rs  actions.RunnerScaleSet
	// jits are the runners' JIT configs, by runner id.
	jits map[int]string
}

func newRunFixture(t *testing.T, o Options) *runFixture {
	t.Helper()
	fc := testingclock.NewFakeClock(time.Now())
	o.Clock, o.AdminTokenTTL, o.QueueTokenTTL = fc, 24*time.Hour, 24*time.Hour
	o.SessionIdleTimeout, o.ReofferAfter, o.LongPollHold = -1, -1, time.Minute
	return fixtureOn(t, newSim(t, o), fc)
}

// fixtureOn is a runFixture on sim, whose clock is fc (nil: not a fake clock).
func fixtureOn(t *testing.T, sim *Simulator, fc *testingclock.FakeClock) *runFixture {
	t.Helper()
	tc := register(t, sim, "acme/app")
	rs := tc.createScaleSet("linux")
	return &runFixture{t: t, sim: sim, fc: fc, tc: tc, qc: tc.createSession(rs.ID), rs: rs, jits: map[int]string{}}
}

// start queues j (labels linux, acme/app unless set), has the scale set acquire it and a new
// runner named name take it, and returns its request id and the runner. The queue is drained.
func (f *runFixture) start(name string, j Job) (int64, RunnerInfo) {
	f.t.Helper()
	if j.Owner == "" {
		j.Labels, j.Owner, j.Repository = []string{"linux"}, "acme", "app"
	}
	id := f.sim.QueueJob(j)
	f.qc.drain()
	if got := f.qc.acquire(id); len(got) != 1 {
		f.t.Fatalf("acquired %v, want [%d]", got, id)
	}
	return id, f.takeBy(name, id)
}

// takeBy has a new runner named name take the assigned job id.
func (f *runFixture) takeBy(name string, id int64) RunnerInfo {
	f.t.Helper()
	jit := f.tc.generateJIT(f.rs.ID, name).EncodedJITConfig
	rn, err := f.sim.ConnectRunner(jit)
	if err != nil {
		f.t.Fatal(err)
	}
	f.jits[rn.ID] = jit
	if js, ok := f.sim.AcquireRunnerJob(rn.ID); !ok || js.RequestID != id {
		f.t.Fatalf("runner %s took %+v (%v), want job %d", name, js, ok, id)
	}
	f.qc.drain()
	return rn
}

func (f *runFixture) job(id int64) JobStatus {
	f.t.Helper()
	js, ok := f.sim.Job(id)
	if !ok {
		f.t.Fatalf("job %d unknown", id)
	}
	return js
}

// rest calls GitHub REST of the simulator with a token.
func (f *runFixture) rest(method, path, token string, body any) reply {
	f.t.Helper()
	return call(f.t, method, f.sim.URL()+"/api/v3"+path, "Bearer "+token, body)
}

// vanishCase is a runner going away mid-job.
type vanishCase struct {
	name    string
	timeout time.Duration // Options.RunnerLostTimeout
	// after runs once the runner went away and ends the job; it returns how long after the
	// runner went away the job ended.
	after      func(f *runFixture, id int64, rn RunnerInfo) time.Duration
	wantResult string
	wantLost   bool
}

func vanishCases() []vanishCase {
	return []vanishCase{{
		name: "fails when its job lock lapses, after the default timeout",
		after: func(f *runFixture, id int64, _ RunnerInfo) time.Duration {
			f.fc.Step(DefaultRunnerLostTimeout - time.Second)
			f.wantLostRunning(id)
			f.fc.Step(time.Second)
			return DefaultRunnerLostTimeout
		},
		wantResult: ResultFailed, wantLost: true,
	}, {
		name: "back before the lapse: keeps its job and completes it", timeout: time.Minute,
		after: func(f *runFixture, id int64, rn RunnerInfo) time.Duration {
			f.fc.Step(30 * time.Second)
			if _, err := f.sim.ConnectRunner(f.jits[rn.ID]); err != nil { // its process restarted
				f.t.Fatal(err)
			}
			f.fc.Step(time.Minute)
			if js := f.job(id); js.State != JobRunning || !js.RunnerLostAt.IsZero() {
				f.t.Fatalf("after the runner came back: %+v", js)
			}
			if err := f.sim.CompleteRunnerJob(rn.ID, ""); err != nil {
				f.t.Fatal(err)
			}
			return 90 * time.Second
		},
		wantResult: ResultSucceeded,
	}, {
		name: "negative timeout: fails as soon as the runner goes away", timeout: -1,
		after:      func(*runFixture, int64, RunnerInfo) time.Duration { return 0 },
		wantResult: ResultFailed, wantLost: true,
	}, {
		name: "timeout shortened at run time: a job already due fails at once", timeout: time.Hour,
		after: func(f *runFixture, id int64, _ RunnerInfo) time.Duration {
			f.fc.Step(2 * time.Minute)
			f.wantLostRunning(id)
			if _, err := NewControlClient(f.sim.URL()).UpdateSettings(Settings{RunnerLostTimeout: time.Minute}); err != nil {
				f.t.Fatal(err)
			}
			return 2 * time.Minute
		},
		wantResult: ResultFailed, wantLost: true,
	}}
}

func TestRunnerThatVanishesMidJob(t *testing.T) {
	for _, tc := range vanishCases() {
		t.Run(tc.name, func(t *testing.T) {
			f := newRunFixture(t, Options{RunnerLostTimeout: tc.timeout})
			id, rn := f.start("runner-a", Job{})
			lostAt := f.fc.Now()
			f.sim.DisconnectRunner(rn.ID)
			after := tc.after(f, id, rn)
			eventually(t, "the job to end", func() bool { return f.job(id).State == JobCompleted })
			js := f.job(id)
			if js.Result != tc.wantResult || js.LostRunner != tc.wantLost || !js.CompletedAt.Equal(lostAt.Add(after)) {
				t.Errorf("job = %+v, want %s (lost runner %v) at +%v", js, tc.wantResult, tc.wantLost, after)
			}
			completed := f.qc.drain()
			if len(completed) != 1 || completed[0].MessageType != MessageJobCompleted || completed[0].Result != tc.wantResult ||
				completed[0].RunnerRequestID != id || completed[0].RunnerName != rn.Name {
				t.Errorf("messages = %+v, want JobCompleted %s", completed, tc.wantResult)
			}
			wantLost := 0
			if tc.wantLost {
				wantLost = 1
			}
			if c := f.sim.Counters(); c.LostRunners != wantLost {
				t.Errorf("lostRunners = %d, want %d", c.LostRunners, wantLost)
			}
			checkInvariants(t, stats(t, f.sim, f.rs.ID))
		})
	}
}

// wantLostRunning checks that job id still runs on a runner that went away.
func (f *runFixture) wantLostRunning(id int64) {
	f.t.Helper()
	if js := f.job(id); js.State != JobRunning || js.RunnerLostAt.IsZero() || js.LostRunner {
		f.t.Fatalf("job before its lock lapsed: %+v", js)
	}
}

func TestLostRunnerHoldsItsJobUntilTheLockLapses(t *testing.T) {
	f := newRunFixture(t, Options{RunnerLostTimeout: time.Minute})
	id, rn := f.start("runner-a", Job{})
	f.sim.DisconnectRunner(rn.ID)
	// GitHub still counts the job as running on its (offline) runner, which it will not remove.
	if s := stats(t, f.sim, f.rs.ID); s.TotalRunningJobs != 1 || s.TotalBusyRunners != 1 {
		t.Errorf("statistics within the lock: %+v", s)
	}
	agent := "_apis/distributedtask/pools/0/agents/" + strconv.Itoa(rn.ID)
	wantStatus(t, f.tc.admin("DELETE", agent, nil), http.StatusBadRequest)
	f.fc.Step(time.Minute)
	eventually(t, "the job to fail", func() bool { return f.job(id).LostRunner })
	if s := stats(t, f.sim, f.rs.ID); s.TotalRunningJobs != 0 || s.TotalRegisteredRunners != 1 || s.TotalIdleRunners != 1 {
		t.Errorf("statistics after the lapse: %+v", s)
	}
	wantStatus(t, f.tc.admin("DELETE", agent, nil), http.StatusNoContent)
}

// TestRerunOfAJobLostWithItsRunner is what a server does: from the JobCompleted message of a
// job whose runner its cluster killed, find the job in GitHub REST (the message carries the
// run id and the runner's name, not the REST job id) and re-run it; a runner then runs
// attempt 2.
func TestRerunOfAJobLostWithItsRunner(t *testing.T) {
	f := newRunFixture(t, Options{RunnerLostTimeout: time.Minute})
	other, _ := f.start("runner-b", Job{Labels: []string{"linux"}, Owner: "acme", Repository: "app", DisplayName: "test"})
	id, rn := f.start("runner-a", Job{Labels: []string{"linux"}, Owner: "acme", Repository: "app", WorkflowRunID: f.job(other).WorkflowRunID})
	if err := f.sim.CompleteRunnerJob(f.job(other).RunnerID, ""); err != nil {
		t.Fatal(err)
	}
	f.qc.drain()
	f.sim.DisconnectRunner(rn.ID)
	f.fc.Step(time.Minute)
	eventually(t, "the job to fail", func() bool { return f.job(id).State == JobCompleted })
	msgs := f.qc.drain()
	if len(msgs) != 1 || msgs[0].MessageType != MessageJobCompleted {
		t.Fatalf("messages %v", types(msgs))
	}
	done := msgs[0]

	gh, err := github.NewClient(nil).WithAuthToken(DefaultPAT).WithEnterpriseURLs(f.sim.URL(), f.sim.URL())
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	list, _, err := gh.Actions.ListWorkflowJobs(ctx, done.OwnerName, done.RepositoryName, done.WorkflowRunID, nil)
	if err != nil || list.GetTotalCount() != 2 {
		t.Fatalf("jobs of run %d: %+v, %v", done.WorkflowRunID, list, err)
	}
	i := slices.IndexFunc(list.Jobs, func(j *github.WorkflowJob) bool { return j.GetRunnerName() == done.RunnerName })
	if i < 0 || list.Jobs[i].GetConclusion() != ConclusionFailure || list.Jobs[i].GetID() != f.job(id).RESTJobID {
		t.Fatalf("job of runner %s: %+v", done.RunnerName, list.Jobs)
	}
	if _, err := gh.Actions.RerunJobByID(ctx, done.OwnerName, done.RepositoryName, list.Jobs[i].GetID()); err != nil {
		t.Fatal(err)
	}

	f.runAttempt2(gh, id, done, list.Jobs[i].GetID())
}

// runAttempt2 checks the attempt 2 of job id, which a re-run of the REST job firstID made
// after the JobCompleted done, and has a runner run it.
func (f *runFixture) runAttempt2(gh *github.Client, id int64, done actions.JobMessage, firstID int64) {
	t, ctx := f.t, f.t.Context()
	t.Helper()
	attempts, _ := f.sim.JobAttempts(id)
	if len(attempts) != 2 || attempts[0].RequestID != id || attempts[0].State != JobCompleted || attempts[0].RerunAs != attempts[1].RequestID {
		t.Fatalf("attempts %+v", attempts)
	}
	again := attempts[1]
	if again.State != JobQueued || again.RunAttempt != 2 || again.WorkflowRunID != done.WorkflowRunID || again.RerunOf != id ||
		again.RESTJobID == firstID || again.JobGUID == done.JobID {
		t.Fatalf("attempt 2 = %+v", again)
	}
	if offered := f.qc.drain(); len(offered) != 1 || offered[0].MessageType != MessageJobAvailable || offered[0].RunnerRequestID != again.RequestID ||
		offered[0].WorkflowRunID != done.WorkflowRunID {
		t.Fatalf("offer of attempt 2: %+v", offered)
	}
	f.qc.acquire(again.RequestID)
	rn2 := f.takeBy("runner-c", again.RequestID)
	if err := f.sim.CompleteRunnerJob(rn2.ID, ""); err != nil {
		t.Fatal(err)
	}

	run, _, err := gh.Actions.GetWorkflowRunByID(ctx, "acme", "app", done.WorkflowRunID)
	if err != nil || run.GetRunAttempt() != 2 || run.GetStatus() != RESTStatusCompleted || run.GetConclusion() != ConclusionSuccess {
		t.Errorf("run = %+v, %v", run, err)
	}
	latest, _, _ := gh.Actions.ListWorkflowJobs(ctx, "acme", "app", done.WorkflowRunID, nil)
	all, _, _ := gh.Actions.ListWorkflowJobs(ctx, "acme", "app", done.WorkflowRunID, &github.ListWorkflowJobsOptions{Filter: "all"})
	if latest.GetTotalCount() != 2 || all.GetTotalCount() != 3 ||
		!slices.ContainsFunc(latest.Jobs, func(j *github.WorkflowJob) bool { return j.GetID() == again.RESTJobID && j.GetRunAttempt() == 2 }) {
		t.Errorf("latest %+v, all %+v", latest, all)
	}
	cc := NewControlClient(f.sim.URL())
	if viaControl, ok, err := cc.JobAttempts(again.RequestID); err != nil || !ok || len(viaControl) != 2 || viaControl[1].Result != ResultSucceeded {
		t.Errorf("control attempts = %+v, %v, %v", viaControl, ok, err)
	}
	if c, _ := cc.Counters(); c.Reruns != 1 || c.LostRunners != 1 || c.Endpoint(EPRerunWorkflowJob) != 1 {
		t.Errorf("counters = %+v", c)
	}
}

// jobIn makes a job of acme/app in state: "queued", "running", "succeeded", "failed",
// "canceled", or "completed in a busy run" (completed, another job of its run running).
func (f *runFixture) jobIn(state, runner string) JobStatus {
	f.t.Helper()
	var id int64
	switch state {
	case "queued":
		id = f.sim.QueueJob(Job{Labels: []string{"linux"}, Owner: "acme", Repository: "app"})
		f.qc.drain()
	case "running":
		id, _ = f.start(runner, Job{})
	case "completed in a busy run":
		first, rn := f.start(runner, Job{})
		f.start(runner+"-2", Job{Labels: []string{"linux"}, Owner: "acme", Repository: "app", WorkflowRunID: f.job(first).WorkflowRunID})
		if err := f.sim.CompleteRunnerJob(rn.ID, ""); err != nil {
			f.t.Fatal(err)
		}
		id = first
	default:
		var rn RunnerInfo
		id, rn = f.start(runner, Job{})
		if err := f.sim.CompleteRunnerJob(rn.ID, state); err != nil {
			f.t.Fatal(err)
		}
	}
	f.qc.drain()
	return f.job(id)
}

// credentialsEnv is a simulator with tokens of every kind: classic without repo
// (ghp_org_only), fine-grained with actions read or write, and installation tokens with
// actions write on acme, with ARC's permissions only on acme, and on globex.
func credentialsEnv(t *testing.T) (e *appEnv, actionsWrite, runnersOnly, elsewhere string) {
	t.Helper()
	e = newAppEnv(t, Options{PATs: []string{DefaultPAT}, Accounts: []string{"acme/app", "acme/other", "globex"},
		Tokens: []Token{
			{Value: "ghp_org_only", Scopes: []string{OAuthScopeAdminOrg}},
			{Value: "github_pat_actions_read", Permissions: map[string]string{PermissionActions: "read"}},
			{Value: "github_pat_actions_write", Permissions: map[string]string{PermissionActions: "write"}},
		}},
		Installation{ID: 31, Account: "acme", Permissions: map[string]string{PermissionActions: "write", PermissionMetadata: "read"}},
		Installation{ID: 32, Account: "acme"}, // what ARC asks for: no actions permission
		Installation{ID: 33, Account: "globex", Permissions: map[string]string{PermissionActions: "write"}})
	actionsWrite, _ = e.token(31)
	runnersOnly, _ = e.token(32)
	elsewhere, _ = e.token(33)
	return e, actionsWrite, runnersOnly, elsewhere
}

func TestRerunRefusals(t *testing.T) {
	e, actionsWrite, runnersOnly, elsewhere := credentialsEnv(t)
	f := fixtureOn(t, e.sim, nil)
	for i, tc := range []struct {
		name, state, method, token string
		repo                       string // default acme/app
		wantStatus                 int
		wantMessage                string
	}{
		{name: "a running job", state: "running", token: DefaultPAT, wantStatus: 403, wantMessage: "This workflow is already running"},
		{name: "a queued job", state: "queued", token: DefaultPAT, wantStatus: 403, wantMessage: "This workflow is already running"},
		{name: "a completed job of a run still running", state: "completed in a busy run", token: DefaultPAT, wantStatus: 403, wantMessage: "This workflow is already running"},
		{name: "a failed job", state: "failed", token: DefaultPAT, wantStatus: 201},
		{name: "a succeeded job", state: "succeeded", token: DefaultPAT, wantStatus: 201},
		{name: "a canceled job", state: "canceled", token: DefaultPAT, wantStatus: 201},
		{name: "no token", state: "failed", wantStatus: 401, wantMessage: "Requires authentication"},
		{name: "classic token without repo: the private repository is hidden", state: "failed", token: "ghp_org_only", wantStatus: 404, wantMessage: "Not Found"},
		{name: "classic token without repo reads nothing either", state: "failed", method: "GET", token: "ghp_org_only", wantStatus: 404, wantMessage: "Not Found"},
		{name: "fine-grained token with actions read", state: "failed", token: "github_pat_actions_read", wantStatus: 403, wantMessage: msgNotAccessibleByPAT},
		{name: "fine-grained token with actions read reads", state: "failed", method: "GET", token: "github_pat_actions_read", wantStatus: 200},
		{name: "fine-grained token with actions write", state: "failed", token: "github_pat_actions_write", wantStatus: 201},
		{name: "installation with actions write", state: "failed", token: actionsWrite, wantStatus: 201},
		{name: "installation without actions", state: "failed", token: runnersOnly, wantStatus: 403, wantMessage: msgNotAccessibleByIntegration},
		{name: "installation of another organization", state: "failed", token: elsewhere, wantStatus: 404, wantMessage: "Not Found"},
		{name: "the job is of another repository", state: "failed", token: DefaultPAT, repo: "acme/other", wantStatus: 404, wantMessage: "Not Found"},
		{name: "an account that does not exist", state: "failed", token: DefaultPAT, repo: "nobody/app", wantStatus: 404, wantMessage: "Not Found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			js := f.jobIn(tc.state, "r"+strconv.Itoa(i))
			repo, method, path := "acme/app", "POST", "/rerun"
			if tc.repo != "" {
				repo = tc.repo
			}
			if tc.method != "" {
				method, path = tc.method, ""
			}
			auth := ""
			if tc.token != "" {
				auth = "Bearer " + tc.token
			}
			r := call(t, method, e.sim.URL()+"/api/v3/repos/"+repo+"/actions/jobs/"+strconv.FormatInt(js.RESTJobID, 10)+path, auth, nil)
			if tc.wantMessage != "" {
				wantGitHubError(t, r, tc.wantStatus, tc.wantMessage, "")
			} else {
				wantStatus(t, r, tc.wantStatus)
			}
			attempts, _ := e.sim.JobAttempts(js.RequestID)
			if reran := tc.wantStatus == 201; reran != (len(attempts) == 2) || (reran && strings.TrimSpace(string(r.body)) != "{}") {
				t.Errorf("attempts after %d %s: %+v", r.status, r.body, attempts)
			}
		})
	}
}

func TestWorkflowJobAndRunAnswers(t *testing.T) {
	f := newRunFixture(t, Options{})
	gh, err := github.NewClient(nil).WithAuthToken(DefaultPAT).WithEnterpriseURLs(f.sim.URL(), f.sim.URL())
	if err != nil {
		t.Fatal(err)
	}
	for i, tc := range []struct {
		state                            string
		wantStatus, wantConclusion       string // conclusion "" is null
		wantRunner                       bool
		wantRunStatus, wantRunConclusion string
	}{
		{"queued", RESTStatusQueued, "", false, RESTStatusQueued, ""},
		{"running", RESTStatusInProgress, "", true, RESTStatusInProgress, ""},
		{"succeeded", RESTStatusCompleted, ConclusionSuccess, true, RESTStatusCompleted, ConclusionSuccess},
		{"failed", RESTStatusCompleted, ConclusionFailure, true, RESTStatusCompleted, ConclusionFailure},
		{"canceled", RESTStatusCompleted, ConclusionCancelled, true, RESTStatusCompleted, ConclusionCancelled},
	} {
		t.Run(tc.state, func(t *testing.T) {
			js := f.jobIn(tc.state, "r"+strconv.Itoa(i))
			job, _, err := gh.Actions.GetWorkflowJobByID(t.Context(), "acme", "app", js.RESTJobID)
			if err != nil {
				t.Fatal(err)
			}
			id, run := strconv.FormatInt(js.RESTJobID, 10), strconv.FormatInt(js.WorkflowRunID, 10)
			if job.GetID() != js.RESTJobID || job.GetRunID() != js.WorkflowRunID || job.GetRunAttempt() != 1 || job.GetName() != "build" ||
				job.GetStatus() != tc.wantStatus || job.GetConclusion() != tc.wantConclusion || !slices.Equal(job.Labels, []string{"linux"}) ||
				job.GetWorkflowName() != ".github/workflows/ci.yml" || job.GetHeadBranch() != "main" ||
				job.GetHTMLURL() != f.sim.URL()+"/acme/app/actions/runs/"+run+"/job/"+id ||
				job.GetURL() != f.sim.URL()+"/api/v3/repos/acme/app/actions/jobs/"+id {
				t.Errorf("job = %s", github.Stringify(job))
			}
			if (job.RunnerName != nil) != tc.wantRunner || (tc.wantRunner && (job.GetRunnerName() != js.RunnerName || job.GetRunnerGroupName() != "Default")) {
				t.Errorf("runner of %s", github.Stringify(job))
			}
			if (job.CompletedAt != nil) != (tc.wantConclusion != "") || job.GetStartedAt().Before(js.QueuedAt.Truncate(time.Second)) {
				t.Errorf("times of %s", github.Stringify(job))
			}
			r, _, err := gh.Actions.GetWorkflowRunByID(t.Context(), "acme", "app", js.WorkflowRunID)
			if err != nil || r.GetRunAttempt() != 1 || r.GetStatus() != tc.wantRunStatus || r.GetConclusion() != tc.wantRunConclusion ||
				r.GetHeadBranch() != "main" || r.GetEvent() != "push" || r.GetName() != ".github/workflows/ci.yml" {
				t.Errorf("run = %s, %v", github.Stringify(r), err)
			}
		})
	}
	wantStatus(t, f.rest("GET", "/repos/acme/app/actions/jobs/"+strconv.FormatInt(f.job(1001).WorkflowRunID, 10), DefaultPAT, nil), 404)
	wantStatus(t, f.rest("GET", "/repos/acme/app/actions/runs/1001", DefaultPAT, nil), 404)
	wantStatus(t, f.rest("GET", "/repos/acme/app/actions/runs/nope/jobs", DefaultPAT, nil), 404)
}
