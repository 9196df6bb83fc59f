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
	"net/http"
	"slices"
	"strings"

	"k8s.io/klog/v2"
)

// Accounts: organizations, repositories and enterprises exist only once declared, so that a
// config URL with a typo meets GitHub's 404 instead of registering runners somewhere.

// account is a declared organization, repository or enterprise.
type account struct {
	sc   scope
	name string // as declared, e.g. "Acme/App"
	id   int64  // GitHub's numeric id, for REST answers
}

// parseAccount reads "org", "org/repo" or "enterprises/name" (surrounding slashes ignored).
func parseAccount(path string) (scope, string, error) {
	p := strings.Trim(strings.TrimSpace(path), "/")
	sc, err := parseScopePath(p)
	if err != nil || strings.ContainsAny(p, " \t?#%") {
		return scope{}, "", fmt.Errorf("account %q: want \"org\", \"org/repo\" or \"enterprises/name\"", path)
	}
	return sc, p, nil
}

// declareLocked makes an account exist; a repository's owner organization comes with it.
func (st *state) declareLocked(sc scope, name string) {
	if sc.kind == scopeRepository {
		owner, _, _ := strings.Cut(name, "/")
		st.declareLocked(scope{kind: scopeOrganization, org: sc.org}, owner)
	}
	if st.accounts[sc.key()] != nil {
		return
	}
	st.nextAccountID++
	st.accounts[sc.key()] = &account{sc: sc, name: name, id: st.nextAccountID}
}

// accountExistsLocked reports whether GitHub knows the account a scope names.
func (st *state) accountExistsLocked(sc scope) bool {
	return st.anyAccount || st.accounts[sc.key()] != nil
}

// removeAccountLocked deletes an account; an organization takes its repositories with it,
// as deleting an organization on GitHub does.
func (st *state) removeAccountLocked(sc scope) bool {
	if st.accounts[sc.key()] == nil {
		return false
	}
	delete(st.accounts, sc.key())
	if sc.kind == scopeOrganization {
		for k, a := range st.accounts {
			if a.sc.kind == scopeRepository && a.sc.org == sc.org {
				delete(st.accounts, k)
			}
		}
	}
	return true
}

// repositoriesLocked lists the declared repositories of an organization ("" for all), by id.
func (st *state) repositoriesLocked(org string) []*account {
	var out []*account
	for _, a := range st.accounts {
		if a.sc.kind == scopeRepository && (org == "" || a.sc.org == org) {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(a, b *account) int { return cmp.Compare(a.id, b.id) })
	return out
}

// DeclareAccount makes an organization ("acme"), a repository ("acme/app", and with it its
// organization) or an enterprise ("enterprises/big") exist.
func (s *Simulator) DeclareAccount(path string) error {
	sc, name, err := parseAccount(path)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state.declareLocked(sc, name)
	return nil
}

// RemoveAccount deletes a declared account (an organization with its repositories): REST calls
// for it answer 404 from now on. It reports whether the account was declared.
func (s *Simulator) RemoveAccount(path string) bool {
	sc, _, err := parseAccount(path)
	if err != nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state.removeAccountLocked(sc)
}

// Accounts lists the declared accounts as declared ("acme", "acme/app", "enterprises/big"),
// sorted.
func (s *Simulator) Accounts() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.state.accounts))
	for _, a := range s.state.accounts {
		out = append(out, a.name)
	}
	slices.Sort(out)
	return out
}

// declareForConfigURL declares the account of a config URL a caller asked for; a path that
// names no account (a test of a malformed URL) declares nothing.
func (s *Simulator) declareForConfigURL(path string) {
	if err := s.DeclareAccount(path); err != nil {
		klog.V(4).InfoS("Config URL names no account; nothing declared", "path", path)
	}
}

// SetAnyAccount switches Options.AnyAccount while the simulator runs.
func (s *Simulator) SetAnyAccount(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state.anyAccount = on
}

// AnyAccount reports whether every account exists (Options.AnyAccount).
func (s *Simulator) AnyAccount() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state.anyAccount
}

// accountRoutes serves /_sim/accounts.
func (s *Simulator) accountRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /_sim/accounts", func(w http.ResponseWriter, r *http.Request) {
		ctlJSON(w, http.StatusOK, s.Accounts())
	})
	mux.HandleFunc("POST /_sim/accounts", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Path string `json:"path"`
		}
		if !ctlDecode(w, r, &req) {
			return
		}
		if err := s.DeclareAccount(req.Path); err != nil {
			ctlError(w, http.StatusBadRequest, codeBadRequest, err)
			return
		}
		ctlJSON(w, http.StatusCreated, map[string]string{"path": strings.Trim(strings.TrimSpace(req.Path), "/")})
	})
	mux.HandleFunc("DELETE /_sim/accounts/{path...}", func(w http.ResponseWriter, r *http.Request) {
		if !s.RemoveAccount(r.PathValue("path")) {
			ctlError(w, http.StatusNotFound, codeNotFound, errors.New("no such account"))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// DeclareAccount makes an account exist ("acme", "acme/app" or "enterprises/big").
func (c *ControlClient) DeclareAccount(path string) error {
	_, err := c.do(http.MethodPost, "/_sim/accounts", map[string]string{"path": path}, nil)
	return err
}

// RemoveAccount deletes a declared account (an organization with its repositories).
func (c *ControlClient) RemoveAccount(path string) error {
	_, err := c.do(http.MethodDelete, "/_sim/accounts/"+strings.Trim(path, "/"), nil, nil)
	return err
}

// Accounts lists the declared accounts.
func (c *ControlClient) Accounts() ([]string, error) {
	var out []string
	_, err := c.do(http.MethodGet, "/_sim/accounts", nil, &out)
	return out, err
}
