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
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	_ "time/tzdata" // the API's validation loads Europe/Berlin, on a machine without a zone database

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
)

// capacityValues are the chart's own values (not ARC's), as a user writes them: times unquoted
// where YAML leaves them strings anyway, counts as YAML numbers.
const capacityValues = `schedules:
  - name: office-hours
    days: [Mon, Tue, Wed, Thu, Fri]
    start: "08:00"
    end: 18:00
    timeZone: Europe/Berlin
    minRunners: 20
  - name: nights
    start: "22:00"
    end: "06:00:30"
    maxRunners: 5
scaleUp:
  runnersPerMinute: 100000
  burst: 50
capacity:
  waitForNodes: true
`

func writeValues(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "values.yaml")
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
	return path
}

func i32(v int32) *int32 { return &v }

// TestRunnerSetChartCapacityValues: schedules, scaleUp and capacity, this chart's own values,
// reach the RunnerSet's spec alike from the values of either of ARC's charts.
func TestRunnerSetChartCapacityValues(t *testing.T) {
	t.Parallel()
	ext := writeValues(t, capacityValues)
	wantSchedules := []v1alpha1.RunnerSetSchedule{
		{Name: "office-hours", Days: []string{"Mon", "Tue", "Wed", "Thu", "Fri"}, Start: "08:00", End: "18:00", TimeZone: "Europe/Berlin", MinRunners: i32(20)},
		{Name: "nights", Start: "22:00", End: "06:00:30", MaxRunners: i32(5)},
	}
	for _, tc := range []struct{ dialect, values string }{
		{"gha-runner-scale-set", filepath.Join(chartDir(runnerSetChart), "ci", "default-values.yaml")},
		{"gha-runner-scale-set-experimental", experimentalFiles(t)["dind"]},
	} {
		t.Run(tc.dialect, func(t *testing.T) {
			t.Parallel()
			args := []string{"--values", tc.values, "--values", ext}
			rs := runnerSet(t, renderRunnerSet(t, args...))
			assert.Equal(t, wantSchedules, rs.Spec.Schedules)
			assert.Equal(t, &v1alpha1.ScaleUpPolicy{RunnersPerMinute: 100000, Burst: i32(50)}, rs.Spec.ScaleUp)
			assert.Equal(t, &v1alpha1.CapacityPolicy{WaitForNodes: true}, rs.Spec.Capacity)

			// Neither ignored nor unknown, and no mix of the two forms.
			notes := runnerSetNotes(t, args...)
			assert.NotContains(t, notes, "WARNING")
			for _, key := range []string{"schedules", "scaleUp", "capacity"} {
				assert.NotContains(t, notes, "- "+key)
			}
			if tc.dialect == "gha-runner-scale-set-experimental" {
				assert.Contains(t, notes, "read as those of ARC's gha-runner-scale-set-experimental chart")
			}

			// Without them, the spec has none of them (a release rendered before stays the same).
			rs = runnerSet(t, renderRunnerSet(t, "--values", tc.values))
			assert.Nil(t, rs.Spec.Schedules)
			assert.Nil(t, rs.Spec.ScaleUp)
			assert.Nil(t, rs.Spec.Capacity)
		})
	}
	t.Run("empty and partial", func(t *testing.T) {
		t.Parallel()
		seed := filepath.Join(chartDir(runnerSetChart), "ci", "default-values.yaml")
		rs := runnerSet(t, renderRunnerSet(t, "--values", seed, "--values", writeValues(t, "schedules: []\nscaleUp: null\ncapacity: {}\n")))
		assert.Nil(t, rs.Spec.Schedules)
		assert.Nil(t, rs.Spec.ScaleUp)
		assert.Nil(t, rs.Spec.Capacity)

		// Burst left out: the API defaults it to the rate. Only what is set is passed.
		rs = runnerSet(t, renderRunnerSet(t, "--values", seed, "--set",
			"scaleUp.runnersPerMinute=30,capacity.waitForNodes=false,schedules[0].name=all-day,schedules[0].start=00:00,schedules[0].end=00:00,schedules[0].minRunners=0"))
		assert.Equal(t, &v1alpha1.ScaleUpPolicy{RunnersPerMinute: 30}, rs.Spec.ScaleUp)
		assert.Equal(t, int32(30), *served(rs).Spec.ScaleUp.Burst)
		assert.Equal(t, &v1alpha1.CapacityPolicy{}, rs.Spec.Capacity)
		assert.Equal(t, []v1alpha1.RunnerSetSchedule{{Name: "all-day", Start: "00:00", End: "00:00", MinRunners: i32(0)}}, rs.Spec.Schedules)
	})
	t.Run("typos", func(t *testing.T) {
		t.Parallel()
		seed := filepath.Join(chartDir(runnerSetChart), "ci", "default-values.yaml")
		notes := runnerSetNotes(t, "--values", seed, "--set", "schedule[0].name=x")
		assert.Contains(t, notes, "- schedule: did you mean schedules?")
		notes = runnerSetNotes(t, "--values", experimentalFiles(t)["dind"], "--set", "scaleup.runnersPerMinute=5")
		assert.Contains(t, notes, "- scaleup: did you mean scaleUp?")
	})
}

// TestRunnerSetChartCapacitySchema: values.schema.json describes this chart's own values in full,
// so a key the API does not have, a missing required key or a count out of range fails at once.
func TestRunnerSetChartCapacitySchema(t *testing.T) {
	t.Parallel()
	seed := filepath.Join(chartDir(runnerSetChart), "ci", "default-values.yaml")
	experimental := experimentalFiles(t)["dind"]
	window := "schedules[0].name=day,schedules[0].start=08:00,schedules[0].end=18:00,"
	for _, tc := range []struct {
		name, values, set, want string
	}{
		{"unknown key in a schedule", seed, window + "schedules[0].minRunner=3", "at '/schedules/0': additional properties 'minRunner' not allowed"},
		{"unknown key in a schedule, experimental", experimental, window + "schedules[0].timezone=UTC", "at '/schedules/0': additional properties 'timezone' not allowed"},
		{"schedule without start", seed, "schedules[0].name=day,schedules[0].end=18:00", "at '/schedules/0': missing property 'start'"},
		{"schedule without name", seed, "schedules[0].start=08:00,schedules[0].end=18:00", "at '/schedules/0': missing property 'name'"},
		{"day", seed, window + "schedules[0].days={Monday}", "at '/schedules/0/days/0': value must be one of 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'"},
		{"negative window minRunners", seed, window + "schedules[0].minRunners=-1", "at '/schedules/0/minRunners': minimum: got -1, want 0"},
		{"negative window maxRunners", experimental, window + "schedules[0].maxRunners=-1", "at '/schedules/0/maxRunners': minimum: got -1, want 0"},
		{"start as a number", seed, "schedules[0].name=day,schedules[0].start=800,schedules[0].end=18:00", "at '/schedules/0/start': got number, want string"},
		{"schedules as a map", seed, "schedules.day.start=08:00", "at '/schedules': got object, want null or array"},
		{"rate 0", seed, "scaleUp.runnersPerMinute=0", "at '/scaleUp/runnersPerMinute': minimum: got 0, want 1"},
		{"burst 0", seed, "scaleUp.runnersPerMinute=5,scaleUp.burst=0", "at '/scaleUp/burst': minimum: got 0, want 1"},
		{"burst without a rate", experimental, "scaleUp.burst=5", "at '/scaleUp': missing property 'runnersPerMinute'"},
		{"unknown key in scaleUp", seed, "scaleUp.runnersPerMinute=5,scaleUp.perMinute=5", "at '/scaleUp': additional properties 'perMinute' not allowed"},
		{"unknown key in capacity", seed, "capacity.waitForNode=true", "at '/capacity': additional properties 'waitForNode' not allowed"},
		{"waitForNodes as a string", seed, "capacity.waitForNodes=yes", "at '/capacity/waitForNodes': got string, want null or boolean"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			msg := renderFails(t, runnerSetRelease, chartDir(runnerSetChart), runnerSetNamespace, "--values", tc.values, "--set", tc.set)
			assert.Contains(t, msg, tc.want)
		})
	}
}

// TestRunnerSetChartCapacityAPIChecks: what the API refuses in schedules and scaleUp fails helm
// install before anything is installed, word for word as the API says it (as
// TestRunnerSetChartAPIChecks does for ARC's values).
func TestRunnerSetChartCapacityAPIChecks(t *testing.T) {
	t.Parallel()
	seed := filepath.Join(chartDir(runnerSetChart), "ci", "default-values.yaml")
	experimental := experimentalFiles(t)["dind"]
	unchecked := apiChecksOff(t)
	window := func(i int, name, start, end string) string {
		return fmt.Sprintf("schedules[%d].name=%s,schedules[%d].start=%s,schedules[%d].end=%s", i, name, i, start, i, end)
	}
	var many []map[string]any
	for i := range 21 {
		many = append(many, map[string]any{"name": fmt.Sprintf("w%d", i), "start": "08:00", "end": "09:00"})
	}
	tooMany, err := json.Marshal(many)
	require.NoError(t, err)
	for _, tc := range []struct {
		name   string
		values string
		args   []string
		want   []string
	}{
		{"empty name", seed, []string{"--set", window(0, "", "08:00", "18:00")},
			[]string{`spec.schedules[0].name: Required value: a name for the window, shown in the status and events`}},
		{"empty start and end", seed, []string{"--set", window(0, "day", "", "")},
			[]string{`spec.schedules[0].start: Required value: HH:MM or HH:MM:SS, such as 08:00`, `spec.schedules[0].end: Required value: HH:MM or HH:MM:SS, such as 08:00`}},
		{"one-digit hour", seed, []string{"--set", window(0, "day", "7:00", "18:00")},
			[]string{`spec.schedules[0].start: Invalid value: "7:00": must be HH:MM or HH:MM:SS (24-hour, two digits each), from 00:00 to 23:59:59`}},
		{"24:00", experimental, []string{"--set", window(0, "day", "08:00", "24:00")},
			[]string{`spec.schedules[0].end: Invalid value: "24:00": must be HH:MM or HH:MM:SS`}},
		{"seconds out of range", seed, []string{"--set", window(0, "day", "08:00:60", "18:00")},
			[]string{`spec.schedules[0].start: Invalid value: "08:00:60"`}},
		{"clock with a suffix", seed, []string{"--set", window(0, "day", "08:00pm", "18:00")},
			[]string{`spec.schedules[0].start: Invalid value: "08:00pm"`}},
		{"window max below min", seed, []string{"--set", window(0, "day", "08:00", "18:00") + ",schedules[0].minRunners=5,schedules[0].maxRunners=2"},
			[]string{`spec.schedules[0].maxRunners: Invalid value: 2: must be greater than or equal to the window's minRunners (5)`}},
		{"window max below min, experimental", experimental, []string{"--set", window(0, "day", "08:00", "18:00") + ",schedules[0].minRunners=5,schedules[0].maxRunners=0"},
			[]string{`spec.schedules[0].maxRunners: Invalid value: 0: must be greater than or equal to the window's minRunners (5)`}},
		{"duplicate names", seed, []string{"--set", window(0, "day", "08:00", "18:00") + "," + window(1, "day", "20:00", "22:00")},
			[]string{`spec.schedules[1].name: Duplicate value: "day"`}},
		{"name not a DNS label", seed, []string{"--set", window(0, "Office_Hours", "08:00", "18:00")},
			[]string{`spec.schedules[0].name: Invalid value: "Office_Hours": a lowercase RFC 1123 label`}},
		{"duplicate day", seed, []string{"--set", window(0, "day", "08:00", "18:00") + ",schedules[0].days={Mon,Tue,Mon}"},
			[]string{`spec.schedules[0].days[2]: Duplicate value: "Mon"`}},
		{"Local time zone", seed, []string{"--set", window(0, "day", "08:00", "18:00") + ",schedules[0].timeZone=Local"},
			[]string{`spec.schedules[0].timeZone: Invalid value: "Local": must be an IANA time zone name, such as Europe/Berlin, or empty for UTC`}},
		{"several errors", seed, []string{"--set", window(0, "", "7:00", "18:00") + ",schedules[0].minRunners=3,schedules[0].maxRunners=1," + window(1, "night", "22:00", "6:00")},
			[]string{`[spec.schedules[0].name: Required value`, `spec.schedules[1].end: Invalid value: "6:00"`}},
		{"too many schedules", seed, []string{"--set-json", "schedules=" + string(tooMany)},
			[]string{`spec.schedules: Too many: 21: must have at most 20 items`}},
		{"rate too high", seed, []string{"--set", "scaleUp.runnersPerMinute=100001"},
			[]string{`spec.scaleUp.runnersPerMinute: Invalid value: 100001: must be between 1 and 100000`,
				`spec.scaleUp.burst: Invalid value: 100001: must be between 1 and 100000`}},
		{"burst too high", experimental, []string{"--set", "scaleUp.runnersPerMinute=10,scaleUp.burst=100001"},
			[]string{`spec.scaleUp.burst: Invalid value: 100001: must be between 1 and 100000`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"--values", tc.values}, tc.args...)
			name, errs := apiErrors(t, render(t, runnerSetRelease, unchecked, runnerSetNamespace, args...))
			require.NotEmpty(t, errs, "the API accepts this RunnerSet: not a case for the early checks")
			want := fmt.Sprintf("RunnerSet.actions.dev %q is invalid: %s", name, errs.ToAggregate().Error())
			msg := renderFails(t, runnerSetRelease, chartDir(runnerSetChart), runnerSetNamespace, args...)
			assert.Contains(t, msg, want)
			for _, w := range tc.want {
				assert.Contains(t, msg, w)
			}
		})
	}
	t.Run("accepted alike", func(t *testing.T) {
		t.Parallel()
		// The edges the API accepts pass the chart's checks too.
		var edge []map[string]any
		for i := range 20 {
			edge = append(edge, map[string]any{"name": fmt.Sprintf("w-%d", i), "start": "00:00", "end": "23:59:59"})
		}
		edge[0]["days"] = []string{"Sun", "Sat"}
		edge[1]["minRunners"], edge[1]["maxRunners"] = 3, 3
		edge[2]["timeZone"] = "America/Argentina/Buenos_Aires"
		edge[3]["end"] = "00:00"
		data, err := json.Marshal(edge)
		require.NoError(t, err)
		args := []string{"--values", seed, "--set-json", "schedules=" + string(data), "--set", "scaleUp.runnersPerMinute=100000,scaleUp.burst=1"}
		_, errs := apiErrors(t, render(t, runnerSetRelease, unchecked, runnerSetNamespace, args...))
		assert.Empty(t, errs)
		rs := runnerSet(t, renderRunnerSet(t, args...))
		assert.Len(t, rs.Spec.Schedules, 20)
		assert.True(t, strings.HasPrefix(rs.Spec.Schedules[19].Name, "w-"))
	})
}
