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

// Package apiserver assembles the runnerset-apiserver: its scheme, storage and the generic
// server, following Config -> Complete -> New.
package apiserver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apiserver/pkg/registry/rest"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/apiserver/pkg/server/healthz"
	"k8s.io/client-go/kubernetes"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/metadata"
	scalescheme "k8s.io/client-go/scale/scheme"
	scaleautoscalingv1 "k8s.io/client-go/scale/scheme/autoscalingv1"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"actions.dev/runnerset-apiserver/pkg/apis/actions"
	"actions.dev/runnerset-apiserver/pkg/apis/actions/install"
	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/apis/actions/validation"
	"actions.dev/runnerset-apiserver/pkg/contract"
	clientset "actions.dev/runnerset-apiserver/pkg/generated/clientset/versioned"
	ghactions "actions.dev/runnerset-apiserver/pkg/github/actions"
	"actions.dev/runnerset-apiserver/pkg/hostallow"
	"actions.dev/runnerset-apiserver/pkg/registry/actions/runner"
	"actions.dev/runnerset-apiserver/pkg/registry/actions/runnerset"
	"actions.dev/runnerset-apiserver/pkg/registry/actions/workflowjob"
	"actions.dev/runnerset-apiserver/pkg/registry/configmapstore"
	"actions.dev/runnerset-apiserver/pkg/runnerpods"
	"actions.dev/runnerset-apiserver/pkg/scaler"
	"actions.dev/runnerset-apiserver/pkg/scaler/session"
	"actions.dev/runnerset-apiserver/pkg/scope"
)

var (
	// Scheme knows every type this server serves, plus autoscaling Scale for /scale.
	Scheme = runtime.NewScheme()
	// Codecs encodes and decodes with Scheme.
	Codecs = serializer.NewCodecFactory(Scheme)
)

func init() {
	install.Install(Scheme)
	utilruntime.Must(scalescheme.AddToScheme(Scheme))
	utilruntime.Must(scaleautoscalingv1.AddToScheme(Scheme))
	utilruntime.Must(Scheme.AddFieldLabelConversionFunc(v1alpha1.SchemeGroupVersion.WithKind("RunnerSet"), metaFieldsOnly))
	utilruntime.Must(Scheme.AddFieldLabelConversionFunc(v1alpha1.SchemeGroupVersion.WithKind("Runner"), metaFieldsOnly))
	utilruntime.Must(Scheme.AddFieldLabelConversionFunc(v1alpha1.SchemeGroupVersion.WithKind("WorkflowJob"), workflowjob.ConvertFieldLabel))

	metav1.AddToGroupVersion(Scheme, schema.GroupVersion{Version: "v1"})
	unversioned := schema.GroupVersion{Group: "", Version: "v1"}
	Scheme.AddUnversionedTypes(unversioned,
		&metav1.Status{},
		&metav1.APIVersions{},
		&metav1.APIGroupList{},
		&metav1.APIGroup{},
		&metav1.APIResourceList{},
	)
}

// metaFieldsOnly allows field selectors on metadata.name and metadata.namespace, the fields the
// storage can select on.
func metaFieldsOnly(label, value string) (string, string, error) {
	switch label {
	case "metadata.name", "metadata.namespace":
		return label, value, nil
	}
	return "", "", fmt.Errorf("field label not supported: %s", label)
}

// ExtraConfig holds what this server needs beyond the generic server: plain values, from
// which New builds the GitHub clients, the RunnerSet policy and the scaler.
type ExtraConfig struct {
	// KubeClient reaches the cluster that stores RunnerSets (as ConfigMaps) and runs runners.
	KubeClient kubernetes.Interface
	// Namespace is the server's own namespace: its signing key, Lease and scale set claims.
	Namespace string
	// SigningKeySecret names the Secret in Namespace with the key stored RunnerSets are signed
	// with; the first replica to start creates it.
	SigningKeySecret string
	// AllowedGitHubHosts are the hosts the server may dial for RunnerSets (hostallow entries).
	AllowedGitHubHosts []string
	// MaxRunnersPerRunnerSet and MaxRunnerSetsPerNamespace bound what a tenant may ask for (0: none).
	MaxRunnersPerRunnerSet    int32
	MaxRunnerSetsPerNamespace int
	// UserAgent is sent to GitHub and passed on to runners.
	UserAgent string
	// WatchNamespaces are the namespaces the server serves RunnerSets in (scope.All: every one);
	// in namespaced mode it holds its rights on pods, Secrets and events there only.
	WatchNamespaces scope.Namespaces
	// MetadataClient reads runner pods' metadata, which proves the runner pod cache current for
	// a consistent list (nil: runner lists always read the pods through).
	MetadataClient metadata.Interface
	// Scaler configures the scaler; Enabled false runs none (this replica only serves the API).
	Scaler ScalerOptions
}

// ScalerOptions are the scaler's settings (see the command's flags).
type ScalerOptions struct {
	Enabled, LeaderElect                      bool
	LeaseNamespace                            string
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	DrainTimeout, GitHubGiveUp                time.Duration
	CreateParallelism                         int
	ProtectBusyRunners                        bool
	// RunnerExitGrace bounds how long a runner may outlive its job (0: no bound).
	RunnerExitGrace time.Duration
	// JobRetention and JobHistoryMax bound the job history (workflowjobs) per RunnerSet.
	JobRetention  time.Duration
	JobHistoryMax int
	// JITBudgetPerMinute and JITBudgetBurst are the server's budget of runner registrations (0: none).
	JITBudgetPerMinute, JITBudgetBurst int
	// Identity names this replica (Lease holder, sessions' owner).
	Identity string
}

// Config is the whole server configuration.
type Config struct {
	GenericConfig *genericapiserver.RecommendedConfig
	ExtraConfig   ExtraConfig
}

// RunnerSetServer is the running server.
type RunnerSetServer struct {
	GenericAPIServer *genericapiserver.GenericAPIServer
}

type completedConfig struct {
	GenericConfig genericapiserver.CompletedConfig
	ExtraConfig   *ExtraConfig
}

// CompletedConfig can only be made by Complete, so New never sees a half-filled Config.
type CompletedConfig struct {
	*completedConfig
}

// Complete fills in defaults.
func (cfg *Config) Complete() CompletedConfig {
	return CompletedConfig{&completedConfig{cfg.GenericConfig.Complete(), &cfg.ExtraConfig}}
}

// StorageCodec is how RunnerSets are written into ConfigMaps: v1alpha1 JSON.
func StorageCodec() runtime.Codec {
	return Codecs.LegacyCodec(v1alpha1.SchemeGroupVersion)
}

// New builds the server from a completed config.
func (c completedConfig) New() (*RunnerSetServer, error) {
	x := c.ExtraConfig
	if x.KubeClient == nil {
		return nil, fmt.Errorf("ExtraConfig.KubeClient is required")
	}
	hosts, err := hostallow.Parse(x.AllowedGitHubHosts)
	if err != nil {
		return nil, err
	}
	genericServer, err := c.GenericConfig.New("runnerset-apiserver", genericapiserver.NewEmptyDelegate())
	if err != nil {
		return nil, err
	}
	s := &RunnerSetServer{GenericAPIServer: genericServer}
	recorder := newRecorder(x.KubeClient)
	factory := &session.SecretFactory{KubeClient: x.KubeClient, UserAgent: x.UserAgent, Clock: clock.RealClock{}, Hosts: hosts}
	policy := runnerset.Policy{Hosts: hosts, Namespaces: x.WatchNamespaces, MaxRunners: x.MaxRunnersPerRunnerSet, MaxPerNamespace: x.MaxRunnerSetsPerNamespace,
		Authorizer: c.GenericConfig.Authorization.Authorizer, Count: countRunnerSets(x.KubeClient)}
	rsStorage, err := c.newRunnerSetStorage(recorder, &policy)
	if err != nil {
		return nil, err
	}
	kube := x.KubeClient.CoreV1()
	pods, err := c.runnerPods(s.GenericAPIServer)
	if err != nil {
		return nil, err
	}
	var quorum runner.Quorum
	if x.MetadataClient != nil {
		quorum = &runnerpods.Quorum{Metadata: x.MetadataClient, Served: x.WatchNamespaces}
	}
	runners := runner.NewREST(scope.Pods(kube, x.WatchNamespaces), kube, rsStorage.RunnerSet, &deregisterer{factory: factory}, pods, quorum)
	apiGroupInfo := genericapiserver.NewDefaultAPIGroupInfo(actions.GroupName, Scheme, metav1.ParameterCodec, Codecs)
	apiGroupInfo.NegotiatedSerializer = WithoutProtobuf(Codecs)
	apiGroupInfo.VersionedResourcesStorageMap[v1alpha1.SchemeGroupVersion.Version] = map[string]rest.Storage{
		"runnersets":        rsStorage.RunnerSet,
		"runnersets/status": rsStorage.Status,
		"runnersets/scale":  rsStorage.Scale,
		"runners":           runners,
		"workflowjobs":      workflowjob.NewREST(scope.ConfigMaps(kube, x.WatchNamespaces)),
	}
	if err := s.GenericAPIServer.InstallAPIGroup(&apiGroupInfo); err != nil {
		return nil, err
	}
	if x.Scaler.Enabled {
		if err := c.addScaler(s.GenericAPIServer, factory, recorder, pods); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// newRunnerSetStorage stores RunnerSets in signed ConfigMaps, under policy.
func (c completedConfig) newRunnerSetStorage(recorder record.EventRecorder, policy *runnerset.Policy) (*runnerset.Storage, error) {
	x := c.ExtraConfig
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	key, created, err := ensureSigningKey(ctx, x.KubeClient.CoreV1(), x.Namespace, x.SigningKeySecret)
	if err != nil {
		return nil, err
	}
	signer, err := configmapstore.NewHMACSigner(key)
	if err != nil {
		return nil, err
	}
	optsGetter := &configmapstore.RESTOptionsGetter{
		Client: x.KubeClient.CoreV1(),
		Codec:  StorageCodec(),
		Resources: map[schema.GroupResource]configmapstore.Resource{
			actions.Resource("runnersets"): {MarkerLabel: runnerset.RunnerPodLabel, NamePrefix: contract.StoragePrefix, Validate: validateStored},
		},
		Signer:       signer,
		OnUnreadable: (&unreadableReporter{recorder: recorder}).report,
	}
	storage, err := runnerset.NewStorage(Scheme, optsGetter, policy)
	if err != nil || !created {
		return storage, err
	}
	// The key is new: what is stored was written before this server signed (an upgrade).
	adopted, err := optsGetter.Store(actions.Resource("runnersets")).AdoptUnsigned(ctx)
	if err != nil {
		return nil, fmt.Errorf("signing the RunnerSets stored before the signing key existed: %w", err)
	}
	klog.InfoS("Created the storage signing key", "secret", klog.KRef(x.Namespace, x.SigningKeySecret), "adopted", len(adopted), "keyID", signer.KeyID())
	return storage, nil
}

// addScaler starts the scaler after the server started (it reads RunnerSets and writes their
// status through this server), and reports its health in /livez and /readyz.
func (c completedConfig) addScaler(server *genericapiserver.GenericAPIServer, factory session.ClientFactory, recorder record.EventRecorder, pods *runnerpods.Cache) error {
	cfg := c.scalerConfig(factory, recorder)
	cfg.Pods = pods
	var mgr atomic.Pointer[scaler.Manager]
	check := func(name string, f func(*scaler.Manager) error) healthz.HealthChecker {
		return healthz.NamedCheck(name, func(*http.Request) error {
			if m := mgr.Load(); m != nil {
				return f(m)
			}
			return nil
		})
	}
	if err := server.AddLivezChecks(0, check("scaler", (*scaler.Manager).Healthy)); err != nil {
		return err
	}
	if err := server.AddReadyzChecks(check("scaler", (*scaler.Manager).Ready)); err != nil {
		return err
	}
	loopback := c.GenericConfig.LoopbackClientConfig
	return server.AddPostStartHook("start-scaler", func(hookCtx genericapiserver.PostStartHookContext) error {
		client, err := clientset.NewForConfig(loopback)
		if err != nil {
			return err
		}
		cfg.Client = client
		m, err := scaler.New(cfg)
		if err != nil {
			return err
		}
		mgr.Store(m)
		go func() {
			if err := m.Run(hookCtx); err != nil {
				klog.ErrorS(err, "Scaler stopped")
			}
		}()
		return nil
	})
}

// runnerPods is the cache of runner pods every replica keeps from its start: runner lists are
// answered from it, and the scaler works from it when this replica leads.
func (c completedConfig) runnerPods(server *genericapiserver.GenericAPIServer) (*runnerpods.Cache, error) {
	pods := runnerpods.New(c.ExtraConfig.KubeClient, c.ExtraConfig.WatchNamespaces)
	return pods, server.AddPostStartHook("start-runner-pod-cache", func(hookCtx genericapiserver.PostStartHookContext) error {
		pods.Start(hookCtx)
		return nil
	})
}

func (c completedConfig) scalerConfig(factory session.ClientFactory, recorder record.EventRecorder) scaler.Config {
	x := c.ExtraConfig
	o := x.Scaler
	ns := o.LeaseNamespace
	if ns == "" {
		ns = x.Namespace
	}
	return scaler.Config{
		KubeClient: x.KubeClient, GitHub: factory, Recorder: recorder, Clock: clock.RealClock{},
		Identity: o.Identity, UserAgent: x.UserAgent, Namespace: x.Namespace, Namespaces: x.WatchNamespaces,
		LeaderElection: scaler.LeaderElectionConfig{Enabled: o.LeaderElect, Namespace: ns, Name: "runnerset-apiserver-scaler",
			LeaseDuration: o.LeaseDuration, RenewDeadline: o.RenewDeadline, RetryPeriod: o.RetryPeriod},
		CreateConcurrency: o.CreateParallelism, ProtectBusyRunners: o.ProtectBusyRunners, DrainTimeout: o.DrainTimeout, GitHubGiveUp: o.GitHubGiveUp,
		RunnerExitGrace: o.RunnerExitGrace, JobRetention: o.JobRetention, JobHistoryMax: o.JobHistoryMax,
		JITBudgetPerMinute: o.JITBudgetPerMinute, JITBudgetBurst: o.JITBudgetBurst,
	}
}

// validateStored checks an object read from storage as it was checked when it was written.
func validateStored(obj runtime.Object) error {
	rs, ok := obj.(*actions.RunnerSet)
	if !ok {
		return fmt.Errorf("not a RunnerSet: %T", obj)
	}
	return validation.ValidateStoredRunnerSet(rs).ToAggregate()
}

// countRunnerSets counts the backing ConfigMaps of a namespace, from the kube-apiserver's cache.
func countRunnerSets(kube kubernetes.Interface) func(ctx context.Context, namespace string) (int, error) {
	return func(ctx context.Context, namespace string) (int, error) {
		l, err := kube.CoreV1().ConfigMaps(namespace).List(ctx, metav1.ListOptions{LabelSelector: runnerset.RunnerPodLabel, ResourceVersion: "0"})
		if err != nil {
			return 0, err
		}
		return len(l.Items), nil
	}
}

// newRecorder records events as the server, for the registry and the scaler.
func newRecorder(kube kubernetes.Interface) record.EventRecorder {
	broadcaster := record.NewBroadcaster()
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: kube.CoreV1().Events("")})
	return broadcaster.NewRecorder(Scheme, corev1.EventSource{Component: "runnerset-apiserver"})
}

// deregisterer removes runners on GitHub for kubectl delete runner, on any replica.
type deregisterer struct {
	factory session.ClientFactory
}

func (d *deregisterer) Deregister(ctx context.Context, rs *actions.RunnerSet, runnerID int64) error {
	if d.factory == nil {
		return fmt.Errorf("this server has no GitHub access configured")
	}
	versioned := &v1alpha1.RunnerSet{}
	if err := Scheme.Convert(rs, versioned, nil); err != nil {
		return err
	}
	client, err := d.factory.ForRunnerSet(ctx, versioned)
	if err != nil {
		return err
	}
	err = client.RemoveRunner(ctx, int(runnerID))
	switch {
	case errors.Is(err, ghactions.ErrJobStillRunning):
		return runner.ErrRunnerBusy
	case errors.Is(err, ghactions.ErrRunnerNotFound):
		return nil
	}
	return err
}

// WithoutProtobuf offers every serialization of ns but protobuf, which the types of actions.dev
// do not implement. Clients that prefer protobuf and accept JSON, as the kube-controller-manager's
// namespace, garbage-collector and quota controllers do, then get JSON instead of a failure: a
// namespace holding a RunnerSet could not be deleted, stuck Terminating with "RunnerSetList does
// not implement the protobuf marshalling interface".
func WithoutProtobuf(ns runtime.NegotiatedSerializer) runtime.NegotiatedSerializer {
	return withoutProtobuf{ns}
}

type withoutProtobuf struct{ runtime.NegotiatedSerializer }

func (w withoutProtobuf) SupportedMediaTypes() []runtime.SerializerInfo {
	var out []runtime.SerializerInfo
	for _, info := range w.NegotiatedSerializer.SupportedMediaTypes() {
		if info.MediaType != runtime.ContentTypeProtobuf {
			out = append(out, info)
		}
	}
	return out
}
