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

package runner

import (
	"context"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/apimachinery/pkg/util/wait"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/klog/v2"

	"actions.dev/runnerset-apiserver/pkg/apis/actions"
	"actions.dev/runnerset-apiserver/pkg/runnerpods"
)

// PodCache is the server's cache of runner pods (runnerpods.Cache).
type PodCache interface {
	HasSynced() bool
	// List returns the runner pods of namespace ("": all served), sorted by namespace and name.
	List(namespace string) []*corev1.Pod
}

// Quorum reads which runner pods exist at the current revision (runnerpods.Quorum).
type Quorum interface {
	Versions(ctx context.Context, namespace string) (map[string]runnerpods.Version, string, error)
}

// cacheCatchUp bounds how long a consistent list waits for the cache to show what the quorum
// read saw (events on their way) before it reads the pods through instead.
const cacheCatchUp = 250 * time.Millisecond

// cachedPods returns the runner pods of the request's scope from the cache when the cache is
// proven to hold the current state: a consistent read of the pods' metadata (uid and
// resourceVersion only) finds every pod in the cache at that version or newer, and the cache no
// pod the read did not see unless it is newer than the read. An informer alone cannot prove
// itself current: its resourceVersion moves only with events for the pods it selects, and a
// client cannot ask for the progress notifications the kube-apiserver's own cache uses.
// Only consistent first pages (resourceVersion "") are served this way: lists at a given
// revision keep the kube-apiserver's semantics by reading through.
func (r *REST) cachedPods(ctx context.Context, namespace string, opts *metainternalversion.ListOptions) ([]*corev1.Pod, string, bool) {
	if r.cache == nil || r.quorum == nil || !r.cache.HasSynced() {
		return nil, "", false
	}
	if opts != nil && (opts.ResourceVersion != "" || opts.Continue != "") {
		return nil, "", false
	}
	versions, rv, err := r.quorum.Versions(ctx, namespace)
	if err != nil {
		klog.FromContext(ctx).V(2).Info("Reading runner pods' versions failed; reading the pods", "err", err)
		return nil, "", false
	}
	var pods []*corev1.Pod
	fresh := false
	_ = wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, cacheCatchUp, true, func(context.Context) (bool, error) {
		pods = r.cache.List(namespace)
		fresh = current(pods, versions, rv)
		return fresh, nil
	})
	if !fresh {
		countList("apiserver")
		return nil, "", false
	}
	countList("cache")
	return pods, rv, true
}

// current says whether cached shows the state that a read at revision rv saw as versions.
func current(cached []*corev1.Pod, versions map[string]runnerpods.Version, rv string) bool {
	at, err := strconv.ParseUint(rv, 10, 64)
	if err != nil {
		return false
	}
	seen := 0
	for _, pod := range cached {
		podRV, err := strconv.ParseUint(pod.ResourceVersion, 10, 64)
		if err != nil {
			return false
		}
		v, ok := versions[pod.Namespace+"/"+pod.Name]
		if !ok {
			if podRV <= at { // gone before the read, and the cache has not heard
				return false
			}
			continue
		}
		readRV, err := strconv.ParseUint(v.ResourceVersion, 10, 64)
		if err != nil || v.UID != pod.UID || podRV < readRV {
			return false
		}
		seen++
	}
	return seen == len(versions)
}

// cachedContinue starts the continue tokens of lists served from the cache; the kube-apiserver's
// are base64, which has no '.'.
const cachedContinue = "rc."

// listCached answers a list from the cache when it is proven current (see cachedPods), or the
// next page of such a list; ok false means the pods are to be read through.
func (r *REST) listCached(ctx context.Context, opts *metainternalversion.ListOptions) (*actions.RunnerList, bool, error) {
	ns := genericapirequest.NamespaceValue(ctx)
	if opts != nil && strings.HasPrefix(opts.Continue, cachedContinue) {
		out, err := r.nextPage(ns, opts)
		return out, true, err
	}
	if _, _, err := podSelectors(opts); err != nil {
		return nil, true, err
	}
	pods, rv, ok := r.cachedPods(ctx, ns, opts)
	if !ok {
		return nil, false, nil
	}
	rsets := r.listRunnerSets(ctx)
	names := make(map[string]bool, len(pods))
	items := make([]actions.Runner, 0, len(pods))
	for _, pod := range pods {
		runner := FromPod(pod)
		names[pod.Namespace+"/"+pod.Name] = true
		if !matches(opts, runner) {
			continue
		}
		markGitHubUnknown(runner, rsets.byName[runner.Namespace+"/"+runner.Status.RunnerSet])
		items = append(items, *runner)
	}
	items = append(items, r.gitHubOnly(ctx, rsets, opts, names)...)
	return r.page(ns, items, rv, opts), true, nil
}

// page returns the first page of items and keeps the rest for the continue token it hands out.
func (r *REST) page(ns string, items []actions.Runner, rv string, opts *metainternalversion.ListOptions) *actions.RunnerList {
	out := &actions.RunnerList{}
	out.ResourceVersion = rv
	if opts == nil || opts.Limit <= 0 || int64(len(items)) <= opts.Limit {
		out.Items = items
		return out
	}
	out.Items = items[:opts.Limit]
	rest := items[opts.Limit:]
	out.Continue = cachedContinue + string(uuid.NewUUID())
	remaining := int64(len(rest))
	out.RemainingItemCount = &remaining
	r.pages.put(ns+"/"+out.Continue, &pageEntry{runners: rest, rv: rv})
	return out
}

// nextPage serves a page of a list the cache answered, from the snapshot its first page took.
func (r *REST) nextPage(ns string, opts *metainternalversion.ListOptions) (*actions.RunnerList, error) {
	e := r.pages.take(ns + "/" + opts.Continue)
	if e == nil || e.runners == nil {
		return nil, apierrors.NewResourceExpired("the continue token is too old or unknown: list again without it")
	}
	return r.page(ns, e.runners, e.rv, opts), nil
}
