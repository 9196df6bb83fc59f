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

package runnerset

import (
	"context"
	"fmt"
	"strconv"

	"k8s.io/apimachinery/pkg/api/meta"
	metatable "k8s.io/apimachinery/pkg/api/meta/table"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"actions.dev/runnerset-apiserver/pkg/apis/actions"
)

// tableConvertor renders RunnerSets for kubectl get. The default columns answer "is it working
// and how busy is it"; -o wide (priority 1) adds where it points and the job counts.
type tableConvertor struct{}

var columns = []metav1.TableColumnDefinition{
	{Name: "Name", Type: "string", Format: "name", Description: "Name of the RunnerSet."},
	{Name: "Scale Set", Type: "string", Description: "The scale set's name on GitHub: the runs-on label workflows use."},
	{Name: "Min", Type: "integer", Description: "Idle runners kept warm (spec.minRunners)."},
	{Name: "Max", Type: "string", Description: "Cap on runners (spec.maxRunners); '-' means no cap."},
	{Name: "Desired", Type: "integer", Description: "min(minRunners + assigned jobs, maxRunners)."},
	{Name: "Runners", Type: "integer", Description: "Runner pods that exist."},
	{Name: "Busy", Type: "integer", Description: "Runners running a job."},
	{Name: "Ready", Type: "string", Description: "The Ready condition: registered on GitHub and listening for jobs."},
	{Name: "Age", Type: "string", Description: "Time since the RunnerSet was created."},
	{Name: "Mode", Type: "string", Priority: 1, Description: "Container mode: default, dind or kubernetes."},
	{Name: "Idle", Type: "integer", Priority: 1, Description: "Registered runners without a job."},
	{Name: "Pending", Type: "integer", Priority: 1, Description: "Runners not registered yet."},
	{Name: "Failed", Type: "integer", Priority: 1, Description: "Runners whose pods failed."},
	{Name: "Jobs", Type: "string", Priority: 1, Description: "Jobs assigned/running, from the Actions Service; unknown while there is no session with it."},
	{Name: "Scale Set ID", Type: "string", Priority: 1, Description: "The scale set's id on GitHub."},
	{Name: "GitHub", Type: "string", Priority: 1, Description: "spec.githubConfigUrl."},
}

func (tableConvertor) ConvertToTable(ctx context.Context, obj runtime.Object, tableOptions runtime.Object) (*metav1.Table, error) {
	table := &metav1.Table{ColumnDefinitions: columns}
	if m, err := meta.ListAccessor(obj); err == nil {
		table.ResourceVersion = m.GetResourceVersion()
		table.Continue = m.GetContinue()
		table.RemainingItemCount = m.GetRemainingItemCount()
	} else if m, err := meta.CommonAccessor(obj); err == nil {
		table.ResourceVersion = m.GetResourceVersion()
	}
	var err error
	table.Rows, err = metatable.MetaToTableRow(obj, func(obj runtime.Object, m metav1.Object, name, age string) ([]interface{}, error) {
		rs, ok := obj.(*actions.RunnerSet)
		if !ok {
			return nil, fmt.Errorf("cannot show %T as a RunnerSet", obj)
		}
		return row(rs, name, age), nil
	})
	return table, err
}

func row(rs *actions.RunnerSet, name, age string) []interface{} {
	var minRunners int64
	if rs.Spec.MinRunners != nil {
		minRunners = int64(*rs.Spec.MinRunners)
	}
	maxRunners := "-"
	if rs.Spec.MaxRunners != nil {
		maxRunners = strconv.Itoa(int(*rs.Spec.MaxRunners))
	}
	mode := "default"
	if rs.Spec.ContainerMode != nil && rs.Spec.ContainerMode.Type != "" {
		mode = string(rs.Spec.ContainerMode.Type)
	}
	scaleSetID := "<none>"
	if rs.Status.ScaleSetID != 0 {
		scaleSetID = strconv.FormatInt(rs.Status.ScaleSetID, 10)
	}
	return []interface{}{
		name, rs.Spec.RunnerScaleSetName, minRunners, maxRunners,
		int64(rs.Status.DesiredRunners), int64(rs.Status.CurrentRunners), int64(rs.Status.BusyRunners),
		readiness(rs), age,
		mode, int64(rs.Status.IdleRunners), int64(rs.Status.PendingRunners), int64(rs.Status.FailedRunners),
		jobs(rs), scaleSetID, rs.Spec.GitHubConfigURL,
	}
}

// jobs shows the job counts GitHub last sent, or "unknown" while there is no session to hear
// from GitHub (the counts may be stale).
func jobs(rs *actions.RunnerSet) string {
	if !meta.IsStatusConditionTrue(rs.Status.Conditions, actions.ConditionSessionActive) {
		return "unknown"
	}
	return fmt.Sprintf("%d/%d", rs.Status.AssignedJobs, rs.Status.RunningJobs)
}

// readiness shows the Ready condition, or its reason when it is false, which is what an
// operator needs first ("SecretNotFound" tells more than "False").
func readiness(rs *actions.RunnerSet) string {
	if rs.DeletionTimestamp != nil {
		return "Deleting"
	}
	c := meta.FindStatusCondition(rs.Status.Conditions, actions.ConditionReady)
	switch {
	case c == nil:
		return "Unknown"
	case c.Status == metav1.ConditionTrue:
		return "True"
	case c.Reason != "":
		return string(c.Status) + ": " + c.Reason
	}
	return string(c.Status)
}
