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
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// promtoolTests holds promtool's rule unit tests of the chart's PrometheusRule.
var promtoolTests = filepath.Join("testdata", "prometheusrule")

// promtoolBinary is the promtool hack/tools/promtool/build.sh builds; the tests that run it skip,
// saying so, without it.
func promtoolBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(repoRoot, "_output", "bin", "promtool")
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("promtool was not built, so the PrometheusRule's alerts are not tested: build it with "+
			"`bash hack/tools/promtool/build.sh` (into %s): %v", bin, err)
	}
	return bin
}

// promtool runs promtool in dir and returns what it printed, stdout and stderr together.
func promtool(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(promtoolBinary(t), args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// promtoolDir renders the chart's PrometheusRule with args (on top of
// metrics.prometheusRule.enabled=true), writes its groups as a Prometheus rule file, rules.yaml,
// into a temporary directory beside copies of the unit test files, and returns the directory and
// the test files' names. promtool reads the rule file as YAML, of which JSON is a part.
func promtoolDir(t *testing.T, args ...string) (string, []string) {
	t.Helper()
	obj := renderServer(t, append([]string{"--set", "metrics.prometheusRule.enabled=true"}, args...)...).get(t, "PrometheusRule", "runnerset-apiserver")
	groups, ok := obj.Object["spec"].(map[string]any)["groups"]
	require.True(t, ok, "PrometheusRule without spec.groups")
	rules, err := json.MarshalIndent(map[string]any{"groups": groups}, "", "  ")
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "rules.yaml"), rules, 0o644))

	files, err := filepath.Glob(filepath.Join(promtoolTests, "*_test.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, files, "no promtool test files in %s", promtoolTests)
	var names []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, filepath.Base(f)), data, 0o644))
		names = append(names, filepath.Base(f))
	}
	sort.Strings(names)
	return dir, names
}

// TestPrometheusRuleAlerts runs `promtool test rules` on the alerts the chart renders with its
// default values: testdata/prometheusrule feeds each alert series that must fire it and series
// that must not (below the threshold, or not for long enough), and promtool compares, at each
// evaluation time, the alerts firing with exactly those expected, labels and annotations
// included.
func TestPrometheusRuleAlerts(t *testing.T) {
	t.Parallel()
	promtoolBinary(t)
	dir, files := promtoolDir(t)

	out, err := promtool(t, dir, "check", "rules", "rules.yaml")
	require.NoError(t, err, "promtool check rules:\n%s", out)
	assert.Contains(t, out, "SUCCESS: 7 rules found", "every alert of the chart is in the rule file")

	out, err = promtool(t, dir, append([]string{"test", "rules"}, files...)...)
	require.NoError(t, err, "promtool test rules:\n%s", out)
	assert.Contains(t, out, "SUCCESS")
}

// promtoolTestFile is the part of a promtool unit test file the coverage check reads.
type promtoolTestFile struct {
	RuleFiles []string `json:"rule_files"`
	Tests     []struct {
		Name          string `json:"name"`
		AlertRuleTest []struct {
			EvalTime  string           `json:"eval_time"`
			AlertName string           `json:"alertname"`
			ExpAlerts []map[string]any `json:"exp_alerts"`
		} `json:"alert_rule_test"`
	} `json:"tests"`
}

// TestPrometheusRuleAlertsCovered: the unit tests check every alert the chart can render both
// firing and not firing (an alert that is only ever expected silent passes whatever its rule).
func TestPrometheusRuleAlertsCovered(t *testing.T) {
	t.Parallel()
	pr := renderPrometheusRule(t, "--set", "metrics.prometheusRule.enabled=true")
	fires, silent := map[string]bool{}, map[string]bool{}
	files, err := filepath.Glob(filepath.Join(promtoolTests, "*_test.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		var tf promtoolTestFile
		require.NoError(t, utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096).Decode(&tf), f)
		assert.Equal(t, []string{"rules.yaml"}, tf.RuleFiles, "%s: the rule file the test writes", f)
		for _, tc := range tf.Tests {
			for _, a := range tc.AlertRuleTest {
				if len(a.ExpAlerts) > 0 {
					fires[a.AlertName] = true
				} else {
					silent[a.AlertName] = true
				}
			}
		}
	}
	var alerts []string
	for _, r := range pr.Spec.Groups[0].Rules {
		alerts = append(alerts, r.Alert)
		assert.True(t, fires[r.Alert], "no promtool test expects %s to fire", r.Alert)
		assert.True(t, silent[r.Alert], "no promtool test expects %s not to fire", r.Alert)
	}
	assert.Len(t, alerts, 7)
}

// TestPrometheusRuleAlertsFailOnChange: the unit tests catch a change of what an alert fires on,
// of how long it waits, and of its labels and annotations: each change makes promtool fail,
// naming the alert.
func TestPrometheusRuleAlertsFailOnChange(t *testing.T) {
	t.Parallel()
	promtoolBinary(t)
	for _, tc := range []struct{ set, alert string }{
		{"metrics.prometheusRule.alerts.sessionLost.for=20m", "RunnerSetSessionLost"},
		{"metrics.prometheusRule.alerts.jobsWaiting.for=5m", "RunnerSetJobsWaiting"},
		{"metrics.prometheusRule.alerts.githubUnreachable.severity=warning", "RunnerSetGitHubUnreachable"},
		{"metrics.prometheusRule.alerts.atMaxRunners.enabled=false", "RunnerSetAtMaxRunners"},
		{"metrics.prometheusRule.alertLabels.team=ci", "RunnerSetPodsFailing"},
		{"metrics.prometheusRule.alerts.orphanRunners.for=5m", "RunnerSetOrphanRunners"},
		{"metrics.prometheusRule.alerts.runnerVersionDeprecated.severity=info", "RunnerSetRunnerVersionDeprecated"},
	} {
		t.Run(tc.set, func(t *testing.T) {
			t.Parallel()
			dir, files := promtoolDir(t, "--set", tc.set)
			out, err := promtool(t, dir, append([]string{"test", "rules"}, files...)...)
			require.Error(t, err, "promtool test rules passed with %s:\n%s", tc.set, out)
			assert.Contains(t, out, "FAILED")
			assert.True(t, strings.Contains(out, "alertname: "+tc.alert), "promtool names %s:\n%s", tc.alert, out)
		})
	}
}
