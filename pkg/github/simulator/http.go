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
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path"
	"strconv"
	"strings"

	"github.com/google/uuid"
)

// .NET exception type names the service answers with. The service writes them
// assembly-qualified, "<namespace>.<class>, <assembly>", as in the 409 of ARC issue #4285:
// "GitHub.Actions.Runtime.WebApi.RunnerScaleSetSessionConflictException,
// GitHub.Actions.Runtime.WebApi" (the reference's §2.2 names the same three
// GitHub.Actions.Runtime.WebApi types). The reference gives no assembly for the other types:
// they follow the envelope's .NET convention (the assembly named like the namespace;
// mscorlib for System types), which is our inference.
const (
	asmRuntime        = "GitHub.Actions.Runtime.WebApi"
	asmDistributed    = "GitHub.DistributedTask.WebApi"
	asmServicesCommon = "Microsoft.VisualStudio.Services.Common"
	asmServicesWebAPI = "Microsoft.VisualStudio.Services.WebApi"

	typeScaleSetNotFound  = asmRuntime + ".RunnerScaleSetNotFoundException, " + asmRuntime
	typeScaleSetExists    = asmRuntime + ".RunnerScaleSetExistsException, " + asmRuntime
	typeSessionConflict   = asmRuntime + ".RunnerScaleSetSessionConflictException, " + asmRuntime
	typeSessionExpired    = asmRuntime + ".RunnerScaleSetSessionExpiredException, " + asmRuntime
	typeRunnerAdmin       = asmRuntime + ".RunnerAdminException, " + asmRuntime
	typeRunnerGroupAbsent = asmRuntime + ".RunnerGroupNotFoundException, " + asmRuntime
	typeServiceError      = asmRuntime + ".RunnerServiceException, " + asmRuntime
	typeAgentExists       = asmDistributed + ".AgentExistsException, " + asmDistributed
	typeAgentNotFound     = asmDistributed + ".AgentNotFoundException, " + asmDistributed
	typeJobStillRunning   = asmDistributed + ".JobStillRunningException, " + asmDistributed
	typeUnauthorized      = asmServicesCommon + ".VssUnauthorizedException, " + asmServicesCommon
	typeVersionMissing    = asmServicesWebAPI + ".VssVersionNotSpecifiedException, " + asmServicesWebAPI
	typeVersionRange      = asmServicesWebAPI + ".VssVersionOutOfRangeException, " + asmServicesWebAPI
	typeArgument          = "System.ArgumentException, mscorlib"
)

const gitHubDocsURL = "https://docs.github.com/rest"

var bom = []byte{0xEF, 0xBB, 0xBF}

func newActivityID() string { return uuid.NewString() }

// newRequestID looks like GitHub's X-GitHub-Request-Id (e.g. "C3A8:2B5F:1D9E4A:3C71B2:6560F1A2").
func newRequestID() string {
	const hex = "0123456789ABCDEF"
	return randomString(hex, 4) + ":" + randomString(hex, 4) + ":" + randomString(hex, 6) + ":" +
		randomString(hex, 6) + ":" + randomString(hex, 8)
}

func encodeJSON(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(fmt.Sprintf("simulator: encoding %T: %v", v, err)) // only plain structs are encoded
	}
	return buf.Bytes()
}

// writeServiceJSON answers an Actions Service request.
func (s *Simulator) writeServiceJSON(w http.ResponseWriter, status int, v any) {
	body := encodeJSON(v)
	if s.opts.ResponseBOM {
		body = append(append([]byte{}, bom...), body...)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// serviceError is the service's error envelope, with the fields .NET adds around typeName
// and message.
type serviceError struct {
	ID             string  `json:"$id"`
	InnerException *string `json:"innerException"`
	Message        string  `json:"message"`
	TypeName       string  `json:"typeName"`
	TypeKey        string  `json:"typeKey"`
	ErrorCode      int     `json:"errorCode"`
	EventID        int     `json:"eventId"`
}

func (s *Simulator) writeServiceError(w http.ResponseWriter, status int, typeName, msg string) {
	s.writeServiceJSON(w, status, serviceError{ID: "1", Message: msg, TypeName: typeName, TypeKey: typeKey(typeName), EventID: 3000})
}

// typeKey is the class name of an assembly-qualified type name, which the envelope also
// carries as typeKey: "A.B.C, A.B" is "C".
func typeKey(typeName string) string {
	full, _, _ := strings.Cut(typeName, ",")
	return full[strings.LastIndex(full, ".")+1:]
}

type gitHubError struct {
	Message          string `json:"message"`
	DocumentationURL string `json:"documentation_url"`
	Status           string `json:"status"`
}

func writeGitHubJSON(w http.ResponseWriter, status int, v any) {
	body := encodeJSON(v)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-GitHub-Media-Type", "github.v3; format=json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func writeGitHubError(w http.ResponseWriter, status int, msg string) {
	writeGitHubJSON(w, status, gitHubError{Message: msg, DocumentationURL: gitHubDocsURL, Status: strconv.Itoa(status)})
}

// decodeBody decodes a JSON request body into v; an empty body leaves v alone.
func decodeBody(r *http.Request, v any) error {
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return err
	}
	b = bytes.TrimPrefix(bytes.TrimSpace(b), bom)
	if len(b) == 0 {
		return nil
	}
	return json.Unmarshal(b, v)
}

// bearer returns the credential of an "Authorization: <scheme> <credential>" header when
// scheme is one of schemes (case-insensitive).
func bearer(r *http.Request, schemes ...string) string {
	scheme, cred, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	if !ok {
		return ""
	}
	for _, sc := range schemes {
		if strings.EqualFold(scheme, sc) {
			return strings.TrimSpace(cred)
		}
	}
	return ""
}

func pathInt(r *http.Request, name string) (int, bool) {
	n, err := strconv.Atoi(r.PathValue(name))
	return n, err == nil
}

// handlerFor builds what the listener of role r serves. Without SeparateHosts one listener
// serves everything, as a GitHub Enterprise Server does on one host; with it each host
// answers only its own routes (anything else is a 404, as on GitHub), and the control API
// stays on the REST listener.
func (s *Simulator) handlerFor(r role) http.Handler {
	mux := http.NewServeMux()
	all := !s.opts.SeparateHosts
	if all || r == roleREST {
		s.restRoutes(mux)
		s.controlRoutes(mux)
	}
	if all || r == roleService {
		s.serviceRoutes(mux)
	}
	if all || r == roleBroker {
		s.brokerRoutes(mux)
	}
	return servedClean(mux)
}

// restRoutes are GitHub REST, with and without /api/v3.
func (s *Simulator) restRoutes(mux *http.ServeMux) {
	gh := func(pattern, name string, h http.HandlerFunc) {
		method, path, _ := strings.Cut(pattern, " ")
		wrapped := s.endpoint(name, endpointGroupGitHub, nil, h)
		mux.HandleFunc(method+" "+path, wrapped)
		mux.HandleFunc(method+" /api/v3"+path, wrapped)
	}
	gh("POST /app/installations/{installation}/access_tokens", EPCreateInstallationToken, s.handleInstallationToken)
	gh("POST /repos/{owner}/{repo}/actions/runners/registration-token", EPRegistrationToken, s.handleRegistrationToken)
	gh("POST /orgs/{org}/actions/runners/registration-token", EPRegistrationToken, s.handleRegistrationToken)
	gh("POST /enterprises/{enterprise}/actions/runners/registration-token", EPRegistrationToken, s.handleRegistrationToken)
	gh("GET /repos/{owner}/{repo}/actions/runners", EPListRunners, s.handleListRunners)
	gh("GET /orgs/{org}/actions/runners", EPListRunners, s.handleListRunners)
	gh("GET /enterprises/{enterprise}/actions/runners", EPListRunners, s.handleListRunners)
	gh("POST /actions/runner-registration", EPRunnerRegistration, s.handleRunnerRegistration)
	gh("GET /repos/{owner}/{repo}/actions/jobs/{job}", EPGetWorkflowJob, s.handleGetWorkflowJob)
	gh("POST /repos/{owner}/{repo}/actions/jobs/{job}/rerun", EPRerunWorkflowJob, s.handleRerunWorkflowJob)
	gh("GET /repos/{owner}/{repo}/actions/runs/{run}", EPGetWorkflowRun, s.handleGetWorkflowRun)
	gh("GET /repos/{owner}/{repo}/actions/runs/{run}/jobs", EPListWorkflowRunJobs, s.handleListWorkflowRunJobs)
}

// Paths of the Actions Service, relative to the simulator's origin: the tenant URL is
// <origin>/tenant/{tenant}/.
const (
	tenantPrefix = "/tenant/{tenant}/"
	scaleSetsAPI = tenantPrefix + "_apis/runtime/runnerscalesets"
	agentsAPI    = tenantPrefix + "_apis/distributedtask/pools/{pool}/agents"
)

// svc registers an Actions Service handler; scaleSetOf names the scale set a request is about.
func (s *Simulator) svc(mux *http.ServeMux, pattern, name string, scaleSetOf func(*http.Request) int, h http.HandlerFunc) {
	mux.HandleFunc(pattern, s.endpoint(name, endpointGroupActions, scaleSetOf, h))
}

func scaleSetInPath(r *http.Request) int { id, _ := pathInt(r, "id"); return id }

// serviceRoutes are the Actions Service's calls at the tenant URL, all but the message queue.
func (s *Simulator) serviceRoutes(mux *http.ServeMux) {
	byRunner := func(r *http.Request) int {
		id, _ := pathInt(r, "runner")
		if rn := s.state.runners[id]; rn != nil {
			return rn.scaleSet.rs.ID
		}
		return 0
	}
	rss, byPath := scaleSetsAPI, scaleSetInPath
	s.svc(mux, "GET "+tenantPrefix+"_apis/runtime/runnergroups/{$}", EPGetRunnerGroup, nil, s.handleGetRunnerGroup)
	s.svc(mux, "GET "+tenantPrefix+"_apis/runtime/runnergroups", EPGetRunnerGroup, nil, s.handleGetRunnerGroup)
	s.svc(mux, "GET "+rss, EPGetScaleSetByName, nil, s.handleGetScaleSetByName)
	s.svc(mux, "POST "+rss, EPCreateScaleSet, nil, s.handleCreateScaleSet)
	s.svc(mux, "GET "+rss+"/{id}", EPGetScaleSet, byPath, s.handleGetScaleSet)
	s.svc(mux, "PATCH "+rss+"/{id}", EPUpdateScaleSet, byPath, s.handleUpdateScaleSet)
	s.svc(mux, "DELETE "+rss+"/{id}", EPDeleteScaleSet, byPath, s.handleDeleteScaleSet)
	s.svc(mux, "POST "+rss+"/{id}/sessions", EPCreateSession, byPath, s.handleCreateSession)
	s.svc(mux, "PATCH "+rss+"/{id}/sessions/{session}", EPRefreshSession, byPath, s.handleRefreshSession)
	s.svc(mux, "DELETE "+rss+"/{id}/sessions/{session}", EPDeleteSession, byPath, s.handleDeleteSession)
	// acquirejobs carries the queue token but is a tenant URL call (reference §2.1, row 12).
	s.svc(mux, "POST "+rss+"/{id}/acquirejobs", EPAcquireJobs, byPath, s.handleAcquireJobs)
	s.svc(mux, "GET "+rss+"/{id}/acquirablejobs", EPAcquirableJobs, byPath, s.handleAcquirableJobs)
	s.svc(mux, "POST "+rss+"/{id}/generatejitconfig", EPGenerateJitConfig, byPath, s.handleGenerateJitConfig)
	s.svc(mux, "GET "+agentsAPI+"/{runner}", EPGetRunner, byRunner, s.handleGetRunner)
	s.svc(mux, "GET "+agentsAPI, EPGetRunnerByName, nil, s.handleGetRunnerByName)
	s.svc(mux, "DELETE "+agentsAPI+"/{runner}", EPRemoveRunner, byRunner, s.handleRemoveRunner)
}

// brokerRoutes are the calls at the messageQueueUrl (origins.queueURL): get and delete message
// (reference §2.1, rows 10 and 11).
func (s *Simulator) brokerRoutes(mux *http.ServeMux) {
	s.svc(mux, "GET "+scaleSetsAPI+"/{id}/messages", EPGetMessage, scaleSetInPath, s.handleGetMessage)
	s.svc(mux, "DELETE "+scaleSetsAPI+"/{id}/messages/{message}", EPDeleteMessage, scaleSetInPath, s.handleDeleteMessage)
}

// servedClean serves a request whose path is not canonical ("//", "/./", "/../") at its
// cleaned path. ServeMux would answer it with a redirect to that path instead (307 for a
// POST), which GitHub does not send: it answers such paths itself. The reference says
// nothing of them, so the cleaned path is served, with its query and trailing slash kept.
func servedClean(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		clean := cleanPath(r.URL.Path)
		if clean == r.URL.Path {
			h.ServeHTTP(w, r)
			return
		}
		r2 := new(http.Request)
		*r2 = *r
		u := *r.URL
		u.Path = clean
		if u.RawPath != "" {
			u.RawPath = cleanPath(u.RawPath)
		}
		r2.URL = &u
		h.ServeHTTP(w, r2)
	})
}

// cleanPath is path.Clean that keeps a trailing slash, which the service's routes tell apart
// (runnergroups/ is the group lookup).
func cleanPath(p string) string {
	if p == "" {
		return "/"
	}
	c := path.Clean(p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c
}
