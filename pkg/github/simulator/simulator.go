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
	"context"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	mathrand "math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"actions.dev/runnerset-apiserver/pkg/github/actions"
)

// DefaultPAT is the personal access token accepted when Options.PATs is empty.
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
	// MaxRequeues is how often a job that no runner started is canceled and queued again
	// before it is canceled for good.
	MaxRequeues = 3
	// firstMessageID is where message ids start; the service's are around 100000000.
	firstMessageID = 100000001
)

// Options configures a Simulator. The zero value is usable.
type Options struct {
	// Listen is the address to serve on; default "127.0.0.1:0". Only loopback addresses are
	// allowed: the simulator has no real authentication of its control API.
	Listen string
	// PATs are the accepted personal access tokens; default []string{DefaultPAT}.
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
	// older ones are refused as GitHub refuses them. Default actions.MinRunnerVersion
	// (2.329.0, enforced by GitHub since 2026-09-25); "0.0.0" lets every version in.
	MinRunnerVersion string
	// ResponseBOM prefixes every Actions Service JSON answer with a UTF-8 byte order mark,
	// as the service sometimes does.
	ResponseBOM bool
	// Clock drives token expiry, AssignTimeout, ReofferAfter, SessionIdleTimeout and every
	// timestamp; default
	// the real clock.
	Clock clock.Clock
	// Seed seeds fault probabilities: the same seed and the same request sequence give the
	// same faults.
	Seed int64
}

// App is a GitHub App the simulator accepts.
type App struct {
	AppID int64
	// ClientID, if set, is accepted as the JWT issuer too (GitHub accepts either).
	ClientID       string
	InstallationID int64
	// PrivateKeyPEM is the App's RSA private key (PKCS#1 or PKCS#8 PEM); only its public
	// half is used.
	PrivateKeyPEM []byte
}

// Simulator is a running simulator of GitHub's REST API and the Actions Service. All its
// methods are safe for concurrent use.
type Simulator struct {
	opts     Options
	clock    clock.Clock
	url      string
	srv      *http.Server
	net      netState // the listener and open connections, for outages (outage.go)
	done     chan struct{}
	closing  sync.Once
	bg       sync.WaitGroup
	wake     chan struct{}
	tokenKey []byte
	apps     map[string]*appKey // by JWT issuer; immutable after Start

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
	if err := checkLoopback(o.Listen); err != nil {
		return nil, err
	}
	if _, err := actions.ParseRunnerVersion(o.MinRunnerVersion); err != nil {
		return nil, fmt.Errorf("simulator: MinRunnerVersion: %w", err)
	}
	apps := map[string]*appKey{}
	for _, a := range o.Apps {
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
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return nil, fmt.Errorf("simulator: %w", err)
	}
	s := &Simulator{
		opts:     o,
		clock:    o.Clock,
		url:      "http://" + ln.Addr().String(),
		done:     make(chan struct{}),
		wake:     make(chan struct{}, 1),
		tokenKey: make([]byte, 32),
		apps:     apps,
	}
	if _, err := rand.Read(s.tokenKey); err != nil {
		_ = ln.Close()
		return nil, err
	}
	s.state = newState(o, s.url, s.kick)
	s.srv = &http.Server{Handler: s.routes(), ReadHeaderTimeout: 10 * time.Second, ConnState: s.trackConn}
	s.serveOn(ln)
	s.bg.Go(s.timekeeper)
	klog.V(2).InfoS("GitHub simulator listening", "url", s.url)
	return s, nil
}

// New starts a simulator for a test and closes it when the test ends.
func New(t testing.TB, o Options) *Simulator {
	t.Helper()
	s, err := Start(o)
	if err != nil {
		t.Fatalf("starting the GitHub simulator: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

func withDefaults(o Options) Options {
	if o.Listen == "" {
		o.Listen = "127.0.0.1:0"
	}
	if len(o.PATs) == 0 {
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
	if o.MinRunnerVersion == "" {
		o.MinRunnerVersion = actions.MinRunnerVersion
	}
	if o.RESTRateLimit <= 0 {
		o.RESTRateLimit = DefaultRESTRateLimit
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	return o
}

// checkLoopback refuses any listen address that is not on the loopback interface.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("simulator: listen address %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("simulator: listen address %q is not a loopback address; the simulator only serves 127.0.0.1, ::1 or localhost", addr)
}

// URL is the simulator's base URL, "http://127.0.0.1:PORT".
func (s *Simulator) URL() string { return s.url }

// ConfigURL is the githubConfigUrl for path: "acme" (organization), "acme/app" (repository)
// or "enterprises/big" (enterprise).
func (s *Simulator) ConfigURL(path string) string { return s.url + "/" + path }

// Close stops serving: held long polls and slow answers end at once. It is idempotent.
func (s *Simulator) Close() {
	s.closing.Do(func() {
		close(s.done)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.srv.Shutdown(ctx); err != nil {
			_ = s.srv.Close()
		}
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

// timekeeper cancels assignments no runner took in time, re-offers lost jobs and ends idle
// message sessions. It sleeps
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
