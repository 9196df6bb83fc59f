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
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Who may do what: a REST credential is a classic token with OAuth scopes, a fine-grained
// token with permissions, or an App installation token with its installation's accounts and
// permissions. The runner endpoints ask for what GitHub's REST documentation says they do.

// OAuth scopes of classic tokens that the runner endpoints accept.
const (
	OAuthScopeRepo                    = "repo"
	OAuthScopeAdminOrg                = "admin:org"
	OAuthScopeManageRunnersEnterprise = "manage_runners:enterprise"
	// oauthScopeAdminEnterprise includes manage_runners:enterprise, as on GitHub.
	oauthScopeAdminEnterprise = "admin:enterprise"
)

// Permissions of fine-grained tokens and App installations the runner endpoints ask for.
const (
	PermissionAdministration                = "administration"
	PermissionOrganizationSelfHostedRunners = "organization_self_hosted_runners"
	PermissionMetadata                      = "metadata"
	// PermissionActions is what the workflow run and job endpoints ask of fine-grained tokens
	// and Apps: read to read them, write to re-run.
	PermissionActions = "actions"
)

// GitHub's refusals and the documentation they point at.
const (
	msgAdminRights                   = "Must have admin rights to Repository."
	msgNotAccessibleByPAT            = "Resource not accessible by personal access token"
	msgNotAccessibleByIntegration    = "Resource not accessible by integration"
	msgInstallationTokenRequired     = "You must authenticate with an installation access token in order to list repositories for an installation."
	docsSelfHostedRunners            = "https://docs.github.com/rest/actions/self-hosted-runners"
	docsListInstallationRepositories = "https://docs.github.com/rest/apps/installations#list-repositories-accessible-to-the-app-installation"
	docsGetInstallation              = "https://docs.github.com/rest/apps/apps#get-an-installation-for-the-authenticated-app"
	docsCreateInstallationToken      = "https://docs.github.com/rest/apps/apps#create-an-installation-access-token-for-an-app"
)

const (
	fineGrainedPrefix = "github_pat_"
	// defaultInstallationIDBase: installation ids the simulator picks are above it.
	defaultInstallationIDBase int64 = 1000
)

// permissionLevels orders permission levels; a higher one includes the lower.
var permissionLevels = map[string]int{"read": 1, "write": 2, "admin": 3}

// FullScopes are the scopes of a token listed in Options.PATs: every runner endpoint accepts it.
func FullScopes() []string {
	return []string{OAuthScopeAdminOrg, OAuthScopeManageRunnersEnterprise, OAuthScopeRepo}
}

// Token is a personal access token the simulator accepts, with what it may do.
type Token struct {
	Value string `json:"value"`
	// Scopes are a classic token's OAuth scopes, e.g. "repo", "admin:org",
	// "manage_runners:enterprise" ("admin:enterprise" includes the last).
	Scopes []string `json:"scopes,omitempty"`
	// FineGrained marks a fine-grained token; a Value starting with github_pat_ is one too.
	FineGrained bool `json:"fineGrained,omitempty"`
	// Permissions are a fine-grained token's: permission name to "read", "write" or "admin",
	// e.g. {"administration":"write"} (repository runners) or
	// {"organization_self_hosted_runners":"write"} (organization runners).
	Permissions map[string]string `json:"permissions,omitempty"`
}

func (t Token) fineGrained() bool {
	return t.FineGrained || strings.HasPrefix(t.Value, fineGrainedPrefix)
}

// pat is an accepted personal access token; user is the id GitHub would name in its rate-limit
// message.
type pat struct {
	Token
	user int64
	fine bool // fine-grained; never for Options.PATs, which have every scope
}

// credKind is what kind of credential a REST request carries.
type credKind int

const (
	credClassic credKind = iota
	credFineGrained
	credInstallation
)

// credential is who a REST request authenticates as.
type credential struct {
	token string
	kind  credKind
	pat   *pat          // classic and fine-grained tokens
	inst  *installation // installation tokens
}

// rateKey is whose budget a request spends: a token's, or an installation's, which all its
// tokens share as on GitHub.
func (c credential) rateKey() string {
	if c.inst != nil {
		return "installation:" + strconv.FormatInt(c.inst.ID, 10)
	}
	return "token:" + c.token
}

// who is how GitHub's rate-limit message names the credential's owner.
func (c credential) who() string {
	if c.inst != nil {
		return "installation ID " + strconv.FormatInt(c.inst.ID, 10)
	}
	return "user ID " + strconv.FormatInt(c.pat.user, 10)
}

// authenticateLocked finds the credential of a REST token: a PAT, or a live installation token
// of an installation that still exists.
func (st *state) authenticateLocked(tok string, now time.Time) (credential, bool) {
	if p := st.tokens[tok]; p != nil {
		kind := credClassic
		if p.fine {
			kind = credFineGrained
		}
		return credential{token: tok, kind: kind, pat: p}, true
	}
	if it := st.installTokens[tok]; it != nil && now.Before(it.expires) {
		if in := st.installations[it.installation]; in != nil {
			return credential{token: tok, kind: credInstallation, inst: in}, true
		}
	}
	return credential{}, false
}

// need is what an endpoint asks of a credential: the runner endpoints of one kind of scope
// (needOf), or the workflow run and job endpoints (actionsNeed).
type need struct {
	scopes     []string // classic scopes, any of which will do
	permission string   // fine-grained and App permission; "" when neither may act here
	// private: a classic token without the scopes does not see the resource at all (a private
	// repository, as every repository of the simulator is): 404, not 403.
	private bool
}

// actionsNeed is what the workflow run and job endpoints ask: repo for classic tokens (the
// simulator's repositories are private), actions (read, or write to re-run) for fine-grained
// tokens and Apps, as GitHub's REST documentation says.
var actionsNeed = need{scopes: []string{OAuthScopeRepo}, permission: PermissionActions, private: true}

func needOf(kind scopeKind) need {
	switch kind {
	case scopeRepository:
		return need{scopes: []string{OAuthScopeRepo}, permission: PermissionAdministration}
	case scopeOrganization:
		return need{scopes: []string{OAuthScopeAdminOrg}, permission: PermissionOrganizationSelfHostedRunners}
	}
	// Fine-grained tokens and Apps cannot manage enterprise runners (GitHub's documentation).
	return need{scopes: []string{oauthScopeAdminEnterprise, OAuthScopeManageRunnersEnterprise}}
}

// authorizeLocked decides whether c may read or write what n guards in sc: 0, or the status
// and message GitHub answers. What an installation cannot see is 404, not 403: GitHub does
// not reveal what it hides.
func (st *state) authorizeLocked(c credential, sc scope, n need, write bool) (int, string) {
	if !st.accountExistsLocked(sc) {
		return http.StatusNotFound, "Not Found"
	}
	switch c.kind {
	case credClassic:
		if !slices.ContainsFunc(n.scopes, func(s string) bool { return slices.Contains(c.pat.Scopes, s) }) {
			if n.private {
				return http.StatusNotFound, "Not Found"
			}
			return http.StatusForbidden, msgAdminRights
		}
	case credFineGrained:
		if n.permission == "" || !permits(c.pat.Permissions, n.permission, write) {
			return http.StatusForbidden, msgNotAccessibleByPAT
		}
	case credInstallation:
		switch {
		case n.permission == "":
			return http.StatusForbidden, msgNotAccessibleByIntegration
		case !c.inst.covers(sc):
			return http.StatusNotFound, "Not Found"
		case !permits(c.inst.Permissions, n.permission, write):
			return http.StatusForbidden, msgNotAccessibleByIntegration
		}
	}
	return 0, ""
}

// permits reports whether perms grant name at least read (or write).
func permits(perms map[string]string, name string, write bool) bool {
	need := permissionLevels["read"]
	if write {
		need = permissionLevels["write"]
	}
	return permissionLevels[perms[name]] >= need
}

// setOAuthHeaders sends a classic token's scopes, and the scopes the endpoint accepts (n's;
// none for nil), as GitHub does on every answer to a classic token.
func setOAuthHeaders(w http.ResponseWriter, c credential, n *need) {
	if c.kind != credClassic {
		return
	}
	scopes := slices.Clone(c.pat.Scopes)
	slices.Sort(scopes)
	// Set directly to keep GitHub's spelling on the wire.
	w.Header()["X-OAuth-Scopes"] = []string{strings.Join(scopes, ", ")}
	accepted := ""
	if n != nil {
		accepted = strings.Join(n.scopes, ", ")
	}
	w.Header()["X-Accepted-OAuth-Scopes"] = []string{accepted}
}

// runnerDocs is the documentation_url GitHub gives in a refusal of a runner endpoint.
func runnerDocs(sc scope, registration bool) string {
	what := "list-self-hosted-runners-for-"
	if registration {
		what = "create-a-registration-token-for-"
	}
	switch sc.kind {
	case scopeRepository:
		return docsSelfHostedRunners + "#" + what + "a-repository"
	case scopeOrganization:
		return docsSelfHostedRunners + "#" + what + "an-organization"
	}
	return docsSelfHostedRunners + "#" + what + "an-enterprise"
}

// writeGitHubErrorDoc is writeGitHubError with the documentation_url of the endpoint.
func writeGitHubErrorDoc(w http.ResponseWriter, status int, msg, doc string) {
	writeGitHubJSON(w, status, gitHubError{Message: msg, DocumentationURL: doc, Status: strconv.Itoa(status)})
}

// checkToken validates a Token of Options or of the control API.
func checkToken(t Token) error {
	if strings.TrimSpace(t.Value) == "" || strings.ContainsAny(t.Value, " \t\r\n/") {
		return fmt.Errorf("token %q: a token value is required, without spaces or slashes", t.Value)
	}
	return checkPermissions(t.Permissions)
}

func checkPermissions(perms map[string]string) error {
	for name, level := range perms {
		if permissionLevels[level] == 0 {
			return fmt.Errorf("permission %s: level %q, want read, write or admin", name, level)
		}
	}
	return nil
}
