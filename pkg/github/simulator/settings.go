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
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// Settings are the options that may change while the simulator runs: GET /_sim/settings
// reads them, PATCH /_sim/settings changes the ones it names.
type Settings struct {
	// SessionIdleTimeout is Options.SessionIdleTimeout (negative: sessions never expire). In
	// an update, zero leaves it as it is.
	SessionIdleTimeout time.Duration `json:"-"`
	// MinRunnerVersion is Options.MinRunnerVersion. In an update, "" leaves it as it is.
	MinRunnerVersion string `json:"minRunnerVersion,omitempty"`
}

type settingsAlias Settings

// MarshalJSON writes SessionIdleTimeout as a duration string.
func (s Settings) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		settingsAlias
		SessionIdleTimeout string `json:"sessionIdleTimeout,omitempty"`
	}{settingsAlias(s), durationString(s.SessionIdleTimeout)})
}

// UnmarshalJSON reads SessionIdleTimeout as a duration string or a number of seconds.
func (s *Settings) UnmarshalJSON(b []byte) error {
	var v struct {
		*settingsAlias
		SessionIdleTimeout json.RawMessage `json:"sessionIdleTimeout"`
	}
	v.settingsAlias = (*settingsAlias)(s)
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	d, err := parseDuration(v.SessionIdleTimeout)
	if err != nil {
		return fmt.Errorf("sessionIdleTimeout: %w", err)
	}
	s.SessionIdleTimeout = d
	return nil
}

// Settings returns the current settings.
func (s *Simulator) Settings() Settings {
	return Settings{SessionIdleTimeout: s.SessionIdleTimeout(), MinRunnerVersion: s.MinRunnerVersion()}
}

// UpdateSettings changes the settings u sets (non-zero fields) and returns them all. An
// invalid setting changes nothing.
func (s *Simulator) UpdateSettings(u Settings) (Settings, error) {
	if u.MinRunnerVersion != "" {
		if err := s.SetMinRunnerVersion(u.MinRunnerVersion); err != nil {
			return s.Settings(), fmt.Errorf("minRunnerVersion: %w", err)
		}
	}
	if u.SessionIdleTimeout != 0 {
		s.SetSessionIdleTimeout(u.SessionIdleTimeout)
	}
	return s.Settings(), nil
}

func (s *Simulator) settingsRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /_sim/settings", func(w http.ResponseWriter, r *http.Request) {
		ctlJSON(w, http.StatusOK, s.Settings())
	})
	mux.HandleFunc("PATCH /_sim/settings", func(w http.ResponseWriter, r *http.Request) {
		var u Settings
		if !ctlDecode(w, r, &u) {
			return
		}
		out, err := s.UpdateSettings(u)
		if err != nil {
			ctlError(w, http.StatusBadRequest, codeBadRequest, err)
			return
		}
		ctlJSON(w, http.StatusOK, out)
	})
}

// Settings reads the simulator's settings.
func (c *ControlClient) Settings() (Settings, error) {
	var out Settings
	_, err := c.do(http.MethodGet, "/_sim/settings", nil, &out)
	return out, err
}

// UpdateSettings changes the settings u sets (non-zero fields) and returns them all.
func (c *ControlClient) UpdateSettings(u Settings) (Settings, error) {
	var out Settings
	_, err := c.do(http.MethodPatch, "/_sim/settings", u, &out)
	return out, err
}
