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

// Package actions speaks the GitHub Actions Service's runner scale set protocol: the wire types
// (shared by the client and the simulator), the client, and its typed errors.
package actions

import (
	"encoding/json"
	"fmt"
	"time"
)

// APIVersion is appended to every admin call as api-version.
const APIVersion = "6.0-preview"

// Message types.
const (
	MessageTypeJobMessages = "RunnerScaleSetJobMessages"

	JobMessageAvailable = "JobAvailable"
	JobMessageAssigned  = "JobAssigned"
	JobMessageStarted   = "JobStarted"
	JobMessageCompleted = "JobCompleted"
)

// MaxJobMessagesPerBatch is the most job messages one queue message carries.
const MaxJobMessagesPerBatch = 50

// Label is a scale set label.
type Label struct {
	Type string `json:"type,omitempty"`
	Name string `json:"name"`
}

// RunnerSetting is sent as "RunnerSetting" (capital R), as the service expects.
type RunnerSetting struct {
	Ephemeral     bool `json:"ephemeral,omitempty"`
	IsElastic     bool `json:"isElastic,omitempty"`
	DisableUpdate bool `json:"disableUpdate,omitempty"`
}

// RunnerScaleSet is a scale set as the service describes it.
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

// RunnerGroup is a runner group.
type RunnerGroup struct {
	ID             int    `json:"id"`
	Name           string `json:"name"`
	Size           int    `json:"size"`
	IsDefaultGroup bool   `json:"isDefaultGroup"`
}

// Statistics are the service's counts for one scale set, in every session and message.
type Statistics struct {
	TotalAvailableJobs     int `json:"totalAvailableJobs"`
	TotalAcquiredJobs      int `json:"totalAcquiredJobs"`
	TotalAssignedJobs      int `json:"totalAssignedJobs"`
	TotalRunningJobs       int `json:"totalRunningJobs"`
	TotalRegisteredRunners int `json:"totalRegisteredRunners"`
	TotalBusyRunners       int `json:"totalBusyRunners"`
	TotalIdleRunners       int `json:"totalIdleRunners"`
}

// Session is a message session with the service.
type Session struct {
	SessionID               string          `json:"sessionId"`
	OwnerName               string          `json:"ownerName"`
	RunnerScaleSet          *RunnerScaleSet `json:"runnerScaleSet,omitempty"`
	MessageQueueURL         string          `json:"messageQueueUrl"`
	MessageQueueAccessToken string          `json:"messageQueueAccessToken"`
	Statistics              *Statistics     `json:"statistics,omitempty"`
}

// Message is one long-poll answer. Body is a JSON array of job messages encoded as a string.
type Message struct {
	MessageID   int64       `json:"messageId"`
	MessageType string      `json:"messageType"`
	Body        string      `json:"body"`
	Statistics  *Statistics `json:"statistics,omitempty"`
}

// JobMessage is one element of a Message's body. Fields not used by a type stay zero.
type JobMessage struct {
	MessageType        string    `json:"messageType"`
	RunnerRequestID    int64     `json:"runnerRequestId"`
	RepositoryName     string    `json:"repositoryName,omitempty"`
	OwnerName          string    `json:"ownerName,omitempty"`
	JobID              string    `json:"jobId,omitempty"`
	JobWorkflowRef     string    `json:"jobWorkflowRef,omitempty"`
	JobDisplayName     string    `json:"jobDisplayName,omitempty"`
	WorkflowRunID      int64     `json:"workflowRunId,omitempty"`
	EventName          string    `json:"eventName,omitempty"`
	RequestLabels      []string  `json:"requestLabels,omitempty"`
	QueueTime          time.Time `json:"queueTime"`
	ScaleSetAssignTime time.Time `json:"scaleSetAssignTime"`
	RunnerAssignTime   time.Time `json:"runnerAssignTime"`
	FinishTime         time.Time `json:"finishTime"`
	// JobAvailable only.
	AcquireJobURL string `json:"acquireJobUrl,omitempty"`
	// JobStarted and JobCompleted.
	RunnerID   int    `json:"runnerId,omitempty"`
	RunnerName string `json:"runnerName,omitempty"`
	// JobCompleted only: "succeeded", "failed", "canceled", ...
	Result string `json:"result,omitempty"`
}

// JitRunnerSetting asks for a just-in-time runner configuration.
type JitRunnerSetting struct {
	Name       string `json:"name"`
	WorkFolder string `json:"workFolder"`
}

// RunnerReference is a registered runner.
type RunnerReference struct {
	ID               int    `json:"id"`
	Name             string `json:"name"`
	RunnerScaleSetID int    `json:"runnerScaleSetId"`
}

// JitConfig is a runner's registration: EncodedJITConfig goes to the runner as
// ACTIONS_RUNNER_INPUT_JITCONFIG.
type JitConfig struct {
	Runner           *RunnerReference `json:"runner"`
	EncodedJITConfig string           `json:"encodedJITConfig"`
}

// List is the {"count","value"} envelope of list answers.
type List[T any] struct {
	Count int `json:"count"`
	Value []T `json:"value"`
}

// ErrorBody is the service's error envelope.
type ErrorBody struct {
	TypeName string `json:"typeName,omitempty"`
	Message  string `json:"message"`
}

// ParseJobMessages decodes a Message's double-encoded body. An empty body holds no job messages;
// unknown message types are kept (callers ignore them).
func ParseJobMessages(body string) ([]JobMessage, error) {
	if body == "" {
		return nil, nil
	}
	var msgs []JobMessage
	if err := json.Unmarshal([]byte(body), &msgs); err != nil {
		return nil, fmt.Errorf("decoding job messages: %w", err)
	}
	return msgs, nil
}
