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

package session

import (
	"context"
	"errors"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

func TestClaimNameIgnoresSpelling(t *testing.T) {
	a := scaleSetPlace{ConfigURL: "https://github.com/Acme/", GroupID: 1, Name: "Linux"}
	b := scaleSetPlace{ConfigURL: "https://www.github.com/acme", GroupID: 1, Name: "linux"}
	assert.Equal(t, a.claimName(), b.claimName())
	for _, other := range []scaleSetPlace{
		{ConfigURL: "https://github.com/acme", GroupID: 2, Name: "linux"},
		{ConfigURL: "https://github.com/acme/repo", GroupID: 1, Name: "linux"},
		{ConfigURL: "https://ghes.example.com/acme", GroupID: 1, Name: "linux"},
		{ConfigURL: "https://github.com/acme", GroupID: 1, Name: "linux-2"},
	} {
		assert.NotEqual(t, a.claimName(), other.claimName(), "%+v", other)
	}
}

// withDeletePreconditions gives ConfigMaps a new resourceVersion on every write and refuses a
// delete whose preconditions do not hold, as the kube-apiserver does (the fake's tracker does
// neither).
func withDeletePreconditions(cs *fake.Clientset) *fake.Clientset {
	rv := 0
	bump := func(a k8stesting.Action) (bool, runtime.Object, error) {
		rv++
		a.(interface{ GetObject() runtime.Object }).GetObject().(*corev1.ConfigMap).ResourceVersion = strconv.Itoa(rv)
		return false, nil, nil
	}
	cs.PrependReactor("create", "configmaps", bump)
	cs.PrependReactor("update", "configmaps", bump)
	cs.PrependReactor("delete", "configmaps", func(a k8stesting.Action) (bool, runtime.Object, error) {
		d := a.(k8stesting.DeleteActionImpl)
		pre := d.DeleteOptions.Preconditions
		if pre == nil {
			return false, nil, nil
		}
		obj, err := cs.Tracker().Get(corev1.SchemeGroupVersion.WithResource("configmaps"), d.Namespace, d.Name)
		if err != nil {
			return true, nil, err
		}
		cm := obj.(*corev1.ConfigMap)
		if (pre.UID != nil && *pre.UID != cm.UID) || (pre.ResourceVersion != nil && *pre.ResourceVersion != cm.ResourceVersion) {
			return true, nil, apierrors.NewConflict(corev1.Resource("configmaps"), d.Name, errors.New("precondition failed"))
		}
		return false, nil, nil
	})
	return cs
}

func TestClaims(t *testing.T) {
	ctx := context.Background()
	alive := map[Owner]bool{}
	c := NewClaims(withDeletePreconditions(fake.NewClientset()).CoreV1(), "runnerset-system",
		func(_ context.Context, o Owner) (bool, error) { return alive[o], nil })
	place := scaleSetPlace{ConfigURL: "https://github.com/acme", GroupID: 1, Name: "linux-small"}
	alice := Owner{Namespace: "team-a", Name: "linux-small", UID: "a1"}
	bob := Owner{Namespace: "team-b", Name: "linux-small", UID: "b1"}
	alive[alice], alive[bob] = true, true

	mine, holder, err := c.acquire(ctx, place, alice)
	require.NoError(t, err)
	require.Nil(t, holder)
	require.NoError(t, c.record(ctx, mine, 42))

	again, holder, err := c.acquire(ctx, place, alice)
	require.NoError(t, err)
	require.Nil(t, holder)
	assert.Equal(t, 42, again.ScaleSetID, "the Owner finds its scale set id again")

	_, holder, err = c.acquire(ctx, place, bob)
	require.NoError(t, err)
	require.NotNil(t, holder, "another live RunnerSet may not take the scale set")
	assert.Equal(t, "team-a", holder.Namespace)

	listed, err := c.mine(ctx, alice)
	require.NoError(t, err)
	require.Len(t, listed, 1)
	none, err := c.mine(ctx, bob)
	require.NoError(t, err)
	assert.Empty(t, none)

	// alice's RunnerSet is gone (deleted while GitHub was unreachable): bob may take over.
	alive[alice] = false
	taken, holder, err := c.acquire(ctx, place, bob)
	require.NoError(t, err)
	require.Nil(t, holder)
	assert.Equal(t, 42, taken.ScaleSetID, "the scale set is adopted with its id")
	assert.Equal(t, bob, taken.Owner)

	// A new incarnation under alice's name is a new Owner too.
	alive[bob] = true
	reborn := Owner{Namespace: "team-a", Name: "linux-small", UID: "a2"}
	_, holder, err = c.acquire(ctx, place, reborn)
	require.NoError(t, err)
	assert.Equal(t, &bob, holder)

	// A stale release (the claim changed hands since) leaves the new Owner's claim alone.
	require.NoError(t, c.release(ctx, mine))
	still, err := c.mine(ctx, bob)
	require.NoError(t, err)
	require.Len(t, still, 1)
	require.NoError(t, c.release(ctx, still[0]))
	gone, err := c.mine(ctx, bob)
	require.NoError(t, err)
	assert.Empty(t, gone)
}
