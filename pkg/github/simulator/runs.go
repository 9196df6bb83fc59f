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
	"slices"
	"strings"
	"time"

	"k8s.io/klog/v2"
)

// Workflow runs, their attempts and re-runs: what GitHub's REST API knows about the jobs the
// scale sets run. A job belongs to a run; re-running a completed job makes a new attempt of
// the run holding a new job (new request id, new REST job id), queued like any job.

// REST statuses and conclusions of jobs and runs.
const (
	RESTStatusQueued     = "queued"
	RESTStatusInProgress = "in_progress"
	RESTStatusCompleted  = "completed"

	ConclusionSuccess   = "success"
	ConclusionFailure   = "failure"
	ConclusionCancelled = "cancelled"
	ConclusionSkipped   = "skipped"
)

// errRunInProgress: GitHub re-runs nothing of a run that has not concluded.
var errRunInProgress = errors.New("This workflow is already running") //nolint:staticcheck // GitHub's wording

// workflowRun is a workflow run: its jobs of every attempt, in creation order.
type workflowRun struct {
	id          int64
	number      int64 // run_number: the repository's count of runs
	owner, repo string
	workflowRef string
	name        string
	event       string
	attempt     int
	createdAt   time.Time
	attemptAt   time.Time // when the current attempt started
	updatedAt   time.Time
	jobs        []*job
}

// runForLocked is the run a job to queue belongs to: the one j names if it is of j's
// repository, else a new run (with the id j names if that is free).
func (st *state) runForLocked(j Job, now time.Time) *workflowRun {
	if r := st.runs[j.WorkflowRunID]; r != nil {
		if strings.EqualFold(r.owner, j.Owner) && strings.EqualFold(r.repo, j.Repository) {
			return r
		}
		klog.V(2).InfoS("A job names a run of another repository; it gets a run of its own", "run", r.id, "owner", j.Owner, "repository", j.Repository)
	}
	id := j.WorkflowRunID
	if id <= 0 || st.runs[id] != nil {
		id = st.nextRunID
	}
	st.nextRunID = max(st.nextRunID, id+1)
	key := strings.ToLower(j.Owner + "/" + j.Repository)
	st.runNumbers[key]++
	r := &workflowRun{
		id: id, number: st.runNumbers[key], owner: j.Owner, repo: j.Repository, workflowRef: j.WorkflowRef,
		name: j.WorkflowName, event: j.EventName, attempt: 1, createdAt: now, attemptAt: now, updatedAt: now,
	}
	st.runs[id] = r
	return r
}

// latest are the run's newest jobs: each job that was not re-run since.
func (r *workflowRun) latest() []*job {
	var out []*job
	for _, j := range r.jobs {
		if j.st.RerunAs == 0 {
			out = append(out, j)
		}
	}
	return out
}

// status is the run's REST status and conclusion (nil until completed), from its newest
// jobs: completed when all are, in_progress while one runs, else queued. A failure wins over
// a cancellation, which wins over success.
func (r *workflowRun) status() (string, *string) {
	jobs := r.latest()
	running := slices.ContainsFunc(jobs, func(j *job) bool { return j.st.State == JobRunning })
	if slices.ContainsFunc(jobs, func(j *job) bool { return j.st.State != JobCompleted }) {
		if running {
			return RESTStatusInProgress, nil
		}
		return RESTStatusQueued, nil
	}
	conclusion := ConclusionSuccess
	for _, j := range jobs {
		switch c := restConclusion(j.st.Result); {
		case c == ConclusionFailure:
			conclusion = ConclusionFailure
		case c == ConclusionCancelled && conclusion == ConclusionSuccess:
			conclusion = ConclusionCancelled
		}
	}
	return RESTStatusCompleted, &conclusion
}

// restStatus is a job's REST status: a job waiting for a runner is queued, even assigned.
func restStatus(state string) string {
	switch state {
	case JobRunning:
		return RESTStatusInProgress
	case JobCompleted:
		return RESTStatusCompleted
	}
	return RESTStatusQueued
}

// restConclusion is the conclusion GitHub shows for a job result of the Actions Service.
func restConclusion(result string) string {
	switch result {
	case ResultSucceeded:
		return ConclusionSuccess
	case ResultCanceled:
		return ConclusionCancelled
	case ConclusionSkipped:
		return ConclusionSkipped
	}
	return ConclusionFailure
}

// failLostLocked fails a job whose runner went away and never came back before its job lock
// lapsed: "failed" (conclusion failure, GitHub's "The self-hosted runner: … lost
// communication with the server"), JobCompleted to its scale set. The runner is idle (and
// offline) from then on.
func (st *state) failLostLocked(j *job, now time.Time) {
	if rn := st.runners[j.st.RunnerID]; rn != nil && rn.job == j {
		rn.job = nil
	}
	j.st.LostRunner = true
	st.counters.LostRunners++
	klog.V(2).InfoS("Failing a job whose runner went away", "job", j.st.RequestID, "runner", j.st.RunnerName, "lostAt", j.st.RunnerLostAt)
	st.finishLocked(j, ResultFailed, now)
}

// rerunLocked re-runs old, as POST /repos/{o}/{r}/actions/jobs/{job_id}/rerun does: a new
// attempt of its run holding a copy of the job, queued and offered like any job; old stays
// completed. GitHub refuses while the run has a job that is not completed.
func (st *state) rerunLocked(old *job, now time.Time) (*job, error) {
	r := old.run
	if status, _ := r.status(); status != RESTStatusCompleted {
		return nil, errRunInProgress
	}
	r.attempt++
	r.attemptAt = now
	spec := old.st.Job
	spec.Labels = slices.Clone(spec.Labels)
	nj := st.newJobLocked(spec, r, now)
	nj.st.RerunOf = old.st.RequestID
	old.st.RerunAs = nj.st.RequestID
	st.counters.Reruns++
	klog.V(2).InfoS("Re-running a job", "job", old.st.RequestID, "rerun", nj.st.RequestID, "run", r.id, "attempt", r.attempt)
	st.offerLocked(nj, now)
	return nj, nil
}

// JobAttempts returns every attempt of a job, first to last, given the request id of any of
// them: the job it re-ran, and so on back, and the jobs that re-ran it. False for an unknown
// id.
func (s *Simulator) JobAttempts(requestID int64) ([]JobStatus, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.state.jobs[requestID]
	if j == nil {
		return nil, false
	}
	for j.st.RerunOf != 0 && s.state.jobs[j.st.RerunOf] != nil {
		j = s.state.jobs[j.st.RerunOf]
	}
	var out []JobStatus
	for ; j != nil; j = s.state.jobs[j.st.RerunAs] {
		out = append(out, j.status())
		if j.st.RerunAs == 0 {
			break
		}
	}
	return out, true
}

// SetRunnerLostTimeout changes Options.RunnerLostTimeout while the simulator runs (negative:
// at once; zero: the default). Jobs whose runner went away longer ago than the new timeout
// fail at once.
func (s *Simulator) SetRunnerLostTimeout(d time.Duration) {
	if d == 0 {
		d = DefaultRunnerLostTimeout
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state.runnerLost = d
	s.state.sweepLocked(s.clock.Now()) // the jobs now due fail before this returns
	s.state.armed = time.Time{}        // recompute the next deadline
	s.kick()
}

// RunnerLostTimeout is the current Options.RunnerLostTimeout.
func (s *Simulator) RunnerLostTimeout() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state.runnerLost
}
