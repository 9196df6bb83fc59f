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
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/watch"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/apiserver/pkg/warning"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/klog/v2"

	"actions.dev/runnerset-apiserver/pkg/apis/actions"
	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
)

// RunnerSetLister finds the RunnerSets whose GitHub-only runners are listed too.
type RunnerSetLister interface {
	List(ctx context.Context, options *metainternalversion.ListOptions) (runtime.Object, error)
	Get(ctx context.Context, name string, options *metav1.GetOptions) (runtime.Object, error)
}

// ErrRunnerBusy is returned by a Deregisterer when GitHub says the runner runs a job.
var ErrRunnerBusy = errors.New("the runner is running a job")

// Deregisterer removes a runner's registration on GitHub.
type Deregisterer interface {
	// Deregister removes the runner from rs's scale set; a runner already gone is not an error.
	Deregister(ctx context.Context, rs *actions.RunnerSet, runnerID int64) error
}

// REST serves runners.
type REST struct {
	pods         corev1client.PodsGetter
	secrets      corev1client.SecretsGetter
	runnerSets   RunnerSetLister
	deregisterer Deregisterer
	pages        pageCache
	cache        PodCache
	quorum       Quorum
}

var (
	_ rest.Storage              = &REST{}
	_ rest.Scoper               = &REST{}
	_ rest.KindProvider         = &REST{}
	_ rest.SingularNameProvider = &REST{}
	_ rest.Getter               = &REST{}
	_ rest.Lister               = &REST{}
	_ rest.Watcher              = &REST{}
	_ rest.GracefulDeleter      = &REST{}
	_ rest.ShortNamesProvider   = &REST{}
	_ rest.CategoriesProvider   = &REST{}
)

// NewREST returns the runners storage. Lists are answered from cache when quorum proves it
// current; either may be nil, and then the pods are always read through.
func NewREST(pods corev1client.PodsGetter, secrets corev1client.SecretsGetter, runnerSets RunnerSetLister, d Deregisterer, cache PodCache, quorum Quorum) *REST {
	registerMetrics()
	return &REST{pods: pods, secrets: secrets, runnerSets: runnerSets, deregisterer: d, cache: cache, quorum: quorum}
}

func (r *REST) New() runtime.Object     { return &actions.Runner{} }
func (r *REST) NewList() runtime.Object { return &actions.RunnerList{} }
func (r *REST) Destroy()                {}
func (r *REST) NamespaceScoped() bool   { return true }
func (r *REST) Kind() string            { return "Runner" }
func (r *REST) GetSingularName() string { return "runner" }
func (r *REST) ShortNames() []string    { return []string{"rnr"} }
func (r *REST) Categories() []string    { return []string{"actions"} }
func (r *REST) ConvertToTable(ctx context.Context, obj, opts runtime.Object) (*metav1.Table, error) {
	return convertToTable(obj)
}

var groupResource = actions.Resource("runners")

// podSelectors maps a Runner selection onto runner pods: the labels are the pod's and the only
// selectable fields are metadata.name and metadata.namespace.
func podSelectors(opts *metainternalversion.ListOptions) (string, string, error) {
	sel := labels.Everything()
	if opts != nil && opts.LabelSelector != nil {
		sel = opts.LabelSelector
	}
	req, err := labels.NewRequirement(v1alpha1.LabelRunnerSet, selection.Exists, nil)
	if err != nil {
		return "", "", err
	}
	fieldSel := ""
	if opts != nil && opts.FieldSelector != nil && !opts.FieldSelector.Empty() {
		for _, r := range opts.FieldSelector.Requirements() {
			if r.Field != "metadata.name" && r.Field != "metadata.namespace" {
				return "", "", apierrors.NewBadRequest(fmt.Sprintf("field label not supported: %s", r.Field))
			}
		}
		fieldSel = opts.FieldSelector.String()
	}
	return sel.Add(*req).String(), fieldSel, nil
}

func (r *REST) List(ctx context.Context, opts *metainternalversion.ListOptions) (runtime.Object, error) {
	if out, ok, err := r.listCached(ctx, opts); ok || err != nil {
		return out, err
	}
	return r.listThrough(ctx, opts)
}

// listThrough lists the runner pods from the kube-apiserver, with the request's revision and
// paging.
func (r *REST) listThrough(ctx context.Context, opts *metainternalversion.ListOptions) (*actions.RunnerList, error) {
	ns := genericapirequest.NamespaceValue(ctx)
	lsel, fsel, err := podSelectors(opts)
	if err != nil {
		return nil, err
	}
	listOpts := metav1.ListOptions{LabelSelector: lsel, FieldSelector: fsel}
	if opts != nil {
		listOpts.ResourceVersion, listOpts.ResourceVersionMatch = opts.ResourceVersion, opts.ResourceVersionMatch
		listOpts.Limit, listOpts.Continue = opts.Limit, opts.Continue
	}
	pods, err := r.pods.Pods(ns).List(ctx, listOpts)
	if err != nil {
		return nil, translate(err, "")
	}
	out := &actions.RunnerList{ListMeta: metav1.ListMeta{ResourceVersion: pods.ResourceVersion, Continue: pods.Continue, RemainingItemCount: pods.RemainingItemCount}}
	var rsets *runnerSets
	if opts != nil && opts.Continue != "" {
		if e := r.pages.take(ns + "/" + opts.Continue); e != nil {
			rsets = e.rsets // read for the first page of this list
		}
	}
	if rsets == nil {
		rsets = r.listRunnerSets(ctx)
	}
	if pods.Continue != "" && rsets.err == nil {
		r.pages.put(ns+"/"+pods.Continue, &pageEntry{rsets: rsets})
	}
	names := map[string]bool{}
	for i := range pods.Items {
		runner := FromPod(&pods.Items[i])
		if rsets != nil {
			markGitHubUnknown(runner, rsets.byName[runner.Namespace+"/"+runner.Status.RunnerSet])
		}
		out.Items = append(out.Items, *runner)
		names[pods.Items[i].Namespace+"/"+pods.Items[i].Name] = true
	}
	if pods.Continue == "" {
		// GitHub-only runners have no pod to page through: they come with the last page.
		out.Items = append(out.Items, r.gitHubOnly(ctx, rsets, opts, names)...)
	}
	return out, nil
}

// runnerSets are the RunnerSets in a request's scope, by namespace/name; err says why there are
// none.
type runnerSets struct {
	list   *actions.RunnerSetList
	byName map[string]*actions.RunnerSet
	err    error
}

func (r *REST) listRunnerSets(ctx context.Context) *runnerSets {
	obj, err := r.runnerSets.List(ctx, &metainternalversion.ListOptions{})
	if err != nil {
		klog.FromContext(ctx).V(2).Info("Listing RunnerSets failed", "err", err)
		return &runnerSets{err: err}
	}
	out := &runnerSets{list: obj.(*actions.RunnerSetList), byName: map[string]*actions.RunnerSet{}}
	for i := range out.list.Items {
		rs := &out.list.Items[i]
		out.byName[rs.Namespace+"/"+rs.Name] = rs
	}
	return out
}

// markGitHubUnknown shows the GitHub side of a runner as unknown while its RunnerSet has no
// message session (GitHub unreachable, a leader change, a lost session): what its pod records
// is the last thing GitHub said, which may no longer be true. Busy and the job, which the
// cluster knows from the job's start, stay (a busy runner is still refused deletion).
func markGitHubUnknown(runner *actions.Runner, rs *actions.RunnerSet) {
	if rs == nil || meta.IsStatusConditionTrue(rs.Status.Conditions, actions.ConditionSessionActive) {
		return
	}
	runner.Status.GitHub.Status = GitHubUnknown
}

// GitHubUnknown is a runner's GitHub status while its RunnerSet cannot hear from GitHub.
const GitHubUnknown = "unknown"

// gitHubOnly lists the runners the RunnerSets in scope record as registered on GitHub with no pod.
func (r *REST) gitHubOnly(ctx context.Context, rsets *runnerSets, opts *metainternalversion.ListOptions, seen map[string]bool) []actions.Runner {
	if rsets == nil {
		rsets = r.listRunnerSets(ctx)
	}
	if rsets.err != nil {
		warning.AddWarning(ctx, "", "runners registered on GitHub without a pod are not listed: "+rsets.err.Error())
		return nil
	}
	var out []actions.Runner
	for i := range rsets.list.Items {
		rs := &rsets.list.Items[i]
		for _, gr := range rs.Status.GitHubOnlyRunners {
			if seen[rs.Namespace+"/"+gr.Name] {
				continue
			}
			runner := FromGitHub(rs, gr)
			if matches(opts, runner) {
				out = append(out, *runner)
			}
		}
	}
	return out
}

func matches(opts *metainternalversion.ListOptions, r *actions.Runner) bool {
	if opts == nil {
		return true
	}
	if opts.LabelSelector != nil && !opts.LabelSelector.Matches(labels.Set(r.Labels)) {
		return false
	}
	if opts.FieldSelector != nil && !opts.FieldSelector.Matches(fields.Set{"metadata.name": r.Name, "metadata.namespace": r.Namespace}) {
		return false
	}
	return true
}

func (r *REST) Get(ctx context.Context, name string, opts *metav1.GetOptions) (runtime.Object, error) {
	ns := genericapirequest.NamespaceValue(ctx)
	pod, err := r.pods.Pods(ns).Get(ctx, name, *opts)
	if err == nil && pod.Labels[v1alpha1.LabelRunnerSet] != "" {
		runner := FromPod(pod)
		markGitHubUnknown(runner, r.runnerSet(ctx, runner.Status.RunnerSet))
		return runner, nil
	}
	if err != nil && !apierrors.IsNotFound(err) {
		return nil, translate(err, name)
	}
	if runner := r.findGitHubOnly(ctx, name); runner != nil {
		return runner, nil
	}
	return nil, apierrors.NewNotFound(groupResource, name)
}

// runnerSet returns a RunnerSet of the request's namespace, or nil.
func (r *REST) runnerSet(ctx context.Context, name string) *actions.RunnerSet {
	obj, err := r.runnerSets.Get(ctx, name, &metav1.GetOptions{})
	if err != nil {
		return nil
	}
	rs, _ := obj.(*actions.RunnerSet)
	return rs
}

func (r *REST) findGitHubOnly(ctx context.Context, name string) *actions.Runner {
	for _, runner := range r.gitHubOnly(ctx, nil, nil, map[string]bool{}) {
		if runner.Name == name {
			return &runner
		}
	}
	return nil
}

func (r *REST) Watch(ctx context.Context, opts *metainternalversion.ListOptions) (watch.Interface, error) {
	ns := genericapirequest.NamespaceValue(ctx)
	lsel, fsel, err := podSelectors(opts)
	if err != nil {
		return nil, err
	}
	listOpts := metav1.ListOptions{LabelSelector: lsel, FieldSelector: fsel}
	if opts != nil {
		listOpts.ResourceVersion, listOpts.AllowWatchBookmarks = opts.ResourceVersion, opts.AllowWatchBookmarks
		listOpts.SendInitialEvents = opts.SendInitialEvents
		if opts.SendInitialEvents != nil {
			listOpts.ResourceVersionMatch = metav1.ResourceVersionMatchNotOlderThan
		}
	}
	w, err := r.pods.Pods(ns).Watch(ctx, listOpts)
	if err != nil {
		return nil, translate(err, "")
	}
	sessions := &sessionCache{rest: r, ctx: ctx, seen: map[string]sessionSeen{}}
	return watch.Filter(w, func(ev watch.Event) (watch.Event, bool) {
		pod, ok := ev.Object.(*corev1.Pod)
		if !ok {
			return ev, ev.Type == watch.Error
		}
		if ev.Type == watch.Bookmark {
			return watch.Event{Type: watch.Bookmark, Object: &actions.Runner{ObjectMeta: metav1.ObjectMeta{
				ResourceVersion: pod.ResourceVersion, Annotations: pod.Annotations,
			}}}, true
		}
		runner := FromPod(pod)
		markGitHubUnknown(runner, sessions.runnerSet(pod.Namespace, runner.Status.RunnerSet))
		return watch.Event{Type: ev.Type, Object: runner}, true
	}), nil
}

// Delete deregisters the runner on GitHub, then deletes its pod and Secret. A runner that runs a
// job is refused unless the caller forces it with a zero grace period (kubectl delete --force
// --grace-period=0), which ends the job.
func (r *REST) Delete(ctx context.Context, name string, deleteValidation rest.ValidateObjectFunc, opts *metav1.DeleteOptions) (runtime.Object, bool, error) {
	obj, err := r.Get(ctx, name, &metav1.GetOptions{})
	if err != nil {
		return nil, false, err
	}
	runner := obj.(*actions.Runner)
	if deleteValidation != nil {
		if err := deleteValidation(ctx, runner); err != nil {
			return nil, false, err
		}
	}
	force := opts != nil && opts.GracePeriodSeconds != nil && *opts.GracePeriodSeconds == 0
	busy := runner.Status.GitHub.Busy
	if busy && !force {
		return nil, false, refuseBusy(runner)
	}
	if opts != nil && len(opts.DryRun) > 0 {
		return runner, true, nil
	}
	rsObj, err := r.runnerSets.Get(ctx, runner.Status.RunnerSet, &metav1.GetOptions{})
	switch {
	case err == nil && runner.Status.RunnerID != 0:
		err := r.deregisterer.Deregister(ctx, rsObj.(*actions.RunnerSet), runner.Status.RunnerID)
		switch {
		case errors.Is(err, ErrRunnerBusy) && !force:
			return nil, false, refuseBusy(runner)
		case errors.Is(err, ErrRunnerBusy):
			warning.AddWarning(ctx, "", fmt.Sprintf("runner %s was running a job on GitHub; its pod is deleted and the job will fail", name))
		case err != nil:
			return nil, false, apierrors.NewServiceUnavailable(fmt.Sprintf("could not deregister runner %s (id %d) on GitHub, nothing was deleted: %v", name, runner.Status.RunnerID, err))
		}
	case apierrors.IsNotFound(err):
		warning.AddWarning(ctx, "", fmt.Sprintf("RunnerSet %s is gone; runner %s is deleted without deregistering it", runner.Status.RunnerSet, name))
	case err != nil:
		return nil, false, err
	}
	if runner.Status.Drift != actions.DriftGitHubOnly {
		// The Secret goes first: a runner whose Secret is left and whose pod is gone is one the
		// scaler gives a new pod (a failed start), and it would, between the two deletions.
		ns := runner.Namespace
		if err := r.secrets.Secrets(ns).Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return nil, false, translate(err, name)
		}
		podOpts := metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &runner.UID}}
		if err := r.pods.Pods(ns).Delete(ctx, name, podOpts); err != nil && !apierrors.IsNotFound(err) {
			return nil, false, translate(err, name)
		}
	}
	return runner, true, nil
}

func refuseBusy(runner *actions.Runner) error {
	job := "a job"
	if j := runner.Status.Job; j != nil {
		job = fmt.Sprintf("job %q of %s", j.DisplayName, j.Repository)
	}
	return apierrors.NewConflict(groupResource, runner.Name, fmt.Errorf(
		"it is running %s and will be removed when the job ends; to end the job now, delete it with --force --grace-period=0", job))
}

// translate names runners instead of pods in errors users see.
func translate(err error, name string) error {
	switch {
	case apierrors.IsNotFound(err):
		return apierrors.NewNotFound(groupResource, name)
	case apierrors.IsForbidden(err):
		return apierrors.NewInternalError(fmt.Errorf("the server may not read runner pods: %v", err))
	}
	return err
}

// sessionCache keeps, for one watch, the RunnerSets its runners belong to for a few seconds, so
// that a burst of pod events costs one read per RunnerSet.
type sessionCache struct {
	rest *REST
	ctx  context.Context
	seen map[string]sessionSeen
}

type sessionSeen struct {
	rs *actions.RunnerSet
	at time.Time
}

const sessionCacheTTL = 2 * time.Second

func (c *sessionCache) runnerSet(namespace, name string) *actions.RunnerSet {
	key := namespace + "/" + name
	if s, ok := c.seen[key]; ok && time.Since(s.at) < sessionCacheTTL {
		return s.rs
	}
	ctx := c.ctx
	if namespace != genericapirequest.NamespaceValue(ctx) {
		ctx = genericapirequest.WithNamespace(ctx, namespace) // a watch across namespaces
	}
	rs := c.rest.runnerSet(ctx, name)
	c.seen[key] = sessionSeen{rs: rs, at: time.Now()}
	return rs
}
