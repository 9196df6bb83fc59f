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

package simulator

import "time"

// The simulator's wire types, written from the protocol reference (actions-protocol.md §1.6,
// §2.2, §4) and not shared with the Actions client: a field name the client gets wrong must
// fail against the simulator. testdata/wire holds the payloads both sides are pinned to.

// APIVersion is the api-version every admin call of the Actions Service carries (§1.8).
const APIVersion = "6.0-preview"

// DefaultMinRunnerVersion is GitHub's floor: since 2026-09-25 it refuses runners older than
// 2.329.0. Options.MinRunnerVersion defaults to it.
const DefaultMinRunnerVersion = "2.329.0"

// MessageTypeJobMessages is the only messageType of a queue message (§4.1).
const MessageTypeJobMessages = "RunnerScaleSetJobMessages"

// Job message types, the messageType of the elements of a message's body (§4.2).
const (
	MessageJobAvailable = "JobAvailable"
	MessageJobAssigned  = "JobAssigned"
	MessageJobStarted   = "JobStarted"
	MessageJobCompleted = "JobCompleted"
)

// maxJobsPerMessage is the most job messages one queue message carries (§4.1).
const maxJobsPerMessage = 50

// Label is a scale set label.
type Label struct {
	Type string `json:"type"`
	Name string `json:"name"`
}

// RunnerSetting is the scale set's "RunnerSetting" object (capital R on the wire). ARC <= 0.13
// also sent ephemeral and isElastic; they are kept as sent.
type RunnerSetting struct {
	Ephemeral     bool `json:"ephemeral,omitempty"`
	IsElastic     bool `json:"isElastic,omitempty"`
	DisableUpdate bool `json:"disableUpdate,omitempty"`
}

// RunnerScaleSet is a scale set: the create and update bodies and every answer about one.
// Every field is optional on the wire, but Go clients always send RunnerSetting and createdOn.
type RunnerScaleSet struct {
	ID                 int           `json:"id,omitempty"`
	Name               string        `json:"name,omitempty"`
	RunnerGroupID      int           `json:"runnerGroupId,omitempty"`
	RunnerGroupName    string        `json:"runnerGroupName,omitempty"`
	Labels             []Label       `json:"labels,omitempty"`
	RunnerSetting      RunnerSetting `json:"RunnerSetting"`
	CreatedOn          time.Time     `json:"createdOn"`
	RunnerJitConfigURL string        `json:"runnerJitConfigUrl,omitempty"`
	Statistics         *Statistics   `json:"statistics,omitempty"`
}

// RunnerGroup is a runner group; size counts its scale sets.
type RunnerGroup struct {
	ID             int    `json:"id"`
	Name           string `json:"name"`
	Size           int    `json:"size"`
	IsDefaultGroup bool   `json:"isDefaultGroup"`
}

// Statistics are a scale set's counts, in sessions, messages and scale sets (§4.3).
type Statistics struct {
	TotalAvailableJobs     int `json:"totalAvailableJobs"`
	TotalAcquiredJobs      int `json:"totalAcquiredJobs"`
	TotalAssignedJobs      int `json:"totalAssignedJobs"`
	TotalRunningJobs       int `json:"totalRunningJobs"`
	TotalRegisteredRunners int `json:"totalRegisteredRunners"`
	TotalBusyRunners       int `json:"totalBusyRunners"`
	TotalIdleRunners       int `json:"totalIdleRunners"`
}

// SessionRequest is the body of a session create: the reference client sends the nil UUID as
// sessionId, ARC <= 0.13 only ownerName.
type SessionRequest struct {
	SessionID string `json:"sessionId,omitempty"`
	OwnerName string `json:"ownerName"`
}

// Session is a message session (RunnerScaleSetSession).
type Session struct {
	SessionID               string          `json:"sessionId"`
	OwnerName               string          `json:"ownerName"`
	RunnerScaleSet          *RunnerScaleSet `json:"runnerScaleSet,omitempty"`
	MessageQueueURL         string          `json:"messageQueueUrl"`
	MessageQueueAccessToken string          `json:"messageQueueAccessToken"`
	Statistics              *Statistics     `json:"statistics,omitempty"`
}

// Message is a long poll's answer; Body is a JSON array of JobMessage encoded as a string.
type Message struct {
	MessageID   int64       `json:"messageId"`
	MessageType string      `json:"messageType"`
	Body        string      `json:"body"`
	Statistics  *Statistics `json:"statistics,omitempty"`
}

// JobMessage is one element of a Message's body; acquirablejobs lists them too (a superset of
// the legacy AcquirableJob). Times are zero (0001-01-01T00:00:00Z) until they happened.
type JobMessage struct {
	MessageType        string    `json:"messageType"`
	RunnerRequestID    int64     `json:"runnerRequestId"`
	RepositoryName     string    `json:"repositoryName"`
	OwnerName          string    `json:"ownerName"`
	JobID              string    `json:"jobId"`
	JobWorkflowRef     string    `json:"jobWorkflowRef"`
	JobDisplayName     string    `json:"jobDisplayName"`
	WorkflowRunID      int64     `json:"workflowRunId"`
	EventName          string    `json:"eventName"`
	RequestLabels      []string  `json:"requestLabels"`
	QueueTime          time.Time `json:"queueTime"`
	ScaleSetAssignTime time.Time `json:"scaleSetAssignTime"`
	RunnerAssignTime   time.Time `json:"runnerAssignTime"`
	FinishTime         time.Time `json:"finishTime"`
	// JobAvailable only.
	AcquireJobURL string `json:"acquireJobUrl,omitempty"`
	// JobStarted and JobCompleted.
	RunnerID   int    `json:"runnerId,omitempty"`
	RunnerName string `json:"runnerName,omitempty"`
	// JobCompleted only.
	Result string `json:"result,omitempty"`
}

// JITRunnerSetting is the body of generatejitconfig.
type JITRunnerSetting struct {
	Name       string `json:"name"`
	WorkFolder string `json:"workFolder"`
}

// RunnerReference is a registered runner.
type RunnerReference struct {
	ID               int    `json:"id"`
	Name             string `json:"name"`
	RunnerScaleSetID int    `json:"runnerScaleSetId"`
}

// JITConfig is generatejitconfig's answer.
type JITConfig struct {
	Runner           RunnerReference `json:"runner"`
	EncodedJITConfig string          `json:"encodedJITConfig"`
}

// List is the {"count","value"} envelope of the service's lists.
type List[T any] struct {
	Count int `json:"count"`
	Value []T `json:"value"`
}

// RunnerRegistrationRequest is the body of POST /actions/runner-registration (§1.6).
type RunnerRegistrationRequest struct {
	URL         string `json:"url"`
	RunnerEvent string `json:"runner_event"`
}

// RunnerRegistration is runner-registration's answer: the tenant URL and an admin token.
type RunnerRegistration struct {
	URL         string `json:"url"`
	Token       string `json:"token"`
	TokenSchema string `json:"token_schema"`
	UseV2Flow   bool   `json:"use_v2_flow"`
}
