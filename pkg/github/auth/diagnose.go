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
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-github/v62/github"
	"k8s.io/klog/v2"

	"actions.dev/runnerset-apiserver/pkg/configurl"
)

// Reasons of an *AccessError: what is wrong with the credentials' access to the config URL.
const (
	// ReasonUnauthorized: GitHub rejected the credentials themselves (401).
	ReasonUnauthorized = "Unauthorized"
	// ReasonNotFound: GitHub answered 404 for the config URL's scope although the credentials'
	// scopes are sufficient (or unknown): it does not exist or the credentials cannot see it.
	ReasonNotFound = "NotFound"
	// ReasonInsufficientScope: a classic token lacks the OAuth scope the config URL's scope needs.
	ReasonInsufficientScope = "InsufficientScope"
	// ReasonInsufficientPermission: a fine-grained token or a GitHub App lacks a permission.
	ReasonInsufficientPermission = "InsufficientPermission"
	// ReasonAppNotInstalled: the GitHub App has no such installation, or it does not cover the
	// config URL's organization or repository.
	ReasonAppNotInstalled = "AppNotInstalled"
)

// maxRepoPages bounds the listing of an installation's repositories (10,000 repositories).
const maxRepoPages = 100

// AccessError says why GitHub refused the credentials access to the config URL. Its message is fit
// for a condition: it names the Secret's keys, scopes and permissions, never a secret value. It
// is ErrUnauthorized (errors.Is).
type AccessError struct {
	// Reason is one of the Reason constants.
	Reason string
	// Status is GitHub's answer: 401, 403 or 404.
	Status int
	// Message explains the refusal.
	Message string
	// Scopes are a classic token's OAuth scopes (X-OAuth-Scopes); nil for other credentials.
	Scopes []string
	// Err is the refused call's error.
	Err error
}

func (e *AccessError) Error() string { return e.Message }

// Is makes errors.Is(err, ErrUnauthorized) true.
func (e *AccessError) Is(target error) bool { return target == ErrUnauthorized }

// Unwrap is the refused call's error.
func (e *AccessError) Unwrap() error { return e.Err }

// requiredScopes are the classic token scopes that let a token register runners at a scope (any
// one of them suffices).
func requiredScopes(s configurl.Scope) []string {
	switch s {
	case configurl.ScopeRepository:
		return []string{"repo"}
	case configurl.ScopeOrganization:
		return []string{"admin:org"}
	default:
		return []string{"manage_runners:enterprise", "admin:enterprise"}
	}
}

// oauthScopes reads X-OAuth-Scopes, which GitHub sends (empty when the token has none) on every
// answer to a classic token, and only to one.
func oauthScopes(h http.Header) ([]string, bool) {
	vs, ok := h[http.CanonicalHeaderKey("X-OAuth-Scopes")]
	if !ok {
		return nil, false
	}
	scopes := []string{}
	for _, v := range vs {
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				scopes = append(scopes, s)
			}
		}
	}
	return scopes, true
}

func hasAny(have, want []string) bool {
	for _, h := range have {
		for _, w := range want {
			if strings.EqualFold(h, w) {
				return true
			}
		}
	}
	return false
}

// configURLName is how messages name the config URL.
func (s *Source) configURLName() string { return "githubConfigUrl " + s.cfg.ConfigURL }

// refused explains a 403 or 404 to a REST call for the config URL's scope: a classic token missing
// the scope, an App not installed where it should be, a missing permission (403) or a scope that
// is not there for these credentials (404).
func (s *Source) refused(ctx context.Context, what string, code int, resp *github.Response, err error) error {
	ghMsg := githubMessage(err)
	var h http.Header
	if resp != nil && resp.Response != nil {
		h = resp.Header
	}
	if scopes, classic := oauthScopes(h); classic {
		if need := requiredScopes(s.configURL.Scope); !hasAny(scopes, need) {
			have := "none"
			if len(scopes) > 0 {
				have = strings.Join(scopes, ", ")
			}
			return &AccessError{Reason: ReasonInsufficientScope, Status: code, Scopes: scopes, Err: err, Message: fmt.Sprintf(
				"the classic token in %s lacks the %s scope that %s needs (its scopes: %s); GitHub answered %d %s",
				KeyGitHubToken, need[0], s.scopeName(), have, code, what)}
		}
	}
	if s.cfg.Credentials.App != nil {
		if e := s.appNotInstalled(ctx, code, err); e != nil {
			return e
		}
	}
	if code == http.StatusForbidden {
		return &AccessError{Reason: ReasonInsufficientPermission, Status: code, Err: err, Message: fmt.Sprintf(
			"GitHub refused (403) %s for %s: %s; %s", what, s.scopeName(), ghMsg, s.permissionHint(h))}
	}
	return &AccessError{Reason: ReasonNotFound, Status: code, Err: err, Message: fmt.Sprintf(
		"GitHub answered 404 %s: %s (%s) does not exist or the credentials in %s cannot see it",
		what, s.configURLName(), s.scopeName(), s.cfg.Credentials.secretKeys())}
}

// githubMessage is GitHub's message in a go-github error.
func githubMessage(err error) string {
	var er *github.ErrorResponse
	if errors.As(err, &er) && er.Message != "" {
		return er.Message
	}
	return "no message"
}

// appNotInstalled asks GitHub, as the App, whether its installation covers the config URL's
// owner (and repository); nil when it does, or when GitHub cannot tell.
func (s *Source) appNotInstalled(ctx context.Context, code int, err error) error {
	app, cu := s.cfg.Credentials.App, s.configURL
	logger := klog.FromContext(ctx)
	inst, resp, ierr := s.appGH.Apps.GetInstallation(ctx, app.InstallationID)
	switch {
	case ierr != nil && resp != nil && resp.StatusCode == http.StatusNotFound:
		return s.notInstalled(code, err, fmt.Sprintf("GitHub App %s has no installation %d: check %s", app.AppID, app.InstallationID, KeyGitHubAppInstallationID))
	case ierr != nil:
		logger.V(2).Info("Cannot tell whether the GitHub App is installed", "installationID", app.InstallationID, "err", ierr)
		return nil
	}
	if login := inst.GetAccount().GetLogin(); !strings.EqualFold(login, cu.Organization) {
		return s.notInstalled(code, err, fmt.Sprintf("GitHub App %s installation %d (%s) is installed on %s, not on %s",
			app.AppID, app.InstallationID, KeyGitHubAppInstallationID, login, cu.Organization))
	}
	if cu.Scope != configurl.ScopeRepository || inst.GetRepositorySelection() != "selected" {
		return nil
	}
	found, known := s.installationHasRepo(ctx)
	if known && !found {
		return s.notInstalled(code, err, fmt.Sprintf("GitHub App %s installation %d is not installed on repository %s/%s: add the repository to the installation",
			app.AppID, app.InstallationID, cu.Organization, cu.Repository))
	}
	return nil
}

func (s *Source) notInstalled(code int, err error, msg string) error {
	return &AccessError{Reason: ReasonAppNotInstalled, Status: code, Err: err, Message: msg}
}

// installationHasRepo looks for the config URL's repository among the installation's; known is
// false when the listing failed or was too long to finish.
func (s *Source) installationHasRepo(ctx context.Context) (found, known bool) {
	cu := s.configURL
	want := cu.Organization + "/" + cu.Repository
	opts := &github.ListOptions{PerPage: 100}
	for n := 0; n < maxRepoPages; n++ {
		repos, resp, err := s.gh.Apps.ListRepos(ctx, opts)
		if err != nil {
			klog.FromContext(ctx).V(2).Info("Cannot list the installation's repositories", "err", err)
			return false, false
		}
		for _, r := range repos.Repositories {
			if strings.EqualFold(r.GetFullName(), want) {
				return true, true
			}
		}
		if resp.NextPage == 0 {
			return false, true
		}
		opts.Page = resp.NextPage
	}
	return false, false
}

// secretKeys names the Secret keys of the credentials.
func (c *Credentials) secretKeys() string {
	if c.App != nil {
		return strings.Join(appKeys, ", ")
	}
	return KeyGitHubToken
}
