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

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
)

// withCluster gives the worker's manager listers over the given pods and Secrets.
func withCluster(t *testing.T, w *worker, objs ...any) {
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
	w.m.pods, w.m.secrets = corelisters.NewPodLister(pods), corelisters.NewSecretLister(secrets)
}

func runnerObjects(name string, failures string, phase corev1.PodPhase) (*corev1.Secret, *corev1.Pod) {
	labels := map[string]string{v1alpha1.LabelRunnerSet: "rs"}
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: labels, Annotations: map[string]string{v1alpha1.AnnotationRunnerID: "1"}},
		Data:       map[string][]byte{v1alpha1.SecretKeyJITConfig: []byte("jit")},
	}
	if failures != "" {
		s.Annotations[v1alpha1.AnnotationFailures] = failures
	}
	if phase == "" {
		return s, nil
	}
	return s, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: labels}, Status: corev1.PodStatus{Phase: phase}}
}

// TestPodsFailingClearsOnceRunnersRunAgain: PodsFailing set by a quota or failed pods goes back
// to False once no runner pod fails or waits after a failure; it stays while one does.
// Regression: it stayed True for ever once set (found by the fault suite, R4).
func TestPodsFailingClearsOnceRunnersRunAgain(t *testing.T) {
	for _, tc := range []struct {
		name      string
		reason    string
		failures  string
		phase     corev1.PodPhase
		wantFalse bool
	}{
		{"quota lifted, runner running", ReasonQuotaExceeded, "", corev1.PodRunning, true},
		{"crashes over, runner running again", ReasonPodFailures, "3", corev1.PodRunning, true},
		{"runner waiting out its backoff", ReasonPodFailures, "2", "", false},
		{"runner pod failed", ReasonPodFailures, "1", corev1.PodFailed, false},
		{"invalid template is cleared by a spec change only", ReasonInvalidPodTemplate, "", corev1.PodRunning, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := testWorker(t, &fakeGitHub{})
			w.stopListener() // no session in this test
			secret, pod := runnerObjects("rs-abcde", tc.failures, tc.phase)
			if pod != nil {
				withCluster(t, w, secret, pod)
			} else {
				withCluster(t, w, secret)
			}
			w.setCondition(v1alpha1.ConditionPodsFailing, metav1.ConditionTrue, tc.reason, "trouble")
			w.listenerCancel = func() {} // the reconcile must not start a listener here
			w.listenerKey = listenerKeyOf(w.snapshot())
			w.listenerDone = make(chan struct{})
			close(w.listenerDone)
			w.reconcile(context.Background())
			c := meta.FindStatusCondition(w.conditions, v1alpha1.ConditionPodsFailing)
			if got := c.Status == metav1.ConditionFalse; got != tc.wantFalse {
				t.Errorf("PodsFailing %s (%s), want False=%v", c.Status, c.Reason, tc.wantFalse)
			}
		})
	}
}
