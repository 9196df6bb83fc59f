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
	// RunnerLostTimeout is Options.RunnerLostTimeout (negative: a job fails as soon as its
	// runner goes away). In an update, zero leaves it as it is; jobs whose runner went away
	// longer ago than the new timeout fail at once.
	RunnerLostTimeout time.Duration `json:"-"`
	// MinRunnerVersion is Options.MinRunnerVersion. In an update, "" leaves it as it is.
	MinRunnerVersion string `json:"minRunnerVersion,omitempty"`
	// RESTRateLimit is Options.RESTRateLimit. In an update, 0 leaves it as it is; budgets
	// already spent stay spent.
	RESTRateLimit int `json:"restRateLimit,omitempty"`
	// RESTSecondaryLimit is Options.RESTSecondaryLimit (0: off). In an update, nil leaves it
	// as it is.
	RESTSecondaryLimit *int `json:"restSecondaryLimit,omitempty"`
	// JITConfigRate is Options.JITConfigRate (0: off). In an update, nil leaves it as it is.
	JITConfigRate *int `json:"jitConfigRate,omitempty"`
	// AnyAccount is Options.AnyAccount. In an update, nil leaves it as it is.
	AnyAccount *bool `json:"anyAccount,omitempty"`
}

type settingsAlias Settings

// MarshalJSON writes SessionIdleTimeout and RunnerLostTimeout as duration strings.
func (s Settings) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		settingsAlias
		SessionIdleTimeout string `json:"sessionIdleTimeout,omitempty"`
		RunnerLostTimeout  string `json:"runnerLostTimeout,omitempty"`
	}{settingsAlias(s), durationString(s.SessionIdleTimeout), durationString(s.RunnerLostTimeout)})
}

// UnmarshalJSON reads SessionIdleTimeout and RunnerLostTimeout as duration strings or numbers
// of seconds.
func (s *Settings) UnmarshalJSON(b []byte) error {
	var v struct {
		*settingsAlias
		SessionIdleTimeout json.RawMessage `json:"sessionIdleTimeout"`
		RunnerLostTimeout  json.RawMessage `json:"runnerLostTimeout"`
	}
	v.settingsAlias = (*settingsAlias)(s)
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	var err error
	if s.SessionIdleTimeout, err = parseDuration(v.SessionIdleTimeout); err != nil {
		return fmt.Errorf("sessionIdleTimeout: %w", err)
	}
	if s.RunnerLostTimeout, err = parseDuration(v.RunnerLostTimeout); err != nil {
		return fmt.Errorf("runnerLostTimeout: %w", err)
	}
	return nil
}

// Settings returns the current settings.
func (s *Simulator) Settings() Settings {
	out := Settings{SessionIdleTimeout: s.SessionIdleTimeout(), RunnerLostTimeout: s.RunnerLostTimeout(), MinRunnerVersion: s.MinRunnerVersion()}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.state
	secondary, jit, anyAccount := st.secondaryLimit, st.jitRate, st.anyAccount
	out.RESTRateLimit, out.RESTSecondaryLimit, out.JITConfigRate, out.AnyAccount = st.restLimit, &secondary, &jit, &anyAccount
	return out
}

// UpdateSettings changes the settings u sets (non-zero fields) and returns them all. An
// invalid setting changes nothing.
func (s *Simulator) UpdateSettings(u Settings) (Settings, error) {
	if u.MinRunnerVersion != "" {
		if err := s.SetMinRunnerVersion(u.MinRunnerVersion); err != nil {
			return s.Settings(), fmt.Errorf("minRunnerVersion: %w", err)
		}
	}
	if u.RESTRateLimit < 0 || (u.RESTSecondaryLimit != nil && *u.RESTSecondaryLimit < 0) || (u.JITConfigRate != nil && *u.JITConfigRate < 0) {
		return s.Settings(), fmt.Errorf("restRateLimit, restSecondaryLimit and jitConfigRate must not be negative")
	}
	if u.SessionIdleTimeout != 0 {
		s.SetSessionIdleTimeout(u.SessionIdleTimeout)
	}
	if u.RunnerLostTimeout != 0 {
		s.SetRunnerLostTimeout(u.RunnerLostTimeout)
	}
	s.updateLimits(u)
	return s.Settings(), nil
}

// updateLimits applies the rate limits and AnyAccount an update sets.
func (s *Simulator) updateLimits(u Settings) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.state
	if u.RESTRateLimit > 0 {
		st.restLimit = u.RESTRateLimit
	}
	if u.RESTSecondaryLimit != nil {
		st.secondaryLimit = *u.RESTSecondaryLimit
	}
	if u.JITConfigRate != nil {
		st.jitRate = *u.JITConfigRate
	}
	if u.AnyAccount != nil {
		st.anyAccount = *u.AnyAccount
	}
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
