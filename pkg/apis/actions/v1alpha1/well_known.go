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

package v1alpha1

// Labels and annotations the server puts on the objects it manages. They are part of the API:
// users select runner pods by them, and every server replica reads GitHub facts from them.
const (
	// LabelRunnerSet is set on runner pods, their Secrets and the backing ConfigMap to the
	// RunnerSet's name. It is the selector of the scale subresource.
	LabelRunnerSet = "actions.dev/runnerset"

	// AnnotationTemplateHash records which template a runner pod was made from, so a template
	// change replaces idle runners only.
	AnnotationTemplateHash = "actions.dev/template-hash"
	// AnnotationScaleSetID is the GitHub scale set the runner belongs to.
	AnnotationScaleSetID = "actions.dev/scale-set-id"
	// AnnotationRunnerID is the runner's id on GitHub.
	AnnotationRunnerID = "actions.dev/runner-id"
	// AnnotationRunnerOnline is "true" once GitHub reports the runner connected.
	AnnotationRunnerOnline = "actions.dev/runner-online"

	// Job annotations, set when GitHub reports the job started on this runner.
	AnnotationJobRequestID   = "actions.dev/job-request-id"
	AnnotationJobID          = "actions.dev/job-id"
	AnnotationJobRepository  = "actions.dev/job-repository"
	AnnotationJobWorkflowRef = "actions.dev/job-workflow-ref"
	AnnotationJobDisplayName = "actions.dev/job-display-name"
	AnnotationJobRunID       = "actions.dev/job-run-id"
	AnnotationJobStarted     = "actions.dev/job-started"
	AnnotationJobResult      = "actions.dev/job-result"

	// AnnotationFailures counts failed starts of a runner (on its Secret, which outlives pods).
	AnnotationFailures = "actions.dev/failures"
	// AnnotationLastFailure is when the runner's pod last failed (RFC 3339).
	AnnotationLastFailure = "actions.dev/last-failure"

	// SecretKeyJITConfig holds the encoded JIT configuration in a runner's Secret.
	SecretKeyJITConfig = "jitToken"

	// RunnerSetFinalizer lets the server drain a RunnerSet (close the session, remove runners,
	// delete the scale set on GitHub) before it goes away.
	RunnerSetFinalizer = "actions.dev/drain"

	// RunnerContainerName is the template container that runs the runner.
	RunnerContainerName = "runner"
)
