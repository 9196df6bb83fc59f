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

package runner

import (
	"fmt"
	"strconv"

	"k8s.io/apimachinery/pkg/api/meta"
	metatable "k8s.io/apimachinery/pkg/api/meta/table"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"actions.dev/runnerset-apiserver/pkg/apis/actions"
)

// The default columns are the dashboard: which set, GitHub's state, the job, the pod. -o wide
// adds the ids to correlate with GitHub's UI and the drift marker.
var columns = []metav1.TableColumnDefinition{
	{Name: "Name", Type: "string", Format: "name", Description: "The runner's name: its pod's and its GitHub registration's."},
	{Name: "RunnerSet", Type: "string", Description: "The RunnerSet it belongs to."},
	{Name: "GitHub", Type: "string", Description: "GitHub's state: online/idle, online/busy, offline or unknown."},
	{Name: "Job", Type: "string", Description: "The job it runs: repository and job name."},
	{Name: "Pod", Type: "string", Description: "The pod's phase (and reason), or <none> for a runner GitHub knows without a pod."},
	{Name: "Node", Type: "string", Description: "Where the pod runs."},
	{Name: "Age", Type: "string", Description: "Time since the runner was created."},
	{Name: "Runner ID", Type: "string", Priority: 1, Description: "The runner's id on GitHub."},
	{Name: "Workflow", Type: "string", Priority: 1, Description: "The job's workflow file and ref."},
	{Name: "Run ID", Type: "string", Priority: 1, Description: "The workflow run id."},
	{Name: "Restarts", Type: "integer", Priority: 1, Description: "Container restarts of the pod."},
	{Name: "Drift", Type: "string", Priority: 1, Description: "GitHubOnly or ClusterOnly when the two sides disagree."},
}

func convertToTable(obj runtime.Object) (*metav1.Table, error) {
	table := &metav1.Table{ColumnDefinitions: columns}
	if m, err := meta.ListAccessor(obj); err == nil {
		table.ResourceVersion, table.Continue, table.RemainingItemCount = m.GetResourceVersion(), m.GetContinue(), m.GetRemainingItemCount()
	}
	var err error
	table.Rows, err = metatable.MetaToTableRow(obj, func(obj runtime.Object, _ metav1.Object, name, age string) ([]interface{}, error) {
		r, ok := obj.(*actions.Runner)
		if !ok {
			return nil, fmt.Errorf("cannot show %T as a Runner", obj)
		}
		return row(r, name, age), nil
	})
	return table, err
}

func row(r *actions.Runner, name, age string) []interface{} {
	gh := r.Status.GitHub.Status
	if gh == "online" {
		if r.Status.GitHub.Busy {
			gh += "/busy"
		} else {
			gh += "/idle"
		}
	}
	job, workflow, runID := "<none>", "<none>", "<none>"
	if j := r.Status.Job; j != nil {
		job = j.Repository + ":" + j.DisplayName
		if j.Result != "" {
			job += " (" + j.Result + ")"
		}
		workflow = j.WorkflowRef
		runID = strconv.FormatInt(j.RunID, 10)
	}
	pod, node, restarts := "<none>", "<none>", int64(0)
	if p := r.Status.Pod; p != nil {
		pod = p.Phase
		if pod == "" {
			pod = "Unknown"
		}
		if p.Reason != "" {
			pod += "/" + p.Reason
		}
		if p.Node != "" {
			node = p.Node
		}
		restarts = int64(p.Restarts)
	}
	runnerID := "<none>"
	if r.Status.RunnerID != 0 {
		runnerID = strconv.FormatInt(r.Status.RunnerID, 10)
	}
	drift := r.Status.Drift
	if drift == "" {
		drift = "-"
	}
	return []interface{}{name, r.Status.RunnerSet, gh, job, pod, node, age, runnerID, workflow, runID, restarts, drift}
}
