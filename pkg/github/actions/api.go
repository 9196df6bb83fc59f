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
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/uuid"

	"actions.dev/runnerset-apiserver/pkg/github/actions/httpretry"
)

// nilSessionID is what the reference client sends as sessionId when creating a session.
const nilSessionID = "00000000-0000-0000-0000-000000000000"

// joinTenant resolves a relative API path against the tenant URL, keeping the tenant's path
// prefix (and its escaping) and the trailing slash of path.
func joinTenant(tenant *url.URL, path string) *url.URL {
	u := tenant.JoinPath(path)
	u.RawQuery = ""
	u.Fragment = ""
	return u
}

// redactURL drops the query (session ids) for messages.
func redactURL(u *url.URL) string {
	c := *u
	c.RawQuery = ""
	c.User = nil
	return c.String()
}

func adminCall(op, method, path string) call {
	return call{op: op, method: method, path: path, apiVersionInQuery: true, want: successStatus(method)}
}

// successStatus is the one status the service answers a call with when it succeeds (reference
// §2.1): 204 No Content for every DELETE (scale set, session, message, runner), 200 OK for the
// rest, creations included (a created scale set is 200, not 201). The long poll, whose 202 is
// its own answer, checks its statuses itself.
func successStatus(method string) int {
	if method == http.MethodDelete {
		return http.StatusNoContent
	}
	return http.StatusOK
}

func (cl call) withQuery(kv ...string) call {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	cl.query = q
	return cl
}

func (cl call) withJSON(v any) (call, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return cl, fmt.Errorf("actions: %s: encoding the request: %w", cl.op, err)
	}
	cl.body = b
	return cl, nil
}

// ok reports a 2xx status.
func (r *response) ok() bool { return r.StatusCode >= 200 && r.StatusCode <= 299 }

// fail builds the *Error of a failed answer with the classification every call shares: 401/403
// on admin calls are ErrUnauthorized, 401 on queue calls ErrQueueTokenExpired.
func (r *response) fail(cl call) *Error {
	e := newError(cl.op, r.Response, r.body, r.attempts)
	switch r.StatusCode {
	case http.StatusUnauthorized:
		if cl.queueToken != "" {
			e.add(ErrQueueTokenExpired)
		} else {
			e.add(ErrUnauthorized)
		}
	case http.StatusForbidden:
		if cl.queueToken == "" {
			e.add(ErrUnauthorized)
		}
	}
	return e
}

// unexpected is the error of a 2xx answer other than the one the call succeeds with: the
// service did something this client does not know, so it is not taken for success.
func (r *response) unexpected(cl call) *Error {
	e := &Error{Op: cl.op, StatusCode: r.StatusCode, ActivityID: r.Header.Get("ActivityId"), GitHubRequestID: r.Header.Get("X-GitHub-Request-Id"), Attempts: r.attempts,
		Message: fmt.Sprintf("unexpected answer: want %d %s", cl.want, http.StatusText(cl.want))}
	e.add(ErrUnexpectedStatus)
	return e
}

// empty is the error of a 2xx answer without the expected body.
func (r *response) empty(cl call) *Error {
	e := &Error{Op: cl.op, StatusCode: r.StatusCode, ActivityID: r.Header.Get("ActivityId"), GitHubRequestID: r.Header.Get("X-GitHub-Request-Id"), Attempts: r.attempts}
	e.add(ErrEmptyResponse)
	return e
}

// decode reads a JSON answer, stripping a UTF-8 byte order mark; an empty 200 is ErrEmptyResponse.
func (r *response) decode(cl call, out any) error {
	if httpretry.IsEmptyBody(r.body) {
		return r.empty(cl)
	}
	if err := json.Unmarshal(httpretry.StripBOM(r.body), out); err != nil {
		return fmt.Errorf("actions: %s: decoding the answer (%d bytes): %w", cl.op, len(r.body), err)
	}
	return nil
}

// roundTrip sends cl and decodes a 2xx answer into out (when out is not nil); a failed answer is
// an *Error, adjusted by classify when given.
func (c *Client) roundTrip(ctx context.Context, cl call, out any, classify func(*Error)) error {
	r, err := c.do(ctx, cl)
	if err != nil {
		return err
	}
	if !r.ok() {
		e := r.fail(cl)
		if classify != nil {
			classify(e)
		}
		return e
	}
	if cl.want != 0 && r.StatusCode != cl.want {
		return r.unexpected(cl)
	}
	if out == nil {
		return nil
	}
	return r.decode(cl, out)
}

// scaleSetMissingOn404 marks a bare 404 on a call that addresses a scale set by id.
func scaleSetMissingOn404(e *Error) {
	if e.StatusCode == http.StatusNotFound && !e.has(ErrSessionNotFound) && !e.has(ErrRunnerNotFound) {
		e.add(ErrScaleSetNotFound)
	}
}

// GetRunnerGroupByName finds a runner group by name. "" and "default" (any case) are the default
// group, id 1, returned without a call.
func (c *Client) GetRunnerGroupByName(ctx context.Context, name string) (*RunnerGroup, error) {
	if name == "" || strings.EqualFold(name, DefaultRunnerGroupName) {
		return &RunnerGroup{ID: DefaultRunnerGroupID, Name: "Default", IsDefaultGroup: true}, nil
	}
	cl := adminCall("GetRunnerGroupByName", http.MethodGet, runnerGroupsPath).withQuery("groupName", name)
	var list List[RunnerGroup]
	if err := c.roundTrip(ctx, cl, &list, nil); err != nil {
		return nil, err
	}
	switch n := len(list.Value); {
	case n == 0:
		return nil, fmt.Errorf("actions: no runner group named %q: %w", name, ErrRunnerGroupNotFound)
	case n > 1:
		return nil, fmt.Errorf("actions: %d runner groups named %q", n, name)
	}
	g := list.Value[0]
	return &g, nil
}

// GetScaleSet finds a scale set by name in a runner group; nil, nil when there is none.
func (c *Client) GetScaleSet(ctx context.Context, runnerGroupID int, name string) (*RunnerScaleSet, error) {
	cl := adminCall("GetScaleSet", http.MethodGet, scaleSetsPath).
		withQuery("runnerGroupId", strconv.Itoa(runnerGroupID), "name", name)
	var list List[RunnerScaleSet]
	if err := c.roundTrip(ctx, cl, &list, nil); err != nil {
		return nil, err
	}
	switch n := len(list.Value); {
	case n == 0:
		return nil, nil
	case n > 1:
		return nil, fmt.Errorf("actions: %d scale sets named %q in runner group %d", n, name, runnerGroupID)
	}
	ss := list.Value[0]
	return &ss, nil
}

// GetScaleSetByID reads a scale set; ErrScaleSetNotFound when the service has no such id.
func (c *Client) GetScaleSetByID(ctx context.Context, id int) (*RunnerScaleSet, error) {
	cl := adminCall("GetScaleSetByID", http.MethodGet, scaleSetsPath+"/"+strconv.Itoa(id))
	var ss RunnerScaleSet
	if err := c.roundTrip(ctx, cl, &ss, scaleSetMissingOn404); err != nil {
		return nil, err
	}
	if ss.ID == 0 {
		// Some service versions answer 200 with null for a missing id.
		return nil, &Error{Op: cl.op, StatusCode: http.StatusOK, Message: fmt.Sprintf("no scale set %d", id), kinds: []error{ErrScaleSetNotFound}}
	}
	return &ss, nil
}

// CreateScaleSet registers a scale set. Labels without a type get "System"; with no labels at
// all the scale set's name is its one label. Names are unique within a runner group.
func (c *Client) CreateScaleSet(ctx context.Context, ss *RunnerScaleSet) (*RunnerScaleSet, error) {
	if ss == nil || ss.Name == "" {
		return nil, errors.New("actions: CreateScaleSet: a name is required")
	}
	body := normalizeScaleSet(ss)
	cl, err := adminCall("CreateScaleSet", http.MethodPost, scaleSetsPath).withJSON(body)
	if err != nil {
		return nil, err
	}
	var out RunnerScaleSet
	if err := c.roundTrip(ctx, cl, &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// normalizeScaleSet returns the body CreateScaleSet sends.
func normalizeScaleSet(ss *RunnerScaleSet) *RunnerScaleSet {
	body := *ss
	body.Labels = nil
	for _, l := range ss.Labels {
		if l.Type == "" {
			l.Type = LabelTypeSystem
		}
		body.Labels = append(body.Labels, l)
	}
	if len(body.Labels) == 0 {
		body.Labels = []Label{{Type: LabelTypeSystem, Name: ss.Name}}
	}
	return &body
}

// UpdateScaleSet patches a scale set with the non-zero fields of ss (name, runner group, runner
// setting); the service ignores labels on update.
func (c *Client) UpdateScaleSet(ctx context.Context, id int, ss *RunnerScaleSet) (*RunnerScaleSet, error) {
	if ss == nil {
		return nil, errors.New("actions: UpdateScaleSet: nothing to update")
	}
	cl, err := adminCall("UpdateScaleSet", http.MethodPatch, scaleSetsPath+"/"+strconv.Itoa(id)).withJSON(ss)
	if err != nil {
		return nil, err
	}
	var out RunnerScaleSet
	if err := c.roundTrip(ctx, cl, &out, scaleSetMissingOn404); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteScaleSet deletes a scale set. A scale set that is already gone is not an error.
func (c *Client) DeleteScaleSet(ctx context.Context, id int) error {
	cl := adminCall("DeleteScaleSet", http.MethodDelete, scaleSetsPath+"/"+strconv.Itoa(id))
	err := c.roundTrip(ctx, cl, nil, scaleSetMissingOn404)
	if errors.Is(err, ErrScaleSetNotFound) {
		return nil
	}
	return err
}

// sessionRequest is the session-create body.
type sessionRequest struct {
	SessionID string `json:"sessionId"`
	OwnerName string `json:"ownerName"`
}

// DefaultOwnerName is the host name, or a random UUID when there is none.
func DefaultOwnerName() string {
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return string(uuid.NewUUID())
}

// CreateSession opens the scale set's message session. owner names the listener ("" means the
// host name). A second session of the same scale set is ErrSessionConflict; a missing scale set
// ErrScaleSetNotFound.
func (c *Client) CreateSession(ctx context.Context, scaleSetID int, owner string) (*Session, error) {
	if owner == "" {
		owner = DefaultOwnerName()
	}
	cl, err := adminCall("CreateSession", http.MethodPost, sessionsPath(scaleSetID)).
		withJSON(sessionRequest{SessionID: nilSessionID, OwnerName: owner})
	if err != nil {
		return nil, err
	}
	var s Session
	err = c.roundTrip(ctx, cl, &s, func(e *Error) {
		if e.StatusCode == http.StatusConflict {
			e.add(ErrSessionConflict)
		}
		scaleSetMissingOn404(e)
	})
	if err != nil {
		return nil, err
	}
	if s.SessionID == "" || s.SessionID == nilSessionID || s.MessageQueueURL == "" || s.MessageQueueAccessToken == "" {
		if s.SessionID != "" && s.SessionID != nilSessionID {
			_ = c.DeleteSession(ctx, scaleSetID, s.SessionID)
		}
		return nil, fmt.Errorf("actions: CreateSession: the service answered an unusable session (id %q, queue url set: %t, token set: %t)", s.SessionID, s.MessageQueueURL != "", s.MessageQueueAccessToken != "")
	}
	if s.Statistics == nil {
		s.Statistics = &Statistics{}
	}
	return &s, nil
}

func sessionsPath(scaleSetID int) string {
	return scaleSetsPath + "/" + strconv.Itoa(scaleSetID) + "/sessions"
}

// sessionGone marks answers that mean the session no longer exists.
func sessionGone(e *Error) {
	if e.StatusCode == http.StatusNotFound || e.has(ErrSessionNotFound) {
		e.add(ErrSessionNotFound)
	}
}

// RefreshSession gets a new message queue token (and possibly URL) for a session.
// ErrSessionNotFound when the session is gone (create a new one).
func (c *Client) RefreshSession(ctx context.Context, scaleSetID int, sessionID string) (*Session, error) {
	cl := adminCall("RefreshSession", http.MethodPatch, sessionsPath(scaleSetID)+"/"+url.PathEscape(sessionID))
	var s Session
	if err := c.roundTrip(ctx, cl, &s, sessionGone); err != nil {
		return nil, err
	}
	if s.MessageQueueAccessToken == "" {
		return nil, fmt.Errorf("actions: RefreshSession: the service answered without a message queue token")
	}
	return &s, nil
}

// DeleteSession closes a session. ErrSessionNotFound when it was gone already.
func (c *Client) DeleteSession(ctx context.Context, scaleSetID int, sessionID string) error {
	cl := adminCall("DeleteSession", http.MethodDelete, sessionsPath(scaleSetID)+"/"+url.PathEscape(sessionID))
	return c.roundTrip(ctx, cl, nil, sessionGone)
}

// GetMessage long-polls the message queue. nil, nil when the poll ended without a message (202).
// lastMessageID (sent when > 0) is the last message processed; maxCapacity (0..MaxInt32) is sent
// as X-ScaleSetMaxCapacity. A 401 is ErrQueueTokenExpired; an empty 200 is retried and then
// ErrEmptyResponse.
func (c *Client) GetMessage(ctx context.Context, queueURL, queueToken string, lastMessageID int64, maxCapacity int) (*Message, error) {
	if maxCapacity < 0 || maxCapacity > math.MaxInt32 {
		return nil, fmt.Errorf("actions: GetMessage: maxCapacity %d outside 0..%d", maxCapacity, math.MaxInt32)
	}
	u, err := parseQueueURL(queueURL)
	if err != nil {
		return nil, err
	}
	cl := call{op: "GetMessage", method: http.MethodGet, url: u, queueToken: queueToken, header: http.Header{
		"Accept":                {"application/json; api-version=" + APIVersion},
		"X-ScaleSetMaxCapacity": {strconv.Itoa(maxCapacity)},
	}}
	if lastMessageID > 0 {
		cl = cl.withQuery("lastMessageId", strconv.FormatInt(lastMessageID, 10))
	}
	r, err := c.do(ctx, cl)
	if errors.Is(err, httpretry.ErrBodyTooLarge) {
		return nil, fmt.Errorf("%w: %w", ErrMalformedMessage, err)
	}
	if err != nil {
		return nil, err
	}
	if r.StatusCode == http.StatusAccepted {
		return nil, nil
	}
	if r.StatusCode != http.StatusOK {
		return nil, r.fail(cl)
	}
	m, err := DecodeMessage(r.body)
	if err != nil {
		if errors.Is(err, ErrEmptyResponse) {
			return nil, r.empty(cl)
		}
		return nil, fmt.Errorf("actions: GetMessage: %w: %w", ErrMalformedMessage, err)
	}
	return m, nil
}

// DecodeMessage decodes a long-poll answer: strips a UTF-8 byte order mark; an empty body is
// ErrEmptyResponse.
func DecodeMessage(body []byte) (*Message, error) {
	if httpretry.IsEmptyBody(body) {
		return nil, ErrEmptyResponse
	}
	var m Message
	if err := json.Unmarshal(httpretry.StripBOM(body), &m); err != nil {
		return nil, fmt.Errorf("decoding message (%d bytes): %w", len(body), err)
	}
	return &m, nil
}

func parseQueueURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("actions: message queue url %q is not an absolute http(s) URL", raw)
	}
	return u, nil
}

// DeleteMessage acknowledges a message: DELETE {queue url path}/{id}, the queue URL's query
// kept. A 401 is ErrQueueTokenExpired.
func (c *Client) DeleteMessage(ctx context.Context, queueURL, queueToken string, messageID int64) error {
	u, err := parseQueueURL(queueURL)
	if err != nil {
		return err
	}
	d := u.JoinPath(strconv.FormatInt(messageID, 10)) // the query is kept as it is
	cl := call{op: "DeleteMessage", method: http.MethodDelete, url: d, queueToken: queueToken, want: successStatus(http.MethodDelete),
		header: http.Header{"Content-Type": {"application/json"}}}
	return c.roundTrip(ctx, cl, nil, nil)
}

// AcquireJobs asks for the jobs (runner request ids) of JobAvailable messages and returns the
// ids the service let this scale set acquire. It authenticates with the message queue token; a
// 401 is ErrQueueTokenExpired. No ids, no call.
func (c *Client) AcquireJobs(ctx context.Context, scaleSetID int, queueToken string, requestIDs []int64) ([]int64, error) {
	if len(requestIDs) == 0 {
		return nil, nil
	}
	cl, err := adminCall("AcquireJobs", http.MethodPost, scaleSetsPath+"/"+strconv.Itoa(scaleSetID)+"/acquirejobs").withJSON(requestIDs)
	if err != nil {
		return nil, err
	}
	cl.queueToken = queueToken
	var list List[int64]
	if err := c.roundTrip(ctx, cl, &list, nil); err != nil {
		return nil, err
	}
	return list.Value, nil
}

// GenerateJitConfig registers a runner in the scale set and returns its just-in-time
// configuration. A taken name is ErrRunnerExists.
func (c *Client) GenerateJitConfig(ctx context.Context, scaleSetID int, setting *JitRunnerSetting) (*JitConfig, error) {
	if setting == nil || setting.Name == "" {
		return nil, errors.New("actions: GenerateJitConfig: a runner name is required")
	}
	cl, err := adminCall("GenerateJitConfig", http.MethodPost, scaleSetsPath+"/"+strconv.Itoa(scaleSetID)+"/generatejitconfig").withJSON(setting)
	if err != nil {
		return nil, err
	}
	var out JitConfig
	err = c.roundTrip(ctx, cl, &out, func(e *Error) {
		if e.StatusCode == http.StatusConflict && e.TypeName == "" {
			e.add(ErrRunnerExists)
		}
		scaleSetMissingOn404(e)
	})
	if err != nil {
		return nil, err
	}
	if out.Runner == nil || out.EncodedJITConfig == "" {
		return nil, fmt.Errorf("actions: GenerateJitConfig: the answer lacks the runner or its configuration")
	}
	return &out, nil
}

// GetRunner reads a registered runner; ErrRunnerNotFound when there is none.
func (c *Client) GetRunner(ctx context.Context, runnerID int) (*RunnerReference, error) {
	cl := adminCall("GetRunner", http.MethodGet, runnersPath+"/"+strconv.Itoa(runnerID))
	var r RunnerReference
	err := c.roundTrip(ctx, cl, &r, func(e *Error) {
		if e.StatusCode == http.StatusNotFound {
			e.add(ErrRunnerNotFound)
		}
	})
	if err != nil {
		return nil, err
	}
	return &r, nil
}

// GetRunnerByName finds a registered runner by name; nil, nil when there is none.
func (c *Client) GetRunnerByName(ctx context.Context, name string) (*RunnerReference, error) {
	cl := adminCall("GetRunnerByName", http.MethodGet, runnersPath).withQuery("agentName", name)
	var list List[RunnerReference]
	if err := c.roundTrip(ctx, cl, &list, nil); err != nil {
		return nil, err
	}
	switch n := len(list.Value); {
	case n == 0:
		return nil, nil
	case n > 1:
		return nil, fmt.Errorf("actions: %d runners named %q", n, name)
	}
	r := list.Value[0]
	return &r, nil
}

// RemoveRunner deregisters a runner; nil also when it is already gone. ErrJobStillRunning while it
// holds a job.
func (c *Client) RemoveRunner(ctx context.Context, runnerID int) error {
	cl := adminCall("RemoveRunner", http.MethodDelete, runnersPath+"/"+strconv.Itoa(runnerID))
	err := c.roundTrip(ctx, cl, nil, func(e *Error) {
		if e.StatusCode == http.StatusNotFound {
			e.add(ErrRunnerNotFound)
		}
	})
	if errors.Is(err, ErrRunnerNotFound) {
		return nil
	}
	return err
}
