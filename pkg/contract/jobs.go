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
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/google/uuid"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
)

// The job history of a RunnerSet is kept in ConfigMaps of its namespace, each holding up to
// JobsPerChunk jobs: one data key per WorkflowJob (its name), whose value is the job's status as
// JSON. Chunks are named JobHistoryPrefix + RunnerSet + "." + sequence number, carry
// LabelJobHistory set to the RunnerSet's name and are owned by the RunnerSet's ConfigMap. The
// scaler (its leader) is their one writer; every replica's registry reads them.
const (
	// LabelJobHistory marks a job history chunk; its value is the RunnerSet's name.
	LabelJobHistory = "actions.dev/workflowjobs"
	// JobHistoryPrefix starts every chunk's name.
	JobHistoryPrefix = "workflowjobs."
	// JobsPerChunk bounds the jobs of one chunk: a write rewrites the whole chunk, so a small
	// one keeps the bytes written per job low, and far from the 1 MiB object limit.
	JobsPerChunk = 64
)

// JobHistoryName names chunk seq of a RunnerSet's job history.
func JobHistoryName(runnerSet string, seq int) string {
	return JobHistoryPrefix + runnerSet + "." + strconv.Itoa(seq)
}

// JobHistorySeq reads the sequence number of a chunk's name, -1 if it is none.
func JobHistorySeq(name string) int {
	i := strings.LastIndexByte(name, '.')
	if !strings.HasPrefix(name, JobHistoryPrefix) || i < len(JobHistoryPrefix) {
		return -1
	}
	n, err := strconv.Atoi(name[i+1:])
	if err != nil || n < 0 {
		return -1
	}
	return n
}

// WorkflowJobName names the WorkflowJob of a RunnerSet's job request.
func WorkflowJobName(runnerSet string, requestID int64) string {
	return runnerSet + "-" + strconv.FormatInt(requestID, 10)
}

// EncodeJob is a job's value in a chunk.
func EncodeJob(st *v1alpha1.WorkflowJobStatus) (string, error) {
	data, err := json.Marshal(st)
	return string(data), err
}

// DecodeJob reads one value of a chunk into a WorkflowJob named key. Its resourceVersion is the
// chunk's (a job changes only with its chunk), its uid stable across chunk rewrites, and its
// creation time when the server first recorded it.
func DecodeJob(cm *corev1.ConfigMap, key, value string) (*v1alpha1.WorkflowJob, error) {
	var st v1alpha1.WorkflowJobStatus
	if err := json.Unmarshal([]byte(value), &st); err != nil {
		return nil, fmt.Errorf("job history %s/%s, job %s: %w", cm.Namespace, cm.Name, key, err)
	}
	j := &v1alpha1.WorkflowJob{
		TypeMeta: metav1.TypeMeta{APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: "WorkflowJob"},
		ObjectMeta: metav1.ObjectMeta{
			Name: key, Namespace: cm.Namespace, ResourceVersion: cm.ResourceVersion,
			UID:    types.UID(uuid.NewSHA1(uuid.NameSpaceOID, []byte(cm.Namespace+"/"+key)).String()),
			Labels: map[string]string{v1alpha1.LabelRunnerSet: st.RunnerSet},
		},
		Status: st,
	}
	if len(st.Transitions) > 0 {
		j.CreationTimestamp = st.Transitions[0].Time
	} else {
		j.CreationTimestamp = cm.CreationTimestamp
	}
	return j, nil
}

// DecodeJobs reads every job of a chunk, in name order; values that do not decode are returned
// as errors beside the others.
func DecodeJobs(cm *corev1.ConfigMap) ([]*v1alpha1.WorkflowJob, []error) {
	keys := make([]string, 0, len(cm.Data))
	for k := range cm.Data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []*v1alpha1.WorkflowJob
	var errs []error
	for _, k := range keys {
		j, err := DecodeJob(cm, k, cm.Data[k])
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, j)
	}
	return out, errs
}

// JobEnded tells the phases a job does not leave (Lost does: GitHub concludes it later).
func JobEnded(p v1alpha1.WorkflowJobPhase) bool {
	switch p {
	case v1alpha1.JobSucceeded, v1alpha1.JobFailed, v1alpha1.JobCanceled, v1alpha1.JobRerun:
		return true
	}
	return false
}
