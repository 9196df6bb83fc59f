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

package charts

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/component-base/metrics/legacyregistry"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/github/actions"
	"actions.dev/runnerset-apiserver/pkg/scaler/metrics"
)

// serviceMonitorEndpoint returns the ServiceMonitor's one endpoint.
func serviceMonitorEndpoint(t *testing.T, objs objects) map[string]any {
	t.Helper()
	sm := objs.get(t, "ServiceMonitor", "runnerset-apiserver")
	endpoints, _, _ := unstructured.NestedSlice(sm.Object, "spec", "endpoints")
	require.Len(t, endpoints, 1)
	return endpoints[0].(map[string]any)
}

// TestServerChartServiceMonitor: Prometheus scrapes with a token from a Secret (the endpoint's
// authorization), the chart's scraper identity's by default, which may read /metrics only.
func TestServerChartServiceMonitor(t *testing.T) {
	t.Parallel()
	assert.Empty(t, renderServer(t).ofKind("ServiceMonitor").names(), "off by default")

	objs := renderServer(t, "--set", "metrics.serviceMonitor.enabled=true,metrics.serviceMonitor.labels.release=prometheus")
	sm := objs.get(t, "ServiceMonitor", "runnerset-apiserver")
	assert.Equal(t, "prometheus", sm.GetLabels()["release"])
	ep := serviceMonitorEndpoint(t, objs)
	assert.Equal(t, "https", ep["port"])
	assert.Equal(t, "/metrics", ep["path"])
	assert.Equal(t, true, ep["honorLabels"], "the RunnerSets' namespace label stays theirs")
	assert.NotContains(t, ep, "bearerTokenFile", "deprecated by the Prometheus Operator")
	assert.NotContains(t, ep, "bearerTokenSecret", "deprecated by the Prometheus Operator")
	authorization, _, _ := unstructured.NestedMap(ep, "authorization")
	assert.Equal(t, map[string]any{"type": "Bearer", "credentials": map[string]any{"name": "runnerset-apiserver-metrics-scraper-token", "key": "token"}}, authorization)
	serverName, _, _ := unstructured.NestedString(ep, "tlsConfig", "serverName")
	assert.Equal(t, "runnerset-apiserver.runnerset-system.svc", serverName)
	caSecret, _, _ := unstructured.NestedString(ep, "tlsConfig", "ca", "secret", "name")
	assert.Equal(t, "runnerset-apiserver-serving-cert", caSecret)

	// The scraper: a ServiceAccount, its token Secret, bound to metrics-reader only.
	sa := as[corev1.ServiceAccount](t, objs.get(t, "ServiceAccount", "runnerset-apiserver-metrics-scraper"))
	assert.Equal(t, serverNamespace, sa.Namespace)
	token := as[corev1.Secret](t, objs.get(t, "Secret", "runnerset-apiserver-metrics-scraper-token"))
	assert.Equal(t, corev1.SecretTypeServiceAccountToken, token.Type)
	assert.Equal(t, "runnerset-apiserver-metrics-scraper", token.Annotations[corev1.ServiceAccountNameKey])
	crb := as[rbacv1.ClusterRoleBinding](t, objs.get(t, "ClusterRoleBinding", "runnerset-apiserver:metrics-scraper"))
	assert.Equal(t, rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "runnerset-apiserver:metrics-reader"}, crb.RoleRef)
	assert.Equal(t, []rbacv1.Subject{{Kind: "ServiceAccount", Name: "runnerset-apiserver-metrics-scraper", Namespace: serverNamespace}}, crb.Subjects)
	reader := as[rbacv1.ClusterRole](t, objs.get(t, "ClusterRole", "runnerset-apiserver:metrics-reader"))
	assert.Equal(t, []string{"/metrics: get"}, grants(reader.Rules))

	// A Secret of the user's: nothing of the chart's scraper.
	objs = renderServer(t, "--set", "metrics.serviceMonitor.enabled=true,metrics.serviceMonitor.authorization.credentials.name=prometheus-token,"+
		"metrics.serviceMonitor.authorization.credentials.key=bearer,metrics.serviceMonitor.honorLabels=false")
	ep = serviceMonitorEndpoint(t, objs)
	authorization, _, _ = unstructured.NestedMap(ep, "authorization")
	assert.Equal(t, map[string]any{"type": "Bearer", "credentials": map[string]any{"name": "prometheus-token", "key": "bearer"}}, authorization)
	assert.Equal(t, false, ep["honorLabels"])
	assert.Nil(t, objs.find("ServiceAccount", "runnerset-apiserver-metrics-scraper"))
	assert.Nil(t, objs.find("Secret", "runnerset-apiserver-metrics-scraper-token"))
	assert.Nil(t, objs.find("ClusterRoleBinding", "runnerset-apiserver:metrics-scraper"))

	// Without metrics, no ServiceMonitor (nobody could read /metrics).
	objs = renderServer(t, "--set", "metrics.enabled=false,metrics.serviceMonitor.enabled=true")
	assert.Empty(t, objs.ofKind("ServiceMonitor").names())
}

// prometheusRule is the part of monitoring.coreos.com/v1 PrometheusRule the chart sets.
type prometheusRule struct {
	Spec struct {
		Groups []struct {
			Name  string `json:"name"`
			Rules []struct {
				Alert       string            `json:"alert"`
				Record      string            `json:"record"`
				Expr        string            `json:"expr"`
				For         string            `json:"for"`
				Labels      map[string]string `json:"labels"`
				Annotations map[string]string `json:"annotations"`
			} `json:"rules"`
		} `json:"groups"`
	} `json:"spec"`
}

func renderPrometheusRule(t *testing.T, args ...string) prometheusRule {
	t.Helper()
	var pr prometheusRule
	require.NoError(t, runtimeFromUnstructured(renderServer(t, args...).get(t, "PrometheusRule", "runnerset-apiserver"), &pr))
	require.Len(t, pr.Spec.Groups, 1)
	return pr
}

// TestServerChartPrometheusRule: the alerts and their values; promtool_test.go checks what they
// fire on.
func TestServerChartPrometheusRule(t *testing.T) {
	t.Parallel()
	assert.Empty(t, renderServer(t).ofKind("PrometheusRule").names(), "off by default")

	pr := renderPrometheusRule(t, "--set", "metrics.prometheusRule.enabled=true,metrics.prometheusRule.labels.release=prometheus")
	got := map[string]string{}
	for _, r := range pr.Spec.Groups[0].Rules {
		got[r.Alert] = r.For + " " + r.Labels["severity"]
		assert.NotEmpty(t, r.Annotations["summary"], r.Alert)
		assert.NotEmpty(t, r.Annotations["description"], r.Alert)
		checkExportedMetrics(t, r.Alert, r.Expr)
	}
	assert.Equal(t, map[string]string{
		"RunnerSetSessionLost":             "10m warning",
		"RunnerSetGitHubUnreachable":       "10m critical",
		"RunnerSetJobsWaiting":             "15m warning",
		"RunnerSetPodsFailing":             "15m warning",
		"RunnerSetAtMaxRunners":            "1h info",
		"RunnerSetRunnerVersionDeprecated": "5m warning",
		"RunnerSetOrphanRunners":           "15m warning",
	}, got)
	obj := renderServer(t, "--set", "metrics.prometheusRule.enabled=true,metrics.prometheusRule.labels.release=prometheus").get(t, "PrometheusRule", "runnerset-apiserver")
	assert.Equal(t, "prometheus", obj.GetLabels()["release"])

	pr = renderPrometheusRule(t, "--set", "metrics.prometheusRule.enabled=true,metrics.prometheusRule.alerts.jobsWaiting.for=30m,"+
		"metrics.prometheusRule.alerts.jobsWaiting.severity=critical,metrics.prometheusRule.alerts.atMaxRunners.enabled=false,metrics.prometheusRule.alertLabels.team=ci")
	got = map[string]string{}
	for _, r := range pr.Spec.Groups[0].Rules {
		got[r.Alert] = r.For + " " + r.Labels["severity"]
		assert.Equal(t, "ci", r.Labels["team"], r.Alert)
		if r.Alert == "RunnerSetJobsWaiting" {
			assert.Contains(t, r.Annotations["description"], "without a pause for 30m")
		}
	}
	assert.NotContains(t, got, "RunnerSetAtMaxRunners")
	assert.Equal(t, "30m critical", got["RunnerSetJobsWaiting"])
	assert.Equal(t, "10m warning", got["RunnerSetSessionLost"])

	assert.Contains(t, renderFails(t, serverRelease, chartDir(serverChart), serverNamespace, "--set", "metrics.prometheusRule.alerts.jobsWaiting.for=15 minutes"),
		"/metrics/prometheusRule/alerts/jobsWaiting/for': '15 minutes' does not match pattern")
}

// dashboard is the part of a Grafana dashboard the test reads.
type dashboard struct {
	Title  string `json:"title"`
	UID    string `json:"uid"`
	Panels []struct {
		Type    string `json:"type"`
		Title   string `json:"title"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
	Templating struct {
		List []struct {
			Name  string `json:"name"`
			Query any    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

// dashboardQueries returns every PromQL query of the dashboard: its panels' and its variables'.
func dashboardQueries(t *testing.T, data []byte) map[string]string {
	t.Helper()
	var d dashboard
	require.NoError(t, json.Unmarshal(data, &d))
	queries := map[string]string{}
	for _, p := range d.Panels {
		for i, target := range p.Targets {
			queries[p.Title+"/"+string(rune('A'+i))] = target.Expr
		}
	}
	for _, v := range d.Templating.List {
		if q, ok := v.Query.(map[string]any); ok {
			queries["$"+v.Name] = q["query"].(string)
		}
	}
	return queries
}

func TestServerChartGrafanaDashboard(t *testing.T) {
	t.Parallel()
	assert.Empty(t, renderServer(t).ofKind("ConfigMap").names(), "off by default")

	file, err := os.ReadFile(filepath.Join(chartDir(serverChart), "dashboards", "runnerset-apiserver.json"))
	require.NoError(t, err)
	objs := renderServer(t, "--set", "metrics.grafanaDashboard.enabled=true,metrics.grafanaDashboard.annotations.grafana_folder=CI,commonLabels.team=ci")
	cm := as[corev1.ConfigMap](t, objs.get(t, "ConfigMap", "runnerset-apiserver-dashboard"))
	assert.Equal(t, "1", cm.Labels["grafana_dashboard"], "the label Grafana's sidecar loads by default")
	assert.Equal(t, "ci", cm.Labels["team"])
	assert.Equal(t, map[string]string{"grafana_folder": "CI"}, cm.Annotations)
	assert.Equal(t, serverNamespace, cm.Namespace)
	require.Contains(t, cm.Data, "runnerset-apiserver.json")
	assert.JSONEq(t, string(file), cm.Data["runnerset-apiserver.json"])

	var d dashboard
	require.NoError(t, json.Unmarshal(file, &d))
	assert.Equal(t, "runnerset-apiserver", d.UID)
	queries := dashboardQueries(t, file)
	assert.Greater(t, len(queries), 20)
	used := map[string]bool{}
	for name, q := range queries {
		for _, m := range checkExportedMetrics(t, name, q) {
			used[m] = true
		}
	}
	// Every metric of the server's scaler is on the dashboard.
	for _, m := range exportedMetrics(t).names {
		assert.True(t, used[m], "%s is on no panel", m)
	}

	objs = renderServer(t, "--set", "metrics.grafanaDashboard.enabled=true,metrics.grafanaDashboard.namespace=monitoring,metrics.grafanaDashboard.labels.grafana_dashboard=runners")
	cm = as[corev1.ConfigMap](t, objs.get(t, "ConfigMap", "runnerset-apiserver-dashboard"))
	assert.Equal(t, "monitoring", cm.Namespace)
	assert.Equal(t, "runners", cm.Labels["grafana_dashboard"])
}

// scalerMetrics are the metrics pkg/scaler/metrics exports, with their labels.
type scalerMetrics struct {
	names  []string
	labels map[string][]string // series name (with _bucket, _sum, _count) -> label names
}

var (
	scalerMetricsOnce sync.Once
	scalerMetricsSeen scalerMetrics
)

// exportedMetrics records one value of each of the scaler's metrics, as the scaler does, and
// reads back what the server's registry serves on /metrics.
func exportedMetrics(t *testing.T) scalerMetrics {
	t.Helper()
	scalerMetricsOnce.Do(func() {
		metrics.Register()
		minR, maxR := int32(1), int32(5)
		rs := &v1alpha1.RunnerSet{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "linux"},
			Spec: v1alpha1.RunnerSetSpec{GitHubConfigURL: "https://github.com/octo", MinRunners: &minR, MaxRunners: &maxR}}
		metrics.RecordStatistics(rs, &actions.Statistics{TotalAssignedJobs: 1}, 2, metrics.Counts{Busy: 1}, true)
		now := time.Now()
		job := actions.JobMessage{OwnerName: "octo", RepositoryName: "app", JobDisplayName: "build", EventName: "push",
			ScaleSetAssignTime: now.Add(-time.Minute), RunnerAssignTime: now.Add(-30 * time.Second), FinishTime: now, Result: "succeeded"}
		job.MessageType = actions.JobMessageStarted
		metrics.RecordJob(rs, job)
		job.MessageType = actions.JobMessageCompleted
		metrics.RecordJob(rs, job)
		metrics.ReconcileDuration.Observe(0.1)
		metrics.RunnerCreateDuration.Observe(0.1)
		metrics.MessageLatency.Observe(0.1)
		metrics.RecordConditions(rs, []metav1.Condition{{Type: v1alpha1.ConditionReady, Status: metav1.ConditionTrue}})

		families, err := legacyregistry.DefaultGatherer.Gather()
		if err != nil {
			panic(err)
		}
		seen := scalerMetrics{labels: map[string][]string{}}
		for _, f := range families {
			name := f.GetName()
			if !strings.HasPrefix(name, "gha_") && !strings.HasPrefix(name, "runnerset_") {
				continue
			}
			seen.names = append(seen.names, name)
			var labels []string
			for _, l := range f.GetMetric()[0].GetLabel() {
				labels = append(labels, l.GetName())
			}
			series := []string{name}
			if f.GetMetric()[0].GetHistogram() != nil {
				series = []string{name + "_sum", name + "_count"}
				seen.labels[name+"_bucket"] = append(slices.Clone(labels), "le")
			}
			for _, s := range series {
				seen.labels[s] = labels
			}
		}
		sort.Strings(seen.names)
		scalerMetricsSeen = seen
	})
	require.Len(t, scalerMetricsSeen.names, 20, "the scaler's metrics: %v", scalerMetricsSeen.names)
	return scalerMetricsSeen
}

var (
	metricName = regexp.MustCompile(`\b(gha_[a-z_]+|runnerset_scaler_[a-z_]+|runnerset_status_[a-z_]+)\b`)
	matcher    = regexp.MustCompile(`([a-z_]+)\s*(=~|!~|!=|=)\s*"`)
	grouping   = regexp.MustCompile(`\b(?:by|without|on|ignoring)\s*\(([^)]*)\)`)
	labelFunc  = regexp.MustCompile(`label_values\([^,]*,\s*([a-z_]+)\)`)
)

// checkExportedMetrics checks that a query reads only metrics the server exports, and only
// labels they have (or le, or the target's job): a query on a renamed metric or label would
// show nothing rather than fail. It returns the metrics read.
func checkExportedMetrics(t *testing.T, what, query string) []string {
	t.Helper()
	exported := exportedMetrics(t)
	var used []string
	have := map[string]bool{"job": true} // the scrape's own label
	for _, m := range metricName.FindAllString(query, -1) {
		labels, ok := exported.labels[m]
		if !assert.True(t, ok, "%s: %s is not a metric the server exports", what, m) {
			continue
		}
		used = append(used, strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(m, "_bucket"), "_sum"), "_count"))
		for _, l := range labels {
			have[l] = true
		}
	}
	require.NotEmpty(t, used, "%s reads no metric of the server's: %s", what, query)
	var labels []string
	for _, m := range matcher.FindAllStringSubmatch(query, -1) {
		labels = append(labels, m[1])
	}
	for _, m := range grouping.FindAllStringSubmatch(query, -1) {
		for _, l := range strings.Split(m[1], ",") {
			labels = append(labels, strings.TrimSpace(l))
		}
	}
	for _, m := range labelFunc.FindAllStringSubmatch(query, -1) {
		labels = append(labels, m[1])
	}
	for _, l := range labels {
		assert.True(t, have[l], "%s: no metric it reads has label %q: %s", what, l, query)
	}
	return used
}
