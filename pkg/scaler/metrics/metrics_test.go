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

package metrics

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/component-base/metrics/legacyregistry"
	"k8s.io/component-base/metrics/testutil"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
)

func TestRecordConditions(t *testing.T) {
	Register()
	rs := &v1alpha1.RunnerSet{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "linux"}}
	RecordConditions(rs, []metav1.Condition{
		{Type: v1alpha1.ConditionReady, Status: metav1.ConditionTrue},
		{Type: v1alpha1.ConditionRunnerVersionDeprecated, Status: metav1.ConditionFalse},
	})
	want := `# HELP runnerset_status_condition [ALPHA] A condition of the RunnerSet's status: 1 for its current status (true, false or unknown), 0 for the others.
# TYPE runnerset_status_condition gauge
runnerset_status_condition{condition="Ready",name="linux",namespace="team-a",status="false"} 0
runnerset_status_condition{condition="Ready",name="linux",namespace="team-a",status="true"} 1
runnerset_status_condition{condition="Ready",name="linux",namespace="team-a",status="unknown"} 0
runnerset_status_condition{condition="RunnerVersionDeprecated",name="linux",namespace="team-a",status="false"} 1
runnerset_status_condition{condition="RunnerVersionDeprecated",name="linux",namespace="team-a",status="true"} 0
runnerset_status_condition{condition="RunnerVersionDeprecated",name="linux",namespace="team-a",status="unknown"} 0
`
	require.NoError(t, testutil.GatherAndCompare(legacyregistry.DefaultGatherer, strings.NewReader(want), "runnerset_status_condition"))

	// A condition that turns True moves its 1; a RunnerSet forgotten leaves no series behind.
	RecordConditions(rs, []metav1.Condition{{Type: v1alpha1.ConditionRunnerVersionDeprecated, Status: metav1.ConditionTrue}})
	for status, want := range map[string]float64{"true": 1, "false": 0} {
		v, err := testutil.GetGaugeMetricValue(statusCondition.WithLabelValues("team-a", "linux", "RunnerVersionDeprecated", status))
		require.NoError(t, err)
		require.Equal(t, want, v, "status %s", status)
	}
	Forget(rs)
	require.NoError(t, testutil.GatherAndCompare(legacyregistry.DefaultGatherer, strings.NewReader(""), "runnerset_status_condition"))
}
