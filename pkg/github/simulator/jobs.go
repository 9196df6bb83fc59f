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
	"cmp"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"k8s.io/klog/v2"
)

// Job is a workflow job to queue.
type Job struct {
	// Labels are the job's runs-on labels. It is routed to scale sets whose labels (the
	// scale set's name is always one) include all of them, case-insensitively. A job
	// without labels matches no scale set.
	Labels []string `json:"labels"`
	// Owner (org or user) and Repository decide which scopes see the job: a repository
	// scope only its own jobs, an organization its repositories', an enterprise all.
	Owner      string `json:"owner"`
	Repository string `json:"repository"`
	// WorkflowRef defaults to "<owner>/<repo>/.github/workflows/ci.yml@refs/heads/main".
	WorkflowRef string `json:"workflowRef,omitempty"`
	// DisplayName defaults to "build".
	DisplayName string `json:"displayName,omitempty"`
	// EventName defaults to "push".
	EventName string `json:"eventName,omitempty"`
	// WorkflowName is the workflow's name in REST answers; default the workflow file's path
	// (".github/workflows/ci.yml"), as GitHub names a workflow without a name.
	WorkflowName string `json:"workflowName,omitempty"`
	// WorkflowRunID puts the job in that workflow run of its repository, in the run's current
	// attempt (several jobs of one run, as a matrix makes); 0, or a run of another repository:
	// a run of its own. A run id not known yet makes that run.
	WorkflowRunID int64 `json:"workflowRunId,omitempty"`
	// Duration is how long the runner emulator runs the job.
	Duration time.Duration `json:"-"`
	// Result is what the job ends with when a runner completes it without saying; default
	// "succeeded".
	Result string `json:"result,omitempty"`
}

// JobStatus is a job as the simulator tracks it.
type JobStatus struct {
	RequestID int64 `json:"requestId"`
	Job       Job   `json:"job"`
	// State is JobQueued, JobAcquired, JobAssigned, JobRunning or JobCompleted.
	State      string `json:"state"`
	ScaleSetID int    `json:"scaleSetId,omitempty"`
	RunnerID   int    `json:"runnerId,omitempty"`
	RunnerName string `json:"runnerName,omitempty"`
	Result     string `json:"result,omitempty"`
	// Attempts counts assignments to a scale set (cancel-and-requeue adds one each time);
	// not to be confused with RunAttempt.
	Attempts    int       `json:"attempts"`
	QueuedAt    time.Time `json:"queuedAt,omitzero"`
	AssignedAt  time.Time `json:"assignedAt,omitzero"`
	StartedAt   time.Time `json:"startedAt,omitzero"`
	CompletedAt time.Time `json:"completedAt,omitzero"`

	// WorkflowRunID is the job's workflow run (the messages' workflowRunId, REST's run_id) and
	// RunAttempt the run's attempt it belongs to, from 1; a re-run is a new job in a new attempt.
	WorkflowRunID int64 `json:"workflowRunId"`
	RunAttempt    int   `json:"runAttempt"`
	// RESTJobID is the job's id in GitHub REST (/actions/jobs/{job_id}, equal to its check run
	// id). The scale set's messages do not carry it: JobGUID is their jobId.
	RESTJobID int64  `json:"restJobId"`
	JobGUID   string `json:"jobGuid"`
	// RerunOf is the request id of the job this one re-runs (the previous attempt), RerunAs
	// the request id of the job that re-ran this one.
	RerunOf int64 `json:"rerunOf,omitempty"`
	RerunAs int64 `json:"rerunAs,omitempty"`
	// RunnerLostAt is when the job's runner went away without completing it; LostRunner that
	// the job failed for it (RunnerLostTimeout later). Test knowledge: GitHub shows such a job
	// only as failed.
	RunnerLostAt time.Time `json:"runnerLostAt,omitzero"`
	LostRunner   bool      `json:"lostRunner,omitempty"`
}

// RunnerInfo is a registered runner.
type RunnerInfo struct {
	ID           int    `json:"id"`
	Name         string `json:"name"`
	ScaleSetID   int    `json:"scaleSetId"`
	Online       bool   `json:"online"`
	Busy         bool   `json:"busy"`
	JobRequestID int64  `json:"jobRequestId,omitempty"`
}

// Errors of the runner side.
var (
	// ErrUnknownJITConfig: the JIT config was not issued by this simulator, or its runner
	// was removed since.
	ErrUnknownJITConfig = errors.New("JIT config not issued by this simulator, or its runner was removed")
	// ErrRunnerNotFound: no registered runner has that id.
	ErrRunnerNotFound = errors.New("runner not registered")
	// ErrNoJob: the runner is not running a job.
	ErrNoJob = errors.New("runner is not running a job")
	// ErrRunnerVersionTooOld: the runner is older than the service lets connect; the error is
	// a *RunnerVersionError.
	ErrRunnerVersionTooOld = errors.New("runner version too old")
)

// RunnerVersionError is the service's refusal of a runner older than its minimum version:
// 403 Forbidden when the runner opens its session. The runner prints its text and exits, with
// code 7 under ACTIONS_RUNNER_RETURN_VERSION_DEPRECATED_EXIT_CODE=1 (reference §6.1). The
// first sentence is the service's, as runners print it ("Runner version v2.317.0 is
// deprecated and cannot receive messages."); the reference gives no wording for the minimum,
// so the second is ours.
type RunnerVersionError struct {
	// Version is what the runner reported; Minimum the oldest version the service accepts.
	Version, Minimum string
}

func (e *RunnerVersionError) Error() string {
	return "Runner version v" + strings.TrimPrefix(e.Version, "v") + " is deprecated and cannot receive messages. " +
		"The minimum supported runner version is v" + strings.TrimPrefix(e.Minimum, "v") + "."
}

// Unwrap makes the error ErrRunnerVersionTooOld.
func (e *RunnerVersionError) Unwrap() error { return ErrRunnerVersionTooOld }

// QueueJob queues a workflow job and returns its runnerRequestId. It is offered at once to
// every matching scale set that has a message session.
func (s *Simulator) QueueJob(j Job) int64 {
	if j.Owner != "" && j.Repository != "" && j.WorkflowRef == "" {
		j.WorkflowRef = j.Owner + "/" + j.Repository + "/.github/workflows/ci.yml@refs/heads/main"
	}
	if j.DisplayName == "" {
		j.DisplayName = "build"
	}
	if j.EventName == "" {
		j.EventName = "push"
	}
	if j.Result == "" {
		j.Result = ResultSucceeded
	}
	j.Labels = slices.Clone(j.Labels)
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.state
	jb := st.newJobLocked(j, st.runForLocked(j, now), now)
	st.offerLocked(jb, now)
	return jb.st.RequestID
}

// newJobLocked makes a queued job of spec in run's current attempt, with fresh ids.
func (st *state) newJobLocked(spec Job, run *workflowRun, now time.Time) *job {
	lower := make([]string, len(spec.Labels))
	for i, l := range spec.Labels {
		lower[i] = strings.ToLower(l)
	}
	spec.WorkflowRunID = run.id
	jb := &job{
		st: JobStatus{
			RequestID: st.nextJobID, Job: spec, State: JobQueued, QueuedAt: now,
			WorkflowRunID: run.id, RunAttempt: run.attempt, RESTJobID: st.nextRESTJobID, JobGUID: uuid.NewString(),
		},
		run:    run,
		labels: lower,
	}
	st.nextJobID++
	st.nextRESTJobID++
	st.jobs[jb.st.RequestID] = jb
	st.active[jb.st.RequestID] = jb
	st.restJobs[jb.st.RESTJobID] = jb
	run.jobs = append(run.jobs, jb)
	run.updatedAt = now
	return jb
}

// Job returns a job's status.
func (s *Simulator) Job(id int64) (JobStatus, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.state.jobs[id]
	if j == nil {
		return JobStatus{}, false
	}
	return j.status(), true
}

func (j *job) status() JobStatus {
	st := j.st
	st.Job.Labels = slices.Clone(st.Job.Labels)
	return st
}

// Jobs returns every job, completed ones included, by request id.
func (s *Simulator) Jobs() []JobStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]JobStatus, 0, len(s.state.jobs))
	for _, j := range s.state.jobs {
		out = append(out, j.status())
	}
	slices.SortFunc(out, func(a, b JobStatus) int { return cmp.Compare(a.RequestID, b.RequestID) })
	return out
}

func (rn *runner) info() RunnerInfo {
	ri := RunnerInfo{ID: rn.id, Name: rn.name, ScaleSetID: rn.scaleSet.rs.ID, Online: rn.online, Busy: rn.job != nil}
	if rn.job != nil {
		ri.JobRequestID = rn.job.st.RequestID
	}
	return ri
}

// ConnectRunner brings the runner of a JIT config online, as the runner process does when
// it starts. Connecting an online runner again is allowed (a restarted emulator). The
// runner's version is not checked; ConnectRunnerVersion checks it.
func (s *Simulator) ConnectRunner(encodedJITConfig string) (RunnerInfo, error) {
	return s.ConnectRunnerVersion(encodedJITConfig, "")
}

// ConnectRunnerVersion is ConnectRunner for a runner that reports its version, as runners do
// when they open their session. A version older than Options.MinRunnerVersion, or one that is
// no version, is refused with a *RunnerVersionError (ErrRunnerVersionTooOld), as GitHub
// refuses it; the registration stays, offline. An empty version is not checked.
func (s *Simulator) ConnectRunnerVersion(encodedJITConfig, version string) (RunnerInfo, error) {
	sum := sha256.Sum256([]byte(strings.TrimSpace(encodedJITConfig)))
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.state.jitConfigs[sum]
	rn := s.state.runners[id]
	if !ok || rn == nil {
		return RunnerInfo{}, ErrUnknownJITConfig
	}
	if err := s.state.checkRunnerVersion(version); err != nil {
		klog.V(2).InfoS("Refusing a runner older than the minimum version", "runner", rn.name, "version", version, "minimum", s.state.minRunner)
		return RunnerInfo{}, err
	}
	rn.online = true
	if j := rn.job; j != nil && !j.st.RunnerLostAt.IsZero() {
		// Back before its job lock lapsed: it renews the lock and keeps its job.
		klog.V(2).InfoS("A runner that went away mid-job is back", "runner", rn.name, "job", j.st.RequestID)
		j.st.RunnerLostAt = time.Time{}
	}
	return rn.info(), nil
}

// checkRunnerVersion refuses a reported version older than the minimum.
func (st *state) checkRunnerVersion(version string) error {
	if version == "" {
		return nil
	}
	v, err := parseRunnerVersion(version)
	if err == nil && !v.LessThan(st.minRunner) {
		return nil
	}
	if err == nil {
		version = v.String()
	}
	return &RunnerVersionError{Version: version, Minimum: st.minRunner.String()}
}

// SetMinRunnerVersion changes Options.MinRunnerVersion while the simulator runs; runners
// already online stay.
func (s *Simulator) SetMinRunnerVersion(version string) error {
	v, err := parseRunnerVersion(version)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state.minRunner = v
	return nil
}

// MinRunnerVersion is the oldest runner version that may connect.
func (s *Simulator) MinRunnerVersion() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state.minRunner.String()
}

// AcquireRunnerJob lets an online runner take the oldest job assigned to its scale set
// (JobStarted). A runner already running a job gets that job back. It returns false when
// there is no job now or the runner is not online.
func (s *Simulator) AcquireRunnerJob(runnerID int) (JobStatus, bool) {
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	rn := s.state.runners[runnerID]
	if rn == nil || !rn.online {
		return JobStatus{}, false
	}
	if rn.job != nil {
		return rn.job.status(), true
	}
	j := s.state.startLocked(rn, now)
	if j == nil {
		return JobStatus{}, false
	}
	return j.status(), true
}

// CompleteRunnerJob ends the runner's job with result (empty: the job's Result) and
// deregisters the runner, as an ephemeral runner does.
func (s *Simulator) CompleteRunnerJob(runnerID int, result string) error {
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	rn := s.state.runners[runnerID]
	if rn == nil {
		return fmt.Errorf("runner %d: %w", runnerID, ErrRunnerNotFound)
	}
	j := rn.job
	if j == nil {
		return fmt.Errorf("runner %d: %w", runnerID, ErrNoJob)
	}
	if result == "" {
		result = j.st.Job.Result
	}
	rn.job = nil
	rn.online = false
	s.state.removeRunnerLocked(rn)
	s.state.finishLocked(j, result, now)
	return nil
}

// DisconnectRunner takes a runner offline, as when its process ends without completing its
// job (killed, its pod deleted or evicted, its node lost); its registration stays. Such a
// runner tells GitHub nothing: its job stays in progress until its job lock lapses, then
// fails (Options.RunnerLostTimeout).
func (s *Simulator) DisconnectRunner(runnerID int) {
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.state
	rn := st.runners[runnerID]
	if rn == nil {
		return
	}
	rn.online = false
	j := rn.job
	if j == nil || !j.st.RunnerLostAt.IsZero() {
		return
	}
	j.st.RunnerLostAt = now
	klog.V(2).InfoS("A runner went away mid-job; its job fails when its lock lapses", "runner", rn.name, "job", j.st.RequestID,
		"after", st.runnerLost)
	if st.runnerLost < 0 {
		st.failLostLocked(j, now)
		return
	}
	st.scheduleLocked(now.Add(st.runnerLost))
}

// Runners lists the registered runners by id.
func (s *Simulator) Runners() []RunnerInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]RunnerInfo, 0, len(s.state.runners))
	for _, rn := range s.state.runners {
		out = append(out, rn.info())
	}
	slices.SortFunc(out, func(a, b RunnerInfo) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// VanishScaleSet deletes a scale set on the GitHub side behind the client's back: its
// session, queue and runners go; its queued work is queued again and a job running on
// one of its runners ends "canceled". Later calls about it answer 404
// RunnerScaleSetNotFoundException.
func (s *Simulator) VanishScaleSet(id int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ss := s.state.scaleSets[id]; ss != nil {
		s.state.removeScaleSetLocked(ss, s.clock.Now())
	}
}

// ExpireQueueTokens makes every current message-queue token answer 401; a session refresh
// (PATCH) issues a working one.
func (s *Simulator) ExpireQueueTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, qt := range s.state.queueTokens {
		qt.expired = true
	}
}

// ScaleSets lists every scale set of every tenant, with fresh statistics, by id.
func (s *Simulator) ScaleSets() []RunnerScaleSet {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []RunnerScaleSet
	for _, ss := range s.state.sortedScaleSets() {
		out = append(out, s.state.scaleSetView(ss))
	}
	return out
}

// Sessions lists the active message sessions, by scale set id.
func (s *Simulator) Sessions() []Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Session
	now := s.clock.Now()
	for _, ss := range s.state.sortedScaleSets() {
		if ss.session != nil && !s.state.expireLocked(ss.session, now) {
			out = append(out, s.sessionView(ss.session, s.loopback))
		}
	}
	return out
}

// Statistics returns a scale set's statistics as a message would carry them now.
func (s *Simulator) Statistics(scaleSetID int) (Statistics, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss := s.state.scaleSets[scaleSetID]
	if ss == nil {
		return Statistics{}, false
	}
	return *s.state.statsLocked(ss), true
}

// AddRunnerGroup adds a runner group, visible to every tenant, and returns it. Adding an
// existing name returns the existing group.
func (s *Simulator) AddRunnerGroup(name string) RunnerGroup {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.state
	for _, g := range st.groups {
		if strings.EqualFold(g.Name, name) {
			return st.groupView(g)
		}
	}
	g := RunnerGroup{ID: st.nextGroupID, Name: name}
	st.nextGroupID++
	st.groups = append(st.groups, g)
	return g
}

// DropSession ends a scale set's message session on the service side, as the service does
// when a crashed listener's session expires. It reports whether there was one.
func (s *Simulator) DropSession(scaleSetID int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss := s.state.scaleSets[scaleSetID]
	if ss == nil || ss.session == nil || s.state.expireLocked(ss.session, s.clock.Now()) {
		return false
	}
	s.state.endSessionLocked(ss.session)
	return true
}
