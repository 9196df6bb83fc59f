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
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"actions.dev/runnerset-apiserver/pkg/github/actions"
	"actions.dev/runnerset-apiserver/pkg/github/simulator/simproxy"
)

// clientFor is an HTTP client of sim: trusting its CA with TLS, through proxy if not "".
func clientFor(t *testing.T, sim *Simulator, proxy string) *http.Client {
	t.Helper()
	tr := &http.Transport{ForceAttemptHTTP2: true, TLSHandshakeTimeout: 10 * time.Second}
	if pem := sim.CACertPEM(); pem != nil {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			t.Fatal("CACertPEM holds no certificate")
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	if proxy != "" {
		u, err := url.Parse(proxy)
		if err != nil {
			t.Fatal(err)
		}
		tr.Proxy = http.ProxyURL(u)
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// wire sends one request with hc; body is JSON-encoded unless nil.
func wire(t *testing.T, hc *http.Client, method, u, auth string, body any, headers ...string) reply {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: b}
}

// listenerFlow is a scale set listener's calls, each sent where the simulator said: REST at
// rest, the Actions Service at the tenant URL, the queue at messageQueueUrl.
type listenerFlow struct {
	t      *testing.T
	hc     *http.Client
	rest   string // REST base: "<sim>/api/v3" or "https://api.github.com"
	tenant string
	admin  string
	ss     actions.RunnerScaleSet
	sess   actions.Session
}

// tokenChain runs the PAT token chain for acme/app and returns the tenant URL and admin token.
func tokenChain(t *testing.T, hc *http.Client, rest, configURL string) (string, string) {
	t.Helper()
	r := wire(t, hc, "POST", rest+"/repos/acme/app/actions/runners/registration-token", "Bearer "+DefaultPAT, nil)
	wantStatus(t, r, http.StatusCreated)
	var reg struct{ Token string }
	r.decode(t, &reg)
	r = wire(t, hc, "POST", rest+"/actions/runner-registration", "RemoteAuth "+reg.Token,
		map[string]string{"url": configURL, "runner_event": "register"})
	wantStatus(t, r, http.StatusCreated)
	var out struct{ URL, Token string }
	r.decode(t, &out)
	return out.URL, out.Token
}

// startFlow runs the token chain for acme/app, creates scale set "linux" and a session.
func startFlow(t *testing.T, hc *http.Client, rest, configURL string) *listenerFlow {
	t.Helper()
	f := &listenerFlow{t: t, hc: hc, rest: rest}
	f.tenant, f.admin = tokenChain(t, hc, rest, configURL)
	r := f.call("POST", "_apis/runtime/runnerscalesets", actions.RunnerScaleSet{Name: "linux", RunnerGroupID: 1})
	wantStatus(t, r, http.StatusOK)
	r.decode(t, &f.ss)
	r = f.call("POST", "_apis/runtime/runnerscalesets/"+strconv.Itoa(f.ss.ID)+"/sessions", map[string]string{"ownerName": "hosts-test"})
	wantStatus(t, r, http.StatusOK)
	r.decode(t, &f.sess)
	return f
}

// call is an admin call relative to the tenant URL.
func (f *listenerFlow) call(method, path string, body any) reply {
	f.t.Helper()
	return wire(f.t, f.hc, method, f.tenant+path+"?"+api, "Bearer "+f.admin, body)
}

func (f *listenerFlow) poll() reply {
	f.t.Helper()
	return wire(f.t, f.hc, "GET", f.sess.MessageQueueURL, "Bearer "+f.sess.MessageQueueAccessToken, nil,
		"X-ScaleSetMaxCapacity", "10", "Accept", "application/json; api-version="+actions.APIVersion)
}

// runJob queues a job, receives it, acknowledges it and acquires it, each at its own host.
func (f *listenerFlow) runJob(sim *Simulator) {
	f.t.Helper()
	if r := f.poll(); r.status != http.StatusAccepted {
		f.t.Fatalf("empty poll: status %d, want 202; %s", r.status, r.body)
	}
	id := sim.QueueJob(Job{Labels: []string{"linux"}, Owner: "acme", Repository: "app"})
	r := f.poll()
	wantStatus(f.t, r, http.StatusOK)
	var m actions.Message
	r.decode(f.t, &m)
	base, query, _ := strings.Cut(f.sess.MessageQueueURL, "?")
	r = wire(f.t, f.hc, "DELETE", base+"/"+strconv.FormatInt(m.MessageID, 10)+"?"+query, "Bearer "+f.sess.MessageQueueAccessToken, nil)
	wantStatus(f.t, r, http.StatusNoContent)
	r = wire(f.t, f.hc, "POST", f.tenant+"_apis/runtime/runnerscalesets/"+strconv.Itoa(f.ss.ID)+"/acquirejobs?"+api,
		"Bearer "+f.sess.MessageQueueAccessToken, []int64{id})
	wantStatus(f.t, r, http.StatusOK)
}

// jitServerURL generates a JIT config and returns the serverUrl in its .runner file.
func (f *listenerFlow) jitServerURL(name string) string {
	f.t.Helper()
	r := f.call("POST", "_apis/runtime/runnerscalesets/"+strconv.Itoa(f.ss.ID)+"/generatejitconfig", actions.JitRunnerSetting{Name: name})
	wantStatus(f.t, r, http.StatusOK)
	var jc actions.JitConfig
	r.decode(f.t, &jc)
	var files map[string]string
	var runner struct {
		ServerURL string `json:"serverUrl"`
	}
	outer, err := base64.StdEncoding.DecodeString(jc.EncodedJITConfig)
	if err == nil {
		err = json.Unmarshal(outer, &files)
	}
	inner, err2 := base64.StdEncoding.DecodeString(files[".runner"])
	if err := errors.Join(err, err2, json.Unmarshal(inner, &runner)); err != nil {
		f.t.Fatalf("decoding the JIT config: %v", err)
	}
	return runner.ServerURL
}

func origin(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Scheme + "://" + u.Host
}

// TestServingForms: with and without TLS and separate hosts, a client trusting the CA runs the
// token chain, a session and a job, each call at the host the simulator named; with separate
// hosts a call at another host is a 404.
func TestServingForms(t *testing.T) {
	for _, tc := range []struct {
		name   string
		o      Options
		scheme string
	}{
		{"plain, one host (zero Options)", Options{}, "http"},
		{"TLS, one host", Options{TLS: true}, "https"},
		{"plain, separate hosts", Options{SeparateHosts: true}, "http"},
		{"TLS, separate hosts", Options{TLS: true, SeparateHosts: true}, "https"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.o.LongPollHold = 50 * time.Millisecond
			sim := newSim(t, tc.o)
			if got := origin(t, sim.URL()); !strings.HasPrefix(got, tc.scheme+"://") {
				t.Fatalf("URL %s, want %s", sim.URL(), tc.scheme)
			}
			if (sim.CACertPEM() != nil) != tc.o.TLS {
				t.Errorf("CACertPEM set: %t, TLS: %t", sim.CACertPEM() != nil, tc.o.TLS)
			}
			hosts := sim.Hosts()
			want := map[bool]int{false: 1, true: 3}[tc.o.SeparateHosts]
			if distinct := slices.Compact(slices.Sorted(slices.Values(hosts))); len(hosts) != want || len(distinct) != want {
				t.Fatalf("Hosts() = %v, want %d distinct", hosts, want)
			}
			f := startFlow(t, clientFor(t, sim, ""), sim.URL()+"/api/v3", sim.ConfigURL("acme/app"))
			wantOrigins := []string{tc.scheme + "://" + hosts[0]}
			if tc.o.SeparateHosts {
				wantOrigins = []string{tc.scheme + "://" + hosts[1], tc.scheme + "://" + hosts[2]}
			} else {
				wantOrigins = append(wantOrigins, wantOrigins[0])
			}
			if got := origin(t, f.tenant); got != wantOrigins[0] {
				t.Errorf("tenant URL %s, want at %s", f.tenant, wantOrigins[0])
			}
			if got := origin(t, f.sess.MessageQueueURL); got != wantOrigins[1] {
				t.Errorf("messageQueueUrl %s, want at %s", f.sess.MessageQueueURL, wantOrigins[1])
			}
			if got := f.jitServerURL("linux-1"); got != f.tenant {
				t.Errorf("JIT config serverUrl %s, want the tenant URL %s", got, f.tenant)
			}
			f.runJob(sim)
			if tc.o.SeparateHosts {
				checkWrongHosts(t, sim, f)
			}
		})
	}
}

// checkWrongHosts: each host answers only its own routes.
func checkWrongHosts(t *testing.T, sim *Simulator, f *listenerFlow) {
	t.Helper()
	rest, tenant, queue := origin(t, sim.URL()), origin(t, f.tenant), origin(t, f.sess.MessageQueueURL)
	if rest == tenant || tenant == queue || rest == queue {
		t.Fatalf("hosts not separate: REST %s, tenant %s, queue %s", rest, tenant, queue)
	}
	tenantPath := strings.TrimPrefix(f.tenant, tenant)
	queuePath := strings.TrimPrefix(f.sess.MessageQueueURL, queue)
	scaleSet := tenantPath + "_apis/runtime/runnerscalesets/" + strconv.Itoa(f.ss.ID)
	queueAuth := "Bearer " + f.sess.MessageQueueAccessToken
	for _, c := range []struct{ name, method, url, auth string }{
		{"tenant path on the REST host", "GET", rest + scaleSet + "?" + api, "Bearer " + f.admin},
		{"tenant path on the broker", "GET", queue + scaleSet + "?" + api, "Bearer " + f.admin},
		{"long poll on the REST host", "GET", rest + queuePath, queueAuth},
		{"long poll on the Actions Service", "GET", tenant + queuePath, queueAuth},
		{"acquirejobs on the broker", "POST", queue + scaleSet + "/acquirejobs?" + api, queueAuth},
		{"registration token on the Actions Service", "POST", tenant + "/api/v3/repos/acme/app/actions/runners/registration-token", "Bearer " + DefaultPAT},
		{"runner-registration on the broker", "POST", queue + "/actions/runner-registration", "RemoteAuth x"},
		{"control API on the Actions Service", "GET", tenant + "/_sim/counters", ""},
		{"control API on the broker", "GET", queue + "/_sim/counters", ""},
	} {
		if r := wire(t, f.hc, c.method, c.url, c.auth, nil); r.status != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404; %s", c.name, r.status, r.body)
		}
	}
	if r := wire(t, f.hc, "GET", rest+"/_sim/counters", "", nil); r.status != http.StatusOK {
		t.Errorf("control API on the REST host: status %d", r.status)
	}
}

// TestUntrustedClientFailsPromptly: a client that does not trust the simulator's CA fails the
// handshake at once with a certificate error, on every host.
func TestUntrustedClientFailsPromptly(t *testing.T) {
	sim := newSim(t, Options{TLS: true, SeparateHosts: true})
	hc := &http.Client{Transport: &http.Transport{TLSHandshakeTimeout: 10 * time.Second}}
	for _, h := range sim.Hosts() {
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		req, _ := http.NewRequestWithContext(ctx, "GET", "https://"+h+"/_sim/counters", nil)
		_, err := hc.Do(req)
		var unknown x509.UnknownAuthorityError
		var verify *tls.CertificateVerificationError
		if !errors.As(err, &unknown) && !errors.As(err, &verify) {
			t.Errorf("%s: %v, want an x509 certificate error", h, err)
		}
		if ctx.Err() != nil {
			t.Errorf("%s: the request ran into its deadline instead of failing", h)
		}
		cancel()
	}
}

// TestCertificateCoversEveryName: the serving certificate verifies, against the CA alone, for
// every listener address, localhost, and GitHub's names; the CA is the one described.
func TestCertificateCoversEveryName(t *testing.T) {
	sim := newSim(t, Options{TLS: true, SeparateHosts: true})
	block := sim.CACertPEM()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(block) {
		t.Fatal("no CA certificate")
	}
	leafFor := func(addr, serverName string) error {
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr,
			&tls.Config{RootCAs: pool, ServerName: serverName, MinVersion: tls.VersionTLS12})
		if err != nil {
			return err
		}
		ca := c.ConnectionState().VerifiedChains[0][1]
		_ = c.Close()
		if ca.Subject.CommonName != CACommonName || !ca.IsCA || ca.NotAfter.Before(time.Now().Add(360*24*time.Hour)) {
			return errors.New("unexpected CA " + ca.Subject.String())
		}
		return nil
	}
	names := []string{"localhost", "github.com", "api.github.com", "pipelines.actions.githubusercontent.com",
		"broker.actions.githubusercontent.com", "pipelinesghubeus22.actions.githubusercontent.com", "127.0.0.1", "127.0.0.2", "127.0.0.3", "::1"}
	for _, h := range sim.Hosts() {
		for _, name := range names {
			if err := leafFor(h, name); err != nil {
				t.Errorf("%s as %s: %v", h, name, err)
			}
		}
		if err := leafFor(h, "example.com"); err == nil {
			t.Errorf("%s verified as example.com", h)
		}
	}
}

// TestOutageCoversEveryHost: an outage takes every listener off the network, and its end
// brings every one back with the session intact.
func TestOutageCoversEveryHost(t *testing.T) {
	sim := newSim(t, Options{TLS: true, SeparateHosts: true, LongPollHold: 50 * time.Millisecond})
	f := startFlow(t, clientFor(t, sim, ""), sim.URL()+"/api/v3", sim.ConfigURL("acme/app"))
	sim.StartOutage()
	for _, h := range sim.Hosts() {
		c, err := net.DialTimeout("tcp", h, 10*time.Second)
		if err == nil {
			_ = c.Close()
		}
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("%s during the outage: %v, want connection refused", h, err)
		}
	}
	if err := sim.EndOutage(); err != nil {
		t.Fatal(err)
	}
	if sim.InOutage() {
		t.Error("InOutage after EndOutage")
	}
	f.hc.Transport.(*http.Transport).CloseIdleConnections()
	f.runJob(sim)
}

// TestListenAddressesMustBeLoopback: every address the simulator would listen on is checked.
func TestListenAddressesMustBeLoopback(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    Options
		ok   bool
	}{
		{"REST elsewhere", Options{Listen: "0.0.0.0:0"}, false},
		{"service elsewhere", Options{SeparateHosts: true, ServiceListen: "10.1.2.3:0"}, false},
		{"broker on every interface", Options{SeparateHosts: true, BrokerListen: ":0"}, false},
		{"unused service address", Options{ServiceListen: "10.1.2.3:0"}, true},
		{"localhost", Options{SeparateHosts: true, ServiceListen: "localhost:0", BrokerListen: "127.0.0.9:0"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sim, err := Start(tc.o)
			if err == nil {
				sim.Close()
			}
			if (err == nil) != tc.ok {
				t.Errorf("Start: %v, want ok %t", err, tc.ok)
			}
		})
	}
}

// TestGitHubFormThroughProxy: a client that knows only github.com's names reaches the
// simulator through simproxy, and every URL handed to it names GitHub's hosts; a client that
// came by address gets addresses for the same tenant.
func TestGitHubFormThroughProxy(t *testing.T) {
	sim := newSim(t, Options{TLS: true, SeparateHosts: true, LongPollHold: 50 * time.Millisecond})
	proxy, err := simproxy.Start(simproxy.Options{Resolve: sim.ResolveMap()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Close)
	sim.ConfigURL("acme/app") // declares the repository
	f := startFlow(t, clientFor(t, sim, proxy.URL()), "https://api.github.com", "https://github.com/acme/app")
	for what, got := range map[string]string{
		"tenant URL": f.tenant, "runnerJitConfigUrl": f.ss.RunnerJitConfigURL,
		"messageQueueUrl": f.sess.MessageQueueURL, "JIT config serverUrl": f.jitServerURL("linux-1"),
	} {
		want := "https://" + HostPipelines + "/"
		if what == "messageQueueUrl" {
			want = "https://" + HostBroker + "/"
		}
		if !strings.HasPrefix(got, want) {
			t.Errorf("%s %s, want under %s", what, got, want)
		}
	}
	f.runJob(sim)
	seen := map[string]bool{}
	for _, r := range proxy.Requests() {
		seen[r] = true
	}
	for _, want := range []string{"CONNECT api.github.com:443", "CONNECT " + HostPipelines + ":443", "CONNECT " + HostBroker + ":443"} {
		if !seen[want] {
			t.Errorf("proxy requests %v lack %q", proxy.Requests(), want)
		}
	}
	if len(seen) != 3 {
		t.Errorf("proxy requests %v: want only the three names", proxy.Requests())
	}

	direct, _ := tokenChain(t, clientFor(t, sim, ""), sim.URL()+"/api/v3", sim.ConfigURL("acme/app"))
	if direct != strings.Replace(f.tenant, "https://"+HostPipelines, "https://"+sim.Hosts()[1], 1) {
		t.Errorf("tenant URL by address %s, by name %s: want the same tenant at the service listener", direct, f.tenant)
	}
}

// TestResolveMap: GitHub's names map to the listener serving them, on the scheme's port.
func TestResolveMap(t *testing.T) {
	for _, tc := range []struct {
		o    Options
		port string
	}{{Options{TLS: true, SeparateHosts: true}, "443"}, {Options{SeparateHosts: true}, "80"}, {Options{TLS: true}, "443"}} {
		sim := newSim(t, tc.o)
		h := sim.Hosts()
		if len(h) == 1 {
			h = []string{h[0], h[0], h[0]}
		}
		want := map[string]string{"github.com:" + tc.port: h[0], "www.github.com:" + tc.port: h[0], "api.github.com:" + tc.port: h[0],
			HostPipelines + ":" + tc.port: h[1], HostBroker + ":" + tc.port: h[2]}
		got := sim.ResolveMap()
		if len(got) != len(want) {
			t.Errorf("%+v: ResolveMap %v, want %v", tc.o, got, want)
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%+v: ResolveMap[%s] = %q, want %q", tc.o, k, got[k], v)
			}
		}
	}
}
