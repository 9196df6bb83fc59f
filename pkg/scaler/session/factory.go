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

package session

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"golang.org/x/net/http/httpproxy"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/clock"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/configurl"
	"actions.dev/runnerset-apiserver/pkg/github/actions"
	"actions.dev/runnerset-apiserver/pkg/github/actions/httpretry"
	"actions.dev/runnerset-apiserver/pkg/github/auth"
	"actions.dev/runnerset-apiserver/pkg/github/ghrest"
	"actions.dev/runnerset-apiserver/pkg/github/ratelimit"
	"actions.dev/runnerset-apiserver/pkg/hostallow"
)

// SecretFactory builds Actions Service clients from the Secrets RunnerSets name. Clients are
// cached per RunnerSet and rebuilt when the Secret, the URL, the proxy or the CA change, so the
// admin token is shared by the listener, the reconciler and runner deletions.
type SecretFactory struct {
	KubeClient kubernetes.Interface
	UserAgent  string
	Clock      clock.Clock
	// Hosts are the only hosts the server dials for a RunnerSet: its config URL, its proxies and
	// whatever hosts GitHub sends it on to. It keeps tenants from pointing this server, and its
	// network position, at arbitrary hosts. Nil allows any.
	Hosts *hostallow.List
	// RateLimits shares what GitHub says of its rate limits between the clients of one
	// credential; nil means one registry of this factory's own.
	RateLimits *ratelimit.Registry

	mu    sync.Mutex
	cache map[string]cachedClient
}

type cachedClient struct {
	fingerprint string
	client      ScaleSetClient
}

var _ ClientFactory = &SecretFactory{}

// inputs are the objects a RunnerSet's client is built from.
type inputs struct {
	secret       *corev1.Secret
	proxySecrets []*corev1.Secret
	caPEM        []byte
}

// ForRunnerSet implements ClientFactory.
func (f *SecretFactory) ForRunnerSet(ctx context.Context, rs *v1alpha1.RunnerSet) (ScaleSetClient, error) {
	if err := f.checkHost(rs.Spec.GitHubConfigURL); err != nil {
		return nil, err
	}
	key := rs.Namespace + "/" + rs.Name
	in, err := f.read(ctx, rs)
	if apierrors.IsNotFound(err) && rs.DeletionTimestamp != nil {
		// Deleted together with its RunnerSet (kubectl delete -f, helm uninstall): the drain
		// still needs GitHub, with the credentials it last had.
		if c, ok := f.cached(key); ok {
			return c.client, nil
		}
	}
	if err != nil {
		return nil, err
	}
	fp := fingerprint(rs, in.secret, in.proxySecrets, in.caPEM)
	if c, ok := f.cached(key); ok && c.fingerprint == fp {
		return c.client, nil
	}
	c, err := f.build(rs, in)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cache == nil {
		f.cache = map[string]cachedClient{}
	}
	f.cache[key] = cachedClient{fingerprint: fp, client: c}
	return c, nil
}

func (f *SecretFactory) cached(key string) (cachedClient, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.cache[key]
	return c, ok
}

// read reads the RunnerSet's credentials Secret, its proxies' Secrets and its CA.
func (f *SecretFactory) read(ctx context.Context, rs *v1alpha1.RunnerSet) (inputs, error) {
	var in inputs
	secret, err := f.KubeClient.CoreV1().Secrets(rs.Namespace).Get(ctx, rs.Spec.GitHubConfigSecret, metav1.GetOptions{})
	if err != nil {
		return in, fmt.Errorf("reading Secret %s/%s: %w", rs.Namespace, rs.Spec.GitHubConfigSecret, err)
	}
	in.secret = secret
	if px := rs.Spec.Proxy; px != nil {
		for _, s := range []*v1alpha1.ProxyServerConfig{px.HTTP, px.HTTPS} {
			if s != nil && s.CredentialSecretRef != "" {
				ps, err := f.KubeClient.CoreV1().Secrets(rs.Namespace).Get(ctx, s.CredentialSecretRef, metav1.GetOptions{})
				if err != nil {
					return in, fmt.Errorf("reading proxy Secret %s/%s: %w", rs.Namespace, s.CredentialSecretRef, err)
				}
				in.proxySecrets = append(in.proxySecrets, ps)
			}
		}
	}
	if tls := rs.Spec.GitHubServerTLS; tls != nil && tls.CertificateFrom != nil && tls.CertificateFrom.ConfigMapKeyRef != nil {
		ref := tls.CertificateFrom.ConfigMapKeyRef
		cm, err := f.KubeClient.CoreV1().ConfigMaps(rs.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
		if err != nil {
			return in, fmt.Errorf("reading CA ConfigMap %s/%s: %w", rs.Namespace, ref.Name, err)
		}
		in.caPEM = []byte(cm.Data[ref.Key])
	}
	return in, nil
}

// build makes the client: credentials, proxy, CA, and the host check on every request.
func (f *SecretFactory) build(rs *v1alpha1.RunnerSet, in inputs) (*sessionClient, error) {
	creds, err := auth.FromSecretData(in.secret.Data)
	if err != nil {
		return nil, fmt.Errorf("Secret %s/%s: %w", rs.Namespace, rs.Spec.GitHubConfigSecret, err)
	}
	proxy, err := proxyFunc(rs.Spec.Proxy, in.proxySecrets)
	if err != nil {
		return nil, err
	}
	if proxy == nil {
		proxy = http.ProxyFromEnvironment // the server's own proxy, set by its operator
	} else {
		proxy = f.Hosts.Proxy(proxy) // a tenant's proxy is a host the server dials for her
	}
	var roots *x509.CertPool
	if len(in.caPEM) > 0 {
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(in.caPEM) {
			return nil, fmt.Errorf("githubServerTLS: no PEM certificate in ConfigMap key %s", rs.Spec.GitHubServerTLS.CertificateFrom.ConfigMapKeyRef.Key)
		}
	}
	cu, err := configurl.Parse(rs.Spec.GitHubConfigURL)
	if err != nil {
		return nil, err
	}
	// Every request, to whatever host GitHub names, passes the host check before it is sent, and
	// first the credential's rate-limit gate: the token chain, the Actions client and the runner
	// list share this transport, so no call of any of them reaches a GitHub that rate-limits the
	// credential, and each of them teaches the gate what GitHub answers.
	gate := f.rateLimits().Gate(credentialKey(creds), cu.APIBase())
	transport := gate.Transport(f.Hosts.Transport(httpretry.NewTransport(httpretry.TransportOptions{Proxy: proxy, RootCAs: roots})))
	tokens, err := auth.NewTokenSource(auth.Config{
		ConfigURL: rs.Spec.GitHubConfigURL, Credentials: creds, Transport: transport,
		UserAgent: f.UserAgent, Clock: f.Clock,
	})
	if err != nil {
		return nil, err
	}
	client, err := actions.NewClient(actions.Config{Tokens: tokens, Transport: transport, UserAgent: f.UserAgent, Clock: f.Clock})
	if err != nil {
		return nil, err
	}
	return &sessionClient{Client: client, lister: ghrest.NewForSource(tokens), Jobs: ghrest.NewJobs(tokens.GitHub()), configURL: cu, gate: gate}, nil
}

func (f *SecretFactory) rateLimits() *ratelimit.Registry {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.RateLimits == nil {
		f.RateLimits = &ratelimit.Registry{Clock: f.Clock}
	}
	return f.RateLimits
}

// credentialKey names a credential for the rate-limit gates without holding it: GitHub counts a
// token's calls, or an App installation's.
func credentialKey(c *auth.Credentials) string {
	h := sha256.New()
	if c.App != nil {
		fmt.Fprintf(h, "app\x00%s\x00%d", c.App.AppID, c.App.InstallationID)
	} else {
		fmt.Fprintf(h, "token\x00%s", c.Token)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func fingerprint(rs *v1alpha1.RunnerSet, secret *corev1.Secret, proxySecrets []*corev1.Secret, ca []byte) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%v\x00", rs.Spec.GitHubConfigURL, secret.UID, secret.ResourceVersion, rs.Spec.Proxy)
	for _, s := range proxySecrets {
		fmt.Fprintf(h, "%s\x00%s\x00", s.UID, s.ResourceVersion)
	}
	h.Write(ca)
	return hex.EncodeToString(h.Sum(nil))
}

// proxyFunc builds the proxy selection of spec.proxy; credentials come from the Secrets' username
// and password keys.
func proxyFunc(px *v1alpha1.ProxyConfig, secrets []*corev1.Secret) (func(*http.Request) (*url.URL, error), error) {
	if px == nil {
		return nil, nil
	}
	creds := map[string]*corev1.Secret{}
	for _, s := range secrets {
		creds[s.Name] = s
	}
	withCreds := func(s *v1alpha1.ProxyServerConfig) (string, error) {
		if s == nil {
			return "", nil
		}
		u, err := url.Parse(s.URL)
		if err != nil {
			return "", fmt.Errorf("proxy URL: %w", err)
		}
		if sec := creds[s.CredentialSecretRef]; sec != nil {
			u.User = url.UserPassword(string(sec.Data["username"]), string(sec.Data["password"]))
		}
		return u.String(), nil
	}
	httpURL, err := withCreds(px.HTTP)
	if err != nil {
		return nil, err
	}
	httpsURL, err := withCreds(px.HTTPS)
	if err != nil {
		return nil, err
	}
	cfg := &httpproxy.Config{HTTPProxy: httpURL, HTTPSProxy: httpsURL}
	for i, h := range px.NoProxy {
		if i > 0 {
			cfg.NoProxy += ","
		}
		cfg.NoProxy += h
	}
	fn := cfg.ProxyFunc()
	return func(r *http.Request) (*url.URL, error) { return fn(r.URL) }, nil
}

// sessionClient adds OpenSession, the REST runner list and workflow jobs (for re-runs) to the
// Actions client.
type sessionClient struct {
	*actions.Client
	*ghrest.Jobs
	lister    *ghrest.Lister
	configURL *configurl.ConfigURL
	gate      *ratelimit.Gate
}

func (c *sessionClient) RateLimitedUntil(api string) time.Time { return c.gate.Until(api) }

func (c *sessionClient) ListRunners(ctx context.Context) ([]ghrest.Runner, error) {
	l, err := c.lister.ListRunners(ctx, c.configURL)
	if err != nil {
		return nil, err
	}
	return l.Runners, nil
}

func (c *sessionClient) OpenSession(ctx context.Context, scaleSetID int, owner string) (MessageSession, error) {
	s, err := actions.OpenSession(ctx, c.Client, scaleSetID, owner)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// ErrHostNotAllowed is returned for a host --allowed-github-hosts excludes.
var ErrHostNotAllowed = hostallow.ErrNotAllowed

func (f *SecretFactory) checkHost(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if err := f.Hosts.Check(u); err != nil {
		return fmt.Errorf("githubConfigUrl: %w", err)
	}
	return nil
}
