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

// Package ghrest lists a scope's self-hosted runners through GitHub's REST API (go-github) with
// conditional requests: the ETag and result of every page are kept, and a 304 Not Modified
// returns the cached runners without costing rate limit. The scaler uses it to detect drift
// between its runner pods and GitHub's view.
package ghrest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"sync"

	"github.com/google/go-github/v62/github"
	"k8s.io/utils/clock"

	"actions.dev/runnerset-apiserver/pkg/configurl"
	"actions.dev/runnerset-apiserver/pkg/github/auth"
	"actions.dev/runnerset-apiserver/pkg/github/ratelimit"
)

// PerPage is the page size asked for (GitHub's maximum).
const PerPage = 100

// maxPages bounds one listing (10,000 runners).
const maxPages = 100

// Runner is a self-hosted runner as GitHub's REST API shows it.
type Runner struct {
	ID     int64
	Name   string
	OS     string
	Status string // "online" or "offline"
	Busy   bool
	Labels []string
}

// List is one listing.
type List struct {
	Runners    []Runner
	TotalCount int
	// NotModified is true when every page answered 304: nothing changed since the last listing.
	NotModified bool
	// Requests is how many requests the listing sent; NotModifiedPages how many of them
	// answered 304 (free of rate limit).
	Requests, NotModifiedPages int
	// Rate is the rate limit as of the last answer.
	Rate github.Rate
}

type page struct {
	etag     string
	runners  []Runner
	total    int
	nextPage int
}

// Lister lists runners of one or more scopes with the same credentials, caching per scope and
// page. It is safe for concurrent use; listings of one scope are serialized.
type Lister struct {
	gh    *github.Client
	clock clock.PassiveClock

	mu     sync.Mutex
	scopes map[string]*scopeCache
}

type scopeCache struct {
	mu    sync.Mutex
	pages map[int]*page
}

// New wraps a go-github client (for example auth.Source.GitHub()).
func New(gh *github.Client) *Lister {
	// A copy of the client whose transport adds If-None-Match from the request context.
	base := gh.Client().Transport
	if base == nil {
		base = http.DefaultTransport
	}
	c := github.NewClient(&http.Client{Transport: &etagTransport{base: base}})
	c.BaseURL = gh.BaseURL
	c.UploadURL = gh.UploadURL
	c.UserAgent = gh.UserAgent
	return &Lister{gh: c, clock: clock.RealClock{}, scopes: map[string]*scopeCache{}}
}

// NewForSource lists with a token chain's credentials (PAT or installation token).
func NewForSource(s *auth.Source) *Lister { return New(s.GitHub()) }

type etagKey struct{}

type etagTransport struct{ base http.RoundTripper }

func (t *etagTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if etag, _ := req.Context().Value(etagKey{}).(string); etag != "" {
		req = req.Clone(req.Context())
		req.Header.Set("If-None-Match", etag)
	}
	return t.base.RoundTrip(req)
}

func scopeKey(cu *configurl.ConfigURL) string {
	switch cu.Scope {
	case configurl.ScopeRepository:
		return "repos/" + cu.Organization + "/" + cu.Repository
	case configurl.ScopeOrganization:
		return "orgs/" + cu.Organization
	default:
		return "enterprises/" + cu.Enterprise
	}
}

// ListRunners lists every runner registered at the config URL's scope. Unchanged pages come
// from the cache through 304 answers.
func (l *Lister) ListRunners(ctx context.Context, cu *configurl.ConfigURL) (*List, error) {
	key := scopeKey(cu)
	l.mu.Lock()
	sc := l.scopes[key]
	if sc == nil {
		sc = &scopeCache{pages: map[int]*page{}}
		l.scopes[key] = sc
	}
	l.mu.Unlock()

	sc.mu.Lock()
	defer sc.mu.Unlock()
	out := &List{NotModified: true}
	fresh := map[int]*page{}
	for p, n := 1, 0; p != 0; n++ {
		if n >= maxPages {
			return nil, fmt.Errorf("listing runners of %s: more than %d pages", key, maxPages)
		}
		cached := sc.pages[p]
		pctx := ctx
		if cached != nil {
			pctx = context.WithValue(ctx, etagKey{}, cached.etag)
		}
		runners, resp, err := l.listPage(pctx, cu, p)
		out.Requests++
		if resp != nil {
			out.Rate = resp.Rate
		}
		var pg *page
		switch {
		case resp != nil && resp.StatusCode == http.StatusNotModified && cached != nil:
			out.NotModifiedPages++
			pg = cached
		case err != nil:
			return nil, l.listError(key, p, err)
		default:
			out.NotModified = false
			pg = &page{etag: resp.Header.Get("ETag"), total: runners.TotalCount, nextPage: resp.NextPage}
			for _, r := range runners.Runners {
				pg.runners = append(pg.runners, convert(r))
			}
		}
		fresh[p] = pg
		if p == 1 {
			out.TotalCount = pg.total
		}
		out.Runners = append(out.Runners, pg.runners...)
		p = pg.nextPage
	}
	if len(fresh) != len(sc.pages) {
		out.NotModified = false
	}
	sc.pages = fresh
	sort.SliceStable(out.Runners, func(i, j int) bool { return out.Runners[i].ID < out.Runners[j].ID })
	return out, nil
}

// listError explains a failed page; go-github's own memory of a spent budget (it refuses
// without a request) is a *ratelimit.Error like the gate's.
func (l *Lister) listError(key string, page int, err error) error {
	if rl, ok := ratelimit.FromGitHub(err, l.clock.Now()); ok {
		err = rl
	}
	return fmt.Errorf("listing runners of %s (page %d): %w", key, page, err)
}

func (l *Lister) listPage(ctx context.Context, cu *configurl.ConfigURL, p int) (*github.Runners, *github.Response, error) {
	lo := github.ListOptions{Page: p, PerPage: PerPage}
	switch cu.Scope {
	case configurl.ScopeRepository:
		return l.gh.Actions.ListRunners(ctx, cu.Organization, cu.Repository, &github.ListRunnersOptions{ListOptions: lo})
	case configurl.ScopeOrganization:
		return l.gh.Actions.ListOrganizationRunners(ctx, cu.Organization, &github.ListRunnersOptions{ListOptions: lo})
	case configurl.ScopeEnterprise:
		return l.gh.Enterprise.ListRunners(ctx, cu.Enterprise, &lo)
	}
	return nil, nil, errors.New("unknown scope " + string(cu.Scope))
}

func convert(r *github.Runner) Runner {
	out := Runner{ID: r.GetID(), Name: r.GetName(), OS: r.GetOS(), Status: r.GetStatus(), Busy: r.GetBusy()}
	for _, lb := range r.Labels {
		out.Labels = append(out.Labels, lb.GetName())
	}
	return out
}
