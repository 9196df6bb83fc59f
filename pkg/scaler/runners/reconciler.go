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

// Package runners is the cluster side of a RunnerSet: it keeps its runners (a JIT Secret and a
// pod each) in line with what GitHub demands, and owns what the cluster says about them:
// expectations, the job ledger, drift, drain, failure backoff, the pod conditions and
// kubernetes mode's RBAC. It acts on a session.Demand and changes nothing on the GitHub side
// but runner registrations.
package runners

import (
	"context"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/contract"
	"actions.dev/runnerset-apiserver/pkg/github/actions"
	"actions.dev/runnerset-apiserver/pkg/github/ghrest"
	"actions.dev/runnerset-apiserver/pkg/scaler/metrics"
	"actions.dev/runnerset-apiserver/pkg/scaler/session"
)

// GitHub is what the cluster side asks of GitHub: runner registrations.
type GitHub interface {
	GenerateJitConfig(ctx context.Context, scaleSetID int, setting *actions.JitRunnerSetting) (*actions.JitConfig, error)
	GetRunnerByName(ctx context.Context, name string) (*actions.RunnerReference, error)
	RemoveRunner(ctx context.Context, runnerID int) error
	ListRunners(ctx context.Context) ([]ghrest.Runner, error)
}

// Config is what every Reconciler shares.
type Config struct {
	Kube     kubernetes.Interface
	Pods     corelisters.PodLister
	Secrets  corelisters.SecretLister
	Recorder record.EventRecorder
	Clock    clock.Clock
	// CreateConcurrency bounds the runners registered and created at once.
	CreateConcurrency int
	// UserAgent is passed on to runners.
	UserAgent string
	// ProtectBusy keeps node autoscalers from taking a busy runner's node
	// (contract.DisruptionAnnotations).
	ProtectBusy bool
	// DrainTimeout bounds how long a deleted RunnerSet waits for busy runners.
	DrainTimeout time.Duration
	// GitHubGiveUp is how long GitHub may be unreachable before a drain stops waiting for it.
	GitHubGiveUp time.Duration
	// ExitGrace is how long a runner may run after GitHub said its job completed before it is
	// removed as hung (0: never).
	ExitGrace time.Duration
	// Tombstones are the last states of deleted runner pods (nil: none kept).
	Tombstones *Tombstones
}

// Reconciler keeps one RunnerSet's runners. It is used by one goroutine at a time: everything
// it remembers has that one writer.
type Reconciler struct {
	cfg             Config
	namespace, name string

	expect expectations
	ledger jobLedger
	drift  driftState
	// blocked holds runner creation back for a spec generation that cannot work (the cluster
	// refuses its pods, its runner version is deprecated) until the spec changes, or until a
	// time when a refusal that a change outside the spec can lift is tried again.
	blocked struct {
		generation int64
		until      time.Time
	}
	conditions   []metav1.Condition
	storageUID   types.UID
	failingSince time.Time
	unauthorized *Unauthorized
	// kubeModeRules are the kubernetes mode Role's rules last written.
	kubeModeRules string
	history       JobHistory
	// lostIDs are the GitHub ids of lost runners, deregistered once GitHub concluded their jobs.
	lostIDs map[string]int
}

// New returns the Reconciler of RunnerSet namespace/name.
func New(cfg Config, namespace, name string, conditions []metav1.Condition) *Reconciler {
	r := &Reconciler{cfg: cfg, namespace: namespace, name: name}
	for _, c := range conditions {
		switch c.Type {
		case v1alpha1.ConditionPodsFailing, v1alpha1.ConditionOrphanRunners, v1alpha1.ConditionRunnerVersionDeprecated, v1alpha1.ConditionRunnerVersionTooOld:
			r.conditions = append(r.conditions, c)
		}
	}
	return r
}

// Result is what a reconcile found, for the status.
type Result struct {
	Desired    int
	Current    int
	Counts     metrics.Counts
	GitHubOnly []v1alpha1.GitHubRunner
	// Conditions are PodsFailing, OrphanRunners, RunnerVersionDeprecated and RunnerVersionTooOld.
	Conditions []metav1.Condition
	// Requeue is when to look again (0: on the next change only).
	Requeue time.Duration
	// FailingSince is when GitHub calls of the cluster side started failing; zero while they work.
	FailingSince time.Time
	// Unauthorized is GitHub's last refusal of the credentials here, nil once they work again.
	Unauthorized *Unauthorized
	// Lost are the runners the cluster took in the middle of a job, this pass.
	Lost []LostRunner
	// Waiting says why an assigned job has no runner yet ("" when nothing holds it back).
	Waiting Waiting
}

// Reconcile brings the runners in line with d and says what it found.
func (r *Reconciler) Reconcile(ctx context.Context, rs *v1alpha1.RunnerSet, d session.Demand) Result {
	start := r.cfg.Clock.Now()
	defer func() { metrics.ReconcileDuration.Observe(r.cfg.Clock.Since(start).Seconds()) }()
	p := &pass{rs: rs, d: d}
	r.ledger.observeJobs(d.Jobs, r.cfg.Clock.Now())
	// Before any runner is created for the slots they free: registrations never exceed maxRunners.
	r.deregisterLost(ctx, p)
	r.unblockOnNewSpec(rs)
	runners, strays := r.runnersAndStrays(ctx)
	p.soon(strays)
	live, ended := r.sort(ctx, p, runners)
	live, hung := r.hungRunners(ctx, p, live)
	ended = append(ended, hung...)
	desired := 0
	if d.Stats != nil {
		desired = DesiredRunners(rs.Spec.MinRunners, rs.Spec.MaxRunners, d.Stats.TotalAssignedJobs)
	}
	if d.Ready() {
		live = r.scale(ctx, p, live, desired)
	}
	if d.Ready() && d.Listening {
		// Only while the session works: with GitHub unreachable the list would only fail, slowly
		// (its retries), and hold the status back that says GitHub is unreachable.
		p.soon(r.checkDrift(ctx, p, live))
	}
	names := map[string]bool{}
	for _, e := range ended {
		names[e.Name] = true
	}
	// The pods of ended runners are deleted while the others are annotated with their jobs.
	var wg sync.WaitGroup
	wg.Go(func() { r.annotateJobs(ctx, rs, d.Jobs, names) })
	r.finishRunners(ctx, p, ended)
	wg.Wait()
	if !p.podTrouble && !r.isBlocked(rs) {
		r.podsHealthy()
	}
	res := Result{Desired: desired, Requeue: p.requeue, GitHubOnly: r.drift.githubOnly, FailingSince: r.failingSince, Unauthorized: r.unauthorized,
		Lost: p.lost, Waiting: r.waiting(live)}
	// Counted as users understand runners: one whose job GitHub reported completed is on its way
	// out and no longer one (its replacement may already exist, and RUNNERS would exceed MAX).
	res.Current, res.Counts = count(r.ledger.slots(live))
	res.Conditions = append([]metav1.Condition(nil), r.conditions...)
	return res
}

// pass is what one reconcile carries along: its inputs, when to look again, and whether a
// runner pod failed or was refused in it.
type pass struct {
	rs         *v1alpha1.RunnerSet
	d          session.Demand
	requeue    time.Duration
	podTrouble bool
	lost       []LostRunner
}

func (p *pass) soon(d time.Duration) {
	if d > 0 && (p.requeue == 0 || d < p.requeue) {
		p.requeue = d
	}
}

// client is GitHub for this pass, nil when the session has none.
func (p *pass) client() GitHub {
	if p.d.Client == nil {
		return nil
	}
	return p.d.Client
}

func count(runners []contract.Runner) (int, metrics.Counts) {
	var c metrics.Counts
	for _, r := range runners {
		switch r.Phase {
		case contract.PhasePending:
			c.Pending++
		case contract.PhaseIdle:
			c.Idle++
		case contract.PhaseBusy:
			c.Busy++
		case contract.PhaseFailed:
			c.Failed++
		}
	}
	return len(runners), c
}

// setCondition records one of the conditions the cluster side owns.
func (r *Reconciler) setCondition(gen int64, ctype string, status metav1.ConditionStatus, reason, message string) {
	if len(message) > 1000 {
		message = message[:1000] + "..."
	}
	meta.SetStatusCondition(&r.conditions, metav1.Condition{Type: ctype, Status: status, Reason: reason, Message: message,
		ObservedGeneration: gen, LastTransitionTime: metav1.NewTime(r.cfg.Clock.Now().Truncate(time.Second))})
}

// ok and failed track since when GitHub calls of the cluster side have been failing.
func (r *Reconciler) ok() { r.failingSince = time.Time{} }

func (r *Reconciler) failed() {
	if r.failingSince.IsZero() {
		r.failingSince = r.cfg.Clock.Now()
	}
}

func (r *Reconciler) event(rs *v1alpha1.RunnerSet, eventType, reason, messageFmt string, args ...any) {
	if r.cfg.Recorder != nil && rs != nil {
		r.cfg.Recorder.Eventf(rs, eventType, reason, messageFmt, args...)
	}
}
