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

package ghrest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/go-github/v62/github"

	"actions.dev/runnerset-apiserver/pkg/github/ratelimit"
)

// WorkflowJob is a job of a workflow run as GitHub's REST API shows it.
type WorkflowJob struct {
	ID         int64
	Name       string
	RunAttempt int64
	Status     string // queued, in_progress, completed, ...
	Conclusion string // success, failure, cancelled, ... once completed
	RunnerName string
}

// ErrRunNotFinished is GitHub's refusal to re-run a job while its run has jobs that did not
// complete: the re-run is to be asked for again later.
var ErrRunNotFinished = errors.New("the workflow run is still running")

// Jobs reads and re-runs workflow jobs with one set of credentials.
type Jobs struct{ gh *github.Client }

// NewJobs wraps a go-github client (for example auth.Source.GitHub()).
func NewJobs(gh *github.Client) *Jobs { return &Jobs{gh: gh} }

// RunJobs lists the jobs of a run's latest attempt.
func (j *Jobs) RunJobs(ctx context.Context, owner, repo string, runID int64) ([]WorkflowJob, error) {
	var out []WorkflowJob
	opts := &github.ListWorkflowJobsOptions{Filter: "latest", ListOptions: github.ListOptions{PerPage: PerPage}}
	for page := 0; page < maxPages; page++ {
		jobs, resp, err := j.gh.Actions.ListWorkflowJobs(ctx, owner, repo, runID, opts)
		if err != nil {
			return nil, fmt.Errorf("listing the jobs of run %s/%s#%d: %w", owner, repo, runID, rateLimited(err))
		}
		for _, wj := range jobs.Jobs {
			out = append(out, WorkflowJob{ID: wj.GetID(), Name: wj.GetName(), RunAttempt: wj.GetRunAttempt(),
				Status: wj.GetStatus(), Conclusion: wj.GetConclusion(), RunnerName: wj.GetRunnerName()})
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	return out, nil
}

// Rerun re-runs a job (and the jobs that depend on it) as a new attempt of its run.
// ErrRunNotFinished: the run has jobs still going, ask again later.
func (j *Jobs) Rerun(ctx context.Context, owner, repo string, jobID int64) error {
	_, err := j.gh.Actions.RerunJobByID(ctx, owner, repo, jobID)
	var ge *github.ErrorResponse
	if errors.As(err, &ge) && ge.Response != nil && ge.Response.StatusCode == http.StatusForbidden &&
		strings.Contains(strings.ToLower(ge.Message), "already running") {
		return fmt.Errorf("re-running job %d of %s/%s: %w", jobID, owner, repo, ErrRunNotFinished)
	}
	if err != nil {
		return fmt.Errorf("re-running job %d of %s/%s: %w", jobID, owner, repo, rateLimited(err))
	}
	return nil
}

// rateLimited turns go-github's memory of a spent budget into the gate's *ratelimit.Error.
func rateLimited(err error) error {
	if rl, ok := ratelimit.FromGitHub(err, time.Now()); ok {
		return rl
	}
	return err
}

// IsRefusal tells an answer that asking again does not change: the credentials may not do it
// (401, 403 other than a rate limit), or GitHub has no such run or job (404, 410, 422).
func IsRefusal(err error) bool {
	var rl *ratelimit.Error
	var ge *github.ErrorResponse
	if errors.As(err, &rl) || errors.Is(err, ErrRunNotFinished) || !errors.As(err, &ge) || ge.Response == nil {
		return false
	}
	switch ge.Response.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusGone, http.StatusUnprocessableEntity:
		return true
	}
	return false
}
