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
	"time"

	"k8s.io/klog/v2"
)

// GitHub REST of workflow runs and jobs, what a server needs to re-run a job lost with its
// runner: read a job and its run, list a run's jobs (the scale set's messages carry the run id
// and the runner's name, not the REST job id), re-run a job. Shapes, codes and messages are
// GitHub's (REST API version 2022-11-28), fields the simulator does not model left out.

const (
	docsGetJob      = "https://docs.github.com/rest/actions/workflow-jobs#get-a-job-for-a-workflow-run"
	docsListRunJobs = "https://docs.github.com/rest/actions/workflow-jobs#list-jobs-for-a-workflow-run"
	docsGetRun      = "https://docs.github.com/rest/actions/workflow-runs#get-a-workflow-run"
	docsRerunJob    = "https://docs.github.com/rest/actions/workflow-runs#re-run-a-job-from-a-workflow-run"
)

// restWorkflowJob is a workflow job as GitHub REST shows it. Nullable fields are pointers.
type restWorkflowJob struct {
	ID              int64    `json:"id"`
	RunID           int64    `json:"run_id"`
	RunURL          string   `json:"run_url"`
	RunAttempt      int      `json:"run_attempt"`
	URL             string   `json:"url"`
	HTMLURL         string   `json:"html_url"`
	CheckRunURL     string   `json:"check_run_url"`
	Status          string   `json:"status"`
	Conclusion      *string  `json:"conclusion"`
	CreatedAt       string   `json:"created_at"`
	StartedAt       string   `json:"started_at"`
	CompletedAt     *string  `json:"completed_at"`
	Name            string   `json:"name"`
	Steps           []any    `json:"steps"`
	Labels          []string `json:"labels"`
	RunnerID        *int     `json:"runner_id"`
	RunnerName      *string  `json:"runner_name"`
	RunnerGroupID   *int     `json:"runner_group_id"`
	RunnerGroupName *string  `json:"runner_group_name"`
	WorkflowName    string   `json:"workflow_name"`
	HeadBranch      *string  `json:"head_branch"`
}

// restWorkflowRun is a workflow run as GitHub REST shows it.
type restWorkflowRun struct {
	ID           int64   `json:"id"`
	Name         string  `json:"name"`
	HeadBranch   *string `json:"head_branch"`
	Path         string  `json:"path"`
	RunNumber    int64   `json:"run_number"`
	RunAttempt   int     `json:"run_attempt"`
	Event        string  `json:"event"`
	Status       string  `json:"status"`
	Conclusion   *string `json:"conclusion"`
	URL          string  `json:"url"`
	HTMLURL      string  `json:"html_url"`
	JobsURL      string  `json:"jobs_url"`
	RerunURL     string  `json:"rerun_url"`
	CreatedAt    string  `json:"created_at"`
	UpdatedAt    string  `json:"updated_at"`
	RunStartedAt string  `json:"run_started_at"`
}

// restLinks are the URL bases an answer to a REST request names: the API's and the web's,
// GitHub's names for a request that came by one (api.github.com, github.com), else the REST
// listener as GitHub Enterprise Server (<origin>/api/v3, <origin>).
type restLinks struct{ api, web string }

func (s *Simulator) restLinksFor(r *http.Request) restLinks {
	if o := s.originsFor(r); o == s.named {
		return restLinks{api: o.rest, web: strings.Replace(o.rest, HostAPI, HostGitHub, 1)}
	}
	return restLinks{api: s.loopback.rest + "/api/v3", web: s.loopback.rest}
}

func (l restLinks) repo(run *workflowRun) (api, web string) {
	return l.api + "/repos/" + run.owner + "/" + run.repo, l.web + "/" + run.owner + "/" + run.repo
}

// ghTime is a timestamp as GitHub REST writes it: UTC, whole seconds.
func ghTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// workflowPath splits a job's workflow ref, "<owner>/<repo>/<path>@<ref>", into the workflow
// file's path and the branch or tag it ran on (nil for another ref, e.g. a pull request's).
func workflowPath(ref string) (string, *string) {
	path, gitRef, _ := strings.Cut(ref, "@")
	if parts := strings.SplitN(path, "/", 3); len(parts) == 3 {
		path = parts[2]
	}
	for _, prefix := range []string{"refs/heads/", "refs/tags/"} {
		if name, ok := strings.CutPrefix(gitRef, prefix); ok {
			return path, &name
		}
	}
	return path, nil
}

// workflowName is the run's name: the workflow's, else its file's path, as GitHub shows it.
func (r *workflowRun) workflowName() string {
	if r.name != "" {
		return r.name
	}
	path, _ := workflowPath(r.workflowRef)
	return path
}

// restJobLocked is j as GitHub REST shows it. A queued job's started_at is its creation, as
// on GitHub; runner_* are null until a runner took it.
func (st *state) restJobLocked(l restLinks, j *job) restWorkflowJob {
	api, web := l.repo(j.run)
	id, run := strconv.FormatInt(j.st.RESTJobID, 10), strconv.FormatInt(j.run.id, 10)
	_, branch := workflowPath(j.run.workflowRef)
	out := restWorkflowJob{
		ID: j.st.RESTJobID, RunID: j.run.id, RunURL: api + "/actions/runs/" + run, RunAttempt: j.st.RunAttempt,
		URL: api + "/actions/jobs/" + id, HTMLURL: web + "/actions/runs/" + run + "/job/" + id,
		CheckRunURL: api + "/check-runs/" + id, Status: restStatus(j.st.State),
		CreatedAt: ghTime(j.st.QueuedAt), StartedAt: ghTime(j.st.QueuedAt), Name: j.st.Job.DisplayName,
		Steps: []any{}, Labels: slices.Clone(j.st.Job.Labels), WorkflowName: j.run.workflowName(), HeadBranch: branch,
	}
	if out.Labels == nil {
		out.Labels = []string{}
	}
	if !j.st.StartedAt.IsZero() {
		out.StartedAt = ghTime(j.st.StartedAt)
		out.RunnerID, out.RunnerName = &j.st.RunnerID, &j.st.RunnerName
		if ss := st.scaleSets[j.st.ScaleSetID]; ss != nil {
			out.RunnerGroupID, out.RunnerGroupName = &ss.rs.RunnerGroupID, &ss.rs.RunnerGroupName
		}
	}
	if j.st.State == JobCompleted {
		done, conclusion := ghTime(j.st.CompletedAt), restConclusion(j.st.Result)
		out.CompletedAt, out.Conclusion = &done, &conclusion
	}
	return out
}

// restRun is r as GitHub REST shows it.
func (l restLinks) restRun(r *workflowRun) restWorkflowRun {
	api, web := l.repo(r)
	id := strconv.FormatInt(r.id, 10)
	path, branch := workflowPath(r.workflowRef)
	status, conclusion := r.status()
	return restWorkflowRun{
		ID: r.id, Name: r.workflowName(), HeadBranch: branch, Path: path, RunNumber: r.number, RunAttempt: r.attempt,
		Event: r.event, Status: status, Conclusion: conclusion,
		URL: api + "/actions/runs/" + id, HTMLURL: web + "/actions/runs/" + id, JobsURL: api + "/actions/runs/" + id + "/jobs",
		RerunURL: api + "/actions/runs/" + id + "/rerun", CreatedAt: ghTime(r.createdAt), UpdatedAt: ghTime(r.updatedAt),
		RunStartedAt: ghTime(r.attemptAt),
	}
}

// inRepo reports whether the run is of the repository sc.
func (r *workflowRun) inRepo(sc scope) bool {
	return strings.EqualFold(r.owner, sc.org) && strings.EqualFold(r.repo, sc.repo)
}

// pathID reads a numeric path value; an id that is no number names nothing (404).
func pathID(r *http.Request, name string) int64 {
	n, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil {
		return -1
	}
	return n
}

// authActions authenticates and authorizes a call on the workflow runs of the repository
// in the path (see authREST), answering itself when the call must stop.
func (s *Simulator) authActions(w http.ResponseWriter, r *http.Request, write bool, doc string) (scope, bool) {
	sc := scopeFromPath(r)
	_, ok := s.authREST(w, r, restCheck{charge: true, scope: &sc, write: write, need: &actionsNeed, doc: doc})
	return sc, ok
}

// handleGetWorkflowJob: GET /repos/{owner}/{repo}/actions/jobs/{job}.
func (s *Simulator) handleGetWorkflowJob(w http.ResponseWriter, r *http.Request) {
	sc, ok := s.authActions(w, r, false, docsGetJob)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.state.restJobs[pathID(r, "job")]
	if j == nil || !j.run.inRepo(sc) {
		writeGitHubErrorDoc(w, http.StatusNotFound, "Not Found", docsGetJob)
		return
	}
	writeGitHubJSON(w, http.StatusOK, s.state.restJobLocked(s.restLinksFor(r), j))
}

// handleGetWorkflowRun: GET /repos/{owner}/{repo}/actions/runs/{run}.
func (s *Simulator) handleGetWorkflowRun(w http.ResponseWriter, r *http.Request) {
	sc, ok := s.authActions(w, r, false, docsGetRun)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	run := s.state.runs[pathID(r, "run")]
	if run == nil || !run.inRepo(sc) {
		writeGitHubErrorDoc(w, http.StatusNotFound, "Not Found", docsGetRun)
		return
	}
	writeGitHubJSON(w, http.StatusOK, s.restLinksFor(r).restRun(run))
}

// handleListWorkflowRunJobs: GET /repos/{owner}/{repo}/actions/runs/{run}/jobs with
// filter=latest (default: the newest attempt of each job) or all (every attempt), paginated.
func (s *Simulator) handleListWorkflowRunJobs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	perPage, page := pageParams(q)
	sc, ok := s.authActions(w, r, false, docsListRunJobs)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	run := s.state.runs[pathID(r, "run")]
	if run == nil || !run.inRepo(sc) {
		writeGitHubErrorDoc(w, http.StatusNotFound, "Not Found", docsListRunJobs)
		return
	}
	all := run.latest()
	if q.Get("filter") == "all" {
		all = run.jobs
	}
	links := s.restLinksFor(r)
	jobs := []restWorkflowJob{}
	for i := (page - 1) * perPage; i >= 0 && i < len(all) && len(jobs) < perPage; i++ {
		jobs = append(jobs, s.state.restJobLocked(links, all[i]))
	}
	if last := (len(all) + perPage - 1) / perPage; last > 1 {
		w.Header().Set("Link", linkHeader(s.originsFor(r).rest+r.URL.Path, q, page, last))
	}
	writeGitHubJSON(w, http.StatusOK, map[string]any{"total_count": len(all), "jobs": jobs})
}

// handleRerunWorkflowJob: POST /repos/{owner}/{repo}/actions/jobs/{job}/rerun, 201 {}. While
// the job's run has a job that is not completed (the job itself included), 403 "This
// workflow is already running", GitHub's refusal of a re-run of a run that has not concluded.
func (s *Simulator) handleRerunWorkflowJob(w http.ResponseWriter, r *http.Request) {
	sc, ok := s.authActions(w, r, true, docsRerunJob)
	if !ok {
		return
	}
	var body struct {
		EnableDebugLogging bool `json:"enable_debug_logging"`
	}
	if err := decodeBody(r, &body); err != nil {
		writeGitHubErrorDoc(w, http.StatusBadRequest, "Problems parsing JSON", docsRerunJob)
		return
	}
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.state.restJobs[pathID(r, "job")]
	if j == nil || !j.run.inRepo(sc) {
		writeGitHubErrorDoc(w, http.StatusNotFound, "Not Found", docsRerunJob)
		return
	}
	if _, err := s.state.rerunLocked(j, now); err != nil {
		klog.V(2).InfoS("Refusing a re-run of a run in progress", "job", j.st.RequestID, "run", j.run.id)
		writeGitHubErrorDoc(w, http.StatusForbidden, err.Error(), docsRerunJob)
		return
	}
	writeGitHubJSON(w, http.StatusCreated, struct{}{})
}
