//go:build e2e

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

package e2e

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
)

// TestRunnerListsReadTheirWrites: runner lists are answered from the server's pod cache, yet a
// list made right after a runner pod was created or deleted (by anyone, straight at the
// kube-apiserver) shows it: the cache is used only when a quorum read proves it current.
func TestRunnerListsReadTheirWrites(t *testing.T) {
	ns := namespace(t, "e2e-runner-reads")
	pods := kubeClient(t, "admin").CoreV1().Pods(ns)
	runners := actionsClient(t, "admin").ActionsV1alpha1().Runners(ns)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	fromCacheBefore := consistentLists(t, "cache")
	listed := func() map[string]bool {
		list, err := runners.List(ctx, metav1.ListOptions{})
		require.NoError(t, err)
		out := map[string]bool{}
		for _, r := range list.Items {
			out[r.Name] = true
		}
		return out
	}
	for i := range 10 {
		name := fmt.Sprintf("ghost-%d", i)
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{v1alpha1.LabelRunnerSet: "ghost"}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "runner", Image: "example.invalid/runner"}}},
		}
		_, err := pods.Create(ctx, pod, metav1.CreateOptions{})
		require.NoError(t, err)
		assert.True(t, listed()[name], "runner %s listed right after its pod was created", name)
		require.NoError(t, pods.Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}))
		assert.False(t, listed()[name], "runner %s not listed right after its pod was deleted", name)
	}
	// Some of these lists, and every one made while nothing changes, come from the cache.
	for range 5 {
		listed()
	}
	assert.Greater(t, consistentLists(t, "cache"), fromCacheBefore, "runner lists answered from the cache")
}

// consistentLists is the server's count of consistent runner lists answered from source.
func consistentLists(t *testing.T, source string) float64 {
	re := regexp.MustCompile(`(?m)^runnerset_runner_consistent_lists_total\{source="` + source + `"\} (\S+)$`)
	m := re.FindStringSubmatch(scrapeMetrics(t))
	if m == nil {
		return 0
	}
	v, err := strconv.ParseFloat(m[1], 64)
	require.NoError(t, err)
	return v
}
