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
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"k8s.io/klog/v2"
)

// App installations: an App acts on the accounts it is installed on, on all or selected
// repositories of each, with the permissions the installation grants.

// Repository selections of an installation.
const (
	SelectionAll      = "all"
	SelectionSelected = "selected"
)

// ErrInstallationNotFound: no installation with this id.
var ErrInstallationNotFound = errors.New("simulator: no such installation")

// Installation is an App's installation on an organization.
type Installation struct {
	ID int64 `json:"id"`
	// AppID is the App installed; in App.Installations it may be left 0 (that App).
	AppID int64 `json:"appId,omitempty"`
	// Account is the organization's login. It is "" only for the installation App.InstallationID
	// stands for, which is on every account.
	Account string `json:"account,omitempty"`
	// RepositorySelection is "all" (the default) or "selected" (Repositories only).
	RepositorySelection string `json:"repositorySelection,omitempty"`
	// Repositories are the selected repositories, "app" or "acme/app".
	Repositories []string `json:"repositories,omitempty"`
	// Permissions granted, name to "read", "write" or "admin"; nil grants what ARC needs
	// (DefaultInstallationPermissions), an empty map nothing.
	Permissions map[string]string `json:"permissions"`
}

// DefaultInstallationPermissions are the permissions ARC's documentation asks of an App:
// repository Administration (write) and Metadata (read), organization Self-hosted runners
// (write).
func DefaultInstallationPermissions() map[string]string {
	return map[string]string{
		PermissionAdministration: "write", PermissionMetadata: "read", PermissionOrganizationSelfHostedRunners: "write",
	}
}

// installation is an Installation in force.
type installation struct {
	Installation
	everywhere bool            // App.InstallationID: every account, every repository
	repos      map[string]bool // lower-case names of the selected repositories
}

// covers reports whether the installation sees the scope (enterprises aside).
func (in *installation) covers(sc scope) bool {
	switch {
	case in.everywhere:
		return true
	case sc.org != strings.ToLower(in.Account):
		return false
	}
	return sc.kind == scopeOrganization || in.RepositorySelection == SelectionAll || in.repos[sc.repo]
}

// newInstallation checks and normalizes an Installation of app.
func newInstallation(in Installation, app int64) (*installation, error) {
	in.AppID = app
	sc, name, err := parseAccount(in.Account)
	if err != nil || sc.kind != scopeOrganization {
		return nil, fmt.Errorf("installation %d: account %q must be an organization login", in.ID, in.Account)
	}
	in.Account = name
	switch in.RepositorySelection {
	case "":
		in.RepositorySelection = SelectionAll
	case SelectionAll, SelectionSelected:
	default:
		return nil, fmt.Errorf("installation %d: repositorySelection %q, want all or selected", in.ID, in.RepositorySelection)
	}
	out := &installation{repos: map[string]bool{}}
	var repos []string
	for _, r := range in.Repositories {
		owner, repo, ok := strings.Cut(strings.Trim(r, "/"), "/")
		if !ok {
			owner, repo = in.Account, owner
		}
		if !strings.EqualFold(owner, in.Account) || repo == "" || strings.Contains(repo, "/") {
			return nil, fmt.Errorf("installation %d: repository %q is not one of %s", in.ID, r, in.Account)
		}
		repos = append(repos, in.Account+"/"+repo)
		out.repos[strings.ToLower(repo)] = true
	}
	in.Repositories = repos
	if in.Permissions == nil {
		in.Permissions = DefaultInstallationPermissions()
	}
	in.Permissions = maps.Clone(in.Permissions)
	if err := checkPermissions(in.Permissions); err != nil {
		return nil, fmt.Errorf("installation %d: %w", in.ID, err)
	}
	out.Installation = in
	return out, nil
}

// everywhereInstallation is what App.InstallationID means: today's behaviour before
// installations were named, every account with every permission.
func everywhereInstallation(id, app int64) *installation {
	return &installation{Installation: Installation{ID: id, AppID: app, RepositorySelection: SelectionAll,
		Permissions: DefaultInstallationPermissions()}, everywhere: true}
}

// installLocked puts an installation in force. The account and selected repositories are
// declared: an App can only be installed on what exists.
func (st *state) installLocked(in *installation) {
	if in.ID == 0 {
		in.ID = max(defaultInstallationIDBase, st.maxInstallationID) + 1
	}
	st.maxInstallationID = max(st.maxInstallationID, in.ID)
	st.installations[in.ID] = in
	if in.everywhere {
		return
	}
	st.declareLocked(scope{kind: scopeOrganization, org: strings.ToLower(in.Account)}, in.Account)
	for _, r := range in.Repositories {
		sc, name, _ := parseAccount(r)
		st.declareLocked(sc, name)
	}
}

// appInstallations are the installations of Options.Apps.
func appInstallations(apps []App) ([]*installation, error) {
	var out []*installation
	seen := map[int64]bool{}
	for _, a := range apps {
		for _, in := range a.Installations {
			n, err := newInstallation(in, a.AppID)
			if err != nil {
				return nil, fmt.Errorf("App %d: %w", a.AppID, err)
			}
			if n.ID <= 0 || seen[n.ID] {
				return nil, fmt.Errorf("App %d: installation id %d must be positive and unique", a.AppID, n.ID)
			}
			seen[n.ID] = true
			out = append(out, n)
		}
		if a.InstallationID != 0 && !seen[a.InstallationID] {
			seen[a.InstallationID] = true
			out = append(out, everywhereInstallation(a.InstallationID, a.AppID))
		}
	}
	return out, nil
}

// Install installs an App (in.AppID, one of Options.Apps) on an organization, or replaces the
// installation of the same id; id 0 picks one. Its tokens see the new installation at once.
func (s *Simulator) Install(in Installation) (Installation, error) {
	if s.apps[strconv.FormatInt(in.AppID, 10)] == nil {
		return Installation{}, fmt.Errorf("simulator: no App %d", in.AppID)
	}
	n, err := newInstallation(in, in.AppID)
	if err != nil {
		return Installation{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.state.installations[in.ID]; old != nil && old.AppID != in.AppID {
		return Installation{}, fmt.Errorf("simulator: installation %d belongs to App %d", in.ID, old.AppID)
	}
	s.state.installLocked(n)
	klog.V(2).InfoS("App installed", "appID", n.AppID, "installationID", n.ID, "account", n.Account,
		"repositorySelection", n.RepositorySelection, "repositories", n.Repositories)
	return n.view(), nil
}

// Uninstall removes an installation: its tokens answer 401 Bad credentials from now on.
func (s *Simulator) Uninstall(id int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state.installations[id] == nil {
		return false
	}
	delete(s.state.installations, id)
	return true
}

// Installations lists the installations in force, by id.
func (s *Simulator) Installations() []Installation {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Installation, 0, len(s.state.installations))
	for _, in := range s.state.installations {
		out = append(out, in.view())
	}
	slices.SortFunc(out, func(a, b Installation) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

func (in *installation) view() Installation {
	v := in.Installation
	v.Repositories = slices.Clone(v.Repositories)
	v.Permissions = maps.Clone(v.Permissions)
	return v
}
