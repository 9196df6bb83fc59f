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
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// GitHub's limits on App JWTs, and its token lifetimes.
const (
	appJWTMaxLifetime = 10 * time.Minute
	appJWTLeeway      = 60 * time.Second
	regTokenTTL       = time.Hour
	installTokenTTL   = time.Hour
)

// restCheck is what a REST endpoint asks of its caller.
type restCheck struct {
	// charge spends the rate limits; false for an answer that costs nothing (304).
	charge bool
	// scope is the account whose runners (or workflow runs) the call reads or (write)
	// changes; nil for none.
	scope *scope
	write bool
	// need is what the call asks of the credential; nil: the runner endpoints' (needOf).
	need *need
	// doc is the documentation_url of a 403 refusal.
	doc string
}

// authREST authenticates a REST request's PAT or installation token, charges its rate limits
// and checks that the account exists and the credential may act on it, in GitHub's order:
// 401, rate limits (403), 404, 403. It answers the request itself and returns false when the
// request must stop.
func (s *Simulator) authREST(w http.ResponseWriter, r *http.Request, chk restCheck) (credential, bool) {
	tok := bearer(r, "Bearer", "token")
	if tok == "" {
		writeGitHubError(w, http.StatusUnauthorized, "Requires authentication")
		return credential{}, false
	}
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.state
	c, ok := st.authenticateLocked(tok, now)
	if !ok {
		writeGitHubError(w, http.StatusUnauthorized, "Bad credentials")
		return credential{}, false
	}
	n := chk.need
	if n == nil && chk.scope != nil {
		runners := needOf(chk.scope.kind)
		n = &runners
	}
	setOAuthHeaders(w, c, n)
	if !st.chargeLocked(w, c, now, chk.charge) {
		return credential{}, false
	}
	if chk.scope == nil {
		return c, true
	}
	switch status, msg := st.authorizeLocked(c, *chk.scope, *n, chk.write); status {
	case 0:
		return c, true
	case http.StatusNotFound:
		writeGitHubError(w, status, msg)
	default:
		writeGitHubErrorDoc(w, status, msg, chk.doc)
	}
	return credential{}, false
}

// scopeFromPath reads the scope a REST path names.
func scopeFromPath(r *http.Request) scope {
	switch {
	case r.PathValue("enterprise") != "":
		return scope{kind: scopeEnterprise, enterprise: strings.ToLower(r.PathValue("enterprise"))}
	case r.PathValue("repo") != "":
		return scope{kind: scopeRepository, org: strings.ToLower(r.PathValue("owner")), repo: strings.ToLower(r.PathValue("repo"))}
	}
	return scope{kind: scopeOrganization, org: strings.ToLower(r.PathValue("org"))}
}

// handleInstallationToken: POST /app/installations/{id}/access_tokens with an App JWT.
func (s *Simulator) handleInstallationToken(w http.ResponseWriter, r *http.Request) {
	app, ok := s.appFromJWT(w, r)
	if !ok {
		return
	}
	now := s.clock.Now()
	tok := "ghs_" + randomString(alnum, 36)
	exp := now.Add(installTokenTTL)
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.installationOfLocked(r, app)
	if in == nil {
		writeGitHubErrorDoc(w, http.StatusNotFound, "Not Found", docsCreateInstallationToken)
		return
	}
	s.state.pruneLocked(now)
	s.state.installTokens[tok] = &installToken{appID: app.AppID, installation: in.ID, expires: exp}
	writeGitHubJSON(w, http.StatusCreated, map[string]any{
		"token":                tok,
		"expires_at":           exp.UTC().Format(time.RFC3339),
		"permissions":          in.Permissions,
		"repository_selection": in.RepositorySelection,
	})
}

// verifyAppJWT checks an App JWT the way GitHub does: RS256 signed by a known App's key,
// issued for at most 10 minutes, not expired (60 s leeway for clock drift).
func (s *Simulator) verifyAppJWT(raw string) (App, error) {
	var key *appKey
	claims := jwt.MapClaims{}
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodRS256.Alg()}),
		jwt.WithTimeFunc(s.clock.Now),
		jwt.WithLeeway(appJWTLeeway),
		jwt.WithIssuedAt(),
		jwt.WithExpirationRequired(),
	)
	_, err := parser.ParseWithClaims(raw, claims, func(*jwt.Token) (any, error) {
		var iss string
		switch v := claims["iss"].(type) {
		case string:
			iss = v
		case float64:
			iss = strconv.FormatInt(int64(v), 10)
		}
		key = s.apps[iss]
		if key == nil {
			return nil, fmt.Errorf("unknown issuer %q", iss)
		}
		return key.pub, nil
	})
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return App{}, errors.New("'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires")
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return App{}, errors.New("'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued")
	case err != nil && key == nil:
		return App{}, errors.New("Integration not found") //nolint:staticcheck // GitHub's wording
	case err != nil:
		return App{}, errors.New("A JSON web token could not be decoded") //nolint:staticcheck // GitHub's wording
	}
	exp, _ := claims.GetExpirationTime()
	if exp.Sub(s.clock.Now()) > appJWTMaxLifetime+appJWTLeeway {
		return App{}, errors.New("'Expiration time' claim ('exp') is too far in the future")
	}
	return key.app, nil
}

// handleRegistrationToken: POST .../actions/runners/registration-token.
func (s *Simulator) handleRegistrationToken(w http.ResponseWriter, r *http.Request) {
	sc := scopeFromPath(r)
	if _, ok := s.authREST(w, r, restCheck{charge: true, scope: &sc, write: true, doc: runnerDocs(sc, true)}); !ok {
		return
	}
	now := s.clock.Now()
	tok := randomString("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 29)
	exp := now.Add(regTokenTTL)
	s.mu.Lock()
	s.state.pruneLocked(now)
	s.state.regTokens[tok] = &regToken{scope: sc, expires: exp}
	s.mu.Unlock()
	writeGitHubJSON(w, http.StatusCreated, map[string]string{"token": tok, "expires_at": exp.UTC().Format(time.RFC3339)})
}

// handleRunnerRegistration: POST /actions/runner-registration exchanges a registration
// token for the tenant URL and an admin token.
func (s *Simulator) handleRunnerRegistration(w http.ResponseWriter, r *http.Request) {
	tok := bearer(r, "RemoteAuth")
	var body RunnerRegistrationRequest
	if err := decodeBody(r, &body); err != nil {
		writeGitHubError(w, http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.state
	rt := st.regTokens[tok]
	if tok == "" || rt == nil || !now.Before(rt.expires) {
		writeGitHubError(w, http.StatusUnauthorized, "Bad credentials")
		return
	}
	sc, err := parseConfigURL(body.URL)
	if err != nil || body.RunnerEvent != "register" {
		writeGitHubError(w, http.StatusUnprocessableEntity, "Validation Failed")
		return
	}
	if !st.accountExistsLocked(sc) {
		writeGitHubError(w, http.StatusNotFound, "Not Found")
		return
	}
	if sc != rt.scope {
		writeGitHubError(w, http.StatusForbidden, "The registration token does not belong to "+body.URL)
		return
	}
	t := st.tenantByScope[sc.key()]
	if t == nil {
		t = &tenant{id: len(st.tenants) + 1, scope: sc, configURL: strings.TrimSuffix(body.URL, "/")}
		st.tenants = append(st.tenants, t)
		st.tenantByScope[sc.key()] = t
	}
	writeGitHubJSON(w, http.StatusCreated, RunnerRegistration{
		URL:         s.tenantURLFor(r, t),
		Token:       s.issueAdminTokenLocked(t, now),
		TokenSchema: "OAuthAccessToken",
	})
}

type restLabel struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
	Type string `json:"type"`
}

type restRunner struct {
	ID     int         `json:"id"`
	Name   string      `json:"name"`
	OS     string      `json:"os"`
	Status string      `json:"status"`
	Busy   bool        `json:"busy"`
	Labels []restLabel `json:"labels"`
}

// handleListRunners: GET .../actions/runners, GitHub's REST runner list with ETags and
// page/per_page pagination.
func (s *Simulator) handleListRunners(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	perPage, page := pageParams(q)
	sc := scopeFromPath(r)
	chk := restCheck{scope: &sc, doc: runnerDocs(sc, false)}

	// The answer is computed before charging: a 304 is free.
	s.mu.Lock()
	var all []restRunner
	for _, ss := range s.state.sortedScaleSets() {
		if ss.tenant.scope != sc {
			continue
		}
		labels := make([]restLabel, 0, len(ss.rs.Labels))
		for i, l := range ss.rs.Labels {
			labels = append(labels, restLabel{ID: ss.rs.ID*1000 + i + 1, Name: l.Name, Type: "custom"})
		}
		for _, rn := range ss.runners {
			status := "offline"
			if rn.online {
				status = "online"
			}
			all = append(all, restRunner{ID: rn.id, Name: rn.name, OS: "Linux", Status: status, Busy: rn.job != nil, Labels: labels})
		}
	}
	s.mu.Unlock()
	slices.SortFunc(all, func(a, b restRunner) int { return cmp.Compare(a.ID, b.ID) })
	pageRunners := []restRunner{}
	if from := (page - 1) * perPage; from < len(all) {
		pageRunners = all[from:min(from+perPage, len(all))]
	}
	body := encodeJSON(map[string]any{"total_count": len(all), "runners": pageRunners})
	sum := sha256.Sum256(body)
	etag := `W/"` + hex.EncodeToString(sum[:16]) + `"`

	if etagMatches(r.Header.Get("If-None-Match"), etag) {
		if _, ok := s.authREST(w, r, chk); !ok {
			return
		}
		w.Header().Set("ETag", etag)
		w.WriteHeader(http.StatusNotModified)
		return
	}
	chk.charge = true
	if _, ok := s.authREST(w, r, chk); !ok {
		return
	}
	w.Header().Set("ETag", etag)
	w.Header().Set("Cache-Control", "private, max-age=60, s-maxage=60")
	if last := (len(all) + perPage - 1) / perPage; last > 1 {
		w.Header().Set("Link", linkHeader(s.originsFor(r).rest+r.URL.Path, q, page, last))
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// pageParams reads GitHub's per_page (default 30, at most 100) and page (from 1).
func pageParams(q url.Values) (perPage, page int) {
	perPage, page = 30, 1
	if n, err := strconv.Atoi(q.Get("per_page")); err == nil && n > 0 {
		perPage = min(n, 100)
	}
	if n, err := strconv.Atoi(q.Get("page")); err == nil && n > 0 {
		page = n
	}
	return perPage, page
}

// etagMatches implements If-None-Match's weak comparison.
func etagMatches(header, etag string) bool {
	if header == "" {
		return false
	}
	norm := func(t string) string { return strings.TrimPrefix(strings.TrimSpace(t), "W/") }
	for _, t := range strings.Split(header, ",") {
		if strings.TrimSpace(t) == "*" || norm(t) == norm(etag) {
			return true
		}
	}
	return false
}

// linkHeader is GitHub's pagination Link header.
func linkHeader(base string, q url.Values, page, last int) string {
	link := func(p int, rel string) string {
		v := url.Values{}
		for k, vs := range q {
			v[k] = vs
		}
		v.Set("page", strconv.Itoa(p))
		return "<" + base + "?" + v.Encode() + `>; rel="` + rel + `"`
	}
	var parts []string
	if page > 1 {
		parts = append(parts, link(page-1, "prev"))
	}
	if page < last {
		parts = append(parts, link(page+1, "next"))
	}
	parts = append(parts, link(last, "last"))
	if page > 1 {
		parts = append(parts, link(1, "first"))
	}
	return strings.Join(parts, ", ")
}
