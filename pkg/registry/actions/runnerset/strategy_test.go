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
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/rest"
	scalescheme "k8s.io/client-go/scale/scheme"
	"k8s.io/utils/ptr"

	"actions.dev/runnerset-apiserver/pkg/apis/actions"
)

func TestStrategyCreateAndUpdate(t *testing.T) {
	s := NewStrategy(nil)
	ctx := context.Background()
	rs := baseRunnerSet()
	rs.Spec.RunnerScaleSetName = ""
	rs.Status.ScaleSetID = 9
	s.PrepareForCreate(ctx, rs)
	s.Canonicalize(rs)
	assert.Equal(t, int64(1), rs.Generation)
	assert.Zero(t, rs.Status.ScaleSetID, "a create never sets the status")
	assert.Equal(t, "rs", rs.Spec.RunnerScaleSetName, "the scale set is named after the object by default")
	assert.Equal(t, "actions.dev/runnerset=rs", rs.Status.Selector)
	assert.Empty(t, s.Validate(ctx, rs))
	assert.Equal(t, []string{"spec.maxRunners is unset: a burst of jobs can create any number of runner pods"},
		s.WarningsOnCreate(ctx, &actions.RunnerSet{}))

	rs.ResourceVersion = "1"
	rs.Status.ScaleSetID = 9
	same := rs.DeepCopy()
	same.Labels = map[string]string{"team": "a"}
	same.Status.ScaleSetID = 0
	s.PrepareForUpdate(ctx, same, rs)
	assert.Equal(t, int64(1), same.Generation, "metadata changes keep the generation")
	assert.Equal(t, int64(9), same.Status.ScaleSetID, "a spec write keeps the status")

	changed := rs.DeepCopy()
	changed.Spec.MaxRunners = ptr.To[int32](7)
	s.PrepareForUpdate(ctx, changed, rs)
	assert.Equal(t, int64(2), changed.Generation, "a spec change is a new generation")

	reserved := rs.DeepCopy()
	reserved.Labels = map[string]string{RunnerPodLabel: "other"}
	errs := s.ValidateUpdate(ctx, reserved, rs)
	require.Len(t, errs, 1)
	assert.Equal(t, "metadata.labels[actions.dev/runnerset]", errs[0].Field)
}

func TestStatusStrategyKeepsSpecAndMetadata(t *testing.T) {
	s := NewStatusStrategy(NewStrategy(nil))
	old := baseRunnerSet()
	old.Generation, old.Labels = 3, map[string]string{"a": "b"}
	update := old.DeepCopy()
	update.Spec.MaxRunners = ptr.To[int32](99)
	update.Labels = map[string]string{"x": "y"}
	update.Generation = 7
	update.Status.BusyRunners = 2
	s.PrepareForUpdate(context.Background(), update, old)
	assert.Equal(t, old.Spec, update.Spec)
	assert.Equal(t, old.Labels, update.Labels)
	assert.Equal(t, int64(3), update.Generation)
	assert.Equal(t, int32(2), update.Status.BusyRunners)
}

// fixedInfo hands a scale update the Scale the client sent.
type fixedInfo struct{ scale *scalescheme.Scale }

func (f fixedInfo) Preconditions() *metav1.Preconditions { return nil }
func (f fixedInfo) UpdatedObject(_ context.Context, old runtime.Object) (runtime.Object, error) {
	s := f.scale.DeepCopy()
	s.ResourceVersion = old.(*scalescheme.Scale).ResourceVersion
	return s, nil
}

var _ rest.UpdatedObjectInfo = fixedInfo{}

func TestScaleMapsReplicasOntoMinRunners(t *testing.T) {
	rs := baseRunnerSet()
	rs.Status.CurrentRunners = 4
	s := scaleOf(rs)
	assert.Equal(t, int32(0), s.Spec.Replicas)
	assert.Equal(t, int32(4), s.Status.Replicas)
	assert.Equal(t, map[string]string{RunnerPodLabel: "rs"}, s.Status.Selector.MatchLabels)

	for _, tc := range []struct {
		replicas  int32
		serverMax int32
		want      string
	}{
		{replicas: 3},
		{replicas: -1, want: "spec.replicas: Invalid value: -1: must be greater than or equal to 0"},
		{replicas: 6, want: "must be less than or equal to the RunnerSet's spec.maxRunners (5)"},
		{replicas: 4, serverMax: 3, want: "must be at most 3, the most runners this server runs for one RunnerSet"},
	} {
		info := &scaleUpdatedObjectInfo{name: "rs", serverMax: tc.serverMax,
			reqObjInfo: fixedInfo{scale: &scalescheme.Scale{Spec: scalescheme.ScaleSpec{Replicas: tc.replicas}}}}
		obj, err := info.UpdatedObject(context.Background(), rs)
		if tc.want != "" {
			require.True(t, apierrors.IsInvalid(err), "%d: %v", tc.replicas, err)
			assert.Contains(t, err.Error(), tc.want)
			continue
		}
		require.NoError(t, err)
		assert.Equal(t, ptr.To(tc.replicas), obj.(*actions.RunnerSet).Spec.MinRunners)
	}
}

func TestTableRows(t *testing.T) {
	rs := baseRunnerSet()
	rs.Status = actions.RunnerSetStatus{DesiredRunners: 3, CurrentRunners: 3, BusyRunners: 2, IdleRunners: 1, ScaleSetID: 12, AssignedJobs: 2, RunningJobs: 2,
		Conditions: []metav1.Condition{{Type: actions.ConditionReady, Status: metav1.ConditionTrue}, {Type: actions.ConditionSessionActive, Status: metav1.ConditionTrue}}}
	table, err := tableConvertor{}.ConvertToTable(context.Background(), rs, nil)
	require.NoError(t, err)
	require.Len(t, table.Rows, 1)
	cells := table.Rows[0].Cells
	require.Len(t, cells, len(columns))
	assert.Equal(t, []interface{}{"rs", "rs", int64(0), "5", int64(3), int64(3), int64(2), "True"}, cells[:8])
	assert.Equal(t, []interface{}{"default", int64(1), int64(0), int64(0), "2/2", "12", "https://github.com/acme"}, cells[9:])

	rs.Spec.MaxRunners = nil
	rs.Status.Conditions = []metav1.Condition{{Type: actions.ConditionReady, Status: metav1.ConditionFalse, Reason: "SecretNotFound"}}
	cells = row(rs, "rs", "1m")
	assert.Equal(t, "-", cells[3], "no cap")
	assert.Equal(t, "False: SecretNotFound", cells[7], "the reason tells more than False")
	assert.Equal(t, "unknown", cells[13], "job counts without a session may be stale")
	rs.DeletionTimestamp = &metav1.Time{}
	assert.Equal(t, "Deleting", row(rs, "rs", "1m")[7])
}
