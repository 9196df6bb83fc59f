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
// Package configurl parses a githubConfigUrl into the scope runners register to and the place
// GitHub's REST API lives, following the rules of the Actions runner scale set protocol.
package configurl

import (
	"fmt"
	"net/url"
	"strings"
)

// Scope is what a config URL points at.
type Scope string

const (
	ScopeEnterprise   Scope = "enterprise"
	ScopeOrganization Scope = "organization"
	ScopeRepository   Scope = "repository"
)

// ConfigURL is a parsed githubConfigUrl.
type ConfigURL struct {
	// URL is the input with surrounding slashes of the path trimmed.
	URL *url.URL
	// Scope is enterprise, organization or repository.
	Scope Scope
	// Enterprise, Organization and Repository name the scope; Repository goes with Organization
	// (its owner).
	Enterprise, Organization, Repository string
	// Hosted is true for github.com and GHE.com; false means GitHub Enterprise Server.
	Hosted bool
}

// Parse checks that raw is an http(s) URL of a repository, organization or enterprise.
func Parse(raw string) (*ConfigURL, error) {
	if strings.TrimSpace(raw) != raw || raw == "" {
		return nil, fmt.Errorf("must be a URL such as https://github.com/my-org")
	}
	u, err := url.Parse(strings.TrimSuffix(raw, "/"))
	if err != nil {
		return nil, fmt.Errorf("not a URL: %v", err)
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return nil, fmt.Errorf("scheme must be https or http")
	}
	if u.Host == "" || u.Hostname() == "" {
		return nil, fmt.Errorf("must name a host")
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("must not carry credentials, a query or a fragment")
	}
	c := &ConfigURL{URL: u, Hosted: isHosted(u.Hostname())}
	path := strings.Trim(u.Path, "/")
	var parts []string
	if path != "" {
		parts = strings.Split(path, "/")
	}
	for _, p := range parts {
		if p == "" {
			return nil, fmt.Errorf("path must not contain empty segments")
		}
	}
	switch {
	case len(parts) == 1:
		c.Scope, c.Organization = ScopeOrganization, parts[0]
	case len(parts) == 2 && strings.EqualFold(parts[0], "enterprises"):
		c.Scope, c.Enterprise = ScopeEnterprise, parts[1]
	case len(parts) == 2:
		c.Scope, c.Organization, c.Repository = ScopeRepository, parts[0], parts[1]
	default:
		return nil, fmt.Errorf("must point to an enterprise (https://github.com/enterprises/NAME), an organization (https://github.com/ORG) or a repository (https://github.com/ORG/REPO)")
	}
	return c, nil
}

// isHosted reports whether host is GitHub's own service rather than an Enterprise Server.
func isHosted(host string) bool {
	h := strings.ToLower(host)
	return h == "github.com" || h == "www.github.com" || h == "github.localhost" || strings.HasSuffix(h, ".ghe.com")
}

// APIBase is where GitHub's REST API lives for this config URL.
func (c *ConfigURL) APIBase() *url.URL {
	if c.Hosted {
		host := strings.TrimPrefix(strings.ToLower(c.URL.Host), "www.")
		return &url.URL{Scheme: c.URL.Scheme, Host: "api." + host, Path: "/"}
	}
	return &url.URL{Scheme: c.URL.Scheme, Host: c.URL.Host, Path: "/api/v3/"}
}
