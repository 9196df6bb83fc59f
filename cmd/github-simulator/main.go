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

// Command github-simulator serves a simulator of GitHub's REST API and the GitHub Actions
// Service (runner scale sets) on loopback addresses, over HTTPS with a CA of its own and with
// the Actions Service and the broker on hosts of their own by default, with a control API
// under /_sim/ to queue workflow jobs, inject faults and read request counters. With
// --kubeconfig and --emulate-runners it also plays the runner process for the runner pods of
// that cluster.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"actions.dev/runnerset-apiserver/pkg/github/actions"
	"actions.dev/runnerset-apiserver/pkg/github/simulator"
	"actions.dev/runnerset-apiserver/pkg/runneremulator"
)

type options struct {
	listen         string
	tls            bool
	separateHosts  bool
	serviceListen  string
	brokerListen   string
	caFile         string
	pats           stringList
	apps           stringList
	longPollHold   time.Duration
	adminTokenTTL  time.Duration
	queueTokenTTL  time.Duration
	assignTimeout  time.Duration
	reofferAfter   time.Duration
	sessionIdle    time.Duration
	runnerLost     time.Duration
	minRunner      string
	runnerVersion  string
	restRateLimit  int
	secondaryLimit int
	jitRate        int
	accounts       stringList
	anyAccount     bool
	seed           int64
	urlFile        string
	kubeconfig     string
	emulateRunners bool
	runnerPoll     time.Duration
	namespace      string
	kubeQPS        float64
	kubeBurst      int
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

const usageHeader = `github-simulator serves a simulator of GitHub's REST API and the GitHub Actions Service
(runner scale sets) on loopback addresses, speaking the real wire protocol: registration
tokens, App installation tokens, runner lists with ETags, runner-registration, runner groups,
scale sets, message sessions and the long poll, job acquisition, JIT configs and runners.

Usage:
  github-simulator --listen 127.0.0.1:PORT [--pat TOKEN ...] [--long-poll-hold 50s]
                   [--url-file FILE] [--ca-file FILE] [--tls=false] [--separate-hosts=false]
                   [--kubeconfig FILE --emulate-runners]

Point a client at it as at GitHub Enterprise Server: the config URL is
https://127.0.0.1:PORT/<org>, /<org>/<repo> or /enterprises/<enterprise>, with a PAT from --pat
(default ` + simulator.DefaultPAT + `), trusting the CA in --ca-file. As on GitHub, the Actions
Service (the tenant URL runner-registration hands out) and the broker (the session's
messageQueueUrl) are on hosts of their own (--service-listen, --broker-listen), each serving
only its own calls; --separate-hosts=false serves everything on --listen, --tls=false serves
plain HTTP. With --kubeconfig and --emulate-runners, runner pods (label
actions.dev/runnerset) that are Running and carry a JIT config the simulator issued (env
ACTIONS_RUNNER_INPUT_JITCONFIG from a secretKeyRef) come online, take a job, run it for its
duration and end their pod like an ephemeral runner (runner container exit 0, phase
Succeeded). Pod annotation emulator.actions.dev/exit-code: "7" (deprecated runner) or "1"
("crash") asks for another exit. A runner reports the version of its actions-runner image tag
(or annotation emulator.actions.dev/runner-version, or --runner-version); one older than
--min-runner-version is refused and exits 7 (with ACTIONS_RUNNER_RETURN_VERSION_DEPRECATED_EXIT_CODE=1).

Flags:
`

const usageFooter = `
Control API (JSON; durations as "90s" or a number of seconds), on --listen only. With
S=https://127.0.0.1:PORT and the CA trusted (alias curl='curl --cacert CA_FILE'):

  # queue 5 jobs for runs-on: [linux] in acme/app, each running 30s on an emulated runner
  curl -s -XPOST $S/_sim/jobs -d '{"labels":["linux"],"owner":"acme","repository":"app","duration":"30s","count":5}'
  curl -s $S/_sim/jobs                    # all jobs with state, scale set, runner, result
  curl -s $S/_sim/jobs?state=queued       # or acquired, assigned, running, completed
  curl -s $S/_sim/jobs/1001/attempts      # a job and its re-runs (REST POST .../actions/jobs/{job_id}/rerun)

  # the next 3 long polls answer 503 with Retry-After: 2
  curl -s -XPOST $S/_sim/faults -d '{"endpoint":"GetMessage","status":503,"retryAfter":"2s","count":3}'
  # every request of scale set 1 is slow (10s), half of them fail with 500
  curl -s -XPOST $S/_sim/faults -d '{"endpoint":"*","scaleSetId":1,"delay":"10s"}'
  curl -s -XPOST $S/_sim/faults -d '{"endpoint":"*","scaleSetId":1,"status":500,"probability":0.5}'
  # an empty 200 from the broker; a 409 session conflict
  curl -s -XPOST $S/_sim/faults -d '{"endpoint":"GetMessage","emptyBody":true,"count":1}'
  curl -s -XPOST $S/_sim/faults -d '{"endpoint":"CreateSession","status":409,"count":1}'
  curl -s $S/_sim/faults                  # active faults with their ids and hits
  curl -s -XDELETE $S/_sim/faults/1

  curl -s -XPOST $S/_sim/scalesets/1/vanish       # deleted on GitHub's side: 404 from now on
  curl -s -XDELETE $S/_sim/scalesets/1/session    # the service drops the session
  curl -s -XPOST $S/_sim/queue-tokens/expire      # every message-queue token answers 401
  curl -s -XPOST $S/_sim/runnergroups -d '{"name":"gpu"}'

  # who may do what: accounts, tokens, App installations
  curl -s -XPOST $S/_sim/accounts -d '{"path":"acme/app"}'   # exists from now on (and acme)
  curl -s -XDELETE $S/_sim/accounts/acme/app                # 404 Not Found from now on
  curl -s -XPUT $S/_sim/tokens -d '{"value":"ghp_narrow","scopes":["repo"]}'
  curl -s -XPOST $S/_sim/tokens/ghp_narrow/grant -d '{"scopes":["admin:org"]}'
  curl -s -XPOST $S/_sim/tokens/ghp_narrow/revoke -d '{"scopes":["admin:org"]}'
  curl -s -XPUT $S/_sim/tokens -d '{"value":"github_pat_x","permissions":{"administration":"write"}}'
  curl -s -XPOST $S/_sim/installations -d '{"appId":1,"id":7,"account":"acme","repositorySelection":"all"}'
  curl -s -XDELETE $S/_sim/installations/7
  # the REST budget of a credential is spent until 60s from now
  curl -s -XPOST $S/_sim/ratelimit -d '{"token":"ghp_narrow","remaining":0,"resetIn":"60s"}'
  # secondary rate limit at 10 requests a minute, JIT configs at 5 a minute per tenant
  curl -s -XPATCH $S/_sim/settings -d '{"restSecondaryLimit":10,"jitConfigRate":5}'

  curl -s $S/_sim/settings                # settings that may change while it runs
  # idle message sessions expire after 30s from now on (negative: never)
  curl -s -XPATCH $S/_sim/settings -d '{"sessionIdleTimeout":"30s"}'
  # a job whose runner went away mid-job fails 30s after (GitHub: when its job lock lapses)
  curl -s -XPATCH $S/_sim/settings -d '{"runnerLostTimeout":"30s"}'
  # runners older than 2.331.0 are refused from now on
  curl -s -XPATCH $S/_sim/settings -d '{"minRunnerVersion":"2.331.0"}'

  curl -s $S/_sim/counters                # requests per endpoint, per scale set, faulted
  curl -s -XDELETE $S/_sim/counters
  curl -s $S/_sim/scalesets               # scale sets with live statistics
  curl -s $S/_sim/sessions
  curl -s $S/_sim/runners

  # play a runner by hand
  curl -s -XPOST $S/_sim/runners/connect -d '{"encodedJITConfig":"...","version":"2.330.0"}'
  curl -s -XPOST $S/_sim/runners/7/acquire        # 200 with the job, 204 when none
  curl -s -XPOST $S/_sim/runners/7/complete -d '{"result":"succeeded"}'
  curl -s -XPOST $S/_sim/runners/7/disconnect

Endpoint names for faults and counters: CreateInstallationToken, RegistrationToken,
ListRunners, RunnerRegistration, GetRunnerGroup, GetScaleSetByName, GetScaleSet,
CreateScaleSet, UpdateScaleSet, DeleteScaleSet, CreateSession, RefreshSession, DeleteSession,
GetMessage, DeleteMessage, AcquireJobs, AcquirableJobs, GenerateJitConfig, GetRunner,
GetRunnerByName, RemoveRunner, GetInstallation, ListInstallationRepositories, GetWorkflowJob,
RerunWorkflowJob, GetWorkflowRun, ListWorkflowRunJobs, or * for all.
`

func newFlagSet(o *options, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("github-simulator", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&o.listen, "listen", "127.0.0.1:8090", "loopback address to serve GitHub REST and the control API on (127.0.0.0/8, ::1 or localhost; port 0 picks one)")
	fs.BoolVar(&o.tls, "tls", true, "serve HTTPS with a serving certificate of a CA made at start (written to --ca-file)")
	fs.BoolVar(&o.separateHosts, "separate-hosts", true, "serve the Actions Service on --service-listen and the broker (message queue) on --broker-listen, as GitHub does, instead of everything on --listen")
	fs.StringVar(&o.serviceListen, "service-listen", simulator.DefaultServiceListen, "loopback address of the Actions Service (tenant URLs) with --separate-hosts")
	fs.StringVar(&o.brokerListen, "broker-listen", simulator.DefaultBrokerListen, "loopback address of the broker (messageQueueUrl) with --separate-hosts")
	fs.StringVar(&o.caFile, "ca-file", "", "write the CA certificate (PEM) to this file before the URL file (default: "+caFileName+" next to --url-file)")
	fs.Var(&o.pats, "pat", "accepted personal access token (repeatable; default "+simulator.DefaultPAT+")")
	fs.Var(&o.apps, "app", "accepted GitHub App as APP_ID:INSTALLATION_ID:PRIVATE_KEY_PEM_FILE (repeatable)")
	fs.DurationVar(&o.longPollHold, "long-poll-hold", simulator.DefaultLongPollHold, "how long an empty long poll is held before 202")
	fs.DurationVar(&o.adminTokenTTL, "admin-token-ttl", simulator.DefaultAdminTokenTTL, "lifetime of the admin token from runner-registration")
	fs.DurationVar(&o.queueTokenTTL, "queue-token-ttl", simulator.DefaultQueueTokenTTL, "lifetime of a message-queue token")
	fs.DurationVar(&o.assignTimeout, "assign-timeout", simulator.DefaultAssignTimeout, "an assigned job no runner starts within this is canceled and requeued (at most 3 times)")
	fs.DurationVar(&o.reofferAfter, "reoffer-after", simulator.DefaultReofferAfter, "a job nobody acquired is offered again after this (negative: never)")
	fs.DurationVar(&o.sessionIdle, "session-idle-timeout", simulator.DefaultSessionIdleTimeout,
		"a message session nobody polled, refreshed or otherwise used for this long expires, as GitHub expires the session of a listener that died without deleting it (negative: never)")
	fs.DurationVar(&o.runnerLost, "runner-lost-timeout", simulator.DefaultRunnerLostTimeout,
		"a job whose runner went away mid-job (its pod deleted or evicted) fails this long after, as GitHub fails it when the runner's job lock lapses (negative: at once)")
	fs.StringVar(&o.minRunner, "min-runner-version", actions.MinRunnerVersion,
		"runners older than this are refused when they connect, as GitHub refuses them since 2026-09-25 (0.0.0: none)")
	fs.IntVar(&o.restRateLimit, "rest-rate-limit", simulator.DefaultRESTRateLimit, "GitHub REST requests per credential and hour")
	fs.IntVar(&o.secondaryLimit, "rest-secondary-limit", 0, "GitHub REST requests per credential and minute before the secondary rate limit answers 403 with Retry-After (0: none)")
	fs.IntVar(&o.jitRate, "jit-config-rate", 0, "generatejitconfig calls per tenant and minute before the Actions Service answers 429 with Retry-After (0: none)")
	fs.Var(&o.accounts, "accounts", "accounts that exist, comma-separated: ORG, ORG/REPO (declares ORG too), enterprises/NAME (repeatable)")
	fs.BoolVar(&o.anyAccount, "any-account", true,
		"every organization, repository and enterprise exists; --any-account=false: only --accounts (and those declared at /_sim/accounts), others answer 404 as on GitHub")
	fs.Int64Var(&o.seed, "seed", 0, "seed of fault probabilities")
	fs.StringVar(&o.urlFile, "url-file", "", "write the simulator's URL to this file once it listens")
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "cluster whose runner pods --emulate-runners plays")
	fs.BoolVar(&o.emulateRunners, "emulate-runners", false, "play the runner process for runner pods (needs --kubeconfig)")
	fs.DurationVar(&o.runnerPoll, "runner-poll-interval", runneremulator.DefaultPollInterval, "how often an emulated idle runner asks for a job")
	fs.StringVar(&o.runnerVersion, "runner-version", runneremulator.DefaultRunnerVersion,
		"version an emulated runner reports unless its pod's annotation "+runneremulator.RunnerVersionAnnotation+" or actions-runner image tag says another")
	fs.StringVar(&o.namespace, "runner-namespace", "", "emulate runner pods of this namespace only (default all)")
	fs.Float64Var(&o.kubeQPS, "kube-api-qps", 50, "queries per second the runner emulator sends to the cluster (pod status, JIT config Secrets)")
	fs.IntVar(&o.kubeBurst, "kube-api-burst", 100, "burst of the runner emulator's requests to the cluster")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usageHeader)
		fs.PrintDefaults()
		fmt.Fprint(fs.Output(), usageFooter)
	}
	return fs
}

func main() {
	var o options
	fs := newFlagSet(&o, os.Stderr)
	klogFlags := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(klogFlags)
	fs.Var(klogFlags.Lookup("v").Value, "v", "log verbosity (2: runner and session events)")
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, os.Stdout); err != nil {
		klog.ErrorS(err, "github-simulator failed")
		klog.Flush()
		os.Exit(1)
	}
	klog.Flush()
}

// caFileName is the CA file's name next to --url-file.
const caFileName = "simulator-ca.crt"

// checkLoopback refuses a listen address that is not on the loopback interface.
func checkLoopback(flagName, addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--%s %q: %w", flagName, addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("--%s %q: only loopback addresses (127.0.0.0/8, ::1, localhost) are allowed; the simulator has no authentication of its control API", flagName, addr)
	}
	return nil
}

func (o *options) validate() error {
	addrs := [][2]string{{"listen", o.listen}}
	if o.separateHosts {
		addrs = append(addrs, [2]string{"service-listen", o.serviceListen}, [2]string{"broker-listen", o.brokerListen})
	}
	for _, a := range addrs {
		if err := checkLoopback(a[0], a[1]); err != nil {
			return err
		}
	}
	if o.caFile != "" && !o.tls {
		return errors.New("--ca-file needs --tls")
	}
	if o.emulateRunners && o.kubeconfig == "" {
		return errors.New("--emulate-runners needs --kubeconfig")
	}
	if o.kubeconfig != "" && !o.emulateRunners {
		return errors.New("--kubeconfig is only used with --emulate-runners")
	}
	return nil
}

func (o *options) simulatorOptions() (simulator.Options, error) {
	so := simulator.Options{
		Listen: o.listen, TLS: o.tls, SeparateHosts: o.separateHosts, ServiceListen: o.serviceListen, BrokerListen: o.brokerListen,
		PATs: o.pats, LongPollHold: o.longPollHold, AdminTokenTTL: o.adminTokenTTL,
		QueueTokenTTL: o.queueTokenTTL, AssignTimeout: o.assignTimeout, ReofferAfter: o.reofferAfter,
		SessionIdleTimeout: o.sessionIdle, MinRunnerVersion: o.minRunner, RESTRateLimit: o.restRateLimit, Seed: o.seed,
		RunnerLostTimeout: o.runnerLost,
	}
	so.RESTSecondaryLimit, so.JITConfigRate, so.AnyAccount = o.secondaryLimit, o.jitRate, o.anyAccount
	for _, list := range o.accounts {
		for _, a := range strings.Split(list, ",") {
			if a = strings.TrimSpace(a); a != "" {
				so.Accounts = append(so.Accounts, a)
			}
		}
	}
	for _, spec := range o.apps {
		parts := strings.SplitN(spec, ":", 3)
		if len(parts) != 3 {
			return so, fmt.Errorf("--app %q: want APP_ID:INSTALLATION_ID:PRIVATE_KEY_PEM_FILE", spec)
		}
		appID, err1 := strconv.ParseInt(parts[0], 10, 64)
		inst, err2 := strconv.ParseInt(parts[1], 10, 64)
		if err := errors.Join(err1, err2); err != nil {
			return so, fmt.Errorf("--app %q: %w", spec, err)
		}
		key, err := os.ReadFile(parts[2])
		if err != nil {
			return so, fmt.Errorf("--app %q: %w", spec, err)
		}
		so.Apps = append(so.Apps, simulator.App{AppID: appID, InstallationID: inst, PrivateKeyPEM: key})
	}
	return so, nil
}

func (o *options) emulatorConfig(client kubernetes.Interface, runners runneremulator.RunnerSide) runneremulator.Config {
	return runneremulator.Config{Client: client, Runners: runners, PollInterval: o.runnerPoll,
		Namespace: o.namespace, RunnerVersion: o.runnerVersion}
}

// run serves until ctx ends.
func run(ctx context.Context, o options, out io.Writer) error {
	if err := o.validate(); err != nil {
		return err
	}
	so, err := o.simulatorOptions()
	if err != nil {
		return err
	}
	var client kubernetes.Interface
	if o.emulateRunners {
		cfg, err := clientcmd.BuildConfigFromFlags("", o.kubeconfig)
		if err != nil {
			return fmt.Errorf("--kubeconfig: %w", err)
		}
		cfg.QPS, cfg.Burst = float32(o.kubeQPS), o.kubeBurst
		if client, err = kubernetes.NewForConfig(cfg); err != nil {
			return err
		}
	}
	sim, err := simulator.Start(so)
	if err != nil {
		return err
	}
	defer sim.Close()
	caFile, err := o.writeFiles(sim)
	if err != nil {
		return err
	}

	emulatorDone := make(chan error, 1)
	if client != nil {
		em, err := runneremulator.New(o.emulatorConfig(client, sim))
		if err != nil {
			return err
		}
		go func() { emulatorDone <- em.Run(ctx) }()
	} else {
		emulatorDone <- nil
	}
	printBanner(out, sim, so, caFile, o.emulateRunners)
	<-ctx.Done()
	klog.InfoS("Stopping the GitHub simulator")
	return <-emulatorDone
}

// caPath is where the CA certificate goes: --ca-file, else next to --url-file, else nowhere.
func (o *options) caPath() string {
	switch {
	case !o.tls:
		return ""
	case o.caFile != "":
		return o.caFile
	case o.urlFile != "":
		return filepath.Join(filepath.Dir(o.urlFile), caFileName)
	}
	return ""
}

// writeFiles writes the CA certificate, then the URL file: a reader waits for the URL file,
// so the CA is there when it appears. It returns the CA file's path ("" for none).
func (o *options) writeFiles(sim *simulator.Simulator) (string, error) {
	caFile := o.caPath()
	if caFile != "" {
		if err := writeAtomically(caFile, string(sim.CACertPEM())); err != nil {
			return "", fmt.Errorf("--ca-file: %w", err)
		}
	}
	if o.urlFile != "" {
		if err := writeAtomically(o.urlFile, sim.URL()+"\n"); err != nil {
			return "", fmt.Errorf("--url-file: %w", err)
		}
	}
	return caFile, nil
}

func printBanner(out io.Writer, sim *simulator.Simulator, so simulator.Options, caFile string, emulating bool) {
	pat := simulator.DefaultPAT
	if len(so.PATs) > 0 {
		pat = so.PATs[0]
	}
	fmt.Fprintf(out, "GitHub simulator listening on %s\n\n", sim.URL())
	fmt.Fprintf(out, "  config URLs:  %s (org)  %s (repository)  %s (enterprise)\n",
		sim.URL()+"/acme", sim.URL()+"/acme/app", sim.URL()+"/enterprises/big")
	if sim.AnyAccount() {
		fmt.Fprintf(out, "  accounts:     any (--any-account=false: only --accounts)\n")
	} else {
		fmt.Fprintf(out, "  accounts:     %s (others answer 404)\n", strings.Join(sim.Accounts(), " "))
	}
	fmt.Fprintf(out, "  PAT:          %s\n", pat)
	fmt.Fprintf(out, "  hosts:        %s\n", strings.Join(sim.Hosts(), " "))
	curl := "curl -s"
	switch {
	case caFile != "":
		fmt.Fprintf(out, "  CA:           %s\n", caFile)
		curl += " --cacert " + caFile
	case so.TLS:
		fmt.Fprintf(out, "  CA:           not written (--ca-file FILE writes it):\n%s", sim.CACertPEM())
	}
	if emulating {
		fmt.Fprintf(out, "  runner pods:  emulated (label actions.dev/runnerset)\n")
	}
	fmt.Fprintf(out, "\nQueue a job:  %s -XPOST %s/_sim/jobs -d '{\"labels\":[\"linux\"],\"owner\":\"acme\",\"repository\":\"app\",\"duration\":\"30s\"}'\n", curl, sim.URL())
	fmt.Fprintf(out, "Counters:     %s %s/_sim/counters\n", curl, sim.URL())
	fmt.Fprintf(out, "More:         github-simulator --help\n")
}

// writeAtomically writes content to path through a rename, so that a reader polling for the
// file never sees it half written.
func writeAtomically(path, content string) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
