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

package simproxy_test

import (
	"crypto/x509"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"actions.dev/runnerset-apiserver/pkg/github/actions"
	"actions.dev/runnerset-apiserver/pkg/github/auth"
	"actions.dev/runnerset-apiserver/pkg/github/simulator"
	"actions.dev/runnerset-apiserver/pkg/github/simulator/simproxy"
	"actions.dev/runnerset-apiserver/pkg/github/simulator/simtest"
)

// TestGitHubFormEndToEnd: the real token chain and Actions client, configured as for
// github.com (https://github.com/acme/app, an authenticating proxy, the simulator's CA), run a
// job against a simulator with TLS and separate hosts. Every call goes through the proxy by
// GitHub's names, each to the host it belongs to.
func TestGitHubFormEndToEnd(t *testing.T) {
	sim := simtest.New(t, simulator.Options{TLS: true, SeparateHosts: true, LongPollHold: 50 * time.Millisecond})
	sim.ConfigURL("acme/app") // declares the repository
	proxy, err := simproxy.Start(simproxy.Options{Username: "runner", Password: "set", Resolve: sim.ResolveMap()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Close)
	src, c := githubFormClient(t, sim, proxy)
	ctx := t.Context()
	tok, err := src.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok.TenantURL.String(), "https://"+simulator.HostPipelines+"/") {
		t.Errorf("tenant URL %s, want on %s", tok.TenantURL, simulator.HostPipelines)
	}
	ss, err := c.CreateScaleSet(ctx, &actions.RunnerScaleSet{Name: "linux", RunnerGroupID: 1})
	if err != nil {
		t.Fatal(err)
	}
	sess, err := actions.OpenSession(ctx, c, ss.ID, "e2e")
	if err != nil {
		t.Fatal(err)
	}
	if u := sess.Session().MessageQueueURL; !strings.HasPrefix(u, "https://"+simulator.HostBroker+"/") {
		t.Errorf("messageQueueUrl %s, want on %s", u, simulator.HostBroker)
	}
	if m, err := sess.GetMessage(ctx, 0, 10); err != nil || m != nil {
		t.Fatalf("empty poll: %+v, %v", m, err)
	}
	id := sim.QueueJob(simulator.Job{Labels: []string{"linux"}, Owner: "acme", Repository: "app"})
	m, err := sess.GetMessage(ctx, 0, 10)
	if err != nil || m == nil {
		t.Fatalf("poll: %+v, %v", m, err)
	}
	if err := sess.DeleteMessage(ctx, m.MessageID); err != nil {
		t.Fatal(err)
	}
	if got, err := sess.AcquireJobs(ctx, []int64{id}); err != nil || !slices.Equal(got, []int64{id}) {
		t.Fatalf("acquired %v, %v; want [%d]", got, err, id)
	}
	if err := sess.Close(ctx); err != nil {
		t.Fatal(err)
	}
	checkProxied(t, proxy.Requests())
}

// githubFormClient builds the token chain and client for https://github.com/acme/app, through
// proxy (as runner:set) and trusting sim's CA, as the scaler would for a RunnerSet.
func githubFormClient(t *testing.T, sim *simulator.Simulator, proxy *simproxy.Proxy) (*auth.Source, *actions.Client) {
	t.Helper()
	proxyURL, err := url.Parse(proxy.URL())
	if err != nil {
		t.Fatal(err)
	}
	proxyURL.User = url.UserPassword("runner", "set")
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(sim.CACertPEM())
	creds, err := auth.FromSecretData(map[string][]byte{auth.KeyGitHubToken: []byte(simulator.DefaultPAT)})
	if err != nil {
		t.Fatal(err)
	}
	src, err := auth.NewTokenSource(auth.Config{ConfigURL: "https://github.com/acme/app", Credentials: creds,
		Proxy: http.ProxyURL(proxyURL), RootCAs: roots})
	if err != nil {
		t.Fatal(err)
	}
	c, err := actions.NewClient(actions.Config{Tokens: src, Proxy: http.ProxyURL(proxyURL), RootCAs: roots})
	if err != nil {
		t.Fatal(err)
	}
	return src, c
}

// checkProxied: every request was a CONNECT by name, and each of the three hosts was reached.
func checkProxied(t *testing.T, requests []string) {
	t.Helper()
	want := []string{"CONNECT api.github.com:443", "CONNECT " + simulator.HostPipelines + ":443", "CONNECT " + simulator.HostBroker + ":443"}
	for _, r := range requests {
		if !slices.Contains(want, r) {
			t.Errorf("proxy saw %q: want only CONNECTs to %v", r, want)
		}
	}
	for _, w := range want {
		if !slices.Contains(requests, w) {
			t.Errorf("proxy requests %q lack %q", requests, w)
		}
	}
}
