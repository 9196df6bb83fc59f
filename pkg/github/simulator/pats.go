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
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"k8s.io/klog/v2"
)

// Personal access tokens change while the simulator runs, so that a test can grant the scope
// a token lacked and watch its client recover.

// ErrTokenNotFound: the simulator does not accept this token.
var ErrTokenNotFound = errors.New("simulator: no such token")

const codeTokenNotFound = "TokenNotFound"

// addTokenLocked accepts t, replacing a token of the same value; fine says whether it is
// fine-grained.
func (st *state) addTokenLocked(t Token, fine bool) {
	t.Scopes = slices.Clone(t.Scopes)
	t.Permissions = maps.Clone(t.Permissions)
	t.FineGrained = fine
	if old := st.tokens[t.Value]; old != nil {
		old.Token, old.fine = t, fine
		return
	}
	st.nextUserID++
	st.tokens[t.Value] = &pat{Token: t, user: st.nextUserID, fine: fine}
}

func (p *pat) view() Token {
	t := p.Token
	t.Scopes = slices.Clone(t.Scopes)
	t.Permissions = maps.Clone(t.Permissions)
	return t
}

// SetToken accepts a personal access token from now on, replacing the one of the same value.
func (s *Simulator) SetToken(t Token) error {
	if err := checkToken(t); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state.addTokenLocked(t, t.fineGrained())
	klog.V(2).InfoS("Token set", "scopes", t.Scopes, "fineGrained", t.fineGrained(), "permissions", t.Permissions)
	return nil
}

// RemoveToken stops accepting a token (401 Bad credentials from now on); false if unknown.
func (s *Simulator) RemoveToken(value string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state.tokens[value] == nil {
		return false
	}
	delete(s.state.tokens, value)
	return true
}

// GrantToken adds classic scopes and sets fine-grained permissions (name to level) of a token.
func (s *Simulator) GrantToken(value string, scopes []string, permissions map[string]string) (Token, error) {
	if err := checkPermissions(permissions); err != nil {
		return Token{}, err
	}
	return s.changeToken(value, func(t *Token) {
		for _, sc := range scopes {
			if !slices.Contains(t.Scopes, sc) {
				t.Scopes = append(t.Scopes, sc)
			}
		}
		if len(permissions) > 0 && t.Permissions == nil {
			t.Permissions = map[string]string{}
		}
		maps.Copy(t.Permissions, permissions)
	})
}

// RevokeToken removes classic scopes and fine-grained permissions (by name) of a token.
func (s *Simulator) RevokeToken(value string, scopes, permissions []string) (Token, error) {
	return s.changeToken(value, func(t *Token) {
		t.Scopes = slices.DeleteFunc(t.Scopes, func(sc string) bool { return slices.Contains(scopes, sc) })
		for _, p := range permissions {
			delete(t.Permissions, p)
		}
	})
}

func (s *Simulator) changeToken(value string, change func(*Token)) (Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.state.tokens[value]
	if p == nil {
		return Token{}, ErrTokenNotFound
	}
	t := p.view()
	change(&t)
	p.Token = t
	klog.V(2).InfoS("Token changed", "scopes", t.Scopes, "permissions", t.Permissions)
	return p.view(), nil
}

// Tokens lists the accepted personal access tokens, by value.
func (s *Simulator) Tokens() []Token {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Token, 0, len(s.state.tokens))
	for _, p := range s.state.tokens {
		out = append(out, p.view())
	}
	slices.SortFunc(out, func(a, b Token) int { return strings.Compare(a.Value, b.Value) })
	return out
}

// tokenChange is the body of POST /_sim/tokens/{token}/grant and /revoke.
type tokenChange struct {
	Scopes      []string          `json:"scopes,omitempty"`
	Permissions map[string]string `json:"permissions,omitempty"`
}

// revokeChange names the permissions to revoke.
type revokeChange struct {
	Scopes      []string `json:"scopes,omitempty"`
	Permissions []string `json:"permissions,omitempty"`
}

func (s *Simulator) tokenRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /_sim/tokens", func(w http.ResponseWriter, r *http.Request) {
		ctlJSON(w, http.StatusOK, s.Tokens())
	})
	mux.HandleFunc("PUT /_sim/tokens", func(w http.ResponseWriter, r *http.Request) {
		var t Token
		if !ctlDecode(w, r, &t) {
			return
		}
		if err := s.SetToken(t); err != nil {
			ctlError(w, http.StatusBadRequest, codeBadRequest, err)
			return
		}
		ctlJSON(w, http.StatusOK, t)
	})
	mux.HandleFunc("DELETE /_sim/tokens/{token}", func(w http.ResponseWriter, r *http.Request) {
		if !s.RemoveToken(r.PathValue("token")) {
			ctlError(w, http.StatusNotFound, codeTokenNotFound, ErrTokenNotFound)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /_sim/tokens/{token}/grant", func(w http.ResponseWriter, r *http.Request) {
		var ch tokenChange
		if ctlDecode(w, r, &ch) {
			t, err := s.GrantToken(r.PathValue("token"), ch.Scopes, ch.Permissions)
			ctlTokenAnswer(w, t, err)
		}
	})
	mux.HandleFunc("POST /_sim/tokens/{token}/revoke", func(w http.ResponseWriter, r *http.Request) {
		var ch revokeChange
		if ctlDecode(w, r, &ch) {
			t, err := s.RevokeToken(r.PathValue("token"), ch.Scopes, ch.Permissions)
			ctlTokenAnswer(w, t, err)
		}
	})
}

func ctlTokenAnswer(w http.ResponseWriter, t Token, err error) {
	switch {
	case errors.Is(err, ErrTokenNotFound):
		ctlError(w, http.StatusNotFound, codeTokenNotFound, err)
	case err != nil:
		ctlError(w, http.StatusBadRequest, codeBadRequest, err)
	default:
		ctlJSON(w, http.StatusOK, t)
	}
}

// SetToken accepts a personal access token, replacing the one of the same value.
func (c *ControlClient) SetToken(t Token) error {
	_, err := c.do(http.MethodPut, "/_sim/tokens", t, nil)
	return err
}

// RemoveToken stops accepting a token.
func (c *ControlClient) RemoveToken(value string) error {
	_, err := c.do(http.MethodDelete, "/_sim/tokens/"+url.PathEscape(value), nil, nil)
	return err
}

// GrantToken adds classic scopes and sets fine-grained permissions of a token.
func (c *ControlClient) GrantToken(value string, scopes []string, permissions map[string]string) (Token, error) {
	var out Token
	_, err := c.do(http.MethodPost, "/_sim/tokens/"+url.PathEscape(value)+"/grant", tokenChange{Scopes: scopes, Permissions: permissions}, &out)
	return out, err
}

// RevokeToken removes classic scopes and fine-grained permissions (by name) of a token.
func (c *ControlClient) RevokeToken(value string, scopes, permissions []string) (Token, error) {
	var out Token
	_, err := c.do(http.MethodPost, "/_sim/tokens/"+url.PathEscape(value)+"/revoke", revokeChange{Scopes: scopes, Permissions: permissions}, &out)
	return out, err
}

// Tokens lists the accepted personal access tokens.
func (c *ControlClient) Tokens() ([]Token, error) {
	var out []Token
	_, err := c.do(http.MethodGet, "/_sim/tokens", nil, &out)
	return out, err
}
