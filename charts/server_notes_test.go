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
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestServerChartNotes: what helm install prints, depending on the values.
func TestServerChartNotes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		set     string
		want    []string
		notWant []string
	}{
		{"defaults", "", []string{
			"runnerset-apiserver 0.1.0 is installed in namespace runnerset-system.",
			"kubectl get apiservice v1alpha1.actions.dev",
			"helm install arc-runner-set charts/runnerset -n arc-runners --create-namespace",
		}, []string{"WARNING", "Namespaced mode", "cert-manager"}},
		{"cert-manager", "tls.type=cert-manager", []string{"kubectl get certificate runnerset-apiserver-serving-cert -n runnerset-system"}, nil},
		{"existing Secret", "tls.type=existingSecret,tls.existingSecret.name=my-tls,apiService.caBundle=Zm9v", []string{"The pods mount the Secret my-tls"}, nil},
		{"namespaced", "watchNamespaces={team-b,team-a}", []string{
			"Namespaced mode: RunnerSets are served in team-a, team-b only; creating one elsewhere is\nrefused (403).",
			"helm install arc-runner-set charts/runnerset -n team-a -f myvalues.yaml",
		}, nil},
		{"ExternalName", "service.type=ExternalName,service.externalName=localhost,service.port=8443", []string{"ExternalName pointing at localhost:8443"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var args []string
			if tc.set != "" {
				args = []string{"--set", tc.set}
			}
			notes := serverNotes(t, args...)
			for _, w := range tc.want {
				assert.Contains(t, notes, w)
			}
			for _, w := range tc.notWant {
				assert.NotContains(t, notes, w)
			}
		})
	}
}

// TestServerChartUnknownValues: a key the chart does not read installs, and the notes warn about
// it with the key it most likely meant; a known key of the wrong type is still refused.
func TestServerChartUnknownValues(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		set  string
		want string
	}{
		{"typo", "replicas=3", "  - replicas: did you mean replicaCount?\n"},
		{"case", "scaler.allowedGithubHosts={github.com}", "  - scaler.allowedGithubHosts: did you mean scaler.allowedGitHubHosts?\n"},
		{"nested typo", "metrics.prometheusRule.alerts.jobWaiting.for=5m", "  - metrics.prometheusRule.alerts.jobWaiting: did you mean metrics.prometheusRule.alerts.jobsWaiting?\n"},
		{"misplaced", "serviceMonitor.enabled=true", "  - serviceMonitor: did you mean metrics.serviceMonitor?\n"},
		{"misplaced deeper", "tls.caBundle=Zm9v", "  - tls.caBundle: did you mean apiService.caBundle?\n"},
		{"renamed", "certificate.existingSecret=my-tls,certificate.rotation=2027", "  - certificate.existingSecret: did you mean tls.existingSecret.name (with tls.type=existingSecret)?\n" +
			"  - certificate.rotation: did you mean tls.helm.rotation?\n"},
		{"renamed port", "securePort=8443", "  - securePort: did you mean containerPort?\n"},
		{"ARC's controller flags", "flags.logLevel=debug,flags.watchSingleNamespace=ci,flags.excludeLabelPropagationPrefixes={x}",
			"  - flags.excludeLabelPropagationPrefixes\n  - flags.logLevel: did you mean logLevel?\n  - flags.watchSingleNamespace: did you mean watchNamespaces?\n"},
		{"ARC's controller volumes", "volumes[0].name=x,volumes[0].emptyDir.medium=Memory", "  - volumes: did you mean extraVolumes?\n"},
		{"a letter apart", "revisionHistoryLimt=3,hostNetwrok=true,tsl.type=helm", "  - hostNetwrok: did you mean hostNetwork?\n  - revisionHistoryLimt: did you mean revisionHistoryLimit?\n  - tsl: did you mean tls?\n"},
		{"no hint", "foo=bar", "  - foo\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			renderServer(t, "--set", tc.set) // installs
			notes := serverNotes(t, "--set", tc.set)
			assert.Contains(t, notes+"\n", "WARNING: the chart does not know these values, which were not used (a typo?):\n"+tc.want)
		})
	}
	t.Run("every known value of values.yaml", func(t *testing.T) {
		t.Parallel()
		notes := serverNotes(t, "--values", filepath.Join(chartDir(serverChart), "values.yaml"),
			"--set", "enabled=true,global.imageRegistry=r.example.com,tls.certManager.issuerRef.name=ca,metrics.serviceMonitor.tlsConfig.insecureSkipVerify=true")
		assert.NotContains(t, notes, "WARNING")
	})
	for _, tc := range []struct{ set, want string }{
		{"containerPort=https", "/containerPort': got string, want integer"},
		{"hostNetwork=yes", "/hostNetwork': got string, want boolean"},
		{"watchNamespaces=team-a", "/watchNamespaces': got string, want array"},
		{"watchNamespaces={Team_A}", "/watchNamespaces/0': 'Team_A' does not match pattern"},
		{"podDisruptionBudget.unhealthyPodEvictionPolicy=Never", "/podDisruptionBudget/unhealthyPodEvictionPolicy': value must be one of"},
		{"commonLabels.team.name=x", "/commonLabels/team': got object, want boolean or number or string"},
	} {
		t.Run("refuses "+tc.set, func(t *testing.T) {
			t.Parallel()
			assert.Contains(t, renderFails(t, serverRelease, chartDir(serverChart), serverNamespace, "--set", tc.set), tc.want)
		})
	}
}

// knownValuesTemplate renders the tree of keys the chart reads (templates/_values.tpl) and the
// keys it points moved ones to.
const knownValuesTemplate = `apiVersion: v1
kind: ConfigMap
metadata:
  name: known-values
data:
  known: {{ include "runnerset-apiserver.knownValues" . | fromYaml | toJson | quote }}
  moved: {{ include "runnerset-apiserver.movedValues" . | fromYaml | toJson | quote }}
`

// schemaTree is the tree of a schema's properties: nil for a value whose content it leaves free.
func schemaTree(root, node map[string]any) map[string]any {
	node = resolveRef(root, node)
	props, ok := node["properties"].(map[string]any)
	if !ok {
		return nil
	}
	out := map[string]any{}
	for k, v := range props {
		out[k] = nil
		if sub := schemaTree(root, v.(map[string]any)); sub != nil {
			out[k] = sub
		}
	}
	return out
}

func treePaths(tree map[string]any, prefix string, out *[]string) {
	for k, v := range tree {
		*out = append(*out, prefix+k)
		if sub, ok := v.(map[string]any); ok {
			treePaths(sub, prefix+k+".", out)
		}
	}
}

// TestServerChartKnownValues: the keys the notes check values against are exactly those the
// schema describes, and every moved key points at one of them.
func TestServerChartKnownValues(t *testing.T) {
	t.Parallel()
	chart := copyChart(t, serverChart)
	require.NoError(t, os.WriteFile(filepath.Join(chart, "templates", "zz-known-values.yaml"), []byte(knownValuesTemplate), 0o644))
	cm := render(t, serverRelease, chart, serverNamespace).get(t, "ConfigMap", "known-values")
	knownJSON, _, _ := unstructured.NestedString(cm.Object, "data", "known")
	movedJSON, _, _ := unstructured.NestedString(cm.Object, "data", "moved")
	var known map[string]any
	require.NoError(t, json.Unmarshal([]byte(knownJSON), &known))
	var moved map[string]string
	require.NoError(t, json.Unmarshal([]byte(movedJSON), &moved))

	var schema map[string]any
	data, err := os.ReadFile(filepath.Join(chartDir(serverChart), "values.schema.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &schema))
	var knownPaths, schemaPaths []string
	treePaths(known, "", &knownPaths)
	treePaths(schemaTree(schema, schema), "", &schemaPaths)
	sort.Strings(knownPaths)
	sort.Strings(schemaPaths)
	assert.Equal(t, schemaPaths, knownPaths, "templates/_values.tpl knownValues and values.schema.json describe different keys")

	require.NotEmpty(t, moved)
	for from, to := range moved {
		target, _, _ := strings.Cut(to, " ")
		assert.Contains(t, knownPaths, target, "moved value %s points at %s, which the chart does not read", from, target)
		assert.NotContains(t, knownPaths, from, "moved value %s is read by the chart", from)
	}
}
