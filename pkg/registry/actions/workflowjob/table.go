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
	"fmt"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metatable "k8s.io/apimachinery/pkg/api/meta/table"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"

	"actions.dev/runnerset-apiserver/pkg/apis/actions"
	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
)

// The default columns answer "what happened to my job": where it is and why, what it is, who
// ran it and how long it waited and ran. -o wide adds what correlates with GitHub's UI and the
// cluster.
var columns = []metav1.TableColumnDefinition{
	{Name: "Name", Type: "string", Format: "name", Description: "The job's name: its RunnerSet's and its request id."},
	{Name: "RunnerSet", Type: "string", Description: "The RunnerSet that acquired the job."},
	{Name: "Phase", Type: "string", Description: "Where the job is: Queued, Assigned, Running, Succeeded, Failed, Canceled, Lost or Rerun."},
	{Name: "Reason", Type: "string", Description: "Why the job is in its phase."},
	{Name: "Job", Type: "string", Description: "The job's name in its workflow."},
	{Name: "Repository", Type: "string", Description: "The repository of the workflow."},
	{Name: "Runner", Type: "string", Description: "The runner that took the job."},
	{Name: "Waited", Type: "string", Description: "Time from queued to started; while not started, time since queued."},
	{Name: "Duration", Type: "string", Description: "Time from started to completed; while running, time since started."},
	{Name: "Age", Type: "string", Description: "Time since the server first recorded the job."},
	{Name: "Result", Type: "string", Priority: 1, Description: "GitHub's result: succeeded, failed or canceled."},
	{Name: "Run", Type: "string", Priority: 1, Description: "The workflow run id."},
	{Name: "Node", Type: "string", Priority: 1, Description: "Where the runner's pod ran."},
	{Name: "Rerun", Type: "string", Priority: 1, Description: "The job this one re-runs (of:) and the one that re-runs it (as:)."},
	{Name: "Workflow", Type: "string", Priority: 1, Description: "The workflow file and ref."},
}

const none = "<none>"

func convertToTable(obj runtime.Object, now time.Time) (*metav1.Table, error) {
	table := &metav1.Table{ColumnDefinitions: columns}
	if m, err := meta.ListAccessor(obj); err == nil {
		table.ResourceVersion, table.Continue, table.RemainingItemCount = m.GetResourceVersion(), m.GetContinue(), m.GetRemainingItemCount()
	}
	var err error
	table.Rows, err = metatable.MetaToTableRow(obj, func(obj runtime.Object, _ metav1.Object, name, age string) ([]interface{}, error) {
		j, ok := obj.(*actions.WorkflowJob)
		if !ok {
			return nil, fmt.Errorf("cannot show %T as a WorkflowJob", obj)
		}
		return row(j, name, age, now), nil
	})
	return table, err
}

func row(j *actions.WorkflowJob, name, age string, now time.Time) []interface{} {
	s := &j.Status
	run := none
	if s.RunID != 0 {
		run = strconv.FormatInt(s.RunID, 10)
	}
	return []interface{}{
		name, s.RunnerSet, orNone(string(s.Phase)), orNone(s.Reason), orNone(s.DisplayName), orNone(s.Repository),
		orNone(s.Runner), waited(s, now), took(s, now), age,
		orNone(s.Result), run, orNone(s.Node), rerun(s), orNone(s.WorkflowRef),
	}
}

// waited is the wait before a runner started the job: queue and startup durations once
// recorded; while the job waits, the time since it was queued.
func waited(s *actions.WorkflowJobStatus, now time.Time) string {
	from := s.Queued
	if from == nil {
		from = s.Assigned
	}
	end := s.Started
	if end == nil {
		end = s.Completed
	}
	switch {
	case from != nil && isWaiting(s.Phase):
		return human(now.Sub(from.Time))
	case s.QueueDuration != nil || s.StartupDuration != nil:
		return human(orZero(s.QueueDuration) + orZero(s.StartupDuration))
	case from != nil && end != nil:
		return human(end.Sub(from.Time))
	}
	return none
}

// took is how long the job ran: its execution duration once recorded; while it runs, the time
// since it started.
func took(s *actions.WorkflowJobStatus, now time.Time) string {
	switch {
	case s.ExecutionDuration != nil:
		return human(s.ExecutionDuration.Duration)
	case s.Started == nil:
		return none
	case v1alpha1.WorkflowJobPhase(s.Phase) == v1alpha1.JobRunning:
		return human(now.Sub(s.Started.Time))
	case s.Completed != nil:
		return human(s.Completed.Sub(s.Started.Time))
	}
	return none
}

func isWaiting(p actions.WorkflowJobPhase) bool {
	switch v1alpha1.WorkflowJobPhase(p) {
	case v1alpha1.JobQueued, v1alpha1.JobAssigned:
		return true
	}
	return false
}

func rerun(s *actions.WorkflowJobStatus) string {
	var parts []string
	if s.RerunOf != "" {
		parts = append(parts, "of:"+s.RerunOf)
	}
	if s.RerunAs != "" {
		parts = append(parts, "as:"+s.RerunAs)
	}
	if len(parts) == 0 {
		return none
	}
	return strings.Join(parts, ",")
}

// human shows d as kubectl shows ages; clocks apart can make it negative, shown as 0s.
func human(d time.Duration) string {
	return duration.HumanDuration(max(d, 0))
}

func orZero(d *metav1.Duration) time.Duration {
	if d == nil {
		return 0
	}
	return d.Duration
}

func orNone(s string) string {
	if s == "" {
		return none
	}
	return s
}
