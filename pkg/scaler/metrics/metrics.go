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

// Package metrics holds the scaler's Prometheus metrics: ARC's listener and controller names
// and labels, so existing dashboards work, and runnerset_scaler_* of our own.
package metrics

import (
	"math"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"k8s.io/component-base/metrics"
	"k8s.io/component-base/metrics/legacyregistry"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/configurl"
	"actions.dev/runnerset-apiserver/pkg/github/actions"
)

// Metrics keep ARC's listener and controller names and labels, so existing dashboards work; the
// runnerset_scaler_* ones are our own. They are served at /metrics with the generic server's.
var (
	scaleSetLabels = []string{"enterprise", "organization", "repository", "name", "namespace"}
	jobLabels      = []string{"enterprise", "organization", "repository", "job_name", "event_name"}

	gauge = func(name, help string) *metrics.GaugeVec {
		return metrics.NewGaugeVec(&metrics.GaugeOpts{Name: name, Help: help, StabilityLevel: metrics.ALPHA}, scaleSetLabels)
	}
	assignedJobs      = gauge("gha_assigned_jobs", "Jobs assigned to the scale set (waiting for a runner or running).")
	runningJobs       = gauge("gha_running_jobs", "Jobs running on the scale set.")
	registeredRunners = gauge("gha_registered_runners", "Runners registered in the scale set.")
	busyRunners       = gauge("gha_busy_runners", "Registered runners running a job.")
	idleRunners       = gauge("gha_idle_runners", "Registered runners without a job.")
	minRunnersGauge   = gauge("gha_min_runners", "spec.minRunners.")
	maxRunnersGauge   = gauge("gha_max_runners", "spec.maxRunners (2147483647 when unset).")
	desiredRunners    = gauge("gha_desired_runners", "min(minRunners + assigned jobs, maxRunners).")
	pendingERs        = gauge("gha_controller_pending_ephemeral_runners", "Runners not running yet.")
	runningERs        = gauge("gha_controller_running_ephemeral_runners", "Runners whose pod runs.")
	failedERs         = gauge("gha_controller_failed_ephemeral_runners", "Runners whose pod failed.")
	runningListeners  = gauge("gha_controller_running_listeners", "1 while the scale set's message session is open.")

	// statusCondition is each condition of a RunnerSet's status, as kube-state-metrics exports
	// the conditions of built-in objects: one series per status, 1 for the current one. Alerts
	// on conditions that no gauge above tells (RunnerVersionDeprecated, OrphanRunners) read it.
	statusCondition = metrics.NewGaugeVec(&metrics.GaugeOpts{Name: "runnerset_status_condition",
		Help: "A condition of the RunnerSet's status: 1 for its current status (true, false or unknown), 0 for the others.", StabilityLevel: metrics.ALPHA},
		[]string{"namespace", "name", "condition", "status"})

	startedJobs   = metrics.NewCounterVec(&metrics.CounterOpts{Name: "gha_started_jobs_total", Help: "Jobs started on runners of the scale set.", StabilityLevel: metrics.ALPHA}, jobLabels)
	completedJobs = metrics.NewCounterVec(&metrics.CounterOpts{Name: "gha_completed_jobs_total", Help: "Jobs completed on runners of the scale set.", StabilityLevel: metrics.ALPHA},
		append(append([]string{}, jobLabels...), "job_result"))
	jobBuckets = []float64{0.01, 0.05, 0.1, 0.5, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 15, 18, 20, 25, 30, 40, 50, 60, 70, 80, 90,
		100, 110, 120, 150, 180, 210, 240, 300, 360, 420, 480, 540, 600, 900, 1200, 1800, 2400, 3000, 3600}
	jobStartup = metrics.NewHistogramVec(&metrics.HistogramOpts{Name: "gha_job_startup_duration_seconds", Help: "From the job's assignment to the scale set to a runner taking it.",
		Buckets: jobBuckets, StabilityLevel: metrics.ALPHA}, jobLabels)
	jobExecution = metrics.NewHistogramVec(&metrics.HistogramOpts{Name: "gha_job_execution_duration_seconds", Help: "From a runner taking the job to its end.",
		Buckets: jobBuckets, StabilityLevel: metrics.ALPHA}, append(append([]string{}, jobLabels...), "job_result"))

	// ReconcileDuration, RunnerCreateDuration and MessageLatency time the scaler's steps.
	ReconcileDuration = metrics.NewHistogram(&metrics.HistogramOpts{Name: "runnerset_scaler_reconcile_duration_seconds",
		Help: "Time of one reconcile of a RunnerSet's runners.", Buckets: metrics.ExponentialBuckets(0.001, 2, 15), StabilityLevel: metrics.ALPHA})
	RunnerCreateDuration = metrics.NewHistogram(&metrics.HistogramOpts{Name: "runnerset_scaler_runner_create_duration_seconds",
		Help: "Time to register a runner (JIT config) and create its Secret and pod.", Buckets: metrics.ExponentialBuckets(0.001, 2, 15), StabilityLevel: metrics.ALPHA})
	lostJobs = metrics.NewCounterVec(&metrics.CounterOpts{Name: "runnerset_jobs_lost_total",
		Help: "Jobs whose runner the cluster took while they ran, by reason (Evicted, Preempted, NodeLost, Deleted, OOMKilled, Killed, DeadlineExceeded).", StabilityLevel: metrics.ALPHA},
		[]string{"namespace", "name", "reason"})
	jobReruns = metrics.NewCounterVec(&metrics.CounterOpts{Name: "runnerset_job_reruns_total",
		Help: "Lost jobs and what became of them: rerun (GitHub accepted the re-run), budget (spec.lostJobReruns spent), refused (GitHub refused), not_needed (it succeeded or was cancelled anyway).", StabilityLevel: metrics.ALPHA},
		[]string{"namespace", "name", "outcome"})
	saturated = metrics.NewCounterVec(&metrics.CounterOpts{Name: "runnerset_saturated_seconds_total",
		Help: "Time the RunnerSet ran as many jobs as it may and acquired no more, by the limit (MaxRunners, Quota, NoNodes, ScaleUpRate, JITBudget).", StabilityLevel: metrics.ALPHA},
		[]string{"namespace", "name", "reason"})
	capacityGauge = metrics.NewGaugeVec(&metrics.GaugeOpts{Name: "runnerset_capacity",
		Help: "Jobs the RunnerSet may run at once, as advertised to GitHub: the least of maxRunners and what quotas and nodes leave room for.", StabilityLevel: metrics.ALPHA},
		[]string{"namespace", "name", "limit"})
	MessageLatency = metrics.NewHistogram(&metrics.HistogramOpts{Name: "runnerset_scaler_message_handling_seconds",
		Help: "Time to acknowledge a message, acquire its jobs and record what it says.", Buckets: metrics.ExponentialBuckets(0.001, 2, 15), StabilityLevel: metrics.ALPHA})

	registerOnce sync.Once
)

// Register registers the metrics with the server's registry (once).
func Register() {
	registerOnce.Do(func() {
		for _, c := range []metrics.Registerable{assignedJobs, runningJobs, registeredRunners, busyRunners, idleRunners, minRunnersGauge,
			maxRunnersGauge, desiredRunners, pendingERs, runningERs, failedERs, runningListeners, statusCondition, startedJobs, completedJobs,
			jobStartup, jobExecution, ReconcileDuration, RunnerCreateDuration, MessageLatency, lostJobs, jobReruns, saturated, capacityGauge} {
			legacyregistry.MustRegister(c)
		}
	})
}

// scaleSetMetricLabels are the gauge labels of a RunnerSet, from its config URL as ARC does.
func scaleSetMetricLabels(rs *v1alpha1.RunnerSet) []string {
	var ent, org, repo string
	if c, err := configurl.Parse(rs.Spec.GitHubConfigURL); err == nil {
		ent, org, repo = c.Enterprise, c.Organization, c.Repository
	}
	return []string{ent, org, repo, rs.Name, rs.Namespace}
}

// Counts are a RunnerSet's runners by phase, for the ephemeral-runner gauges.
type Counts struct {
	Pending, Idle, Busy, Failed int
}

// RecordStatistics sets a RunnerSet's gauges.
func RecordStatistics(rs *v1alpha1.RunnerSet, st *actions.Statistics, desired int, c Counts, listening bool) {
	l := scaleSetMetricLabels(rs)
	if st != nil {
		assignedJobs.WithLabelValues(l...).Set(float64(st.TotalAssignedJobs))
		runningJobs.WithLabelValues(l...).Set(float64(st.TotalRunningJobs))
		registeredRunners.WithLabelValues(l...).Set(float64(st.TotalRegisteredRunners))
		busyRunners.WithLabelValues(l...).Set(float64(st.TotalBusyRunners))
		idleRunners.WithLabelValues(l...).Set(float64(st.TotalIdleRunners))
	}
	minR := 0
	if rs.Spec.MinRunners != nil {
		minR = int(*rs.Spec.MinRunners)
	}
	minRunnersGauge.WithLabelValues(l...).Set(float64(minR))
	maxR := math.MaxInt32
	if rs.Spec.MaxRunners != nil {
		maxR = int(*rs.Spec.MaxRunners)
	}
	maxRunnersGauge.WithLabelValues(l...).Set(float64(maxR))
	desiredRunners.WithLabelValues(l...).Set(float64(desired))
	pendingERs.WithLabelValues(l...).Set(float64(c.Pending))
	runningERs.WithLabelValues(l...).Set(float64(c.Idle + c.Busy))
	failedERs.WithLabelValues(l...).Set(float64(c.Failed))
	v := 0.0
	if listening {
		v = 1
	}
	runningListeners.WithLabelValues(l...).Set(v)
}

// Forget drops a RunnerSet's gauges.
func Forget(rs *v1alpha1.RunnerSet) {
	l := scaleSetMetricLabels(rs)
	for _, g := range []*metrics.GaugeVec{assignedJobs, runningJobs, registeredRunners, busyRunners, idleRunners, minRunnersGauge,
		maxRunnersGauge, desiredRunners, pendingERs, runningERs, failedERs, runningListeners} {
		g.DeleteLabelValues(l...)
	}
	statusCondition.DeletePartialMatch(map[string]string{"namespace": rs.Namespace, "name": rs.Name})
	lostJobs.DeletePartialMatch(map[string]string{"namespace": rs.Namespace, "name": rs.Name})
	jobReruns.DeletePartialMatch(map[string]string{"namespace": rs.Namespace, "name": rs.Name})
	saturated.DeletePartialMatch(map[string]string{"namespace": rs.Namespace, "name": rs.Name})
	capacityGauge.DeletePartialMatch(map[string]string{"namespace": rs.Namespace, "name": rs.Name})
}

// Saturated counts time a RunnerSet spent saturated, by the limit that held it.
func Saturated(namespace, name, reason string, d time.Duration) {
	if d > 0 {
		saturated.WithLabelValues(namespace, name, reason).Add(d.Seconds())
	}
}

// Capacity sets the capacity advertised to GitHub and what limits it (unbounded: MaxInt32).
func Capacity(namespace, name, limit string, capacity int) {
	capacityGauge.DeletePartialMatch(map[string]string{"namespace": namespace, "name": name})
	capacityGauge.WithLabelValues(namespace, name, limit).Set(float64(capacity))
}

// JobLost counts a job lost with its runner.
func JobLost(namespace, name, reason string) {
	lostJobs.WithLabelValues(namespace, name, reason).Inc()
}

// Outcomes of a lost job, for JobRerun.
const (
	RerunDone      = "rerun"
	RerunBudget    = "budget"
	RerunRefused   = "refused"
	RerunNotNeeded = "not_needed"
)

// JobRerun counts what became of a lost job.
func JobRerun(namespace, name, outcome string) {
	jobReruns.WithLabelValues(namespace, name, outcome).Inc()
}

// RecordConditions sets the condition series of a RunnerSet from its status.
func RecordConditions(rs *v1alpha1.RunnerSet, conditions []metav1.Condition) {
	for _, c := range conditions {
		for _, s := range []metav1.ConditionStatus{metav1.ConditionTrue, metav1.ConditionFalse, metav1.ConditionUnknown} {
			v := 0.0
			if c.Status == s {
				v = 1
			}
			statusCondition.WithLabelValues(rs.Namespace, rs.Name, c.Type, strings.ToLower(string(s))).Set(v)
		}
	}
}

// RecordJob counts a job event and observes its durations, as ARC's listener does.
func RecordJob(rs *v1alpha1.RunnerSet, j actions.JobMessage) {
	var ent string
	if c, err := configurl.Parse(rs.Spec.GitHubConfigURL); err == nil {
		ent = c.Enterprise
	}
	l := []string{ent, j.OwnerName, j.RepositoryName, j.JobDisplayName, j.EventName}
	switch j.MessageType {
	case actions.JobMessageStarted:
		startedJobs.WithLabelValues(l...).Inc()
		if !j.RunnerAssignTime.IsZero() && !j.ScaleSetAssignTime.IsZero() {
			jobStartup.WithLabelValues(l...).Observe(j.RunnerAssignTime.Sub(j.ScaleSetAssignTime).Truncate(1e9).Seconds())
		}
	case actions.JobMessageCompleted:
		if j.RunnerAssignTime.IsZero() {
			return // canceled before a runner took it: ARC skips these too
		}
		lr := append(l, j.Result)
		completedJobs.WithLabelValues(lr...).Inc()
		if !j.FinishTime.IsZero() {
			jobExecution.WithLabelValues(lr...).Observe(j.FinishTime.Sub(j.RunnerAssignTime).Truncate(1e9).Seconds())
		}
	}
}
