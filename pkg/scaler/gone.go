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
	"time"

	"k8s.io/klog/v2"
)

// goneCleanupTimeout bounds the clean-up on GitHub after a RunnerSet vanished undrained.
const goneCleanupTimeout = 30 * time.Second

// forgetOnGitHub runs when the worker stops because its RunnerSet is gone. Normally the drain ran
// first, deleted the scale set and released the finalizer, and there is nothing left to do. But a
// RunnerSet deleted within moments of its creation can vanish without a drain: the API server
// decides to delete at once from the object it read, and the finalizer the scaler added meanwhile
// does not stop it. Whatever the worker registered on GitHub would then stay there for ever; its
// scale set is deleted now, which removes its runners' registrations with it. (Runner pods and
// Secrets belong to the RunnerSet's ConfigMap: the garbage collector removes those.)
func (w *worker) forgetOnGitHub(ctx context.Context) {
	w.mu.Lock()
	gone, client, id, rs := w.gone, w.client, w.scaleSetID, w.rs
	w.mu.Unlock()
	if !gone || id == 0 {
		return
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), goneCleanupTimeout)
	defer cancel()
	if client == nil && rs != nil {
		c, err := w.m.cfg.GitHub.ForRunnerSet(cctx, rs)
		if err != nil {
			klog.FromContext(ctx).Error(err, "RunnerSet deleted without being drained; no GitHub client to delete its scale set with", "scaleSetID", id)
			return
		}
		client = c
	}
	if client == nil || rs == nil {
		return
	}
	if err := w.deleteScaleSets(cctx, client, rs, id); err != nil {
		klog.FromContext(ctx).Error(err, "RunnerSet deleted without being drained; its scale set could not be deleted on GitHub", "scaleSetID", id)
		return
	}
	klog.FromContext(ctx).Info("RunnerSet deleted without being drained; deleted what it had registered on GitHub", "scaleSetID", id)
}
