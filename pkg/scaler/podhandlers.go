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

	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
)

// PodInformers are runner pod informers by namespace ("" for all), running for as long as the
// server does (runnerpods.Cache).
type PodInformers interface {
	Informers() map[string]cache.SharedIndexInformer
}

// podHandlers are the scaler's handlers on the shared pod informers, which outlive a term as
// leader: they are removed when it ends, so a follower's pod events wake no one.
type podHandlers struct {
	informers []cache.SharedIndexInformer
	regs      []cache.ResourceEventHandlerRegistration
}

func (h *podHandlers) add(inf cache.SharedIndexInformer, handlers ...cache.ResourceEventHandler) {
	for _, handler := range handlers {
		reg, err := inf.AddEventHandler(handler)
		if err != nil { // the informer was stopped: the server is going down
			klog.ErrorS(err, "Cannot watch runner pods")
			continue
		}
		h.informers, h.regs = append(h.informers, inf), append(h.regs, reg)
	}
}

// waitForSync returns once every handler has been given the pods listed so far (or ctx ended).
func (h *podHandlers) waitForSync(ctx context.Context) {
	synced := make([]cache.InformerSynced, 0, len(h.regs))
	for _, reg := range h.regs {
		synced = append(synced, reg.HasSynced)
	}
	cache.WaitForCacheSync(ctx.Done(), synced...)
}

func (h *podHandlers) remove() {
	for i, reg := range h.regs {
		if err := h.informers[i].RemoveEventHandler(reg); err != nil {
			klog.ErrorS(err, "Cannot stop watching runner pods")
		}
	}
}
