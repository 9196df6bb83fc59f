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
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/scaler/session"
)

// drain takes a deleted RunnerSet apart: the session is closed, the runners go (the cluster
// side: idle ones at once, busy ones after their job, bounded in time), then its scale sets are
// deleted on GitHub and the finalizer released. When GitHub has been unreachable for
// GitHubGiveUp the drain stops waiting for it and says in an event what it left behind.
func (w *worker) drain(ctx context.Context, rs *v1alpha1.RunnerSet, d session.Demand) time.Duration {
	if !hasFinalizer(rs) {
		return 0
	}
	w.stopSession()
	client := w.clientFor(ctx, rs, d)
	if client == nil {
		w.drainFailed()
	}
	dr := w.reconciler.Drain(ctx, rs, client, earliest(d.FailingSince, w.drainFailing))
	if ctx.Err() != nil {
		return 0 // stopped (gone, or leadership lost): nothing above can be trusted to have happened
	}
	if dr.Waiting > 0 {
		klog.FromContext(ctx).V(2).Info("Draining: waiting for runners", "waiting", dr.Waiting)
		return 5 * time.Second
	}
	left := dr.Left
	scaleSetID := d.ScaleSetID
	if scaleSetID != 0 || dr.Registered || w.registered(ctx, rs) {
		err := errors.New("no GitHub client")
		if client != nil {
			err = w.m.registrar.DeleteAll(ctx, client, rs, scaleSetID)
		}
		if err != nil {
			w.drainFailed()
		}
		if err != nil && !dr.GiveUp {
			klog.FromContext(ctx).Info("Deleting the scale set failed; retrying", "scaleSetID", scaleSetID, "err", err)
			return 5 * time.Second
		}
		if err != nil {
			left = append(left, fmt.Sprintf("scale set %d (%v)", scaleSetID, err))
		}
	}
	w.demand.put(session.Demand{}) // deleted: nothing left for forgetOnGitHub
	if len(left) > 0 {
		w.m.event(rs, corev1.EventTypeWarning, "DrainIncomplete",
			"GitHub was unreachable for over %s; left registered on GitHub: %s", w.m.cfg.GitHubGiveUp, strings.Join(left, ", "))
	}
	return w.releaseFinalizer(ctx, rs)
}

func (w *worker) drainFailed() {
	if w.drainFailing.IsZero() {
		w.drainFailing = w.m.cfg.Clock.Now()
	}
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// registered tells whether the RunnerSet holds a claim on a registered scale set.
func (w *worker) registered(ctx context.Context, rs *v1alpha1.RunnerSet) bool {
	ok, err := w.m.registrar.Registered(ctx, rs)
	return ok || err != nil
}

// clientFor is the RunnerSet's GitHub client: a fresh one (the Secret may have changed), else
// the session's, else none.
func (w *worker) clientFor(ctx context.Context, rs *v1alpha1.RunnerSet, d session.Demand) session.ScaleSetClient {
	client, err := w.m.cfg.GitHub.ForRunnerSet(ctx, rs)
	if err == nil {
		return client
	}
	klog.FromContext(ctx).V(2).Info("No new GitHub client for the RunnerSet", "err", err)
	return d.Client
}

// forgetOnGitHub runs when the worker stops because its RunnerSet is gone. Normally the drain
// ran first, deleted the scale set and released the finalizer, and there is nothing left to do.
// But a RunnerSet deleted within moments of its creation can vanish without a drain: the API
// server decides to delete at once from the object it read, and the finalizer the scaler added
// meanwhile does not stop it. What the session registered on GitHub would then stay there for
// ever; its scale set is deleted now, which removes its runners' registrations with it. (Runner
// pods and Secrets belong to the RunnerSet's ConfigMap: the garbage collector removes those.)
func (w *worker) forgetOnGitHub(ctx context.Context) {
	d := w.demand.take()
	rs := w.rs.Load()
	if !w.gone.Load() || d.ScaleSetID == 0 || rs == nil {
		return
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), session.CleanupTimeout)
	defer cancel()
	client := w.clientFor(cctx, rs, d)
	if client == nil {
		klog.FromContext(ctx).Error(nil, "RunnerSet deleted without being drained; no GitHub client to delete its scale set with", "scaleSetID", d.ScaleSetID)
		return
	}
	if err := w.m.registrar.DeleteAll(cctx, client, rs, d.ScaleSetID); err != nil {
		klog.FromContext(ctx).Error(err, "RunnerSet deleted without being drained; its scale set could not be deleted on GitHub", "scaleSetID", d.ScaleSetID)
		return
	}
	klog.FromContext(ctx).Info("RunnerSet deleted without being drained; deleted what it had registered on GitHub", "scaleSetID", d.ScaleSetID)
}

func hasFinalizer(rs *v1alpha1.RunnerSet) bool {
	return slices.Contains(rs.Finalizers, v1alpha1.RunnerSetFinalizer)
}

// ensureFinalizer adds the drain finalizer, so that whatever the session registers on GitHub is
// drained before the RunnerSet goes.
func (w *worker) ensureFinalizer(ctx context.Context, rs *v1alpha1.RunnerSet) error {
	return w.patchFinalizers(ctx, rs, append(slices.Clone(rs.Finalizers), v1alpha1.RunnerSetFinalizer))
}

// releaseFinalizer lets the drained RunnerSet go.
func (w *worker) releaseFinalizer(ctx context.Context, rs *v1alpha1.RunnerSet) time.Duration {
	keep := slices.DeleteFunc(slices.Clone(rs.Finalizers), func(f string) bool { return f == v1alpha1.RunnerSetFinalizer })
	// Its success deletes the RunnerSet, which stops this worker and cancels ctx, possibly
	// before the answer arrives: the request must not be cut short by its own effect.
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := w.patchFinalizers(pctx, rs, keep); err != nil && !apierrors.IsNotFound(err) {
		klog.FromContext(ctx).Error(err, "Releasing the finalizer failed")
		return time.Second
	}
	return 0
}

func (w *worker) patchFinalizers(ctx context.Context, rs *v1alpha1.RunnerSet, finalizers []string) error {
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"finalizers": finalizers, "resourceVersion": rs.ResourceVersion}})
	// The informer brings the result back (and a kick); the RunnerSet has one writer of its copy.
	_, err := w.m.cfg.Client.ActionsV1alpha1().RunnerSets(w.namespace).Patch(ctx, w.name, types.MergePatchType, patch, metav1.PatchOptions{})
	return err
}
