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
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/scaler/jobs"
	"actions.dev/runnerset-apiserver/pkg/scaler/metrics"
	"actions.dev/runnerset-apiserver/pkg/scaler/runners"
	"actions.dev/runnerset-apiserver/pkg/scaler/session"
	"actions.dev/runnerset-apiserver/pkg/schedule"
)

// worker runs one RunnerSet with two goroutines: its GitHub session (package session), which
// publishes a Demand, and its reconciler (this file), which hands the Demand to the cluster side
// (package runners) and writes the status. Each field has one writer: rs and gone the Manager's
// informer handlers, the mailbox the session, everything else the reconciling goroutine.
type worker struct {
	m         *Manager
	namespace string
	name      string
	uid       types.UID

	rs     atomic.Pointer[v1alpha1.RunnerSet]
	gone   atomic.Bool // deleted, not merely stopped because leadership ended
	demand mailbox
	kickCh chan struct{}
	cancel context.CancelFunc
	done   chan struct{}

	reconciler *runners.Reconciler
	jobs       *jobs.Journal
	session    running
	status     statusWriter
	// drainFailing is since when a drain has been failing to reach GitHub itself (no client,
	// or the scale set's deletion failing); zero while it reaches it.
	drainFailing time.Time
	// windows are the parsed schedules of a generation; openWindow is the open one's name, for the
	// events when it changes; saturation is the limit holding the RunnerSet and since when it
	// was last counted (bounds.go, saturation.go).
	windows struct {
		generation int64
		parsed     []schedule.Window
		index      []int
	}
	openWindow *string
	saturation struct {
		reason string
		mark   time.Time
	}
}

// running is the session goroutine of a worker.
type running struct {
	s      *session.Session
	key    string
	cancel context.CancelFunc
	done   chan struct{}
}

func newWorker(m *Manager, rs *v1alpha1.RunnerSet) *worker {
	w := &worker{m: m, namespace: rs.Namespace, name: rs.Name, uid: rs.UID, kickCh: make(chan struct{}, 1), done: make(chan struct{})}
	w.reconciler = runners.New(m.runnersConfig(), rs.Namespace, rs.Name, rs.Status.Conditions)
	w.jobs = jobs.New(m.jobsConfig(), rs.Namespace, rs.Name)
	w.reconciler.UseHistory(w.jobs)
	w.demand.put(demandFromStatus(rs))
	return w
}

// demandFromStatus is what the status says of GitHub, for a worker starting (a new leader): the
// scale set's and the session's ids and the GitHub conditions, until the session says more.
func demandFromStatus(rs *v1alpha1.RunnerSet) session.Demand {
	d := session.Demand{ScaleSetID: int(rs.Status.ScaleSetID), RunnerGroupID: int(rs.Status.RunnerGroupID), SessionID: rs.Status.SessionID,
		LastMessage: rs.Status.LastMessageTime}
	for _, c := range rs.Status.Conditions {
		for _, owned := range session.Conditions {
			if c.Type == owned {
				d.Conditions = append(d.Conditions, c)
			}
		}
	}
	return d
}

// update records the newest RunnerSet; the next pass hands a new capacity to the session, which
// ends a long poll in flight that announced another.
func (w *worker) update(rs *v1alpha1.RunnerSet) {
	w.rs.Store(rs.DeepCopy())
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

// snapshot is the newest RunnerSet, a copy the caller may keep.
func (w *worker) snapshot() *v1alpha1.RunnerSet {
	if rs := w.rs.Load(); rs != nil {
		return rs.DeepCopy()
	}
	return nil
}

// run is the reconciling goroutine; it also starts and stops the session.
func (w *worker) run(ctx context.Context) {
	defer close(w.done)
	defer func() {
		if rs := w.rs.Load(); rs != nil {
			metrics.Forget(rs)
		}
	}()
	ctx = klog.NewContext(ctx, klog.FromContext(ctx).WithValues("runnerSet", klog.KRef(w.namespace, w.name)))
	defer w.forgetOnGitHub(ctx) // after the session stopped: it knows the scale set then
	defer w.stopSession()
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

// reconcile is one pass: the finalizer first, a drain once deleted, else the session kept
// running and the runners kept in line with its Demand, then the status.
func (w *worker) reconcile(ctx context.Context) time.Duration {
	orig := w.rs.Load()
	if orig == nil {
		return 0
	}
	rs := orig.DeepCopy()
	d := w.demand.take()
	if rs.DeletionTimestamp != nil {
		return w.drain(ctx, rs, d)
	}
	if !hasFinalizer(rs) {
		// Before anything is registered on GitHub, so it is drained when the RunnerSet goes.
		if err := w.ensureFinalizer(ctx, rs); err != nil {
			klog.FromContext(ctx).Info("Adding the drain finalizer failed; retrying", "err", err)
			return time.Second
		}
		return 0 // the update comes back through the informer
	}
	now := w.m.cfg.Clock.Now()
	b := w.bounds(rs, now)
	w.noteWindow(rs, b)
	limits := session.Limits{Capacity: b.capacity, ScaleUp: rs.Spec.ScaleUp}
	d = w.ensureSession(ctx, rs, d, limits)
	w.session.s.SetLimits(limits)
	loaded := w.loadJobs(ctx)
	eff := b.effective(rs)
	res := w.reconciler.Reconcile(ctx, eff, d)
	metrics.RecordStatistics(eff, d.Stats, res.Desired, res.Counts, d.Listening)
	w.countSaturation(saturation(b, d), now)
	requeue := res.Requeue
	if !b.next.IsZero() {
		requeue = minPositive(requeue, b.next.Sub(now)+10*time.Millisecond)
	}
	var recent []v1alpha1.RecentJob
	if loaded {
		w.jobs.Record(rs, d, res)
		requeue = minPositive(requeue, w.jobs.Recover(ctx, rs, d.Client))
		requeue = minPositive(requeue, w.jobs.Flush(ctx))
		recent = w.jobs.Recent(recentJobs)
	}
	return minPositive(requeue, w.status.write(ctx, w, orig, d, res, recent, b))
}

// recentJobs is how many ended jobs the status shows.
const recentJobs = 5

// loadJobs reads the job history once; until it can, jobs are not recorded.
func (w *worker) loadJobs(ctx context.Context) bool {
	if w.jobs.Loaded() {
		return true
	}
	if err := w.jobs.Load(ctx); err != nil {
		klog.FromContext(ctx).Error(err, "Reading the job history failed; jobs are not recorded until it works")
		return false
	}
	return true
}

func minPositive(a, b time.Duration) time.Duration {
	if a <= 0 || (b > 0 && b < a) {
		return b
	}
	return a
}

// sessionKey hashes the spec fields a session depends on: a change restarts it.
func sessionKey(rs *v1alpha1.RunnerSet) string {
	data, _ := json.Marshal([]any{rs.Spec.GitHubConfigURL, rs.Spec.GitHubConfigSecret, rs.Spec.RunnerGroup,
		rs.Spec.RunnerScaleSetName, rs.Spec.Labels, rs.Spec.Proxy, rs.Spec.GitHubServerTLS})
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:8])
}

// ensureSession (re)starts the session when what it depends on changed, and returns the Demand
// this pass acts on. A restarted session starts from what the last one knew (its session id, to
// close it on a 409) but without its client: the runners wait for the new credentials.
func (w *worker) ensureSession(ctx context.Context, rs *v1alpha1.RunnerSet, d session.Demand, limits session.Limits) session.Demand {
	key := sessionKey(rs)
	if w.session.s != nil && w.session.key == key {
		return d
	}
	if w.session.s != nil {
		klog.FromContext(ctx).Info("GitHub settings changed: restarting the session")
		w.stopSession()
		d = d.Merge(w.demand.take())
	}
	d.Client, d.Listening, d.Stats = nil, false, nil
	initial := d
	initial.Jobs = nil // this pass hands them over
	w.demand.put(initial)
	sctx, cancel := context.WithCancel(ctx)
	s := session.New(w.m.sessionConfig(), w.snapshot, initial, func(next session.Demand) {
		w.demand.put(next)
		w.kick()
	})
	s.SetLimits(limits) // before its first long poll
	w.session = running{s: s, key: key, cancel: cancel, done: make(chan struct{})}
	go func(done chan struct{}) {
		defer close(done)
		s.Run(sctx)
	}(w.session.done)
	return d
}

func (w *worker) stopSession() {
	if w.session.s == nil {
		return
	}
	w.session.cancel()
	<-w.session.done
	w.session = running{}
}

// mailbox hands the session's Demands to the reconciler: the newest state, with every job
// message since the reconciler last took one.
type mailbox struct {
	mu sync.Mutex
	d  session.Demand
}

func (m *mailbox) put(d session.Demand) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.d = m.d.Merge(d)
}

// take returns the newest Demand and hands its job messages over.
func (m *mailbox) take() session.Demand {
	m.mu.Lock()
	defer m.mu.Unlock()
	d := m.d
	m.d.Jobs = nil
	return d
}
