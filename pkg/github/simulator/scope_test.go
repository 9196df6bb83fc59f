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

import "testing"

// TestParseConfigURL: the shapes of the reference (§1.1), github.com's and a GHES host's.
func TestParseConfigURL(t *testing.T) {
	for raw, want := range map[string]scope{
		"https://github.com/Acme":                {kind: scopeOrganization, org: "acme"},
		"https://github.com/acme/App/":           {kind: scopeRepository, org: "acme", repo: "app"},
		"https://github.com/Enterprises/Big":     {kind: scopeEnterprise, enterprise: "big"},
		"http://127.0.0.1:8090/acme/app":         {kind: scopeRepository, org: "acme", repo: "app"},
		"https://ghes.example.com/enterprises/x": {kind: scopeEnterprise, enterprise: "x"},
	} {
		if got, err := parseConfigURL(raw); err != nil || got != want {
			t.Errorf("parseConfigURL(%q) = %+v, %v; want %+v", raw, got, err, want)
		}
	}
	for _, raw := range []string{
		"", " https://github.com/acme", "https://github.com", "https://github.com/a/b/c", "https://github.com/a//b",
		"ftp://github.com/acme", "https:///acme", "https://u:p@github.com/acme", "https://github.com/acme?x=1",
		"https://github.com/acme#top",
	} {
		if sc, err := parseConfigURL(raw); err == nil {
			t.Errorf("parseConfigURL(%q) = %+v, want an error", raw, sc)
		}
	}
}
