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

package runnerset

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/utils/ptr"

	"actions.dev/runnerset-apiserver/pkg/apis/actions"
	"actions.dev/runnerset-apiserver/pkg/hostallow"
	"actions.dev/runnerset-apiserver/pkg/scope"
)

// grants is an authorizer that allows exactly the listed "verb resource[/sub] name" triples to
// one user, and records what it was asked.
type grants struct {
	user    string
	allowed map[string]bool
	asked   []string
}

func (g *grants) Authorize(_ context.Context, a authorizer.Attributes) (authorizer.Decision, string, error) {
	res := a.GetResource()
	if a.GetSubresource() != "" {
		res += "/" + a.GetSubresource()
	}
	key := fmt.Sprintf("%s %s %s", a.GetVerb(), res, a.GetName())
	g.asked = append(g.asked, fmt.Sprintf("%s@%s %s", a.GetUser().GetName(), a.GetNamespace(), key))
	if a.GetUser().GetName() == g.user && g.allowed[key] {
		return authorizer.DecisionAllow, "", nil
	}
	return authorizer.DecisionNoOpinion, "", nil
}

func asUser(name string) context.Context {
	return genericapirequest.WithUser(context.Background(), &user.DefaultInfo{Name: name, Groups: []string{"team-a"}})
}

func TestPolicyRights(t *testing.T) {
	author := &grants{user: "alice", allowed: map[string]bool{"create pods ": true, "get secrets github-pat": true}}
	p := &Policy{Authorizer: author}

	require.NoError(t, p.admit(asUser("alice"), baseRunnerSet(), nil), "alice holds what a plain RunnerSet uses")
	assert.Contains(t, author.asked, "alice@team-a get secrets github-pat", "the check is made as the requester, in the RunnerSet's namespace")

	err := p.admit(asUser("carol"), baseRunnerSet(), nil)
	require.True(t, apierrors.IsForbidden(err), "carol holds nothing: %v", err)
	assert.Contains(t, err.Error(), `user "carol" may not, in namespace team-a: create pods (spec.template); get secrets "github-pat" (spec.githubConfigSecret)`)

	exfil := baseRunnerSet()
	exfil.Spec.Template.Spec.Volumes = []corev1.Volume{{Name: "s", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "prod-db"}}}}
	err = p.admit(asUser("alice"), exfil, nil)
	require.True(t, apierrors.IsForbidden(err), "%v", err)
	assert.Contains(t, err.Error(), `get secrets "prod-db" (spec.template.spec.volumes[0].secret.secretName)`)
	assert.NotContains(t, err.Error(), "create pods", "only what she lacks is named")

	// carol may change counts of what alice made, not what its runners get.
	scaled := baseRunnerSet()
	scaled.Spec.MaxRunners = ptr.To[int32](7)
	require.NoError(t, p.admit(asUser("carol"), scaled, baseRunnerSet()))
	image := baseRunnerSet()
	image.Spec.Template.Spec.Containers[0].Image = "attacker.example/steal"
	require.True(t, apierrors.IsForbidden(p.admit(asUser("carol"), image, baseRunnerSet())))

	noUser := p.admit(context.Background(), baseRunnerSet(), nil)
	require.True(t, apierrors.IsForbidden(noUser), "no user, no rights")
}

func TestPolicyBoundsAndHosts(t *testing.T) {
	hosts, err := hostallow.Parse([]string{"github.com", "ghes.example.com:8443"})
	require.NoError(t, err)
	count := 3
	p := &Policy{Hosts: hosts, MaxRunners: 100, MaxPerNamespace: 3, Count: func(context.Context, string) (int, error) { return count, nil }}

	huge := baseRunnerSet()
	huge.Spec.MinRunners, huge.Spec.MaxRunners = ptr.To[int32](2000000000), ptr.To[int32](2000000000)
	count = 0
	err = p.admit(context.Background(), huge, nil)
	require.True(t, apierrors.IsInvalid(err), "%v", err)
	assert.Contains(t, err.Error(), "spec.minRunners: Invalid value: 2000000000: must be at most 100")
	assert.Contains(t, err.Error(), "spec.maxRunners: Invalid value: 2000000000: must be at most 100")

	// A cap lowered after the object was made does not stop unrelated edits.
	old := baseRunnerSet()
	old.Spec.MaxRunners = ptr.To[int32](500)
	edited := old.DeepCopy()
	edited.Labels = map[string]string{"x": "y"}
	require.NoError(t, p.admit(context.Background(), edited, old))

	count = 3
	err = p.admit(context.Background(), baseRunnerSet(), nil)
	require.True(t, apierrors.IsInvalid(err))
	assert.Contains(t, err.Error(), "namespace team-a already has 3 RunnerSets")
	require.NoError(t, p.admit(context.Background(), edited, old), "the count limits creation only")
	count = 0

	for _, tc := range []struct {
		url, proxy string
		field      string
	}{
		{url: "http://127.0.0.1:6443/acme", field: "spec.githubConfigUrl"},
		{url: "https://ghes.example.com/acme", field: "spec.githubConfigUrl"},
		{url: "https://github.com/acme", proxy: "http://169.254.169.254:80", field: "spec.proxy.https.url"},
	} {
		rs := baseRunnerSet()
		rs.Spec.GitHubConfigURL = tc.url
		if tc.proxy != "" {
			rs.Spec.Proxy = &actions.ProxyConfig{HTTPS: &actions.ProxyServerConfig{URL: tc.proxy}}
		}
		err := p.admit(context.Background(), rs, nil)
		require.True(t, apierrors.IsInvalid(err), "%s %s: %v", tc.url, tc.proxy, err)
		assert.Contains(t, err.Error(), tc.field)
		assert.Contains(t, err.Error(), "is not in this server's allowed GitHub hosts")
	}
	ok := baseRunnerSet()
	ok.Spec.GitHubConfigURL = "https://ghes.example.com:8443/acme"
	require.NoError(t, p.admit(context.Background(), ok, nil))
}

// TestPolicyNamespacedMode: in namespaced mode a RunnerSet is created only in a served
// namespace; one that exists elsewhere can still be changed (its finalizer removed, say).
func TestPolicyNamespacedMode(t *testing.T) {
	served, err := scope.New([]string{"team-b", "team-c"})
	require.NoError(t, err)
	p := &Policy{Namespaces: served}
	err = p.admit(context.Background(), baseRunnerSet(), nil)
	require.True(t, apierrors.IsForbidden(err), "%v", err)
	assert.Contains(t, err.Error(), "only in namespaces team-b, team-c")
	assert.Contains(t, err.Error(), "add team-a")

	old := baseRunnerSet()
	edited := old.DeepCopy()
	edited.Finalizers = nil
	require.NoError(t, p.admit(context.Background(), edited, old))

	inB := baseRunnerSet()
	inB.Namespace = "team-b"
	require.NoError(t, p.admit(context.Background(), inB, nil))
}

func TestStatusIDsAreTheServers(t *testing.T) {
	old := baseRunnerSet()
	old.ResourceVersion = "5"
	old.Status.ScaleSetID, old.Status.SessionID = 7, "s1"
	forged := old.DeepCopy()
	forged.Status.ScaleSetID, forged.Status.SessionID, forged.Status.BusyRunners = 8, "s2", 3
	st := NewStatusStrategy(NewStrategy(nil))

	errs := st.ValidateUpdate(asUser("cluster-admin"), forged, old)
	assert.Len(t, errs, 2)
	assert.Contains(t, errs.ToAggregate().Error(), "status.scaleSetId: Forbidden: only the server writes it")
	assert.Contains(t, errs.ToAggregate().Error(), "status.sessionId: Forbidden")

	counts := old.DeepCopy()
	counts.Status.BusyRunners = 3
	assert.Empty(t, st.ValidateUpdate(asUser("cluster-admin"), counts, old), "others may still write counts")
	assert.Empty(t, st.ValidateUpdate(asUser(user.APIServerUser), forged, old), "the server writes the ids")
}
