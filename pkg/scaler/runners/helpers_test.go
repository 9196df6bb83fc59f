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

package runners

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	kubefake "k8s.io/client-go/kubernetes/fake"
	corelisters "k8s.io/client-go/listers/core/v1"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/contract"
	"actions.dev/runnerset-apiserver/pkg/github/actions"
	"actions.dev/runnerset-apiserver/pkg/github/ghrest"
	"actions.dev/runnerset-apiserver/pkg/scaler/session"
)

// fakeGitHub is the GitHub side of the tests: it registers runners, and records what it is
// asked to remove.
type fakeGitHub struct {
	mu         sync.Mutex
	nextID     int
	jitErr     error
	removed    []int
	removeErr  map[int]error
	listed     []ghrest.Runner
	scaleSetOf map[string]int
	asked      int
}

var _ session.ScaleSetClient = &fakeGitHub{}

func (f *fakeGitHub) GenerateJitConfig(_ context.Context, scaleSetID int, s *actions.JitRunnerSetting) (*actions.JitConfig, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.jitErr != nil {
		return nil, f.jitErr
	}
	f.nextID++
	return &actions.JitConfig{Runner: &actions.RunnerReference{ID: 100 + f.nextID, Name: s.Name, RunnerScaleSetID: scaleSetID}, EncodedJITConfig: "jit"}, nil
}

func (f *fakeGitHub) RemoveRunner(_ context.Context, id int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.removed = append(f.removed, id)
	return f.removeErr[id]
}

func (f *fakeGitHub) GetRunnerByName(_ context.Context, name string) (*actions.RunnerReference, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked++
	id, ok := f.scaleSetOf[name]
	if !ok {
		return nil, nil
	}
	for _, r := range f.listed {
		if r.Name == name {
			return &actions.RunnerReference{ID: int(r.ID), Name: name, RunnerScaleSetID: id}, nil
		}
	}
	return nil, nil
}

func (f *fakeGitHub) ListRunners(context.Context) ([]ghrest.Runner, error) { return f.listed, nil }

func (f *fakeGitHub) RateLimitedUntil(string) time.Time { return time.Time{} }

func (f *fakeGitHub) GetRunnerGroupByName(context.Context, string) (*actions.RunnerGroup, error) {
	return &actions.RunnerGroup{ID: 1}, nil
}
func (f *fakeGitHub) GetScaleSet(context.Context, int, string) (*actions.RunnerScaleSet, error) {
	return nil, nil
}
func (f *fakeGitHub) GetScaleSetByID(context.Context, int) (*actions.RunnerScaleSet, error) {
	return nil, nil
}
func (f *fakeGitHub) CreateScaleSet(context.Context, *actions.RunnerScaleSet) (*actions.RunnerScaleSet, error) {
	return nil, nil
}
func (f *fakeGitHub) DeleteScaleSet(context.Context, int) error        { return nil }
func (f *fakeGitHub) DeleteSession(context.Context, int, string) error { return nil }
func (f *fakeGitHub) OpenSession(context.Context, int, string) (session.MessageSession, error) {
	return nil, nil
}

// world is a Reconciler over fixed caches (the objects given) and a fake API that records writes.
type world struct {
	t     *testing.T
	r     *Reconciler
	kube  *kubefake.Clientset
	gh    *fakeGitHub
	clock *clocktesting.FakeClock
	rs    *v1alpha1.RunnerSet
}

func newWorld(t *testing.T, objs ...runtime.Object) *world {
	t.Helper()
	pods := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	secrets := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	for _, o := range objs {
		switch o.(type) {
		case *corev1.Pod:
			_ = pods.Add(o)
		case *corev1.Secret:
			_ = secrets.Add(o)
		}
	}
	storage := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: contract.StorageName("rs"), Namespace: "ns", UID: "cm-uid"}}
	kube := kubefake.NewClientset(append([]runtime.Object{storage}, objs...)...)
	clk := clocktesting.NewFakeClock(time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC))
	cfg := Config{Kube: kube, Pods: corelisters.NewPodLister(pods), Secrets: corelisters.NewSecretLister(secrets), Clock: clk,
		CreateConcurrency: 4, DrainTimeout: 30 * time.Minute, GitHubGiveUp: 2 * time.Minute}
	rs := &v1alpha1.RunnerSet{
		ObjectMeta: metav1.ObjectMeta{Name: "rs", Namespace: "ns", UID: "uid", Generation: 1},
		Spec: v1alpha1.RunnerSetSpec{GitHubConfigURL: "https://github.com/acme", GitHubConfigSecret: "s", RunnerScaleSetName: "rs",
			MinRunners: ptr.To[int32](0), MaxRunners: ptr.To[int32](5),
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "runner", Image: "r"}}}}},
	}
	return &world{t: t, r: New(cfg, "ns", "rs", nil), kube: kube, gh: &fakeGitHub{listed: registered(objs)}, clock: clk, rs: rs}
}

// registered is GitHub's list of the runners whose Secrets are given: all online.
func registered(objs []runtime.Object) []ghrest.Runner {
	var out []ghrest.Runner
	for _, o := range objs {
		if s, ok := o.(*corev1.Secret); ok {
			id, _ := strconv.Atoi(s.Annotations[v1alpha1.AnnotationRunnerID])
			out = append(out, ghrest.Runner{ID: int64(id), Name: s.Name, Status: "online"})
		}
	}
	return out
}

// demand is GitHub asking for assigned jobs' runners on scale set 7.
func (w *world) demand(assigned int, jobs ...actions.JobMessage) session.Demand {
	return session.Demand{Client: w.gh, ScaleSetID: 7, Listening: true, Stats: &actions.Statistics{TotalAssignedJobs: assigned, TotalRegisteredRunners: assigned}, Jobs: jobs}
}

// runner is a runner's Secret and, when phase is set, its pod, made from the world's template.
func (w *world) runner(name string, id int, phase corev1.PodPhase, annotations map[string]string) (*corev1.Secret, *corev1.Pod) {
	labels := contract.RunnerLabels("rs")
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: labels, CreationTimestamp: metav1.NewTime(w.clock.Now().Add(-time.Hour)),
			Annotations: map[string]string{v1alpha1.AnnotationRunnerID: strconv.Itoa(id), v1alpha1.AnnotationScaleSetID: "7"}},
		Data: map[string][]byte{v1alpha1.SecretKeyJITConfig: []byte("jit")},
	}
	if phase == "" {
		return s, nil
	}
	a := map[string]string{v1alpha1.AnnotationTemplateHash: contract.TemplateHash(w.rs), v1alpha1.AnnotationRunnerID: strconv.Itoa(id)}
	for k, v := range annotations {
		a[k] = v
	}
	return s, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: labels, Annotations: a, UID: types.UID("pod-" + name),
		CreationTimestamp: metav1.NewTime(w.clock.Now().Add(-time.Hour))}, Status: corev1.PodStatus{Phase: phase}}
}

// writes lists the API writes of kind verb on resource.
func (w *world) writes(verb, resource string) []string {
	var out []string
	for _, a := range w.kube.Actions() {
		if a.GetVerb() != verb || a.GetResource().Resource != resource {
			continue
		}
		switch a := a.(type) {
		case k8stesting.CreateAction:
			out = append(out, a.GetObject().(metav1.Object).GetName())
		case k8stesting.DeleteAction:
			out = append(out, a.GetName())
		case k8stesting.PatchAction:
			out = append(out, a.GetName())
		}
	}
	return out
}
