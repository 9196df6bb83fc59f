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
	"encoding/json"
	"fmt"
	mathrand "math/rand/v2"
	"slices"
	"strings"
	"time"

	utilversion "k8s.io/apimachinery/pkg/util/version"
)

// Job states, as JobStatus.State reports them.
const (
	// JobQueued: waiting for a scale set to acquire it.
	JobQueued = "queued"
	// JobAcquired: acquired by a scale set that is at its capacity (X-ScaleSetMaxCapacity);
	// it is assigned as soon as one of the set's jobs ends.
	JobAcquired = "acquired"
	// JobAssigned: assigned to a scale set, waiting for one of its runners.
	JobAssigned = "assigned"
	// JobRunning: a runner took it.
	JobRunning = "running"
	// JobCompleted: finished (JobStatus.Result says how).
	JobCompleted = "completed"
)

// Job results.
const (
	ResultSucceeded = "succeeded"
	ResultFailed    = "failed"
	ResultCanceled  = "canceled"
)

// state is everything the simulator knows; Simulator.mu guards it.
type state struct {
	base          string // the simulator's URL
	assignTimeout time.Duration
	reofferAfter  time.Duration
	// sessionIdle is how long an unused message session lives (<= 0: for ever).
	sessionIdle time.Duration
	// minRunner is the oldest runner version that may connect.
	minRunner *utilversion.Version
	// runnerLost is how long a job whose runner went away stays running before it fails
	// (Options.RunnerLostTimeout); < 0: it fails at once.
	runnerLost time.Duration
	kick       func() // wakes the timekeeper
	// armed is the deadline the timekeeper sleeps until (zero: none); an earlier new
	// deadline kicks it.
	armed time.Time
	rng   *mathrand.Rand

	installTokens map[string]*installToken
	regTokens     map[string]*regToken
	pruneAt       int

	// Who may do what (accounts.go, authz.go, installations.go).
	tokens            map[string]*pat
	accounts          map[string]*account // by scope key
	anyAccount        bool
	installations     map[int64]*installation
	maxInstallationID int64
	nextUserID        int64
	nextAccountID     int64

	// Rate limits (ratelimit.go).
	restLimit      int
	rate           map[string]*rateWindow
	secondaryLimit int
	secondary      map[string]*countWindow
	jitRate        int
	jitWindows     map[int]*countWindow

	tenants       []*tenant // tenant n is tenants[n-1]
	tenantByScope map[string]*tenant
	adminTokens   map[string]*adminToken

	groups      []RunnerGroup
	scaleSets   map[int]*scaleSet
	sessions    map[string]*session
	queueTokens map[string]*queueToken

	runners map[int]*runner
	// jitConfigs maps the SHA-256 of every JIT config ever issued to its runner id.
	jitConfigs map[[sha256.Size]byte]int

	jobs   map[int64]*job
	active map[int64]*job // jobs not completed
	// runs are the workflow runs by id; restJobs the jobs by REST job id (runs.go).
	runs          map[int64]*workflowRun
	restJobs      map[int64]*job
	runNumbers    map[string]int64 // the last run_number per repository ("owner/repo", lower case)
	nextRESTJobID int64

	faults   []*fault
	counters counters

	nextScaleSetID, nextRunnerID, nextGroupID, nextFaultID int
	nextJobID, nextMessageID, nextRunID                    int64
}

func newState(o Options, base string, kick func()) *state {
	st := &state{
		base:           base,
		assignTimeout:  o.AssignTimeout,
		reofferAfter:   o.ReofferAfter,
		sessionIdle:    o.SessionIdleTimeout,
		minRunner:      mustRunnerVersion(o.MinRunnerVersion),
		runnerLost:     o.RunnerLostTimeout,
		kick:           kick,
		rng:            newRand(o.Seed),
		installTokens:  map[string]*installToken{},
		regTokens:      map[string]*regToken{},
		tokens:         map[string]*pat{},
		accounts:       map[string]*account{},
		anyAccount:     o.AnyAccount,
		installations:  map[int64]*installation{},
		nextUserID:     1000,
		nextAccountID:  100000,
		restLimit:      o.RESTRateLimit,
		rate:           map[string]*rateWindow{},
		secondaryLimit: max(0, o.RESTSecondaryLimit),
		secondary:      map[string]*countWindow{},
		jitRate:        max(0, o.JITConfigRate),
		jitWindows:     map[int]*countWindow{},
		pruneAt:        256,
		tenantByScope:  map[string]*tenant{},
		adminTokens:    map[string]*adminToken{},
		groups:         []RunnerGroup{{ID: 1, Name: "Default", IsDefaultGroup: true}},
		scaleSets:      map[int]*scaleSet{},
		sessions:       map[string]*session{},
		queueTokens:    map[string]*queueToken{},
		runners:        map[int]*runner{},
		jitConfigs:     map[[sha256.Size]byte]int{},
		jobs:           map[int64]*job{},
		active:         map[int64]*job{},
		runs:           map[int64]*workflowRun{},
		restJobs:       map[int64]*job{},
		runNumbers:     map[string]int64{},
		nextRESTJobID:  firstRESTJobID,
		counters:       newCounters(),
		nextScaleSetID: 1, nextRunnerID: 1, nextGroupID: 2, nextFaultID: 1,
		nextJobID: 1001, nextMessageID: firstMessageID, nextRunID: 7000001,
	}
	st.configureAccessLocked(o)
	return st
}

// configureAccessLocked sets up the tokens, accounts and installations of o, which
// checkAccess has validated.
func (st *state) configureAccessLocked(o Options) {
	for _, p := range o.PATs {
		st.addTokenLocked(Token{Value: p, Scopes: FullScopes()}, false)
	}
	for _, t := range o.Tokens {
		st.addTokenLocked(t, t.fineGrained())
	}
	for _, a := range o.Accounts {
		if sc, name, err := parseAccount(a); err == nil {
			st.declareLocked(sc, name)
		}
	}
	ins, _ := appInstallations(o.Apps)
	for _, in := range ins {
		st.installLocked(in)
	}
}

// checkAccess validates the accounts, tokens and App installations of o.
func checkAccess(o Options) error {
	for _, a := range o.Accounts {
		if _, _, err := parseAccount(a); err != nil {
			return fmt.Errorf("simulator: Accounts: %w", err)
		}
	}
	for _, t := range o.Tokens {
		if err := checkToken(t); err != nil {
			return fmt.Errorf("simulator: Tokens: %w", err)
		}
	}
	if _, err := appInstallations(o.Apps); err != nil {
		return fmt.Errorf("simulator: %w", err)
	}
	return nil
}

// tenant is an Actions Service tenant: one per registration scope.
type tenant struct {
	id        int
	scope     scope
	configURL string
}

type scaleSet struct {
	tenant *tenant
	rs     RunnerScaleSet  // Statistics always nil here
	labels map[string]bool // lower-case label names, including the scale set's name
	// capacity is the last X-ScaleSetMaxCapacity; -1 until the listener sends one.
	capacity int
	session  *session
	// messages are the queue's undeleted messages, in id order.
	messages []*message
	// notify is closed (and replaced) when a message is added; long polls wait on it.
	notify chan struct{}
	// acquired are the jobs acquired while the set was at capacity, in acquisition order.
	acquired []*job
	// waiting are the jobs assigned to the set that no runner took yet, oldest first.
	waiting []*job
	// offered counts the undeleted JobAvailable messages per job request id.
	offered map[int64]int
	runners map[int]*runner
}

func newScaleSet(t *tenant, rs RunnerScaleSet) *scaleSet {
	return &scaleSet{
		tenant:   t,
		rs:       rs,
		labels:   labelSet(rs),
		capacity: -1,
		notify:   make(chan struct{}),
		offered:  map[int64]int{},
		runners:  map[int]*runner{},
	}
}

type message struct {
	id        int64
	jobs      []JobMessage
	delivered bool
}

type session struct {
	id        string
	owner     string
	scaleSet  *scaleSet
	createdAt time.Time
	token     string // the newest message-queue token
	// lastActive is when its holder last called (sessions.go); polls counts the long polls
	// held now, during which it does not expire.
	lastActive time.Time
	polls      int
}

type runner struct {
	id       int
	name     string
	scaleSet *scaleSet
	online   bool
	job      *job
}

type job struct {
	st     JobStatus
	run    *workflowRun
	labels []string // lower case
	// deadline is when an assigned job is canceled; zero unless assigned.
	deadline time.Time
	// offeredAt is when the job was last offered (JobAvailable); zero unless queued.
	offeredAt time.Time
}

func (st *state) tenantOf(n int) *tenant {
	if n < 1 || n > len(st.tenants) {
		return nil
	}
	return st.tenants[n-1]
}

// matches reports whether ss may run j: in scope and carrying every label the job asks for.
func (ss *scaleSet) matches(j *job) bool {
	if len(j.labels) == 0 || !ss.tenant.scope.sees(j.st.Job.Owner, j.st.Job.Repository) {
		return false
	}
	for _, l := range j.labels {
		if !ss.labels[l] {
			return false
		}
	}
	return true
}

func labelSet(rs RunnerScaleSet) map[string]bool {
	m := map[string]bool{strings.ToLower(rs.Name): true}
	for _, l := range rs.Labels {
		m[strings.ToLower(l.Name)] = true
	}
	return m
}

// statsLocked computes a scale set's statistics from the jobs and runners as they are now.
func (st *state) statsLocked(ss *scaleSet) *Statistics {
	s := Statistics{
		TotalAcquiredJobs:      len(ss.acquired),
		TotalRegisteredRunners: len(ss.runners),
		TotalBusyRunners:       ss.busy(),
	}
	for _, j := range st.active {
		if j.st.State == JobQueued && ss.matches(j) {
			s.TotalAvailableJobs++
		}
	}
	// A running job is exactly a busy runner's job.
	s.TotalRunningJobs = s.TotalBusyRunners
	s.TotalAssignedJobs = len(ss.waiting) + s.TotalRunningJobs
	s.TotalIdleRunners = s.TotalRegisteredRunners - s.TotalBusyRunners
	return &s
}

// busy counts the set's runners that run a job.
func (ss *scaleSet) busy() int {
	n := 0
	for _, r := range ss.runners {
		if r.job != nil {
			n++
		}
	}
	return n
}

// emitLocked queues a job message for ss: appended to the newest message if that was not
// delivered yet and has room, else in a new message. Waiting long polls wake up.
func (st *state) emitLocked(ss *scaleSet, jm JobMessage) {
	if jm.MessageType == MessageJobAvailable {
		ss.offered[jm.RunnerRequestID]++
	}
	if n := len(ss.messages); n > 0 {
		last := ss.messages[n-1]
		if !last.delivered && len(last.jobs) < maxJobsPerMessage {
			last.jobs = append(last.jobs, jm)
			ss.wakeLocked()
			return
		}
	}
	ss.messages = append(ss.messages, &message{id: st.nextMessageID, jobs: []JobMessage{jm}})
	st.nextMessageID++
	ss.wakeLocked()
}

func (ss *scaleSet) wakeLocked() {
	close(ss.notify)
	ss.notify = make(chan struct{})
}

// nextMessage is the first undeleted message after lastID.
func (ss *scaleSet) nextMessage(lastID int64) *message {
	for _, m := range ss.messages {
		if m.id > lastID {
			return m
		}
	}
	return nil
}

func (ss *scaleSet) deleteMessage(id int64) {
	i := slices.IndexFunc(ss.messages, func(m *message) bool { return m.id == id })
	if i < 0 {
		return
	}
	for _, jm := range ss.messages[i].jobs {
		if jm.MessageType == MessageJobAvailable {
			if ss.offered[jm.RunnerRequestID]--; ss.offered[jm.RunnerRequestID] <= 0 {
				delete(ss.offered, jm.RunnerRequestID)
			}
		}
	}
	ss.messages = slices.Delete(ss.messages, i, i+1)
}

// jobMessage builds a job message of type typ for j.
func jobMessage(typ string, j *job) JobMessage {
	jm := JobMessage{
		MessageType:        typ,
		RunnerRequestID:    j.st.RequestID,
		RepositoryName:     j.st.Job.Repository,
		OwnerName:          j.st.Job.Owner,
		JobID:              j.st.JobGUID,
		JobWorkflowRef:     j.st.Job.WorkflowRef,
		JobDisplayName:     j.st.Job.DisplayName,
		WorkflowRunID:      j.run.id,
		EventName:          j.st.Job.EventName,
		RequestLabels:      slices.Clone(j.st.Job.Labels),
		QueueTime:          j.st.QueuedAt,
		ScaleSetAssignTime: j.st.AssignedAt,
		RunnerAssignTime:   j.st.StartedAt,
		FinishTime:         j.st.CompletedAt,
		RunnerID:           j.st.RunnerID,
		RunnerName:         j.st.RunnerName,
	}
	if typ == MessageJobCompleted {
		jm.Result = j.st.Result
	}
	return jm
}

// hasPendingAvailable reports whether ss's queue still holds an undeleted JobAvailable for j.
func (ss *scaleSet) hasPendingAvailable(j *job) bool { return ss.offered[j.st.RequestID] > 0 }

// offerLocked sends JobAvailable for a queued job to every matching scale set that has a
// session and has not got an undeleted offer for it already.
func (st *state) offerLocked(j *job, now time.Time) {
	j.offeredAt = now
	if st.reofferAfter > 0 {
		st.scheduleLocked(now.Add(st.reofferAfter))
	}
	for _, ss := range st.sortedScaleSets() {
		if ss.session != nil && ss.matches(j) && !ss.hasPendingAvailable(j) {
			st.offerToLocked(ss, j)
		}
	}
}

func (st *state) offerToLocked(ss *scaleSet, j *job) {
	jm := jobMessage(MessageJobAvailable, j)
	jm.AcquireJobURL = st.tenantURL(ss.tenant) + "_apis/runtime/runnerscalesets/" + itoa(ss.rs.ID) + "/acquirejobs"
	st.emitLocked(ss, jm)
}

// offerQueuedLocked offers every queued matching job to ss, whose session just started.
func (st *state) offerQueuedLocked(ss *scaleSet) {
	for _, j := range st.sortedActive(func(j *job) bool { return j.st.State == JobQueued && ss.matches(j) }) {
		if !ss.hasPendingAvailable(j) {
			st.offerToLocked(ss, j)
		}
	}
}

// scheduleLocked makes sure the timekeeper wakes by at.
func (st *state) scheduleLocked(at time.Time) {
	if st.armed.IsZero() || at.Before(st.armed) {
		st.armed = at
		st.kick()
	}
}

// acquireLocked lets ss acquire the jobs it asked for that are still available to it, and
// returns their ids.
func (st *state) acquireLocked(ss *scaleSet, ids []int64, now time.Time) []int64 {
	got := []int64{}
	for _, id := range ids {
		j := st.active[id]
		if j == nil || j.st.State != JobQueued || !ss.matches(j) {
			continue
		}
		j.st.State = JobAcquired
		j.st.ScaleSetID = ss.rs.ID
		j.offeredAt = time.Time{}
		ss.acquired = append(ss.acquired, j)
		got = append(got, id)
	}
	st.promoteLocked(ss, now)
	return got
}

// promoteLocked assigns acquired jobs to ss while it has capacity.
func (st *state) promoteLocked(ss *scaleSet, now time.Time) {
	assigned := len(ss.waiting) + ss.busy()
	for len(ss.acquired) > 0 && (ss.capacity < 0 || assigned < ss.capacity) {
		j := ss.acquired[0]
		ss.acquired = slices.Delete(ss.acquired, 0, 1)
		j.st.State = JobAssigned
		j.st.Attempts++
		j.st.AssignedAt = now
		j.deadline = now.Add(st.assignTimeout)
		ss.waiting = append(ss.waiting, j)
		assigned++
		st.emitLocked(ss, jobMessage(MessageJobAssigned, j))
		st.scheduleLocked(j.deadline)
	}
}

// startLocked hands the oldest assigned job of r's scale set to r.
func (st *state) startLocked(r *runner, now time.Time) *job {
	ss := r.scaleSet
	if len(ss.waiting) == 0 {
		return nil
	}
	j := ss.waiting[0]
	ss.waiting = slices.Delete(ss.waiting, 0, 1)
	j.st.State = JobRunning
	j.st.StartedAt = now
	j.st.RunnerID = r.id
	j.st.RunnerName = r.name
	j.deadline = time.Time{}
	r.job = j
	st.emitLocked(ss, jobMessage(MessageJobStarted, j))
	return j
}

// finishLocked completes a job with result and tells its scale set (if it still exists).
func (st *state) finishLocked(j *job, result string, now time.Time) {
	j.st.State = JobCompleted
	j.st.Result = result
	j.st.CompletedAt = now
	j.deadline = time.Time{}
	delete(st.active, j.st.RequestID)
	if ss := st.scaleSets[j.st.ScaleSetID]; ss != nil {
		st.emitLocked(ss, jobMessage(MessageJobCompleted, j))
		st.promoteLocked(ss, now)
	}
}

// requeueLocked puts a job back in the queue, no longer tied to any scale set.
func (st *state) requeueLocked(j *job, now time.Time) {
	j.st.State = JobQueued
	j.st.ScaleSetID = 0
	j.st.AssignedAt = time.Time{}
	j.st.RunnerID, j.st.RunnerName = 0, ""
	j.deadline = time.Time{}
	st.offerLocked(j, now)
}

// cancelAssignmentLocked ends an assignment no runner took in time: JobCompleted "canceled"
// to the scale set, then the job is queued again, or canceled for good after MaxRequeues.
func (st *state) cancelAssignmentLocked(j *job, now time.Time) {
	ss := st.scaleSets[j.st.ScaleSetID]
	if ss != nil {
		ss.waiting = slices.DeleteFunc(ss.waiting, func(w *job) bool { return w == j })
	}
	if j.st.Attempts > MaxRequeues {
		st.finishLocked(j, ResultCanceled, now)
		return
	}
	if ss != nil {
		canceled := jobMessage(MessageJobCompleted, j)
		canceled.Result = ResultCanceled
		canceled.FinishTime = now
		st.emitLocked(ss, canceled)
	}
	st.requeueLocked(j, now)
	if ss != nil {
		st.promoteLocked(ss, now)
	}
}

// dueAt is when the timekeeper must next act on j (zero: never): cancel its assignment,
// offer it again, or fail it because its runner went away.
func (st *state) dueAt(j *job) time.Time {
	switch {
	case j.st.State == JobAssigned:
		return j.deadline
	case j.st.State == JobQueued && st.reofferAfter > 0 && !j.offeredAt.IsZero():
		return j.offeredAt.Add(st.reofferAfter)
	case j.st.State == JobRunning && !j.st.RunnerLostAt.IsZero():
		return j.st.RunnerLostAt.Add(max(st.runnerLost, 0))
	}
	return time.Time{}
}

// sweepLocked applies every deadline that passed and returns the next one (zero if none),
// which the timekeeper then sleeps until.
func (st *state) sweepLocked(now time.Time) time.Time {
	due := func(j *job) bool {
		at := st.dueAt(j)
		return !at.IsZero() && !now.Before(at)
	}
	for _, j := range st.sortedActive(due) {
		if !due(j) { // an earlier action of this sweep changed it
			continue
		}
		switch j.st.State {
		case JobAssigned:
			st.cancelAssignmentLocked(j, now)
		case JobQueued:
			st.offerLocked(j, now)
		case JobRunning:
			st.failLostLocked(j, now)
		}
	}
	// Deadlines may have moved above (requeues, promotions): collect them afterwards.
	var next time.Time
	for _, j := range st.active {
		next = earliest(next, st.dueAt(j))
	}
	next = earliest(next, st.sweepSessionsLocked(now))
	st.armed = next
	return next
}

// removeScaleSetLocked drops ss with its session, queue and runners. Jobs it held are
// queued again; a job running on one of its runners ends "canceled".
func (st *state) removeScaleSetLocked(ss *scaleSet, now time.Time) {
	delete(st.scaleSets, ss.rs.ID)
	for _, r := range ss.runners {
		delete(st.runners, r.id)
	}
	if ss.session != nil {
		st.endSessionLocked(ss.session)
	}
	ss.messages, ss.offered = nil, map[int64]int{}
	ss.acquired, ss.waiting = nil, nil
	for _, j := range st.sortedActive(func(j *job) bool { return j.st.ScaleSetID == ss.rs.ID }) {
		if j.st.State == JobRunning {
			st.finishLocked(j, ResultCanceled, now)
		} else {
			st.requeueLocked(j, now)
		}
	}
	ss.wakeLocked()
}

func (st *state) sortedScaleSets() []*scaleSet {
	out := make([]*scaleSet, 0, len(st.scaleSets))
	for _, ss := range st.scaleSets {
		out = append(out, ss)
	}
	slices.SortFunc(out, func(a, b *scaleSet) int { return cmp.Compare(a.rs.ID, b.rs.ID) })
	return out
}

// sortedActive returns the active jobs that keep holds, by request id.
func (st *state) sortedActive(keep func(*job) bool) []*job {
	var out []*job
	for _, j := range st.active {
		if keep(j) {
			out = append(out, j)
		}
	}
	slices.SortFunc(out, func(a, b *job) int { return cmp.Compare(a.st.RequestID, b.st.RequestID) })
	return out
}

// scaleSetView is the wire form of ss with fresh statistics.
func (st *state) scaleSetView(ss *scaleSet) RunnerScaleSet {
	rs := ss.rs
	rs.Labels = slices.Clone(ss.rs.Labels)
	rs.Statistics = st.statsLocked(ss)
	return rs
}

// messageBody is the double-encoded body of a message: a JSON array as a string.
func messageBody(jobs []JobMessage) string {
	b, err := json.Marshal(jobs)
	if err != nil {
		panic(err) // plain structs always encode
	}
	return string(b)
}

// mustRunnerVersion parses a version Start has checked already.
func mustRunnerVersion(s string) *utilversion.Version {
	v, err := parseRunnerVersion(s)
	if err != nil {
		panic(fmt.Sprintf("simulator: %v", err))
	}
	return v
}
