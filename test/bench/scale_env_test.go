//go:build bench

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

package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	"actions.dev/runnerset-apiserver/pkg/github/simulator"
	"actions.dev/runnerset-apiserver/pkg/localsystem"
)

const (
	mebi = 1 << 20
	gibi = 1 << 30
	// etcdDefaultQuota is etcd's --quota-backend-bytes default, used when etcd does not say.
	etcdDefaultQuota = 2 * gibi
)

// usage is what the server, the control plane and the machine hold at one moment.
type usage struct {
	serverRSS  int64
	serverHeap float64
	apiRSS     int64 // kube-apiserver
	etcdRSS    int64
	etcdDB     int64 // etcd's backend file: what its quota counts
	available  int64 // the machine's MemAvailable
}

func (s *scaleRun) usage(ctx context.Context) usage {
	var u usage
	u.serverRSS, _, _ = procStatus(s.serverPID)
	u.serverHeap, _ = s.metric(ctx, "go_memstats_heap_inuse_bytes")
	u.apiRSS, _, _ = procStatus(s.sys.ComponentPID("kube-apiserver"))
	u.etcdRSS, _, _ = procStatus(s.sys.ComponentPID("etcd"))
	u.etcdDB = s.etcdDBSize()
	u.available = memAvailable()
	return u
}

func (s *scaleRun) etcdDBSize() int64 {
	fi, err := os.Stat(filepath.Join(s.dir, "data", "etcd", "member", "snap", "db"))
	if err != nil {
		return 0
	}
	return fi.Size()
}

// memAvailable is the machine's MemAvailable in bytes (0 if unknown).
func memAvailable() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "MemAvailable:"); ok {
			kb, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			return kb * 1024
		}
	}
	return 0
}

func cmdline(pid int) []string {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || len(data) == 0 {
		return nil
	}
	return strings.Split(strings.TrimRight(string(data), "\x00"), "\x00")
}

func flagValue(args []string, name string) string {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v
		}
	}
	return ""
}

// etcdQuota reads etcd's backend quota from its /metrics (the kube-apiserver's --etcd-servers).
func (s *scaleRun) etcdQuota(ctx context.Context) float64 {
	url := flagValue(cmdline(s.sys.ComponentPID("kube-apiserver")), "--etcd-servers")
	if url == "" {
		return etcdDefaultQuota
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.Split(url, ",")[0]+"/metrics", nil)
	if err != nil {
		return etcdDefaultQuota
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return etcdDefaultQuota
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if v := sumMetric(string(body), "etcd_server_quota_backend_bytes"); v > 0 {
		return v
	}
	return etcdDefaultQuota
}

// sumMetric sums the samples of a metric in a Prometheus text exposition whose labels contain
// every one of labels (e.g. `resource="pods"`).
func sumMetric(body, name string, labels ...string) float64 {
	sum := 0.0
	for _, line := range strings.Split(body, "\n") {
		if !strings.HasPrefix(line, name+" ") && !strings.HasPrefix(line, name+"{") {
			continue
		}
		matches := true
		for _, l := range labels {
			matches = matches && strings.Contains(line, l)
		}
		fields := strings.Fields(line)
		if v, err := strconv.ParseFloat(fields[len(fields)-1], 64); err == nil && matches {
			sum += v
		}
	}
	return sum
}

// objectCounts counts the cluster's pods, Secrets and events: one-item lists, whose
// remainingItemCount the kube-apiserver computes.
func (s *scaleRun) objectCounts(ctx context.Context) string {
	core := s.kube.CoreV1()
	one := metav1.ListOptions{Limit: 1}
	var parts []string
	if l, err := core.Pods("").List(ctx, one); err == nil {
		parts = append(parts, fmt.Sprintf("%d pods", int64(len(l.Items))+ptr.Deref(l.RemainingItemCount, 0)))
	}
	if l, err := core.Secrets("").List(ctx, one); err == nil {
		parts = append(parts, fmt.Sprintf("%d Secrets", int64(len(l.Items))+ptr.Deref(l.RemainingItemCount, 0)))
	}
	if l, err := core.Events("").List(ctx, one); err == nil {
		parts = append(parts, fmt.Sprintf("%d events", int64(len(l.Items))+ptr.Deref(l.RemainingItemCount, 0)))
	}
	return "the cluster holds " + strings.Join(parts, ", ")
}

// apiserverDBSize is etcd's db size as the kube-apiserver reports it on /metrics.
func (s *scaleRun) apiserverDBSize(ctx context.Context) float64 {
	body, err := s.kube.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return 0
	}
	return sumMetric(string(body), "apiserver_storage_size_bytes")
}

// addNodes adds kwok nodes like the local system's one until every pod of the run has room.
func (s *scaleRun) addNodes(ctx context.Context) error {
	node0, err := s.kube.CoreV1().Nodes().Get(ctx, localsystem.FakeNodeName, metav1.GetOptions{})
	if err != nil {
		return err
	}
	perNode := max(node0.Status.Allocatable.Pods().Value(), 1)
	need := int64(*scaleSets**scalePerSet + 2**scaleBurst + 1000)
	var names []string
	for i := 1; int64(i)*perNode < need; i++ {
		name := fmt.Sprintf("kwok-node-scale-%02d", i)
		labels := maps.Clone(node0.Labels)
		labels[corev1.LabelHostname] = name
		node := &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels, Annotations: map[string]string{
				"node.alpha.kubernetes.io/ttl": "0", localsystem.FakeNodeTaintKey: localsystem.FakeNodeTaintVal}},
			Status: corev1.NodeStatus{Allocatable: node0.Status.Allocatable, Capacity: node0.Status.Capacity, Phase: corev1.NodeRunning},
		}
		if _, err := s.kube.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
		names = append(names, name)
	}
	err = wait.PollUntilContextTimeout(ctx, time.Second, time.Minute, true, func(ctx context.Context) (bool, error) {
		for _, n := range names {
			node, err := s.kube.CoreV1().Nodes().Get(ctx, n, metav1.GetOptions{})
			if err != nil || !nodeReady(node) {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("kwok nodes %v not Ready: %w", names, err)
	}
	s.logf("%d kwok nodes of %d pods each added beside %s", len(names), perNode, localsystem.FakeNodeName)
	return nil
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// fastScheduler restarts kube-scheduler with more client QPS than its default 50, which would
// otherwise bound every pod's binding, whatever the server does.
func (s *scaleRun) fastScheduler(ctx context.Context) error {
	args := cmdline(s.sys.ComponentPID("kube-scheduler"))
	if len(args) == 0 {
		return fmt.Errorf("kube-scheduler is not running")
	}
	port, err := localsystem.FreePort()
	if err != nil {
		return err
	}
	var keep []string
	for _, a := range args[1:] {
		if !strings.HasPrefix(a, "--secure-port=") && !strings.HasPrefix(a, "--kube-api-qps=") && !strings.HasPrefix(a, "--kube-api-burst=") {
			keep = append(keep, a)
		}
	}
	keep = append(keep, "--secure-port="+strconv.Itoa(port), fmt.Sprintf("--kube-api-qps=%d", *scaleSchedQPS), fmt.Sprintf("--kube-api-burst=%d", 2**scaleSchedQPS))
	if err := s.sys.StopComponent("kube-scheduler", 10*time.Second); err != nil {
		return err
	}
	_, err = s.sys.StartProcess(ctx, localsystem.ProcessOptions{Name: "kube-scheduler-scale", Binary: args[0], Args: keep,
		ReadyURL: fmt.Sprintf("https://127.0.0.1:%d/healthz", port)})
	if err == nil {
		s.logf("kube-scheduler restarted with --kube-api-qps=%d", *scaleSchedQPS)
	}
	return err
}

// setName and nsName place RunnerSet i: -scale-per-ns to a namespace.
func setName(i int) string { return fmt.Sprintf("s%04d", i) }
func nsName(i int) string  { return fmt.Sprintf("%s%03d", nsScalePrefix, i / *scalePerNS) }

// prepare makes room and records the state before the scale-up: nodes, namespaces with their
// pod trackers, the takeover's RunnerSet, etcd's quota and the memory in use.
func (s *scaleRun) prepare() error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := s.addNodes(ctx); err != nil {
		return err
	}
	if *scaleSchedQPS > 0 {
		if err := s.fastScheduler(ctx); err != nil {
			return fmt.Errorf("restarting kube-scheduler: %w", err)
		}
	}
	if *scaleRESTLimit > 0 {
		if _, err := s.sim.UpdateSettings(simulator.Settings{RESTRateLimit: *scaleRESTLimit}); err != nil {
			return fmt.Errorf("raising the simulator's REST budget: %w", err)
		}
	}
	for _, ns := range []string{nsBurst, nsBase, nsIdle} {
		if err := s.namespace(ctx, ns); err != nil {
			return err
		}
	}
	for i := 0; i < *scaleSets; i += *scalePerNS {
		ns := nsName(i)
		if err := s.namespace(ctx, ns); err != nil {
			return err
		}
		t, err := track(ctx, s.kube, pods, ns, v1alpha1.LabelRunnerSet)
		if err != nil {
			return err
		}
		s.trackers[ns] = t
	}
	s.probe = scaleSet{ns: nsIdle, name: "scale-probe"}
	if err := s.createRunnerSets(ctx, s.runnerSet(s.probe.ns, s.probe.name, 0, 5)); err != nil {
		return err
	}
	ids, err := s.waitReady(ctx, s.probe.ns, []string{s.probe.name}, time.Minute)
	if err != nil {
		return err
	}
	s.ids[s.probe.key()] = ids[s.probe.name]
	s.etcdMax = s.etcdQuota(ctx)
	// The server's memory once its start-up garbage is collected, as the heap profile forces.
	s.profile(ctx, "scale-before-heap", "heap", 0)
	s.before = s.usage(ctx)
	s.logf("before the scale-up: server RSS %.0f MiB, heap %.0f MiB; kube-apiserver %.0f MiB; etcd %.0f MiB, db %.0f MiB of %.0f; MemAvailable %.1f GiB",
		float64(s.before.serverRSS)/mebi, s.before.serverHeap/mebi, float64(s.before.apiRSS)/mebi, float64(s.before.etcdRSS)/mebi,
		float64(s.before.etcdDB)/mebi, s.etcdMax/mebi, float64(s.before.available)/gibi)
	return nil
}
