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

package auth

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	jwt "github.com/golang-jwt/jwt/v4"
	"github.com/google/go-github/v62/github"
	"k8s.io/utils/clock"

	"actions.dev/runnerset-apiserver/pkg/configurl"
	"actions.dev/runnerset-apiserver/pkg/github/actions/httpretry"
	"actions.dev/runnerset-apiserver/pkg/github/ratelimit"
)

// AdminToken is what the runner-registration exchange hands out: where the Actions Service
// tenant lives and the bearer token for its admin calls.
type AdminToken struct {
	// TenantURL is the Actions Service base, ending in "/".
	TenantURL *url.URL
	// Token is the admin JWT.
	Token string
	// Expiry is the token's exp claim (read without verifying the signature).
	Expiry time.Time
}

// TokenSource hands out a valid admin token; implementations refresh as needed.
type TokenSource interface {
	Token(ctx context.Context) (AdminToken, error)
}

// Invalidator is implemented by token sources that can drop a token the service rejected, so the
// next Token call fetches a new one.
type Invalidator interface {
	Invalidate(token string)
}

// StaticTokenSource always returns the same token; for tests and tools.
func StaticTokenSource(t AdminToken) TokenSource { return staticTokenSource{t} }

type staticTokenSource struct{ t AdminToken }

func (s staticTokenSource) Token(context.Context) (AdminToken, error) { return s.t, nil }

// ErrUnauthorized is what every error is (errors.Is) where GitHub or the Actions Service rejected
// the credentials: 401, 403 or 404 anywhere in the chain. The chain's own refusals are an
// *AccessError saying why; a rate limit never is ErrUnauthorized.
var ErrUnauthorized = errors.New("unauthorized")

// ErrEnterpriseApp is returned for GitHub App credentials with an enterprise config URL.
var ErrEnterpriseApp = errors.New("a GitHub App cannot register runners at enterprise scope: use a personal access token (classic) with the manage_runners:enterprise scope in github_token")

const (
	// DefaultRefreshBefore is how long before its expiry an admin token is replaced.
	DefaultRefreshBefore = 60 * time.Second
	// UnknownExpiryLifetime is assumed for an admin token whose exp cannot be read.
	UnknownExpiryLifetime = 5 * time.Minute
	// DefaultUserAgent is sent when Config.UserAgent is empty.
	DefaultUserAgent = "runnerset-apiserver"
)

// Config builds a Source.
type Config struct {
	// ConfigURL is the githubConfigUrl, exactly as configured; it is also the body of the
	// runner-registration exchange.
	ConfigURL string
	// Credentials come from FromSecretData.
	Credentials *Credentials
	// Proxy picks the proxy per request (nil: none; http.ProxyFromEnvironment for the usual
	// variables).
	Proxy func(*http.Request) (*url.URL, error)
	// RootCAs replaces the system roots (GHES with a private CA).
	RootCAs *x509.CertPool
	// Transport, when set, is used instead of one built from Proxy and RootCAs (tests).
	Transport http.RoundTripper
	// UserAgent is sent on every request.
	UserAgent string
	// Clock decides when the admin token needs replacing and times retry waits.
	Clock clock.Clock
	// Retry is the retry policy of every request in the chain; nil means httpretry.Default().
	Retry *httpretry.Policy
	// RefreshBefore replaces the admin token this long before it expires; 0 means 60 s.
	RefreshBefore time.Duration
}

// Source runs the token chain: App JWT → installation token (GitHub Apps only, through
// ghinstallation) → runner registration token (go-github) → runner-registration exchange →
// tenant URL + admin token. It refreshes lazily, when less than RefreshBefore is left; concurrent
// callers share one refresh. It is safe for concurrent use.
type Source struct {
	cfg       Config
	configURL *configurl.ConfigURL
	clock     clock.Clock
	gh        *github.Client
	appGH     *github.Client // as the App itself (its JWT): only to explain refusals
	plain     *http.Client   // no GitHub auth: the exchange carries its own
	policy    httpretry.Policy
	apiBase   *url.URL

	mu       sync.Mutex
	current  AdminToken
	valid    bool
	inflight *refreshCall
	waiters  int // callers waiting for another's refresh (observability for tests)
}

type refreshCall struct {
	done chan struct{}
	tok  AdminToken
	err  error
}

// NewTokenSource checks the configuration and builds a Source; it makes no request.
func NewTokenSource(cfg Config) (*Source, error) {
	cu, err := configurl.Parse(cfg.ConfigURL)
	if err != nil {
		return nil, fmt.Errorf("githubConfigUrl %q: %w", cfg.ConfigURL, err)
	}
	if cfg.Credentials == nil || (cfg.Credentials.Token == "" && cfg.Credentials.App == nil) {
		return nil, errors.New("no GitHub credentials")
	}
	if cfg.Credentials.App != nil && cu.Scope == configurl.ScopeEnterprise {
		return nil, ErrEnterpriseApp
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = DefaultUserAgent
	}
	if cfg.RefreshBefore <= 0 {
		cfg.RefreshBefore = DefaultRefreshBefore
	}
	policy := httpretry.Default()
	if cfg.Retry != nil {
		policy = *cfg.Retry
	}
	if policy.Clock == nil {
		policy.Clock = cfg.Clock
	}
	base := cfg.Transport
	if base == nil {
		base = httpretry.NewTransport(httpretry.TransportOptions{Proxy: cfg.Proxy, RootCAs: cfg.RootCAs})
	}
	s := &Source{
		cfg:       cfg,
		configURL: cu,
		clock:     cfg.Clock,
		plain:     &http.Client{Transport: base},
		policy:    policy,
		apiBase:   cu.APIBase(),
	}
	// go-github and ghinstallation get the protocol's retries through a retrying transport.
	retrying := &httpretry.Transport{Base: base, Policy: policy}
	var authed http.RoundTripper
	if app := cfg.Credentials.App; app != nil {
		itr, atr, err := installationTransport(retrying, app, strings.TrimSuffix(s.apiBase.String(), "/"))
		if err != nil {
			return nil, err
		}
		authed = itr
		s.appGH = newGitHubClient(atr, s.apiBase, cfg.UserAgent)
	} else {
		authed = &tokenTransport{base: retrying, token: cfg.Credentials.Token}
	}
	s.gh = newGitHubClient(authed, s.apiBase, cfg.UserAgent)
	return s, nil
}

func newGitHubClient(rt http.RoundTripper, apiBase *url.URL, userAgent string) *github.Client {
	gh := github.NewClient(&http.Client{Transport: rt})
	gh.BaseURL = apiBase
	gh.UploadURL = apiBase
	gh.UserAgent = userAgent
	return gh
}

// installationTransport authenticates as the App's installation through ghinstallation, which
// signs the App JWT and caches the installation token until shortly before it expires; the
// AppsTransport authenticates as the App itself.
func installationTransport(base http.RoundTripper, app *AppCredentials, apiBase string) (*ghinstallation.Transport, *ghinstallation.AppsTransport, error) {
	key, err := app.privateKey()
	if err != nil {
		return nil, nil, err
	}
	var atr *ghinstallation.AppsTransport
	if id := app.NumericAppID(); id > 0 {
		atr = ghinstallation.NewAppsTransportFromPrivateKey(base, id, key)
	} else {
		// A Client ID is an equally valid issuer; ghinstallation only knows numeric ids, so the
		// signer puts the Client ID in place of the issuer it computed.
		atr, err = ghinstallation.NewAppsTransportWithOptions(base, 0, ghinstallation.WithSigner(issuerSigner{
			issuer: app.AppID,
			next:   ghinstallation.NewRSASigner(jwt.SigningMethodRS256, key),
		}))
		if err != nil {
			return nil, nil, err
		}
	}
	atr.BaseURL = apiBase
	itr := ghinstallation.NewFromAppsTransport(atr, app.InstallationID)
	itr.BaseURL = apiBase
	return itr, atr, nil
}

type issuerSigner struct {
	issuer string
	next   ghinstallation.Signer
}

func (s issuerSigner) Sign(claims jwt.Claims) (string, error) {
	if rc, ok := claims.(*jwt.RegisteredClaims); ok {
		c := *rc
		c.Issuer = s.issuer
		claims = &c
	}
	return s.next.Sign(claims)
}

// tokenTransport sends a PAT as a bearer token.
type tokenTransport struct {
	base  http.RoundTripper
	token string
}

func (t *tokenTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", "Bearer "+t.token)
	return t.base.RoundTrip(r)
}

// ConfigURL is the parsed config URL.
func (s *Source) ConfigURL() *configurl.ConfigURL { return s.configURL }

// GitHub is a go-github client for the config URL's REST API, authenticated with the PAT or the
// installation token and retrying like every other call; pkg/github/ghrest uses it.
func (s *Source) GitHub() *github.Client { return s.gh }

// Token returns the current admin token, running the chain first when there is none or less than
// RefreshBefore is left. Concurrent callers share one refresh; a caller whose ctx ends stops
// waiting, and the others go on (one of them starts a new refresh if the first was cancelled).
func (s *Source) Token(ctx context.Context) (AdminToken, error) {
	for {
		s.mu.Lock()
		if s.valid && s.clock.Now().Add(s.cfg.RefreshBefore).Before(s.current.Expiry) {
			t := s.current
			s.mu.Unlock()
			return t, nil
		}
		if c := s.inflight; c != nil {
			s.waiters++
			s.mu.Unlock()
			var done bool
			select {
			case <-c.done:
				done = true
			case <-ctx.Done():
			}
			s.mu.Lock()
			s.waiters--
			s.mu.Unlock()
			if done {
				if c.err != nil && isContextErr(c.err) && ctx.Err() == nil {
					continue // the refreshing caller gave up, this one has not
				}
				return c.tok, c.err
			}
			return AdminToken{}, ctx.Err()
		}
		c := &refreshCall{done: make(chan struct{})}
		s.inflight = c
		s.mu.Unlock()

		tok, err := s.refresh(ctx)

		s.mu.Lock()
		if err == nil {
			s.current, s.valid = tok, true
		}
		c.tok, c.err = tok, err
		s.inflight = nil
		close(c.done)
		s.mu.Unlock()
		return tok, err
	}
}

// Invalidate drops token if it is the current one, so the next Token call runs the chain; the
// Actions client calls it when the service answers 401 to an admin call.
func (s *Source) Invalidate(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.valid && s.current.Token == token {
		s.valid = false
	}
}

func isContextErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// refresh runs the whole chain once.
func (s *Source) refresh(ctx context.Context) (AdminToken, error) {
	reg, err := s.RegistrationToken(ctx)
	if err != nil {
		return AdminToken{}, err
	}
	return s.exchange(ctx, reg)
}

// RegistrationToken asks GitHub's REST API for a runner registration token for the config URL's
// scope (repository, organization or enterprise).
func (s *Source) RegistrationToken(ctx context.Context) (string, error) {
	cu := s.configURL
	var (
		tok  *github.RegistrationToken
		resp *github.Response
		err  error
	)
	switch cu.Scope {
	case configurl.ScopeRepository:
		tok, resp, err = s.gh.Actions.CreateRegistrationToken(ctx, cu.Organization, cu.Repository)
	case configurl.ScopeOrganization:
		tok, resp, err = s.gh.Actions.CreateOrganizationRegistrationToken(ctx, cu.Organization)
	case configurl.ScopeEnterprise:
		tok, resp, err = s.gh.Enterprise.CreateRegistrationToken(ctx, cu.Enterprise)
	default:
		return "", fmt.Errorf("unknown scope %q", cu.Scope)
	}
	if err != nil {
		return "", s.restError(ctx, "creating a runner registration token", resp, err)
	}
	if tok.GetToken() == "" {
		return "", fmt.Errorf("creating a runner registration token for %s: GitHub answered without a token", s.scopeName())
	}
	return tok.GetToken(), nil
}

func (s *Source) scopeName() string {
	cu := s.configURL
	switch cu.Scope {
	case configurl.ScopeRepository:
		return "repository " + cu.Organization + "/" + cu.Repository
	case configurl.ScopeOrganization:
		return "organization " + cu.Organization
	default:
		return "enterprise " + cu.Enterprise
	}
}

// permissionHint says what the credentials need for the scope (GitHub's ARC documentation); h
// is the refusal's headers, which tell a classic token (X-OAuth-Scopes) from a fine-grained one.
func (s *Source) permissionHint(h http.Header) string {
	_, classic := oauthScopes(h)
	switch {
	case s.cfg.Credentials.App != nil && s.configURL.Scope == configurl.ScopeRepository:
		return "the GitHub App needs the repository permissions Administration: read and write and Metadata: read"
	case s.cfg.Credentials.App != nil:
		return "the GitHub App needs the organization permission Self-hosted runners: read and write"
	case s.configURL.Scope == configurl.ScopeRepository && classic:
		return "a classic token needs the repo scope, and its user admin rights on the repository"
	case s.configURL.Scope == configurl.ScopeRepository:
		return "a fine-grained token needs the repository permission Administration: read and write (a classic token: the repo scope)"
	case s.configURL.Scope == configurl.ScopeOrganization && classic:
		return "a classic token needs the admin:org scope, and its user must be an owner of the organization"
	case s.configURL.Scope == configurl.ScopeOrganization:
		return "a fine-grained token needs the organization permissions Administration: read and Self-hosted runners: read and write (a classic token: the admin:org scope)"
	default:
		return "a classic token needs the manage_runners:enterprise scope, and its user must be an enterprise owner"
	}
}

// restError explains a failed go-github call in terms of the Secret's keys: a rate limit is a
// *ratelimit.Error, a refusal an *AccessError saying why.
func (s *Source) restError(ctx context.Context, what string, resp *github.Response, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if errors.Is(err, ratelimit.ErrRateLimited) {
		return fmt.Errorf("%s for %s: %w", what, s.scopeName(), err)
	}
	if rl, ok := ratelimit.FromGitHub(err, s.clock.Now()); ok {
		return fmt.Errorf("%s for %s: %w", what, s.scopeName(), rl)
	}
	var ierr *ghinstallation.HTTPError
	if errors.As(err, &ierr) {
		return s.installationError(ierr, err)
	}
	code := 0
	if resp != nil && resp.Response != nil {
		code = resp.StatusCode
	}
	switch code {
	case http.StatusUnauthorized:
		return &AccessError{Reason: ReasonUnauthorized, Status: code, Err: err, Message: fmt.Sprintf(
			"GitHub rejected the credentials (401) %s for %s: check %s", what, s.scopeName(), s.cfg.Credentials.secretKeys())}
	case http.StatusForbidden, http.StatusNotFound:
		return s.refused(ctx, what, code, resp, err)
	}
	return fmt.Errorf("%s for %s: %w", what, s.scopeName(), err)
}

// installationError explains a refused installation token.
func (s *Source) installationError(ierr *ghinstallation.HTTPError, err error) error {
	app := s.cfg.Credentials.App
	code := 0
	if ierr.Response != nil {
		code = ierr.Response.StatusCode
	}
	switch code {
	case http.StatusUnauthorized:
		return &AccessError{Reason: ReasonUnauthorized, Status: code, Err: err, Message: fmt.Sprintf(
			"GitHub rejected the App's JWT (401) getting an installation token: check %s (%s) and %s", KeyGitHubAppID, app.AppID, KeyGitHubAppPrivateKey)}
	case http.StatusForbidden:
		return &AccessError{Reason: ReasonUnauthorized, Status: code, Err: err, Message: fmt.Sprintf(
			"GitHub refused an installation token (403) for %s %d: the App or its installation may be suspended", KeyGitHubAppInstallationID, app.InstallationID)}
	case http.StatusNotFound:
		return s.notInstalled(code, err, fmt.Sprintf("GitHub App %s has no installation %d (404): check %s", app.AppID, app.InstallationID, KeyGitHubAppInstallationID))
	}
	return fmt.Errorf("getting an installation token for %s %d: %w", KeyGitHubAppInstallationID, app.InstallationID, err)
}

// registrationRequest is the runner-registration exchange's body.
type registrationRequest struct {
	URL         string `json:"url"`
	RunnerEvent string `json:"runner_event"`
}

// registrationResponse is its answer; the runner also knows token_schema and use_v2_flow.
type registrationResponse struct {
	URL         string `json:"url"`
	Token       string `json:"token"`
	TokenSchema string `json:"token_schema,omitempty"`
	UseV2Flow   bool   `json:"use_v2_flow,omitempty"`
}

// EncodeRegistrationRequest is the exact body of the exchange: no HTML escaping, trailing new
// line, as the reference client sends it.
func EncodeRegistrationRequest(configURL string) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(registrationRequest{URL: configURL, RunnerEvent: "register"}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// exchange trades a registration token for the tenant URL and an admin token. 401 and 403 are
// retried too (a fresh registration token may not have propagated yet); after the last attempt
// the last answer is reported.
func (s *Source) exchange(ctx context.Context, regToken string) (AdminToken, error) {
	u := s.apiBase.JoinPath("actions", "runner-registration")
	body, err := EncodeRegistrationRequest(s.cfg.ConfigURL)
	if err != nil {
		return AdminToken{}, err
	}
	newReq := func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "RemoteAuth "+regToken)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", s.cfg.UserAgent)
		return req, nil
	}
	resp, res, err := s.policy.Do(ctx, s.plain, newReq, httpretry.Or(httpretry.DefaultRetryable, httpretry.Status(http.StatusUnauthorized, http.StatusForbidden)))
	if err != nil {
		return AdminToken{}, fmt.Errorf("runner-registration exchange: %w", err)
	}
	raw, _ := readAll(resp)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		msg := errorMessage(raw)
		e := fmt.Errorf("runner-registration exchange for %s answered %d after %d attempt(s): %s%s", s.cfg.ConfigURL, resp.StatusCode, res.Attempts, msg, requestIDs(resp))
		if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
			return AdminToken{}, &AccessError{Reason: ReasonUnauthorized, Status: resp.StatusCode, Message: "GitHub refused the runner registration token: " + e.Error(), Err: e}
		}
		return AdminToken{}, e
	}
	var rr registrationResponse
	raw = httpretry.StripBOM(raw)
	if err := json.Unmarshal(raw, &rr); err != nil {
		return AdminToken{}, fmt.Errorf("runner-registration exchange: decoding the answer (%d bytes): %w", len(raw), err)
	}
	if rr.URL == "" || rr.Token == "" {
		return AdminToken{}, fmt.Errorf("runner-registration exchange: the answer lacks the tenant url or the token")
	}
	tenant, err := url.Parse(rr.URL)
	if err != nil || (tenant.Scheme != "https" && tenant.Scheme != "http") || tenant.Host == "" {
		return AdminToken{}, fmt.Errorf("runner-registration exchange: tenant url %q is not an absolute http(s) URL", rr.URL)
	}
	if !strings.HasSuffix(tenant.Path, "/") {
		tenant.Path += "/"
		if tenant.RawPath != "" {
			tenant.RawPath += "/"
		}
	}
	exp, ok := TokenExpiry(rr.Token)
	if !ok {
		exp = s.clock.Now().Add(UnknownExpiryLifetime)
	}
	return AdminToken{TenantURL: tenant, Token: rr.Token, Expiry: exp}, nil
}

// TokenExpiry reads a JWT's exp claim without verifying the signature.
func TokenExpiry(token string) (time.Time, bool) {
	var claims jwt.RegisteredClaims
	if _, _, err := jwt.NewParser().ParseUnverified(token, &claims); err != nil || claims.ExpiresAt == nil {
		return time.Time{}, false
	}
	return claims.ExpiresAt.Time, true
}

func readAll(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, err := buf.ReadFrom(resp.Body)
	return buf.Bytes(), err
}

// errorMessage pulls "message" out of a GitHub error body, or quotes a short text body.
func errorMessage(raw []byte) string {
	raw = bytes.TrimSpace(httpretry.StripBOM(raw))
	var m struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(raw, &m) == nil && m.Message != "" {
		return m.Message
	}
	if len(raw) > 200 {
		raw = append(raw[:200:200], "..."...)
	}
	if len(raw) == 0 {
		return "(no body)"
	}
	return string(raw)
}

func requestIDs(resp *http.Response) string {
	if id := resp.Header.Get("X-GitHub-Request-Id"); id != "" {
		return " (X-GitHub-Request-Id: " + id + ")"
	}
	return ""
}
