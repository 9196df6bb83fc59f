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
	"maps"
	"math"
	"net/http"
	"strconv"
	"time"
)

// Endpoint names, as counters and faults know them.
const (
	// GitHub REST.
	EPCreateInstallationToken = "CreateInstallationToken"
	EPRegistrationToken       = "RegistrationToken"
	EPListRunners             = "ListRunners"
	EPRunnerRegistration      = "RunnerRegistration"
	EPGetWorkflowJob          = "GetWorkflowJob"
	EPRerunWorkflowJob        = "RerunWorkflowJob"
	EPGetWorkflowRun          = "GetWorkflowRun"
	EPListWorkflowRunJobs     = "ListWorkflowRunJobs"
	// Actions Service.
	EPGetRunnerGroup     = "GetRunnerGroup"
	EPGetScaleSetByName  = "GetScaleSetByName"
	EPGetScaleSet        = "GetScaleSet"
	EPCreateScaleSet     = "CreateScaleSet"
	EPUpdateScaleSet     = "UpdateScaleSet"
	EPDeleteScaleSet     = "DeleteScaleSet"
	EPCreateSession      = "CreateSession"
	EPRefreshSession     = "RefreshSession"
	EPDeleteSession      = "DeleteSession"
	EPGetMessage         = "GetMessage"
	EPDeleteMessage      = "DeleteMessage"
	EPAcquireJobs        = "AcquireJobs"
	EPAcquirableJobs     = "AcquirableJobs"
	EPGenerateJitConfig  = "GenerateJitConfig"
	EPGetRunner          = "GetRunner"
	EPGetRunnerByName    = "GetRunnerByName"
	EPRemoveRunner       = "RemoveRunner"
	AllEndpoints         = "*"
	endpointGroupGitHub  = "github"
	endpointGroupActions = "actions"
)

// Fault makes requests fail or answer slowly.
type Fault struct {
	// Endpoint is an endpoint name (EP* constants) or "*" for all.
	Endpoint string `json:"endpoint"`
	// ScaleSetID limits the fault to requests about one scale set; 0 = any.
	ScaleSetID int `json:"scaleSetId,omitempty"`
	// Status is the HTTP status to answer (429, 500, 503, 401, 409, 404, ...); 0 with
	// EmptyBody is an empty 200.
	Status int `json:"status,omitempty"`
	// RetryAfter is sent as Retry-After (whole seconds, rounded up) when set.
	RetryAfter time.Duration `json:"-"`
	// Delay answers slowly (wall clock), then normally unless Status or EmptyBody is set.
	Delay     time.Duration `json:"-"`
	EmptyBody bool          `json:"emptyBody,omitempty"`
	// Body, if set, is sent verbatim as the answer (status Status, or 200): a malformed,
	// truncated or oversized message from the service.
	Body string `json:"body,omitempty"`
	// Probability in (0,1) hits that share of matching requests (seeded); 0 or 1 = always.
	Probability float64 `json:"probability,omitempty"`
	// Count is how many requests the fault hits before it removes itself; 0 = until removed.
	Count int `json:"count,omitempty"`
}

type fault struct {
	id int
	f  Fault
	// hits counts the requests it answered.
	hits int
}

// FaultInfo is an injected fault as listed by the control API.
type FaultInfo struct {
	ID    int   `json:"id"`
	Fault Fault `json:"fault"`
	Hits  int   `json:"hits"`
}

// Counters are the requests the simulator received (faulted ones included).
type Counters struct {
	Total int `json:"total"`
	// Endpoints counts requests per endpoint name.
	Endpoints map[string]int `json:"endpoints"`
	// ScaleSets counts requests per scale set id and endpoint name, for requests about one
	// scale set (its paths, its message queue, its runners).
	ScaleSets map[int]map[string]int `json:"scaleSets"`
	// Faults counts requests answered by an injected fault, per endpoint name.
	Faults map[string]int `json:"faults"`
	// RateLimited counts requests a rate limit refused: "rest" (the primary REST budget),
	// "rest-secondary" and "jit" (JITConfigRate).
	RateLimited map[string]int `json:"rateLimited"`
	// Reruns counts the re-runs GitHub accepted (POST …/actions/jobs/{job_id}/rerun, 201).
	Reruns int `json:"reruns"`
	// LostRunners counts the jobs failed because their runner went away (RunnerLostTimeout).
	LostRunners int `json:"lostRunners"`
}

// Endpoint returns the count of one endpoint.
func (c Counters) Endpoint(name string) int { return c.Endpoints[name] }

// ScaleSet returns the count of one endpoint for one scale set.
func (c Counters) ScaleSet(id int, name string) int { return c.ScaleSets[id][name] }

type counters = Counters

func newCounters() Counters {
	return Counters{Endpoints: map[string]int{}, ScaleSets: map[int]map[string]int{}, Faults: map[string]int{}, RateLimited: map[string]int{}}
}

func (c Counters) clone() Counters {
	out := Counters{Total: c.Total, Reruns: c.Reruns, LostRunners: c.LostRunners, Endpoints: maps.Clone(c.Endpoints),
		Faults: maps.Clone(c.Faults), RateLimited: maps.Clone(c.RateLimited), ScaleSets: map[int]map[string]int{}}
	for id, m := range c.ScaleSets {
		out.ScaleSets[id] = maps.Clone(m)
	}
	return out
}

// InjectFault adds a fault and returns a function that removes it.
func (s *Simulator) InjectFault(f Fault) (remove func()) {
	id := s.addFault(f)
	return func() { s.RemoveFault(id) }
}

func (s *Simulator) addFault(f Fault) int {
	if f.Endpoint == "" {
		f.Endpoint = AllEndpoints
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.state
	id := st.nextFaultID
	st.nextFaultID++
	st.faults = append(st.faults, &fault{id: id, f: f})
	return id
}

// RemoveFault removes an injected fault; unknown ids are ignored.
func (s *Simulator) RemoveFault(id int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state.removeFaultLocked(id)
}

func (st *state) removeFaultLocked(id int) {
	for i, f := range st.faults {
		if f.id == id {
			st.faults = append(st.faults[:i], st.faults[i+1:]...)
			return
		}
	}
}

// Faults lists the injected faults still active.
func (s *Simulator) Faults() []FaultInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]FaultInfo, 0, len(s.state.faults))
	for _, f := range s.state.faults {
		out = append(out, FaultInfo{ID: f.id, Fault: f.f, Hits: f.hits})
	}
	return out
}

// Counters returns a copy of the request counters.
func (s *Simulator) Counters() Counters {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state.counters.clone()
}

// ResetCounters zeroes the request counters.
func (s *Simulator) ResetCounters() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state.counters = newCounters()
}

// countAndPickFaultLocked records a request and returns the fault that answers it, if any.
func (st *state) countAndPickFaultLocked(endpoint string, scaleSetID int) *Fault {
	c := &st.counters
	c.Total++
	c.Endpoints[endpoint]++
	if scaleSetID != 0 {
		if c.ScaleSets[scaleSetID] == nil {
			c.ScaleSets[scaleSetID] = map[string]int{}
		}
		c.ScaleSets[scaleSetID][endpoint]++
	}
	for _, f := range st.faults {
		if f.f.Endpoint != AllEndpoints && f.f.Endpoint != endpoint {
			continue
		}
		if f.f.ScaleSetID != 0 && f.f.ScaleSetID != scaleSetID {
			continue
		}
		if p := f.f.Probability; p > 0 && p < 1 && st.rng.Float64() >= p {
			continue
		}
		f.hits++
		if f.f.Count > 0 && f.hits >= f.f.Count {
			st.removeFaultLocked(f.id)
		}
		c.Faults[endpoint]++
		picked := f.f
		return &picked
	}
	return nil
}

// endpoint wraps a handler with counting and fault injection. scaleSetOf resolves the scale
// set a request is about (0 for none); it runs under the lock.
func (s *Simulator) endpoint(name, group string, scaleSetOf func(r *http.Request) int, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		id := 0
		if scaleSetOf != nil {
			id = scaleSetOf(r)
		}
		f := s.state.countAndPickFaultLocked(name, id)
		s.mu.Unlock()
		// Set directly, not through Header().Set, to keep the services' exact spelling on
		// the wire (Set would canonicalize them to Activityid and X-Github-Request-Id).
		if group == endpointGroupActions {
			w.Header()["ActivityId"] = []string{newActivityID()}
		} else {
			w.Header()["X-GitHub-Request-Id"] = []string{newRequestID()}
		}
		if f == nil {
			serveBuffered(w, r, h)
			return
		}
		if f.Delay > 0 {
			t := time.NewTimer(f.Delay)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			case <-s.done:
				t.Stop()
				return
			}
		}
		if f.Status == 0 && !f.EmptyBody && f.Body == "" {
			serveBuffered(w, r, h)
			return
		}
		s.writeFault(w, name, group, id, f)
	}
}

func (s *Simulator) writeFault(w http.ResponseWriter, name, group string, scaleSetID int, f *Fault) {
	if f.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(f.RetryAfter.Seconds()))))
	}
	status := f.Status
	if status == 0 {
		status = http.StatusOK
	}
	if f.EmptyBody {
		w.WriteHeader(status)
		return
	}
	if f.Body != "" {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(f.Body))
		return
	}
	if group == endpointGroupGitHub {
		msg := http.StatusText(status)
		switch status {
		case http.StatusUnauthorized:
			msg = "Bad credentials"
		case http.StatusTooManyRequests, http.StatusForbidden:
			msg = "API rate limit exceeded (injected fault)"
		}
		writeGitHubError(w, status, msg)
		return
	}
	typeName, msg := faultError(name, status, scaleSetID, s.scaleSetName(scaleSetID))
	s.writeServiceError(w, status, typeName, msg)
}

// scaleSetName is the name of scale set id, or its id when it has none (any more).
func (s *Simulator) scaleSetName(id int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ss := s.state.scaleSets[id]; ss != nil {
		return ss.rs.Name
	}
	return itoa(id)
}

// faultError is the error an Actions Service endpoint answers with status.
func faultError(name string, status, scaleSetID int, scaleSetName string) (typeName, msg string) {
	switch {
	case status == http.StatusNotFound:
		return typeScaleSetNotFound, scaleSetNotFoundMessage(scaleSetID)
	case status == http.StatusConflict && name == EPCreateSession:
		return typeSessionConflict, sessionConflictMessage(scaleSetName)
	case status == http.StatusConflict && name == EPGenerateJitConfig:
		return typeAgentExists, "A runner with the same name already exists (injected fault)."
	case status == http.StatusBadRequest && name == EPDeleteSession:
		return typeSessionExpired, "The session identifier is not valid (injected fault)."
	case status == http.StatusBadRequest && name == EPRemoveRunner:
		return typeJobStillRunning, "The runner is still running a job (injected fault)."
	case status == http.StatusUnauthorized:
		return typeUnauthorized, "The token is not valid (injected fault)."
	}
	return typeServiceError, http.StatusText(status) + " (injected fault)"
}

// serveBuffered runs h with its answer buffered and sends it once h has returned, so that
// handlers, which answer while holding the simulator's lock, never wait on a slow client
// with it held.
func serveBuffered(w http.ResponseWriter, r *http.Request, h http.HandlerFunc) {
	bw := &bufferedWriter{header: w.Header()}
	h(bw, r)
	if bw.status == 0 && bw.body.Len() == 0 {
		return // nothing was answered (the client went away)
	}
	if bw.status == 0 {
		bw.status = http.StatusOK
	}
	w.WriteHeader(bw.status)
	_, _ = w.Write(bw.body.Bytes())
}

type bufferedWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedWriter) Header() http.Header { return b.header }

func (b *bufferedWriter) WriteHeader(status int) {
	if b.status == 0 {
		b.status = status
	}
}

func (b *bufferedWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}
