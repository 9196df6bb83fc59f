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
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/github/actions"
	"actions.dev/runnerset-apiserver/pkg/github/auth"
)

// Condition reasons.
const (
	ReasonSecretNotFound     = "SecretNotFound"
	ReasonHostNotAllowed     = "HostNotAllowed"
	ReasonInvalidCredentials = "InvalidCredentials"
	ReasonUnauthorized       = "Unauthorized"
	ReasonGitHubUnreachable  = "GitHubUnreachable"
	ReasonRunnerGroupMissing = "RunnerGroupNotFound"
	ReasonRegistered         = "Registered"
	ReasonSessionConflict    = "SessionConflict"
	ReasonSessionOpen        = "SessionOpen"
	ReasonSessionLost        = "SessionLost"
	ReasonScaleSetLost       = "ScaleSetDeletedOnGitHub"
	ReasonScaleSetNameTaken  = "ScaleSetNameTaken"
)

// runListener holds the GitHub session of the RunnerSet until ctx ends. Every failure is
// handled here with a backoff and shown as a condition: nothing GitHub does ends the process.
func (w *worker) runListener(ctx context.Context) {
	logger := klog.FromContext(ctx)
	failures := 0
	for ctx.Err() == nil {
		err := w.listen(ctx)
		if ctx.Err() != nil {
			return
		}
		failures++
		delay := listenerBackoff(failures, err)
		logger.Info("GitHub session ended; retrying", "err", err, "retryIn", delay)
		w.kick() // let the status show why
		select {
		case <-ctx.Done():
			return
		case <-w.m.cfg.Clock.After(delay):
		}
		if errors.Is(err, errHealthy) {
			failures = 0
		}
	}
}

// errHealthy marks a session that worked for a while before ending: retry at once.
var errHealthy = errors.New("session ended after working")

// listenerBackoff is 1 s doubling to 60 s, with jitter; a session conflict waits 30-45 s, as the
// other holder's session has to expire.
func listenerBackoff(failures int, err error) time.Duration {
	if errors.Is(err, errHealthy) {
		return 0
	}
	if errors.Is(err, actions.ErrSessionConflict) {
		return 30*time.Second + time.Duration(rand.Int64N(int64(15*time.Second)))
	}
	d := time.Second << min(failures-1, 6)
	if d > time.Minute {
		d = time.Minute
	}
	return d + time.Duration(rand.Int64N(int64(d/5)+1))
}

// listen runs one session from client to long poll.
func (w *worker) listen(ctx context.Context) error {
	rs := w.snapshot()
	if rs == nil {
		return errors.New("RunnerSet not known yet")
	}
	logger := klog.FromContext(ctx)
	client, err := w.m.cfg.GitHub.ForRunnerSet(ctx, rs)
	if err != nil {
		w.authFailed(err)
		return err
	}
	group, err := client.GetRunnerGroupByName(ctx, rs.Spec.RunnerGroup)
	if err != nil {
		w.authFailed(err)
		return err
	}
	w.githubOK()
	w.authenticated(rs)

	if err := w.ensureFinalizer(ctx, rs); err != nil {
		return err
	}
	ss, err := w.ensureScaleSet(ctx, client, rs, group)
	var taken *scaleSetTakenError
	switch {
	case errors.As(err, &taken):
		w.setCondition(v1alpha1.ConditionScaleSetRegistered, metav1.ConditionFalse, ReasonScaleSetNameTaken, err.Error())
		w.event(rs, corev1.EventTypeWarning, ReasonScaleSetNameTaken, "%v", err)
		return err
	case err != nil:
		w.githubError(rs, err)
		w.setCondition(v1alpha1.ConditionScaleSetRegistered, metav1.ConditionFalse, ReasonGitHubUnreachable, err.Error())
		return err
	}
	w.mu.Lock()
	w.client, w.scaleSetID, w.runnerGroupID = client, ss.ID, group.ID
	staleSession := w.sessionID
	w.mu.Unlock()
	w.setCondition(v1alpha1.ConditionScaleSetRegistered, metav1.ConditionTrue, ReasonRegistered,
		fmt.Sprintf("scale set %q (id %d) in runner group %q", ss.Name, ss.ID, group.Name))
	w.kick()

	session, err := client.OpenSession(ctx, ss.ID, w.m.cfg.Identity)
	if errors.Is(err, actions.ErrSessionConflict) && staleSession != "" {
		// Most likely our own session from before a crash or a leader change: close it rather
		// than wait for it to expire.
		logger.Info("Session conflict: closing the previous session", "sessionID", staleSession)
		if derr := client.DeleteSession(ctx, ss.ID, staleSession); derr == nil || errors.Is(derr, actions.ErrSessionNotFound) {
			session, err = client.OpenSession(ctx, ss.ID, w.m.cfg.Identity)
		}
	}
	if err != nil {
		if errors.Is(err, actions.ErrSessionConflict) {
			w.setCondition(v1alpha1.ConditionSessionActive, metav1.ConditionFalse, ReasonSessionConflict,
				"another listener holds this scale set's session; retrying until it is released or expires")
		} else {
			w.githubError(rs, err)
			w.setCondition(v1alpha1.ConditionSessionActive, metav1.ConditionFalse, ReasonGitHubUnreachable, err.Error())
		}
		if errors.Is(err, actions.ErrScaleSetNotFound) {
			w.scaleSetLost(ctx, rs, ss.ID)
		}
		return err
	}
	// lost is why GitHub ended the session, if it did; the condition says so.
	var lost error
	defer func() {
		switch {
		case lost != nil && !errors.Is(lost, actions.ErrSessionNotFound):
			w.setCondition(v1alpha1.ConditionSessionActive, metav1.ConditionFalse, ReasonGitHubUnreachable, "lost the message session: "+lost.Error())
		case lost != nil:
			w.setCondition(v1alpha1.ConditionSessionActive, metav1.ConditionFalse, ReasonSessionLost, "GitHub ended the message session; opening a new one")
		default:
			w.setCondition(v1alpha1.ConditionSessionActive, metav1.ConditionFalse, ReasonSessionLost, "the session is closed")
		}
		w.kick() // the status says so while the session is being closed
		// Close the session even while shutting down, so the next holder does not get a 409.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := session.Close(cctx); err != nil {
			// Still open on GitHub (unreachable, say): keep its id, so that the next session
			// meeting a 409 closes it instead of waiting for it to expire.
			logger.V(2).Info("Closing the session failed", "err", err)
		} else {
			w.mu.Lock()
			w.sessionID = ""
			w.mu.Unlock()
		}
	}()
	started := w.m.cfg.Clock.Now()
	w.mu.Lock()
	w.sessionID = session.Session().SessionID
	if st := session.Session().Statistics; st != nil {
		w.stats = st
	}
	w.mu.Unlock()
	w.githubOK()
	w.setCondition(v1alpha1.ConditionSessionActive, metav1.ConditionTrue, ReasonSessionOpen, "listening for jobs")
	w.event(rs, corev1.EventTypeNormal, "SessionOpened", "Listening for jobs of scale set %d", ss.ID)
	w.kick()

	var lastID int64
	malformed := 0
	for {
		current := w.snapshot()
		if current == nil || current.DeletionTimestamp != nil {
			return nil
		}
		capacity := MaxCapacity(current.Spec.MaxRunners)
		pollCtx, cancel := context.WithCancel(ctx)
		w.mu.Lock()
		w.pollCancel, w.polledCapacity = cancel, capacity
		w.mu.Unlock()
		polling := w.m.cfg.Clock.Now()
		msg, err := session.GetMessage(pollCtx, lastID, capacity)
		polled := w.m.cfg.Clock.Since(polling)
		// Read before cancel below, which would make every error look like an interruption
		// (and hide a lost session or scale set behind endless polls).
		interrupted := pollCtx.Err() != nil
		w.mu.Lock()
		w.pollCancel = nil
		w.mu.Unlock()
		cancel()
		if err != nil && ctx.Err() == nil && interrupted {
			continue // maxRunners changed: poll again with the new capacity
		}
		switch {
		case errors.Is(err, actions.ErrEmptyResponse):
			// The broker sometimes answers 200 with no body: nothing to do, poll again.
			logger.V(2).Info("Empty answer from the message queue; polling again")
			continue
		case errors.Is(err, actions.ErrMalformedMessage) && ctx.Err() == nil:
			// Truncated, not JSON, or too large: nothing to acknowledge, and the session is fine.
			// Poll again in it, a little later each time should the queue keep sending it.
			malformed++
			logger.Error(err, "Skipping a malformed answer of the message queue; polling again", "times", malformed)
			if malformed == 1 || malformed%10 == 0 {
				w.event(current, corev1.EventTypeWarning, "MalformedMessage", "Skipped a malformed answer of the message queue: %v", err)
			}
			select {
			case <-ctx.Done():
			case <-w.m.cfg.Clock.After(min(time.Duration(malformed)*time.Second, 30*time.Second)):
			}
			continue
		case errors.Is(err, actions.ErrScaleSetNotFound):
			w.scaleSetLost(ctx, current, ss.ID)
			return err
		case err != nil:
			if ctx.Err() == nil {
				lost = err
				w.githubError(current, err)
				w.event(current, corev1.EventTypeWarning, "SessionLost", "Lost the message session: %v", err)
			}
			if w.m.cfg.Clock.Since(started) > time.Minute {
				return fmt.Errorf("%w: %v", errHealthy, err)
			}
			return err
		case msg == nil:
			w.githubOK()
			malformed = 0
			continue // 202: nothing new within the long poll
		}
		malformed = 0
		w.githubOK()
		if err := w.handleMessage(ctx, session, msg); err != nil {
			return err
		}
		lastID = msg.MessageID
		w.batchProgress(ctx, msg, polled)
	}
}

// handleMessage acknowledges a message, acquires the jobs it offers and records what it says.
func (w *worker) handleMessage(ctx context.Context, session MessageSession, msg *actions.Message) error {
	logger := klog.FromContext(ctx)
	jobs, perr := actions.ParseJobMessages(msg.Body)
	if perr != nil {
		// A malformed body is skipped, not fatal: statistics still tell how many runners we need.
		logger.Error(perr, "Skipping undecodable job messages", "messageID", msg.MessageID)
	}
	if err := session.DeleteMessage(ctx, msg.MessageID); err != nil {
		return fmt.Errorf("acknowledging message %d: %w", msg.MessageID, err)
	}
	started := w.m.cfg.Clock.Now()
	defer func() { messageLatency.Observe(w.m.cfg.Clock.Since(started).Seconds()) }()
	rs := w.snapshot()
	var available []int64
	var startedOn, completedOn []string
	var onPods []actions.JobMessage
	for _, j := range jobs {
		if rs != nil {
			recordJob(rs, j)
		}
		switch j.MessageType {
		case actions.JobMessageAvailable:
			available = append(available, j.RunnerRequestID)
		case actions.JobMessageStarted:
			startedOn = append(startedOn, j.RunnerName)
			onPods = append(onPods, j)
		case actions.JobMessageCompleted:
			completedOn = append(completedOn, j.RunnerName)
			onPods = append(onPods, j)
		}
	}
	if len(available) > 0 {
		acquired, err := session.AcquireJobs(ctx, available)
		if err != nil {
			return fmt.Errorf("acquiring %d jobs: %w", len(available), err)
		}
		logger.V(2).Info("Acquired jobs", "offered", len(available), "acquired", len(acquired))
	}
	now := w.now()
	valid := validStatistics(msg.Statistics)
	if !valid {
		logger.Error(nil, "Skipping impossible statistics (negative counts)", "messageID", msg.MessageID, "statistics", msg.Statistics)
	}
	w.mu.Lock()
	if msg.Statistics != nil && valid {
		w.stats = msg.Statistics
	}
	w.jobs.observe(startedOn, completedOn, w.m.cfg.Clock.Now()) // with the statistics they match
	w.lastMessage = &now
	w.mu.Unlock()
	w.kick()
	// The pods learn about their jobs once jobs are acquired and the reconciler is woken: new
	// runners do not wait for these writes. Until a pod shows its job, the ledger already
	// counts its runner busy.
	for _, j := range onPods {
		w.annotateJob(ctx, j, j.MessageType == actions.JobMessageCompleted)
	}
	return nil
}

// annotateJob writes what GitHub said about a runner's job onto its pod, once per event, so
// every replica can show it without asking GitHub.
func (w *worker) annotateJob(ctx context.Context, j actions.JobMessage, completed bool) {
	if j.RunnerName == "" {
		return
	}
	if w.m.pods != nil {
		if pod, err := w.m.pods.Pods(w.namespace).Get(j.RunnerName); err != nil || pod.DeletionTimestamp != nil {
			return // gone or going: nothing to show it on
		}
	}
	a := map[string]string{}
	if completed {
		a[v1alpha1.AnnotationJobResult] = j.Result
		if j.Result == "" {
			a[v1alpha1.AnnotationJobResult] = "completed"
		}
	} else {
		a[v1alpha1.AnnotationJobRequestID] = strconv.FormatInt(j.RunnerRequestID, 10)
		a[v1alpha1.AnnotationJobID] = j.JobID
		a[v1alpha1.AnnotationJobRepository] = j.OwnerName + "/" + j.RepositoryName
		a[v1alpha1.AnnotationJobWorkflowRef] = j.JobWorkflowRef
		a[v1alpha1.AnnotationJobDisplayName] = j.JobDisplayName
		a[v1alpha1.AnnotationJobRunID] = strconv.FormatInt(j.WorkflowRunID, 10)
		started := j.RunnerAssignTime
		if started.IsZero() {
			started = w.m.cfg.Clock.Now()
		}
		a[v1alpha1.AnnotationJobStarted] = started.UTC().Format(time.RFC3339)
		a[v1alpha1.AnnotationRunnerOnline] = "true"
	}
	patch, _ := jsonMergePatch(map[string]any{"metadata": map[string]any{"annotations": a}})
	_, err := w.m.cfg.KubeClient.CoreV1().Pods(w.namespace).Patch(ctx, j.RunnerName, types.MergePatchType, patch, metav1.PatchOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		klog.FromContext(ctx).Error(err, "Recording the job on the runner pod failed", "runner", j.RunnerName)
	}
}

// authenticated records that GitHub accepted the RunnerSet's credentials just now.
func (w *worker) authenticated(rs *v1alpha1.RunnerSet) {
	w.setCondition(v1alpha1.ConditionGitHubAuthenticated, metav1.ConditionTrue, "Authenticated", "GitHub accepts the credentials in "+rs.Spec.GitHubConfigSecret)
}

// githubError records a failed GitHub call: a refusal of the credentials (401), wherever it
// comes, turns GitHubAuthenticated False, so the condition tells the last authentication's
// result; anything else counts towards how long GitHub has been failing.
func (w *worker) githubError(rs *v1alpha1.RunnerSet, err error) {
	if errors.Is(err, actions.ErrUnauthorized) && rs != nil {
		w.setCondition(v1alpha1.ConditionGitHubAuthenticated, metav1.ConditionFalse, ReasonUnauthorized,
			"GitHub refused the credentials in "+rs.Spec.GitHubConfigSecret+": "+err.Error())
		return
	}
	w.githubFailed()
}

// authFailed sets GitHubAuthenticated from a failure to build the client or reach GitHub.
func (w *worker) authFailed(err error) {
	reason := ReasonGitHubUnreachable
	switch {
	case apierrors.IsNotFound(err):
		reason = ReasonSecretNotFound
	case errors.Is(err, ErrHostNotAllowed):
		reason = ReasonHostNotAllowed
	case errors.Is(err, auth.ErrInvalidCredentials), errors.Is(err, auth.ErrEnterpriseApp):
		reason = ReasonInvalidCredentials
	case errors.Is(err, auth.ErrUnauthorized), errors.Is(err, actions.ErrUnauthorized):
		reason = ReasonUnauthorized
	default:
		w.githubFailed()
	}
	w.setCondition(v1alpha1.ConditionGitHubAuthenticated, metav1.ConditionFalse, reason, err.Error())
}

// ensureScaleSet finds the RunnerSet's scale set, re-registering it when GitHub lost it. It
// first claims the scale set's place (claims.go): a place another RunnerSet holds is not ours to
// adopt, whatever credentials this one has.
func (w *worker) ensureScaleSet(ctx context.Context, client ScaleSetClient, rs *v1alpha1.RunnerSet, group *actions.RunnerGroup) (*actions.RunnerScaleSet, error) {
	me := owner{Namespace: rs.Namespace, Name: rs.Name, UID: rs.UID}
	place := scaleSetPlace{ConfigURL: rs.Spec.GitHubConfigURL, GroupID: group.ID, Name: rs.Spec.RunnerScaleSetName}
	c, holder, err := w.m.claims.acquire(ctx, place, me)
	if err != nil {
		return nil, err
	}
	if holder != nil {
		return nil, &scaleSetTakenError{name: place.Name, group: group.Name, holder: *holder}
	}
	w.retireScaleSets(ctx, client, rs, c)
	ss, err := w.findOrCreateScaleSet(ctx, client, rs, group, c.ScaleSetID)
	if err != nil {
		return nil, err
	}
	return ss, w.m.claims.record(ctx, c, ss.ID)
}

// scaleSetTakenError: the scale set's name is another RunnerSet's in this runner group.
type scaleSetTakenError struct {
	name, group string
	holder      owner
}

func (e *scaleSetTakenError) Error() string {
	return fmt.Sprintf("scale set %q in runner group %q belongs to a RunnerSet in namespace %s; give this one another runnerScaleSetName (or runnerGroup)",
		e.name, e.group, e.holder.Namespace)
}

// findOrCreateScaleSet returns the scale set id names when it is still the one of this name and
// group, else the scale set GitHub has under that name, else a new one.
func (w *worker) findOrCreateScaleSet(ctx context.Context, client ScaleSetClient, rs *v1alpha1.RunnerSet, group *actions.RunnerGroup, id int) (*actions.RunnerScaleSet, error) {
	if id != 0 {
		ss, err := client.GetScaleSetByID(ctx, id)
		switch {
		case err == nil && ss.Name == rs.Spec.RunnerScaleSetName && ss.RunnerGroupID == group.ID:
			return ss, nil
		case err != nil && !errors.Is(err, actions.ErrScaleSetNotFound):
			return nil, err
		}
	}
	ss, err := client.GetScaleSet(ctx, group.ID, rs.Spec.RunnerScaleSetName)
	if err != nil {
		return nil, err
	}
	if ss != nil {
		return ss, nil
	}
	labels := []actions.Label{{Type: "System", Name: rs.Spec.RunnerScaleSetName}}
	for _, l := range rs.Spec.Labels {
		if l != rs.Spec.RunnerScaleSetName {
			labels = append(labels, actions.Label{Type: "System", Name: l})
		}
	}
	// Not cut short when the worker stops: a scale set created on GitHub must be known to be
	// deleted again (forgetOnGitHub).
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), goneCleanupTimeout)
	defer cancel()
	ss, err = client.CreateScaleSet(cctx, &actions.RunnerScaleSet{
		Name: rs.Spec.RunnerScaleSetName, RunnerGroupID: group.ID, Labels: labels,
		RunnerSetting: actions.RunnerSetting{DisableUpdate: true},
	})
	if err != nil {
		return nil, err
	}
	w.event(rs, corev1.EventTypeNormal, "ScaleSetRegistered", "Registered scale set %q (id %d) in runner group %q", ss.Name, ss.ID, group.Name)
	return ss, nil
}

// retireScaleSets deletes the scale sets this RunnerSet registered under an earlier name or
// runner group, which its claims record, and gives those claims up. One registered under an
// earlier config URL cannot be reached with the current credentials: it is left, with an event.
func (w *worker) retireScaleSets(ctx context.Context, client ScaleSetClient, rs *v1alpha1.RunnerSet, current *claim) {
	mine, err := w.m.claims.mine(ctx, current.Owner)
	if err != nil {
		klog.FromContext(ctx).V(2).Info("Listing this RunnerSet's scale sets failed", "err", err)
		return
	}
	for _, old := range mine {
		if old.cm.Name == current.cm.Name {
			continue
		}
		if old.ScaleSetID != 0 && old.Place.ConfigURL == rs.Spec.GitHubConfigURL {
			if err := client.DeleteScaleSet(ctx, old.ScaleSetID); err != nil && !errors.Is(err, actions.ErrScaleSetNotFound) {
				klog.FromContext(ctx).Info("Deleting the scale set of an earlier name failed; retrying later", "scaleSetID", old.ScaleSetID, "err", err)
				continue
			}
			w.event(rs, corev1.EventTypeNormal, "ScaleSetDeleted", "Deleted scale set %q (id %d), registered under an earlier name or runner group", old.Place.Name, old.ScaleSetID)
		} else if old.ScaleSetID != 0 {
			w.event(rs, corev1.EventTypeWarning, "ScaleSetLeftBehind", "Scale set %q (id %d) of %s stays registered on GitHub: this RunnerSet now has other credentials; remove it there",
				old.Place.Name, old.ScaleSetID, old.Place.ConfigURL)
		}
		_ = w.m.claims.release(ctx, old)
	}
}

// deleteScaleSets deletes on GitHub every scale set this RunnerSet holds a claim on and gives
// the claims up. A scale set id from the status without a claim (written before claims existed)
// is claimed first, so one that another RunnerSet holds is never deleted. It returns what it
// could not delete.
func (w *worker) deleteScaleSets(ctx context.Context, client ScaleSetClient, rs *v1alpha1.RunnerSet, statusID int) error {
	me := owner{Namespace: rs.Namespace, Name: rs.Name, UID: rs.UID}
	mine, err := w.m.claims.mine(ctx, me)
	if err != nil {
		return err
	}
	if statusID != 0 && !slices.ContainsFunc(mine, func(c *claim) bool { return c.ScaleSetID == statusID }) {
		if c := w.claimByID(ctx, client, rs, me, statusID); c != nil {
			mine = append(mine, c)
		}
	}
	var failed []string
	for _, c := range mine {
		if c.ScaleSetID != 0 && c.Place.ConfigURL == rs.Spec.GitHubConfigURL {
			err := client.DeleteScaleSet(ctx, c.ScaleSetID)
			if err != nil && !errors.Is(err, actions.ErrScaleSetNotFound) {
				failed = append(failed, fmt.Sprintf("scale set %d: %v", c.ScaleSetID, err))
				continue
			}
			w.event(rs, corev1.EventTypeNormal, "ScaleSetDeleted", "Deleted scale set %q (id %d) on GitHub", c.Place.Name, c.ScaleSetID)
		}
		_ = w.m.claims.release(ctx, c)
	}
	if len(failed) > 0 {
		return errors.New(strings.Join(failed, "; "))
	}
	return nil
}

// claimByID claims the scale set with id for me, if it is still there and nobody else holds it.
func (w *worker) claimByID(ctx context.Context, client ScaleSetClient, rs *v1alpha1.RunnerSet, me owner, id int) *claim {
	ss, err := client.GetScaleSetByID(ctx, id)
	if err != nil {
		return nil
	}
	c, holder, err := w.m.claims.acquire(ctx, scaleSetPlace{ConfigURL: rs.Spec.GitHubConfigURL, GroupID: ss.RunnerGroupID, Name: ss.Name}, me)
	if err != nil || holder != nil {
		klog.FromContext(ctx).Info("Not deleting a scale set this RunnerSet does not own", "scaleSetID", id, "holder", holder, "err", err)
		return nil
	}
	if err := w.m.claims.record(ctx, c, id); err != nil {
		return nil
	}
	return c
}

// scaleSetLost forgets a scale set GitHub deleted; the next session registers it again and the
// runners of the old one, whose registrations went with it, are removed by the reconciler.
func (w *worker) scaleSetLost(ctx context.Context, rs *v1alpha1.RunnerSet, id int) {
	w.mu.Lock()
	w.scaleSetID, w.sessionID = 0, ""
	w.mu.Unlock()
	w.setCondition(v1alpha1.ConditionScaleSetRegistered, metav1.ConditionFalse, ReasonScaleSetLost,
		fmt.Sprintf("scale set %d was deleted on GitHub; registering it again", id))
	w.event(rs, corev1.EventTypeWarning, "ScaleSetLost", "Scale set %d was deleted on GitHub; registering it again", id)
	w.kick()
}

// ensureFinalizer makes sure a RunnerSet that has something on GitHub is drained before it goes.
func (w *worker) ensureFinalizer(ctx context.Context, rs *v1alpha1.RunnerSet) error {
	for _, f := range rs.Finalizers {
		if f == v1alpha1.RunnerSetFinalizer {
			return nil
		}
	}
	patch, _ := jsonMergePatch(map[string]any{"metadata": map[string]any{
		"finalizers": append(append([]string{}, rs.Finalizers...), v1alpha1.RunnerSetFinalizer), "resourceVersion": rs.ResourceVersion,
	}})
	updated, err := w.m.cfg.Client.ActionsV1alpha1().RunnerSets(w.namespace).Patch(ctx, w.name, types.MergePatchType, patch, metav1.PatchOptions{})
	if err != nil {
		return fmt.Errorf("adding finalizer: %w", err)
	}
	w.update(updated)
	return nil
}

// validStatistics refuses counts no service sends: a negative count would be taken for fewer
// jobs and remove idle runners.
func validStatistics(st *actions.Statistics) bool {
	if st == nil {
		return true
	}
	for _, n := range []int{st.TotalAvailableJobs, st.TotalAcquiredJobs, st.TotalAssignedJobs, st.TotalRunningJobs,
		st.TotalRegisteredRunners, st.TotalBusyRunners, st.TotalIdleRunners} {
		if n < 0 {
			return false
		}
	}
	return true
}
