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
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	testingclock "k8s.io/utils/clock/testing"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/contract"
	"actions.dev/runnerset-apiserver/pkg/github/actions"
)

// TestJobAnnotationsProtectBusyRunners: a started job marks its runner's pod as not to be
// evicted by node autoscalers, a completed one frees it again, a template's own value is never
// overwritten, and with protection off the server writes neither.
func TestJobAnnotationsProtectBusyRunners(t *testing.T) {
	started := actions.JobMessage{MessageType: actions.JobMessageStarted, RunnerName: "r-1", RunnerRequestID: 7, OwnerName: "acme", RepositoryName: "app"}
	completed := actions.JobMessage{MessageType: actions.JobMessageCompleted, RunnerName: "r-1", RunnerRequestID: 7, Result: "succeeded"}
	userSet := &v1alpha1.RunnerSet{}
	userSet.Spec.Template.Annotations = map[string]string{contract.AnnotationSafeToEvict: "true"}
	absent := "(absent)"
	for name, tc := range map[string]struct {
		protect                bool
		rs                     *v1alpha1.RunnerSet
		job                    actions.JobMessage
		safeToEvict, doNotDisr string
	}{
		"busy":                          {true, &v1alpha1.RunnerSet{}, started, "false", "true"},
		"done":                          {true, &v1alpha1.RunnerSet{}, completed, "true", "false"},
		"the template's value wins":     {true, userSet, started, absent, "true"},
		"protection off: nothing":       {false, &v1alpha1.RunnerSet{}, started, absent, absent},
		"protection off, done: nothing": {false, &v1alpha1.RunnerSet{}, completed, absent, absent},
	} {
		t.Run(name, func(t *testing.T) {
			r := &Reconciler{cfg: Config{ProtectBusy: tc.protect, Clock: testingclock.NewFakeClock(time.Unix(0, 0))}}
			got := r.jobAnnotations(tc.rs, tc.job)
			value := func(k string) string {
				if v, ok := got[k]; ok {
					return v
				}
				return absent
			}
			assert.Equal(t, tc.safeToEvict, value(contract.AnnotationSafeToEvict))
			assert.Equal(t, tc.doNotDisr, value(contract.AnnotationDoNotDisrupt))
			if tc.job.MessageType == actions.JobMessageStarted {
				assert.Equal(t, "7", got[v1alpha1.AnnotationJobRequestID], "the job is recorded too")
			} else {
				assert.Equal(t, "succeeded", got[v1alpha1.AnnotationJobResult])
			}
		})
	}
}
