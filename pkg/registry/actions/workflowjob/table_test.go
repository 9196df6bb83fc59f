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

package workflowjob

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"actions.dev/runnerset-apiserver/pkg/apis/actions"
	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
)

func at(minutes int) *metav1.Time {
	t := metav1.NewTime(t0.Add(time.Duration(minutes) * time.Minute))
	return &t
}

func minutes(n int) *metav1.Duration {
	return &metav1.Duration{Duration: time.Duration(n) * time.Minute}
}

func tableJob(name string, phase v1alpha1.WorkflowJobPhase, edit func(*actions.WorkflowJobStatus)) actions.WorkflowJob {
	j := actions.WorkflowJob{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "team-a", CreationTimestamp: *at(0)},
		Status: actions.WorkflowJobStatus{
			RunnerSet: "build", Phase: actions.WorkflowJobPhase(phase), DisplayName: "test", Repository: "acme/app",
			Queued: at(0), RunID: 77, WorkflowRef: "acme/app/.github/workflows/ci.yaml@refs/heads/main",
		},
	}
	edit(&j.Status)
	return j
}

func TestTable(t *testing.T) {
	now := t0.Add(90 * time.Minute)
	list := &actions.WorkflowJobList{ListMeta: metav1.ListMeta{ResourceVersion: "42"}, Items: []actions.WorkflowJob{
		tableJob("build-1", v1alpha1.JobQueued, func(s *actions.WorkflowJobStatus) { s.Reason = "MaxRunners" }),
		tableJob("build-2", v1alpha1.JobAssigned, func(s *actions.WorkflowJobStatus) { s.Assigned, s.QueueDuration = at(1), minutes(1) }),
		tableJob("build-3", v1alpha1.JobRunning, func(s *actions.WorkflowJobStatus) {
			s.Assigned, s.Started, s.QueueDuration, s.StartupDuration = at(1), at(4), minutes(1), minutes(3)
			s.Runner, s.Node = "build-abcde", "node-1"
		}),
		tableJob("build-4", v1alpha1.JobSucceeded, func(s *actions.WorkflowJobStatus) {
			s.Started, s.Completed, s.QueueDuration, s.StartupDuration, s.ExecutionDuration = at(4), at(14), minutes(1), minutes(3), minutes(10)
			s.Result, s.Runner = "succeeded", "build-fghij"
		}),
		tableJob("build-5", v1alpha1.JobRerun, func(s *actions.WorkflowJobStatus) {
			s.Started, s.Completed, s.Reason, s.RerunAs, s.RunID, s.WorkflowRef = at(2), at(5), "Evicted", "build-6", 0, ""
		}),
		tableJob("build-6", v1alpha1.JobCanceled, func(s *actions.WorkflowJobStatus) {
			s.Completed, s.RerunOf, s.Result, s.Queued = at(30), "build-5", "canceled", nil
		}),
	}}
	table, err := convertToTable(list, now)
	require.NoError(t, err)
	assert.Equal(t, "42", table.ResourceVersion)

	var header []string
	for _, c := range table.ColumnDefinitions {
		header = append(header, c.Name)
		wide := map[string]bool{"Result": true, "Run": true, "Node": true, "Rerun": true, "Workflow": true}[c.Name]
		assert.Equal(t, map[bool]int32{true: 1, false: 0}[wide], c.Priority, "priority of %s", c.Name)
	}
	assert.Equal(t, []string{"Name", "RunnerSet", "Phase", "Reason", "Job", "Repository", "Runner", "Waited", "Duration", "Age",
		"Result", "Run", "Node", "Rerun", "Workflow"}, header)

	want := [][]interface{}{
		{"build-1", "build", "Queued", "MaxRunners", "test", "acme/app", "<none>", "90m", "<none>",
			"<none>", "77", "<none>", "<none>", "acme/app/.github/workflows/ci.yaml@refs/heads/main"},
		{"build-2", "build", "Assigned", "<none>", "test", "acme/app", "<none>", "90m", "<none>",
			"<none>", "77", "<none>", "<none>", "acme/app/.github/workflows/ci.yaml@refs/heads/main"},
		{"build-3", "build", "Running", "<none>", "test", "acme/app", "build-abcde", "4m", "86m",
			"<none>", "77", "node-1", "<none>", "acme/app/.github/workflows/ci.yaml@refs/heads/main"},
		{"build-4", "build", "Succeeded", "<none>", "test", "acme/app", "build-fghij", "4m", "10m",
			"succeeded", "77", "<none>", "<none>", "acme/app/.github/workflows/ci.yaml@refs/heads/main"},
		{"build-5", "build", "Rerun", "Evicted", "test", "acme/app", "<none>", "2m", "3m",
			"<none>", "<none>", "<none>", "as:build-6", "<none>"},
		{"build-6", "build", "Canceled", "<none>", "test", "acme/app", "<none>", "<none>", "<none>",
			"canceled", "77", "<none>", "of:build-5", "acme/app/.github/workflows/ci.yaml@refs/heads/main"},
	}
	require.Len(t, table.Rows, len(want))
	for i, r := range table.Rows {
		age := r.Cells[9]
		assert.NotEmpty(t, age)
		cells := append(append([]interface{}{}, r.Cells[:9]...), r.Cells[10:]...)
		assert.Equal(t, want[i], cells, "row %d", i)
		assert.NotNil(t, r.Object.Object, "the object, for -o custom-columns and the like")
	}

	one, err := convertToTable(&list.Items[0], now)
	require.NoError(t, err)
	assert.Len(t, one.Rows, 1)
}
