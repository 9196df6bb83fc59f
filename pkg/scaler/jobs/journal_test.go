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

package jobs

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/google/go-github/v62/github"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/contract"
	"actions.dev/runnerset-apiserver/pkg/github/actions"
	"actions.dev/runnerset-apiserver/pkg/github/ghrest"
	"actions.dev/runnerset-apiserver/pkg/scaler/runners"
	"actions.dev/runnerset-apiserver/pkg/scaler/session"
)

var t0 = time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)

type harness struct {
	kube  *fake.Clientset
	clock *clocktesting.FakeClock
	j     *Journal
	rs    *v1alpha1.RunnerSet
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	storage := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: contract.StorageName("linux"), Namespace: "team", UID: "storage-uid"}}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "linux-r1", Namespace: "team"}, Spec: corev1.PodSpec{NodeName: "node-a"}}
	pods := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	require.NoError(t, pods.Add(pod))
	h := &harness{kube: fake.NewClientset(storage), clock: clocktesting.NewFakeClock(t0)}
	h.rs = &v1alpha1.RunnerSet{ObjectMeta: metav1.ObjectMeta{Name: "linux", Namespace: "team"},
		Spec: v1alpha1.RunnerSetSpec{MaxRunners: ptr.To[int32](2), LostJobReruns: ptr.To[int32](1)}}
	h.j = h.newJournal(corelisters.NewPodLister(pods))
	require.NoError(t, h.j.Load(context.Background()))
	return h
}

func (h *harness) newJournal(pods corelisters.PodLister) *Journal {
	return New(Config{Kube: h.kube, Pods: pods, Clock: h.clock, Retention: time.Hour, MaxJobs: 3 * contract.JobsPerChunk,
		FlushEvery: 2 * time.Second}, "team", "linux")
}

func msg(typ string, id int64, mod func(*actions.JobMessage)) actions.JobMessage {
	m := actions.JobMessage{MessageType: typ, RunnerRequestID: id, OwnerName: "acme", RepositoryName: "app", JobDisplayName: "build",
		WorkflowRunID: 7000000 + id, JobWorkflowRef: "acme/app/.github/workflows/ci.yml@refs/heads/main", RequestLabels: []string{"linux"}}
	if mod != nil {
		mod(&m)
	}
	return m
}

func startedOn(runner string) func(*actions.JobMessage) {
	return func(m *actions.JobMessage) { m.RunnerName = runner }
}

func withResult(r string) func(*actions.JobMessage) {
	return func(m *actions.JobMessage) { m.Result = r }
}

// pass records messages and lost runners, one second later than the last pass.
func (h *harness) pass(res runners.Result, jobs ...actions.JobMessage) {
	h.clock.Step(time.Second)
	h.j.Record(h.rs, session.Demand{Jobs: jobs}, res)
}

func (h *harness) status(id int64) v1alpha1.WorkflowJobStatus {
	e := h.j.jobs[contract.WorkflowJobName("linux", id)]
	if e == nil {
		return v1alpha1.WorkflowJobStatus{}
	}
	return e.st
}

// flush flushes and waits until the writer wrote it.
func (h *harness) flush(t *testing.T) time.Duration {
	t.Helper()
	next := h.j.Flush(context.Background())
	require.Eventually(t, h.j.writer.idle, 10*time.Second, time.Millisecond, "the writer did not write")
	return next
}

func (h *harness) writes() int {
	n := 0
	for _, a := range h.kube.Actions() {
		if a.GetResource().Resource == "configmaps" && (a.GetVerb() == "create" || a.GetVerb() == "update") {
			n++
		}
	}
	return n
}

func TestJobLifeIsRecordedAndReadBack(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	h.pass(runners.Result{}, msg(actions.JobMessageAvailable, 1, nil), msg(actions.JobMessageAssigned, 1, nil))
	h.pass(runners.Result{}, msg(actions.JobMessageStarted, 1, startedOn("linux-r1")))
	assert.Equal(t, time.Second, h.flush(t), "a change waits FlushEvery for those that follow it")
	assert.Zero(t, h.writes())
	h.clock.Step(time.Second)
	assert.Zero(t, h.flush(t))
	h.clock.Step(9 * time.Second)
	h.pass(runners.Result{}, msg(actions.JobMessageCompleted, 1, withResult("succeeded")))
	h.clock.Step(2 * time.Second)
	assert.Zero(t, h.flush(t))
	assert.Equal(t, 2, h.writes(), "queued, assigned and started in one write; the end in another")

	st := h.status(1)
	assert.Equal(t, v1alpha1.JobSucceeded, st.Phase)
	assert.Equal(t, "linux-r1", st.Runner)
	assert.Equal(t, "node-a", st.Node)
	assert.Equal(t, "acme/app", st.Repository)
	assert.Equal(t, 11*time.Second, st.ExecutionDuration.Duration)
	var phases []v1alpha1.WorkflowJobPhase
	for _, tr := range st.Transitions {
		phases = append(phases, tr.Phase)
	}
	assert.Equal(t, []v1alpha1.WorkflowJobPhase{v1alpha1.JobQueued, v1alpha1.JobAssigned, v1alpha1.JobRunning, v1alpha1.JobSucceeded}, phases)
	assert.Equal(t, []v1alpha1.RecentJob{{Name: "linux-1", Phase: v1alpha1.JobSucceeded, DisplayName: "build", Repository: "acme/app",
		Runner: "linux-r1", Completed: st.Completed}}, h.j.Recent(5))

	cm, err := h.kube.CoreV1().ConfigMaps("team").Get(ctx, contract.JobHistoryName("linux", 0), metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "linux", cm.Labels[contract.LabelJobHistory])
	assert.EqualValues(t, "storage-uid", cm.OwnerReferences[0].UID)
	next := h.newJournal(h.j.cfg.Pods)
	require.NoError(t, next.Load(ctx))
	want, _ := contract.EncodeJob(&st)
	got, _ := contract.EncodeJob(&next.jobs["linux-1"].st)
	assert.JSONEq(t, want, got, "a new leader reads the same history")
	_, running := next.RunningSince("linux-r1")
	assert.True(t, !running && next.byRunner["linux-r1"] == "linux-1")
}

// fakeGitHub answers the run's jobs and re-runs as its fields say.
type fakeGitHub struct {
	jobs     []ghrest.WorkflowJob
	rerunErr error
	reruns   []int64
}

func (f *fakeGitHub) RunJobs(context.Context, string, string, int64) ([]ghrest.WorkflowJob, error) {
	return f.jobs, nil
}

func (f *fakeGitHub) Rerun(_ context.Context, _, _ string, id int64) error {
	if f.rerunErr != nil {
		return f.rerunErr
	}
	f.reruns = append(f.reruns, id)
	return nil
}

func refusal(status int) error {
	return &github.ErrorResponse{Response: &http.Response{StatusCode: status}, Message: "Resource not accessible by integration"}
}

func TestLostJobsAreRerunWithinBudget(t *testing.T) {
	failedJob := []ghrest.WorkflowJob{{ID: 40000000001, Name: "build", RunAttempt: 1, Status: "completed", Conclusion: "failure", RunnerName: "linux-r1"}}
	cases := []struct {
		name       string
		reason     string
		result     string
		budget     int32
		github     fakeGitHub
		priorRerun bool
		want       v1alpha1.WorkflowJobPhase
		wantReason string
		wantReruns int
	}{
		{name: "evicted, failed by GitHub: re-run", reason: contract.LossEvicted, result: "failed", budget: 1, github: fakeGitHub{jobs: failedJob},
			want: v1alpha1.JobRerun, wantReason: contract.LossEvicted, wantReruns: 1},
		{name: "OOM-killed: re-run", reason: contract.LossOOMKilled, result: "failed", budget: 1, github: fakeGitHub{jobs: failedJob},
			want: v1alpha1.JobRerun, wantReason: contract.LossOOMKilled, wantReruns: 1},
		{name: "cancelled while lost: never re-run", reason: contract.LossDeleted, result: "canceled", budget: 1, github: fakeGitHub{jobs: failedJob},
			want: v1alpha1.JobCanceled, wantReason: contract.LossDeleted},
		{name: "succeeded before it was lost: nothing to do", reason: contract.LossPreempted, result: "succeeded", budget: 1, github: fakeGitHub{jobs: failedJob},
			want: v1alpha1.JobSucceeded, wantReason: contract.LossPreempted},
		{name: "maxRunnerLifetime ended it: not re-run", reason: contract.LossDeadlineExceeded, result: "failed", budget: 1, github: fakeGitHub{jobs: failedJob},
			want: v1alpha1.JobFailed, wantReason: ReasonNotRerun},
		{name: "re-runs off", reason: contract.LossEvicted, result: "failed", budget: 0, github: fakeGitHub{jobs: failedJob},
			want: v1alpha1.JobFailed, wantReason: ReasonRerunsOff},
		{name: "budget spent by an earlier re-run of the run", reason: contract.LossEvicted, result: "failed", budget: 1, github: fakeGitHub{jobs: failedJob},
			priorRerun: true, want: v1alpha1.JobFailed, wantReason: ReasonRerunBudget},
		{name: "credentials may not re-run", reason: contract.LossNodeLost, result: "failed", budget: 1, github: fakeGitHub{jobs: failedJob, rerunErr: refusal(http.StatusForbidden)},
			want: v1alpha1.JobFailed, wantReason: ReasonRerunRefused},
		{name: "run still going: waits", reason: contract.LossEvicted, result: "failed", budget: 1,
			github: fakeGitHub{jobs: failedJob, rerunErr: fmt.Errorf("re-run: %w", ghrest.ErrRunNotFinished)},
			want:   v1alpha1.JobLost, wantReason: contract.LossEvicted},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.rs.Spec.LostJobReruns = ptr.To(tc.budget)
			if tc.priorRerun {
				h.j.add(v1alpha1.WorkflowJobStatus{RunnerSet: "linux", Phase: v1alpha1.JobRerun, RequestID: 9, Repository: "acme/app", RunID: 7000001, DisplayName: "other"})
			}
			h.pass(runners.Result{}, msg(actions.JobMessageAssigned, 1, nil), msg(actions.JobMessageStarted, 1, startedOn("linux-r1")))
			h.pass(runners.Result{Lost: []runners.LostRunner{{Name: "linux-r1", Reason: tc.reason, Message: "gone"}}})
			assert.Equal(t, v1alpha1.JobLost, h.status(1).Phase)
			h.j.Recover(context.Background(), h.rs, &tc.github)
			assert.Empty(t, tc.github.reruns, "nothing is re-run before GitHub concluded the job")
			h.pass(runners.Result{}, msg(actions.JobMessageCompleted, 1, withResult(tc.result)))
			h.j.Recover(context.Background(), h.rs, &tc.github)
			st := h.status(1)
			assert.Equal(t, tc.want, st.Phase, st.Message)
			assert.Equal(t, tc.wantReason, st.Reason)
			assert.Len(t, tc.github.reruns, tc.wantReruns)
		})
	}
}

func TestRerunIsLinkedToItsNewAttempt(t *testing.T) {
	h := newHarness(t)
	gh := &fakeGitHub{jobs: []ghrest.WorkflowJob{{ID: 41, Name: "build", RunAttempt: 1, Status: "completed", Conclusion: "failure", RunnerName: "linux-r1"}}}
	h.pass(runners.Result{}, msg(actions.JobMessageAssigned, 1, nil), msg(actions.JobMessageStarted, 1, startedOn("linux-r1")))
	h.pass(runners.Result{Lost: []runners.LostRunner{{Name: "linux-r1", Reason: contract.LossPreempted}}})
	_, running := h.j.RunningSince("linux-r1")
	assert.False(t, running, "a lost job's runner runs nothing")
	h.pass(runners.Result{}, msg(actions.JobMessageCompleted, 1, withResult("failed")))
	h.j.Recover(context.Background(), h.rs, gh)
	require.Equal(t, []int64{41}, gh.reruns)
	retry := msg(actions.JobMessageAvailable, 2, nil)
	retry.WorkflowRunID = h.status(1).RunID
	h.pass(runners.Result{}, retry)
	assert.Equal(t, "linux-2", h.status(1).RerunAs)
	assert.Equal(t, "linux-1", h.status(2).RerunOf)
}

func TestWaitingJobsSayWhy(t *testing.T) {
	h := newHarness(t)
	h.pass(runners.Result{}, msg(actions.JobMessageAvailable, 1, nil), msg(actions.JobMessageAvailable, 2, nil), msg(actions.JobMessageAssigned, 2, nil))
	h.clock.Step(time.Second)
	h.j.Record(h.rs, session.Demand{Stats: &actions.Statistics{TotalAcquiredJobs: 1}}, runners.Result{Waiting: runners.Waiting{Reason: runners.WaitQuota, Message: "exceeded quota"}})
	assert.Equal(t, WaitMaxRunners, h.status(1).Reason)
	assert.Equal(t, runners.WaitQuota, h.status(2).Reason)
	assert.Equal(t, "exceeded quota", h.status(2).Message)
	h.pass(runners.Result{}, msg(actions.JobMessageStarted, 2, startedOn("linux-r1")))
	assert.Empty(t, h.status(2).Reason, "a running job waits for nothing")
}

func TestHistoryIsPrunedByAgeAndCount(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	for id := int64(1); id <= 4*contract.JobsPerChunk; id++ {
		h.j.message(h.rs, msg(actions.JobMessageCompleted, id, withResult("succeeded")), h.clock.Now())
	}
	h.clock.Step(2 * time.Second)
	h.flush(t)
	assert.Len(t, h.j.chunks, 3, "the oldest chunk went: more than MaxJobs were kept")
	_, err := h.kube.CoreV1().ConfigMaps("team").Get(ctx, contract.JobHistoryName("linux", 0), metav1.GetOptions{})
	assert.Error(t, err, "never written, nothing to delete")
	h.clock.Step(2 * time.Hour)
	h.j.message(h.rs, msg(actions.JobMessageAvailable, 10000, nil), h.clock.Now())
	h.clock.Step(2 * time.Second)
	h.flush(t)
	assert.Equal(t, []string{"linux-10000"}, slices.Collect(maps.Keys(h.j.jobs)), "older than the retention: only the new job's chunk is kept")
	list, err := h.kube.CoreV1().ConfigMaps("team").List(ctx, metav1.ListOptions{LabelSelector: contract.LabelJobHistory})
	require.NoError(t, err)
	assert.Len(t, list.Items, 1)
}

// TestOnlyLossesSeenAreRerun: a Lost record read from the history's ConfigMaps (which anyone
// allowed to write ConfigMaps in the namespace could have forged) is never re-run.
func TestOnlyLossesSeenAreRerun(t *testing.T) {
	h := newHarness(t)
	forged, err := contract.EncodeJob(&v1alpha1.WorkflowJobStatus{RunnerSet: "linux", Phase: v1alpha1.JobLost, Reason: contract.LossEvicted,
		RequestID: 7, Repository: "acme/secret-repo", RunID: 99, Runner: "linux-r1", Result: "failed"})
	require.NoError(t, err)
	_, err = h.kube.CoreV1().ConfigMaps("team").Create(context.Background(), &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: contract.JobHistoryName("linux", 0), Namespace: "team", Labels: map[string]string{contract.LabelJobHistory: "linux"}},
		Data:       map[string]string{"linux-7": forged}}, metav1.CreateOptions{})
	require.NoError(t, err)
	j := h.newJournal(h.j.cfg.Pods)
	require.NoError(t, j.Load(context.Background()))
	gh := &fakeGitHub{jobs: []ghrest.WorkflowJob{{ID: 41, Status: "completed", Conclusion: "failure", RunnerName: "linux-r1"}}}
	h.clock.Step(time.Hour)
	j.Recover(context.Background(), h.rs, gh)
	assert.Empty(t, gh.reruns)
}
