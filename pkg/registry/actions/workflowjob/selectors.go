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
	"fmt"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"

	"actions.dev/runnerset-apiserver/pkg/apis/actions"
	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/contract"
)

// selectableFields are the fields a field selector may name: the identity, and the two a
// person narrows a history down by.
var selectableFields = []string{"metadata.name", "metadata.namespace", "status.runnerSet", "status.phase"}

// ConvertFieldLabel is WorkflowJob's field label conversion: the selectable fields are the same
// in every version. The generic server calls it before the storage sees a selector.
func ConvertFieldLabel(label, value string) (string, string, error) {
	if !slices.Contains(selectableFields, label) {
		return "", "", unsupportedField(label)
	}
	return label, value, nil
}

func unsupportedField(label string) error {
	return fmt.Errorf("field label not supported: %s (supported: %s)", label, strings.Join(selectableFields, ", "))
}

// fieldsOf are a job's selectable fields.
func fieldsOf(j *actions.WorkflowJob) fields.Set {
	return fields.Set{
		"metadata.name":      j.Name,
		"metadata.namespace": j.Namespace,
		"status.runnerSet":   j.Status.RunnerSet,
		"status.phase":       string(j.Status.Phase),
	}
}

// selector is what a list or watch selects: jobs, by their labels and fields, and the chunks
// those jobs can be in.
type selector struct {
	labels labels.Selector
	fields fields.Selector
	// runnerSet is set when only one RunnerSet's jobs can match: only its chunks are read.
	runnerSet string
}

func newSelector(opts *metainternalversion.ListOptions) (selector, error) {
	s := selector{labels: labels.Everything(), fields: fields.Everything()}
	if opts != nil && opts.LabelSelector != nil {
		s.labels = opts.LabelSelector
	}
	if opts != nil && opts.FieldSelector != nil {
		s.fields = opts.FieldSelector
	}
	for _, r := range s.fields.Requirements() {
		if !slices.Contains(selectableFields, r.Field) {
			return s, apierrors.NewBadRequest(unsupportedField(r.Field).Error())
		}
	}
	s.runnerSet = s.onlyRunnerSet()
	return s, nil
}

// onlyRunnerSet is the RunnerSet the selector requires, if any and if it can be a label value
// (a chunk's label holds it).
func (s selector) onlyRunnerSet() string {
	rs, ok := s.fields.RequiresExactMatch("status.runnerSet")
	if !ok {
		rs, ok = s.labels.RequiresExactMatch(v1alpha1.LabelRunnerSet)
	}
	if !ok || rs == "" || len(validation.IsValidLabelValue(rs)) > 0 {
		return ""
	}
	return rs
}

func (s selector) matches(j *actions.WorkflowJob) bool {
	return s.labels.Matches(labels.Set(j.Labels)) && s.fields.Matches(fieldsOf(j))
}

// chunks is the label selector of the job history chunks the selected jobs can be in.
func (s selector) chunks() string {
	if s.runnerSet != "" {
		return chunksOf(s.runnerSet)
	}
	return contract.LabelJobHistory
}

// chunksOf selects the job history chunks of one RunnerSet.
func chunksOf(runnerSet string) string {
	return labels.Set{contract.LabelJobHistory: runnerSet}.String()
}
