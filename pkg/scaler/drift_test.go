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

package scaler

import (
	"context"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/github/actions"
	"actions.dev/runnerset-apiserver/pkg/github/ghrest"
)

// directory answers GetRunnerByName from a fixed table and counts the questions.
type directory struct {
	fakeGitHub
	scaleSetOf map[string]int
	asked      int
}

func (d *directory) GetRunnerByName(_ context.Context, name string) (*actions.RunnerReference, error) {
	d.asked++
	id, ok := d.scaleSetOf[name]
	if !ok {
		return nil, nil
	}
	return &actions.RunnerReference{ID: runnerIDs[name], Name: name, RunnerScaleSetID: id}, nil
}

var runnerIDs = map[string]int{"linux-small-mine1": 11, "linux-small-ghost": 12, "linux-small-alice": 21, "other-x": 31}

func names(m map[string]ghrest.Runner) []string {
	var out []string
	for n := range m {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// TestDriftKnowsItsOwnRunners: bob's RunnerSet "linux-small" in team-b, scale set 2 named
// "linux", beside alice's in team-a (scale set 1) whose runners carry the label "linux" and
// names starting with "linux-small-". Only bob's own runners are his, whatever their names.
func TestDriftKnowsItsOwnRunners(t *testing.T) {
	w := &worker{m: &Manager{}, namespace: "team-b", name: "linux-small", scaleSetID: 2}
	rs := &v1alpha1.RunnerSet{ObjectMeta: metav1.ObjectMeta{Name: "linux-small", Namespace: "team-b"},
		Spec: v1alpha1.RunnerSetSpec{RunnerScaleSetName: "linux"}}
	dir := &directory{scaleSetOf: map[string]int{"linux-small-mine1": 2, "linux-small-ghost": 2, "linux-small-alice": 1, "other-x": 3}}
	listed := []ghrest.Runner{
		{ID: 11, Name: "linux-small-mine1", Labels: []string{"linux"}},
		{ID: 12, Name: "linux-small-ghost", Labels: []string{"linux"}},
		{ID: 21, Name: "linux-small-alice", Labels: []string{"linux-small", "linux"}},
		{ID: 31, Name: "other-x", Labels: []string{"other"}},
	}
	runners := []Runner{{Name: "linux-small-mine1", RunnerID: 11}}

	matched, githubOnly := w.ourGitHubRunners(context.Background(), dir, rs, listed, runners)
	assert.Equal(t, []string{"linux-small-mine1"}, names(matched), "a runner of ours is matched by its id")
	assert.Equal(t, []string{"linux-small-ghost"}, names(githubOnly), "alice's runner, named and labelled like ours, is not ours")
	assert.Equal(t, 2, dir.asked, "only runners with our scale set's label and no pod here are asked about")

	_, again := w.ourGitHubRunners(context.Background(), dir, rs, listed, runners)
	assert.Equal(t, []string{"linux-small-ghost"}, names(again))
	assert.Equal(t, 2, dir.asked, "the answers are remembered while GitHub lists those runners")

	w.scaleSetID = 0
	_, none := w.ourGitHubRunners(context.Background(), dir, rs, listed, runners)
	assert.Empty(t, none, "without a scale set of its own, no runner is GitHub-only")
}
