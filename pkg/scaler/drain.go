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
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/contract"
	"actions.dev/runnerset-apiserver/pkg/github/actions"
)

// drain takes a deleted RunnerSet apart: idle runners are removed at once, busy ones finish their
// job, then the scale set is deleted on GitHub and the finalizer released. It ends in bounded time:
// after DrainTimeout busy runners are removed too, and when GitHub has been unreachable for
// GitHubGiveUp the drain stops waiting for it and says in an event what it left behind.
func (w *worker) drain(ctx context.Context, rs *v1alpha1.RunnerSet) time.Duration {
	if !hasFinalizer(rs) {
		return 0
	}
	logger := klog.FromContext(ctx)
	runners := w.runners(ctx)
	w.mu.Lock()
	scaleSetID, failingSince := w.scaleSetID, w.githubFailingSince
	w.mu.Unlock()
	if scaleSetID == 0 && len(runners) == 0 && w.nothingRegistered(ctx, rs) {
		return w.releaseFinalizer(ctx, rs)
	}
	client, err := w.m.cfg.GitHub.ForRunnerSet(ctx, rs)
	if err != nil {
		w.mu.Lock()
		client = w.client // the listener's, if it had one
		w.mu.Unlock()
		if client == nil {
			w.githubFailed()
			logger.Info("No GitHub client to drain with", "err", err)
		}
	}
	now := w.m.cfg.Clock.Now()
	giveUpGitHub := !failingSince.IsZero() && now.Sub(failingSince) > w.m.cfg.GitHubGiveUp
	pastDeadline := now.Sub(rs.DeletionTimestamp.Time) > w.m.cfg.DrainTimeout

	var left []string
	busy := 0
	for _, r := range runners {
		if r.Phase == PhaseBusy && !pastDeadline && !giveUpGitHub {
			busy++
			continue
		}
		if client != nil && r.RunnerID != 0 {
			err := client.RemoveRunner(ctx, r.RunnerID)
			switch {
			case errors.Is(err, actions.ErrJobStillRunning) && !pastDeadline:
				busy++
				continue
			case err != nil && !errors.Is(err, actions.ErrRunnerNotFound):
				w.githubFailed()
				if !giveUpGitHub {
					busy++
					continue
				}
				left = append(left, fmt.Sprintf("runner %s (id %d)", r.Name, r.RunnerID))
			default:
				w.githubOK()
			}
		} else if r.RunnerID != 0 {
			left = append(left, fmt.Sprintf("runner %s (id %d)", r.Name, r.RunnerID))
			if !giveUpGitHub {
				busy++
				continue
			}
		}
		w.deleteRunner(ctx, r, "its RunnerSet is being deleted")
	}
	if busy > 0 {
		logger.V(2).Info("Draining: waiting for runners", "waiting", busy)
		w.writeStatus(ctx, countRunners(runners)) // a change it defers is written on the next pass
		return 5 * time.Second
	}
	err = errors.New("no GitHub client")
	if client != nil {
		err = w.deleteScaleSets(ctx, client, rs, scaleSetID)
	}
	switch {
	case err == nil:
		w.githubOK()
		w.mu.Lock()
		w.scaleSetID = 0 // deleted: nothing left for forgetOnGitHub
		w.mu.Unlock()
	case !giveUpGitHub:
		w.githubFailed()
		logger.Info("Deleting the scale set failed; retrying", "scaleSetID", scaleSetID, "err", err)
		return 5 * time.Second
	default:
		left = append(left, fmt.Sprintf("scale set %d (%v)", scaleSetID, err))
	}
	if len(left) > 0 {
		w.event(rs, corev1.EventTypeWarning, "DrainIncomplete",
			"GitHub was unreachable for over %s; left registered on GitHub: %s", w.m.cfg.GitHubGiveUp, strings.Join(left, ", "))
	}
	return w.releaseFinalizer(ctx, rs)
}

// nothingRegistered tells a RunnerSet that never got a scale set registered: it holds no claim
// with a scale set id. Claims without one are given up here.
func (w *worker) nothingRegistered(ctx context.Context, rs *v1alpha1.RunnerSet) bool {
	mine, err := w.m.claims.mine(ctx, owner{Namespace: rs.Namespace, Name: rs.Name, UID: rs.UID})
	if err != nil {
		return false
	}
	for _, c := range mine {
		if c.ScaleSetID != 0 {
			return false
		}
	}
	for _, c := range mine {
		_ = w.m.claims.release(ctx, c)
	}
	return true
}

func hasFinalizer(rs *v1alpha1.RunnerSet) bool {
	for _, f := range rs.Finalizers {
		if f == v1alpha1.RunnerSetFinalizer {
			return true
		}
	}
	return false
}

func (w *worker) releaseFinalizer(ctx context.Context, rs *v1alpha1.RunnerSet) time.Duration {
	var keep []string
	for _, f := range rs.Finalizers {
		if f != v1alpha1.RunnerSetFinalizer {
			keep = append(keep, f)
		}
	}
	patch, _ := jsonMergePatch(map[string]any{"metadata": map[string]any{"finalizers": keep, "resourceVersion": rs.ResourceVersion}})
	// Its success deletes the RunnerSet, which stops this worker and cancels ctx, possibly
	// before the answer arrives: the request must not be cut short by its own effect.
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	_, err := w.m.cfg.Client.ActionsV1alpha1().RunnerSets(w.namespace).Patch(pctx, w.name, types.MergePatchType, patch, metav1.PatchOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		klog.FromContext(ctx).Error(err, "Releasing the finalizer failed")
		return time.Second
	}
	return 0
}

// ensureKubeModeRBAC gives the runners of the kubernetes modes the account the container hooks
// need to run job pods in the namespace, and nothing more: the mode's rules and the RunnerSet's
// additional ones (contract.KubernetesModeRoleRules). Kubernetes lets the server create or
// update a Role only with rights it holds itself, and its ClusterRole
// (charts/runnerset-apiserver/templates/rbac.yaml) grants the base rules only: an additional
// rule beyond it is refused as Forbidden, which a warning event says, and no runner is created
// until the server holds the right or the rule is gone. An existing Role is updated to the spec's
// rules (the mode or the rules may have changed); a server not granted "update" on roles leaves
// it with the rules it was created with.
func (w *worker) ensureKubeModeRBAC(ctx context.Context, rs *v1alpha1.RunnerSet) error {
	const reasonForbidden = "KubernetesModeRoleForbidden"
	name := contract.KubernetesModeAccount(rs.Name)
	owner, err := w.ownerRef(ctx)
	if err != nil {
		return err
	}
	meta := metav1.ObjectMeta{Name: name, Namespace: rs.Namespace, Labels: map[string]string{v1alpha1.LabelRunnerSet: rs.Name}, OwnerReferences: []metav1.OwnerReference{owner}}
	kc := w.m.cfg.KubeClient
	if _, err := kc.CoreV1().ServiceAccounts(rs.Namespace).Create(ctx, &corev1.ServiceAccount{ObjectMeta: meta}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	var mode v1alpha1.ContainerMode
	if rs.Spec.ContainerMode != nil {
		mode = *rs.Spec.ContainerMode
	}
	var extra []rbacv1.PolicyRule
	for _, r := range mode.KubernetesModeAdditionalRoleRules {
		extra = append(extra, rbacv1.PolicyRule{Verbs: r.Verbs, APIGroups: r.APIGroups, Resources: r.Resources, ResourceNames: r.ResourceNames})
	}
	noVolume := mode.Type == v1alpha1.ContainerModeKubernetesNoVolume
	role := &rbacv1.Role{ObjectMeta: meta, Rules: contract.KubernetesModeRoleRules(noVolume, extra)}
	roles := kc.RbacV1().Roles(rs.Namespace)
	_, err = roles.Create(ctx, role, metav1.CreateOptions{})
	updating := apierrors.IsAlreadyExists(err)
	if updating {
		_, err = roles.Update(ctx, role, metav1.UpdateOptions{})
	}
	switch {
	case err == nil:
	case apierrors.IsForbidden(err) && strings.Contains(err.Error(), "not currently held"):
		w.event(rs, corev1.EventTypeWarning, reasonForbidden, "No runners until Role %s can be written: Kubernetes lets the server grant only rights it holds itself, and its ClusterRole lacks some of spec.containerMode.kubernetesModeAdditionalRoleRules; grant them to the server or remove them: %v", name, err)
		return err
	case updating && apierrors.IsForbidden(err):
		// No "update" on roles: the Role keeps its first rules. It cannot be read to tell whether
		// they differ (no "get" either), so this is no event.
		klog.FromContext(ctx).V(2).Info("Not updating the kubernetes mode Role", "role", name, "err", err)
	default:
		return err
	}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: meta,
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: name, Namespace: rs.Namespace}},
	}
	if _, err := kc.RbacV1().RoleBindings(rs.Namespace).Create(ctx, binding, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	return nil
}
