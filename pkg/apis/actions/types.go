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
package actions

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ContainerModeType selects how the runner pod runs job containers.
type ContainerModeType string

const (
	// ContainerModeDefault runs the template as given.
	ContainerModeDefault ContainerModeType = ""
	// ContainerModeDind adds a Docker-in-Docker sidecar.
	ContainerModeDind ContainerModeType = "dind"
	// ContainerModeKubernetes runs job containers as pods through the container hooks.
	ContainerModeKubernetes ContainerModeType = "kubernetes"
	// ContainerModeKubernetesNoVolume runs job containers as pods through the container hooks
	// that copy the workspace instead of sharing a work volume.
	ContainerModeKubernetesNoVolume ContainerModeType = "kubernetes-novolume"
)

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// RunnerSet is a GitHub Actions runner scale set whose runners run as pods.
type RunnerSet struct {
	metav1.TypeMeta
	metav1.ObjectMeta

	Spec   RunnerSetSpec
	Status RunnerSetStatus
}

// RunnerSetSpec is the desired state, kept close to ARC's gha-runner-scale-set values.
type RunnerSetSpec struct {
	GitHubConfigURL    string
	GitHubConfigSecret string
	RunnerGroup        string
	RunnerScaleSetName string
	Labels             []string
	MinRunners         *int32
	MaxRunners         *int32
	ContainerMode      *ContainerMode
	Template           corev1.PodTemplateSpec
	Proxy              *ProxyConfig
	GitHubServerTLS    *TLSConfig
	MaxRunnerLifetime  *metav1.Duration
	LostJobReruns      *int32
	Schedules          []RunnerSetSchedule
	ScaleUp            *ScaleUpPolicy
	Capacity           *CapacityPolicy
}

// RunnerSetSchedule is a recurring window that changes the warm pool while it is open.
type RunnerSetSchedule struct {
	Name       string
	Days       []string
	Start      string
	End        string
	TimeZone   string
	MinRunners *int32
	MaxRunners *int32
}

// ScaleUpPolicy bounds how fast jobs are taken on.
type ScaleUpPolicy struct {
	RunnersPerMinute int32
	Burst            *int32
}

// CapacityPolicy chooses what else bounds the jobs acquired.
type CapacityPolicy struct {
	WaitForNodes bool
}

// ContainerMode configures how jobs that use containers run.
type ContainerMode struct {
	Type                              ContainerModeType
	KubernetesModeWorkVolumeClaim     *corev1.PersistentVolumeClaimSpec
	KubernetesModeAdditionalRoleRules []RoleRule
}

// RoleRule is one rule of a Role, as rbac.authorization.k8s.io/v1 PolicyRule without
// nonResourceURLs, which a Role cannot grant.
type RoleRule struct {
	Verbs         []string
	APIGroups     []string
	Resources     []string
	ResourceNames []string
}

// ProxyConfig is the proxy used by the server towards GitHub and by the runners.
type ProxyConfig struct {
	HTTP    *ProxyServerConfig
	HTTPS   *ProxyServerConfig
	NoProxy []string
}

// ProxyServerConfig is one proxy endpoint.
type ProxyServerConfig struct {
	URL                 string
	CredentialSecretRef string
}

// TLSConfig trusts an extra CA for a GitHub Enterprise Server.
type TLSConfig struct {
	CertificateFrom *TLSCertificateSource
	RunnerMountPath string
}

// TLSCertificateSource names where the CA bundle comes from.
type TLSCertificateSource struct {
	ConfigMapKeyRef *corev1.ConfigMapKeySelector
}

// RunnerSetStatus is the observed state, written by the server only.
type RunnerSetStatus struct {
	ObservedGeneration int64
	ScaleSetID         int64
	RunnerGroupID      int64
	DesiredRunners     int32
	CurrentRunners     int32
	PendingRunners     int32
	IdleRunners        int32
	BusyRunners        int32
	FailedRunners      int32
	AvailableJobs      int32
	AssignedJobs       int32
	RunningJobs        int32
	Selector           string
	LastMessageTime    *metav1.Time
	SessionID          string
	GitHubOnlyRunners  []GitHubRunner
	Conditions         []metav1.Condition
	RecentJobs         []RecentJob
	Capacity           *int32
	Schedule           *ScheduleStatus
}

// ScheduleStatus is where the schedules stand.
type ScheduleStatus struct {
	Active     string
	MinRunners *int32
	MaxRunners *int32
	NextChange *metav1.Time
	NextWindow string
}

// RecentJob is a job that ended, in short.
type RecentJob struct {
	Name        string
	Phase       WorkflowJobPhase
	DisplayName string
	Repository  string
	Runner      string
	Completed   *metav1.Time
}

// GitHubRunner is a runner as GitHub lists it.
type GitHubRunner struct {
	ID        int64
	Name      string
	Status    string
	Busy      bool
	FirstSeen *metav1.Time
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// RunnerSetList is a list of RunnerSets.
type RunnerSetList struct {
	metav1.TypeMeta
	metav1.ListMeta

	Items []RunnerSet
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// Runner is one ephemeral runner, seen from GitHub and from the cluster.
type Runner struct {
	metav1.TypeMeta
	metav1.ObjectMeta

	Status RunnerStatus
}

// RunnerStatus is a runner's state on both sides.
type RunnerStatus struct {
	RunnerSet  string
	ScaleSetID int64
	RunnerID   int64
	GitHub     RunnerGitHubState
	Job        *RunnerJob
	Pod        *RunnerPod
	Drift      string
}

// RunnerGitHubState is GitHub's view of a runner.
type RunnerGitHubState struct {
	Status string
	Busy   bool
}

// RunnerJob is the job a runner runs.
type RunnerJob struct {
	RequestID   int64
	JobID       string
	Repository  string
	WorkflowRef string
	DisplayName string
	RunID       int64
	Started     *metav1.Time
	Result      string
}

// RunnerPod is the cluster's view of a runner.
type RunnerPod struct {
	Phase    string
	Reason   string
	Node     string
	Restarts int32
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// RunnerList is a list of Runners.
type RunnerList struct {
	metav1.TypeMeta
	metav1.ListMeta

	Items []Runner
}

// WorkflowJobPhase is where a job is in its life; see the v1alpha1 package.
type WorkflowJobPhase string

// +genclient
// +genclient:onlyVerbs=get,list,watch
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// WorkflowJob is one job a RunnerSet handled; see the v1alpha1 package.
type WorkflowJob struct {
	metav1.TypeMeta
	metav1.ObjectMeta

	Status WorkflowJobStatus
}

// WorkflowJobStatus is a job's record.
type WorkflowJobStatus struct {
	RunnerSet         string
	Phase             WorkflowJobPhase
	Reason            string
	Message           string
	Result            string
	RequestID         int64
	JobID             string
	Repository        string
	WorkflowRef       string
	DisplayName       string
	RunID             int64
	EventName         string
	Labels            []string
	Runner            string
	Node              string
	Queued            *metav1.Time
	Assigned          *metav1.Time
	Started           *metav1.Time
	Completed         *metav1.Time
	QueueDuration     *metav1.Duration
	StartupDuration   *metav1.Duration
	ExecutionDuration *metav1.Duration
	RerunOf           string
	RerunAs           string
	Transitions       []WorkflowJobTransition
}

// WorkflowJobTransition is one change of phase.
type WorkflowJobTransition struct {
	Phase  WorkflowJobPhase
	Time   metav1.Time
	Reason string
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// WorkflowJobList is a list of WorkflowJobs.
type WorkflowJobList struct {
	metav1.TypeMeta
	metav1.ListMeta

	Items []WorkflowJob
}

// Drift kinds of a Runner.
const (
	DriftGitHubOnly  = "GitHubOnly"
	DriftClusterOnly = "ClusterOnly"
)

// Condition types of a RunnerSet; see the v1alpha1 package for their meaning.
const (
	ConditionReady                   = "Ready"
	ConditionGitHubAuthenticated     = "GitHubAuthenticated"
	ConditionScaleSetRegistered      = "ScaleSetRegistered"
	ConditionSessionActive           = "SessionActive"
	ConditionRateLimited             = "RateLimited"
	ConditionOrphanRunners           = "OrphanRunners"
	ConditionPodsFailing             = "PodsFailing"
	ConditionRunnerVersionDeprecated = "RunnerVersionDeprecated"
	ConditionRunnerVersionTooOld     = "RunnerVersionTooOld"
)

// RunnerContainerName is the template container that runs the runner.
const RunnerContainerName = "runner"

// MaxScaleSetNameLength is the longest scale set name accepted (ARC's chart limit).
const MaxScaleSetNameLength = 45

// MaxLabelLength bounds one scale set label (GitHub refuses 256 and more).
const MaxLabelLength = 255
