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
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// The Actions Service handlers. Each takes the lock once for its whole decision, except the
// long poll, which waits without it.

// sessionConflictMessage is GitHub's wording of a 409 on session create (reference §2.1, row 7;
// ARC issue #4285).
func sessionConflictMessage(scaleSetName string) string {
	return "The actions runner scaleset " + scaleSetName + " already has an active session."
}

// scaleSetNotFoundMessage is ours: the reference gives no wording for this 404.
func scaleSetNotFoundMessage(id int) string {
	return "No RunnerScaleSet found with identifier " + itoa(id) + "."
}

// adminLocked checks an admin call: a live admin token of the tenant in the path, and
// api-version=6.0-preview. It answers the request itself when the call must stop.
func (s *Simulator) adminLocked(w http.ResponseWriter, r *http.Request) (*tenant, bool) {
	st := s.state
	at := st.adminTokens[bearer(r, "Bearer")]
	n, _ := pathInt(r, "tenant")
	if at == nil || !s.clock.Now().Before(at.expires) || at.tenant.id != n {
		s.writeServiceError(w, http.StatusUnauthorized, typeUnauthorized,
			"VS30063: You are not authorized to access "+s.url+r.URL.Path+".")
		return nil, false
	}
	switch v := r.URL.Query().Get("api-version"); v {
	case APIVersion:
	case "":
		s.writeServiceError(w, http.StatusBadRequest, typeVersionMissing,
			"The API version for this request is required and must be provided in the query string (api-version="+APIVersion+").")
		return nil, false
	default:
		s.writeServiceError(w, http.StatusBadRequest, typeVersionRange,
			"The requested REST API version of "+v+" is out of range for this server. The supported version is "+APIVersion+".")
		return nil, false
	}
	return at.tenant, true
}

// scaleSetLocked finds the scale set {id} of tenant t, answering 404 when there is none.
func (s *Simulator) scaleSetLocked(w http.ResponseWriter, r *http.Request, t *tenant) (*scaleSet, bool) {
	id, _ := pathInt(r, "id")
	ss := s.state.scaleSets[id]
	if ss == nil || ss.tenant != t {
		s.writeServiceError(w, http.StatusNotFound, typeScaleSetNotFound, scaleSetNotFoundMessage(id))
		return nil, false
	}
	return ss, true
}

// queueLocked checks a message-queue call: a live MQ token of a current session of the
// scale set {id}.
func (s *Simulator) queueLocked(w http.ResponseWriter, r *http.Request) (*session, bool) {
	st := s.state
	id, _ := pathInt(r, "id")
	now := s.clock.Now()
	qt := st.queueTokens[bearer(r, "Bearer")]
	if qt != nil && st.scaleSets[qt.session.scaleSet.rs.ID] != qt.session.scaleSet {
		// The session's scale set is gone (deleted, or vanished behind the client's back).
		s.writeServiceError(w, http.StatusNotFound, typeScaleSetNotFound, scaleSetNotFoundMessage(qt.session.scaleSet.rs.ID))
		return nil, false
	}
	if qt != nil {
		st.expireLocked(qt.session, now) // an expired session's tokens are not valid any more
	}
	if qt == nil || qt.expired || !now.Before(qt.expires) ||
		st.sessions[qt.session.id] != qt.session || qt.session.scaleSet.rs.ID != id {
		s.writeServiceError(w, http.StatusUnauthorized, typeUnauthorized, "The message queue token is not valid or has expired.")
		return nil, false
	}
	st.touchLocked(qt.session, now)
	return qt.session, true
}

func (s *Simulator) handleGetRunnerGroup(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.adminLocked(w, r); !ok {
		return
	}
	name := r.URL.Query().Get("groupName")
	out := List[RunnerGroup]{Value: []RunnerGroup{}}
	for _, g := range s.state.groups {
		if name == "" || strings.EqualFold(g.Name, name) {
			out.Value = append(out.Value, s.state.groupView(g))
		}
	}
	out.Count = len(out.Value)
	s.writeServiceJSON(w, http.StatusOK, out)
}

// groupView fills a group's size: how many scale sets it holds.
func (st *state) groupView(g RunnerGroup) RunnerGroup {
	for _, ss := range st.scaleSets {
		if ss.rs.RunnerGroupID == g.ID {
			g.Size++
		}
	}
	return g
}

func (st *state) groupByID(id int) (RunnerGroup, bool) {
	for _, g := range st.groups {
		if g.ID == id {
			return g, true
		}
	}
	return RunnerGroup{}, false
}

// nameTaken reports whether tenant t has another scale set named name in group.
func (st *state) nameTaken(t *tenant, group int, name string, except *scaleSet) bool {
	for _, ss := range st.scaleSets {
		if ss != except && ss.tenant == t && ss.rs.RunnerGroupID == group && strings.EqualFold(ss.rs.Name, name) {
			return true
		}
	}
	return false
}

func (s *Simulator) handleGetScaleSetByName(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.adminLocked(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	group, _ := strconv.Atoi(q.Get("runnerGroupId"))
	name := q.Get("name")
	out := List[RunnerScaleSet]{Value: []RunnerScaleSet{}}
	for _, ss := range s.state.sortedScaleSets() {
		if ss.tenant == t && (group == 0 || ss.rs.RunnerGroupID == group) && (name == "" || strings.EqualFold(ss.rs.Name, name)) {
			out.Value = append(out.Value, s.state.scaleSetView(ss))
		}
	}
	out.Count = len(out.Value)
	s.writeServiceJSON(w, http.StatusOK, out)
}

func (s *Simulator) handleGetScaleSet(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.adminLocked(w, r)
	if !ok {
		return
	}
	ss, ok := s.scaleSetLocked(w, r, t)
	if !ok {
		return
	}
	s.writeServiceJSON(w, http.StatusOK, s.state.scaleSetView(ss))
}

// normalizeLabels fills the label type and uses the name when there are no labels, as the
// service does.
func normalizeLabels(name string, in []Label) []Label {
	out := make([]Label, 0, len(in)+1)
	seen := map[string]bool{}
	for _, l := range in {
		if l.Name == "" || seen[strings.ToLower(l.Name)] {
			continue
		}
		seen[strings.ToLower(l.Name)] = true
		if l.Type == "" {
			l.Type = "System"
		}
		out = append(out, l)
	}
	if len(out) == 0 {
		out = append(out, Label{Type: "System", Name: name})
	}
	return out
}

func (s *Simulator) handleCreateScaleSet(w http.ResponseWriter, r *http.Request) {
	var in RunnerScaleSet
	if err := decodeBody(r, &in); err != nil {
		s.mu.Lock()
		defer s.mu.Unlock()
		if _, ok := s.adminLocked(w, r); ok {
			s.writeServiceError(w, http.StatusBadRequest, typeArgument, "The request body is not a RunnerScaleSet: "+err.Error())
		}
		return
	}
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.adminLocked(w, r)
	if !ok {
		return
	}
	st := s.state
	if strings.TrimSpace(in.Name) == "" {
		s.writeServiceError(w, http.StatusBadRequest, typeArgument, "Value cannot be null or empty. Parameter name: name")
		return
	}
	if in.RunnerGroupID == 0 {
		in.RunnerGroupID = 1
	}
	g, ok := st.groupByID(in.RunnerGroupID)
	if !ok {
		s.writeServiceError(w, http.StatusNotFound, typeRunnerGroupAbsent, "Runner group "+itoa(in.RunnerGroupID)+" not found.")
		return
	}
	if st.nameTaken(t, g.ID, in.Name, nil) {
		s.writeServiceError(w, http.StatusConflict, typeScaleSetExists,
			"A runner scale set named '"+in.Name+"' already exists in runner group '"+g.Name+"'.")
		return
	}
	id := st.nextScaleSetID
	st.nextScaleSetID++
	ss := newScaleSet(t, RunnerScaleSet{
		ID:                 id,
		Name:               in.Name,
		RunnerGroupID:      g.ID,
		RunnerGroupName:    g.Name,
		Labels:             normalizeLabels(in.Name, in.Labels),
		RunnerSetting:      in.RunnerSetting,
		CreatedOn:          now.UTC(),
		RunnerJitConfigURL: s.tenantURLFor(r, t) + "_apis/runtime/runnerscalesets/" + itoa(id) + "/generatejitconfig",
	})
	st.scaleSets[id] = ss
	s.writeServiceJSON(w, http.StatusOK, st.scaleSetView(ss))
}

func (s *Simulator) handleUpdateScaleSet(w http.ResponseWriter, r *http.Request) {
	var raw map[string]json.RawMessage
	var in RunnerScaleSet
	errRaw := decodeBody(r, &raw)
	if errRaw == nil && raw != nil {
		b, _ := json.Marshal(raw)
		errRaw = json.Unmarshal(b, &in)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.adminLocked(w, r)
	if !ok {
		return
	}
	ss, ok := s.scaleSetLocked(w, r, t)
	if !ok {
		return
	}
	if errRaw != nil {
		s.writeServiceError(w, http.StatusBadRequest, typeArgument, "The request body is not a RunnerScaleSet: "+errRaw.Error())
		return
	}
	st := s.state
	name, group := ss.rs.Name, ss.rs.RunnerGroupID
	if in.Name != "" {
		name = in.Name
	}
	if in.RunnerGroupID != 0 {
		group = in.RunnerGroupID
	}
	g, ok := st.groupByID(group)
	if !ok {
		s.writeServiceError(w, http.StatusNotFound, typeRunnerGroupAbsent, "Runner group "+itoa(group)+" not found.")
		return
	}
	if st.nameTaken(t, group, name, ss) {
		s.writeServiceError(w, http.StatusConflict, typeScaleSetExists,
			"A runner scale set named '"+name+"' already exists in runner group '"+g.Name+"'.")
		return
	}
	ss.rs.Name, ss.rs.RunnerGroupID, ss.rs.RunnerGroupName = name, g.ID, g.Name
	if len(in.Labels) > 0 {
		ss.rs.Labels = normalizeLabels(name, in.Labels)
	}
	// "RunnerSetting":{} (what Go clients send for "unchanged") changes nothing.
	if rsRaw, ok := raw["RunnerSetting"]; ok && strings.TrimSpace(string(rsRaw)) != "{}" && string(rsRaw) != "null" {
		ss.rs.RunnerSetting = in.RunnerSetting
	}
	ss.labels = labelSet(ss.rs)
	s.writeServiceJSON(w, http.StatusOK, st.scaleSetView(ss))
}

func (s *Simulator) handleDeleteScaleSet(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.adminLocked(w, r)
	if !ok {
		return
	}
	ss, ok := s.scaleSetLocked(w, r, t)
	if !ok {
		return
	}
	for _, rn := range ss.runners {
		if rn.job != nil {
			s.writeServiceError(w, http.StatusBadRequest, typeJobStillRunning,
				"The runner scale set "+itoa(ss.rs.ID)+" cannot be deleted: runner '"+rn.name+"' is running a job.")
			return
		}
	}
	s.state.removeScaleSetLocked(ss, s.clock.Now())
	w.WriteHeader(http.StatusNoContent)
}

func (s *Simulator) sessionView(sess *session, o origins) Session {
	st := s.state
	rs := st.scaleSetView(sess.scaleSet)
	return Session{
		SessionID:               sess.id,
		OwnerName:               sess.owner,
		RunnerScaleSet:          &rs,
		MessageQueueURL:         o.queueURL(sess),
		MessageQueueAccessToken: sess.token,
		Statistics:              rs.Statistics,
	}
}

func (s *Simulator) handleCreateSession(w http.ResponseWriter, r *http.Request) {
	var in SessionRequest
	errBody := decodeBody(r, &in)
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.adminLocked(w, r)
	if !ok {
		return
	}
	ss, ok := s.scaleSetLocked(w, r, t)
	if !ok {
		return
	}
	if errBody != nil {
		s.writeServiceError(w, http.StatusBadRequest, typeArgument, "The request body is not a session: "+errBody.Error())
		return
	}
	if ss.session != nil && !s.state.expireLocked(ss.session, now) {
		s.writeServiceError(w, http.StatusConflict, typeSessionConflict, sessionConflictMessage(ss.rs.Name))
		return
	}
	sess := &session{id: uuid.NewString(), owner: in.OwnerName, scaleSet: ss, createdAt: now}
	s.state.touchLocked(sess, now)
	s.issueQueueTokenLocked(sess, now)
	ss.session = sess
	s.state.sessions[sess.id] = sess
	s.state.offerQueuedLocked(ss)
	s.writeServiceJSON(w, http.StatusOK, s.sessionView(sess, s.originsFor(r)))
}

func (s *Simulator) handleRefreshSession(w http.ResponseWriter, r *http.Request) {
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.adminLocked(w, r)
	if !ok {
		return
	}
	ss, ok := s.scaleSetLocked(w, r, t)
	if !ok {
		return
	}
	sess := ss.session
	if sess == nil || sess.id != r.PathValue("session") || s.state.expireLocked(sess, now) {
		// GitHub's wording, as observed in actions/scaleset PR #123 (reference §2.1, row 8).
		s.writeServiceError(w, http.StatusNotFound, typeRunnerAdmin, "runner referenced a session ID that doesn't exist in redis")
		return
	}
	s.state.touchLocked(sess, now)
	s.issueQueueTokenLocked(sess, now)
	s.writeServiceJSON(w, http.StatusOK, s.sessionView(sess, s.originsFor(r)))
}

func (s *Simulator) handleDeleteSession(w http.ResponseWriter, r *http.Request) {
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.adminLocked(w, r)
	if !ok {
		return
	}
	ss, ok := s.scaleSetLocked(w, r, t)
	if !ok {
		return
	}
	sess := ss.session
	if sess == nil || sess.id != r.PathValue("session") || s.state.expireLocked(sess, now) {
		s.writeServiceError(w, http.StatusBadRequest, typeSessionExpired,
			"The session identifier "+r.PathValue("session")+" is not valid.")
		return
	}
	s.state.endSessionLocked(sess)
	w.WriteHeader(http.StatusNoContent)
}

// handleGetMessage is the long poll: a message as soon as there is one after lastMessageId,
// else 202 after LongPollHold.
func (s *Simulator) handleGetMessage(w http.ResponseWriter, r *http.Request) {
	lastID, capacity, bad := pollParams(r)
	if bad != "" {
		http.Error(w, bad, http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	sess, ok := s.queueLocked(w, r)
	if !ok {
		s.mu.Unlock()
		return
	}
	ss := sess.scaleSet
	if capacity >= 0 && capacity != ss.capacity {
		ss.capacity = capacity
		s.state.promoteLocked(ss, s.clock.Now())
	}
	// A held poll keeps the session alive; its end counts as the holder's last call.
	sess.polls++
	defer func() {
		s.mu.Lock()
		sess.polls--
		s.state.touchLocked(sess, s.clock.Now())
		s.mu.Unlock()
	}()
	s.holdPollLocked(w, r, sess, lastID)
}

// pollParams reads a long poll's lastMessageId and X-ScaleSetMaxCapacity (-1 when not sent);
// bad says what is wrong with them.
func pollParams(r *http.Request) (lastID int64, capacity int, bad string) {
	if v := r.URL.Query().Get("lastMessageId"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return 0, 0, "lastMessageId must be a non-negative integer"
		}
		lastID = n
	}
	capacity = -1
	if v := r.Header.Get("X-ScaleSetMaxCapacity"); v != "" {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 0 {
			return 0, 0, "X-ScaleSetMaxCapacity must be a non-negative integer"
		}
		capacity = n
	}
	return lastID, capacity, ""
}

// holdPollLocked answers a long poll of sess: the first message after lastID as soon as there
// is one, else 202 after LongPollHold. It is called with the lock held and releases it.
func (s *Simulator) holdPollLocked(w http.ResponseWriter, r *http.Request, sess *session, lastID int64) {
	ss := sess.scaleSet
	hold := time.NewTimer(s.opts.LongPollHold)
	defer hold.Stop()
	for {
		if s.state.scaleSets[ss.rs.ID] != ss {
			// Deleted, or vanished behind the client's back, while the poll was held.
			s.mu.Unlock()
			s.writeServiceError(w, http.StatusNotFound, typeScaleSetNotFound, scaleSetNotFoundMessage(ss.rs.ID))
			return
		}
		if ss.session != sess {
			// The session ended while the poll was held.
			s.mu.Unlock()
			w.WriteHeader(http.StatusAccepted)
			return
		}
		if m := ss.nextMessage(lastID); m != nil {
			m.delivered = true
			out := Message{
				MessageID:   m.id,
				MessageType: MessageTypeJobMessages,
				Body:        messageBody(m.jobs),
				Statistics:  s.state.statsLocked(ss),
			}
			s.mu.Unlock()
			s.writeServiceJSON(w, http.StatusOK, out)
			return
		}
		notify := ss.notify
		s.mu.Unlock()
		select {
		case <-notify:
		case <-hold.C:
			w.WriteHeader(http.StatusAccepted)
			return
		case <-r.Context().Done():
			return
		case <-s.done:
			w.WriteHeader(http.StatusAccepted)
			return
		}
		s.mu.Lock()
	}
}

func (s *Simulator) handleDeleteMessage(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("message"), 10, 64)
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.queueLocked(w, r)
	if !ok {
		return
	}
	if err != nil {
		s.writeServiceError(w, http.StatusBadRequest, typeArgument, "The message id must be an integer.")
		return
	}
	sess.scaleSet.deleteMessage(id)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Simulator) handleAcquireJobs(w http.ResponseWriter, r *http.Request) {
	var ids []int64
	errBody := decodeBody(r, &ids)
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.queueLocked(w, r)
	if !ok {
		return
	}
	if v := r.URL.Query().Get("api-version"); v != APIVersion {
		s.writeServiceError(w, http.StatusBadRequest, typeVersionMissing, "api-version="+APIVersion+" is required.")
		return
	}
	if errBody != nil {
		s.writeServiceError(w, http.StatusBadRequest, typeArgument, "The request body must be a JSON array of job request ids.")
		return
	}
	got := s.state.acquireLocked(sess.scaleSet, ids, s.clock.Now())
	s.writeServiceJSON(w, http.StatusOK, List[int64]{Count: len(got), Value: got})
}

func (s *Simulator) handleAcquirableJobs(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.adminLocked(w, r)
	if !ok {
		return
	}
	ss, ok := s.scaleSetLocked(w, r, t)
	if !ok {
		return
	}
	out := List[JobMessage]{Value: []JobMessage{}}
	for _, j := range s.state.sortedActive(func(j *job) bool { return j.st.State == JobQueued && ss.matches(j) }) {
		jm := jobMessage(MessageJobAvailable, j)
		jm.AcquireJobURL = s.tenantURLFor(r, t) + "_apis/runtime/runnerscalesets/" + itoa(ss.rs.ID) + "/acquirejobs"
		out.Value = append(out.Value, jm)
	}
	if len(out.Value) == 0 {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	out.Count = len(out.Value)
	s.writeServiceJSON(w, http.StatusOK, out)
}

func (s *Simulator) handleGenerateJitConfig(w http.ResponseWriter, r *http.Request) {
	var in JITRunnerSetting
	errBody := decodeBody(r, &in)
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.adminLocked(w, r)
	if !ok {
		return
	}
	if wait, ok := s.state.admitJITLocked(t, s.clock.Now()); !ok {
		s.writeJITThrottled(w, wait)
		return
	}
	ss, ok := s.scaleSetLocked(w, r, t)
	if !ok {
		return
	}
	if errBody != nil || strings.TrimSpace(in.Name) == "" {
		s.writeServiceError(w, http.StatusBadRequest, typeArgument, "Value cannot be null or empty. Parameter name: name")
		return
	}
	st := s.state
	for _, rn := range st.runners {
		if rn.scaleSet.tenant == t && strings.EqualFold(rn.name, in.Name) {
			s.writeServiceError(w, http.StatusConflict, typeAgentExists,
				"A runner with the name '"+in.Name+"' already exists in pool 'Default'.")
			return
		}
	}
	rn := &runner{id: st.nextRunnerID, name: in.Name, scaleSet: ss}
	st.nextRunnerID++
	st.runners[rn.id] = rn
	ss.runners[rn.id] = rn
	blob := jitConfig(s.tenantURLFor(r, t), ss, rn, in.WorkFolder)
	st.jitConfigs[sha256.Sum256([]byte(blob))] = rn.id
	s.writeServiceJSON(w, http.StatusOK, JITConfig{
		Runner:           RunnerReference{ID: rn.id, Name: rn.name, RunnerScaleSetID: ss.rs.ID},
		EncodedJITConfig: blob,
	})
}

// runnerLocked finds runner {runner} of tenant t.
func (s *Simulator) runnerLocked(r *http.Request, t *tenant) *runner {
	id, _ := pathInt(r, "runner")
	rn := s.state.runners[id]
	if rn == nil || rn.scaleSet.tenant != t {
		return nil
	}
	return rn
}

func runnerRef(rn *runner) RunnerReference {
	return RunnerReference{ID: rn.id, Name: rn.name, RunnerScaleSetID: rn.scaleSet.rs.ID}
}

func (s *Simulator) handleGetRunner(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.adminLocked(w, r)
	if !ok {
		return
	}
	rn := s.runnerLocked(r, t)
	if rn == nil {
		s.writeServiceError(w, http.StatusNotFound, typeAgentNotFound, "Runner "+r.PathValue("runner")+" not found.")
		return
	}
	s.writeServiceJSON(w, http.StatusOK, runnerRef(rn))
}

func (s *Simulator) handleGetRunnerByName(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.adminLocked(w, r)
	if !ok {
		return
	}
	name := r.URL.Query().Get("agentName")
	out := List[RunnerReference]{Value: []RunnerReference{}}
	for _, rn := range s.state.runners {
		if rn.scaleSet.tenant == t && (name == "" || strings.EqualFold(rn.name, name)) {
			out.Value = append(out.Value, runnerRef(rn))
		}
	}
	slices.SortFunc(out.Value, func(a, b RunnerReference) int { return a.ID - b.ID })
	out.Count = len(out.Value)
	s.writeServiceJSON(w, http.StatusOK, out)
}

func (s *Simulator) handleRemoveRunner(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.adminLocked(w, r)
	if !ok {
		return
	}
	rn := s.runnerLocked(r, t)
	if rn == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if rn.job != nil {
		s.writeServiceError(w, http.StatusBadRequest, typeJobStillRunning,
			"Runner '"+rn.name+"' is running job "+strconv.FormatInt(rn.job.st.RequestID, 10)+" and cannot be removed.")
		return
	}
	s.state.removeRunnerLocked(rn)
	w.WriteHeader(http.StatusNoContent)
}

func (st *state) removeRunnerLocked(rn *runner) {
	delete(st.runners, rn.id)
	delete(rn.scaleSet.runners, rn.id)
}
