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

package runnerset

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"actions.dev/runnerset-apiserver/pkg/apis/actions"
	"actions.dev/runnerset-apiserver/pkg/contract"
)

// Right is one thing a RunnerSet makes the server do or hand out in its namespace, which its
// author must be allowed to do herself.
type Right struct {
	Verb, Group, Resource, Subresource, Name string
}

func (r Right) String() string {
	res := r.Resource
	if r.Group != "" {
		res += "." + r.Group
	}
	if r.Subresource != "" {
		res += "/" + r.Subresource
	}
	if r.Name != "" {
		return fmt.Sprintf("%s %s %q", r.Verb, res, r.Name)
	}
	return r.Verb + " " + res
}

// Needs maps each right to the fields that need it.
type Needs map[Right][]string

func (n Needs) add(r Right, p *field.Path) {
	if !slices.Contains(n[r], p.String()) {
		n[r] = append(n[r], p.String())
	}
}

// ref adds the right to read a named object; an empty name is validation's or the cluster's
// to refuse, and must not turn into a right on every object of the kind.
func (n Needs) ref(r Right, p *field.Path) {
	if r.Name != "" {
		n.add(r, p)
	}
}

// Sorted lists the rights in a stable order.
func (n Needs) Sorted() []Right {
	out := make([]Right, 0, len(n))
	for r := range n {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

func getSecret(name string) Right    { return Right{Verb: "get", Resource: "secrets", Name: name} }
func getConfigMap(name string) Right { return Right{Verb: "get", Resource: "configmaps", Name: name} }

// RequiredRights is what the author of rs must hold, given that old (nil on create) was stored
// before. Two parts of a RunnerSet act with the server's rights:
//   - its GitHub side (config URL, credentials Secret, runner group, scale set name, labels,
//     proxy, CA): the server authenticates to GitHub with the Secret and sends its token through
//     the proxy, so the author must be able to read those Secrets and the CA ConfigMap;
//   - its pod side (template, container mode, proxy, CA): the server creates runner pods, so the
//     author must be able to create pods and to read every Secret, ConfigMap and claim they use;
//     in the kubernetes modes the runners' ServiceAccount gets the rights of
//     contract.KubernetesModeRoleRules and of containerMode.kubernetesModeAdditionalRoleRules,
//     which she must hold too, as RBAC asks of whoever creates a Role.
//
// A part that did not change needs nothing: an object made by someone with more rights stays
// editable in its counts and metadata by whoever may edit RunnerSets, but whoever changes a part
// takes responsibility for all of it (changing only the image of a template that mounts a Secret
// would otherwise hand that Secret to the new image).
func RequiredRights(rs, old *actions.RunnerSet) Needs {
	needs := Needs{}
	spec := field.NewPath("spec")
	if old == nil || gitHubSideChanged(&rs.Spec, &old.Spec) {
		needs.ref(getSecret(rs.Spec.GitHubConfigSecret), spec.Child("githubConfigSecret"))
		proxyRights(needs, rs.Spec.Proxy, spec.Child("proxy"))
		tlsRights(needs, rs.Spec.GitHubServerTLS, spec.Child("githubServerTLS"))
	}
	if old == nil || podSideChanged(&rs.Spec, &old.Spec) {
		tp := spec.Child("template")
		needs.add(Right{Verb: "create", Resource: "pods"}, tp)
		podSpecRights(needs, &rs.Spec.Template.Spec, tp.Child("spec"))
		proxyRights(needs, rs.Spec.Proxy, spec.Child("proxy"))
		tlsRights(needs, rs.Spec.GitHubServerTLS, spec.Child("githubServerTLS"))
		if cm := rs.Spec.ContainerMode; cm != nil && (cm.Type == actions.ContainerModeKubernetes || cm.Type == actions.ContainerModeKubernetesNoVolume) {
			kubeModeRights(needs, cm, spec.Child("containerMode"))
		}
	}
	return needs
}

func gitHubSideChanged(a, b *actions.RunnerSetSpec) bool {
	return a.GitHubConfigURL != b.GitHubConfigURL || a.GitHubConfigSecret != b.GitHubConfigSecret ||
		a.RunnerGroup != b.RunnerGroup || a.RunnerScaleSetName != b.RunnerScaleSetName ||
		!apiequality.Semantic.DeepEqual(a.Labels, b.Labels) ||
		!apiequality.Semantic.DeepEqual(a.Proxy, b.Proxy) ||
		!apiequality.Semantic.DeepEqual(a.GitHubServerTLS, b.GitHubServerTLS)
}

func podSideChanged(a, b *actions.RunnerSetSpec) bool {
	return !apiequality.Semantic.DeepEqual(a.Template, b.Template) ||
		!apiequality.Semantic.DeepEqual(a.ContainerMode, b.ContainerMode) ||
		!apiequality.Semantic.DeepEqual(a.Proxy, b.Proxy) ||
		!apiequality.Semantic.DeepEqual(a.GitHubServerTLS, b.GitHubServerTLS) ||
		!apiequality.Semantic.DeepEqual(a.MaxRunnerLifetime, b.MaxRunnerLifetime)
}

func proxyRights(needs Needs, px *actions.ProxyConfig, p *field.Path) {
	if px == nil {
		return
	}
	if px.HTTP != nil && px.HTTP.CredentialSecretRef != "" {
		needs.ref(getSecret(px.HTTP.CredentialSecretRef), p.Child("http", "credentialSecretRef"))
	}
	if px.HTTPS != nil && px.HTTPS.CredentialSecretRef != "" {
		needs.ref(getSecret(px.HTTPS.CredentialSecretRef), p.Child("https", "credentialSecretRef"))
	}
}

func tlsRights(needs Needs, t *actions.TLSConfig, p *field.Path) {
	if t != nil && t.CertificateFrom != nil && t.CertificateFrom.ConfigMapKeyRef != nil {
		needs.ref(getConfigMap(t.CertificateFrom.ConfigMapKeyRef.Name), p.Child("certificateFrom", "configMapKeyRef", "name"))
	}
}

// kubeModeRights adds the rights of the Role the runners' ServiceAccount gets: the mode's base
// rules (needed by containerMode.type) and each additional rule (needed by that rule).
//
// The server can create that Role only with rights it holds itself, as anyone can: its
// ClusterRole (charts/runnerset-apiserver/templates/rbac.yaml) grants the base rules. An
// additional rule beyond that ClusterRole passes here when the author holds it, and then makes
// runner creation fail: the Role is refused as Forbidden, which the RunnerSet's events say.
func kubeModeRights(needs Needs, cm *actions.ContainerMode, p *field.Path) {
	for _, rule := range contract.KubernetesModeRoleRules(cm.Type == actions.ContainerModeKubernetesNoVolume, nil) {
		ruleRights(needs, rule, p.Child("type"))
	}
	for i, r := range cm.KubernetesModeAdditionalRoleRules {
		rule := rbacv1.PolicyRule{Verbs: r.Verbs, APIGroups: r.APIGroups, Resources: r.Resources, ResourceNames: r.ResourceNames}
		ruleRights(needs, rule, p.Child("kubernetesModeAdditionalRoleRules").Index(i))
	}
}

// ruleRights spells a rule out into rights, one per verb, group, resource and name. A wildcard
// stays one: a SubjectAccessReview for "*" is allowed only by a rule with "*", as RBAC's
// escalation check asks.
func ruleRights(needs Needs, rule rbacv1.PolicyRule, p *field.Path) {
	names := rule.ResourceNames
	if len(names) == 0 {
		names = []string{""}
	}
	for _, g := range rule.APIGroups {
		for _, res := range rule.Resources {
			resource, sub, _ := strings.Cut(res, "/")
			for _, v := range rule.Verbs {
				for _, name := range names {
					needs.add(Right{Verb: v, Group: g, Resource: resource, Subresource: sub, Name: name}, p)
				}
			}
		}
	}
}

func podSpecRights(needs Needs, ps *corev1.PodSpec, p *field.Path) {
	for i, s := range ps.ImagePullSecrets {
		needs.ref(getSecret(s.Name), p.Child("imagePullSecrets").Index(i).Child("name"))
	}
	for i := range ps.Volumes {
		volumeRights(needs, &ps.Volumes[i], p.Child("volumes").Index(i))
	}
	for i := range ps.InitContainers {
		containerRights(needs, &ps.InitContainers[i], p.Child("initContainers").Index(i))
	}
	for i := range ps.Containers {
		containerRights(needs, &ps.Containers[i], p.Child("containers").Index(i))
	}
	for i := range ps.EphemeralContainers {
		c := corev1.Container(ps.EphemeralContainers[i].EphemeralContainerCommon)
		containerRights(needs, &c, p.Child("ephemeralContainers").Index(i))
	}
}

func containerRights(needs Needs, c *corev1.Container, p *field.Path) {
	for i, e := range c.Env {
		if e.ValueFrom == nil {
			continue
		}
		ep := p.Child("env").Index(i).Child("valueFrom")
		if r := e.ValueFrom.SecretKeyRef; r != nil {
			needs.ref(getSecret(r.Name), ep.Child("secretKeyRef", "name"))
		}
		if r := e.ValueFrom.ConfigMapKeyRef; r != nil {
			needs.ref(getConfigMap(r.Name), ep.Child("configMapKeyRef", "name"))
		}
	}
	for i, e := range c.EnvFrom {
		ep := p.Child("envFrom").Index(i)
		if e.SecretRef != nil {
			needs.ref(getSecret(e.SecretRef.Name), ep.Child("secretRef", "name"))
		}
		if e.ConfigMapRef != nil {
			needs.ref(getConfigMap(e.ConfigMapRef.Name), ep.Child("configMapRef", "name"))
		}
	}
}

// volumeRights covers every volume source that reads a Secret, a ConfigMap or a claim of the
// namespace, including the Secrets volume plugins use for their own credentials.
func volumeRights(needs Needs, v *corev1.Volume, p *field.Path) {
	secretRef := func(ref *corev1.LocalObjectReference, child ...string) {
		if ref != nil {
			needs.ref(getSecret(ref.Name), p.Child(child[0], child[1:]...))
		}
	}
	switch s := v.VolumeSource; {
	case s.Secret != nil:
		needs.ref(getSecret(s.Secret.SecretName), p.Child("secret", "secretName"))
	case s.ConfigMap != nil:
		needs.ref(getConfigMap(s.ConfigMap.Name), p.Child("configMap", "name"))
	case s.PersistentVolumeClaim != nil:
		needs.ref(Right{Verb: "get", Resource: "persistentvolumeclaims", Name: s.PersistentVolumeClaim.ClaimName}, p.Child("persistentVolumeClaim", "claimName"))
	case s.Projected != nil:
		for i, src := range s.Projected.Sources {
			sp := p.Child("projected", "sources").Index(i)
			if src.Secret != nil {
				needs.ref(getSecret(src.Secret.Name), sp.Child("secret", "name"))
			}
			if src.ConfigMap != nil {
				needs.ref(getConfigMap(src.ConfigMap.Name), sp.Child("configMap", "name"))
			}
		}
	case s.CSI != nil:
		secretRef(s.CSI.NodePublishSecretRef, "csi", "nodePublishSecretRef")
	case s.AzureFile != nil:
		needs.ref(getSecret(s.AzureFile.SecretName), p.Child("azureFile", "secretName"))
	case s.CephFS != nil:
		secretRef(s.CephFS.SecretRef, "cephfs", "secretRef")
	case s.RBD != nil:
		secretRef(s.RBD.SecretRef, "rbd", "secretRef")
	case s.FlexVolume != nil:
		secretRef(s.FlexVolume.SecretRef, "flexVolume", "secretRef")
	case s.ISCSI != nil:
		secretRef(s.ISCSI.SecretRef, "iscsi", "secretRef")
	case s.ScaleIO != nil:
		secretRef(s.ScaleIO.SecretRef, "scaleIO", "secretRef")
	case s.StorageOS != nil:
		secretRef(s.StorageOS.SecretRef, "storageos", "secretRef")
	}
}
