//go:build e2e

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

package e2e

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/contract"
	"actions.dev/runnerset-apiserver/pkg/github/simulator"
)

// fleet creates a namespace with the PAT Secret and a RunnerSet on the simulator, and waits until
// it is Ready (registered, session open).
func fleet(t *testing.T, ns, name string, minRunners, maxRunners int32) *v1alpha1.RunnerSet {
	t.Helper()
	namespace(t, ns)
	_, err := kubeClient(t, "admin").CoreV1().Secrets(ns).Create(context.Background(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "github-pat"},
		StringData: map[string]string{"github_token": simulator.DefaultPAT},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	rs := runnerSet(ns, name)
	rs.Spec.GitHubConfigURL = gh.ConfigURL("acme/" + name)
	rs.Spec.GitHubServerTLS = trustSimulator(t, ns)
	rs.Spec.MinRunners, rs.Spec.MaxRunners = ptr.To(minRunners), ptr.To(maxRunners)
	create(t, rs)
	eventually(t, 60*time.Second, name+" Ready", func(ctx context.Context) (bool, error) {
		got, err := actionsClient(t, "admin").ActionsV1alpha1().RunnerSets(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		rs = got
		return meta.IsStatusConditionTrue(got.Status.Conditions, v1alpha1.ConditionReady), nil
	})
	return rs
}

// trustSimulator stores the simulator's CA in a ConfigMap of ns, as a GitHub Enterprise Server
// user stores hers, and returns the githubServerTLS that names it (mounted in runner pods).
func trustSimulator(t *testing.T, ns string) *v1alpha1.TLSConfig {
	t.Helper()
	_, err := kubeClient(t, "admin").CoreV1().ConfigMaps(ns).Create(context.Background(), &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "github-ca"},
		Data:       map[string]string{"ca.crt": string(gh.CACertPEM())},
	}, metav1.CreateOptions{})
	if !apierrors.IsAlreadyExists(err) {
		require.NoError(t, err)
	}
	return &v1alpha1.TLSConfig{
		CertificateFrom: &v1alpha1.TLSCertificateSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: "github-ca"}, Key: "ca.crt",
		}},
		RunnerMountPath: "/usr/local/share/ca-certificates/",
	}
}

func runnerPods(t *testing.T, ns string) []corev1.Pod {
	t.Helper()
	pods, err := kubeClient(t, "admin").CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: v1alpha1.LabelRunnerSet})
	require.NoError(t, err)
	return pods.Items
}

// audit checks nothing is left behind: no pod, Secret, session or registration.
func audit(t *testing.T, ns string, scaleSetID int, scaleSetGone bool) {
	t.Helper()
	eventually(t, 90*time.Second, "nothing left behind in "+ns, func(ctx context.Context) (bool, error) {
		pods, _ := kubeClient(t, "admin").CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: v1alpha1.LabelRunnerSet})
		secrets, _ := kubeClient(t, "admin").CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{LabelSelector: v1alpha1.LabelRunnerSet})
		registered := 0
		for _, r := range gh.Runners() {
			if r.ScaleSetID == scaleSetID {
				registered++
			}
		}
		sessions := 0
		for _, s := range gh.Sessions() {
			if s.RunnerScaleSet != nil && s.RunnerScaleSet.ID == scaleSetID {
				sessions++
			}
		}
		exists := false
		for _, ss := range gh.ScaleSets() {
			exists = exists || ss.ID == scaleSetID
		}
		if len(pods.Items)+len(secrets.Items)+registered > 0 || (scaleSetGone && (exists || sessions > 0)) {
			t.Logf("left: %d pods, %d secrets, %d registrations, scale set exists=%v, %d sessions%s", len(pods.Items), len(secrets.Items), registered, exists, sessions, describePods(pods.Items))
			return false, nil
		}
		return true, nil
	})
}

// describePods says which pods are left and in what state, for a failing audit.
func describePods(pods []corev1.Pod) string {
	var b strings.Builder
	for _, p := range pods {
		fmt.Fprintf(&b, "; pod %s: phase %s, node %q, created %s, deleting %v, finalizers %v, owners %v",
			p.Name, p.Status.Phase, p.Spec.NodeName, p.CreationTimestamp.Format("15:04:05.000"), p.DeletionTimestamp != nil, p.Finalizers, p.OwnerReferences)
	}
	return b.String()
}

// TestScalerRunsJobsEndToEnd is the seed document's whole flow: jobs queued on GitHub, the scaler
// hears them, runner pods register with JIT configs, run the jobs and go away.
func TestScalerRunsJobsEndToEnd(t *testing.T) {
	const ns, name, jobs = "e2e-scaler", "fleet", 20
	rs := fleet(t, ns, name, 0, jobs)
	scaleSetID := int(rs.Status.ScaleSetID)
	// A watch on runner Secrets records the most runners that ever existed at once.
	peak := make(chan int, 1)
	watchCtx, stopWatch := context.WithCancel(context.Background())
	go func() {
		most, live := 0, map[string]bool{}
		w, err := kubeClient(t, "admin").CoreV1().Secrets(ns).Watch(watchCtx, metav1.ListOptions{LabelSelector: v1alpha1.LabelRunnerSet})
		if err == nil {
			for ev := range w.ResultChan() {
				if s, ok := ev.Object.(*corev1.Secret); ok {
					live[s.Name] = ev.Type != "DELETED"
					n := 0
					for _, alive := range live {
						if alive {
							n++
						}
					}
					most = max(most, n)
				}
			}
		}
		peak <- most
	}()
	require.NotZero(t, scaleSetID)
	assert.Contains(t, rs.Finalizers, v1alpha1.RunnerSetFinalizer)

	queued := time.Now()
	var ids []int64
	for i := 0; i < jobs; i++ {
		ids = append(ids, gh.QueueJob(simulator.Job{
			Labels: []string{name}, Owner: "acme", Repository: name, DisplayName: fmt.Sprintf("build-%d", i), Duration: 4 * time.Second,
		}))
	}
	// Scale up: one runner per job.
	eventually(t, 90*time.Second, "20 runner pods", func(ctx context.Context) (bool, error) {
		return len(runnerPods(t, ns)) >= jobs, nil
	})
	scaleUp := time.Since(queued)

	// While jobs run, kubectl get runners shows both sides.
	sawBusy := false
	eventually(t, 60*time.Second, "a busy runner in kubectl get runners", func(ctx context.Context) (bool, error) {
		out, _, err := sys.Kubectl(ctx, "admin", "get", "runners", "-n", ns)
		if err != nil {
			return false, nil
		}
		for _, line := range strings.Split(out, "\n") {
			if strings.Contains(line, "online/busy") && strings.Contains(line, "acme/fleet:build-") && strings.Contains(line, "Running") && strings.Contains(line, "kwok-node-0") {
				sawBusy = true
			}
		}
		return sawBusy, nil
	})
	header := strings.Fields(strings.Split(kubectl(t, "admin", "get", "runners", "-n", ns), "\n")[0])
	assert.Equal(t, []string{"NAME", "RUNNERSET", "GITHUB", "JOB", "POD", "NODE", "AGE"}, header)
	wide := kubectl(t, "admin", "get", "runners", "-n", ns, "-o", "wide")
	assert.Contains(t, wide, "acme/fleet/.github/workflows/ci.yml@refs/heads/main")

	// Every job completes exactly once.
	eventually(t, 120*time.Second, "all jobs completed", func(ctx context.Context) (bool, error) {
		for _, id := range ids {
			j, ok := gh.Job(id)
			if !ok || j.State != "completed" {
				return false, nil
			}
		}
		return true, nil
	})
	for _, id := range ids {
		j, _ := gh.Job(id)
		assert.Equal(t, "succeeded", j.Result, "job %d", id)
		assert.Equal(t, scaleSetID, j.ScaleSetID)
	}
	// And the runners go back to minRunners (0), leaving nothing behind.
	done := time.Now()
	audit(t, ns, scaleSetID, false)
	teardown := time.Since(done)
	stopWatch()
	assert.LessOrEqual(t, <-peak, jobs, "never more runners than maxRunners")
	t.Logf("scale-up: %d jobs queued -> %d runner pods in %s; last job completed -> all runners gone in %s", jobs, jobs, scaleUp.Round(time.Millisecond), teardown.Round(time.Millisecond))

	// kubectl scale keeps a warm pool of idle runners.
	kubectl(t, "admin", "scale", "rset", name, "-n", ns, "--replicas=3")
	eventually(t, 60*time.Second, "3 idle runners", func(ctx context.Context) (bool, error) {
		running := 0
		for _, p := range runnerPods(t, ns) {
			if p.Status.Phase == corev1.PodRunning {
				running++
			}
		}
		st, _ := gh.Statistics(scaleSetID)
		return running == 3 && st.TotalIdleRunners == 3, nil
	})
	// The status follows the pods by one reconcile: poll it rather than read it once.
	eventually(t, 30*time.Second, "status.currentRunners 3", func(ctx context.Context) (bool, error) {
		got, err := actionsClient(t, "admin").ActionsV1alpha1().RunnerSets(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		return got.Status.CurrentRunners == 3, nil
	})
	eventually(t, 30*time.Second, "idle runners shown online", func(ctx context.Context) (bool, error) {
		out, _, _ := sys.Kubectl(ctx, "admin", "get", "runners", "-n", ns)
		return strings.Count(out, "online/idle") == 3, nil
	})

	// Drift: a runner whose pod and Secret vanish behind the server's back stays registered on
	// GitHub; it is listed as GitHubOnly (and a replacement keeps the warm pool at 3).
	victim := runnerPods(t, ns)[0].Name
	require.NoError(t, kubeClient(t, "admin").CoreV1().Secrets(ns).Delete(context.Background(), victim, metav1.DeleteOptions{}))
	require.NoError(t, kubeClient(t, "admin").CoreV1().Pods(ns).Delete(context.Background(), victim, metav1.DeleteOptions{}))
	var lastOut string
	defer func() {
		if t.Failed() {
			status, _, _ := sys.Kubectl(context.Background(), "admin", "get", "rset", name, "-n", ns, "-o", "jsonpath={.status}")
			t.Logf("last kubectl get runners -o wide:\n%s\nvictim %s\nstatus: %s", lastOut, victim, status)
		}
	}()
	eventually(t, 60*time.Second, "the orphan registration listed as drift", func(ctx context.Context) (bool, error) {
		out, _, _ := sys.Kubectl(ctx, "admin", "get", "runners", "-n", ns, "-o", "wide")
		lastOut = out
		for _, line := range strings.Split(out, "\n") {
			if strings.HasPrefix(line, victim+" ") && strings.Contains(line, "GitHubOnly") && strings.Contains(line, "<none>") {
				return true, nil
			}
		}
		return false, nil
	})
	// The condition comes with the drift check's status write, which may follow the list.
	eventually(t, 30*time.Second, "condition OrphanRunners=True", func(ctx context.Context) (bool, error) {
		rsNow, err := actionsClient(t, "admin").ActionsV1alpha1().RunnerSets(ns).Get(ctx, name, metav1.GetOptions{})
		return err == nil && meta.IsStatusConditionTrue(rsNow.Status.Conditions, v1alpha1.ConditionOrphanRunners), nil
	})

	// Deleting the RunnerSet drains it: scale set, session, runners, pods and Secrets all go.
	kubectl(t, "admin", "delete", "rset", name, "-n", ns, "--timeout=90s")
	audit(t, ns, scaleSetID, true)
	_, err := actionsClient(t, "admin").ActionsV1alpha1().RunnerSets(ns).Get(context.Background(), name, metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err))
}

// TestDeleteRunner: kubectl delete runner deregisters an idle runner and deletes its pod; a busy
// one is refused with a clear message unless forced.
func TestDeleteRunner(t *testing.T) {
	const ns, name = "e2e-delete-runner", "del"
	rs := fleet(t, ns, name, 1, 3)
	var idle string
	eventually(t, 60*time.Second, "an idle runner", func(ctx context.Context) (bool, error) {
		for _, p := range runnerPods(t, ns) {
			if p.Status.Phase == corev1.PodRunning {
				idle = p.Name
			}
		}
		return idle != "", nil
	})
	kubectl(t, "admin", "delete", "runner", idle, "-n", ns)
	_, err := kubeClient(t, "admin").CoreV1().Pods(ns).Get(context.Background(), idle, metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "pod deleted: %v", err)
	for _, r := range gh.Runners() {
		assert.NotEqual(t, idle, r.Name, "deregistered on GitHub")
	}

	// A long job keeps a runner busy.
	gh.QueueJob(simulator.Job{Labels: []string{name}, Owner: "acme", Repository: name, DisplayName: "long", Duration: 10 * time.Minute})
	var busy string
	eventually(t, 60*time.Second, "a busy runner", func(ctx context.Context) (bool, error) {
		for _, p := range runnerPods(t, ns) {
			if p.Annotations[v1alpha1.AnnotationJobRequestID] != "" {
				busy = p.Name
			}
		}
		return busy != "", nil
	})
	// Node autoscalers keep the busy runner's node and may take the idle ones'.
	for _, p := range runnerPods(t, ns) {
		isBusy := p.Name == busy
		assert.Equal(t, strconv.FormatBool(!isBusy), p.Annotations[contract.AnnotationSafeToEvict], "pod %s (busy %t): cluster-autoscaler", p.Name, isBusy)
		assert.Equal(t, strconv.FormatBool(isBusy), p.Annotations[contract.AnnotationDoNotDisrupt], "pod %s (busy %t): Karpenter", p.Name, isBusy)
	}
	errOut := kubectlFails(t, "admin", "delete", "runner", busy, "-n", ns)
	assert.Contains(t, errOut, "running job")
	assert.Contains(t, errOut, "--force --grace-period=0")
	kubectl(t, "admin", "delete", "runner", busy, "-n", ns, "--force", "--grace-period=0")
	_, err = kubeClient(t, "admin").CoreV1().Pods(ns).Get(context.Background(), busy, metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err) || err == nil, "forced delete went through: %v", err)

	kubectl(t, "admin", "delete", "rset", name, "-n", ns, "--timeout=90s")
	audit(t, ns, int(rs.Status.ScaleSetID), true)
}
