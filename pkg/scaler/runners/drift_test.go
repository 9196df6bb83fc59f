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

package runners

import (
	"context"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"

	"actions.dev/runnerset-apiserver/pkg/contract"
	"actions.dev/runnerset-apiserver/pkg/github/ghrest"
)

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
	w := newWorld(t)
	w.rs.Spec.RunnerScaleSetName = "linux"
	dir := w.gh
	dir.scaleSetOf = map[string]int{"linux-small-mine1": 2, "linux-small-ghost": 2, "linux-small-alice": 1, "other-x": 3}
	dir.listed = []ghrest.Runner{
		{ID: 11, Name: "linux-small-mine1", Labels: []string{"linux"}},
		{ID: 12, Name: "linux-small-ghost", Labels: []string{"linux"}},
		{ID: 21, Name: "linux-small-alice", Labels: []string{"linux-small", "linux"}},
		{ID: 31, Name: "other-x", Labels: []string{"other"}},
	}
	runners := []contract.Runner{{Name: "linux-small-mine1", RunnerID: 11}}
	d := w.demand(0)
	d.ScaleSetID = 2
	p := &pass{rs: w.rs, d: d}

	matched, githubOnly := w.r.ourGitHubRunners(context.Background(), p, dir.listed, runners)
	assert.Equal(t, []string{"linux-small-mine1"}, names(matched), "a runner of ours is matched by its id")
	assert.Equal(t, []string{"linux-small-ghost"}, names(githubOnly), "alice's runner, named and labelled like ours, is not ours")
	assert.Equal(t, 2, dir.asked, "only runners with our scale set's label and no pod here are asked about")

	_, again := w.r.ourGitHubRunners(context.Background(), p, dir.listed, runners)
	assert.Equal(t, []string{"linux-small-ghost"}, names(again))
	assert.Equal(t, 2, dir.asked, "the answers are remembered while GitHub lists those runners")

	p.d.ScaleSetID = 0
	_, none := w.r.ourGitHubRunners(context.Background(), p, dir.listed, runners)
	assert.Empty(t, none, "without a scale set of its own, no runner is GitHub-only")
}
