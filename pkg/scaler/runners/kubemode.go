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
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/contract"
)

// ensureKubeModeRBAC gives the runners of the kubernetes modes the account the container hooks
// need to run job pods in the namespace, and nothing more: the mode's rules and the RunnerSet's
// additional ones (contract.KubernetesModeRoleRules). Kubernetes lets the server create or
// update a Role only with rights it holds itself; its ClusterRole grants the base rules only,
// so an additional rule beyond it is refused as Forbidden, which a warning event says, and no
// runner is created until the server holds the right or the rule is gone. The Role follows the
// spec's rules; it is written when they change, not at every scale-up. It tells whether runners
// may be created.
func (r *Reconciler) ensureKubeModeRBAC(ctx context.Context, rs *v1alpha1.RunnerSet) bool {
	cm := rs.Spec.ContainerMode
	if cm == nil || (cm.Type != v1alpha1.ContainerModeKubernetes && cm.Type != v1alpha1.ContainerModeKubernetesNoVolume) || rs.Spec.Template.Spec.ServiceAccountName != "" {
		return true
	}
	var extra []rbacv1.PolicyRule
	for _, rule := range cm.KubernetesModeAdditionalRoleRules {
		extra = append(extra, rbacv1.PolicyRule{Verbs: rule.Verbs, APIGroups: rule.APIGroups, Resources: rule.Resources, ResourceNames: rule.ResourceNames})
	}
	rules := contract.KubernetesModeRoleRules(cm.Type == v1alpha1.ContainerModeKubernetesNoVolume, extra)
	applied := fmt.Sprint(rules)
	if r.kubeModeRules == applied {
		return true
	}
	if err := r.writeKubeModeRBAC(ctx, rs, rules); err != nil {
		klog.FromContext(ctx).Error(err, "Preparing the kubernetes mode service account failed")
		return false
	}
	r.kubeModeRules = applied
	return true
}

func (r *Reconciler) writeKubeModeRBAC(ctx context.Context, rs *v1alpha1.RunnerSet, rules []rbacv1.PolicyRule) error {
	name := contract.KubernetesModeAccount(rs.Name)
	uid, err := r.ownerUID(ctx)
	if err != nil {
		return err
	}
	meta := metav1.ObjectMeta{Name: name, Namespace: rs.Namespace, Labels: map[string]string{v1alpha1.LabelRunnerSet: rs.Name},
		OwnerReferences: []metav1.OwnerReference{contract.OwnerReference(rs.Name, uid)}}
	kc := r.cfg.Kube
	if _, err := kc.CoreV1().ServiceAccounts(rs.Namespace).Create(ctx, &corev1.ServiceAccount{ObjectMeta: meta}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	roles := kc.RbacV1().Roles(rs.Namespace)
	role := &rbacv1.Role{ObjectMeta: meta, Rules: rules}
	_, err = roles.Create(ctx, role, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		_, err = roles.Update(ctx, role, metav1.UpdateOptions{})
	}
	if apierrors.IsForbidden(err) && strings.Contains(err.Error(), "not currently held") {
		r.event(rs, corev1.EventTypeWarning, "KubernetesModeRoleForbidden", "No runners until Role %s can be written: Kubernetes lets the server grant only rights it holds itself, and its ClusterRole lacks some of spec.containerMode.kubernetesModeAdditionalRoleRules; grant them to the server or remove them: %v", name, err)
	}
	if err != nil {
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
