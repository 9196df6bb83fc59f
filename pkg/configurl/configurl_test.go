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
package configurl

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	cases := []struct {
		in      string
		scope   Scope
		ent     string
		org     string
		repo    string
		hosted  bool
		apiBase string
	}{
		{"https://github.com/my-org", ScopeOrganization, "", "my-org", "", true, "https://api.github.com/"},
		{"https://github.com/my-org/", ScopeOrganization, "", "my-org", "", true, "https://api.github.com/"},
		{"https://www.github.com/my-org/my-repo", ScopeRepository, "", "my-org", "my-repo", true, "https://api.github.com/"},
		{"https://github.com/Enterprises/acme", ScopeEnterprise, "acme", "", "", true, "https://api.github.com/"},
		{"https://acme.ghe.com/team", ScopeOrganization, "", "team", "", true, "https://api.acme.ghe.com/"},
		{"https://ghes.example.com/org/repo", ScopeRepository, "", "org", "repo", false, "https://ghes.example.com/api/v3/"},
		{"http://127.0.0.1:8080/org", ScopeOrganization, "", "org", "", false, "http://127.0.0.1:8080/api/v3/"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			c, err := Parse(tc.in)
			require.NoError(t, err)
			assert.Equal(t, tc.scope, c.Scope)
			assert.Equal(t, tc.ent, c.Enterprise)
			assert.Equal(t, tc.org, c.Organization)
			assert.Equal(t, tc.repo, c.Repository)
			assert.Equal(t, tc.hosted, c.Hosted)
			assert.Equal(t, tc.apiBase, c.APIBase().String())
		})
	}
}

func TestParseRejects(t *testing.T) {
	for _, in := range []string{
		"", " https://github.com/org", "github.com/org", "ftp://github.com/org", "https://github.com",
		"https://github.com/", "https://github.com/a/b/c", "https://github.com/a//b", "https://user:pw@github.com/org",
		"https://github.com/org?x=1", "https:///org", "://bad",
	} {
		_, err := Parse(in)
		assert.Error(t, err, "input %q", in)
	}
}
