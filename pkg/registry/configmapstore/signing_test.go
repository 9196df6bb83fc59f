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
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/storage"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"

	"actions.dev/runnerset-apiserver/pkg/apis/actions"
	"actions.dev/runnerset-apiserver/pkg/apiserver"
	"actions.dev/runnerset-apiserver/pkg/registry/configmapstore"
)

func signer(t *testing.T, b byte) *configmapstore.HMACSigner {
	s, err := configmapstore.NewHMACSigner(bytes.Repeat([]byte{b}, 32))
	require.NoError(t, err)
	return s
}

// rejections records what the store reported unreadable.
type rejections struct {
	mu   sync.Mutex
	errs map[string]error
}

func (r *rejections) report(cm *corev1.ConfigMap, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.errs == nil {
		r.errs = map[string]error{}
	}
	r.errs[cm.Name] = err
}

func (r *rejections) of(name string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.errs[name]
}

func signedStore(cs *fake.Clientset, s configmapstore.Signer, rej *rejections) *configmapstore.Store {
	return configmapstore.New(configmapstore.Config{
		Client: cs.CoreV1(), Codec: apiserver.StorageCodec(), GroupResource: actions.Resource("runnersets"),
		ResourcePrefix: "/actions.dev/runnersets", MarkerLabel: "actions.dev/runnerset", NamePrefix: "runnerset.",
		NewFunc:     func() runtime.Object { return &actions.RunnerSet{} },
		NewListFunc: func() runtime.Object { return &actions.RunnerSetList{} },
		Signer:      s,
		Validate: func(obj runtime.Object) error {
			rs := obj.(*actions.RunnerSet)
			if rs.Spec.MinRunners != nil && rs.Spec.MaxRunners != nil && *rs.Spec.MinRunners > *rs.Spec.MaxRunners {
				return errors.New("spec.maxRunners: must be greater than or equal to minRunners")
			}
			return nil
		},
		OnUnreadable: rej.report,
	})
}

// forge writes a backing ConfigMap as a tenant with ConfigMap rights would.
func forge(t *testing.T, cs *fake.Clientset, rs *actions.RunnerSet, annotations map[string]string) {
	t.Helper()
	data, err := runtime.Encode(apiserver.StorageCodec(), rs)
	require.NoError(t, err)
	_, err = cs.CoreV1().ConfigMaps(rs.Namespace).Create(context.Background(), &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "runnerset." + rs.Name, Namespace: rs.Namespace,
			Labels: map[string]string{"actions.dev/runnerset": rs.Name}, Annotations: annotations},
		Data: map[string]string{configmapstore.DataKey: string(data)},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
}

func listNames(t *testing.T, s *configmapstore.Store) []string {
	t.Helper()
	list := &actions.RunnerSetList{}
	require.NoError(t, s.GetList(context.Background(), "/actions.dev/runnersets/team-a", storage.ListOptions{Recursive: true, Predicate: storage.Everything}, list))
	var names []string
	for _, rs := range list.Items {
		names = append(names, rs.Name)
	}
	return names
}

func TestOnlyWhatTheServerWroteIsServed(t *testing.T) {
	ctx := context.Background()
	_, cs := newConfigMaps()
	rej := &rejections{}
	s := signedStore(cs, signer(t, 1), rej)

	good := &actions.RunnerSet{ObjectMeta: metav1.ObjectMeta{Name: "good", Namespace: "team-a"}}
	require.NoError(t, s.Create(ctx, "/actions.dev/runnersets/team-a/good", good, &actions.RunnerSet{}, 0))
	cm, err := cs.CoreV1().ConfigMaps("team-a").Get(ctx, "runnerset.good", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Regexp(t, `^v1\.[0-9a-f]{8}\.`, cm.Annotations[configmapstore.SignatureAnnotation])

	// A forged object, unsigned, with the drain finalizer and status ids of its choosing.
	evil := &actions.RunnerSet{ObjectMeta: metav1.ObjectMeta{Name: "evil", Namespace: "team-a", UID: "u", Finalizers: []string{"actions.dev/drain"}},
		Status: actions.RunnerSetStatus{ScaleSetID: 7, SessionID: "s"}}
	forge(t, cs, evil, nil)
	// A signed object whose data was changed afterwards.
	cm.Data[configmapstore.DataKey] = cm.Data[configmapstore.DataKey][:len(cm.Data[configmapstore.DataKey])-1] + " "
	tampered := cm.DeepCopy()
	tampered.Name, tampered.Labels["actions.dev/runnerset"] = "runnerset.tampered", "tampered"
	tampered.ResourceVersion = ""
	_, err = cs.CoreV1().ConfigMaps("team-a").Create(ctx, tampered, metav1.CreateOptions{})
	require.NoError(t, err)

	assert.Equal(t, []string{"good"}, listNames(t, s), "only the object the server wrote is listed")
	assert.ErrorIs(t, rej.of("runnerset.evil"), configmapstore.ErrUnsigned)
	assert.ErrorIs(t, rej.of("runnerset.tampered"), configmapstore.ErrBadSignature)
	err = s.Get(ctx, "/actions.dev/runnersets/team-a/evil", storage.GetOptions{}, &actions.RunnerSet{})
	assert.True(t, storage.IsCorruptObject(err), "a forged object is not served: %v", err)

	// Written under another key (restored without the server's key): named as such.
	other := signedStore(cs, signer(t, 2), &rejections{})
	err = other.Get(ctx, "/actions.dev/runnersets/team-a/good", storage.GetOptions{}, &actions.RunnerSet{})
	require.True(t, storage.IsCorruptObject(err))
	assert.Contains(t, err.Error(), "signed with key "+signer(t, 1).KeyID())
}

func TestSignatureBindsPlace(t *testing.T) {
	s := signer(t, 1)
	sig := s.Sign("team-a", "x", "data")
	require.NoError(t, s.Verify("team-a", "x", "data", sig))
	assert.ErrorIs(t, s.Verify("team-b", "x", "data", sig), configmapstore.ErrBadSignature, "copied to another namespace")
	assert.ErrorIs(t, s.Verify("team-a", "y", "data", sig), configmapstore.ErrBadSignature, "copied to another name")
	assert.ErrorIs(t, s.Verify("team-a", "x", "datb", sig), configmapstore.ErrBadSignature, "data changed")
	assert.ErrorIs(t, s.Verify("team-a", "xd", "ata", s.Sign("team-a", "x", "data")), configmapstore.ErrBadSignature, "boundaries are part of what is signed")
	assert.ErrorIs(t, s.Verify("team-a", "x", "data", ""), configmapstore.ErrUnsigned)
	_, err := configmapstore.NewHMACSigner([]byte("short"))
	assert.Error(t, err)
}

func TestSignedButInvalidIsRejected(t *testing.T) {
	_, cs := newConfigMaps()
	rej := &rejections{}
	k := signer(t, 1)
	s := signedStore(cs, k, rej)
	bad := &actions.RunnerSet{ObjectMeta: metav1.ObjectMeta{Name: "bad", Namespace: "team-a"},
		Spec: actions.RunnerSetSpec{MinRunners: ptr.To[int32](4), MaxRunners: ptr.To[int32](2)}}
	data, err := runtime.Encode(apiserver.StorageCodec(), bad)
	require.NoError(t, err)
	forge(t, cs, bad, map[string]string{configmapstore.SignatureAnnotation: k.Sign("team-a", "bad", string(data))})
	assert.Empty(t, listNames(t, s))
	assert.ErrorContains(t, rej.of("runnerset.bad"), "invalid object")
}

func TestAdoptUnsigned(t *testing.T) {
	ctx := context.Background()
	_, cs := newConfigMaps()
	rej := &rejections{}
	s := signedStore(cs, signer(t, 1), rej)
	forge(t, cs, &actions.RunnerSet{ObjectMeta: metav1.ObjectMeta{Name: "old", Namespace: "team-a"}}, nil)
	forge(t, cs, &actions.RunnerSet{ObjectMeta: metav1.ObjectMeta{Name: "broken", Namespace: "team-a"},
		Spec: actions.RunnerSetSpec{MinRunners: ptr.To[int32](4), MaxRunners: ptr.To[int32](2)}}, nil)
	foreign := signedStore(cs, signer(t, 2), &rejections{})
	require.NoError(t, foreign.Create(ctx, "/actions.dev/runnersets/team-a/foreign", &actions.RunnerSet{ObjectMeta: metav1.ObjectMeta{Name: "foreign", Namespace: "team-a"}}, &actions.RunnerSet{}, 0))

	adopted, err := s.AdoptUnsigned(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"team-a/old"}, adopted, "only the valid unsigned object is adopted; another key's is left alone")
	assert.Equal(t, []string{"old"}, listNames(t, s))
}
