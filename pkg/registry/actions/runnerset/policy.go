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

package runnerset

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"

	"actions.dev/runnerset-apiserver/pkg/apis/actions"
	"actions.dev/runnerset-apiserver/pkg/hostallow"
	"actions.dev/runnerset-apiserver/pkg/scope"
)

// Policy is what this server allows RunnerSets beyond their validation: what their authors must
// hold, which hosts they may name and how many runners and RunnerSets there may be. It is
// enforced in the registry, as Kubernetes enforces RBAC's escalation check in the storage of
// Roles, so no admission configuration can leave it out.
type Policy struct {
	// Authorizer decides whether the requester holds a right (a SubjectAccessReview, cached by
	// the delegating authorizer). Nil skips the check (unit tests of other things).
	Authorizer authorizer.UnconditionalAuthorizer
	// Hosts are the hosts a RunnerSet may name (nil: any).
	Hosts *hostallow.List
	// Namespaces are those RunnerSets may be created in (the zero value: any).
	Namespaces scope.Namespaces
	// MaxRunners caps spec.maxRunners and spec.minRunners of every RunnerSet (0: no cap).
	MaxRunners int32
	// MaxPerNamespace caps the RunnerSets of one namespace (0: no cap).
	MaxPerNamespace int
	// Count tells how many RunnerSets a namespace holds; needed with MaxPerNamespace.
	Count func(ctx context.Context, namespace string) (int, error)
}

// Create applies the policy after the other validations of a create.
func (r *REST) Create(ctx context.Context, obj runtime.Object, createValidation rest.ValidateObjectFunc, options *metav1.CreateOptions) (runtime.Object, error) {
	return r.Store.Create(ctx, obj, r.policy.onCreate(createValidation), options)
}

// Update applies the policy after the other validations of an update, and of a create through
// an update (server-side apply of a new object).
func (r *REST) Update(ctx context.Context, name string, objInfo rest.UpdatedObjectInfo, createValidation rest.ValidateObjectFunc,
	updateValidation rest.ValidateObjectUpdateFunc, forceAllowCreate bool, options *metav1.UpdateOptions) (runtime.Object, bool, error) {
	return r.Store.Update(ctx, name, objInfo, r.policy.onCreate(createValidation), r.policy.onUpdate(updateValidation), forceAllowCreate, options)
}

func (p *Policy) onCreate(next rest.ValidateObjectFunc) rest.ValidateObjectFunc {
	return func(ctx context.Context, obj runtime.Object) error {
		if next != nil {
			if err := next(ctx, obj); err != nil {
				return err
			}
		}
		return p.admit(ctx, obj.(*actions.RunnerSet), nil)
	}
}

func (p *Policy) onUpdate(next rest.ValidateObjectUpdateFunc) rest.ValidateObjectUpdateFunc {
	return func(ctx context.Context, obj, old runtime.Object) error {
		if next != nil {
			if err := next(ctx, obj, old); err != nil {
				return err
			}
		}
		return p.admit(ctx, obj.(*actions.RunnerSet), old.(*actions.RunnerSet))
	}
}

// admit checks rs (old is nil on create): bounds and hosts first, as 422s with field paths,
// then the author's rights, as a 403 naming each right she lacks.
func (p *Policy) admit(ctx context.Context, rs, old *actions.RunnerSet) error {
	if p == nil {
		return nil
	}
	if old == nil && !p.Namespaces.Contains(rs.Namespace) {
		// Not a 422: nothing in the object is wrong, the server has no rights in that namespace.
		return apierrors.NewForbidden(actions.Resource("runnersets"), rs.Name, fmt.Errorf(
			"this server serves RunnerSets only in namespaces %s (its --watch-namespaces); ask its operator to add %s", p.Namespaces, rs.Namespace))
	}
	errs := p.checkBounds(rs, old)
	errs = append(errs, p.checkHosts(rs, old)...)
	if old == nil {
		errs = append(errs, p.checkCount(ctx, rs)...)
	}
	if len(errs) > 0 {
		return apierrors.NewInvalid(actions.Kind("RunnerSet"), rs.Name, errs)
	}
	return p.checkRights(ctx, rs, old)
}

func (p *Policy) checkBounds(rs, old *actions.RunnerSet) field.ErrorList {
	if p.MaxRunners <= 0 {
		return nil
	}
	var errs field.ErrorList
	check := func(v, was *int32, name string) {
		if v == nil || *v <= p.MaxRunners || (was != nil && *was == *v) {
			return // within the cap, or unchanged since a cap was lowered
		}
		errs = append(errs, field.Invalid(field.NewPath("spec", name), *v,
			fmt.Sprintf("must be at most %d, the most runners this server runs for one RunnerSet (--max-runners-per-runnerset)", p.MaxRunners)))
	}
	var oldMin, oldMax *int32
	if old != nil {
		oldMin, oldMax = old.Spec.MinRunners, old.Spec.MaxRunners
	}
	check(rs.Spec.MinRunners, oldMin, "minRunners")
	check(rs.Spec.MaxRunners, oldMax, "maxRunners")
	return errs
}

// checkHosts refuses a config URL or proxy outside the allowed hosts, when it is new.
func (p *Policy) checkHosts(rs, old *actions.RunnerSet) field.ErrorList {
	if p.Hosts == nil {
		return nil
	}
	var errs field.ErrorList
	check := func(raw, was string, path *field.Path) {
		if raw == "" || raw == was {
			return
		}
		u, err := url.Parse(raw)
		if err != nil {
			return // validation said so already
		}
		if err := p.Hosts.Check(u); err != nil {
			errs = append(errs, field.Invalid(path, raw, err.Error()+" (--allowed-github-hosts)"))
		}
	}
	var was actions.RunnerSetSpec
	if old != nil {
		was = old.Spec
	}
	check(rs.Spec.GitHubConfigURL, was.GitHubConfigURL, field.NewPath("spec", "githubConfigUrl"))
	proxyURL := func(px *actions.ProxyConfig, https bool) string {
		switch {
		case px == nil:
		case https && px.HTTPS != nil:
			return px.HTTPS.URL
		case !https && px.HTTP != nil:
			return px.HTTP.URL
		}
		return ""
	}
	check(proxyURL(rs.Spec.Proxy, false), proxyURL(was.Proxy, false), field.NewPath("spec", "proxy", "http", "url"))
	check(proxyURL(rs.Spec.Proxy, true), proxyURL(was.Proxy, true), field.NewPath("spec", "proxy", "https", "url"))
	return errs
}

func (p *Policy) checkCount(ctx context.Context, rs *actions.RunnerSet) field.ErrorList {
	if p.MaxPerNamespace <= 0 || p.Count == nil {
		return nil
	}
	n, err := p.Count(ctx, rs.Namespace)
	if err != nil || n < p.MaxPerNamespace {
		return nil // a count that fails is the cluster's trouble; the create itself will tell
	}
	return field.ErrorList{field.Forbidden(field.NewPath("metadata", "namespace"),
		fmt.Sprintf("namespace %s already has %d RunnerSets, the most this server serves in one namespace (--max-runnersets-per-namespace)", rs.Namespace, n))}
}

// checkRights asks, as the requester, for every right RequiredRights lists.
func (p *Policy) checkRights(ctx context.Context, rs, old *actions.RunnerSet) error {
	if p.Authorizer == nil {
		return nil
	}
	u, ok := genericapirequest.UserFrom(ctx)
	if !ok {
		return apierrors.NewForbidden(actions.Resource("runnersets"), rs.Name, fmt.Errorf("no user in the request"))
	}
	needs := RequiredRights(rs, old)
	var missing []string
	for _, r := range needs.Sorted() {
		d, _, err := p.Authorizer.Authorize(ctx, attributes(u, rs.Namespace, r))
		if err != nil && d != authorizer.DecisionAllow {
			return apierrors.NewInternalError(fmt.Errorf("checking whether %s may %s: %w", u.GetName(), r, err))
		}
		if d != authorizer.DecisionAllow {
			missing = append(missing, fmt.Sprintf("%s (%s)", r, strings.Join(needs[r], ", ")))
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return apierrors.NewForbidden(actions.Resource("runnersets"), rs.Name, fmt.Errorf(
		"a RunnerSet makes the server act for its author, so its author must hold what it uses; user %q may not, in namespace %s: %s",
		u.GetName(), rs.Namespace, strings.Join(missing, "; ")))
}

func attributes(u user.Info, namespace string, r Right) authorizer.Attributes {
	return authorizer.AttributesRecord{
		User: u, Verb: r.Verb, Namespace: namespace, APIGroup: r.Group, APIVersion: "*",
		Resource: r.Resource, Subresource: r.Subresource, Name: r.Name, ResourceRequest: true,
	}
}
