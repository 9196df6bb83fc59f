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
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/klog/v2"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/contract"
)

// strayGrace is how old a runner pod without a Secret must be before it is deleted.
const strayGrace = 30 * time.Second

// expectationTimeout bounds how long a write of ours may be missing from the informer caches.
const expectationTimeout = time.Minute

// expectations are runners this Reconciler wrote that the informer caches may not show yet.
// Counting them keeps a burst from overshooting maxRunners and a removal from being repeated
// (the expectations pattern of Kubernetes controllers).
type expectations struct {
	created, deleted map[string]time.Time
}

func (e *expectations) expectCreated(name string, now time.Time) {
	if e.created == nil {
		e.created = map[string]time.Time{}
	}
	e.created[name] = now
}

func (e *expectations) expectDeleted(name string, now time.Time) {
	if e.deleted == nil {
		e.deleted = map[string]time.Time{}
	}
	e.deleted[name] = now
	delete(e.created, name)
}

// settle drops the expectations the caches now show, or that are too old to believe: a created
// runner once its Secret is cached, a deleted one once neither its Secret nor its pod is. It
// returns the created runners still missing from the caches, which hold their slots.
func (e *expectations) settle(secrets map[string]bool, pods map[string]*corev1.Pod, now time.Time) []contract.Runner {
	var pending []contract.Runner
	for name, at := range e.created {
		if secrets[name] || now.Sub(at) > expectationTimeout {
			delete(e.created, name)
		} else {
			pending = append(pending, contract.Runner{Name: name, Phase: contract.PhasePending, Created: at})
		}
	}
	for name, at := range e.deleted {
		if (!secrets[name] && pods[name] == nil) || now.Sub(at) > expectationTimeout {
			delete(e.deleted, name)
		}
	}
	return pending
}

func selector(runnerSet string) labels.Selector {
	return labels.SelectorFromSet(labels.Set{v1alpha1.LabelRunnerSet: runnerSet})
}

// runnersAndStrays pairs the RunnerSet's Secrets with their pods. Pods without a Secret are
// strays, deleted once they are old enough not to be a creation in flight; the duration says
// when to look at the younger ones again.
func (r *Reconciler) runnersAndStrays(ctx context.Context) ([]contract.Runner, time.Duration) {
	pods := map[string]*corev1.Pod{}
	podList, _ := r.cfg.Pods.Pods(r.namespace).List(selector(r.name))
	for _, p := range podList {
		pods[p.Name] = p
	}
	secrets, _ := r.cfg.Secrets.Secrets(r.namespace).List(selector(r.name))
	inCache := map[string]bool{}
	for _, s := range secrets {
		inCache[s.Name] = true
	}
	out := r.expect.settle(inCache, pods, r.cfg.Clock.Now())
	for name := range r.expect.deleted {
		delete(pods, name) // deleted by us: no stray, whichever cache shows it last
	}
	for _, s := range secrets {
		if _, gone := r.expect.deleted[s.Name]; gone {
			continue
		}
		pod := pods[s.Name]
		delete(pods, s.Name)
		if !isRunnerSecret(s) || s.DeletionTimestamp != nil {
			continue
		}
		out = append(out, contract.Classify(s, pod))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, r.deleteStrays(ctx, pods)
}

// isRunnerSecret tells a runner's Secret from others of the RunnerSet (its proxy Secret).
func isRunnerSecret(s *corev1.Secret) bool {
	return s.Data[v1alpha1.SecretKeyJITConfig] != nil || s.Annotations[v1alpha1.AnnotationRunnerID] != ""
}

func (r *Reconciler) deleteStrays(ctx context.Context, pods map[string]*corev1.Pod) time.Duration {
	var requeue time.Duration
	for _, p := range pods {
		if p.DeletionTimestamp != nil {
			continue
		}
		if age := r.cfg.Clock.Since(p.CreationTimestamp.Time); age < strayGrace {
			if requeue == 0 || strayGrace-age < requeue {
				requeue = strayGrace - age + time.Second
			}
			continue
		}
		if r.secretExists(ctx, p) {
			continue
		}
		klog.FromContext(ctx).Info("Deleting a runner pod without its Secret", "pod", klog.KObj(p))
		uid := p.UID
		_ = r.cfg.Kube.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	}
	return requeue
}

// secretExists asks the kube-apiserver whether a stray's Secret is there after all: a Secret
// cache lagging behind the pod cache (a watch restarting under load) must not cost a runner its
// pod, and a busy one its job. Strays are rare, so the read is too.
func (r *Reconciler) secretExists(ctx context.Context, p *corev1.Pod) bool {
	_, err := r.cfg.Kube.CoreV1().Secrets(p.Namespace).Get(ctx, p.Name, metav1.GetOptions{})
	switch {
	case err == nil:
		klog.FromContext(ctx).V(2).Info("A runner pod's Secret is missing from the cache only", "pod", klog.KObj(p))
		return true
	case apierrors.IsNotFound(err):
		return false
	}
	klog.FromContext(ctx).Error(err, "Cannot tell whether a runner pod has a Secret; keeping it", "pod", klog.KObj(p))
	return true
}
