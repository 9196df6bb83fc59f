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

// Package localsystem runs a real, local Kubernetes control plane (etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler and kwok with one fake node) on 127.0.0.1, and
// optionally the runnerset-apiserver registered behind it as an aggregated API. It backs both
// `make run` (cmd/local-up) and the e2e tests.
//
// Every listener binds 127.0.0.1 on a port picked free at start, and all state lives under
// Options.Dir, so several systems can run side by side on one machine. Each component logs to
// Dir/logs/<component>.log. Components are started in their own process group and, on Linux,
// are killed by the kernel if the parent dies, so nothing outlives the caller.
//
// The binaries come from hack/tools (see hack/tools/build.sh). Measured facts behind the flags
// used here are in the project's local-control-plane reference.
package localsystem

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/klog/v2"
)

// Users with a static token. Kubeconfig and RESTConfig accept these names.
const (
	// UserAdmin is in group system:masters.
	UserAdmin = "admin"
	// UserAlice is in group team-a and has no rights beyond those RBAC grants that group or her.
	UserAlice = "alice"
	// UserBob is in group team-b, likewise.
	UserBob = "bob"
	// UserCarol is in group team-a-editors; the sample bindings let her edit team-a's RunnerSets
	// and nothing else.
	UserCarol = "carol"
	// UserDave is in group team-a-configmaps; the sample bindings let him write team-a's
	// ConfigMaps and nothing else.
	UserDave = "dave"
	// UserServer is the runnerset-apiserver's ServiceAccount; it exists only when
	// Options.Server is set.
	UserServer = "runnerset-apiserver"
)

// The fake node. Pods need a toleration for its taint, which keeps anything not meant for a
// fake node (nothing runs there) from being scheduled on it.
const (
	FakeNodeName     = "kwok-node-0"
	FakeNodeTaintKey = "kwok.x-k8s.io/node"
	FakeNodeTaintVal = "fake"
	// FakeNodePods is the node's pod capacity: far above kwok's sample 110 so that large
	// scenarios fit on one node.
	FakeNodePods = 5000
)

// Where the aggregated server is registered. The names match artifacts/example.
const (
	ServerNamespace      = "runnerset-system"
	ServerName           = "runnerset-apiserver"
	frontProxyClientName = "front-proxy-client"
)

// Deadlines for readiness. They are generous because the machine may be busy building or
// running other tests; a healthy start takes a few seconds.
const (
	etcdReadyTimeout      = 30 * time.Second
	apiServerReadyTimeout = 90 * time.Second
	clientReadyTimeout    = 60 * time.Second
	serverReadyTimeout    = 90 * time.Second
	pollInterval          = 100 * time.Millisecond
	// portAttempts bounds retries when another process grabbed a port we picked.
	portAttempts = 3
)

// Options configures Start.
type Options struct {
	// BinDir holds etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl,
	// kwok, helm and kwok-stages.yaml, as built by hack/tools/build.sh (_output/bin).
	BinDir string
	// Dir is the state directory: pki/, data/, logs/ and the kubeconfigs. It is created if
	// missing and must not hold a previous run's data/ (the caller wipes it; Start refuses to
	// guess what may be deleted).
	Dir string
	// Server, if set, also starts the runnerset-apiserver and registers it as an aggregated
	// API. Nil starts the control plane only.
	Server *ServerOptions
	// Simulator, if set, also starts the GitHub simulator with the runner emulator.
	Simulator *SimulatorOptions
}

// ServerOptions configures the aggregated runnerset-apiserver.
type ServerOptions struct {
	// Binary is the path of the built runnerset-apiserver.
	Binary string
	// Args are appended to the flags Start sets (serving, TLS and kubeconfig flags).
	Args []string
	// Env is added to the server's environment, and to its replicas' and restarts': for
	// instance SSL_CERT_FILE to trust a GitHub's CA, or HTTPS_PROXY, as an operator would set
	// them on the server's pod.
	Env []string
	// ManifestsDir holds the example manifests (artifacts/example). Start applies
	// namespace.yaml, service-account.yaml, auth-delegator.yaml, auth-reader.yaml, rbac.yaml,
	// user-roles.yaml and apiservice.yaml from it.
	ManifestsDir string
}

// System is a running local system. Its methods are safe for concurrent use.
type System struct {
	binDir string
	dir    string
	pki    *pki

	apiServerURL string
	serverPort   int
	simulatorURL string
	// restConfigs and kubeconfigs are keyed by user name; they are written once during Start.
	restConfigs map[string]*rest.Config
	kubeconfigs map[string]string
	admin       kubernetes.Interface
	applier     *applier

	mu    sync.Mutex
	procs []*process          // in start order
	env   map[string][]string // extra environment by component name; servers share ServerName's

	// started is set when Start returns successfully; before that, Start itself reports a
	// component that exits.
	started  atomic.Bool
	stopping atomic.Bool
	stopOnce sync.Once
	failed   chan error
}

// Start brings up the control plane and, if o.Server is set, the aggregated server, and
// returns once everything is ready. On failure it stops whatever it started and returns an
// error carrying the tail of the failing component's log. ctx bounds the start-up only: the
// components run until Stop, whatever happens to ctx afterwards.
func Start(ctx context.Context, o Options) (*System, error) {
	s, err := newSystem(o)
	if err != nil {
		return nil, err
	}
	if err := s.startAll(ctx, o); err != nil {
		s.Stop()
		return nil, err
	}
	s.started.Store(true)
	// A component may have died between its readiness check and now.
	s.mu.Lock()
	procs := slices.Clone(s.procs)
	s.mu.Unlock()
	for _, p := range procs {
		s.onExitCheck(p)
	}
	return s, nil
}

func (s *System) startAll(ctx context.Context, o Options) error {
	begin := time.Now()
	var err error
	if s.pki, err = writePKI(filepath.Join(s.dir, "pki")); err != nil {
		return fmt.Errorf("writing PKI: %w", err)
	}
	etcdURL, err := s.startEtcd(ctx)
	if err != nil {
		return err
	}
	if err := s.startAPIServer(ctx, etcdURL); err != nil {
		return err
	}
	if err := s.startClients(ctx); err != nil {
		return err
	}
	klog.InfoS("Control plane ready", "apiserver", s.apiServerURL, "dir", s.dir, "duration", time.Since(begin).Round(time.Millisecond))

	if o.Simulator != nil {
		if err := s.startSimulator(ctx, o.Simulator); err != nil {
			return err
		}
	}
	if o.Server != nil {
		serverBegin := time.Now()
		if err := s.startServer(ctx, o.Server); err != nil {
			return err
		}
		klog.InfoS("Aggregated server ready", "port", s.serverPort, "duration", time.Since(serverBegin).Round(time.Millisecond))
	}
	return nil
}

func newSystem(o Options) (*System, error) {
	if o.BinDir == "" || o.Dir == "" {
		return nil, errors.New("localsystem: Options.BinDir and Options.Dir are required")
	}
	binDir, err := filepath.Abs(o.BinDir)
	if err != nil {
		return nil, fmt.Errorf("resolving bin dir: %w", err)
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("resolving state dir: %w", err)
	}
	for _, name := range []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl", "kwok", "kwok-stages.yaml"} {
		if _, err := os.Stat(filepath.Join(binDir, name)); err != nil {
			return nil, fmt.Errorf("localsystem: %s missing from %s (build it with hack/tools/build.sh): %w", name, binDir, err)
		}
	}
	if o.Server != nil {
		if _, err := os.Stat(o.Server.Binary); err != nil {
			return nil, fmt.Errorf("localsystem: server binary: %w", err)
		}
		if _, err := os.Stat(o.Server.ManifestsDir); err != nil {
			return nil, fmt.Errorf("localsystem: manifests dir: %w", err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); err == nil {
		return nil, fmt.Errorf("localsystem: %s holds the data of an earlier run; remove it first", dir)
	}
	for _, sub := range []string{"logs", "data"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, fmt.Errorf("creating state dir: %w", err)
		}
	}
	return &System{
		binDir:      binDir,
		dir:         dir,
		restConfigs: map[string]*rest.Config{},
		kubeconfigs: map[string]string{},
		failed:      make(chan error, 1),
	}, nil
}

// Stop stops every component: first the clients of the kube-apiserver (aggregated server,
// kwok, scheduler, controller-manager) in parallel, then kube-apiserver, then etcd. Each gets
// SIGTERM and, after 10s, SIGKILL. Stop returns when all of them have been reaped. It is
// idempotent and safe to call on a partly started system.
func (s *System) Stop() {
	s.stopOnce.Do(func() {
		s.stopping.Store(true)
		begin := time.Now()
		s.mu.Lock()
		procs := slices.Clone(s.procs)
		s.mu.Unlock()

		var clients, core []*process
		for _, p := range procs {
			if p.name == "kube-apiserver" || p.name == "etcd" {
				core = append(core, p)
			} else {
				clients = append(clients, p)
			}
		}
		// Clients first: kube-apiserver waits for open watches on shutdown, which can take a
		// minute if kwok or the controller-manager still hold them.
		var wg sync.WaitGroup
		for _, p := range clients {
			wg.Go(func() { p.stop(stopGrace) })
		}
		wg.Wait()
		// core is in start order (etcd, kube-apiserver); stop in reverse.
		for _, p := range slices.Backward(core) {
			p.stop(stopGrace)
		}
		// The simulator's address names a process that is gone: make demo must say so.
		_ = os.Remove(filepath.Join(s.dir, "simulator.url"))
		klog.InfoS("Local system stopped", "dir", s.dir, "duration", time.Since(begin).Round(time.Millisecond))
	})
}

// Failed delivers an error when a component exits on its own after Start returned (e.g. it
// crashed). At most one error is delivered.
func (s *System) Failed() <-chan error { return s.failed }

// Dir returns the absolute state directory.
func (s *System) Dir() string { return s.dir }

// BinDir returns the absolute directory of the tool binaries.
func (s *System) BinDir() string { return s.binDir }

// APIServerURL returns the kube-apiserver's URL, https://127.0.0.1:<port>.
func (s *System) APIServerURL() string { return s.apiServerURL }

// ServerPort returns the port of the aggregated server, or 0 if none runs.
func (s *System) ServerPort() int { return s.serverPort }

// CAFile returns the path of the cluster CA certificate.
func (s *System) CAFile() string { return s.pki.CAFile }

// LogFile returns the log path of a component: etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler, kwok or runnerset-apiserver.
func (s *System) LogFile(component string) string {
	return filepath.Join(s.dir, "logs", component+".log")
}

// Kubeconfig returns the absolute path of the kubeconfig for user (UserAdmin, UserAlice,
// UserBob, UserCarol, UserDave, or UserServer when the server runs), or "" for an unknown user.
func (s *System) Kubeconfig(user string) string { return s.kubeconfigs[user] }

// RESTConfig returns a copy of the client configuration for user, or nil for an unknown user.
func (s *System) RESTConfig(user string) *rest.Config {
	c, ok := s.restConfigs[user]
	if !ok {
		return nil
	}
	return rest.CopyConfig(c)
}

// AdminClient returns a clientset authenticated as UserAdmin.
func (s *System) AdminClient() kubernetes.Interface { return s.admin }

// start launches a component and records it for Stop.
func (s *System) start(name, binary string, args []string) (*process, error) {
	p, err := startProcess(name, s.LogFile(name), binary, args, s.envOf(name), s.onExit)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.procs = append(s.procs, p)
	s.mu.Unlock()
	return p, nil
}

// setEnv gives a component, and every later start of it, extra environment variables.
func (s *System) setEnv(name string, env []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.env == nil {
		s.env = map[string][]string{}
	}
	s.env[name] = slices.Clone(env)
}

// envOf is a component's extra environment; a server replica has the first server's.
func (s *System) envOf(name string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if strings.HasPrefix(name, ServerName+"-") {
		name = ServerName
	}
	return s.env[name]
}

// forget drops a process that was stopped on purpose before a retry.
func (s *System) forget(p *process) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.procs = slices.DeleteFunc(s.procs, func(q *process) bool { return q == p })
}

// onExit reports a component that ended while nobody asked it to, once Start has returned.
func (s *System) onExit(p *process) {
	if !s.started.Load() || s.stopping.Load() || p.stopRequested.Load() || !p.reported.CompareAndSwap(false, true) {
		return
	}
	err := componentError(p, fmt.Errorf("%s %w", p.name, p.exitError()))
	klog.ErrorS(err, "Component exited unexpectedly", "component", p.name, "pid", p.pid())
	select {
	case s.failed <- err:
	default:
	}
}

// onExitCheck calls onExit for p if it has already exited.
func (s *System) onExitCheck(p *process) {
	if p.exited() {
		s.onExit(p)
	}
}

// waitReady polls check until it reports true, the process exits, or timeout passes. The
// error carries the last check error and the tail of the component's log.
func waitReady(ctx context.Context, p *process, timeout time.Duration, check func(context.Context) (bool, error)) error {
	var lastErr error
	err := wait.PollUntilContextTimeout(ctx, pollInterval, timeout, true, func(ctx context.Context) (bool, error) {
		if p.exited() {
			return false, p.exitError()
		}
		ok, err := check(ctx)
		if err != nil {
			lastErr = err
		}
		return ok, nil
	})
	if err == nil {
		return nil
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		// The caller gave up (e.g. Ctrl-C); the component's log has nothing to say about that.
		return ctx.Err()
	}
	if !p.exited() && lastErr != nil {
		err = fmt.Errorf("not ready after %s: %w (last check: %v)", timeout, err, lastErr)
	}
	return componentError(p, err)
}

// startListening starts a component that listens on nPorts loopback ports picked free, and
// waits for it to be ready. If the component lost a race for a port to another process (two
// systems starting at once), it is restarted with new ports; cleanup runs before each retry.
func (s *System) startListening(ctx context.Context, name, binary string, nPorts int, timeout time.Duration,
	args func(ports []int) []string, ready func(ctx context.Context, ports []int) (bool, error), cleanup func() error,
) (*process, []int, error) {
	for attempt := 1; ; attempt++ {
		ports, err := freePorts(nPorts)
		if err != nil {
			return nil, nil, err
		}
		begin := time.Now()
		p, err := s.start(name, binary, args(ports))
		if err != nil {
			return nil, nil, err
		}
		err = waitReady(ctx, p, timeout, func(ctx context.Context) (bool, error) { return ready(ctx, ports) })
		if err == nil {
			klog.InfoS("Component ready", "component", name, "ports", ports, "duration", time.Since(begin).Round(time.Millisecond))
			return p, ports, nil
		}
		if attempt >= portAttempts || !p.logContains("address already in use") {
			return nil, nil, err
		}
		klog.InfoS("Port taken by another process, retrying with new ports", "component", name, "ports", ports, "attempt", attempt)
		p.stop(stopGrace)
		s.forget(p)
		if cleanup != nil {
			if err := cleanup(); err != nil {
				return nil, nil, err
			}
		}
	}
}

func (s *System) startEtcd(ctx context.Context) (string, error) {
	dataDir := filepath.Join(s.dir, "data", "etcd")
	client := probeClient(nil)
	_, ports, err := s.startListening(ctx, "etcd", s.bin("etcd"), 2, etcdReadyTimeout,
		func(ports []int) []string {
			clientURL := loopbackURL("http", ports[0])
			peerURL := loopbackURL("http", ports[1])
			return []string{
				"--name=local",
				"--data-dir=" + dataDir,
				"--listen-client-urls=" + clientURL,
				"--advertise-client-urls=" + clientURL,
				"--listen-peer-urls=" + peerURL,
				"--initial-advertise-peer-urls=" + peerURL,
				"--initial-cluster=local=" + peerURL,
				"--initial-cluster-state=new",
				// The data is thrown away after the run; fsync would only slow everything down.
				"--unsafe-no-fsync=true",
				"--log-level=warn",
			}
		},
		func(ctx context.Context, ports []int) (bool, error) {
			return probe(ctx, client, loopbackURL("http", ports[0])+"/health", `"health":"true"`)
		},
		func() error { return os.RemoveAll(dataDir) },
	)
	if err != nil {
		return "", fmt.Errorf("starting etcd: %w", err)
	}
	return loopbackURL("http", ports[0]), nil
}

func (s *System) startAPIServer(ctx context.Context, etcdURL string) error {
	p := s.pki
	var (
		readyz    rest.Interface
		readyzURL string
	)
	_, ports, err := s.startListening(ctx, "kube-apiserver", s.bin("kube-apiserver"), 1, apiServerReadyTimeout,
		func(ports []int) []string {
			return []string{
				"--bind-address=127.0.0.1",
				"--secure-port=" + strconv.Itoa(ports[0]),
				"--advertise-address=127.0.0.1",
				// Required with a loopback advertise address: the default reconciler refuses it.
				"--endpoint-reconciler-type=none",
				"--etcd-servers=" + etcdURL,
				"--service-cluster-ip-range=10.0.0.0/24",
				"--tls-cert-file=" + p.APIServerCertFile,
				"--tls-private-key-file=" + p.APIServerKeyFile,
				"--client-ca-file=" + p.CAFile,
				"--token-auth-file=" + p.TokenFile,
				"--authorization-mode=Node,RBAC",
				// As on real clusters (a kubelet's default too): dind runner pods run privileged.
				"--allow-privileged=true",
				"--service-account-key-file=" + p.SAPubFile,
				"--service-account-signing-key-file=" + p.SAKeyFile,
				"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
				// Aggregation layer: the aggregator authenticates to aggregated servers with the
				// front-proxy client certificate and passes the user in these headers.
				"--requestheader-client-ca-file=" + p.FrontProxyCAFile,
				"--requestheader-allowed-names=" + frontProxyClientName,
				"--requestheader-extra-headers-prefix=X-Remote-Extra-",
				"--requestheader-group-headers=X-Remote-Group",
				"--requestheader-username-headers=X-Remote-User",
				"--proxy-client-cert-file=" + p.FrontProxyCert,
				"--proxy-client-key-file=" + p.FrontProxyKey,
				// With routing=true the aggregator dials EndpointSlice addresses, which may not
				// be loopback; with false it dials the Service, and an ExternalName Service
				// pointing at localhost reaches a server on 127.0.0.1.
				"--enable-aggregator-routing=false",
			}
		},
		func(ctx context.Context, ports []int) (bool, error) {
			if url := loopbackURL("https", ports[0]); readyz == nil || readyzURL != url {
				s.buildRESTConfigs(url)
				cs, err := kubernetes.NewForConfig(s.restConfigs[UserAdmin])
				if err != nil {
					return false, err
				}
				readyz, readyzURL = cs.Discovery().RESTClient(), url
			}
			body, err := readyz.Get().AbsPath("/readyz").DoRaw(ctx)
			if err != nil {
				return false, fmt.Errorf("/readyz: %w: %s", err, body)
			}
			return string(body) == "ok", nil
		},
		nil,
	)
	if err != nil {
		return fmt.Errorf("starting kube-apiserver: %w", err)
	}
	s.apiServerURL = loopbackURL("https", ports[0])
	s.buildRESTConfigs(s.apiServerURL)
	for _, u := range s.pki.Users {
		path := filepath.Join(s.dir, u.Name+".kubeconfig")
		if err := writeKubeconfig(path, s.apiServerURL, s.pki.CAFile, u.Name, u.Token); err != nil {
			return err
		}
		s.kubeconfigs[u.Name] = path
	}
	if s.admin, err = kubernetes.NewForConfig(s.restConfigs[UserAdmin]); err != nil {
		return fmt.Errorf("creating admin client: %w", err)
	}
	if s.applier, err = newApplier(s.restConfigs[UserAdmin]); err != nil {
		return err
	}
	return nil
}

// buildRESTConfigs (re)creates the in-memory client configs for the static users.
func (s *System) buildRESTConfigs(host string) {
	for _, u := range s.pki.Users {
		s.restConfigs[u.Name] = &rest.Config{
			Host:            host,
			BearerToken:     u.Token,
			TLSClientConfig: rest.TLSClientConfig{CAFile: s.pki.CAFile},
			// Tests and local-up create objects in bursts; client-side throttling would only
			// hide the server's real behaviour.
			QPS:   -1,
			Burst: -1,
		}
	}
}

// startClients starts kube-controller-manager, kube-scheduler and kwok concurrently, creates
// the fake node and waits until all of them work.
func (s *System) startClients(ctx context.Context) error {
	admin := s.Kubeconfig(UserAdmin)
	common := []string{
		"--kubeconfig=" + admin,
		"--authentication-kubeconfig=" + admin,
		"--authorization-kubeconfig=" + admin,
		"--bind-address=127.0.0.1",
		"--leader-elect=false",
	}
	healthz := probeClient(nil)
	healthy := func(ctx context.Context, ports []int) (bool, error) {
		return probe(ctx, healthz, loopbackURL("https", ports[0])+"/healthz", "ok")
	}

	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	run := func(f func() error) {
		wg.Go(func() {
			if err := f(); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	run(func() error {
		_, _, err := s.startListening(ctx, "kube-controller-manager", s.bin("kube-controller-manager"), 1, clientReadyTimeout,
			func(ports []int) []string {
				return append(slices.Clone(common),
					"--secure-port="+strconv.Itoa(ports[0]),
					// Signs ServiceAccount tokens for the token controller and publishes the
					// cluster CA as kube-root-ca.crt in every namespace.
					"--service-account-private-key-file="+s.pki.SAKeyFile,
					"--root-ca-file="+s.pki.CAFile,
					// Lets the CSR signer issue certificates, should a test need one.
					"--cluster-signing-cert-file="+s.pki.CAFile,
					"--cluster-signing-key-file="+filepath.Join(s.dir, "pki", "ca.key"),
				)
			}, healthy, nil)
		if err != nil {
			return fmt.Errorf("starting kube-controller-manager: %w", err)
		}
		// Healthy is not the same as working: wait for the ServiceAccount controller, without
		// which no pod can be created in a new namespace.
		if err := s.waitForServiceAccount(ctx, metav1.NamespaceDefault, "default", clientReadyTimeout); err != nil {
			return fmt.Errorf("kube-controller-manager: %w", err)
		}
		return nil
	})
	run(func() error {
		_, _, err := s.startListening(ctx, "kube-scheduler", s.bin("kube-scheduler"), 1, clientReadyTimeout,
			func(ports []int) []string {
				return append(slices.Clone(common), "--secure-port="+strconv.Itoa(ports[0]))
			}, healthy, nil)
		if err != nil {
			return fmt.Errorf("starting kube-scheduler: %w", err)
		}
		return nil
	})
	run(func() error { return s.startKwok(ctx) })
	wg.Wait()
	return errors.Join(errs...)
}

func (s *System) startKwok(ctx context.Context) error {
	// kwok opens no port: with neither --server-address nor --node-port it only talks to the
	// kube-apiserver, so there is nothing to collide with.
	p, err := s.start("kwok", s.bin("kwok"), []string{
		"--kubeconfig=" + s.Kubeconfig(UserAdmin),
		"--config=" + s.bin("kwok-stages.yaml"),
		"--manage-all-nodes=false",
		"--manage-nodes-with-annotation-selector=" + FakeNodeTaintKey + "=" + FakeNodeTaintVal,
		"--node-ip=127.0.0.1",
		"--cidr=10.244.0.0/16",
		"--node-lease-duration-seconds=40",
	})
	if err != nil {
		return err
	}
	begin := time.Now()
	if _, err := s.admin.CoreV1().Nodes().Create(ctx, fakeNode(), metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating fake node: %w", err)
	}
	err = waitReady(ctx, p, clientReadyTimeout, func(ctx context.Context) (bool, error) {
		node, err := s.admin.CoreV1().Nodes().Get(ctx, FakeNodeName, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, c := range node.Status.Conditions {
			if c.Type == corev1.NodeReady {
				return c.Status == corev1.ConditionTrue, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("waiting for node %s to be Ready: %w", FakeNodeName, err)
	}
	klog.InfoS("Component ready", "component", "kwok", "node", FakeNodeName, "duration", time.Since(begin).Round(time.Millisecond))
	return nil
}

// fakeNode is the node kwok plays. kwok's node-initialize stage keeps the allocatable and
// capacity set here and fills in conditions, addresses and nodeInfo.
func fakeNode() *corev1.Node {
	resources := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("1000"),
		corev1.ResourceMemory: resource.MustParse("4Ti"),
		corev1.ResourcePods:   *resource.NewQuantity(FakeNodePods, resource.DecimalSI),
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name: FakeNodeName,
			Annotations: map[string]string{
				"node.alpha.kubernetes.io/ttl": "0",
				// kwok manages only nodes carrying this annotation (see its flags above).
				FakeNodeTaintKey: FakeNodeTaintVal,
			},
			Labels: map[string]string{
				"beta.kubernetes.io/arch":       "amd64",
				"beta.kubernetes.io/os":         "linux",
				"kubernetes.io/arch":            "amd64",
				"kubernetes.io/hostname":        FakeNodeName,
				"kubernetes.io/os":              "linux",
				"kubernetes.io/role":            "agent",
				"node-role.kubernetes.io/agent": "",
				"type":                          "kwok",
			},
		},
		// No taint: this is the cluster's only node, so runner pods rendered from users'
		// templates land here as they would on a real node, without a kwok toleration.
		Status: corev1.NodeStatus{
			Allocatable: resources,
			Capacity:    resources,
			Phase:       corev1.NodeRunning,
		},
	}
}

// FakeNodeToleration tolerates the taint kwok nodes usually carry; the local node has none, so
// pods need it only to run unchanged on clusters with tainted kwok nodes.
func FakeNodeToleration() corev1.Toleration {
	return corev1.Toleration{Key: FakeNodeTaintKey, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}
}

// EnsureNamespace creates namespace name if it does not exist and waits until its default
// ServiceAccount exists, since ServiceAccount admission rejects pods until then.
func (s *System) EnsureNamespace(ctx context.Context, name string) error {
	// A namespace of that name still being deleted (by an earlier run of the same test, say)
	// takes no new objects: wait until it is gone.
	err := wait.PollUntilContextTimeout(ctx, pollInterval, namespaceGoneTimeout, true, func(ctx context.Context) (bool, error) {
		got, err := s.admin.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
		return apierrors.IsNotFound(err) || (err == nil && got.DeletionTimestamp == nil), nil
	})
	if err != nil {
		return fmt.Errorf("namespace %s is still being deleted: %w", name, err)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := s.admin.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating namespace %s: %w", name, err)
	}
	return s.waitForServiceAccount(ctx, name, "default", clientReadyTimeout)
}

// namespaceGoneTimeout bounds how long EnsureNamespace waits for a namespace being deleted.
const namespaceGoneTimeout = 3 * time.Minute

func (s *System) waitForServiceAccount(ctx context.Context, namespace, name string, timeout time.Duration) error {
	var lastErr error
	err := wait.PollUntilContextTimeout(ctx, pollInterval, timeout, true, func(ctx context.Context) (bool, error) {
		_, lastErr = s.admin.CoreV1().ServiceAccounts(namespace).Get(ctx, name, metav1.GetOptions{})
		return lastErr == nil, nil
	})
	if err != nil {
		return fmt.Errorf("waiting for ServiceAccount %s/%s: %w (last error: %v)", namespace, name, err, lastErr)
	}
	return nil
}

// Kubectl runs BinDir/kubectl as user and returns its stdout and stderr. The error is non-nil
// when kubectl fails; it includes stderr.
func (s *System) Kubectl(ctx context.Context, user string, args ...string) (stdout, stderr string, err error) {
	return s.KubectlWithInput(ctx, user, "", args...)
}

// KubectlWithInput is Kubectl with stdin, for manifests given as `-f -`.
func (s *System) KubectlWithInput(ctx context.Context, user, stdin string, args ...string) (stdout, stderr string, err error) {
	kubeconfig := s.Kubeconfig(user)
	if kubeconfig == "" {
		return "", "", fmt.Errorf("unknown user %q", user)
	}
	// A cache dir per system: a discovery cache shared with another system on a reused port
	// could describe the wrong API.
	full := append([]string{"--kubeconfig=" + kubeconfig, "--cache-dir=" + filepath.Join(s.dir, "cache", "kubectl")}, args...)
	return s.runWithInput(ctx, "kubectl", full, nil, stdin)
}

// Helm runs BinDir/helm as user with its config, cache and data kept under Dir/helm, so that
// it never reads or writes the caller's home directory.
func (s *System) Helm(ctx context.Context, user string, args ...string) (stdout, stderr string, err error) {
	kubeconfig := s.Kubeconfig(user)
	if kubeconfig == "" {
		return "", "", fmt.Errorf("unknown user %q", user)
	}
	home := filepath.Join(s.dir, "helm")
	env := []string{
		"HOME=" + home,
		"XDG_CACHE_HOME=" + filepath.Join(home, "cache"),
		"XDG_CONFIG_HOME=" + filepath.Join(home, "config"),
		"XDG_DATA_HOME=" + filepath.Join(home, "data"),
	}
	return s.run(ctx, "helm", append([]string{"--kubeconfig=" + kubeconfig}, args...), env)
}

func (s *System) run(ctx context.Context, tool string, args, env []string) (string, string, error) {
	return s.runWithInput(ctx, tool, args, env, "")
}

func (s *System) runWithInput(ctx context.Context, tool string, args, env []string, stdin string) (string, string, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, s.bin(tool), args...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	cmd.SysProcAttr = sysProcAttr()
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	klog.V(2).InfoS("Running", "tool", tool, "args", args)
	if err := cmd.Run(); err != nil {
		return stdout.String(), stderr.String(), fmt.Errorf("%s %v: %w: %s", tool, args, err, stderr.String())
	}
	return stdout.String(), stderr.String(), nil
}

// Apply creates or updates every object in manifests (YAML or JSON, several documents
// allowed) as UserAdmin, with server-side apply.
func (s *System) Apply(ctx context.Context, manifests []byte) error {
	return s.applier.apply(ctx, manifests, "")
}

// ApplyFile applies a manifest file, or every .yaml, .yml and .json file of a directory in
// lexical order (not recursive).
func (s *System) ApplyFile(ctx context.Context, path string) error {
	return s.applier.applyPath(ctx, path)
}

func (s *System) bin(name string) string { return filepath.Join(s.binDir, name) }

func loopbackURL(scheme string, port int) string {
	return scheme + "://127.0.0.1:" + strconv.Itoa(port)
}

// writeKubeconfig writes a single-context kubeconfig with a bearer token and an absolute CA
// path, so the file works from any directory.
func writeKubeconfig(path, server, caFile, user, token string) error {
	const cluster = "runnerset-local"
	contextName := user + "@" + cluster
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[cluster] = &clientcmdapi.Cluster{Server: server, CertificateAuthority: caFile}
	cfg.AuthInfos[user] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts[contextName] = &clientcmdapi.Context{Cluster: cluster, AuthInfo: user}
	cfg.CurrentContext = contextName
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return fmt.Errorf("writing kubeconfig %s: %w", path, err)
	}
	return nil
}

// caPool returns a pool holding the cluster CA.
func (s *System) caPool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(s.pki.CA.Cert)
	return pool
}
