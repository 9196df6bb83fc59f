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

package scaler

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/contract"
	"actions.dev/runnerset-apiserver/pkg/generated/clientset/versioned"
	"actions.dev/runnerset-apiserver/pkg/github/actions"
	"actions.dev/runnerset-apiserver/pkg/github/ghrest"
	"actions.dev/runnerset-apiserver/pkg/scaler/session"
)

// fakeGitHub is a ClientFactory and ScaleSetClient with one scale set, whose sessions poll
// until their context ends.
type fakeGitHub struct {
	mu               sync.Mutex
	scaleSet         *actions.RunnerScaleSet
	opened           int
	deletedScaleSets []int
}

func (f *fakeGitHub) ForRunnerSet(context.Context, *v1alpha1.RunnerSet) (session.ScaleSetClient, error) {
	return f, nil
}

func (f *fakeGitHub) GetRunnerGroupByName(context.Context, string) (*actions.RunnerGroup, error) {
	return &actions.RunnerGroup{ID: 1, Name: "Default"}, nil
}

func (f *fakeGitHub) GetScaleSet(context.Context, int, string) (*actions.RunnerScaleSet, error) {
	return f.scaleSet, nil
}

func (f *fakeGitHub) GetScaleSetByID(context.Context, int) (*actions.RunnerScaleSet, error) {
	return f.scaleSet, nil
}

func (f *fakeGitHub) CreateScaleSet(context.Context, *actions.RunnerScaleSet) (*actions.RunnerScaleSet, error) {
	return f.scaleSet, nil
}

func (f *fakeGitHub) DeleteScaleSet(_ context.Context, id int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deletedScaleSets = append(f.deletedScaleSets, id)
	return nil
}

func (f *fakeGitHub) DeleteSession(context.Context, int, string) error { return nil }

func (f *fakeGitHub) GenerateJitConfig(context.Context, int, *actions.JitRunnerSetting) (*actions.JitConfig, error) {
	return nil, errors.New("not in this test")
}

func (f *fakeGitHub) GetRunnerByName(context.Context, string) (*actions.RunnerReference, error) {
	return nil, nil
}

func (f *fakeGitHub) RemoveRunner(context.Context, int) error { return nil }

func (f *fakeGitHub) ListRunners(context.Context) ([]ghrest.Runner, error) { return nil, nil }

func (f *fakeGitHub) RateLimitedUntil(string) time.Time { return time.Time{} }

func (f *fakeGitHub) OpenSession(context.Context, int, string) (session.MessageSession, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.opened++
	return &fakeSession{id: fmt.Sprintf("session-%d", f.opened)}, nil
}

func (f *fakeGitHub) sessionsOpened() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.opened
}

type fakeSession struct{ id string }

func (s *fakeSession) Session() *actions.Session {
	return &actions.Session{SessionID: s.id, Statistics: &actions.Statistics{}}
}

func (s *fakeSession) GetMessage(ctx context.Context, _ int64, _ int) (*actions.Message, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func (s *fakeSession) DeleteMessage(context.Context, int64) error            { return nil }
func (s *fakeSession) AcquireJobs(context.Context, []int64) ([]int64, error) { return nil, nil }
func (s *fakeSession) Close(context.Context) error                           { return nil }

// testConfig is a valid Config over the given clients, without leader election.
func testConfig(client versioned.Interface, kube kubernetes.Interface, gh session.ClientFactory, clk clock.WithTicker) Config {
	return Config{Client: client, KubeClient: kube, GitHub: gh, Clock: clk, Identity: "me", Namespace: "srv",
		CreateConcurrency: 4, DrainTimeout: 30 * time.Minute, GitHubGiveUp: 2 * time.Minute}
}

func testManager(t *testing.T, cfg Config) *Manager {
	t.Helper()
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func testRunnerSet() *v1alpha1.RunnerSet {
	return &v1alpha1.RunnerSet{
		ObjectMeta: metav1.ObjectMeta{Name: "rs", Namespace: "ns", UID: "uid", Generation: 1},
		Spec:       v1alpha1.RunnerSetSpec{GitHubConfigURL: "https://github.com/acme", GitHubConfigSecret: "s", RunnerScaleSetName: "rs", MaxRunners: ptr.To[int32](3)},
	}
}

// runnerObjects are a runner's Secret and pod.
func runnerObjects(name string) (*corev1.Secret, *corev1.Pod) {
	labels := contract.RunnerLabels("rs")
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: labels, Annotations: map[string]string{v1alpha1.AnnotationRunnerID: "1"}},
		Data:       map[string][]byte{v1alpha1.SecretKeyJITConfig: []byte("jit")},
	}
	return s, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: labels}, Status: corev1.PodStatus{Phase: corev1.PodRunning}}
}
