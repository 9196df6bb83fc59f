//go:build e2e

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

package e2e

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/contract"
	"actions.dev/runnerset-apiserver/pkg/github/simulator"
)

// phaseLog records the phases a watch on workflowjobs streamed, per job.
type phaseLog struct {
	mu     sync.Mutex
	phases map[string][]v1alpha1.WorkflowJobPhase
}

func (l *phaseLog) of(name string) []v1alpha1.WorkflowJobPhase {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]v1alpha1.WorkflowJobPhase(nil), l.phases[name]...)
}

// watchJobs streams the namespace's workflowjobs from now on, as kubectl get wfj -w does.
func watchJobs(t *testing.T, ns string) *phaseLog {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	jobs := actionsClient(t, "admin").ActionsV1alpha1().WorkflowJobs(ns)
	list, err := jobs.List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	w, err := jobs.Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
	require.NoError(t, err)
	l := &phaseLog{phases: map[string][]v1alpha1.WorkflowJobPhase{}}
	go func() {
		defer w.Stop()
		for ev := range w.ResultChan() {
			j, ok := ev.Object.(*v1alpha1.WorkflowJob)
			if !ok || ev.Type == watch.Bookmark {
				continue
			}
			l.mu.Lock()
			seen := l.phases[j.Name]
			if n := len(seen); n == 0 || seen[n-1] != j.Status.Phase {
				l.phases[j.Name] = append(seen, j.Status.Phase)
			}
			l.mu.Unlock()
		}
	}()
	return l
}

func workflowJob(ctx context.Context, t *testing.T, ns, name string) (*v1alpha1.WorkflowJob, bool) {
	j, err := actionsClient(t, "admin").ActionsV1alpha1().WorkflowJobs(ns).Get(ctx, name, metav1.GetOptions{})
	return j, err == nil
}

// TestLostJobsRerunThemselves: a job whose runner pod is evicted mid-job is re-run on GitHub once,
// as a new attempt that runs to success; a job that fails on its own is not re-run; workflowjobs
// show both lives, streamed by a watch and kept after the runners are gone.
func TestLostJobsRerunThemselves(t *testing.T) {
	const ns, name = "e2e-rerun", "rerun"
	rs := fleet(t, ns, name, 0, 4)
	scaleSetID := int(rs.Status.ScaleSetID)
	log := watchJobs(t, ns)
	reruns := gh.Counters().Reruns

	evicted := gh.QueueJob(simulator.Job{Labels: []string{name}, Owner: "acme", Repository: name, DisplayName: "long", Duration: 15 * time.Second})
	failing := gh.QueueJob(simulator.Job{Labels: []string{name}, Owner: "acme", Repository: name, DisplayName: "flaky-test", Duration: time.Second, Result: "failed"})

	var runner string
	eventually(t, 90*time.Second, "the long job running", func(ctx context.Context) (bool, error) {
		j, ok := gh.Job(evicted)
		runner = j.RunnerName
		return ok && j.State == simulator.JobRunning && runner != "", nil
	})
	eventually(t, 30*time.Second, "the job recorded on its runner's pod", func(ctx context.Context) (bool, error) {
		pod, err := kubeClient(t, "admin").CoreV1().Pods(ns).Get(ctx, runner, metav1.GetOptions{})
		return err == nil && contract.JobOf(pod).Running(), nil
	})
	// As kubectl drain does: through the eviction API.
	require.NoError(t, kubeClient(t, "admin").CoreV1().Pods(ns).EvictV1(context.Background(),
		&policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: runner, Namespace: ns}}))

	lost := contract.WorkflowJobName(name, evicted)
	var again int64
	eventually(t, 120*time.Second, "the lost job re-run and succeeded", func(ctx context.Context) (bool, error) {
		j, _ := gh.Job(evicted)
		again = j.RerunAs
		if again == 0 {
			return false, nil
		}
		next, ok := gh.Job(again)
		return ok && next.State == simulator.JobCompleted, nil
	})
	next, _ := gh.Job(again)
	assert.Equal(t, "succeeded", next.Result)
	first, _ := gh.Job(evicted)
	assert.True(t, first.LostRunner, "the simulator failed the first attempt for its lost runner")
	eventually(t, 30*time.Second, "the failing job completed", func(ctx context.Context) (bool, error) {
		j, _ := gh.Job(failing)
		return j.State == simulator.JobCompleted, nil
	})
	assert.Equal(t, reruns+1, gh.Counters().Reruns, "one re-run: the evicted job's, never the job that failed on its own")

	retried := contract.WorkflowJobName(name, again)
	eventually(t, 30*time.Second, "workflowjobs showing both attempts", func(ctx context.Context) (bool, error) {
		a, okA := workflowJob(ctx, t, ns, lost)
		b, okB := workflowJob(ctx, t, ns, retried)
		return okA && okB && a.Status.Phase == v1alpha1.JobRerun && b.Status.Phase == v1alpha1.JobSucceeded, nil
	})
	a, _ := workflowJob(context.Background(), t, ns, lost)
	assert.Equal(t, contract.LossEvicted, a.Status.Reason)
	assert.Equal(t, retried, a.Status.RerunAs)
	assert.Equal(t, runner, a.Status.Runner)
	b, _ := workflowJob(context.Background(), t, ns, retried)
	assert.Equal(t, lost, b.Status.RerunOf)
	f, _ := workflowJob(context.Background(), t, ns, contract.WorkflowJobName(name, failing))
	assert.Equal(t, v1alpha1.JobFailed, f.Status.Phase, "a job that failed on its own ends Failed")
	assert.Equal(t, "failed", f.Status.Result)

	// The watch shows each write of the history; a job's quick steps share one, and its
	// transitions keep them all.
	assert.Subset(t, log.of(lost), []v1alpha1.WorkflowJobPhase{v1alpha1.JobLost, v1alpha1.JobRerun}, "the watch streamed the lost job's life")
	assert.Contains(t, log.of(retried), v1alpha1.JobSucceeded)
	var steps []v1alpha1.WorkflowJobPhase
	for _, tr := range a.Status.Transitions {
		steps = append(steps, tr.Phase)
	}
	assert.Equal(t, []v1alpha1.WorkflowJobPhase{v1alpha1.JobQueued, v1alpha1.JobAssigned, v1alpha1.JobRunning, v1alpha1.JobLost, v1alpha1.JobRerun}, steps)

	table := kubectl(t, "admin", "get", "wfj", "-n", ns, "--field-selector", "status.phase=Rerun")
	assert.Contains(t, table, lost)
	assert.NotContains(t, table, retried)
	ok, err := eventMentions(context.Background(), t, ns, name, "re-run on GitHub")
	require.NoError(t, err)
	assert.True(t, ok, "a JobRerun event on the RunnerSet")
	describe := kubectl(t, "admin", "describe", "rset", "-n", ns, name)
	assert.True(t, strings.Contains(describe, retried), "describe shows the last jobs:\n%s", describe)

	audit(t, ns, scaleSetID, false)
	_, kept := workflowJob(context.Background(), t, ns, lost)
	assert.True(t, kept, "the job's record outlives its runner")
}
