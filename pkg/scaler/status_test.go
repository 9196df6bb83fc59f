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
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubefake "k8s.io/client-go/kubernetes/fake"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/generated/clientset/versioned/fake"
)

// TestStatusWritesCoalesce: a change after a quiet second is written at once; changes within a
// second of the last write wait for it to pass and are then written together, once.
func TestStatusWritesCoalesce(t *testing.T) {
	rs := &v1alpha1.RunnerSet{
		ObjectMeta: metav1.ObjectMeta{Name: "rs", Namespace: "ns", UID: "uid", Generation: 1},
		Spec:       v1alpha1.RunnerSetSpec{GitHubConfigURL: "https://github.com/acme", GitHubConfigSecret: "s", RunnerScaleSetName: "rs", MaxRunners: ptr.To[int32](3)},
	}
	client := fake.NewSimpleClientset(rs.DeepCopy())
	clock := clocktesting.NewFakeClock(time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC))
	m := New(Config{Client: client, KubeClient: kubefake.NewClientset(), GitHub: &fakeGitHub{}, Identity: "me", Clock: clock})
	w := newWorker(m, rs)
	w.update(rs)
	ctx := context.Background()
	writes := func() int {
		n := 0
		for _, a := range client.Actions() {
			if a.GetVerb() == "update" && a.GetSubresource() == "status" {
				n++
			}
		}
		return n
	}
	stored := func() v1alpha1.RunnerSetStatus {
		got, err := client.ActionsV1alpha1().RunnerSets("ns").Get(ctx, "rs", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return got.Status
	}

	if wait := w.writeStatus(ctx, counts{desired: 1, current: 1, pending: 1}); wait != 0 || writes() != 1 {
		t.Fatalf("first change: wait %s, %d writes; want written at once", wait, writes())
	}
	clock.Step(300 * time.Millisecond)
	if wait := w.writeStatus(ctx, counts{desired: 1, current: 1, idle: 1}); wait != 700*time.Millisecond || writes() != 1 {
		t.Fatalf("change 300ms later: wait %s, %d writes; want deferred 700ms", wait, writes())
	}
	clock.Step(200 * time.Millisecond)
	if wait := w.writeStatus(ctx, counts{desired: 1, current: 1, busy: 1}); wait != 500*time.Millisecond || writes() != 1 {
		t.Fatalf("another change: wait %s, %d writes; want deferred 500ms", wait, writes())
	}
	clock.Step(500 * time.Millisecond)
	if wait := w.writeStatus(ctx, counts{desired: 1, current: 1, busy: 1}); wait != 0 || writes() != 2 {
		t.Fatalf("a second after the first write: wait %s, %d writes; want the latest change written", wait, writes())
	}
	if st := stored(); st.BusyRunners != 1 || st.IdleRunners != 0 || st.PendingRunners != 0 {
		t.Errorf("stored status %+v, want the latest counts (1 busy)", st)
	}
	clock.Step(5 * time.Second)
	if wait := w.writeStatus(ctx, counts{desired: 1, current: 1, busy: 1}); wait != 0 || writes() != 2 {
		t.Errorf("no change: wait %s, %d writes; want nothing written", wait, writes())
	}
}
