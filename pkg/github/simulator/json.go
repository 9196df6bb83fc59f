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
	"time"
)

// Durations in the control API's JSON are Go duration strings ("90s", "1m30s"); a bare
// number is read as seconds, which is handier with curl.

func durationString(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return d.String()
}

func parseDuration(raw json.RawMessage) (time.Duration, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		if s == "" {
			return 0, nil
		}
		return time.ParseDuration(s)
	}
	var secs float64
	if err := json.Unmarshal(raw, &secs); err != nil {
		return 0, fmt.Errorf("duration must be a string such as \"30s\" or a number of seconds")
	}
	return time.Duration(secs * float64(time.Second)), nil
}

type jobAlias Job

// MarshalJSON writes Duration as a duration string.
func (j Job) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		jobAlias
		Duration string `json:"duration,omitempty"`
	}{jobAlias(j), durationString(j.Duration)})
}

// UnmarshalJSON reads Duration as a duration string or a number of seconds.
func (j *Job) UnmarshalJSON(b []byte) error {
	var v struct {
		*jobAlias
		Duration json.RawMessage `json:"duration"`
	}
	v.jobAlias = (*jobAlias)(j)
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	d, err := parseDuration(v.Duration)
	if err != nil {
		return fmt.Errorf("duration: %w", err)
	}
	j.Duration = d
	return nil
}

type faultAlias Fault

// MarshalJSON writes RetryAfter and Delay as duration strings.
func (f Fault) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		faultAlias
		RetryAfter string `json:"retryAfter,omitempty"`
		Delay      string `json:"delay,omitempty"`
	}{faultAlias(f), durationString(f.RetryAfter), durationString(f.Delay)})
}

// UnmarshalJSON reads RetryAfter and Delay as duration strings or numbers of seconds.
func (f *Fault) UnmarshalJSON(b []byte) error {
	var v struct {
		*faultAlias
		RetryAfter json.RawMessage `json:"retryAfter"`
		Delay      json.RawMessage `json:"delay"`
	}
	v.faultAlias = (*faultAlias)(f)
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	var err error
	if f.RetryAfter, err = parseDuration(v.RetryAfter); err != nil {
		return fmt.Errorf("retryAfter: %w", err)
	}
	if f.Delay, err = parseDuration(v.Delay); err != nil {
		return fmt.Errorf("delay: %w", err)
	}
	return nil
}
