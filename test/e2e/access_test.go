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
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/github/simulator"
)

// accessCase is a misconfiguration of a RunnerSet's GitHub access: what the RunnerSet must say
// about it, and the fix after which it becomes Ready by itself.
type accessCase struct {
	name      string
	url       string
	secret    map[string]string
	setup     func(t *testing.T, ns string, rs *v1alpha1.RunnerSet)
	condition string // the condition that names the problem
	status    metav1.ConditionStatus
	reason    string
	says      string // in the condition's message
	fix       func(t *testing.T, ns string)
}

// TestGitHubAccessProblemsAreNamed: each way GitHub refuses a RunnerSet ends in a condition that
// names the problem (an unknown organization, a token without the scope, an App not installed on
// the organization, an exhausted rate limit) and a Warning event; once fixed, on GitHub or in the
// Secret, the RunnerSet becomes Ready without anyone touching it.
func TestGitHubAccessProblemsAreNamed(t *testing.T) {
	pat := func(token string) map[string]string { return map[string]string{"github_token": token} }
	cases := []accessCase{{
		name: "unknown organization", url: gh.URL() + "/typo-e2e/app", secret: pat(simulator.DefaultPAT),
		condition: v1alpha1.ConditionGitHubAuthenticated, status: metav1.ConditionFalse, reason: "NotFound", says: gh.URL() + "/typo-e2e/app",
		fix: func(t *testing.T, _ string) { require.NoError(t, gh.DeclareAccount("typo-e2e/app")) },
	}, {
		name: "token without admin:org", url: gh.ConfigURL("scopes-e2e"), secret: pat("ghp_e2e_repo_only"),
		setup: func(t *testing.T, _ string, _ *v1alpha1.RunnerSet) {
			require.NoError(t, gh.SetToken(simulator.Token{Value: "ghp_e2e_repo_only", Scopes: []string{"repo"}}))
		},
		condition: v1alpha1.ConditionGitHubAuthenticated, status: metav1.ConditionFalse, reason: "InsufficientScope", says: "admin:org",
		fix: func(t *testing.T, _ string) {
			_, err := gh.GrantToken("ghp_e2e_repo_only", []string{"admin:org"}, nil)
			require.NoError(t, err)
		},
	}, {
		name: "App not installed on the organization", url: gh.ConfigURL("appless-e2e/app"),
		secret: map[string]string{
			"github_app_id": e2eAppClientID, "github_app_installation_id": fmt.Sprint(e2eAppInstallation), "github_app_private_key": string(e2eAppKey),
		},
		condition: v1alpha1.ConditionGitHubAuthenticated, status: metav1.ConditionFalse, reason: "AppNotInstalled", says: e2eAppElsewhere,
		fix: func(t *testing.T, ns string) {
			// The organization's owner installs the App; its new installation id goes into the Secret.
			in, err := gh.Install(simulator.Installation{AppID: e2eAppID, Account: "appless-e2e"})
			require.NoError(t, err)
			_, err = kubeClient(t, "admin").CoreV1().Secrets(ns).Patch(context.Background(), "github-creds", types.MergePatchType,
				fmt.Appendf(nil, `{"stringData":{"github_app_installation_id":"%d"}}`, in.ID), metav1.PatchOptions{})
			require.NoError(t, err)
		},
	}, {
		name: "REST rate limit exhausted", url: gh.ConfigURL("limited-e2e/app"), secret: pat("ghp_e2e_limited"),
		setup: func(t *testing.T, _ string, _ *v1alpha1.RunnerSet) {
			require.NoError(t, gh.SetToken(simulator.Token{Value: "ghp_e2e_limited", Scopes: []string{"repo"}}))
			_, err := gh.SetRateLimit(simulator.RateLimitChange{Token: "ghp_e2e_limited", Remaining: 0, ResetIn: 40 * time.Second})
			require.NoError(t, err)
		},
		// The fix is time: GitHub's reset.
		condition: v1alpha1.ConditionRateLimited, status: metav1.ConditionTrue, reason: "RateLimited", says: "until",
	}, {
		name: "githubServerTLS names another CA", url: gh.ConfigURL("tls-e2e/app"), secret: pat(simulator.DefaultPAT),
		setup: func(t *testing.T, ns string, rs *v1alpha1.RunnerSet) {
			rs.Spec.GitHubServerTLS = trustSimulator(t, ns)
			other, err := simulator.NewCA()
			require.NoError(t, err)
			setCA(t, ns, other.CertPEM())
		},
		condition: v1alpha1.ConditionGitHubAuthenticated, status: metav1.ConditionFalse, reason: "CertificateNotTrusted", says: "ConfigMap github-ca key ca.crt",
		fix: func(t *testing.T, ns string) { setCA(t, ns, gh.CACertPEM()) },
	}}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			accessProblem(t, fmt.Sprintf("e2e-access-%d", i), tc)
		})
	}
}

func accessProblem(t *testing.T, ns string, tc accessCase) {
	namespace(t, ns)
	ctx := context.Background()
	_, err := kubeClient(t, "admin").CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "github-creds"}, StringData: tc.secret,
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	rs := runnerSet(ns, "access")
	rs.Spec.GitHubConfigURL, rs.Spec.GitHubConfigSecret = tc.url, "github-creds"
	if tc.setup != nil {
		tc.setup(t, ns, rs)
	}
	create(t, rs)
	var last *metav1.Condition
	eventually(t, 90*time.Second, fmt.Sprintf("%s=%s (%s)", tc.condition, tc.status, tc.reason), func(ctx context.Context) (bool, error) {
		got, err := actionsClient(t, "admin").ActionsV1alpha1().RunnerSets(ns).Get(ctx, "access", metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		last = meta.FindStatusCondition(got.Status.Conditions, tc.condition)
		return last != nil && last.Status == tc.status && last.Reason == tc.reason, nil
	})
	require.Contains(t, last.Message, tc.says, "the condition's message")
	eventually(t, 30*time.Second, "a Warning event about it", func(ctx context.Context) (bool, error) {
		return eventMentions(ctx, t, ns, "access", tc.says)
	})
	if tc.fix != nil {
		tc.fix(t, ns)
	}
	eventually(t, 150*time.Second, "Ready once fixed", func(ctx context.Context) (bool, error) {
		got, err := actionsClient(t, "admin").ActionsV1alpha1().RunnerSets(ns).Get(ctx, "access", metav1.GetOptions{})
		return err == nil && meta.IsStatusConditionTrue(got.Status.Conditions, v1alpha1.ConditionReady), nil
	})
}

// setCA replaces the CA in ns's github-ca ConfigMap.
func setCA(t *testing.T, ns string, pem []byte) {
	t.Helper()
	patch := fmt.Appendf(nil, `{"data":{"ca.crt":%q}}`, pem)
	_, err := kubeClient(t, "admin").CoreV1().ConfigMaps(ns).Patch(context.Background(), "github-ca", types.MergePatchType, patch, metav1.PatchOptions{})
	require.NoError(t, err)
}
