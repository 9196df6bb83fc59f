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

// Package workflowjob serves workflowjobs.actions.dev: a read-only view of the job history the
// scaler keeps in ConfigMaps of each RunnerSet's namespace (see contract.LabelJobHistory), one
// object per job a RunnerSet handled. It has no cache: every read goes to the kube-apiserver.
package workflowjob

import (
	"cmp"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"

	"actions.dev/runnerset-apiserver/pkg/apis/actions"
	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/contract"
)

// isChunk tells a job history chunk from another ConfigMap with the label: the scaler reads and
// prunes only chunks named after their RunnerSet, and so the view shows only those.
func isChunk(cm *corev1.ConfigMap) bool {
	seq := contract.JobHistorySeq(cm.Name)
	return seq >= 0 && cm.Name == contract.JobHistoryName(cm.Labels[contract.LabelJobHistory], seq)
}

// decodeChunk reads the jobs of a chunk, by name. A value that does not decode is left out and
// logged: one bad entry must not hide the rest of the history.
func decodeChunk(logger klog.Logger, cm *corev1.ConfigMap) map[string]*actions.WorkflowJob {
	if !isChunk(cm) {
		return nil
	}
	jobs, errs := contract.DecodeJobs(cm)
	for _, err := range errs {
		logger.Error(err, "Skipping a job history entry that does not decode", "configMap", klog.KObj(cm))
	}
	out := make(map[string]*actions.WorkflowJob, len(jobs))
	for _, j := range jobs {
		job, err := toInternal(j)
		if err != nil {
			logger.Error(err, "Skipping a job history entry that does not convert", "configMap", klog.KObj(cm), "job", j.Name)
			continue
		}
		out[j.Name] = job
	}
	return out
}

func toInternal(in *v1alpha1.WorkflowJob) (*actions.WorkflowJob, error) {
	out := &actions.WorkflowJob{}
	if err := v1alpha1.Convert_v1alpha1_WorkflowJob_To_actions_WorkflowJob(in, out, nil); err != nil {
		return nil, err
	}
	return out, nil
}

// pick returns the jobs of the chunks that sel selects, in list order: by namespace, then
// oldest first, then by name.
func pick(sel selector, chunks []map[string]*actions.WorkflowJob) []*actions.WorkflowJob {
	var out []*actions.WorkflowJob
	for _, jobs := range chunks {
		for _, j := range jobs {
			if sel.matches(j) {
				out = append(out, j)
			}
		}
	}
	slices.SortFunc(out, func(a, b *actions.WorkflowJob) int {
		return cmp.Or(
			strings.Compare(a.Namespace, b.Namespace),
			a.CreationTimestamp.Compare(b.CreationTimestamp.Time),
			strings.Compare(a.Name, b.Name),
		)
	})
	return out
}

// chunkKey identifies a chunk within a watch across namespaces.
func chunkKey(cm *corev1.ConfigMap) string {
	return cm.Namespace + "/" + cm.Name
}
