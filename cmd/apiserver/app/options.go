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

// Package app is the runnerset-apiserver command: options -> config -> complete -> run.
package app

import (
	"context"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/utils/clock"

	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/apiserver/pkg/endpoints/openapi"
	genericapiserver "k8s.io/apiserver/pkg/server"
	genericoptions "k8s.io/apiserver/pkg/server/options"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	cliflag "k8s.io/component-base/cli/flag"
	basecompatibility "k8s.io/component-base/compatibility"
	"k8s.io/component-base/logs"
	logsapi "k8s.io/component-base/logs/api/v1"
	baseversion "k8s.io/component-base/version"
	netutils "k8s.io/utils/net"

	"actions.dev/runnerset-apiserver/pkg/apiserver"
	"actions.dev/runnerset-apiserver/pkg/fairqueue"
	generatedopenapi "actions.dev/runnerset-apiserver/pkg/generated/openapi"
	"actions.dev/runnerset-apiserver/pkg/hostallow"
	"actions.dev/runnerset-apiserver/pkg/scope"
	"actions.dev/runnerset-apiserver/pkg/version"
)

// Options are the command's flags. The generic server's recommended options are used without
// etcd: RunnerSets live in the cluster as ConfigMaps.
type Options struct {
	RecommendedOptions *genericoptions.RecommendedOptions
	Logs               *logs.Options

	// ClientQPS and ClientBurst bound this server's own requests to the kube-apiserver.
	ClientQPS   float32
	ClientBurst int

	// ShutdownWatchTerminationGracePeriod ends open watches when the server is told to stop
	// and waits at most this long for them to go. Without it a single watch (the garbage
	// collector's on runnersets, say) holds the process for the whole request timeout (60 s).
	ShutdownWatchTerminationGracePeriod time.Duration

	// MemoryLimit is the Go runtime's soft memory limit (memlimit.go); empty: decided from
	// GOMEMLIMIT or the container's limit.
	MemoryLimit string

	// Namespace is the server's own namespace (its signing key, Lease and scale set claims);
	// empty: $POD_NAMESPACE, else runnerset-system.
	Namespace string
	// SigningKeySecret names the Secret with the key stored RunnerSets are signed with.
	SigningKeySecret string

	Policy PolicyOptions
	Scaler ScalerOptions
}

// ScalerOptions configure the scaler and its leader election.
type ScalerOptions struct {
	Enabled        bool
	LeaderElect    bool
	LeaseNamespace string
	LeaseDuration  time.Duration
	RenewDeadline  time.Duration
	RetryPeriod    time.Duration
	DrainTimeout   time.Duration
	GitHubGiveUp   time.Duration
	CreateParallel int
	ProtectBusy    bool
	ExitGrace      time.Duration
	JobRetention   time.Duration
	JobHistoryMax  int
	JITBudget      int
	JITBurst       int
}

// PolicyOptions bound what tenants may ask of the server (RunnerSet admission).
type PolicyOptions struct {
	AllowedHosts    []string
	MaxRunners      int32
	MaxPerNamespace int
	WatchNamespaces []string
}

// AddFlags registers the policy flags.
func (o *PolicyOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringSliceVar(&o.AllowedHosts, "allowed-github-hosts", o.AllowedHosts,
		"The only hosts the server dials for a RunnerSet: its githubConfigUrl, its proxies, and the Actions Service hosts GitHub returns. "+
			"Entries: host (default port of the URL's scheme), host:port, host:* (any port), *.domain, or * (any host). "+
			"github.com also allows api.github.com and *.actions.githubusercontent.com; a GHE.com host T.ghe.com allows api.T.ghe.com, *.T.ghe.com and *.actions.githubusercontent.com. "+
			"A RunnerSet naming another host is refused (422); a host GitHub returns outside the list gives condition GitHubAuthenticated=False (HostNotAllowed).")
	fs.Int32Var(&o.MaxRunners, "max-runners-per-runnerset", o.MaxRunners, "The most runners one RunnerSet may ask for (spec.maxRunners, spec.minRunners, kubectl scale); above it a 422. 0: no cap.")
	fs.IntVar(&o.MaxPerNamespace, "max-runnersets-per-namespace", o.MaxPerNamespace, "The most RunnerSets one namespace may hold; creating one more is refused (422). 0: no cap.")
	fs.StringSliceVar(&o.WatchNamespaces, "watch-namespaces", o.WatchNamespaces,
		"Namespaced mode: serve and scale RunnerSets only in these namespaces, where the server's rights on pods, Secrets, events and RBAC objects come from Roles; "+
			"creating a RunnerSet elsewhere is refused (403). Empty: every namespace (cluster mode, rights from a ClusterRole).")
}

// Validate checks the scaler flags.
func (o *ScalerOptions) Validate() []error {
	var errs []error
	for name, d := range map[string]time.Duration{"--drain-timeout": o.DrainTimeout, "--github-give-up": o.GitHubGiveUp,
		"--leader-elect-lease-duration": o.LeaseDuration, "--leader-elect-renew-deadline": o.RenewDeadline, "--leader-elect-retry-period": o.RetryPeriod} {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("%s must be positive, got %s", name, d))
		}
	}
	if o.CreateParallel <= 0 {
		errs = append(errs, fmt.Errorf("--runner-create-parallelism must be positive, got %d", o.CreateParallel))
	}
	if o.ExitGrace < 0 {
		errs = append(errs, fmt.Errorf("--runner-exit-grace must not be negative (0 disables it), got %s", o.ExitGrace))
	}
	if o.JITBudget < 0 || o.JITBurst < 0 {
		errs = append(errs, fmt.Errorf("--jit-budget (%d) and --jit-budget-burst (%d) must not be negative (0: no budget; burst 0: the budget)", o.JITBudget, o.JITBurst))
	}
	if o.JobRetention <= 0 || o.JobHistoryMax <= 0 {
		errs = append(errs, fmt.Errorf("--job-history-retention (%s) and --job-history-max (%d) must be positive", o.JobRetention, o.JobHistoryMax))
	}
	if o.LeaderElect && (o.RenewDeadline >= o.LeaseDuration || o.RetryPeriod >= o.RenewDeadline) {
		errs = append(errs, fmt.Errorf("--leader-elect-lease-duration (%s) must exceed --leader-elect-renew-deadline (%s), which must exceed --leader-elect-retry-period (%s)",
			o.LeaseDuration, o.RenewDeadline, o.RetryPeriod))
	}
	return errs
}

// AddFlags registers the scaler flags.
func (o *ScalerOptions) AddFlags(fs *pflag.FlagSet) {
	fs.BoolVar(&o.Enabled, "scaler", o.Enabled, "Run the scaler (on the elected leader). Without it this replica only serves the API.")
	fs.BoolVar(&o.LeaderElect, "leader-elect", o.LeaderElect, "Elect one replica to run the scaler through a Lease. Turn off only with a single replica.")
	fs.StringVar(&o.LeaseNamespace, "leader-elect-namespace", o.LeaseNamespace, "Namespace of the scaler's Lease (default: the server's --namespace).")
	fs.DurationVar(&o.LeaseDuration, "leader-elect-lease-duration", o.LeaseDuration, "How long a Lease holds without renewal.")
	fs.DurationVar(&o.RenewDeadline, "leader-elect-renew-deadline", o.RenewDeadline, "How long the leader keeps trying to renew before it stops leading.")
	fs.DurationVar(&o.RetryPeriod, "leader-elect-retry-period", o.RetryPeriod, "How often candidates try to acquire the Lease.")
	fs.DurationVar(&o.DrainTimeout, "drain-timeout", o.DrainTimeout, "How long a deleted RunnerSet waits for busy runners before removing them.")
	fs.DurationVar(&o.GitHubGiveUp, "github-give-up", o.GitHubGiveUp, "How long GitHub may be unreachable before a deletion stops waiting for it (an event lists what was left).")
	fs.IntVar(&o.CreateParallel, "runner-create-parallelism", o.CreateParallel, "Runners created in parallel per RunnerSet.")
	fs.DurationVar(&o.ExitGrace, "runner-exit-grace", o.ExitGrace,
		"How long a runner may keep running after GitHub reported its job completed; then the server removes it as hung (deregistered, pod and Secret deleted) with a RunnerHung event. 0: never.")
	fs.DurationVar(&o.JobRetention, "job-history-retention", o.JobRetention,
		"How long a job's record (workflowjobs) is kept after it ended.")
	fs.IntVar(&o.JobHistoryMax, "job-history-max", o.JobHistoryMax,
		"The most job records (workflowjobs) kept per RunnerSet; the oldest go first.")
	fs.IntVar(&o.JITBudget, "jit-budget", o.JITBudget,
		"Runner registrations per minute the server makes for all RunnerSets together; jobs beyond it are not acquired and stay queued on GitHub. 0: no budget (GitHub's own rate limits still hold the server back).")
	fs.IntVar(&o.JITBurst, "jit-budget-burst", o.JITBurst,
		"Runner registrations the server may make at once within --jit-budget. 0: one minute's worth.")
	fs.BoolVar(&o.ProtectBusy, "protect-busy-runners", o.ProtectBusy,
		"Mark runner pods for node autoscalers: busy ones not to be evicted (cluster-autoscaler safe-to-evict \"false\", Karpenter do-not-disrupt \"true\"), idle ones free to go. A value set in a RunnerSet's template wins.")
}

// NewOptions returns the defaults.
func NewOptions() *Options {
	ro := genericoptions.NewRecommendedOptions("", apiserver.StorageCodec())
	ro.Etcd = nil
	return &Options{RecommendedOptions: ro, Logs: logs.NewOptions(), ClientQPS: 50, ClientBurst: 100, ShutdownWatchTerminationGracePeriod: 5 * time.Second,
		SigningKeySecret: "runnerset-apiserver-signing-key",
		Policy:           PolicyOptions{AllowedHosts: []string{"github.com", "*.ghe.com"}, MaxRunners: 1000, MaxPerNamespace: 100},
		Scaler: ScalerOptions{Enabled: true, LeaderElect: true, LeaseDuration: 15 * time.Second, RenewDeadline: 10 * time.Second,
			RetryPeriod: 2 * time.Second, DrainTimeout: 30 * time.Minute, GitHubGiveUp: 2 * time.Minute, CreateParallel: 16, ProtectBusy: true,
			ExitGrace: 2 * time.Minute, JobRetention: apiserver.DefaultJobRetention, JobHistoryMax: apiserver.DefaultJobHistoryMax}}
}

// Flags groups the flags into named sections for --help.
func (o *Options) Flags() cliflag.NamedFlagSets {
	var fss cliflag.NamedFlagSets
	o.RecommendedOptions.SecureServing.AddFlags(fss.FlagSet("secure serving"))
	o.RecommendedOptions.Authentication.AddFlags(fss.FlagSet("authentication"))
	o.RecommendedOptions.Authorization.AddFlags(fss.FlagSet("authorization"))
	o.RecommendedOptions.Audit.AddFlags(fss.FlagSet("auditing"))
	o.RecommendedOptions.Features.AddFlags(fss.FlagSet("features"))
	o.RecommendedOptions.CoreAPI.AddFlags(fss.FlagSet("cluster"))
	o.RecommendedOptions.Admission.AddFlags(fss.FlagSet("admission"))
	logsapi.AddFlags(o.Logs, fss.FlagSet("logging"))
	c := fss.FlagSet("cluster")
	c.Float32Var(&o.ClientQPS, "kube-api-qps", o.ClientQPS, "Queries per second this server sends to the kube-apiserver.")
	c.IntVar(&o.ClientBurst, "kube-api-burst", o.ClientBurst, "Burst of requests this server sends to the kube-apiserver.")
	fss.FlagSet("secure serving").DurationVar(&o.ShutdownWatchTerminationGracePeriod, "shutdown-watch-termination-grace-period", o.ShutdownWatchTerminationGracePeriod,
		"On shutdown, open watches are ended and waited for at most this long. 0 leaves them open until the request timeout.")
	fss.FlagSet("runtime").StringVar(&o.MemoryLimit, "memory-limit", o.MemoryLimit,
		"Soft memory limit of the Go runtime (a quantity, e.g. 200Mi; 0 for none). Default: GOMEMLIMIT if set, else 70% of the container's memory limit (cgroup), else none.")
	o.Scaler.AddFlags(fss.FlagSet("scaler"))
	o.Policy.AddFlags(fss.FlagSet("tenancy"))
	ns := fss.FlagSet("runtime")
	ns.StringVar(&o.Namespace, "namespace", o.Namespace, "The server's own namespace: its storage signing key, its Lease and its records live there. Default: $POD_NAMESPACE, else runnerset-system.")
	ns.StringVar(&o.SigningKeySecret, "signing-key-secret", o.SigningKeySecret,
		"Secret in the server's namespace holding the key stored RunnerSets are signed with; created by the first replica to start. Back it up with the RunnerSets.")
	return fss
}

// Validate checks the options.
func (o *Options) Validate() error {
	errs := o.RecommendedOptions.Validate()
	errs = append(errs, logsapi.ValidateAndApply(o.Logs, nil))
	if o.ShutdownWatchTerminationGracePeriod < 0 {
		errs = append(errs, fmt.Errorf("--shutdown-watch-termination-grace-period must not be negative"))
	}
	if o.ClientQPS <= 0 || o.ClientBurst <= 0 {
		errs = append(errs, fmt.Errorf("--kube-api-qps and --kube-api-burst must be positive"))
	}
	if _, err := hostallow.Parse(o.Policy.AllowedHosts); err != nil {
		errs = append(errs, fmt.Errorf("--allowed-github-hosts: %w", err))
	}
	if _, err := scope.New(o.Policy.WatchNamespaces); err != nil {
		errs = append(errs, fmt.Errorf("--watch-namespaces: %w", err))
	}
	if o.Policy.MaxRunners < 0 || o.Policy.MaxPerNamespace < 0 {
		errs = append(errs, fmt.Errorf("--max-runners-per-runnerset and --max-runnersets-per-namespace must not be negative"))
	}
	if o.SigningKeySecret == "" {
		errs = append(errs, fmt.Errorf("--signing-key-secret must name a Secret"))
	}
	errs = append(errs, o.Scaler.Validate()...)
	if o.MemoryLimit != "" {
		if _, _, err := memoryLimit(o.MemoryLimit, false, nil); err != nil {
			errs = append(errs, err)
		}
	}
	return utilerrors.NewAggregate(errs)
}

// Config turns the options into a server configuration.
func (o *Options) Config() (*apiserver.Config, error) {
	if err := o.RecommendedOptions.SecureServing.MaybeDefaultWithSelfSignedCerts("localhost", nil, []net.IP{netutils.ParseIPSloppy("127.0.0.1")}); err != nil {
		return nil, fmt.Errorf("creating self-signed certificates: %w", err)
	}
	serverConfig := genericapiserver.NewRecommendedConfig(apiserver.Codecs)
	serverConfig.EffectiveVersion = basecompatibility.NewEffectiveVersionFromString(baseversion.DefaultKubeBinaryVersion, "", "")

	namer := openapi.NewDefinitionNamer(apiserver.Scheme)
	serverConfig.OpenAPIConfig = genericapiserver.DefaultOpenAPIConfig(generatedopenapi.GetOpenAPIDefinitions, namer)
	serverConfig.OpenAPIConfig.Info.Title = "runnerset-apiserver"
	serverConfig.OpenAPIConfig.Info.Version = "v1alpha1"
	serverConfig.OpenAPIV3Config = genericapiserver.DefaultOpenAPIV3Config(generatedopenapi.GetOpenAPIDefinitions, namer)
	serverConfig.OpenAPIV3Config.Info.Title = "runnerset-apiserver"
	serverConfig.OpenAPIV3Config.Info.Version = "v1alpha1"

	if err := o.RecommendedOptions.ApplyTo(serverConfig); err != nil {
		return nil, err
	}
	serverConfig.ShutdownWatchTerminationGracePeriod = o.ShutdownWatchTerminationGracePeriod
	if serverConfig.ClientConfig == nil {
		return nil, fmt.Errorf("no cluster to store RunnerSets in: give --kubeconfig or run in a cluster")
	}
	clientConfig := *serverConfig.ClientConfig
	clientConfig.QPS, clientConfig.Burst = o.ClientQPS, o.ClientBurst
	// One budget for every tenant, shared fairly: the scaler's requests for a namespace queue in
	// that namespace's flow (pkg/scaler), so a burst of jobs in one namespace cannot make
	// another's runners wait behind all of its requests.
	clientConfig.RateLimiter = fairqueue.New(o.ClientQPS, o.ClientBurst, clock.RealClock{})
	// This client reads and writes only built-in types (ConfigMaps, pods, Secrets, events,
	// Leases), which all have protobuf: smaller on the wire and cheaper to decode than JSON, as
	// the kube-controller-manager uses it. (Runner lists of 5000 pods were not measurably faster
	// for it on the local system: their time is the kube-apiserver's.)
	clientConfig.ContentType = runtime.ContentTypeProtobuf
	clientConfig.AcceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
	kubeClient, err := kubernetes.NewForConfig(&clientConfig)
	if err != nil {
		return nil, err
	}
	metadataClient, err := metadata.NewForConfig(&clientConfig)
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	watched, err := scope.New(o.Policy.WatchNamespaces)
	if err != nil {
		return nil, err
	}
	extra := apiserver.ExtraConfig{
		WatchNamespaces: watched,
		KubeClient:      kubeClient, MetadataClient: metadataClient, Namespace: o.namespace(), SigningKeySecret: o.SigningKeySecret,
		AllowedGitHubHosts: o.Policy.AllowedHosts, MaxRunnersPerRunnerSet: o.Policy.MaxRunners, MaxRunnerSetsPerNamespace: o.Policy.MaxPerNamespace,
		UserAgent: "runnerset-apiserver/" + version.Version(),
		Scaler: apiserver.ScalerOptions{
			Enabled: o.Scaler.Enabled, LeaderElect: o.Scaler.LeaderElect, LeaseNamespace: o.Scaler.LeaseNamespace,
			LeaseDuration: o.Scaler.LeaseDuration, RenewDeadline: o.Scaler.RenewDeadline, RetryPeriod: o.Scaler.RetryPeriod,
			DrainTimeout: o.Scaler.DrainTimeout, GitHubGiveUp: o.Scaler.GitHubGiveUp, CreateParallelism: o.Scaler.CreateParallel, ProtectBusyRunners: o.Scaler.ProtectBusy,
			RunnerExitGrace: o.Scaler.ExitGrace, JobRetention: o.Scaler.JobRetention, JobHistoryMax: o.Scaler.JobHistoryMax,
			JITBudgetPerMinute: o.Scaler.JITBudget, JITBudgetBurst: o.Scaler.JITBurst,
			Identity: host + "_" + string(uuid.NewUUID()),
		},
	}
	return &apiserver.Config{GenericConfig: serverConfig, ExtraConfig: extra}, nil
}

// namespace is the server's own namespace.
func (o *Options) namespace() string {
	switch {
	case o.Namespace != "":
		return o.Namespace
	case os.Getenv("POD_NAMESPACE") != "":
		return os.Getenv("POD_NAMESPACE")
	}
	return "runnerset-system"
}

// Run starts the server and blocks until ctx ends.
func (o *Options) Run(ctx context.Context) error {
	if err := applyMemoryLimit(o.MemoryLimit); err != nil {
		return err
	}
	config, err := o.Config()
	if err != nil {
		return err
	}
	server, err := config.Complete().New()
	if err != nil {
		return err
	}
	return server.GenericAPIServer.PrepareRun().RunWithContext(ctx)
}
