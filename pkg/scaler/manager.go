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

// Package scaler runs, on the elected leader, one worker per RunnerSet. A worker joins the
// RunnerSet's GitHub side (package session: scale set, message session, jobs, statistics) and
// its cluster side (package runners: runner Secrets and pods) with one value, the Demand the
// session publishes, and writes the RunnerSet's status: the one writer of it.
package scaler

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/fairqueue"
	clientset "actions.dev/runnerset-apiserver/pkg/generated/clientset/versioned"
	actionsinformers "actions.dev/runnerset-apiserver/pkg/generated/informers/externalversions"
	"actions.dev/runnerset-apiserver/pkg/runnerpods"
	"actions.dev/runnerset-apiserver/pkg/scaler/jobs"
	"actions.dev/runnerset-apiserver/pkg/scaler/metrics"
	"actions.dev/runnerset-apiserver/pkg/scaler/runners"
	"actions.dev/runnerset-apiserver/pkg/scaler/session"
	"actions.dev/runnerset-apiserver/pkg/scope"
)

// Config is everything the scaler needs, injected. Every value is required: the defaults live
// with the command's flags, and Validate says what is wrong.
type Config struct {
	// KubeClient manages runner pods, Secrets, events, the Lease and the scale set claims.
	KubeClient kubernetes.Interface
	// Client reads RunnerSets and writes their status through this server's own API.
	Client clientset.Interface
	// GitHub builds Actions Service clients.
	GitHub session.ClientFactory
	// Recorder emits events on RunnerSets.
	Recorder record.EventRecorder
	Clock    clock.WithTicker
	// Identity names this replica: the Lease holder and the sessions' owner.
	Identity string
	// UserAgent is passed on to runners.
	UserAgent string
	// Namespace is the server's own namespace, where it records which RunnerSet owns which scale
	// set (session.Claims).
	Namespace string
	// Namespaces are the namespaces whose RunnerSets the scaler runs (scope.All: every one).
	Namespaces scope.Namespaces
	// Pods is the server's cache of runner pods, kept on every replica (nil: the scaler keeps one
	// of its own while it leads).
	Pods PodInformers

	LeaderElection LeaderElectionConfig

	// CreateConcurrency bounds parallel runner creations per RunnerSet.
	CreateConcurrency int
	// ProtectBusyRunners keeps node autoscalers from taking a busy runner's node.
	ProtectBusyRunners bool
	// DrainTimeout bounds how long a deleted RunnerSet waits for busy runners.
	DrainTimeout time.Duration
	// GitHubGiveUp is how long GitHub may be unreachable before a drain stops waiting for it.
	GitHubGiveUp time.Duration
	// RunnerExitGrace is how long a runner may run after GitHub said its job completed before
	// it is removed as hung (0: never).
	RunnerExitGrace time.Duration
	// JobRetention is how long a job is kept after it ended, JobHistoryMax how many jobs are
	// kept per RunnerSet (0: the defaults).
	JobRetention  time.Duration
	JobHistoryMax int
	// JITBudgetPerMinute and JITBudgetBurst are the server's budget of runner registrations,
	// shared by every RunnerSet: jobs beyond it are not acquired (0: no budget).
	JITBudgetPerMinute, JITBudgetBurst int
}

// Job history defaults: a day of jobs, as many as a busy RunnerSet runs in an hour or so.
const (
	DefaultJobRetention  = 24 * time.Hour
	DefaultJobHistoryMax = 1000
	// jobFlushEvery coalesces the history's writes: a job's assignment, start and end, which
	// often come within a second, cost one write.
	jobFlushEvery = 2 * time.Second
)

// LeaderElectionConfig configures the Lease only one replica's scaler holds.
type LeaderElectionConfig struct {
	Enabled                                   bool
	Namespace, Name                           string
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
}

// Validate says what is missing or wrong in c.
func (c *Config) Validate() error {
	var errs []error
	if c.KubeClient == nil || c.Client == nil || c.GitHub == nil || c.Clock == nil {
		errs = append(errs, errors.New("KubeClient, Client, GitHub and Clock are required"))
	}
	if c.Identity == "" || c.Namespace == "" {
		errs = append(errs, errors.New("Identity and Namespace are required"))
	}
	if c.CreateConcurrency <= 0 || c.DrainTimeout <= 0 || c.GitHubGiveUp <= 0 {
		errs = append(errs, fmt.Errorf("CreateConcurrency (%d), DrainTimeout (%s) and GitHubGiveUp (%s) must be positive", c.CreateConcurrency, c.DrainTimeout, c.GitHubGiveUp))
	}
	if c.RunnerExitGrace < 0 {
		errs = append(errs, fmt.Errorf("RunnerExitGrace (%s) must not be negative", c.RunnerExitGrace))
	}
	if le := c.LeaderElection; le.Enabled {
		if le.Namespace == "" || le.Name == "" {
			errs = append(errs, errors.New("the Lease needs a namespace and a name"))
		}
		if le.RetryPeriod <= 0 || le.RenewDeadline <= le.RetryPeriod || le.LeaseDuration <= le.RenewDeadline {
			errs = append(errs, fmt.Errorf("leader election needs lease duration (%s) > renew deadline (%s) > retry period (%s) > 0", le.LeaseDuration, le.RenewDeadline, le.RetryPeriod))
		}
	}
	return errors.Join(errs...)
}

// Manager starts and stops the per-RunnerSet workers.
type Manager struct {
	cfg       Config
	registrar *session.Registrar
	pods      corelisters.PodLister
	// tombstones keep deleted runner pods' last states for the reconcilers.
	tombstones *runners.Tombstones
	secrets    corelisters.SecretLister
	quotas     corelisters.ResourceQuotaLister
	// budget is the server's budget of runner registrations (nil: none).
	budget *session.Bucket

	mu      sync.Mutex
	workers map[string]*worker
	wg      sync.WaitGroup

	// running is false once Run returned; leading and synced tell the leader and its caches.
	running, leading, synced atomic.Bool
}

// New returns a Manager of a valid Config.
func New(cfg Config) (*Manager, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("scaler: %w", err)
	}
	metrics.Register()
	m := &Manager{cfg: cfg, workers: map[string]*worker{}, tombstones: runners.NewTombstones(cfg.Clock)}
	if cfg.JITBudgetPerMinute > 0 {
		m.budget = session.NewBucket(cfg.JITBudgetPerMinute, cmp.Or(cfg.JITBudgetBurst, cfg.JITBudgetPerMinute))
	}
	m.registrar = &session.Registrar{Recorder: cfg.Recorder,
		Claims: session.NewClaims(cfg.KubeClient.CoreV1(), cfg.Namespace, m.runnerSetAlive)}
	return m, nil
}

func (m *Manager) sessionConfig() session.Config {
	return session.Config{GitHub: m.cfg.GitHub, Registrar: m.registrar, Recorder: m.cfg.Recorder, Clock: m.cfg.Clock, Identity: m.cfg.Identity,
		Budget: m.budget}
}

func (m *Manager) runnersConfig() runners.Config {
	return runners.Config{Kube: m.cfg.KubeClient, Pods: m.pods, Secrets: m.secrets, Tombstones: m.tombstones, Recorder: m.cfg.Recorder, Clock: m.cfg.Clock,
		CreateConcurrency: m.cfg.CreateConcurrency, ProtectBusy: m.cfg.ProtectBusyRunners, UserAgent: m.cfg.UserAgent, DrainTimeout: m.cfg.DrainTimeout, GitHubGiveUp: m.cfg.GitHubGiveUp,
		ExitGrace: m.cfg.RunnerExitGrace}
}

func (m *Manager) jobsConfig() jobs.Config {
	cfg := jobs.Config{Kube: m.cfg.KubeClient, Pods: m.pods, Recorder: m.cfg.Recorder, Clock: m.cfg.Clock,
		Retention: m.cfg.JobRetention, MaxJobs: m.cfg.JobHistoryMax, FlushEvery: jobFlushEvery}
	if cfg.Retention <= 0 {
		cfg.Retention = DefaultJobRetention
	}
	if cfg.MaxJobs <= 0 {
		cfg.MaxJobs = DefaultJobHistoryMax
	}
	return cfg
}

// runnerSetAlive tells whether the RunnerSet o still exists, read through the API (not a cache
// that might lag): a scale set is taken from its owner only when the owner is surely gone.
func (m *Manager) runnerSetAlive(ctx context.Context, o session.Owner) (bool, error) {
	rs, err := m.cfg.Client.ActionsV1alpha1().RunnerSets(o.Namespace).Get(ctx, o.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return rs.UID == o.UID, nil
}

// Healthy fails once the scaler's loop ended while the server runs: /livez restarts it.
func (m *Manager) Healthy() error {
	if !m.running.Load() {
		return errors.New("the scaler's loop has stopped")
	}
	return nil
}

// Ready fails while this replica leads but its caches are not synced yet: it scales nothing
// then, and should not be the one asked (/readyz).
func (m *Manager) Ready() error {
	if m.leading.Load() && !m.synced.Load() {
		return errors.New("leading the scaler, its caches not synced yet")
	}
	return nil
}

// Run runs the scaler while this replica leads, until ctx ends.
func (m *Manager) Run(ctx context.Context) error {
	m.running.Store(true)
	defer m.running.Store(false)
	le := m.cfg.LeaderElection
	if !le.Enabled {
		m.lead(ctx)
		return nil
	}
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: le.Namespace, Name: le.Name},
		Client:     m.cfg.KubeClient.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: m.cfg.Identity},
	}
	for ctx.Err() == nil {
		elector, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
			Lock: lock, LeaseDuration: le.LeaseDuration, RenewDeadline: le.RenewDeadline, RetryPeriod: le.RetryPeriod,
			ReleaseOnCancel: true, Name: "scaler",
			Callbacks: leaderelection.LeaderCallbacks{
				OnStartedLeading: func(ctx context.Context) {
					klog.FromContext(ctx).Info("Leading: starting the scaler", "identity", m.cfg.Identity)
					m.lead(ctx)
				},
				OnStoppedLeading: func() {
					klog.Background().Info("No longer leading: scaler stopped", "identity", m.cfg.Identity)
				},
			},
		})
		if err != nil {
			return fmt.Errorf("leader election: %w", err)
		}
		// Run returns when leadership is lost; try again, as another replica may have died.
		elector.Run(ctx)
	}
	return nil
}

// lead runs the scaler until ctx ends, then waits for every worker to stop.
func (m *Manager) lead(ctx context.Context) {
	m.leading.Store(true)
	defer func() { m.leading.Store(false); m.synced.Store(false) }()
	ctx = klog.NewContext(ctx, klog.FromContext(ctx).WithName("scaler"))
	kubeInformers, rsInformers, podHandlers := m.informers(ctx)
	// Workers start from RunnerSet events: only once the pods and Secrets are all in the caches,
	// or a new leader would take a runner's pod whose Secret it has not listed yet for a stray,
	// and delete it with its job.
	for _, f := range kubeInformers {
		f.Start(ctx.Done())
	}
	for _, f := range kubeInformers {
		f.WaitForCacheSync(ctx.Done())
	}
	podHandlers.waitForSync(ctx)
	rsInformers.Start(ctx.Done())
	rsInformers.WaitForCacheSync(ctx.Done())
	m.synced.Store(true)
	m.kickAll()
	klog.FromContext(ctx).Info("Scaler running")
	<-ctx.Done()
	m.mu.Lock()
	for key, w := range m.workers {
		w.stop()
		delete(m.workers, key)
	}
	m.mu.Unlock()
	m.wg.Wait()
	podHandlers.remove()
	for _, f := range kubeInformers {
		f.Shutdown()
	}
	rsInformers.Shutdown()
}

// informers are the caches the scaler works from: runner pods (the server's cache, shared with
// the runners API, or one of its own while leading when it has none), runner Secrets (by their
// label, trimmed; one factory for every namespace in cluster mode, one per served namespace in
// namespaced mode), the ResourceQuotas of the same namespaces (they bound the capacity), and
// RunnerSets, whose events start, update and stop the workers.
func (m *Manager) informers(ctx context.Context) ([]informers.SharedInformerFactory, actionsinformers.SharedInformerFactory, *podHandlers) {
	selector := func(o *metav1.ListOptions) { o.LabelSelector = v1alpha1.LabelRunnerSet }
	kick := cache.ResourceEventHandlerFuncs{
		AddFunc:    m.kickOwner,
		UpdateFunc: func(_, obj interface{}) { m.kickOwner(obj) },
		DeleteFunc: m.kickOwner,
	}
	podCache := m.cfg.Pods
	if podCache == nil {
		own := runnerpods.New(m.cfg.KubeClient, m.cfg.Namespaces)
		own.Start(ctx)
		podCache = own
	}
	handlers := &podHandlers{}
	var kubeInformers []informers.SharedInformerFactory
	pods, secrets, quotas := podListers{}, secretListers{}, quotaListers{}
	for ns, podInformer := range podCache.Informers() {
		pods[ns] = corelisters.NewPodLister(podInformer.GetIndexer())
		handlers.add(podInformer, kick, cache.ResourceEventHandlerFuncs{DeleteFunc: m.tombstones.Deleted})
		f := informers.NewSharedInformerFactoryWithOptions(m.cfg.KubeClient, 10*time.Minute, informers.WithNamespace(ns),
			informers.WithTweakListOptions(selector), informers.WithTransform(trimForCache))
		secretInformer := f.Core().V1().Secrets()
		secrets[ns] = secretInformer.Lister()
		_, _ = secretInformer.Informer().AddEventHandler(kick)
		// ResourceQuotas carry no label of ours: a factory of their own, without the selector.
		qf := informers.NewSharedInformerFactoryWithOptions(m.cfg.KubeClient, 10*time.Minute, informers.WithNamespace(ns))
		quotaInformer := qf.Core().V1().ResourceQuotas()
		quotas[ns] = quotaInformer.Lister()
		_, _ = quotaInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    m.kickNamespaceOf,
			UpdateFunc: func(_, obj interface{}) { m.kickNamespaceOf(obj) },
			DeleteFunc: m.kickNamespaceOf,
		})
		kubeInformers = append(kubeInformers, f, qf)
	}
	m.pods, m.secrets, m.quotas = pods.lister(), secrets.lister(), quotas.lister()
	rsInformers := actionsinformers.NewSharedInformerFactory(m.cfg.Client, 10*time.Minute)
	_, _ = rsInformers.Actions().V1alpha1().RunnerSets().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj interface{}) { m.runnerSetChanged(ctx, obj) },
		UpdateFunc: func(_, obj interface{}) { m.runnerSetChanged(ctx, obj) },
		DeleteFunc: m.runnerSetGone,
	})
	return kubeInformers, rsInformers, handlers
}

// kickOwner wakes the worker of the RunnerSet a pod or Secret belongs to.
func (m *Manager) kickOwner(obj interface{}) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	if o, ok := obj.(metav1.Object); ok {
		if name := o.GetLabels()[v1alpha1.LabelRunnerSet]; name != "" {
			m.kick(o.GetNamespace() + "/" + name)
		}
	}
}

// kickNamespaceOf wakes the workers of the namespace a ResourceQuota is in: what it leaves
// bounds their capacity.
func (m *Manager) kickNamespaceOf(obj interface{}) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	o, ok := obj.(metav1.Object)
	if !ok {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, w := range m.workers {
		if w.namespace == o.GetNamespace() {
			w.kick()
		}
	}
}

func (m *Manager) runnerSetChanged(ctx context.Context, obj interface{}) {
	rs, ok := obj.(*v1alpha1.RunnerSet)
	if !ok || !m.cfg.Namespaces.Contains(rs.Namespace) {
		// Outside the served namespaces only RunnerSets created before the server was put in
		// namespaced mode can exist (creating one is refused): the server has no rights there.
		return
	}
	key := rs.Namespace + "/" + rs.Name
	m.mu.Lock()
	defer m.mu.Unlock()
	w := m.workers[key]
	if w != nil && w.uid != rs.UID {
		// Deleted and created again under the same name: a new RunnerSet.
		w.stop()
		w = nil
	}
	if w == nil {
		w = newWorker(m, rs)
		// The kube-apiserver budget is shared fairly between namespaces (tenants), not between
		// RunnerSets: splitting a burst over more RunnerSets gains a tenant nothing.
		wctx, cancel := context.WithCancel(fairqueue.WithFlow(ctx, "namespace/"+rs.Namespace))
		w.cancel = cancel
		m.workers[key] = w
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			defer utilruntime.HandleCrashWithContext(wctx)
			w.run(wctx)
		}()
	}
	w.update(rs)
}

func (m *Manager) runnerSetGone(obj interface{}) {
	tomb, unknown := obj.(cache.DeletedFinalStateUnknown)
	if unknown {
		obj = tomb.Obj
	}
	rs, ok := obj.(*v1alpha1.RunnerSet)
	if !ok {
		return
	}
	klog.Background().V(2).Info("RunnerSet deleted: stopping its worker", "runnerSet", klog.KObj(rs), "finalStateUnknown", unknown)
	key := rs.Namespace + "/" + rs.Name
	m.mu.Lock()
	defer m.mu.Unlock()
	if w := m.workers[key]; w != nil && w.uid == rs.UID {
		w.gone.Store(true)
		w.stop()
		delete(m.workers, key)
	}
}

func (m *Manager) kick(key string) {
	m.mu.Lock()
	w := m.workers[key]
	m.mu.Unlock()
	if w != nil {
		w.kick()
	}
}

func (m *Manager) kickAll() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, w := range m.workers {
		w.kick()
	}
}

func (m *Manager) event(rs *v1alpha1.RunnerSet, eventType, reason, messageFmt string, args ...interface{}) {
	if m.cfg.Recorder != nil && rs != nil {
		m.cfg.Recorder.Eventf(rs, eventType, reason, messageFmt, args...)
	}
}
