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
	"slices"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	kubefake "k8s.io/client-go/kubernetes/fake"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/clock"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/generated/clientset/versioned/fake"
	"actions.dev/runnerset-apiserver/pkg/github/actions"
)

// TestNewLeaderWaitsForItsCaches: a replica that becomes leader does not act on a RunnerSet
// before its pod and Secret caches are complete. Otherwise, with the Secrets listed more slowly
// than the pods, a busy runner's pod looks like a stray without a Secret and is deleted, killing
// its job. (Found while making the fault suite's R2 take over mid-burst.)
func TestNewLeaderWaitsForItsCaches(t *testing.T) {
	old := metav1.NewTime(time.Now().Add(-10 * time.Minute))
	secret, pod := runnerObjects("rs-abcde")
	secret.CreationTimestamp, pod.CreationTimestamp = old, old
	pod.Annotations = map[string]string{v1alpha1.AnnotationJobRequestID: "7", v1alpha1.AnnotationRunnerID: "1"}
	kube := kubefake.NewClientset(secret, pod)
	release := make(chan struct{})
	var once sync.Once
	defer once.Do(func() { close(release) })
	rs := testRunnerSet()
	rs.Finalizers = []string{v1alpha1.RunnerSetFinalizer}
	client := fake.NewSimpleClientset(rs)
	gh := &fakeGitHub{scaleSet: &actions.RunnerScaleSet{ID: 7, Name: "rs", RunnerGroupID: 1}}
	// A big cluster's Secrets take a while to list.
	m := testManager(t, testConfig(client, slowSecrets{Interface: kube, release: release}, gh, clock.RealClock{}))
	statusWritten := func() bool {
		for _, a := range client.Actions() {
			if a.GetVerb() == "update" && a.GetSubresource() == "status" {
				return true
			}
		}
		return false
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); m.lead(ctx) }()
	podDeleted := func() string {
		for _, a := range kube.Actions() {
			if a.GetVerb() == "delete" && a.GetResource().Resource == "pods" {
				return a.(k8stesting.DeleteAction).GetName()
			}
		}
		return ""
	}
	// While the Secrets are being listed, the worker must not act: it would take the busy
	// runner's pod for a stray without a Secret. Nothing happening can only be waited for with
	// a bound.
	for begin := time.Now(); time.Since(begin) < 2*time.Second && podDeleted() == ""; {
		time.Sleep(20 * time.Millisecond)
	}
	once.Do(func() { close(release) })
	// Then it reconciles with complete caches, and writes the status.
	for deadline := time.Now().Add(20 * time.Second); !statusWritten(); {
		if time.Now().After(deadline) {
			t.Fatal("the worker never wrote the status")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
	if name := podDeleted(); name != "" {
		t.Fatalf("the new leader deleted runner pod %s before its Secrets were in its cache", name)
	}
}

// slowSecrets lists and watches Secrets only once release is closed.
type slowSecrets struct {
	kubernetes.Interface
	release <-chan struct{}
}

// IsWatchListSemanticsUnSupported: like the fake clientset it wraps, it serves no watch-list
// streams, so informers list and then watch.
func (slowSecrets) IsWatchListSemanticsUnSupported() bool { return true }

func (s slowSecrets) CoreV1() corev1client.CoreV1Interface {
	return slowCore{CoreV1Interface: s.Interface.CoreV1(), release: s.release}
}

type slowCore struct {
	corev1client.CoreV1Interface
	release <-chan struct{}
}

func (c slowCore) Secrets(namespace string) corev1client.SecretInterface {
	return slowSecretList{SecretInterface: c.CoreV1Interface.Secrets(namespace), release: c.release}
}

type slowSecretList struct {
	corev1client.SecretInterface
	release <-chan struct{}
}

func (s slowSecretList) List(ctx context.Context, opts metav1.ListOptions) (*corev1.SecretList, error) {
	select {
	case <-s.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return s.SecretInterface.List(ctx, opts)
}

func (s slowSecretList) Watch(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
	select {
	case <-s.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return s.SecretInterface.Watch(ctx, opts)
}

// TestRunnerSetDeletedUndrainedLeavesNothingOnGitHub: a RunnerSet that vanishes without a drain
// (deleted by the API server from the version it read before the scaler's finalizer was added)
// has its scale set deleted on GitHub all the same. Regression: the scale set stayed there for
// ever (found by the fault suite, R5, creating and deleting a RunnerSet at once).
func TestRunnerSetDeletedUndrainedLeavesNothingOnGitHub(t *testing.T) {
	client := fake.NewSimpleClientset(testRunnerSet())
	gh := &fakeGitHub{scaleSet: &actions.RunnerScaleSet{ID: 7, Name: "rs", RunnerGroupID: 1}}
	m := testManager(t, testConfig(client, kubefake.NewClientset(), gh, clock.RealClock{}))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { defer close(done); m.lead(ctx) }()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if gh.sessionsOpened() > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no session opened")
		}
	}
	// Gone at once, finalizer or not (the fake, like that race, does not wait for it).
	if err := client.ActionsV1alpha1().RunnerSets("ns").Delete(ctx, "rs", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		gh.mu.Lock()
		deleted := slices.Clone(gh.deletedScaleSets)
		gh.mu.Unlock()
		if slices.Contains(deleted, 7) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the scale set was not deleted on GitHub (deleted: %v)", deleted)
		}
	}
	cancel()
	<-done
}
