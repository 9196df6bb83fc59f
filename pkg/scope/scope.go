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

// Package scope is the set of namespaces the server serves RunnerSets in: every namespace
// (cluster mode), or those --watch-namespaces lists (namespaced mode), where the server holds
// its rights on pods, Secrets, events and RBAC objects through Roles in those namespaces only.
package scope

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// Namespaces is a set of namespaces, or all of them. The zero value is all.
type Namespaces struct {
	list []string
}

// All is cluster mode.
var All = Namespaces{}

// New returns the namespaces listed (sorted, without duplicates); none listed is all.
func New(list []string) (Namespaces, error) {
	var out []string
	for _, ns := range list {
		ns = strings.TrimSpace(ns)
		if ns == "" {
			continue
		}
		if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
			return All, fmt.Errorf("namespace %q: %s", ns, strings.Join(errs, "; "))
		}
		out = append(out, ns)
	}
	slices.Sort(out)
	return Namespaces{list: slices.Compact(out)}, nil
}

// IsAll tells cluster mode.
func (n Namespaces) IsAll() bool { return len(n.list) == 0 }

// Contains tells whether namespace ns is served.
func (n Namespaces) Contains(ns string) bool {
	return n.IsAll() || slices.Contains(n.list, ns)
}

// List returns the namespaces, nil for all.
func (n Namespaces) List() []string { return slices.Clone(n.list) }

func (n Namespaces) String() string {
	if n.IsAll() {
		return "all namespaces"
	}
	return strings.Join(n.list, ", ")
}
