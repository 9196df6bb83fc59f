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

package configmapstore_test

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/storage"

	"actions.dev/runnerset-apiserver/pkg/apis/actions"
	"actions.dev/runnerset-apiserver/pkg/registry/configmapstore"
)

// TestObjectTooLargeForAConfigMap: an object whose stored form would not fit a ConfigMap is a
// 413 that says so, on create and on update, and nothing is written. Regression: the cluster's
// refusal of the ConfigMap came back as a 500 (found by the fault suite, R5).
func TestObjectTooLargeForAConfigMap(t *testing.T) {
	ctx := context.Background()
	c, cs := newConfigMaps()
	s := newStore(cs)
	const key = "/actions.dev/runnersets/team-a/big"
	big := func(rs *actions.RunnerSet) {
		rs.Spec.Template.Spec.Containers = []corev1.Container{{Name: "runner", Image: "r",
			Env: []corev1.EnvVar{{Name: "BIG", Value: strings.Repeat("x", configmapstore.MaxObjectBytes)}}}}
	}
	obj := &actions.RunnerSet{ObjectMeta: metav1.ObjectMeta{Name: "big", Namespace: "team-a"}}
	big(obj)
	err := s.Create(ctx, key, obj, &actions.RunnerSet{}, 0)
	if !apierrors.IsRequestEntityTooLargeError(err) || !strings.Contains(err.Error(), "ConfigMap") {
		t.Fatalf("create: %v, want a 413 explaining the ConfigMap limit", err)
	}
	if calls := c.reset(); calls["create"] != 0 {
		t.Errorf("calls %v: nothing may be written", calls)
	}

	small := &actions.RunnerSet{ObjectMeta: metav1.ObjectMeta{Name: "big", Namespace: "team-a"}}
	if err := s.Create(ctx, key, small, &actions.RunnerSet{}, 0); err != nil {
		t.Fatal(err)
	}
	err = s.GuaranteedUpdate(ctx, key, &actions.RunnerSet{}, false, nil, func(in runtime.Object, _ storage.ResponseMeta) (runtime.Object, *uint64, error) {
		rs := in.(*actions.RunnerSet).DeepCopy()
		big(rs)
		return rs, nil, nil
	}, nil)
	if !apierrors.IsRequestEntityTooLargeError(err) {
		t.Fatalf("update: %v, want a 413", err)
	}
}
