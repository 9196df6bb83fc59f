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
	"fmt"
	"slices"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/klog/v2"

	"actions.dev/runnerset-apiserver/pkg/apis/actions"
)

// Watch streams each job's changes. It watches the chunks and diffs each chunk's jobs against
// the chunk's previous state; the base state is the chunks at the requested revision (or now),
// so that the first change of a chunk is diffed against what the client already has.
func (r *REST) Watch(ctx context.Context, opts *metainternalversion.ListOptions) (watch.Interface, error) {
	sel, err := newSelector(opts)
	if err != nil {
		return nil, err
	}
	if opts == nil {
		opts = &metainternalversion.ListOptions{}
	}
	chunks := r.configMaps.ConfigMaps(genericapirequest.NamespaceValue(ctx))
	base, err := chunks.List(ctx, baseListOptions(sel, opts))
	if err != nil {
		return nil, translate(err) // a revision compacted away is a 410: the client lists again
	}
	src, err := chunks.Watch(ctx, metav1.ListOptions{
		LabelSelector: sel.chunks(), ResourceVersion: base.ResourceVersion, AllowWatchBookmarks: opts.AllowWatchBookmarks,
	})
	if err != nil {
		return nil, translate(err)
	}
	w := &jobWatch{
		logger: klog.FromContext(ctx), src: src, sel: sel,
		chunks: map[string]map[string]*actions.WorkflowJob{},
		out:    make(chan watch.Event), done: make(chan struct{}),
	}
	go w.run(w.load(base, opts))
	return w, nil
}

// baseListOptions reads the state a watch starts from: exactly the revision the client has,
// so that nothing it saw is sent again; or the current state, for a watch from "" or "0" and
// for one that sends initial events (any state not older than the revision will do).
func baseListOptions(sel selector, opts *metainternalversion.ListOptions) metav1.ListOptions {
	o := metav1.ListOptions{LabelSelector: sel.chunks()}
	rv := opts.ResourceVersion
	if rv != "" && rv != "0" && !sendsInitialEvents(opts) {
		o.ResourceVersion, o.ResourceVersionMatch = rv, metav1.ResourceVersionMatchExact
	}
	return o
}

// sendsInitialEvents tells a watch that starts with the current jobs as ADDED: one that asks
// for them (a watch-list), or, by default, one from "" or "0", as any Kubernetes watch.
func sendsInitialEvents(opts *metainternalversion.ListOptions) bool {
	if opts.SendInitialEvents != nil {
		return *opts.SendInitialEvents
	}
	return opts.ResourceVersion == "" || opts.ResourceVersion == "0"
}

// jobWatch turns a watch of chunks into one of jobs.
type jobWatch struct {
	logger klog.Logger
	src    watch.Interface
	sel    selector
	// chunks are the jobs last seen in each chunk, by chunkKey.
	chunks map[string]map[string]*actions.WorkflowJob
	out    chan watch.Event
	done   chan struct{}
	once   sync.Once
}

func (w *jobWatch) Stop() {
	w.once.Do(func() {
		close(w.done)
		w.src.Stop()
	})
}

func (w *jobWatch) ResultChan() <-chan watch.Event { return w.out }

// load keeps the base chunks as the state changes are diffed against, and returns the events
// that come first: the selected jobs as ADDED when the watch sends initial events, then, for a
// watch-list, the bookmark that ends them.
func (w *jobWatch) load(base *corev1.ConfigMapList, opts *metainternalversion.ListOptions) []watch.Event {
	decoded := make([]map[string]*actions.WorkflowJob, 0, len(base.Items))
	for i := range base.Items {
		jobs := decodeChunk(w.logger, &base.Items[i])
		w.chunks[chunkKey(&base.Items[i])] = jobs
		decoded = append(decoded, jobs)
	}
	if !sendsInitialEvents(opts) {
		return nil
	}
	var events []watch.Event
	for _, j := range pick(w.sel, decoded) {
		events = append(events, watch.Event{Type: watch.Added, Object: j})
	}
	if opts.SendInitialEvents != nil && opts.AllowWatchBookmarks {
		end := &actions.WorkflowJob{ObjectMeta: metav1.ObjectMeta{
			ResourceVersion: base.ResourceVersion,
			Annotations:     map[string]string{metav1.InitialEventsAnnotationKey: "true"},
		}}
		events = append(events, watch.Event{Type: watch.Bookmark, Object: end})
	}
	return events
}

// run sends the initial events, then the jobs' changes, until the chunk watch ends or the
// client goes away (Stop).
func (w *jobWatch) run(initial []watch.Event) {
	defer close(w.out)
	defer w.Stop()
	for _, ev := range initial {
		if !w.send(ev) {
			return
		}
	}
	for {
		select {
		case <-w.done:
			return
		case ev, ok := <-w.src.ResultChan():
			if !ok {
				return
			}
			for _, out := range w.handle(ev) {
				if !w.send(out) {
					return
				}
			}
		}
	}
}

func (w *jobWatch) send(ev watch.Event) bool {
	select {
	case w.out <- ev:
		return true
	case <-w.done:
		return false
	}
}

// handle turns one chunk event into job events, and records the chunk's new state.
func (w *jobWatch) handle(ev watch.Event) []watch.Event {
	if ev.Type == watch.Error {
		return []watch.Event{ev}
	}
	cm, ok := ev.Object.(*corev1.ConfigMap)
	if !ok {
		w.logger.Info("Ignoring an unexpected object in a job history watch", "type", fmt.Sprintf("%T", ev.Object))
		return nil
	}
	if ev.Type == watch.Bookmark {
		mark := &actions.WorkflowJob{ObjectMeta: metav1.ObjectMeta{ResourceVersion: cm.ResourceVersion}}
		return []watch.Event{{Type: watch.Bookmark, Object: mark}}
	}
	key := chunkKey(cm)
	prev := w.chunks[key]
	var cur map[string]*actions.WorkflowJob
	if ev.Type == watch.Deleted {
		delete(w.chunks, key)
	} else {
		cur = decodeChunk(w.logger, cm)
		w.chunks[key] = cur
	}
	return diffJobs(prev, cur, cm.ResourceVersion, w.sel.matches)
}

// diffJobs turns the change of one chunk, from the jobs prev to the jobs cur (nil: the chunk
// is gone), into the events of a watch of the jobs match accepts, in name order. A new job is
// ADDED, a changed one MODIFIED, a removed one DELETED as last seen; as in any filtered watch, a
// job that starts matching is ADDED and one that stops matching DELETED. Every event carries
// rv, the chunk's revision of the change, so that a client resumes after it.
func diffJobs(prev, cur map[string]*actions.WorkflowJob, rv string, match func(*actions.WorkflowJob) bool) []watch.Event {
	names := make([]string, 0, len(prev)+len(cur))
	for name := range prev {
		names = append(names, name)
	}
	for name := range cur {
		if _, ok := prev[name]; !ok {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	var out []watch.Event
	for _, name := range names {
		if ev, ok := jobEvent(prev[name], cur[name], rv, match); ok {
			out = append(out, ev)
		}
	}
	return out
}

// jobEvent is the event of one job that was old and is now cur (either nil: absent).
func jobEvent(old, cur *actions.WorkflowJob, rv string, match func(*actions.WorkflowJob) bool) (watch.Event, bool) {
	was := old != nil && match(old)
	is := cur != nil && match(cur)
	switch {
	case is && !was:
		return watch.Event{Type: watch.Added, Object: cur}, true
	case was && !is:
		last := old.DeepCopy()
		last.ResourceVersion = rv
		return watch.Event{Type: watch.Deleted, Object: last}, true
	case is && !apiequality.Semantic.DeepEqual(old.Status, cur.Status):
		return watch.Event{Type: watch.Modified, Object: cur}, true
	}
	return watch.Event{}, false // unchanged: its chunk changed for another job
}
