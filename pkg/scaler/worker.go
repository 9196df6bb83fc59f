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

package scaler

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/github/actions"
)

// worker runs one RunnerSet: a listener goroutine talking to GitHub and a reconciler goroutine
// keeping the runner pods in line. They share the state below.
type worker struct {
	m         *Manager
	namespace string
	name      string
	uid       types.UID

	kickCh chan struct{}
	cancel context.CancelFunc
	done   chan struct{}

	mu sync.Mutex
	rs *v1alpha1.RunnerSet
	// listenerKey identifies the spec fields the GitHub session depends on; a change restarts it.
	listenerKey    string
	listenerCancel context.CancelFunc
	listenerDone   chan struct{}
	client         ScaleSetClient
	scaleSetID     int
	runnerGroupID  int
	stats          *actions.Statistics
	lastMessage    *metav1.Time
	sessionID      string
	conditions     []metav1.Condition
	// blockedGeneration holds runner creation back for a spec generation that cannot work
	// (invalid pod template, deprecated runner version) until the spec changes.
	blockedGeneration int64
	// blockedUntil, if set, ends the block earlier: a refusal that a change outside the spec can
	// lift (a namespace's Pod Security level) is tried again then.
	blockedUntil time.Time
	// podRefusals counts runner pods the cluster refused (quota, admission, validation).
	podRefusals int
	// gone: the worker stops because its RunnerSet was deleted (not because leadership ended).
	gone bool
	// pollCancel ends the long poll in flight, so a new maxRunners reaches GitHub at once
	// (X-ScaleSetMaxCapacity) instead of after up to 50 s; polledCapacity is what it sent.
	pollCancel     context.CancelFunc
	polledCapacity int
	// githubFailingSince is when GitHub calls started failing; zero while they work.
	githubFailingSince time.Time
	ownerUID           types.UID
	drift              driftState
	// created and deleted are runners this worker wrote that the informer caches may not show
	// yet. Counting them keeps a burst from overshooting maxRunners and a removal from being
	// repeated (the expectations pattern of Kubernetes controllers).
	created map[string]time.Time
	deleted map[string]time.Time
	// jobs pairs finished runner pods with GitHub's JobCompleted for them (ledger.go).
	jobs jobLedger
	// statusWritten is when the status was last written (see statusCoalesce).
	statusWritten time.Time
}

func newWorker(m *Manager, rs *v1alpha1.RunnerSet) *worker {
	return &worker{
		m: m, namespace: rs.Namespace, name: rs.Name, uid: rs.UID,
		kickCh: make(chan struct{}, 1), done: make(chan struct{}),
		scaleSetID: int(rs.Status.ScaleSetID), runnerGroupID: int(rs.Status.RunnerGroupID),
		sessionID: rs.Status.SessionID, conditions: rs.Status.Conditions,
	}
}

func (w *worker) logger(ctx context.Context) klog.Logger {
	return klog.FromContext(ctx).WithValues("runnerSet", klog.KRef(w.namespace, w.name))
}

// update records the newest RunnerSet and restarts the session when what it depends on changed.
func (w *worker) update(rs *v1alpha1.RunnerSet) {
	w.mu.Lock()
	w.rs = rs.DeepCopy()
	if w.pollCancel != nil && MaxCapacity(rs.Spec.MaxRunners) != w.polledCapacity {
		w.pollCancel()
	}
	w.mu.Unlock()
	w.kick()
}

func (w *worker) kick() {
	select {
	case w.kickCh <- struct{}{}:
	default:
	}
}

func (w *worker) stop() {
	if w.cancel != nil {
		w.cancel()
	}
}

func (w *worker) snapshot() *v1alpha1.RunnerSet {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.rs == nil {
		return nil
	}
	return w.rs.DeepCopy()
}

// run is the reconciler goroutine; it also starts and stops the listener.
func (w *worker) run(ctx context.Context) {
	defer close(w.done)
	defer func() {
		if rs := w.snapshot(); rs != nil {
			forgetMetrics(rs)
		}
	}()
	logger := w.logger(ctx)
	ctx = klog.NewContext(ctx, logger)
	defer w.forgetOnGitHub(ctx) // after the listener stopped: it knows the scale set then
	defer w.stopListener()
	timer := w.m.cfg.Clock.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.kickCh:
		case <-timer.C():
		}
		requeue := w.reconcile(ctx)
		if !timer.Stop() {
			select {
			case <-timer.C():
			default:
			}
		}
		if requeue <= 0 {
			requeue = 5 * time.Minute
		}
		timer.Reset(requeue)
	}
}

// listenerKeyOf hashes the fields a session depends on.
func listenerKeyOf(rs *v1alpha1.RunnerSet) string {
	data, _ := json.Marshal([]any{rs.Spec.GitHubConfigURL, rs.Spec.GitHubConfigSecret, rs.Spec.RunnerGroup,
		rs.Spec.RunnerScaleSetName, rs.Spec.Labels, rs.Spec.Proxy, rs.Spec.GitHubServerTLS})
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:8])
}

// ensureListener (re)starts the listener when its inputs changed.
func (w *worker) ensureListener(ctx context.Context, rs *v1alpha1.RunnerSet) {
	key := listenerKeyOf(rs)
	w.mu.Lock()
	running := w.listenerCancel != nil
	same := w.listenerKey == key
	w.mu.Unlock()
	if running && same {
		return
	}
	if running {
		w.logger(ctx).Info("GitHub settings changed: restarting the session")
		w.stopListener()
	}
	lctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	w.mu.Lock()
	w.listenerKey, w.listenerCancel, w.listenerDone = key, cancel, done
	w.client = nil
	w.mu.Unlock()
	go func() {
		defer close(done)
		w.runListener(lctx)
	}()
}

func (w *worker) stopListener() {
	w.mu.Lock()
	cancel, done := w.listenerCancel, w.listenerDone
	w.listenerCancel, w.listenerDone, w.listenerKey = nil, nil, ""
	w.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// setCondition records a condition for the next status write.
func (w *worker) setCondition(ctype string, status metav1.ConditionStatus, reason, message string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	gen := int64(0)
	if w.rs != nil {
		gen = w.rs.Generation
	}
	meta.SetStatusCondition(&w.conditions, metav1.Condition{
		Type: ctype, Status: status, Reason: reason, Message: truncate(message, 1000), ObservedGeneration: gen,
		LastTransitionTime: w.now(),
	})
}

// now is the clock's time at the precision the API stores, so a written status compares equal
// to what is read back and is not written again.
func (w *worker) now() metav1.Time {
	return metav1.NewTime(w.m.cfg.Clock.Now().Truncate(time.Second))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// githubOK and githubFailed track how long GitHub has been failing.
func (w *worker) githubOK() {
	w.mu.Lock()
	w.githubFailingSince = time.Time{}
	w.mu.Unlock()
}

func (w *worker) githubFailed() {
	w.mu.Lock()
	if w.githubFailingSince.IsZero() {
		w.githubFailingSince = w.m.cfg.Clock.Now()
	}
	w.mu.Unlock()
}

// counts are the runner counts of the last reconcile.
type counts struct {
	desired, current, pending, idle, busy, failed int
}

// statusCoalesce is the least time between two status writes of a RunnerSet. A change after a
// quiet second is written at once; one within a second of the last write is written when the
// second has passed (writeStatus says when, and the reconciler comes back then), together with
// whatever else changed meanwhile. A job's assignment, its runner's pod going Running, the job
// starting and ending are each a change; in a burst they were 60% of the server's requests to
// the kube-apiserver (13 per job), competing with the creation of the runner pods themselves.
// Coalesced: 7.7 per job, and runner pods of 50 simultaneous jobs created twice as fast
// (make bench, P1). Every change is written, at most this late.
const statusCoalesce = time.Second

// writeStatus writes the status when it differs from what is stored: once per change. It returns
// how long to wait before writing a change that came too soon after the last write, or 0.
func (w *worker) writeStatus(ctx context.Context, c counts) time.Duration {
	rs := w.snapshot()
	if rs == nil {
		return 0
	}
	w.mu.Lock()
	st := rs.Status.DeepCopy()
	st.ObservedGeneration = rs.Generation
	st.ScaleSetID, st.RunnerGroupID = int64(w.scaleSetID), int64(w.runnerGroupID)
	st.DesiredRunners, st.CurrentRunners = int32(c.desired), int32(c.current)
	st.PendingRunners, st.IdleRunners, st.BusyRunners, st.FailedRunners = int32(c.pending), int32(c.idle), int32(c.busy), int32(c.failed)
	if w.stats != nil {
		st.AvailableJobs, st.AssignedJobs, st.RunningJobs = int32(w.stats.TotalAvailableJobs), int32(w.stats.TotalAssignedJobs), int32(w.stats.TotalRunningJobs)
	}
	st.LastMessageTime = w.lastMessage
	st.SessionID = w.sessionID
	st.GitHubOnlyRunners = append([]v1alpha1.GitHubRunner(nil), w.drift.githubOnly...)
	for _, c := range w.conditions {
		c.ObservedGeneration = rs.Generation
		meta.SetStatusCondition(&st.Conditions, c) // keeps the stored transition time if unchanged
	}
	w.mu.Unlock()
	setReady(st, w.now())
	if apiequality.Semantic.DeepEqual(*st, rs.Status) {
		return 0
	}
	w.mu.Lock()
	if wait := statusCoalesce - w.m.cfg.Clock.Since(w.statusWritten); wait > 0 {
		w.mu.Unlock()
		return wait
	}
	w.statusWritten = w.m.cfg.Clock.Now()
	w.mu.Unlock()
	rs.Status = *st
	updated, err := w.m.cfg.Client.ActionsV1alpha1().RunnerSets(w.namespace).UpdateStatus(ctx, rs, metav1.UpdateOptions{})
	switch {
	case err == nil:
		w.update(updated)
	case apierrors.IsConflict(err):
		// A newer object is on its way through the informer; the next reconcile writes again.
		w.kick()
	case apierrors.IsNotFound(err):
	default:
		w.logger(ctx).Error(err, "Writing status failed")
	}
	return 0
}

// setReady derives Ready from the conditions it summarizes.
func setReady(st *v1alpha1.RunnerSetStatus, now metav1.Time) {
	for _, t := range []string{v1alpha1.ConditionGitHubAuthenticated, v1alpha1.ConditionScaleSetRegistered, v1alpha1.ConditionSessionActive} {
		c := meta.FindStatusCondition(st.Conditions, t)
		if c == nil || c.Status != metav1.ConditionTrue {
			reason, msg := "Pending", "waiting for "+t
			if c != nil {
				reason, msg = c.Reason, c.Message
			}
			meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: v1alpha1.ConditionReady, Status: metav1.ConditionFalse, Reason: reason, Message: msg,
				ObservedGeneration: st.ObservedGeneration, LastTransitionTime: now})
			return
		}
	}
	meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: v1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: "Listening",
		Message: "registered on GitHub and listening for jobs", ObservedGeneration: st.ObservedGeneration, LastTransitionTime: now})
}

func (w *worker) event(rs *v1alpha1.RunnerSet, eventType, reason, messageFmt string, args ...interface{}) {
	if w.m.cfg.Recorder != nil && rs != nil {
		w.m.cfg.Recorder.Eventf(rs, eventType, reason, messageFmt, args...)
	}
}

var _ = corev1.EventTypeNormal
