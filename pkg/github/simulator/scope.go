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
	"net/url"
	"slices"
	"strings"
)

// Config URLs are parsed here, from the reference (§1.1), not by the client's package
// configurl: a client that misreads a config URL must meet a simulator that reads it right.

// scopeKind is what a config URL points at.
type scopeKind int

const (
	scopeEnterprise scopeKind = iota + 1
	scopeOrganization
	scopeRepository
)

// scope is what a tenant (and its scale sets) may see, in lower case.
type scope struct {
	kind                  scopeKind
	enterprise, org, repo string
}

var errScopePath = errors.New("want an organization, an organization/repository or enterprises/name")

// parseConfigURL reads a githubConfigUrl: http(s), a host, no credentials, query or fragment,
// and a path of one segment (organization), enterprises/<name> or <owner>/<repo>.
func parseConfigURL(raw string) (scope, error) {
	if raw == "" || strings.TrimSpace(raw) != raw {
		return scope{}, errors.New("not a URL")
	}
	u, err := url.Parse(strings.TrimSuffix(raw, "/"))
	if err != nil {
		return scope{}, err
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Hostname() == "" {
		return scope{}, errors.New("want an http(s) URL with a host")
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return scope{}, errors.New("must not carry credentials, a query or a fragment")
	}
	return parseScopePath(u.Path)
}

// parseScopePath reads "org", "org/repo" or "enterprises/name", surrounding slashes ignored.
func parseScopePath(path string) (scope, error) {
	p := strings.Trim(path, "/")
	if p == "" {
		return scope{}, errScopePath
	}
	parts := strings.Split(strings.ToLower(p), "/")
	if slices.Contains(parts, "") {
		return scope{}, errScopePath
	}
	switch {
	case len(parts) == 1:
		return scope{kind: scopeOrganization, org: parts[0]}, nil
	case len(parts) == 2 && parts[0] == "enterprises":
		return scope{kind: scopeEnterprise, enterprise: parts[1]}, nil
	case len(parts) == 2:
		return scope{kind: scopeRepository, org: parts[0], repo: parts[1]}, nil
	}
	return scope{}, errScopePath
}

func (sc scope) key() string {
	switch sc.kind {
	case scopeEnterprise:
		return "enterprises/" + sc.enterprise
	case scopeRepository:
		return sc.org + "/" + sc.repo
	}
	return sc.org
}

// sees reports whether a job of owner/repo is visible to runners registered at this scope:
// a repository sees its own jobs, an organization its repositories', an enterprise all.
func (sc scope) sees(owner, repo string) bool {
	switch sc.kind {
	case scopeEnterprise:
		return true
	case scopeOrganization:
		return strings.EqualFold(owner, sc.org)
	case scopeRepository:
		return strings.EqualFold(owner, sc.org) && strings.EqualFold(repo, sc.repo)
	}
	return false
}
