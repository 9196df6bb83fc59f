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
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
)

func runningRunners(t *testing.T, ns string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, p := range runnerPods(t, ns) {
		if p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil {
			out[p.Name] = p.Annotations[v1alpha1.AnnotationTemplateHash]
		}
	}
	return out
}

// TestRunnerLifecycle: a template change replaces idle runners; a runner that exits 7 (runner
// version deprecated) marks the RunnerSet and stops new runners until the template changes.
func TestRunnerLifecycle(t *testing.T) {
	const ns, name = "e2e-lifecycle", "life"
	fleet(t, ns, name, 2, 4)
	var first map[string]string
	eventually(t, 60*time.Second, "2 idle runners", func(ctx context.Context) (bool, error) {
		first = runningRunners(t, ns)
		return len(first) == 2, nil
	})
	oldHash := ""
	for _, h := range first {
		oldHash = h
	}

	rc := actionsClient(t, "admin").ActionsV1alpha1().RunnerSets(ns)
	_, err := rc.Patch(context.Background(), name, types.JSONPatchType,
		[]byte(`[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"ghcr.io/actions/actions-runner:2.330.0"}]`), metav1.PatchOptions{})
	require.NoError(t, err)
	eventually(t, 60*time.Second, "idle runners replaced by the new template", func(ctx context.Context) (bool, error) {
		now := runningRunners(t, ns)
		if len(now) != 2 {
			return false, nil
		}
		for n, h := range now {
			if _, old := first[n]; old || h == oldHash {
				return false, nil
			}
		}
		return true, nil
	})

	// Every new runner of this template exits 7.
	_, err = rc.Patch(context.Background(), name, types.MergePatchType,
		[]byte(`{"spec":{"template":{"metadata":{"annotations":{"emulator.actions.dev/exit-code":"7"}}}}}`), metav1.PatchOptions{})
	require.NoError(t, err)
	eventually(t, 60*time.Second, "RunnerVersionDeprecated", func(ctx context.Context) (bool, error) {
		rs, err := rc.Get(ctx, name, metav1.GetOptions{})
		return err == nil && meta.IsStatusConditionTrue(rs.Status.Conditions, v1alpha1.ConditionRunnerVersionDeprecated), nil
	})
	events := kubectl(t, "admin", "get", "events", "-n", ns, "--field-selector", "reason=RunnerVersionDeprecated", "-o", "name")
	assert.NotEmpty(t, strings.TrimSpace(events), "an event tells the operator")
	// Creation is held back: no churn of runners that cannot work.
	eventually(t, 30*time.Second, "no runner pods left", func(ctx context.Context) (bool, error) {
		return len(runnerPods(t, ns)) == 0, nil
	})

	_, err = rc.Patch(context.Background(), name, types.JSONPatchType,
		[]byte(`[{"op":"remove","path":"/spec/template/metadata/annotations"}]`), metav1.PatchOptions{})
	require.NoError(t, err)
	eventually(t, 60*time.Second, "runners back after the template is fixed", func(ctx context.Context) (bool, error) {
		rs, err := rc.Get(ctx, name, metav1.GetOptions{})
		return err == nil && !meta.IsStatusConditionTrue(rs.Status.Conditions, v1alpha1.ConditionRunnerVersionDeprecated) && len(runningRunners(t, ns)) == 2, nil
	})

	// A lifetime bound: the kubelet's activeDeadlineSeconds on every new runner; idle runners are
	// replaced to get it. Too short a bound is refused with the field named.
	errOut := kubectlFails(t, "admin", "patch", "rset", name, "-n", ns, "--type=merge", "-p", `{"spec":{"maxRunnerLifetime":"30s"}}`)
	assert.Contains(t, errOut, "spec.maxRunnerLifetime")
	kubectl(t, "admin", "patch", "rset", name, "-n", ns, "--type=merge", "-p", `{"spec":{"maxRunnerLifetime":"2h"}}`)
	eventually(t, 60*time.Second, "idle runners with activeDeadlineSeconds 7200", func(ctx context.Context) (bool, error) {
		pods := runnerPods(t, ns)
		ok := 0
		for _, p := range pods {
			if p.DeletionTimestamp == nil && p.Spec.ActiveDeadlineSeconds != nil && *p.Spec.ActiveDeadlineSeconds == 7200 {
				ok++
			}
		}
		return ok == 2, nil
	})

	// ARC's metric names are served for existing dashboards.
	body := scrapeMetrics(t)
	assert.Contains(t, body, fmt.Sprintf(`gha_desired_runners{enterprise="",name="%s",namespace="%s",organization="acme",repository="%s"} 2`, name, ns, name))
	assert.Contains(t, body, "gha_controller_running_listeners")
	assert.Contains(t, body, "runnerset_scaler_reconcile_duration_seconds_bucket")
}

// scrapeMetrics reads the server's /metrics as the admin (delegated authn and authz).
func scrapeMetrics(t *testing.T) string {
	t.Helper()
	caPEM, err := os.ReadFile(sys.CAFile())
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "localhost"}}}
	req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("https://127.0.0.1:%d/metrics", sys.ServerPort()), nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+sys.RESTConfig("admin").BearerToken)
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(data))
	return string(data)
}
