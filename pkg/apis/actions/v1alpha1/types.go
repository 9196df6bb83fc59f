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

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ContainerModeType selects how the runner pod runs job containers.
// +enum
type ContainerModeType string

const (
	// ContainerModeDefault runs the template as given.
	ContainerModeDefault ContainerModeType = ""
	// ContainerModeDind adds a Docker-in-Docker sidecar to every runner pod.
	ContainerModeDind ContainerModeType = "dind"
	// ContainerModeKubernetes runs job containers as pods of their own through the runner
	// container hooks, which share a work volume with them.
	ContainerModeKubernetes ContainerModeType = "kubernetes"
	// ContainerModeKubernetesNoVolume runs job containers as pods of their own through the
	// runner container hooks that copy the workspace into them, so no work volume is needed.
	ContainerModeKubernetesNoVolume ContainerModeType = "kubernetes-novolume"
)

// Condition types of a RunnerSet.
const (
	// ConditionReady is true when the scale set is registered, its session is listening and
	// runners can be created.
	ConditionReady = "Ready"
	// ConditionGitHubAuthenticated is true when the credentials in githubConfigSecret work.
	ConditionGitHubAuthenticated = "GitHubAuthenticated"
	// ConditionScaleSetRegistered is true when the scale set exists on GitHub.
	ConditionScaleSetRegistered = "ScaleSetRegistered"
	// ConditionSessionActive is true while a message session with the Actions Service is open.
	ConditionSessionActive = "SessionActive"
	// ConditionRateLimited is true while GitHub rate-limits the credentials and calls to the
	// API it limits (the GitHub REST API or the Actions Service) are held back; the message names
	// the API and when the limit ends.
	ConditionRateLimited = "RateLimited"
	// ConditionOrphanRunners is true when runners exist on one side only (GitHub or cluster).
	ConditionOrphanRunners = "OrphanRunners"
	// ConditionPodsFailing is true when runner pods fail to start or exit with an error.
	ConditionPodsFailing = "PodsFailing"
	// ConditionRunnerVersionDeprecated is true when a runner exited because its version is too old.
	ConditionRunnerVersionDeprecated = "RunnerVersionDeprecated"
	// ConditionRunnerVersionTooOld is true when GitHub refused a runner older than its minimum
	// runner version; the message names that minimum.
	ConditionRunnerVersionTooOld = "RunnerVersionTooOld"
	// ConditionSaturated is true while the RunnerSet runs as many jobs as it may and acquires
	// no more: the jobs beyond stay queued on GitHub for other scale sets with the same labels.
	// The reason names the limit: MaxRunners, Quota, NoNodes, ScaleUpRate or JITBudget.
	ConditionSaturated = "Saturated"
)

// +genclient
// +genclient:method=GetScale,verb=get,subresource=scale,result=k8s.io/api/autoscaling/v1.Scale
// +genclient:method=UpdateScale,verb=update,subresource=scale,input=k8s.io/api/autoscaling/v1.Scale,result=k8s.io/api/autoscaling/v1.Scale
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// RunnerSet is a GitHub Actions runner scale set whose ephemeral runners run as pods in its
// namespace. Its spec is kept in the cluster; its status comes from GitHub Actions.
type RunnerSet struct {
	metav1.TypeMeta `json:",inline"`
	// Standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the desired state of the runner scale set.
	Spec RunnerSetSpec `json:"spec"`
	// Status is the observed state, written by the server.
	// +optional
	Status RunnerSetStatus `json:"status,omitempty"`
}

// RunnerSetSpec is the desired state of a runner scale set. Field names follow the values of
// ARC's gha-runner-scale-set chart, so existing configurations carry over.
type RunnerSetSpec struct {
	// GitHubConfigURL is the repository, organization or enterprise the runners register to,
	// for example https://github.com/my-org, https://github.com/my-org/my-repo or
	// https://github.com/enterprises/my-enterprise (GHE.com and GitHub Enterprise Server hosts work too).
	GitHubConfigURL string `json:"githubConfigUrl"`
	// GitHubConfigSecret names a Secret in the same namespace holding either github_token, or
	// github_app_id, github_app_installation_id and github_app_private_key.
	GitHubConfigSecret string `json:"githubConfigSecret"`
	// RunnerGroup is the runner group the scale set joins. Empty means the default group.
	// +optional
	RunnerGroup string `json:"runnerGroup,omitempty"`
	// RunnerScaleSetName is the scale set's name on GitHub, which workflows use in runs-on.
	// Defaults to the object's name. At most 45 characters: letters, digits, '.', '-' and '_'.
	// +optional
	RunnerScaleSetName string `json:"runnerScaleSetName,omitempty"`
	// Labels are extra scale set labels, sent to GitHub when the scale set is created.
	// +optional
	// +listType=set
	Labels []string `json:"labels,omitempty"`
	// MinRunners is the number of idle runners kept on top of the runners for assigned jobs.
	// Scaling this RunnerSet (kubectl scale) sets this field. Defaults to 0.
	// +optional
	MinRunners *int32 `json:"minRunners,omitempty"`
	// MaxRunners caps the number of runners. Unset means no cap.
	// +optional
	MaxRunners *int32 `json:"maxRunners,omitempty"`
	// ContainerMode selects how jobs that use containers run: "" (as the template says),
	// "dind" (a Docker-in-Docker sidecar), "kubernetes" (job containers as pods sharing a work
	// volume) or "kubernetes-novolume" (job containers as pods, the workspace copied).
	// +optional
	ContainerMode *ContainerMode `json:"containerMode,omitempty"`
	// Template is the runner pod template. Its container named "runner" runs the runner; a
	// template without one gets ARC's default runner container (image
	// ghcr.io/actions/actions-runner:latest, command /home/runner/run.sh) first.
	Template corev1.PodTemplateSpec `json:"template"`
	// Proxy is the proxy used towards GitHub, by the server and by the runners.
	// +optional
	Proxy *ProxyConfig `json:"proxy,omitempty"`
	// GitHubServerTLS trusts an extra CA, for GitHub Enterprise Server.
	// +optional
	GitHubServerTLS *TLSConfig `json:"githubServerTLS,omitempty"`
	// MaxRunnerLifetime bounds how long a runner pod may live (at least 1m), busy or not: it
	// becomes the pod's activeDeadlineSeconds (the smaller, if the template sets one too), so
	// the kubelet ends a runner that hangs even while the server is down. A job still running
	// then is lost with its runner. Unset: no bound.
	// +optional
	MaxRunnerLifetime *metav1.Duration `json:"maxRunnerLifetime,omitempty"`
	// LostJobReruns is how many jobs of one workflow run the server re-runs on GitHub after the
	// cluster killed their runners (eviction, preemption, drain, deletion by someone else, OOM,
	// node lost). Jobs that failed on their own or were cancelled are never re-run. 0 turns
	// re-runs off. Default 1.
	// +optional
	LostJobReruns *int32 `json:"lostJobReruns,omitempty"`
	// Schedules keep another warm pool in recurring windows, such as weekdays 08:00-18:00 in a
	// time zone. While a window is open, its minRunners is a floor under spec.minRunners (which
	// kubectl scale and autoscalers set) and its maxRunners, if set, replaces spec.maxRunners.
	// When windows overlap, the first open one in the list applies.
	// +optional
	// +listType=map
	// +listMapKey=name
	Schedules []RunnerSetSchedule `json:"schedules,omitempty"`
	// ScaleUp bounds how fast the RunnerSet takes on jobs and adds runners for them. Unset: as
	// fast as jobs come, within the server's budget of runner registrations.
	// +optional
	ScaleUp *ScaleUpPolicy `json:"scaleUp,omitempty"`
	// Capacity bounds the jobs acquired by more than maxRunners and the namespace's
	// ResourceQuotas, which always apply.
	// +optional
	Capacity *CapacityPolicy `json:"capacity,omitempty"`
}

// RunnerSetSchedule is a recurring window that changes the warm pool while it is open.
type RunnerSetSchedule struct {
	// Name names the window in the status and in events.
	Name string `json:"name"`
	// Days are the days of the week the window opens on: Mon, Tue, Wed, Thu, Fri, Sat, Sun.
	// Empty: every day.
	// +optional
	// +listType=set
	Days []string `json:"days,omitempty"`
	// Start is when the window opens, HH:MM or HH:MM:SS in timeZone.
	Start string `json:"start"`
	// End is when the window closes, HH:MM or HH:MM:SS in timeZone; an end at or before the
	// start closes it the next day.
	End string `json:"end"`
	// TimeZone is an IANA time zone, such as Europe/Berlin. Defaults to UTC.
	// +optional
	TimeZone string `json:"timeZone,omitempty"`
	// MinRunners is the least number of idle runners while the window is open.
	// +optional
	MinRunners *int32 `json:"minRunners,omitempty"`
	// MaxRunners replaces spec.maxRunners while the window is open.
	// +optional
	MaxRunners *int32 `json:"maxRunners,omitempty"`
}

// ScaleUpPolicy is a rate: a bucket of burst runners, refilled at runnersPerMinute.
type ScaleUpPolicy struct {
	// RunnersPerMinute is how many jobs the RunnerSet may take on (each gets a runner) per
	// minute, on average.
	RunnersPerMinute int32 `json:"runnersPerMinute"`
	// Burst is how many it may take on at once. Defaults to runnersPerMinute.
	// +optional
	Burst *int32 `json:"burst,omitempty"`
}

// CapacityPolicy chooses what else bounds the jobs a RunnerSet acquires.
type CapacityPolicy struct {
	// WaitForNodes stops acquiring jobs while a runner pod of this RunnerSet cannot be placed
	// on any node: the capacity is then the runners placed, and further jobs stay queued for
	// other scale sets. Leave it off where a cluster autoscaler adds nodes for pending pods.
	// +optional
	WaitForNodes bool `json:"waitForNodes,omitempty"`
}

// ContainerMode configures how jobs that use containers run.
type ContainerMode struct {
	// Type is "", "dind", "kubernetes" or "kubernetes-novolume".
	// +optional
	Type ContainerModeType `json:"type,omitempty"`
	// KubernetesModeWorkVolumeClaim is the claim for the runner's work volume; required in
	// kubernetes mode, where job pods share it with the runner, unless the template declares a
	// volume named "work".
	// +optional
	KubernetesModeWorkVolumeClaim *corev1.PersistentVolumeClaimSpec `json:"kubernetesModeWorkVolumeClaim,omitempty"`
	// KubernetesModeAdditionalRoleRules are added to the Role the server makes for the runners'
	// ServiceAccount in kubernetes and kubernetes-novolume modes (when the template names no
	// serviceAccountName), for container hooks that need more than pods, pods/exec, pods/log,
	// secrets and (kubernetes mode) jobs. Whoever writes them must hold these rights herself in
	// the namespace. Kubernetes lets the server create a Role only with rights the server holds
	// itself (its ClusterRole, in the runnerset-apiserver chart's rbac.yaml): a rule beyond those
	// makes runner creation fail, with a Forbidden warning event on the RunnerSet, until the
	// server is granted the right or the rule is removed.
	// +optional
	// +listType=atomic
	KubernetesModeAdditionalRoleRules []RoleRule `json:"kubernetesModeAdditionalRoleRules,omitempty"`
}

// RoleRule is one rule of a Role, as an rbac.authorization.k8s.io/v1 PolicyRule without
// nonResourceURLs, which a Role cannot grant.
type RoleRule struct {
	// Verbs, e.g. get, list, create; "*" is every verb.
	// +listType=atomic
	Verbs []string `json:"verbs"`
	// APIGroups names the groups of the resources; "" is the core group, "*" every group.
	// +optional
	// +listType=atomic
	APIGroups []string `json:"apiGroups,omitempty"`
	// Resources, e.g. pods or deployments; "*" is every resource, "pods/log" a subresource.
	// +optional
	// +listType=atomic
	Resources []string `json:"resources,omitempty"`
	// ResourceNames limits the rule to objects of these names; empty means any.
	// +optional
	// +listType=atomic
	ResourceNames []string `json:"resourceNames,omitempty"`
}

// ProxyConfig is the proxy used towards GitHub.
type ProxyConfig struct {
	// HTTP is the proxy for http:// URLs.
	// +optional
	HTTP *ProxyServerConfig `json:"http,omitempty"`
	// HTTPS is the proxy for https:// URLs.
	// +optional
	HTTPS *ProxyServerConfig `json:"https,omitempty"`
	// NoProxy lists hosts reached directly.
	// +optional
	// +listType=atomic
	NoProxy []string `json:"noProxy,omitempty"`
}

// ProxyServerConfig is one proxy endpoint.
type ProxyServerConfig struct {
	// URL of the proxy, http:// or https://.
	URL string `json:"url"`
	// CredentialSecretRef names a Secret in the same namespace with keys username and password.
	// +optional
	CredentialSecretRef string `json:"credentialSecretRef,omitempty"`
}

// TLSConfig trusts an extra CA, for GitHub Enterprise Server.
type TLSConfig struct {
	// CertificateFrom says where the CA bundle is.
	// +optional
	CertificateFrom *TLSCertificateSource `json:"certificateFrom,omitempty"`
	// RunnerMountPath is where the CA bundle is mounted in runner pods; empty means not mounted.
	// +optional
	RunnerMountPath string `json:"runnerMountPath,omitempty"`
}

// TLSCertificateSource names where the CA bundle comes from.
type TLSCertificateSource struct {
	// ConfigMapKeyRef selects a key of a ConfigMap in the same namespace.
	// +optional
	ConfigMapKeyRef *corev1.ConfigMapKeySelector `json:"configMapKeyRef,omitempty"`
}

// RunnerSetStatus is the observed state of a runner scale set.
type RunnerSetStatus struct {
	// ObservedGeneration is the generation the scaler last acted on.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// ScaleSetID is the scale set's id on GitHub.
	// +optional
	ScaleSetID int64 `json:"scaleSetId,omitempty"`
	// RunnerGroupID is the id of the runner group on GitHub.
	// +optional
	RunnerGroupID int64 `json:"runnerGroupId,omitempty"`
	// DesiredRunners is min(minRunners + assigned jobs, maxRunners).
	// +optional
	DesiredRunners int32 `json:"desiredRunners,omitempty"`
	// CurrentRunners counts the runner pods that exist.
	// +optional
	CurrentRunners int32 `json:"currentRunners,omitempty"`
	// PendingRunners counts runners not registered yet.
	// +optional
	PendingRunners int32 `json:"pendingRunners,omitempty"`
	// IdleRunners counts registered runners without a job.
	// +optional
	IdleRunners int32 `json:"idleRunners,omitempty"`
	// BusyRunners counts runners running a job.
	// +optional
	BusyRunners int32 `json:"busyRunners,omitempty"`
	// FailedRunners counts runners whose pods failed.
	// +optional
	FailedRunners int32 `json:"failedRunners,omitempty"`
	// AvailableJobs is the Actions Service's count of jobs waiting for this scale set.
	// +optional
	AvailableJobs int32 `json:"availableJobs,omitempty"`
	// AssignedJobs is the Actions Service's count of jobs assigned to this scale set.
	// +optional
	AssignedJobs int32 `json:"assignedJobs,omitempty"`
	// RunningJobs is the Actions Service's count of jobs running on this scale set.
	// +optional
	RunningJobs int32 `json:"runningJobs,omitempty"`
	// Selector is the label selector of this RunnerSet's runner pods, for the scale subresource.
	// +optional
	Selector string `json:"selector,omitempty"`
	// LastMessageTime is when the last message from the Actions Service arrived.
	// +optional
	LastMessageTime *metav1.Time `json:"lastMessageTime,omitempty"`
	// SessionID is the message session the server holds with the Actions Service. A server that
	// takes over after a crash closes it instead of waiting for it to expire.
	// +optional
	SessionID string `json:"sessionId,omitempty"`
	// GitHubOnlyRunners are runners registered in the scale set on GitHub that have no pod here
	// (drift, cleaned up after a grace period).
	// +optional
	// +listType=atomic
	GitHubOnlyRunners []GitHubRunner `json:"githubOnlyRunners,omitempty"`
	// Conditions: Ready, GitHubAuthenticated, ScaleSetRegistered, SessionActive, and drift such as
	// OrphanRunners, PodsFailing and RunnerVersionDeprecated.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +patchStrategy=merge
	// +patchMergeKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty" patchStrategy:"merge" patchMergeKey:"type"`
	// RecentJobs are the last jobs that ended, newest first (the workflowjobs keep them all).
	// +optional
	// +listType=atomic
	RecentJobs []RecentJob `json:"recentJobs,omitempty"`
	// Capacity is how many jobs the scale set may run at once, as the server advertises it to
	// GitHub: the least of maxRunners and what the namespace's ResourceQuotas (and, with
	// capacity.waitForNodes, the nodes) leave room for. Unset: no bound.
	// +optional
	Capacity *int32 `json:"capacity,omitempty"`
	// Schedule is the schedule window open now, if any, and when the next one opens or closes.
	// +optional
	Schedule *ScheduleStatus `json:"schedule,omitempty"`
}

// ScheduleStatus is where the RunnerSet's schedules stand.
type ScheduleStatus struct {
	// Active is the name of the window open now; empty when none is.
	// +optional
	Active string `json:"active,omitempty"`
	// MinRunners and MaxRunners are the bounds in force now, the window's and the spec's together.
	// +optional
	MinRunners *int32 `json:"minRunners,omitempty"`
	// +optional
	MaxRunners *int32 `json:"maxRunners,omitempty"`
	// NextChange is when a window opens or closes next.
	// +optional
	NextChange *metav1.Time `json:"nextChange,omitempty"`
	// NextWindow names the window that opens or closes then.
	// +optional
	NextWindow string `json:"nextWindow,omitempty"`
}

// RecentJob is a job that ended, in short.
type RecentJob struct {
	// Name is the WorkflowJob's name.
	Name string `json:"name"`
	// Phase is how it ended.
	Phase WorkflowJobPhase `json:"phase"`
	// DisplayName is the job's name in the workflow.
	// +optional
	DisplayName string `json:"displayName,omitempty"`
	// Repository is owner/name.
	// +optional
	Repository string `json:"repository,omitempty"`
	// Runner ran it.
	// +optional
	Runner string `json:"runner,omitempty"`
	// Completed is when it ended.
	// +optional
	Completed *metav1.Time `json:"completed,omitempty"`
}

// GitHubRunner is a runner as GitHub lists it.
type GitHubRunner struct {
	// ID is the runner's id on GitHub.
	ID int64 `json:"id"`
	// Name is the runner's name.
	Name string `json:"name"`
	// Status is "online" or "offline".
	// +optional
	Status string `json:"status,omitempty"`
	// Busy is true while it runs a job.
	// +optional
	Busy bool `json:"busy,omitempty"`
	// FirstSeen is when the server first saw it without a pod.
	// +optional
	FirstSeen *metav1.Time `json:"firstSeen,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// RunnerSetList is a list of RunnerSets.
type RunnerSetList struct {
	metav1.TypeMeta `json:",inline"`
	// Standard list metadata.
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`

	// Items are the RunnerSets.
	Items []RunnerSet `json:"items"`
}

// +genclient
// +genclient:onlyVerbs=get,list,watch,delete
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// Runner is one ephemeral runner, seen from both sides: GitHub's (registration, online, the job it
// runs) and the cluster's (its pod). It is a read-only view; deleting it deregisters the runner on
// GitHub and deletes its pod.
type Runner struct {
	metav1.TypeMeta `json:",inline"`
	// Standard object metadata; name, namespace, labels and uid are the pod's.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Status is the runner's state on both sides.
	// +optional
	Status RunnerStatus `json:"status,omitempty"`
}

// RunnerStatus is a runner's state.
type RunnerStatus struct {
	// RunnerSet is the RunnerSet the runner belongs to.
	RunnerSet string `json:"runnerSet"`
	// ScaleSetID is the GitHub scale set.
	// +optional
	ScaleSetID int64 `json:"scaleSetId,omitempty"`
	// RunnerID is the runner's id on GitHub.
	// +optional
	RunnerID int64 `json:"runnerId,omitempty"`
	// GitHub is GitHub's side.
	GitHub RunnerGitHubState `json:"github"`
	// Job is the job the runner runs, once GitHub reported it started.
	// +optional
	Job *RunnerJob `json:"job,omitempty"`
	// Pod is the cluster's side; unset when the runner has no pod.
	// +optional
	Pod *RunnerPod `json:"pod,omitempty"`
	// Drift is "GitHubOnly" for a runner registered on GitHub without a pod, "ClusterOnly" for a
	// pod GitHub does not know; empty when both sides agree.
	// +optional
	Drift string `json:"drift,omitempty"`
}

// RunnerGitHubState is GitHub's view of a runner.
type RunnerGitHubState struct {
	// Status is "online", "offline" or "unknown".
	Status string `json:"status"`
	// Busy is true while the runner runs a job.
	Busy bool `json:"busy"`
}

// RunnerJob is the job a runner runs.
type RunnerJob struct {
	// RequestID is the job's runner request id.
	// +optional
	RequestID int64 `json:"requestId,omitempty"`
	// JobID is GitHub's job id.
	// +optional
	JobID string `json:"jobId,omitempty"`
	// Repository is owner/name.
	// +optional
	Repository string `json:"repository,omitempty"`
	// WorkflowRef is the workflow file and ref.
	// +optional
	WorkflowRef string `json:"workflowRef,omitempty"`
	// DisplayName is the job's name.
	// +optional
	DisplayName string `json:"displayName,omitempty"`
	// RunID is the workflow run id.
	// +optional
	RunID int64 `json:"runId,omitempty"`
	// Started is when the runner took the job.
	// +optional
	Started *metav1.Time `json:"started,omitempty"`
	// Result is set once the job completed.
	// +optional
	Result string `json:"result,omitempty"`
}

// RunnerPod is the cluster's view of a runner.
type RunnerPod struct {
	// Phase is the pod's phase.
	// +optional
	Phase string `json:"phase,omitempty"`
	// Reason is why the pod is in its state, e.g. a container's waiting or terminated reason.
	// +optional
	Reason string `json:"reason,omitempty"`
	// Node is where the pod runs.
	// +optional
	Node string `json:"node,omitempty"`
	// Restarts counts container restarts.
	// +optional
	Restarts int32 `json:"restarts,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// RunnerList is a list of Runners.
type RunnerList struct {
	metav1.TypeMeta `json:",inline"`
	// Standard list metadata.
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`

	// Items are the Runners.
	Items []Runner `json:"items"`
}

// WorkflowJobPhase is where a job is in its life.
type WorkflowJobPhase string

const (
	// JobQueued: offered to the scale set and acquired, not yet assigned to it.
	JobQueued WorkflowJobPhase = "Queued"
	// JobAssigned: assigned to the scale set, no runner has started it.
	JobAssigned WorkflowJobPhase = "Assigned"
	// JobRunning: a runner started it.
	JobRunning WorkflowJobPhase = "Running"
	// JobSucceeded, JobFailed and JobCanceled: GitHub completed it with that result.
	JobSucceeded WorkflowJobPhase = "Succeeded"
	JobFailed    WorkflowJobPhase = "Failed"
	JobCanceled  WorkflowJobPhase = "Canceled"
	// JobLost: the cluster killed its runner; GitHub has not concluded it yet.
	JobLost WorkflowJobPhase = "Lost"
	// JobRerun: lost to the cluster and re-run on GitHub; the new attempt is another WorkflowJob
	// (status.rerunAs).
	JobRerun WorkflowJobPhase = "Rerun"
)

// +genclient
// +genclient:onlyVerbs=get,list,watch
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// WorkflowJob is one job a RunnerSet handled, from the moment it acquired it to its end, kept
// after its runner is gone for a retention. It is a read-only record written by the scaler:
// GitHub cannot cancel a single job, and its history is not to be edited.
type WorkflowJob struct {
	metav1.TypeMeta `json:",inline"`
	// Standard object metadata; the name is the RunnerSet's and GitHub's job request id.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Status is the job as GitHub and the cluster saw it.
	// +optional
	Status WorkflowJobStatus `json:"status,omitempty"`
}

// WorkflowJobStatus is a job's record.
type WorkflowJobStatus struct {
	// RunnerSet acquired the job.
	RunnerSet string `json:"runnerSet"`
	// Phase is where the job is.
	Phase WorkflowJobPhase `json:"phase"`
	// Reason says, in one CamelCase word, why the job is in its phase: why it waits while
	// Queued or Assigned (MaxRunners, Quota, PodsFailing, RunnerStarting, RateLimited), how it was
	// lost (Evicted, Preempted, Drained, Deleted, OOMKilled, NodeLost), why it was not re-run.
	// +optional
	Reason string `json:"reason,omitempty"`
	// Message explains Reason.
	// +optional
	Message string `json:"message,omitempty"`
	// Result is GitHub's: succeeded, failed, canceled.
	// +optional
	Result string `json:"result,omitempty"`

	// RequestID is the Actions Service's job request id.
	RequestID int64 `json:"requestId"`
	// JobID is the job's id in the Actions Service.
	// +optional
	JobID string `json:"jobId,omitempty"`
	// Repository is owner/name.
	// +optional
	Repository string `json:"repository,omitempty"`
	// WorkflowRef is the workflow file and ref, as GitHub sent it.
	// +optional
	WorkflowRef string `json:"workflowRef,omitempty"`
	// DisplayName is the job's name in the workflow.
	// +optional
	DisplayName string `json:"displayName,omitempty"`
	// RunID is the workflow run.
	// +optional
	RunID int64 `json:"runId,omitempty"`
	// EventName is what triggered the run (push, pull_request, ...).
	// +optional
	EventName string `json:"eventName,omitempty"`
	// Labels are the runs-on labels the job asked for.
	// +optional
	// +listType=atomic
	Labels []string `json:"labels,omitempty"`

	// Runner is the runner (and pod) that took the job.
	// +optional
	Runner string `json:"runner,omitempty"`
	// Node is where the runner's pod ran.
	// +optional
	Node string `json:"node,omitempty"`

	// Queued is when GitHub queued the job; Assigned when it assigned it to the scale set;
	// Started when a runner took it; Completed when it ended.
	// +optional
	Queued *metav1.Time `json:"queued,omitempty"`
	// +optional
	Assigned *metav1.Time `json:"assigned,omitempty"`
	// +optional
	Started *metav1.Time `json:"started,omitempty"`
	// +optional
	Completed *metav1.Time `json:"completed,omitempty"`
	// QueueDuration is from queued to assigned, StartupDuration from assigned to started,
	// ExecutionDuration from started to completed.
	// +optional
	QueueDuration *metav1.Duration `json:"queueDuration,omitempty"`
	// +optional
	StartupDuration *metav1.Duration `json:"startupDuration,omitempty"`
	// +optional
	ExecutionDuration *metav1.Duration `json:"executionDuration,omitempty"`

	// RerunOf names the WorkflowJob this one re-runs; RerunAs the one that re-runs this.
	// +optional
	RerunOf string `json:"rerunOf,omitempty"`
	// +optional
	RerunAs string `json:"rerunAs,omitempty"`
	// Transitions are the phases the job went through, oldest first.
	// +optional
	// +listType=atomic
	Transitions []WorkflowJobTransition `json:"transitions,omitempty"`
}

// WorkflowJobTransition is one change of phase.
type WorkflowJobTransition struct {
	// Phase entered.
	Phase WorkflowJobPhase `json:"phase"`
	// Time it was entered.
	Time metav1.Time `json:"time"`
	// Reason, if the phase has one.
	// +optional
	Reason string `json:"reason,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// WorkflowJobList is a list of WorkflowJobs.
type WorkflowJobList struct {
	metav1.TypeMeta `json:",inline"`
	// Standard list metadata.
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`

	// Items are the WorkflowJobs.
	Items []WorkflowJob `json:"items"`
}
