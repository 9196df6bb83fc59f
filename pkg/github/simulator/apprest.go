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
	"errors"
	"net/http"
	"strconv"
	"strings"
)

// The App endpoints of GitHub REST beyond the installation token: what an installation is
// and which repositories it sees, so that a client can tell "installed elsewhere" from
// "lacks a permission".

// Endpoint names of the App endpoints, as counters and faults know them.
const (
	EPGetInstallation              = "GetInstallation"
	EPListInstallationRepositories = "ListInstallationRepositories"
)

// installationRoutes serves the App endpoints, with and without /api/v3.
func (s *Simulator) installationRoutes(mux *http.ServeMux) {
	for _, prefix := range []string{"", "/api/v3"} {
		mux.HandleFunc("GET "+prefix+"/app/installations/{installation}",
			s.endpoint(EPGetInstallation, endpointGroupGitHub, nil, s.handleGetInstallation))
		mux.HandleFunc("GET "+prefix+"/installation/repositories",
			s.endpoint(EPListInstallationRepositories, endpointGroupGitHub, nil, s.handleInstallationRepositories))
	}
}

// appFromJWT checks the App JWT of a request; it answers the request itself when it fails.
func (s *Simulator) appFromJWT(w http.ResponseWriter, r *http.Request) (App, bool) {
	raw := bearer(r, "Bearer")
	if raw == "" {
		writeGitHubError(w, http.StatusUnauthorized, "A JSON web token could not be decoded")
		return App{}, false
	}
	app, err := s.verifyAppJWT(raw)
	if err != nil {
		writeGitHubError(w, http.StatusUnauthorized, err.Error())
		return App{}, false
	}
	return app, true
}

// installationOfLocked is the installation {installation} of app; nil when it is unknown or
// another App's, which GitHub answers alike (404).
func (s *Simulator) installationOfLocked(r *http.Request, app App) *installation {
	id, err := strconv.ParseInt(r.PathValue("installation"), 10, 64)
	if err != nil {
		return nil
	}
	in := s.state.installations[id]
	if in == nil || in.AppID != app.AppID {
		return nil
	}
	return in
}

// handleGetInstallation: GET /app/installations/{id} with an App JWT.
func (s *Simulator) handleGetInstallation(w http.ResponseWriter, r *http.Request) {
	app, ok := s.appFromJWT(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.installationOfLocked(r, app)
	if in == nil {
		writeGitHubErrorDoc(w, http.StatusNotFound, "Not Found", docsGetInstallation)
		return
	}
	var accountID int64
	if a := s.state.accounts[strings.ToLower(in.Account)]; a != nil {
		accountID = a.id
	}
	writeGitHubJSON(w, http.StatusOK, map[string]any{
		"id":                   in.ID,
		"account":              map[string]any{"login": in.Account, "id": accountID, "type": "Organization"},
		"repository_selection": in.RepositorySelection,
		"app_id":               in.AppID,
		"client_id":            app.ClientID,
		"target_id":            accountID,
		"target_type":          "Organization",
		"permissions":          in.Permissions,
		"events":               []string{},
		"suspended_at":         nil,
	})
}

type restOwner struct {
	Login string `json:"login"`
	ID    int64  `json:"id"`
	Type  string `json:"type"`
}

type restRepository struct {
	ID       int64     `json:"id"`
	Name     string    `json:"name"`
	FullName string    `json:"full_name"`
	Private  bool      `json:"private"`
	Owner    restOwner `json:"owner"`
}

// handleInstallationRepositories: GET /installation/repositories with an installation token:
// the declared repositories the installation sees, paginated like the runner lists.
func (s *Simulator) handleInstallationRepositories(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	perPage, page := pageParams(q)
	c, ok := s.authREST(w, r, restCheck{charge: true})
	if !ok {
		return
	}
	if c.kind != credInstallation {
		writeGitHubErrorDoc(w, http.StatusForbidden, msgInstallationTokenRequired, docsListInstallationRepositories)
		return
	}
	s.mu.Lock()
	all := s.state.visibleRepositoriesLocked(c.inst)
	selection := c.inst.RepositorySelection
	s.mu.Unlock()
	repos := []restRepository{}
	if from := (page - 1) * perPage; from < len(all) {
		repos = all[from:min(from+perPage, len(all))]
	}
	if last := (len(all) + perPage - 1) / perPage; last > 1 {
		w.Header().Set("Link", linkHeader(s.originsFor(r).rest+r.URL.Path, q, page, last))
	}
	writeGitHubJSON(w, http.StatusOK, map[string]any{
		"total_count": len(all), "repository_selection": selection, "repositories": repos,
	})
}

// visibleRepositoriesLocked are the declared repositories an installation sees, by id.
func (st *state) visibleRepositoriesLocked(in *installation) []restRepository {
	org := strings.ToLower(in.Account)
	if in.everywhere {
		org = ""
	}
	var out []restRepository
	for _, a := range st.repositoriesLocked(org) {
		if !in.covers(a.sc) {
			continue
		}
		ownerName, repoName, _ := strings.Cut(a.name, "/")
		owner := restOwner{Login: ownerName, Type: "Organization"}
		if o := st.accounts[a.sc.org]; o != nil {
			owner.Login, owner.ID = o.name, o.id
		}
		out = append(out, restRepository{ID: a.id, Name: repoName, FullName: owner.Login + "/" + repoName, Private: true, Owner: owner})
	}
	return out
}

// installationControlRoutes serves /_sim/installations.
func (s *Simulator) installationControlRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /_sim/installations", func(w http.ResponseWriter, r *http.Request) {
		ctlJSON(w, http.StatusOK, s.Installations())
	})
	mux.HandleFunc("POST /_sim/installations", func(w http.ResponseWriter, r *http.Request) {
		var in Installation
		if !ctlDecode(w, r, &in) {
			return
		}
		out, err := s.Install(in)
		if err != nil {
			ctlError(w, http.StatusBadRequest, codeBadRequest, err)
			return
		}
		ctlJSON(w, http.StatusCreated, out)
	})
	mux.HandleFunc("DELETE /_sim/installations/{id}", func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil {
			ctlError(w, http.StatusBadRequest, codeBadRequest, errors.New("id must be an integer"))
			return
		}
		if !s.Uninstall(id) {
			ctlError(w, http.StatusNotFound, codeNotFound, ErrInstallationNotFound)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// Install installs an App on an organization (see Simulator.Install).
func (c *ControlClient) Install(in Installation) (Installation, error) {
	var out Installation
	_, err := c.do(http.MethodPost, "/_sim/installations", in, &out)
	return out, err
}

// Uninstall removes an installation; its tokens stop working.
func (c *ControlClient) Uninstall(id int64) error {
	_, err := c.do(http.MethodDelete, "/_sim/installations/"+strconv.FormatInt(id, 10), nil, nil)
	return err
}

// Installations lists the installations in force.
func (c *ControlClient) Installations() ([]Installation, error) {
	var out []Installation
	_, err := c.do(http.MethodGet, "/_sim/installations", nil, &out)
	return out, err
}
