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

package configmapstore

import (
	"testing"

	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// TestDecodedCacheServesOnlyTheSameVersion: an object decoded from a ConfigMap is reused for
// that ConfigMap at that resourceVersion only, and callers get copies of their own.
func TestDecodedCacheServesOnlyTheSameVersion(t *testing.T) {
	cm := func(uid, rv string) *corev1.ConfigMap {
		return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "rs-a", UID: types.UID("u" + uid), ResourceVersion: rv}}
	}
	var c decodedCache
	c.put(cm("1", "5"), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "a", Labels: map[string]string{"k": "v"}}})

	out := &corev1.Secret{}
	assert.True(t, c.get(cm("1", "5"), out))
	assert.Equal(t, "v", out.Labels["k"])
	out.Labels["k"] = "changed"
	again := &corev1.Secret{}
	assert.True(t, c.get(cm("1", "5"), again))
	assert.Equal(t, "v", again.Labels["k"], "a caller's change does not reach the cache")

	assert.False(t, c.get(cm("1", "6"), &corev1.Secret{}), "another version")
	assert.False(t, c.get(cm("2", "5"), &corev1.Secret{}), "another ConfigMap under the name")
	assert.False(t, c.get(cm("1", ""), &corev1.Secret{}), "no version")
	assert.False(t, c.get(cm("1", "5"), &corev1.Pod{}), "another type")
	c.forget("ns", "rs-a")
	assert.False(t, c.get(cm("1", "5"), &corev1.Secret{}), "forgotten")
}
