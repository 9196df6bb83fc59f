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
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"actions.dev/runnerset-apiserver/pkg/apis/actions"
)

type countingRunnerSets struct {
	fakeRunnerSets
	lists int
}

func (c *countingRunnerSets) List(ctx context.Context, o *metainternalversion.ListOptions) (runtime.Object, error) {
	c.lists++
	return c.fakeRunnerSets.List(ctx, o)
}

// TestPagedListReadsRunnerSetsOnce: the pages of one paged list share the RunnerSets read for
// its first page; a new list reads them again.
func TestPagedListReadsRunnerSetsOnce(t *testing.T) {
	cs := fake.NewClientset()
	cs.PrependReactor("list", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		// Three pages of one pod: "" -> "p2" -> "p3" -> end.
		next := map[string]string{"": "p2", "p2": "p3", "p3": ""}
		cont := a.(k8stesting.ListActionImpl).ListOptions.Continue
		page := &corev1.PodList{ListMeta: metav1.ListMeta{ResourceVersion: "7", Continue: next[cont]}}
		page.Items = append(page.Items, *onlinePod(fmt.Sprintf("runner-%q", cont), "set"))
		return true, page, nil
	})
	rsets := &countingRunnerSets{fakeRunnerSets: fakeRunnerSets{items: []actions.RunnerSet{runnerSetWithSession("set", metav1.ConditionFalse)}}}
	r := NewREST(cs.CoreV1(), cs.CoreV1(), rsets, nil, nil, nil)
	ctx := genericapirequest.WithNamespace(context.Background(), "ns")

	for round := 1; round <= 2; round++ {
		cont, pages := "", 0
		for {
			obj, err := r.List(ctx, &metainternalversion.ListOptions{Limit: 1, Continue: cont})
			if err != nil {
				t.Fatal(err)
			}
			list := obj.(*actions.RunnerList)
			pages++
			for _, item := range list.Items {
				if item.Status.GitHub.Status != GitHubUnknown {
					t.Errorf("page %d: runner %s GitHub status %q, want %q from the RunnerSet read for page 1", pages, item.Name, item.Status.GitHub.Status, GitHubUnknown)
				}
			}
			if cont = list.Continue; cont == "" {
				break
			}
		}
		if pages != 3 || rsets.lists != round {
			t.Errorf("list %d: %d pages read the RunnerSets %d times in all, want 3 pages and %d", round, pages, rsets.lists, round)
		}
	}
}
