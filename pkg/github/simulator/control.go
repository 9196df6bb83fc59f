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
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
)

// The control API under /_sim/: JSON in and out, not counted, never faulted.

// Error codes of the control API, so that ControlClient can return the sentinel errors.
const (
	codeUnknownJITConfig = "UnknownJITConfig"
	codeRunnerNotFound   = "RunnerNotFound"
	codeNoJob            = "NoJob"
	codeRunnerTooOld     = "RunnerVersionTooOld"
	codeBadRequest       = "BadRequest"
	codeNotFound         = "NotFound"
)

type controlError struct {
	Error string `json:"error"`
	Code  string `json:"code"`
	// Version and Minimum come with RunnerVersionTooOld.
	Version string `json:"version,omitempty"`
	Minimum string `json:"minimum,omitempty"`
}

// QueueJobsRequest is the body of POST /_sim/jobs: a Job, plus how many copies to queue.
type QueueJobsRequest struct {
	Job
	// Count copies are queued; default 1.
	Count int `json:"count,omitempty"`
}

// UnmarshalJSON reads the Job fields and count from one object (Job has its own
// UnmarshalJSON, which would otherwise swallow count).
func (q *QueueJobsRequest) UnmarshalJSON(b []byte) error {
	if err := q.Job.UnmarshalJSON(b); err != nil {
		return err
	}
	var c struct {
		Count int `json:"count"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return err
	}
	q.Count = c.Count
	return nil
}

// MarshalJSON writes the Job fields and count as one object.
func (q QueueJobsRequest) MarshalJSON() ([]byte, error) {
	b, err := q.Job.MarshalJSON()
	if err != nil || q.Count == 0 {
		return b, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	m["count"] = q.Count
	return json.Marshal(m)
}

// QueueJobsResponse answers POST /_sim/jobs.
type QueueJobsResponse struct {
	RequestIDs []int64 `json:"requestIds"`
}

func ctlJSON(w http.ResponseWriter, status int, v any) {
	body := encodeJSON(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func ctlError(w http.ResponseWriter, status int, code string, err error) {
	ctlJSON(w, status, controlError{Error: err.Error(), Code: code})
}

func ctlDecode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := decodeBody(r, v); err != nil {
		ctlError(w, http.StatusBadRequest, codeBadRequest, err)
		return false
	}
	return true
}

func ctlID(w http.ResponseWriter, r *http.Request) (int, bool) {
	id, err := strconv.Atoi(r.PathValue("id"))
	if err != nil {
		ctlError(w, http.StatusBadRequest, codeBadRequest, errors.New("id must be an integer"))
		return 0, false
	}
	return id, true
}

// jobRoutes serves /_sim/jobs: queue jobs, read them and their attempts.
func (s *Simulator) jobRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /_sim/jobs", func(w http.ResponseWriter, r *http.Request) {
		var req QueueJobsRequest
		if !ctlDecode(w, r, &req) {
			return
		}
		if len(req.Labels) == 0 {
			ctlError(w, http.StatusBadRequest, codeBadRequest, errors.New("labels: a job needs at least one runs-on label"))
			return
		}
		if req.Count <= 0 {
			req.Count = 1
		}
		if req.Count > 10000 {
			ctlError(w, http.StatusBadRequest, codeBadRequest, errors.New("count: at most 10000 jobs per request"))
			return
		}
		out := QueueJobsResponse{RequestIDs: make([]int64, 0, req.Count)}
		for range req.Count {
			out.RequestIDs = append(out.RequestIDs, s.QueueJob(req.Job))
		}
		ctlJSON(w, http.StatusCreated, out)
	})
	mux.HandleFunc("GET /_sim/jobs", func(w http.ResponseWriter, r *http.Request) {
		jobs := s.Jobs()
		if state := r.URL.Query().Get("state"); state != "" {
			kept := jobs[:0]
			for _, j := range jobs {
				if strings.EqualFold(j.State, state) {
					kept = append(kept, j)
				}
			}
			jobs = kept
		}
		ctlJSON(w, http.StatusOK, jobs)
	})
	mux.HandleFunc("GET /_sim/jobs/{id}", func(w http.ResponseWriter, r *http.Request) {
		if id, ok := ctlJobID(w, r); ok {
			if j, ok := s.Job(id); ok {
				ctlJSON(w, http.StatusOK, j)
				return
			}
			ctlError(w, http.StatusNotFound, codeNotFound, errors.New("no such job"))
		}
	})
	mux.HandleFunc("GET /_sim/jobs/{id}/attempts", func(w http.ResponseWriter, r *http.Request) {
		if id, ok := ctlJobID(w, r); ok {
			if attempts, ok := s.JobAttempts(id); ok {
				ctlJSON(w, http.StatusOK, attempts)
				return
			}
			ctlError(w, http.StatusNotFound, codeNotFound, errors.New("no such job"))
		}
	})
}

// ctlJobID reads a job's request id from the path.
func ctlJobID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		ctlError(w, http.StatusBadRequest, codeBadRequest, errors.New("id must be an integer"))
		return 0, false
	}
	return id, true
}

func (s *Simulator) controlRoutes(mux *http.ServeMux) {
	s.jobRoutes(mux)
	mux.HandleFunc("POST /_sim/faults", func(w http.ResponseWriter, r *http.Request) {
		var f Fault
		if !ctlDecode(w, r, &f) {
			return
		}
		ctlJSON(w, http.StatusCreated, map[string]int{"id": s.addFault(f)})
	})
	mux.HandleFunc("GET /_sim/faults", func(w http.ResponseWriter, r *http.Request) {
		ctlJSON(w, http.StatusOK, s.Faults())
	})
	mux.HandleFunc("DELETE /_sim/faults/{id}", func(w http.ResponseWriter, r *http.Request) {
		if id, ok := ctlID(w, r); ok {
			s.RemoveFault(id)
			w.WriteHeader(http.StatusNoContent)
		}
	})
	mux.HandleFunc("POST /_sim/scalesets/{id}/vanish", func(w http.ResponseWriter, r *http.Request) {
		if id, ok := ctlID(w, r); ok {
			s.VanishScaleSet(id)
			w.WriteHeader(http.StatusNoContent)
		}
	})
	mux.HandleFunc("DELETE /_sim/scalesets/{id}/session", func(w http.ResponseWriter, r *http.Request) {
		if id, ok := ctlID(w, r); ok {
			if !s.DropSession(id) {
				ctlError(w, http.StatusNotFound, codeNotFound, errors.New("no session"))
				return
			}
			w.WriteHeader(http.StatusNoContent)
		}
	})
	mux.HandleFunc("POST /_sim/queue-tokens/expire", func(w http.ResponseWriter, r *http.Request) {
		s.ExpireQueueTokens()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /_sim/counters", func(w http.ResponseWriter, r *http.Request) {
		ctlJSON(w, http.StatusOK, s.Counters())
	})
	mux.HandleFunc("DELETE /_sim/counters", func(w http.ResponseWriter, r *http.Request) {
		s.ResetCounters()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /_sim/scalesets", func(w http.ResponseWriter, r *http.Request) {
		ctlJSON(w, http.StatusOK, nonNil(s.ScaleSets()))
	})
	mux.HandleFunc("GET /_sim/sessions", func(w http.ResponseWriter, r *http.Request) {
		ctlJSON(w, http.StatusOK, nonNil(s.Sessions()))
	})
	mux.HandleFunc("POST /_sim/runnergroups", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Name string `json:"name"`
		}
		if !ctlDecode(w, r, &req) {
			return
		}
		if strings.TrimSpace(req.Name) == "" {
			ctlError(w, http.StatusBadRequest, codeBadRequest, errors.New("name is required"))
			return
		}
		ctlJSON(w, http.StatusCreated, s.AddRunnerGroup(req.Name))
	})

	s.settingsRoutes(mux)
	s.accountRoutes(mux)
	s.tokenRoutes(mux)
	s.installationControlRoutes(mux)
	s.rateLimitRoutes(mux)
	// GitHub REST endpoints of Apps, registered here rather than in routes() (http.go) only to
	// keep this change apart from the serving code; they are GitHub's, not the control API's.
	s.installationRoutes(mux)

	s.runnerControlRoutes(mux)
}

// runnerControlRoutes serve the runner side: /_sim/runners.
func (s *Simulator) runnerControlRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /_sim/runners", func(w http.ResponseWriter, r *http.Request) {
		ctlJSON(w, http.StatusOK, s.Runners())
	})
	mux.HandleFunc("POST /_sim/runners/connect", s.handleConnectRunner)
	mux.HandleFunc("POST /_sim/runners/{id}/acquire", func(w http.ResponseWriter, r *http.Request) {
		id, ok := ctlID(w, r)
		if !ok {
			return
		}
		j, ok := s.AcquireRunnerJob(id)
		if !ok {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		ctlJSON(w, http.StatusOK, j)
	})
	mux.HandleFunc("POST /_sim/runners/{id}/complete", func(w http.ResponseWriter, r *http.Request) {
		id, ok := ctlID(w, r)
		if !ok {
			return
		}
		var req struct {
			Result string `json:"result"`
		}
		if !ctlDecode(w, r, &req) {
			return
		}
		switch err := s.CompleteRunnerJob(id, req.Result); {
		case errors.Is(err, ErrRunnerNotFound):
			ctlError(w, http.StatusNotFound, codeRunnerNotFound, err)
		case errors.Is(err, ErrNoJob):
			ctlError(w, http.StatusConflict, codeNoJob, err)
		case err != nil:
			ctlError(w, http.StatusInternalServerError, "", err)
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	})
	mux.HandleFunc("POST /_sim/runners/{id}/disconnect", func(w http.ResponseWriter, r *http.Request) {
		if id, ok := ctlID(w, r); ok {
			s.DisconnectRunner(id)
			w.WriteHeader(http.StatusNoContent)
		}
	})
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// handleConnectRunner: POST /_sim/runners/connect {"encodedJITConfig","version"}. A runner
// older than the minimum version gets 403, as from the service.
func (s *Simulator) handleConnectRunner(w http.ResponseWriter, r *http.Request) {
	var req struct {
		EncodedJITConfig string `json:"encodedJITConfig"`
		Version          string `json:"version"`
	}
	if !ctlDecode(w, r, &req) {
		return
	}
	info, err := s.ConnectRunnerVersion(req.EncodedJITConfig, req.Version)
	var tooOld *RunnerVersionError
	switch {
	case errors.As(err, &tooOld):
		ctlJSON(w, http.StatusForbidden, controlError{Error: err.Error(), Code: codeRunnerTooOld, Version: tooOld.Version, Minimum: tooOld.Minimum})
	case err != nil:
		ctlError(w, http.StatusNotFound, codeUnknownJITConfig, err)
	default:
		ctlJSON(w, http.StatusOK, info)
	}
}
