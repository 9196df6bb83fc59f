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
// Package validation checks RunnerSets before they are stored.
package validation

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"actions.dev/runnerset-apiserver/pkg/apis/actions"
	"actions.dev/runnerset-apiserver/pkg/configurl"
	"actions.dev/runnerset-apiserver/pkg/contract"
)

// MaxNameLength keeps a RunnerSet's name usable as a label value and as the prefix of its runner
// pods' names (name + "-" + 5 random characters must stay a valid DNS label).
const MaxNameLength = 57

// scaleSetNameRE is what GitHub accepts as a runner scale set name, which is also a runs-on label.
var scaleSetNameRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$`)

// ValidateRunnerSetName checks a RunnerSet's name.
func ValidateRunnerSetName(name string, prefix bool) []string {
	errs := apimachineryvalidation.NameIsDNS1035Label(name, prefix)
	if !prefix && len(name) > MaxNameLength {
		errs = append(errs, fmt.Sprintf("must be no more than %d characters", MaxNameLength))
	}
	return errs
}

// ValidateRunnerSet checks a new RunnerSet.
func ValidateRunnerSet(rs *actions.RunnerSet) field.ErrorList {
	allErrs := apimachineryvalidation.ValidateObjectMeta(&rs.ObjectMeta, true, ValidateRunnerSetName, field.NewPath("metadata"))
	allErrs = append(allErrs, ValidateRunnerSetSpec(&rs.Spec, rs.Name, field.NewPath("spec"))...)
	return allErrs
}

// ValidateStoredRunnerSet checks an object read back from storage: everything ValidateRunnerSet
// and ValidateRunnerSetStatus check, except the rules added after objects may have been stored
// without them, which would otherwise hide those objects (Kubernetes ratchets stored objects the
// same way): the template labels the server reserves on runner pods, whose values it overrides
// anyway.
func ValidateStoredRunnerSet(rs *actions.RunnerSet) field.ErrorList {
	var allErrs field.ErrorList
	for _, e := range ValidateRunnerSet(rs) {
		if e.Type == field.ErrorTypeForbidden && strings.HasPrefix(e.Field, "spec.template.metadata.labels[") {
			continue
		}
		allErrs = append(allErrs, e)
	}
	return append(allErrs, ValidateRunnerSetStatus(&rs.Status, field.NewPath("status"))...)
}

// ValidateRunnerSetUpdate checks an update of a RunnerSet's spec and metadata.
func ValidateRunnerSetUpdate(rs, old *actions.RunnerSet) field.ErrorList {
	allErrs := apimachineryvalidation.ValidateObjectMetaUpdate(&rs.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	allErrs = append(allErrs, ValidateRunnerSetSpec(&rs.Spec, rs.Name, field.NewPath("spec"))...)
	return allErrs
}

// ValidateRunnerSetStatusUpdate checks an update of the status subresource.
func ValidateRunnerSetStatusUpdate(rs, old *actions.RunnerSet) field.ErrorList {
	allErrs := apimachineryvalidation.ValidateObjectMetaUpdate(&rs.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	return append(allErrs, ValidateRunnerSetStatus(&rs.Status, field.NewPath("status"))...)
}

// ValidateRunnerSetStatus checks a status on its own: no count is negative.
func ValidateRunnerSetStatus(st *actions.RunnerSetStatus, p *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	for name, v := range map[string]int32{
		"desiredRunners": st.DesiredRunners, "currentRunners": st.CurrentRunners, "pendingRunners": st.PendingRunners,
		"idleRunners": st.IdleRunners, "busyRunners": st.BusyRunners, "failedRunners": st.FailedRunners,
		"availableJobs": st.AvailableJobs, "assignedJobs": st.AssignedJobs, "runningJobs": st.RunningJobs,
	} {
		allErrs = append(allErrs, apimachineryvalidation.ValidateNonnegativeField(int64(v), p.Child(name))...)
	}
	allErrs = append(allErrs, apimachineryvalidation.ValidateNonnegativeField(st.ObservedGeneration, p.Child("observedGeneration"))...)
	return allErrs
}

// ValidateRunnerSetSpec checks a spec; name is the object's name, the default scale set name.
func ValidateRunnerSetSpec(spec *actions.RunnerSetSpec, name string, p *field.Path) field.ErrorList {
	var allErrs field.ErrorList

	if spec.GitHubConfigURL == "" {
		allErrs = append(allErrs, field.Required(p.Child("githubConfigUrl"), "the repository, organization or enterprise URL runners register to, e.g. https://github.com/my-org"))
	} else if _, err := configurl.Parse(spec.GitHubConfigURL); err != nil {
		allErrs = append(allErrs, field.Invalid(p.Child("githubConfigUrl"), spec.GitHubConfigURL, err.Error()))
	}

	if spec.GitHubConfigSecret == "" {
		allErrs = append(allErrs, field.Required(p.Child("githubConfigSecret"), "the name of a Secret in this namespace with github_token, or github_app_id, github_app_installation_id and github_app_private_key"))
	} else {
		for _, msg := range apimachineryvalidation.NameIsDNSSubdomain(spec.GitHubConfigSecret, false) {
			allErrs = append(allErrs, field.Invalid(p.Child("githubConfigSecret"), spec.GitHubConfigSecret, msg))
		}
	}

	allErrs = append(allErrs, validateScaleSetName(spec.RunnerScaleSetName, name, p.Child("runnerScaleSetName"))...)

	seen := map[string]bool{}
	for i, l := range spec.Labels {
		lp := p.Child("labels").Index(i)
		switch {
		case l == "":
			allErrs = append(allErrs, field.Invalid(lp, l, "must not be empty"))
		case len(l) > actions.MaxLabelLength:
			allErrs = append(allErrs, field.TooLong(lp, "", actions.MaxLabelLength))
		case seen[l]:
			allErrs = append(allErrs, field.Duplicate(lp, l))
		}
		seen[l] = true
	}

	if spec.MinRunners != nil {
		allErrs = append(allErrs, apimachineryvalidation.ValidateNonnegativeField(int64(*spec.MinRunners), p.Child("minRunners"))...)
	}
	if spec.MaxRunners != nil {
		allErrs = append(allErrs, apimachineryvalidation.ValidateNonnegativeField(int64(*spec.MaxRunners), p.Child("maxRunners"))...)
		if spec.MinRunners != nil && *spec.MaxRunners < *spec.MinRunners {
			allErrs = append(allErrs, field.Invalid(p.Child("maxRunners"), *spec.MaxRunners,
				fmt.Sprintf("must be greater than or equal to minRunners (%d)", *spec.MinRunners)))
		}
	}

	allErrs = append(allErrs, validateContainerMode(spec.ContainerMode, hasVolume(&spec.Template, "work"), p.Child("containerMode"))...)
	allErrs = append(allErrs, validateTemplate(spec, p.Child("template"))...)
	allErrs = append(allErrs, validateProxy(spec.Proxy, p.Child("proxy"))...)
	allErrs = append(allErrs, validateTLS(spec.GitHubServerTLS, p.Child("githubServerTLS"))...)
	if n := spec.LostJobReruns; n != nil && (*n < 0 || *n > MaxLostJobReruns) {
		allErrs = append(allErrs, field.Invalid(p.Child("lostJobReruns"), *n,
			fmt.Sprintf("must be between 0 (no re-runs) and %d", MaxLostJobReruns)))
	}
	allErrs = append(allErrs, validateSchedules(spec.Schedules, p.Child("schedules"))...)
	allErrs = append(allErrs, validateScaleUp(spec.ScaleUp, p.Child("scaleUp"))...)
	if l := spec.MaxRunnerLifetime; l != nil && l.Duration < MinRunnerLifetime {
		allErrs = append(allErrs, field.Invalid(p.Child("maxRunnerLifetime"), l.Duration.String(),
			"must be at least "+MinRunnerLifetime.String()+": a runner needs time to register and take a job"))
	}
	return allErrs
}

// MinRunnerLifetime is the shortest maxRunnerLifetime.
const MinRunnerLifetime = time.Minute

// MaxLostJobReruns bounds lostJobReruns: a job the cluster kills that often is not healed by
// more attempts.
const MaxLostJobReruns = 10

func validateScaleSetName(scaleSetName, objectName string, p *field.Path) field.ErrorList {
	effective, what := scaleSetName, "must"
	if effective == "" {
		// Defaults to the object's name: say so when that default is what fails.
		effective, what = objectName, "defaults to metadata.name, which must"
	}
	if effective == "" {
		return nil // generateName: the generated name is checked in metadata
	}
	var allErrs field.ErrorList
	if len(effective) > actions.MaxScaleSetNameLength {
		allErrs = append(allErrs, field.Invalid(p, effective, fmt.Sprintf("%s be no more than %d characters", what, actions.MaxScaleSetNameLength)))
	}
	if !scaleSetNameRE.MatchString(effective) {
		allErrs = append(allErrs, field.Invalid(p, effective, what+" consist of letters, digits, '.', '-' and '_', and start and end with a letter or digit"))
	}
	return allErrs
}

// hasVolume reports whether the template declares a volume of that name.
func hasVolume(t *corev1.PodTemplateSpec, name string) bool {
	for _, v := range t.Spec.Volumes {
		if v.Name == name {
			return true
		}
	}
	return false
}

// validateContainerMode checks the mode. Kubernetes mode needs a work volume that job pods share:
// either kubernetesModeWorkVolumeClaim or a template volume named "work" (as ARC's chart values
// for this mode often declare it). kubernetes-novolume copies the workspace and needs none.
func validateContainerMode(cm *actions.ContainerMode, templateHasWork bool, p *field.Path) field.ErrorList {
	if cm == nil {
		return nil
	}
	var allErrs field.ErrorList
	claimPath := p.Child("kubernetesModeWorkVolumeClaim")
	switch cm.Type {
	case actions.ContainerModeDefault, actions.ContainerModeDind:
		if cm.KubernetesModeWorkVolumeClaim != nil {
			allErrs = append(allErrs, field.Forbidden(claimPath, "only allowed with type \"kubernetes\""))
		}
	case actions.ContainerModeKubernetesNoVolume:
		if cm.KubernetesModeWorkVolumeClaim != nil {
			allErrs = append(allErrs, field.Forbidden(claimPath, "only allowed with type \"kubernetes\": type \"kubernetes-novolume\" uses no work volume"))
		}
	case actions.ContainerModeKubernetes:
		allErrs = append(allErrs, validateWorkVolume(cm.KubernetesModeWorkVolumeClaim, templateHasWork, claimPath)...)
	default:
		allErrs = append(allErrs, field.NotSupported(p.Child("type"), cm.Type, []actions.ContainerModeType{
			actions.ContainerModeDefault, actions.ContainerModeDind, actions.ContainerModeKubernetes, actions.ContainerModeKubernetesNoVolume}))
	}
	return append(allErrs, validateAdditionalRoleRules(cm, p.Child("kubernetesModeAdditionalRoleRules"))...)
}

func validateWorkVolume(c *corev1.PersistentVolumeClaimSpec, templateHasWork bool, p *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	switch {
	case c == nil && !templateHasWork:
		allErrs = append(allErrs, field.Required(p,
			"kubernetes mode needs a work volume that job pods share with the runner: set this claim, or declare a volume named \"work\" in the template"))
	case c != nil && templateHasWork:
		allErrs = append(allErrs, field.Forbidden(p, "the template already declares a volume named \"work\": use one or the other"))
	case c != nil:
		if len(c.AccessModes) == 0 {
			allErrs = append(allErrs, field.Required(p.Child("accessModes"), "at least one access mode, e.g. ReadWriteOnce"))
		}
		if _, ok := c.Resources.Requests["storage"]; !ok {
			allErrs = append(allErrs, field.Required(p.Child("resources", "requests", "storage"), "the size of the work volume"))
		}
	}
	return allErrs
}

// MaxAdditionalRoleRights bounds the rights the additional Role rules spell out (verbs x API
// groups x resources x names): each is checked against the author's own rights, one
// SubjectAccessReview apiece.
const MaxAdditionalRoleRights = 256

// validateAdditionalRoleRules checks the extra rules of the kubernetes modes' Role as Kubernetes
// checks a Role's rules, and bounds how many rights they spell out.
func validateAdditionalRoleRules(cm *actions.ContainerMode, p *field.Path) field.ErrorList {
	rules := cm.KubernetesModeAdditionalRoleRules
	if len(rules) == 0 {
		return nil
	}
	if cm.Type != actions.ContainerModeKubernetes && cm.Type != actions.ContainerModeKubernetesNoVolume {
		return field.ErrorList{field.Forbidden(p, "only allowed with type \"kubernetes\" or \"kubernetes-novolume\", whose runners get a Role")}
	}
	var allErrs field.ErrorList
	rights := 0
	for i, r := range rules {
		rp := p.Index(i)
		if len(r.Verbs) == 0 {
			allErrs = append(allErrs, field.Required(rp.Child("verbs"), "at least one verb, e.g. get"))
		}
		if len(r.APIGroups) == 0 {
			allErrs = append(allErrs, field.Required(rp.Child("apiGroups"), "at least one API group; \"\" is the core group"))
		}
		if len(r.Resources) == 0 {
			allErrs = append(allErrs, field.Required(rp.Child("resources"), "at least one resource, e.g. pods"))
		}
		n := 1 // saturates, so that no count overflows
		for _, l := range []int{len(r.Verbs), len(r.APIGroups), len(r.Resources), max(1, len(r.ResourceNames))} {
			n = min(n*l, MaxAdditionalRoleRights+1)
		}
		rights = min(rights+n, MaxAdditionalRoleRights+1)
	}
	if rights > MaxAdditionalRoleRights {
		allErrs = append(allErrs, field.Forbidden(p, fmt.Sprintf(
			"the rules spell out more than %d rights (verbs x apiGroups x resources x resourceNames), each checked against the author's: use fewer or wildcards", MaxAdditionalRoleRights)))
	}
	return allErrs
}

func validateTemplate(spec *actions.RunnerSetSpec, p *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	tmpl := &spec.Template
	found := false
	for _, c := range tmpl.Spec.Containers {
		if c.Name == actions.RunnerContainerName {
			found = true
			if c.Image == "" {
				allErrs = append(allErrs, field.Required(p.Child("spec", "containers").Key(c.Name).Child("image"), "the runner image, e.g. ghcr.io/actions/actions-runner:latest"))
			}
		}
	}
	if !found {
		allErrs = append(allErrs, field.Required(p.Child("spec", "containers"), "a container named \"runner\" that runs the runner"))
	}
	names := map[string]bool{}
	for i, c := range tmpl.Spec.Containers {
		cp := p.Child("spec", "containers").Index(i)
		if c.Name == "" {
			allErrs = append(allErrs, field.Required(cp.Child("name"), ""))
			continue
		}
		for _, msg := range apimachineryvalidation.NameIsDNSLabel(c.Name, false) {
			allErrs = append(allErrs, field.Invalid(cp.Child("name"), c.Name, msg))
		}
		if names[c.Name] {
			allErrs = append(allErrs, field.Duplicate(cp.Child("name"), c.Name))
		}
		names[c.Name] = true
	}
	if rp := tmpl.Spec.RestartPolicy; rp != "" && rp != "Never" {
		allErrs = append(allErrs, field.NotSupported(p.Child("spec", "restartPolicy"), rp, []string{"Never"}))
	}
	if spec.ContainerMode != nil && spec.ContainerMode.Type == actions.ContainerModeDind {
		allErrs = append(allErrs, validateDindContainer(&tmpl.Spec, p.Child("spec"))...)
	}
	allErrs = append(allErrs, apimachineryvalidation.ValidateAnnotations(tmpl.Annotations, p.Child("metadata", "annotations"))...)
	allErrs = append(allErrs, validateLabels(tmpl.Labels, p.Child("metadata", "labels"))...)
	allErrs = append(allErrs, validateReservedPodLabels(tmpl.Labels, p.Child("metadata", "labels"))...)
	return allErrs
}

// validateDindContainer refuses two containers named dind: in dind mode the template's one
// replaces the server's sidecar, whether the template lists it as a container or an init
// container, so there must be one only.
func validateDindContainer(spec *corev1.PodSpec, p *field.Path) field.ErrorList {
	inContainers := false
	for _, c := range spec.Containers {
		inContainers = inContainers || c.Name == contract.DindContainerName
	}
	for i, c := range spec.InitContainers {
		if inContainers && c.Name == contract.DindContainerName {
			return field.ErrorList{field.Duplicate(p.Child("initContainers").Index(i).Child("name"), c.Name)}
		}
	}
	return nil
}

func validateProxy(px *actions.ProxyConfig, p *field.Path) field.ErrorList {
	if px == nil {
		return nil
	}
	var allErrs field.ErrorList
	for name, s := range map[string]*actions.ProxyServerConfig{"http": px.HTTP, "https": px.HTTPS} {
		if s == nil {
			continue
		}
		if u, err := parseHTTPURL(s.URL); err != nil {
			allErrs = append(allErrs, field.Invalid(p.Child(name, "url"), s.URL, err.Error()))
		} else if u.User != nil {
			allErrs = append(allErrs, field.Invalid(p.Child(name, "url"), "<redacted>", "must not carry credentials: put them in the Secret named by credentialSecretRef"))
		}
		if s.CredentialSecretRef != "" {
			for _, msg := range apimachineryvalidation.NameIsDNSSubdomain(s.CredentialSecretRef, false) {
				allErrs = append(allErrs, field.Invalid(p.Child(name, "credentialSecretRef"), s.CredentialSecretRef, msg))
			}
		}
	}
	return allErrs
}

func validateTLS(t *actions.TLSConfig, p *field.Path) field.ErrorList {
	if t == nil {
		return nil
	}
	var allErrs field.ErrorList
	if t.CertificateFrom == nil || t.CertificateFrom.ConfigMapKeyRef == nil {
		allErrs = append(allErrs, field.Required(p.Child("certificateFrom", "configMapKeyRef"), "the ConfigMap key holding the CA bundle"))
	} else {
		ref := t.CertificateFrom.ConfigMapKeyRef
		if ref.Name == "" {
			allErrs = append(allErrs, field.Required(p.Child("certificateFrom", "configMapKeyRef", "name"), ""))
		}
		if ref.Key == "" {
			allErrs = append(allErrs, field.Required(p.Child("certificateFrom", "configMapKeyRef", "key"), ""))
		}
	}
	if t.RunnerMountPath != "" && t.RunnerMountPath[0] != '/' {
		allErrs = append(allErrs, field.Invalid(p.Child("runnerMountPath"), t.RunnerMountPath, "must be an absolute path"))
	}
	return allErrs
}
