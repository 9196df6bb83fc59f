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

package actions

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"actions.dev/runnerset-apiserver/pkg/github/actions/httpretry"
	"actions.dev/runnerset-apiserver/pkg/github/auth"
)

// Sentinel errors; every error the client returns for a service answer is an *Error that
// errors.Is matches against the sentinels below that apply.
var (
	// ErrSessionConflict: 409 on session create; the scale set already has an active session
	// (possibly a stale one of a crashed process, which the service expires eventually).
	ErrSessionConflict = errors.New("the scale set already has an active message session")
	// ErrSessionNotFound: the session is gone (404 on refresh, 400 RunnerScaleSetSessionExpiredException
	// or 404 on delete); create a new one.
	ErrSessionNotFound = errors.New("message session not found")
	// ErrScaleSetNotFound: 404 RunnerScaleSetNotFoundException, or a bare 404 on a call addressing
	// a scale set by id; the scale set was deleted on the GitHub side and must be re-created.
	ErrScaleSetNotFound = errors.New("runner scale set not found")
	// ErrScaleSetExists: RunnerScaleSetExistsException (409 on create or update): the name is
	// taken in the runner group; look it up with GetScaleSet.
	ErrScaleSetExists = errors.New("a runner scale set with this name already exists in the runner group")
	// ErrRunnerGroupNotFound: no runner group has the name.
	ErrRunnerGroupNotFound = errors.New("runner group not found")
	// ErrRunnerExists: AgentExistsException (409 on generatejitconfig): the runner name is taken.
	ErrRunnerExists = errors.New("a runner with this name already exists")
	// ErrRunnerNotFound: AgentNotFoundException or 404 on a runner by id.
	ErrRunnerNotFound = errors.New("runner not found")
	// ErrJobStillRunning: JobStillRunningException (400 on remove): the runner holds a job.
	ErrJobStillRunning = errors.New("the runner is still running a job")
	// ErrQueueTokenExpired: 401 on a message queue call (get, delete message, acquire jobs);
	// refresh the session and retry. MessageSession does that.
	ErrQueueTokenExpired = errors.New("message queue token expired")
	// ErrUnauthorized: 401 or 403 on an admin call after one token refresh, or anywhere in the
	// token chain. It is auth.ErrUnauthorized.
	ErrUnauthorized = auth.ErrUnauthorized
	// ErrEmptyResponse: a 200 whose body is empty where a JSON document was expected (the broker
	// has been seen to send these). Reads are retried like a 5xx first.
	ErrEmptyResponse = errors.New("the service answered 200 with an empty body")
	// ErrUnexpectedStatus: a success status other than the one the call succeeds with (e.g. 200
	// where a delete answers 204): not taken for success, since what the service did is unknown.
	ErrUnexpectedStatus = errors.New("the service answered with an unexpected success status")
	// ErrMalformedMessage: the long poll answered 200 with something that is not a message
	// (truncated, not JSON, not an object, or over httpretry.MaxBodyBytes). Nothing can be
	// acknowledged; poll again in the same session.
	ErrMalformedMessage = errors.New("the message queue answered with a malformed message")
)

// Error is an unsuccessful answer of the Actions Service.
type Error struct {
	// Op is the client method, e.g. "CreateSession".
	Op string
	// StatusCode is the HTTP status.
	StatusCode int
	// TypeName is the service's exception type, e.g.
	// "GitHub.Actions.Runtime.WebApi.RunnerScaleSetSessionConflictException"; the broker's
	// errorKind when it answers in its own shape; empty for text bodies.
	TypeName string
	// Message is the service's message or the start of a text body.
	Message string
	// ActivityID and GitHubRequestID are the response's ActivityId and X-GitHub-Request-Id
	// headers, for support requests.
	ActivityID      string
	GitHubRequestID string
	// Attempts is how many requests the call sent.
	Attempts int

	kinds []error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("actions: ")
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	fmt.Fprintf(&b, "%d %s", e.StatusCode, http.StatusText(e.StatusCode))
	if e.TypeName != "" {
		b.WriteString(": ")
		b.WriteString(shortTypeName(e.TypeName))
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	} else if len(e.kinds) > 0 {
		b.WriteString(": ")
		b.WriteString(e.kinds[0].Error())
	}
	if e.ActivityID != "" {
		b.WriteString(" (ActivityId: " + e.ActivityID + ")")
	}
	if e.GitHubRequestID != "" {
		b.WriteString(" (X-GitHub-Request-Id: " + e.GitHubRequestID + ")")
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " after %d attempts", e.Attempts)
	}
	return b.String()
}

// Unwrap lets errors.Is find the sentinels this answer means.
func (e *Error) Unwrap() []error { return e.kinds }

// shortTypeName is the class name of a .NET type name, unqualified
// ("GitHub.Actions.Runtime.WebApi.RunnerScaleSetNotFoundException") or assembly-qualified as
// the service writes it ("GitHub.Actions.Runtime.WebApi.RunnerScaleSetNotFoundException,
// GitHub.Actions.Runtime.WebApi"): "RunnerScaleSetNotFoundException" either way. Without the
// assembly cut off first, the assembly's last part ("WebApi") would pass for the name.
func shortTypeName(t string) string {
	full, _, _ := strings.Cut(t, ",")
	full = strings.TrimSpace(full)
	if i := strings.LastIndexByte(full, '.'); i >= 0 && i < len(full)-1 {
		return full[i+1:]
	}
	return full
}

func (e *Error) has(kind error) bool {
	for _, k := range e.kinds {
		if k == kind {
			return true
		}
	}
	return false
}

func (e *Error) add(kind error) {
	if !e.has(kind) {
		e.kinds = append(e.kinds, kind)
	}
}

// typeNameIs matches an exception type by its class name, whatever namespace and assembly
// qualify it.
func typeNameIs(typeName, short string) bool {
	return shortTypeName(typeName) == short
}

// newError builds an *Error from a failed answer and classifies it by exception type. Operation
// specific statuses are added by the caller.
func newError(op string, resp *http.Response, body []byte, attempts int) *Error {
	e := &Error{
		Op:              op,
		StatusCode:      resp.StatusCode,
		ActivityID:      resp.Header.Get("ActivityId"),
		GitHubRequestID: resp.Header.Get("X-GitHub-Request-Id"),
		Attempts:        attempts,
	}
	e.TypeName, e.Message = parseErrorBody(body)
	switch {
	case typeNameIs(e.TypeName, "RunnerScaleSetSessionConflictException"):
		e.add(ErrSessionConflict)
	case typeNameIs(e.TypeName, "RunnerScaleSetSessionExpiredException"), typeNameIs(e.TypeName, "RunnerScaleSetSessionNotFoundException"):
		e.add(ErrSessionNotFound)
	case typeNameIs(e.TypeName, "RunnerScaleSetNotFoundException"):
		e.add(ErrScaleSetNotFound)
	case typeNameIs(e.TypeName, "RunnerScaleSetExistsException"):
		e.add(ErrScaleSetExists)
	case typeNameIs(e.TypeName, "AgentExistsException"):
		e.add(ErrRunnerExists)
	case typeNameIs(e.TypeName, "AgentNotFoundException"):
		e.add(ErrRunnerNotFound)
	case typeNameIs(e.TypeName, "JobStillRunningException"):
		e.add(ErrJobStillRunning)
	case typeNameIs(e.TypeName, "RunnerGroupNotFoundException"):
		e.add(ErrRunnerGroupNotFound)
	}
	return e
}

// parseErrorBody reads the service's {"typeName","message"} envelope, the broker's
// {"errorKind","errorMessage"} shape, or a text body.
func parseErrorBody(body []byte) (typeName, message string) {
	body = bytes.TrimSpace(httpretry.StripBOM(body))
	if len(body) == 0 {
		return "", ""
	}
	if body[0] == '{' {
		var env struct {
			TypeName     string `json:"typeName"`
			TypeKey      string `json:"typeKey"`
			Message      string `json:"message"`
			ErrorKind    string `json:"errorKind"`
			ErrorMessage string `json:"errorMessage"`
		}
		if json.Unmarshal(body, &env) == nil {
			typeName, message = env.TypeName, env.Message
			if typeName == "" {
				typeName = env.TypeKey
			}
			if typeName == "" {
				typeName = env.ErrorKind
			}
			if message == "" {
				message = env.ErrorMessage
			}
			if typeName != "" || message != "" {
				return typeName, message
			}
		}
	}
	const max = 512
	s := string(body)
	if len(s) > max {
		s = s[:max] + "..."
	}
	return "", s
}
