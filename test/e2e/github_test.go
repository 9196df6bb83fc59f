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
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/github/simulator"
	"actions.dev/runnerset-apiserver/pkg/github/simulator/simproxy"
)

// gitHubNames are the github.com form's hosts the server reaches through a proxy.
var gitHubNames = []string{"api.github.com:443", simulator.HostPipelines + ":443", simulator.HostBroker + ":443"}

// TestGitHubComThroughAProxy registers a RunnerSet with github.com's own URL through a CONNECT
// proxy with credentials, as behind a corporate proxy: the REST API, the Actions Service and the
// broker are three hosts, all over TLS. A host in noProxy is dialled directly (here, with no DNS
// for GitHub's names, that fails, and says which host); once noProxy no longer names it, the
// RunnerSet becomes Ready. The runner pods get the proxy settings too.
func TestGitHubComThroughAProxy(t *testing.T) {
	ns := namespace(t, "e2e-github-proxy")
	px, err := simproxy.Start(simproxy.Options{Listen: "127.0.0.2:0", Resolve: gh.ResolveMap(), Username: "corp", Password: "s3cret"})
	require.NoError(t, err)
	t.Cleanup(px.Close)
	ctx := context.Background()
	for name, data := range map[string]map[string]string{
		"github-pat": {"github_token": simulator.DefaultPAT},
		"corp-proxy": {"username": "corp", "password": "s3cret"},
	} {
		_, err := kubeClient(t, "admin").CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name}, StringData: data}, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	require.NoError(t, gh.DeclareAccount("acme/proxied"))
	rs := runnerSet(ns, "proxied")
	rs.Spec.GitHubConfigURL = "https://github.com/acme/proxied"
	rs.Spec.Proxy = &v1alpha1.ProxyConfig{
		HTTPS:   &v1alpha1.ProxyServerConfig{URL: px.URL(), CredentialSecretRef: "corp-proxy"},
		NoProxy: []string{simulator.HostBroker},
	}
	create(t, rs)
	t.Cleanup(func() { // drained through the proxy before it closes
		rsets := actionsClient(t, "admin").ActionsV1alpha1().RunnerSets(ns)
		_ = rsets.Delete(context.Background(), "proxied", metav1.DeleteOptions{})
		eventually(t, 90*time.Second, "proxied drained and gone", func(ctx context.Context) (bool, error) {
			_, err := rsets.Get(ctx, "proxied", metav1.GetOptions{})
			return apierrors.IsNotFound(err), nil
		})
	})

	eventually(t, 60*time.Second, "an event naming the broker, dialled without the proxy", func(ctx context.Context) (bool, error) {
		return eventMentions(ctx, t, ns, "proxied", simulator.HostBroker)
	})
	seen := px.Requests()
	for _, host := range gitHubNames[:2] {
		require.Contains(t, seen, "CONNECT "+host, "through the proxy")
	}
	require.NotContains(t, seen, "CONNECT "+gitHubNames[2], "noProxy names the broker")

	_, err = actionsClient(t, "admin").ActionsV1alpha1().RunnerSets(ns).Patch(ctx, "proxied", types.MergePatchType,
		[]byte(`{"spec":{"proxy":{"noProxy":["internal.example.com"]}}}`), metav1.PatchOptions{})
	require.NoError(t, err)
	// Ready for the new generation: the status is written a second after a change, so a Ready
	// of the old generation may still be there for a moment.
	eventually(t, 60*time.Second, "proxied Ready with the new settings", func(ctx context.Context) (bool, error) {
		got, err := actionsClient(t, "admin").ActionsV1alpha1().RunnerSets(ns).Get(ctx, "proxied", metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		c := meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionReady)
		return got.Status.ObservedGeneration == got.Generation && c != nil && c.Status == metav1.ConditionTrue && c.ObservedGeneration == got.Generation, nil
	})
	eventually(t, 60*time.Second, "the broker dialled through the proxy once noProxy no longer names it", func(ctx context.Context) (bool, error) {
		return slices.Contains(px.Requests(), "CONNECT "+gitHubNames[2]), nil
	})

	var pods []corev1.Pod
	eventually(t, 60*time.Second, "a runner pod with the new proxy settings", func(ctx context.Context) (bool, error) {
		pods = runnerPods(t, ns)
		return slices.ContainsFunc(pods, func(p corev1.Pod) bool { return envValue(p, "no_proxy") == "internal.example.com" }), nil
	})
	for _, p := range pods {
		if envValue(p, "no_proxy") != "internal.example.com" {
			continue
		}
		require.True(t, hasEnv(p, "https_proxy"), "pod %s has https_proxy", p.Name)
	}
}

// eventMentions reports whether an event about the RunnerSet says text.
func eventMentions(ctx context.Context, t *testing.T, ns, name, text string) (bool, error) {
	events, err := kubeClient(t, "admin").CoreV1().Events(ns).List(ctx, metav1.ListOptions{
		FieldSelector: fmt.Sprintf("involvedObject.name=%s", name),
	})
	if err != nil {
		return false, nil
	}
	for _, e := range events.Items {
		if strings.Contains(e.Message, text) {
			return true, nil
		}
	}
	return false, nil
}

// envValue is the literal value of the runner container's variable name ("" when it has none or
// it comes from a Secret).
func envValue(p corev1.Pod, name string) string {
	for _, c := range p.Spec.Containers {
		for _, e := range c.Env {
			if e.Name == name {
				return e.Value
			}
		}
	}
	return ""
}

func hasEnv(p corev1.Pod, name string) bool {
	for _, c := range p.Spec.Containers {
		for _, e := range c.Env {
			if e.Name == name {
				return true
			}
		}
	}
	return false
}

// e2eApp is the GitHub App of the e2e run, known to the simulator by its numeric id and its
// Client ID; its one installation at start is on an organization no test registers to.
const (
	e2eAppID           = 4711
	e2eAppClientID     = "Iv23liE2eRunnerSets"
	e2eAppInstallation = 501
	e2eAppElsewhere    = "elsewhere-e2e"
)
