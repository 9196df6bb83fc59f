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

// Package scaler runs, on the elected leader, one loop per RunnerSet: it registers the scale set
// on GitHub, holds its message session, acquires jobs and keeps the right number of ephemeral
// runner pods, writing what GitHub says back to the cluster.
package scaler

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
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
	actionslisters "actions.dev/runnerset-apiserver/pkg/generated/listers/actions/v1alpha1"
)

// Config is everything the scaler needs, injected.
type Config struct {
	// KubeClient manages runner pods, Secrets, events and the Lease.
	KubeClient kubernetes.Interface
	// Client reads RunnerSets and writes their status through this server's own API.
	Client clientset.Interface
	// GitHub builds Actions Service clients.
	GitHub ClientFactory
	// Recorder emits events on RunnerSets.
	Recorder record.EventRecorder
	Clock    clock.WithTicker
	// Identity names this replica: the Lease holder and the sessions' owner.
	Identity string
	// UserAgent is passed on to runners.
	UserAgent string
	// Namespace is the server's own namespace, where it records which RunnerSet owns which
	// scale set (claims.go); default: the Lease's namespace.
	Namespace string

	LeaderElection LeaderElectionConfig

	// CreateConcurrency bounds parallel runner creations per RunnerSet.
	CreateConcurrency int
	// DrainTimeout bounds how long a deleted RunnerSet waits for busy runners.
	DrainTimeout time.Duration
	// GitHubGiveUp is how long GitHub may be unreachable before a drain stops waiting for it.
	GitHubGiveUp time.Duration
}

// LeaderElectionConfig configures the Lease only one replica's scaler holds.
type LeaderElectionConfig struct {
	Enabled                                   bool
	Namespace, Name                           string
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
}

func (c *Config) complete() {
	if c.Clock == nil {
		c.Clock = clock.RealClock{}
	}
	if c.CreateConcurrency <= 0 {
		c.CreateConcurrency = 16
	}
	if c.DrainTimeout <= 0 {
		c.DrainTimeout = 30 * time.Minute
	}
	if c.GitHubGiveUp <= 0 {
		c.GitHubGiveUp = 2 * time.Minute
	}
	le := &c.LeaderElection
	if c.Namespace == "" {
		c.Namespace = le.Namespace
	}
	if c.Namespace == "" {
		c.Namespace = "runnerset-system"
	}
	if le.Name == "" {
		le.Name = "runnerset-apiserver-scaler"
	}
	if le.LeaseDuration == 0 {
		le.LeaseDuration, le.RenewDeadline, le.RetryPeriod = 15*time.Second, 10*time.Second, 2*time.Second
	}
}

// Manager starts and stops the per-RunnerSet workers.
type Manager struct {
	cfg Config

	runnerSets actionslisters.RunnerSetLister
	pods       corelisters.PodLister
	secrets    corelisters.SecretLister
	claims     *claims

	mu      sync.Mutex
	workers map[string]*worker
	wg      sync.WaitGroup
}

// New returns a Manager.
func New(cfg Config) *Manager {
	cfg.complete()
	registerMetrics()
	m := &Manager{cfg: cfg, workers: map[string]*worker{}}
	m.claims = &claims{configMaps: cfg.KubeClient.CoreV1(), namespace: cfg.Namespace, alive: m.runnerSetAlive}
	return m
}

// runnerSetAlive tells whether the RunnerSet o still exists, read through the API (not a cache
// that might lag): a scale set is taken from its owner only when the owner is surely gone.
func (m *Manager) runnerSetAlive(ctx context.Context, o owner) (bool, error) {
	rs, err := m.cfg.Client.ActionsV1alpha1().RunnerSets(o.Namespace).Get(ctx, o.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return rs.UID == o.UID, nil
}

// Run runs the scaler while this replica leads, until ctx ends.
func (m *Manager) Run(ctx context.Context) error {
	le := m.cfg.LeaderElection
	if !le.Enabled {
		m.lead(ctx)
		return nil
	}
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1ObjectMeta(le.Namespace, le.Name),
		Client:     m.cfg.KubeClient.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: m.cfg.Identity},
	}
	for ctx.Err() == nil {
		elector, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
			Lock:            lock,
			LeaseDuration:   le.LeaseDuration,
			RenewDeadline:   le.RenewDeadline,
			RetryPeriod:     le.RetryPeriod,
			ReleaseOnCancel: true,
			Name:            "scaler",
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
	logger := klog.FromContext(ctx).WithName("scaler")
	ctx = klog.NewContext(ctx, logger)
	selector := func(o *metav1ListOptions) { o.LabelSelector = v1alpha1.LabelRunnerSet }
	kubeInformers := informers.NewSharedInformerFactoryWithOptions(m.cfg.KubeClient, 10*time.Minute, informers.WithTweakListOptions(selector),
		informers.WithTransform(trimForCache))
	podInformer := kubeInformers.Core().V1().Pods()
	secretInformer := kubeInformers.Core().V1().Secrets()
	rsInformers := actionsinformers.NewSharedInformerFactory(m.cfg.Client, 10*time.Minute)
	rsInformer := rsInformers.Actions().V1alpha1().RunnerSets()
	m.pods, m.secrets, m.runnerSets = podInformer.Lister(), secretInformer.Lister(), rsInformer.Lister()

	byLabel := func(obj interface{}) {
		if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = tomb.Obj
		}
		if o, ok := obj.(interface {
			GetNamespace() string
			GetLabels() map[string]string
		}); ok {
			if name := o.GetLabels()[v1alpha1.LabelRunnerSet]; name != "" {
				m.kick(o.GetNamespace() + "/" + name)
			}
		}
	}
	kickHandler := cache.ResourceEventHandlerFuncs{
		AddFunc:    byLabel,
		UpdateFunc: func(_, obj interface{}) { byLabel(obj) },
		DeleteFunc: byLabel,
	}
	_, _ = podInformer.Informer().AddEventHandler(kickHandler)
	_, _ = secretInformer.Informer().AddEventHandler(kickHandler)
	_, _ = rsInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj interface{}) { m.runnerSetChanged(ctx, obj) },
		UpdateFunc: func(_, obj interface{}) { m.runnerSetChanged(ctx, obj) },
		DeleteFunc: func(obj interface{}) { m.runnerSetGone(obj) },
	})
	// Workers start from RunnerSet events: only once the pods and Secrets are all in the
	// caches, or a new leader would take a runner's pod whose Secret it has not listed yet for a
	// stray, and delete it with its job.
	kubeInformers.Start(ctx.Done())
	kubeInformers.WaitForCacheSync(ctx.Done())
	rsInformers.Start(ctx.Done())
	rsInformers.WaitForCacheSync(ctx.Done())
	m.mu.Lock()
	for _, w := range m.workers {
		w.kick()
	}
	m.mu.Unlock()
	logger.Info("Scaler running")
	<-ctx.Done()
	m.mu.Lock()
	for key, w := range m.workers {
		w.stop()
		delete(m.workers, key)
	}
	m.mu.Unlock()
	m.wg.Wait()
	kubeInformers.Shutdown()
	rsInformers.Shutdown()
}

func (m *Manager) runnerSetChanged(ctx context.Context, obj interface{}) {
	rs, ok := obj.(*v1alpha1.RunnerSet)
	if !ok {
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
	klog.Background().Info("RunnerSet deleted: stopping its worker", "runnerSet", klog.KObj(rs), "resourceVersion", rs.ResourceVersion,
		"finalizers", rs.Finalizers, "deleting", rs.DeletionTimestamp != nil, "finalStateUnknown", unknown)
	key := rs.Namespace + "/" + rs.Name
	m.mu.Lock()
	defer m.mu.Unlock()
	if w := m.workers[key]; w != nil && w.uid == rs.UID {
		w.mu.Lock()
		w.gone = true
		w.mu.Unlock()
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

// podsOf and secretsOf read the informer caches.
func (m *Manager) podsOf(namespace, name string) map[string]*corev1.Pod {
	out := map[string]*corev1.Pod{}
	pods, _ := m.pods.Pods(namespace).List(runnerSelector(name))
	for _, p := range pods {
		out[p.Name] = p
	}
	return out
}

func (m *Manager) secretsOf(namespace, name string) []*corev1.Secret {
	secrets, _ := m.secrets.Secrets(namespace).List(runnerSelector(name))
	return secrets
}
