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
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"

	"actions.dev/runnerset-apiserver/pkg/apis/actions"
	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
)

// wj is an internal job for the diff tests.
func wj(name string, phase v1alpha1.WorkflowJobPhase) *actions.WorkflowJob {
	return &actions.WorkflowJob{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "team-a", ResourceVersion: "1"},
		Status:     actions.WorkflowJobStatus{RunnerSet: "build", Phase: actions.WorkflowJobPhase(phase)},
	}
}

func jobs(js ...*actions.WorkflowJob) map[string]*actions.WorkflowJob {
	out := map[string]*actions.WorkflowJob{}
	for _, j := range js {
		out[j.Name] = j
	}
	return out
}

// ev is what a test expects of an event: "TYPE name phase rv".
func ev(e watch.Event) string {
	j := e.Object.(*actions.WorkflowJob)
	return string(e.Type) + " " + j.Name + " " + string(j.Status.Phase) + " " + j.ResourceVersion
}

func TestDiffJobs(t *testing.T) {
	all := func(*actions.WorkflowJob) bool { return true }
	running := func(j *actions.WorkflowJob) bool {
		return j.Status.Phase == actions.WorkflowJobPhase(v1alpha1.JobRunning)
	}
	tests := []struct {
		name      string
		prev, cur map[string]*actions.WorkflowJob
		match     func(*actions.WorkflowJob) bool
		want      []string
	}{
		{name: "a new chunk: its jobs are added",
			cur: jobs(wj("b-2", v1alpha1.JobQueued), wj("b-1", v1alpha1.JobRunning)), match: all,
			want: []string{"ADDED b-1 Running 1", "ADDED b-2 Queued 1"}},
		{name: "a new key is added, a changed one modified, an unchanged one not sent",
			prev: jobs(wj("b-1", v1alpha1.JobQueued), wj("b-2", v1alpha1.JobRunning)),
			cur:  jobs(wj("b-1", v1alpha1.JobRunning), wj("b-2", v1alpha1.JobRunning), wj("b-3", v1alpha1.JobQueued)), match: all,
			want: []string{"MODIFIED b-1 Running 1", "ADDED b-3 Queued 1"}},
		{name: "a removed key is deleted as last seen, at the change's revision",
			prev: jobs(wj("b-1", v1alpha1.JobSucceeded), wj("b-2", v1alpha1.JobRunning)),
			cur:  jobs(wj("b-2", v1alpha1.JobRunning)), match: all,
			want: []string{"DELETED b-1 Succeeded 9"}},
		{name: "a deleted chunk: its jobs are deleted",
			prev: jobs(wj("b-1", v1alpha1.JobSucceeded), wj("b-2", v1alpha1.JobFailed)), match: all,
			want: []string{"DELETED b-1 Succeeded 9", "DELETED b-2 Failed 9"}},
		{name: "a job that starts matching is added, one that stops is deleted",
			prev: jobs(wj("b-1", v1alpha1.JobAssigned), wj("b-2", v1alpha1.JobRunning), wj("b-3", v1alpha1.JobQueued)),
			cur:  jobs(wj("b-1", v1alpha1.JobRunning), wj("b-2", v1alpha1.JobSucceeded), wj("b-3", v1alpha1.JobAssigned)), match: running,
			want: []string{"ADDED b-1 Running 1", "DELETED b-2 Running 9"}},
		{name: "nothing changed", prev: jobs(wj("b-1", v1alpha1.JobQueued)), cur: jobs(wj("b-1", v1alpha1.JobQueued)), match: all},
		{name: "nothing before, nothing now", match: all},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, e := range diffJobs(tt.prev, tt.cur, "9", tt.match) {
				got = append(got, ev(e))
			}
			assert.Equal(t, tt.want, got)
		})
	}
	prev := jobs(wj("b-1", v1alpha1.JobQueued))
	diffJobs(prev, nil, "9", all)
	assert.Equal(t, "1", prev["b-1"].ResourceVersion, "the state the watch keeps is not changed")
}

func next(t *testing.T, w watch.Interface) watch.Event {
	t.Helper()
	select {
	case e, ok := <-w.ResultChan():
		require.True(t, ok, "the watch ended")
		return e
	case <-time.After(10 * time.Second):
		t.Fatal("no event")
		return watch.Event{}
	}
}

func nextEvents(t *testing.T, w watch.Interface, n int) []string {
	t.Helper()
	var out []string
	for range n {
		out = append(out, ev(next(t, w)))
	}
	return out
}

func startWatch(t *testing.T, cs *fake.Clientset, opts *metainternalversion.ListOptions) watch.Interface {
	t.Helper()
	w, err := NewREST(cs.CoreV1()).Watch(inNamespace("team-a"), opts)
	require.NoError(t, err)
	t.Cleanup(w.Stop)
	return w
}

func update(t *testing.T, cs *fake.Clientset, cm *corev1.ConfigMap) {
	t.Helper()
	_, err := cs.CoreV1().ConfigMaps(cm.Namespace).Update(context.Background(), cm, metav1.UpdateOptions{})
	require.NoError(t, err)
}

// TestWatchStreamsEachJobsChanges: a watch from "" starts with every job as ADDED, then turns
// each change of a chunk into the changes of its jobs.
func TestWatchStreamsEachJobsChanges(t *testing.T) {
	cs := fake.NewClientset(
		chunk(t, "team-a", "build", 0, "11", job("build", 1, 0, v1alpha1.JobQueued), job("build", 2, 1, v1alpha1.JobRunning)))
	w := startWatch(t, cs, &metainternalversion.ListOptions{})
	assert.Equal(t, []string{"ADDED build-1 Queued 11", "ADDED build-2 Running 11"}, nextEvents(t, w, 2))

	update(t, cs, chunk(t, "team-a", "build", 0, "20",
		job("build", 1, 0, v1alpha1.JobAssigned), job("build", 2, 1, v1alpha1.JobRunning), job("build", 3, 2, v1alpha1.JobQueued)))
	assert.Equal(t, []string{"MODIFIED build-1 Assigned 20", "ADDED build-3 Queued 20"}, nextEvents(t, w, 2),
		"build-2 did not change")

	update(t, cs, chunk(t, "team-a", "build", 0, "21", job("build", 1, 0, v1alpha1.JobRunning), job("build", 3, 2, v1alpha1.JobQueued)))
	assert.Equal(t, []string{"MODIFIED build-1 Running 21", "DELETED build-2 Running 21"}, nextEvents(t, w, 2))

	_, err := cs.CoreV1().ConfigMaps("team-a").Create(context.Background(),
		chunk(t, "team-a", "build", 1, "22", job("build", 4, 3, v1alpha1.JobQueued)), metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, []string{"ADDED build-4 Queued 22"}, nextEvents(t, w, 1))

	require.NoError(t, cs.CoreV1().ConfigMaps("team-a").Delete(context.Background(), "workflowjobs.build.0", metav1.DeleteOptions{}))
	assert.Equal(t, []string{"DELETED build-1 Running 21", "DELETED build-3 Queued 21"}, nextEvents(t, w, 2))
}

// TestWatchFromARevision: a watch from the revision of a list starts from the chunks exactly at
// that revision, sends nothing it has, and watches the chunks from there.
func TestWatchFromARevision(t *testing.T) {
	cs := fake.NewClientset(chunk(t, "team-a", "build", 0, "11", job("build", 1, 0, v1alpha1.JobQueued)))
	w := startWatch(t, cs, &metainternalversion.ListOptions{ResourceVersion: "11"})

	update(t, cs, chunk(t, "team-a", "build", 0, "20", job("build", 1, 0, v1alpha1.JobRunning)))
	assert.Equal(t, []string{"MODIFIED build-1 Running 20"}, nextEvents(t, w, 1), "no initial ADDED")

	list := cs.Actions()[0].(k8stesting.ListActionImpl).ListOptions
	assert.Equal(t, "11", list.ResourceVersion)
	assert.Equal(t, metav1.ResourceVersionMatchExact, list.ResourceVersionMatch)
	watched := cs.Actions()[1].(k8stesting.WatchActionImpl).ListOptions
	assert.Equal(t, "actions.dev/workflowjobs", watched.LabelSelector)
	assert.NotEmpty(t, watched.ResourceVersion, "from the base list's revision")
}

// TestWatchFromACompactedRevision: a revision the kube-apiserver no longer has fails the watch
// with its 410, so the client lists again.
func TestWatchFromACompactedRevision(t *testing.T) {
	cs := fake.NewClientset()
	cs.PrependReactor("list", "configmaps", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewResourceExpired("too old resource version: 3 (40)")
	})
	_, err := NewREST(cs.CoreV1()).Watch(inNamespace("team-a"), &metainternalversion.ListOptions{ResourceVersion: "3"})
	require.Error(t, err)
	assert.True(t, apierrors.IsResourceExpired(err) || apierrors.IsGone(err), "got %v", err)
}

// TestWatchSelectsByPhase: a job entering the selection is ADDED, one leaving it DELETED.
func TestWatchSelectsByPhase(t *testing.T) {
	cs := fake.NewClientset(
		chunk(t, "team-a", "build", 0, "11", job("build", 1, 0, v1alpha1.JobAssigned), job("build", 2, 1, v1alpha1.JobRunning)))
	w := startWatch(t, cs, &metainternalversion.ListOptions{FieldSelector: fields.OneTermEqualSelector("status.phase", "Running")})
	assert.Equal(t, []string{"ADDED build-2 Running 11"}, nextEvents(t, w, 1))

	update(t, cs, chunk(t, "team-a", "build", 0, "20", job("build", 1, 0, v1alpha1.JobRunning), job("build", 2, 1, v1alpha1.JobSucceeded)))
	assert.Equal(t, []string{"ADDED build-1 Running 20", "DELETED build-2 Running 20"}, nextEvents(t, w, 2))

	_, err := NewREST(cs.CoreV1()).Watch(inNamespace("team-a"), &metainternalversion.ListOptions{
		FieldSelector: fields.OneTermEqualSelector("status.node", "n1"),
	})
	assert.True(t, apierrors.IsBadRequest(err))
}

// TestWatchList: a watch-list ends its initial events with the annotated bookmark, at the
// revision the changes follow.
func TestWatchList(t *testing.T) {
	cs := fake.NewClientset(chunk(t, "team-a", "build", 0, "11", job("build", 1, 0, v1alpha1.JobQueued)))
	w := startWatch(t, cs, &metainternalversion.ListOptions{
		SendInitialEvents: ptr.To(true), AllowWatchBookmarks: true, ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan,
	})
	assert.Equal(t, []string{"ADDED build-1 Queued 11"}, nextEvents(t, w, 1))
	end := next(t, w)
	require.Equal(t, watch.Bookmark, end.Type)
	mark := end.Object.(*actions.WorkflowJob)
	assert.Equal(t, "true", mark.Annotations[metav1.InitialEventsAnnotationKey])
	assert.NotEmpty(t, mark.ResourceVersion)
	assert.Empty(t, cs.Actions()[0].(k8stesting.ListActionImpl).ListOptions.ResourceVersionMatch, "the current state")

	cs = fake.NewClientset(chunk(t, "team-a", "build", 0, "11", job("build", 1, 0, v1alpha1.JobQueued)))
	w = startWatch(t, cs, &metainternalversion.ListOptions{SendInitialEvents: ptr.To(false), AllowWatchBookmarks: true})
	update(t, cs, chunk(t, "team-a", "build", 0, "20", job("build", 1, 0, v1alpha1.JobRunning)))
	assert.Equal(t, []string{"MODIFIED build-1 Running 20"}, nextEvents(t, w, 1), "no initial events when not asked")
}

// fakeSource makes the clientset's ConfigMap watches the one returned.
func fakeSource(cs *fake.Clientset) *watch.FakeWatcher {
	src := watch.NewFake()
	cs.PrependWatchReactor("configmaps", func(k8stesting.Action) (bool, watch.Interface, error) {
		return true, src, nil
	})
	return src
}

// TestWatchPassesBookmarksAndErrors: the chunks' bookmarks become job bookmarks at the same
// revision; errors pass as they are.
func TestWatchPassesBookmarksAndErrors(t *testing.T) {
	cs := fake.NewClientset()
	src := fakeSource(cs)
	w := startWatch(t, cs, &metainternalversion.ListOptions{ResourceVersion: "5", AllowWatchBookmarks: true})

	go src.Action(watch.Bookmark, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{ResourceVersion: "30"}})
	e := next(t, w)
	require.Equal(t, watch.Bookmark, e.Type)
	assert.Equal(t, "30", e.Object.(*actions.WorkflowJob).ResourceVersion)

	status := &apierrors.NewResourceExpired("too old").ErrStatus
	go src.Error(status)
	e = next(t, w)
	assert.Equal(t, watch.Error, e.Type)
	assert.Same(t, status, e.Object)
}

// TestWatchStops: the client going away stops the chunk watch and ends the stream; the chunk
// watch ending ends it too.
func TestWatchStops(t *testing.T) {
	cs := fake.NewClientset()
	src := fakeSource(cs)
	w := startWatch(t, cs, &metainternalversion.ListOptions{ResourceVersion: "5"})
	w.Stop()
	assertEnds(t, w)
	assert.True(t, src.IsStopped())

	cs = fake.NewClientset()
	src = fakeSource(cs)
	w = startWatch(t, cs, &metainternalversion.ListOptions{ResourceVersion: "5"})
	src.Stop()
	assertEnds(t, w)
}

func assertEnds(t *testing.T, w watch.Interface) {
	t.Helper()
	select {
	case _, ok := <-w.ResultChan():
		assert.False(t, ok, "an event after the end")
	case <-time.After(10 * time.Second):
		t.Fatal("the watch did not end")
	}
}
