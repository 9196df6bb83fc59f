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

package contract

import (
	"net/url"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// Labels the server puts on every object of a runner (its pod and its Secret).
const (
	// LabelRunnerSet is the RunnerSet's name; the same key as v1alpha1.LabelRunnerSet. Runner
	// pods are selected by it (the scale subresource, the runners resource, the scaler).
	LabelRunnerSet = "actions.dev/runnerset"
	// LabelComponent is "runner", the value ARC gives its runner pods too.
	LabelComponent = "app.kubernetes.io/component"
	// LabelManagedBy is "runnerset-apiserver".
	LabelManagedBy = "app.kubernetes.io/managed-by"
)

// Labels and annotations ARC 0.14 puts on its runner pods (its controllers/actions.github.com
// constants.go and resourcebuilder.go), which dashboards, policies and scripts written for ARC
// select on. Runner pods carry them with ARC's values, beside ours.
const (
	// LabelScaleSetName is the RunnerSet's name (ARC: the AutoscalingRunnerSet's).
	LabelScaleSetName = "actions.github.com/scale-set-name"
	// LabelScaleSetNamespace is the RunnerSet's namespace.
	LabelScaleSetNamespace = "actions.github.com/scale-set-namespace"
	// LabelEnterprise, LabelOrganization and LabelRepository come from the config URL, each
	// only when the URL names one (a repository URL names its organization too).
	LabelEnterprise   = "actions.github.com/enterprise"
	LabelOrganization = "actions.github.com/organization"
	LabelRepository   = "actions.github.com/repository"
	// LabelEphemeralRunner is "True" on every runner pod, whatever its scale set.
	LabelEphemeralRunner = "actions-ephemeral-runner"

	// AnnotationRunnerGroupName is the runner group the scale set joins ("Default" for the
	// default group, as GitHub names it).
	AnnotationRunnerGroupName = "actions.github.com/runner-group-name"
	// AnnotationRunnerScaleSetName is the scale set's name on GitHub, the runs-on label.
	AnnotationRunnerScaleSetName = "actions.github.com/runner-scale-set-name"
)

// defaultRunnerGroup is how GitHub names every owner's default runner group.
const defaultRunnerGroup = "Default"

// reservedPodLabels are the labels the server sets on runner pods, with why a template may not
// set them: a template's label would otherwise be overwritten without a word.
var reservedPodLabels = map[string]string{
	LabelRunnerSet:         "the server selects a RunnerSet's runner pods by it",
	LabelComponent:         "the server marks its runner pods with it",
	LabelManagedBy:         "the server marks its runner pods with it",
	LabelScaleSetName:      "set to the RunnerSet's name, as ARC does",
	LabelScaleSetNamespace: "set to the RunnerSet's namespace, as ARC does",
	LabelEnterprise:        "set from githubConfigUrl, as ARC does",
	LabelOrganization:      "set from githubConfigUrl, as ARC does",
	LabelRepository:        "set from githubConfigUrl, as ARC does",
	LabelEphemeralRunner:   "set on every runner pod, as ARC does",
}

// ReservedPodLabel tells whether the server sets the label key on runner pods, and why.
func ReservedPodLabel(key string) (why string, reserved bool) {
	why, reserved = reservedPodLabels[key]
	return why, reserved
}

// ScaleSet is what a runner pod's labels and annotations are computed from.
type ScaleSet struct {
	// Name and Namespace are the RunnerSet's.
	Name, Namespace string
	// ConfigURL is spec.githubConfigUrl.
	ConfigURL string
	// ScaleSetName is spec.runnerScaleSetName; empty means Name.
	ScaleSetName string
	// RunnerGroup is spec.runnerGroup; empty means the default group.
	RunnerGroup string
}

// RunnerLabels are the labels of every object of a runner of the RunnerSet.
func RunnerLabels(runnerSet string) map[string]string {
	return map[string]string{
		LabelRunnerSet: runnerSet,
		LabelComponent: "runner",
		LabelManagedBy: "runnerset-apiserver",
	}
}

// PodLabels are the labels of a runner pod: RunnerLabels and ARC's.
func PodLabels(s ScaleSet) map[string]string {
	labels := RunnerLabels(s.Name)
	labels[LabelScaleSetName] = s.Name
	labels[LabelScaleSetNamespace] = s.Namespace
	labels[LabelEphemeralRunner] = "True"
	for k, v := range configURLLabels(s.ConfigURL) {
		labels[k] = v
	}
	return labels
}

// PodAnnotations are ARC's annotations of a runner pod.
func PodAnnotations(s ScaleSet) map[string]string {
	name, group := s.ScaleSetName, s.RunnerGroup
	if name == "" {
		name = s.Name
	}
	if group == "" || strings.EqualFold(group, defaultRunnerGroup) {
		group = defaultRunnerGroup
	}
	return map[string]string{AnnotationRunnerScaleSetName: name, AnnotationRunnerGroupName: group}
}

// configURLLabels splits a config URL as ARC does (and as validation accepted it): one path
// segment is an organization, enterprises/NAME an enterprise, two segments a repository and its
// organization. A value that cannot be a label value even after labelValue is left out rather
// than failing the pod.
func configURLLabels(raw string) map[string]string {
	u, err := url.Parse(strings.Trim(raw, "/"))
	if err != nil {
		return nil
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	found := map[string]string{}
	switch {
	case len(parts) == 1 && parts[0] != "":
		found[LabelOrganization] = parts[0]
	case len(parts) == 2 && strings.EqualFold(parts[0], "enterprises"):
		found[LabelEnterprise] = parts[1]
	case len(parts) == 2:
		found[LabelOrganization], found[LabelRepository] = parts[0], parts[1]
	}
	labels := map[string]string{}
	for k, v := range found {
		if v, ok := labelValue(v); ok {
			labels[k] = v
		}
	}
	return labels
}

// trimmedSuffix marks a value ARC cut to fit a label.
const trimmedSuffix = "-trim"

// labelValue makes a GitHub name a label value by ARC's rule: a name longer than a label value
// keeps its first 58 characters and ends in "-trim"; a shorter one loses leading and trailing
// '-', '_' and '.' (a repository may be named ".github"). A cut name also loses leading ones,
// which ARC keeps, making a label Kubernetes refuses.
func labelValue(v string) (string, bool) {
	if len(v) > validation.LabelValueMaxLength {
		v = strings.TrimLeft(v[:validation.LabelValueMaxLength-len(trimmedSuffix)], "-_.") + trimmedSuffix
	} else {
		v = strings.Trim(v, "-_.")
	}
	return v, len(validation.IsValidLabelValue(v)) == 0
}
