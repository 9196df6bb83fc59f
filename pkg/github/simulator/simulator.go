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

package simulator

import (
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	mathrand "math/rand/v2"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
)

// DefaultPAT is the personal access token accepted when Options.PATs and Options.Tokens are
// empty. It has every scope (FullScopes).
const DefaultPAT = "ghp_local_simulator_token"

// Defaults of Options.
const (
	DefaultLongPollHold  = 50 * time.Second
	DefaultAdminTokenTTL = 10 * time.Minute
	DefaultQueueTokenTTL = 50 * time.Minute
	DefaultAssignTimeout = 5 * time.Minute
	DefaultReofferAfter  = time.Minute
	DefaultRESTRateLimit = 5000
	// DefaultSessionIdleTimeout is how long a message session nobody uses lives on. GitHub does
	// not document it (reference §3.1, §11). GitHub's own clients bound it: the runner retries a
	// conflict with its own stale session for 4 minutes before it takes the other session for a
	// live one (actions/runner BrokerMessageListener, _sessionConflictRetryLimit), and ARC's
	// listeners retried a 409 for about 5 minutes (10 x 30 s; 10 x 30-45 s, reference §3.5).
	// It must also outlast a held long poll (~50 s) with the client's retries (1+2+4+8 s).
	// 4 minutes is the longest such bound.
	DefaultSessionIdleTimeout = 4 * time.Minute
	// DefaultRunnerLostTimeout is how long a job whose runner went away mid-job stays in
	// progress before GitHub fails it. A runner holds its job by a lock it renews every 60 s, each
	// renewal holding it 10 minutes (the runner logs "Successfully renew job request N, job is
	// valid till" ten minutes on, actions/runner#1546); a runner that vanishes renews no more and
	// GitHub fails the job when the lock lapses, 9 to 10 minutes later (GAG measured 9m36s-9m45s
	// after an ungraceful kill; the user-demand notes say "about 10 min"). 10 minutes is the lock
	// window: the bound a server waiting for the conclusion must allow.
	DefaultRunnerLostTimeout = 10 * time.Minute
	// MaxRequeues is how often a job that no runner started is canceled and queued again
	// before it is canceled for good.
	MaxRequeues = 3
	// firstMessageID is where message ids start; the service's are around 100000000.
	firstMessageID = 100000001
	// firstRESTJobID is where REST job ids (check run ids) start: 11-digit numbers as on
	// github.com, far from runnerRequestIds and run ids so that a client mixing them up fails.
	firstRESTJobID = 40000000001
)

// Options configures a Simulator. The zero value is usable.
type Options struct {
	// Listen is the address to serve on; default "127.0.0.1:0". Only loopback addresses are
	// allowed: the simulator has no real authentication of its control API.
	Listen string
	// TLS serves HTTPS, as GitHub does, with a serving certificate of a CA the simulator makes
	// at Start (CACertPEM); URL() is then https://. Default plain HTTP.
	TLS bool
	// SeparateHosts serves the Actions Service (tenant URLs) on ServiceListen and the broker
	// (messageQueueUrl: get and delete message) on BrokerListen, each answering only its own
	// routes, as GitHub serves them from hosts of their own, so that a client sending a call to
	// the wrong host fails. REST and the control API stay on Listen. Default one address.
	SeparateHosts bool
	// ServiceListen is the Actions Service's address with SeparateHosts; default
	// DefaultServiceListen ("127.0.0.2:0"). Loopback only.
	ServiceListen string
	// BrokerListen is the broker's address with SeparateHosts; default DefaultBrokerListen
	// ("127.0.0.3:0"). Loopback only.
	BrokerListen string
	// CA signs the serving certificate with TLS; default a CA made at Start. Simulators that
	// share one CA are trusted together (a test suite starting several, one server trusting
	// them all).
	CA *CA
	// PATs are accepted classic personal access tokens with every scope (FullScopes); default
	// []string{DefaultPAT} when Tokens is empty too.
	PATs []string
	// Apps are the accepted GitHub Apps. The simulator verifies App JWTs (RS256) with the
	// public half of each App's key.
	Apps []App
	// LongPollHold is how long an empty long poll is held before 202 Accepted; default 50s.
	// It is wall-clock time (it paces the transport), also when Clock is fake.
	LongPollHold time.Duration
	// AdminTokenTTL is the lifetime of the admin JWT from runner-registration; default 10m.
	AdminTokenTTL time.Duration
	// QueueTokenTTL is the lifetime of a message-queue token; default 50m.
	QueueTokenTTL time.Duration
	// AssignTimeout: an assigned job that no runner starts within this is canceled
	// (JobCompleted "canceled") and queued again, at most MaxRequeues times; default 5m.
	AssignTimeout time.Duration
	// ReofferAfter: a job still available (not acquired by any scale set) this long after it
	// was last offered is offered again (JobAvailable) to every matching scale set with a
	// session, as the service does when a listener lost a message. Default 1m; negative
	// disables.
	ReofferAfter time.Duration
	// RESTRateLimit is GitHub's REST budget per credential and hour; default 5000. Answers
	// 304 Not Modified cost nothing.
	RESTRateLimit int
	// SessionIdleTimeout: a message session none of whose calls (create, refresh, poll,
	// acknowledge, acquire) came for this long ends, as the service ends the session of a
	// listener that died without deleting it: a new session of its scale set is no longer a
	// 409, and the old id is unknown (refresh 404, delete 400, queue calls 401). A held long
	// poll keeps it alive. Default DefaultSessionIdleTimeout; negative: sessions never expire.
	SessionIdleTimeout time.Duration
	// MinRunnerVersion is the oldest runner version that may connect (ConnectRunnerVersion);
	// older ones are refused as GitHub refuses them. Default DefaultMinRunnerVersion
	// (2.329.0, enforced by GitHub since 2026-09-25); "0.0.0" lets every version in.
	MinRunnerVersion string
	// RunnerLostTimeout: a running job whose runner goes away without completing it
	// (DisconnectRunner: its process was killed, its pod deleted or evicted, its node lost) stays
	// in progress this long, then fails (result "failed", conclusion "failure", JobCompleted to
	// its scale set), as GitHub fails a job whose runner stopped renewing its job lock. A runner
	// that connects again before then keeps its job. Default DefaultRunnerLostTimeout; negative:
	// the job fails as soon as its runner goes away.
	RunnerLostTimeout time.Duration
	// ResponseBOM prefixes every Actions Service JSON answer with a UTF-8 byte order mark,
	// as the service sometimes does.
	ResponseBOM bool
	// Clock drives token expiry, AssignTimeout, ReofferAfter, SessionIdleTimeout,
	// RunnerLostTimeout and every timestamp; default the real clock.
	Clock clock.Clock
	// Seed seeds fault probabilities: the same seed and the same request sequence give the
	// same faults.
	Seed int64

	// Accounts are the organizations ("acme"), repositories ("acme/app", which declares
	// "acme" too) and enterprises ("enterprises/big") that exist. REST calls and
	// runner-registration for any other account answer 404 Not Found, as GitHub does.
	// ConfigURL, DeclareAccount and POST /_sim/accounts declare more.
	Accounts []string
	// AnyAccount makes every account exist, undeclared ones too: for a simulator people type
	// config URLs at (cmd/github-simulator's default).
	AnyAccount bool
	// Tokens are personal access tokens with their classic scopes or fine-grained
	// permissions, accepted besides PATs (whose tokens have FullScopes). DefaultPAT is
	// accepted only when both PATs and Tokens are empty.
	Tokens []Token
	// RESTSecondaryLimit is GitHub's secondary rate limit: REST requests per credential and
	// minute, beyond which a request answers 403 with Retry-After. 0: none.
	RESTSecondaryLimit int
	// JITConfigRate is how many generatejitconfig calls a tenant (one registration scope) may
	// make a minute, beyond which the service answers 429 with Retry-After. 0: no limit.
	JITConfigRate int
}

// App is a GitHub App the simulator accepts.
type App struct {
	AppID int64
	// ClientID, if set, is accepted as the JWT issuer too (GitHub accepts either).
	ClientID string
	// InstallationID is an installation on every account, with every repository and the
	// permissions ARC needs (DefaultInstallationPermissions), as before installations were
	// named. Installations lists named ones.
	InstallationID int64
	// Installations are the App's installations on organizations.
	Installations []Installation
	// PrivateKeyPEM is the App's RSA private key (PKCS#1 or PKCS#8 PEM); only its public
	// half is used.
	PrivateKeyPEM []byte
}

// Simulator is a running simulator of GitHub's REST API and the Actions Service. All its
// methods are safe for concurrent use.
type Simulator struct {
	opts  Options
	clock clock.Clock
	url   string     // the REST listener's URL
	tls   *serverTLS // nil without Options.TLS
	// addrs is the address serving each role (all the REST listener's without SeparateHosts);
	// loopback and named are the origins URLs handed out name (originsFor).
	addrs     [3]string
	loopback  origins
	named     origins
	listeners []*listener // REST first; fixed at Start (outage.go)
	netMu     sync.Mutex  // guards the listeners' ln and conns
	done      chan struct{}
	closing   sync.Once
	bg        sync.WaitGroup
	wake      chan struct{}
	tokenKey  []byte
	apps      map[string]*appKey // by JWT issuer; immutable after Start

	mu    sync.Mutex
	state *state
}

type appKey struct {
	app App
	pub *rsa.PublicKey
}

// Start validates o, listens and serves until Close.
func Start(o Options) (*Simulator, error) {
	o = withDefaults(o)
	addrs, err := listenAddrs(o)
	if err != nil {
		return nil, err
	}
	if _, err := parseRunnerVersion(o.MinRunnerVersion); err != nil {
		return nil, fmt.Errorf("simulator: MinRunnerVersion: %w", err)
	}
	apps, err := parseApps(o.Apps)
	if err != nil {
		return nil, err
	}
	if err := checkAccess(o); err != nil {
		return nil, err
	}
	s := &Simulator{
		opts:     o,
		clock:    o.Clock,
		done:     make(chan struct{}),
		wake:     make(chan struct{}, 1),
		tokenKey: make([]byte, 32),
		apps:     apps,
	}
	if _, err := rand.Read(s.tokenKey); err != nil {
		return nil, err
	}
	lns, err := listenAll(addrs)
	if err != nil {
		return nil, err
	}
	if err := s.prepareServing(lns); err != nil {
		for _, ln := range lns {
			_ = ln.Close()
		}
		return nil, err
	}
	// Tokens, JIT configs and messages made without a request name the loopback service.
	s.state = newState(o, s.loopback.service, s.kick)
	for i, ln := range lns {
		s.listeners = append(s.listeners, s.newListener(role(i), ln))
	}
	for i, l := range s.listeners {
		s.serveOn(l, lns[i])
	}
	s.bg.Go(s.timekeeper)
	klog.V(2).InfoS("GitHub simulator listening", "url", s.url, "hosts", s.Hosts(), "tls", s.tls != nil)
	return s, nil
}

// parseApps indexes the Apps by JWT issuer: App ID and, if set, Client ID.
func parseApps(list []App) (map[string]*appKey, error) {
	apps := map[string]*appKey{}
	for _, a := range list {
		key, err := jwt.ParseRSAPrivateKeyFromPEM(a.PrivateKeyPEM)
		if err != nil {
			return nil, fmt.Errorf("simulator: App %d: parsing private key: %w", a.AppID, err)
		}
		k := &appKey{app: a, pub: &key.PublicKey}
		apps[strconv.FormatInt(a.AppID, 10)] = k
		if a.ClientID != "" {
			apps[a.ClientID] = k
		}
	}
	return apps, nil
}

// listenAll listens on every address, closing those it opened when one fails.
func listenAll(addrs []string) ([]net.Listener, error) {
	var lns []net.Listener
	for _, a := range addrs {
		ln, err := net.Listen("tcp", a)
		if err != nil {
			for _, l := range lns {
				_ = l.Close()
			}
			return nil, fmt.Errorf("simulator: %w", err)
		}
		lns = append(lns, ln)
	}
	return lns, nil
}

// prepareServing makes the TLS certificate for the addresses listened on and computes the
// origins of every role. lns are indexed by role; without SeparateHosts the one listener
// serves every role.
func (s *Simulator) prepareServing(lns []net.Listener) error {
	scheme := "http"
	if s.opts.TLS {
		var ips []net.IP
		for _, ln := range lns {
			ips = append(ips, ln.Addr().(*net.TCPAddr).IP)
		}
		t, err := newServerTLS(ips, s.opts.CA)
		if err != nil {
			return err
		}
		s.tls, scheme = t, "https"
	}
	for r := range s.addrs {
		s.addrs[r] = lns[min(r, len(lns)-1)].Addr().String()
	}
	s.loopback, s.named = originsAt(scheme, s.addrs), namedOrigins(scheme)
	s.url = s.loopback.rest
	return nil
}

func withDefaults(o Options) Options {
	if o.Listen == "" {
		o.Listen = "127.0.0.1:0"
	}
	if o.ServiceListen == "" {
		o.ServiceListen = DefaultServiceListen
	}
	if o.BrokerListen == "" {
		o.BrokerListen = DefaultBrokerListen
	}
	if len(o.PATs) == 0 && len(o.Tokens) == 0 {
		o.PATs = []string{DefaultPAT}
	}
	if o.LongPollHold <= 0 {
		o.LongPollHold = DefaultLongPollHold
	}
	if o.AdminTokenTTL <= 0 {
		o.AdminTokenTTL = DefaultAdminTokenTTL
	}
	if o.QueueTokenTTL <= 0 {
		o.QueueTokenTTL = DefaultQueueTokenTTL
	}
	if o.AssignTimeout <= 0 {
		o.AssignTimeout = DefaultAssignTimeout
	}
	if o.ReofferAfter == 0 {
		o.ReofferAfter = DefaultReofferAfter
	}
	o.SessionIdleTimeout = sessionIdleOrDefault(o.SessionIdleTimeout)
	if o.RunnerLostTimeout == 0 {
		o.RunnerLostTimeout = DefaultRunnerLostTimeout
	}
	if o.MinRunnerVersion == "" {
		o.MinRunnerVersion = DefaultMinRunnerVersion
	}
	if o.RESTRateLimit <= 0 {
		o.RESTRateLimit = DefaultRESTRateLimit
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	return o
}

// URL is the simulator's base URL, "http://127.0.0.1:PORT" ("https://" with TLS): GitHub REST
// and the control API.
func (s *Simulator) URL() string { return s.url }

// ConfigURL is the githubConfigUrl for path: "acme" (organization), "acme/app" (repository)
// or "enterprises/big" (enterprise). It declares the account: a caller asking for a config
// URL means it to exist (a test of a typo builds its URL by hand).
func (s *Simulator) ConfigURL(path string) string {
	s.declareForConfigURL(path)
	return s.url + "/" + path
}

// Close stops serving: held long polls and slow answers end at once. It is idempotent.
func (s *Simulator) Close() {
	s.closing.Do(func() {
		close(s.done)
		s.shutdown()
		s.bg.Wait()
	})
}

// kick wakes the timekeeper after a deadline was added.
func (s *Simulator) kick() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// timekeeper cancels assignments no runner took in time, re-offers lost jobs, fails the jobs
// of runners that went away and ends idle message sessions. It sleeps
// on the injected clock until the next deadline, so a fake clock's Step drives it.
func (s *Simulator) timekeeper() {
	for {
		s.mu.Lock()
		next := s.state.sweepLocked(s.clock.Now())
		s.mu.Unlock()
		var fire <-chan time.Time
		var timer clock.Timer
		if !next.IsZero() {
			d := next.Sub(s.clock.Now())
			if d <= 0 {
				continue
			}
			timer = s.clock.NewTimer(d)
			fire = timer.C()
		}
		select {
		case <-fire:
		case <-s.wake:
		case <-s.done:
			if timer != nil {
				timer.Stop()
			}
			return
		}
		if timer != nil {
			timer.Stop()
		}
	}
}

// newRand is the fault RNG: seeded, so that faults repeat.
func newRand(seed int64) *mathrand.Rand {
	return mathrand.New(mathrand.NewPCG(uint64(seed), uint64(seed)^0x9e3779b97f4a7c15))
}
