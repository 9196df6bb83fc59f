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
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"actions.dev/runnerset-apiserver/pkg/github/simulator"
	"actions.dev/runnerset-apiserver/pkg/localsystem"
)

// ARC's names, as its charts install it (helm install arc ... -n arc-systems).
const (
	arcNamespace      = "arc-systems"
	arcControllerSA   = "arc-gha-rs-controller"
	arcListenerLabel  = "app.kubernetes.io/component=runner-scale-set-listener"
	arcScaleSetIDAnno = "runner-scale-set-id"
	arcCAConfigMap    = "github-ca"
)

var (
	arcRunnerSets          = schema.GroupVersionResource{Group: "actions.github.com", Version: "v1alpha1", Resource: "autoscalingrunnersets"}
	arcListeners           = schema.GroupVersionResource{Group: "actions.github.com", Version: "v1alpha1", Resource: "autoscalinglisteners"}
	arcEphemeralRunnerSets = schema.GroupVersionResource{Group: "actions.github.com", Version: "v1alpha1", Resource: "ephemeralrunnersets"}
)

// arcEnv is ARC on a local system of its own: the control plane and the simulator as the bench
// starts them, no server of ours, ARC's controller as a process and its listeners as processes.
type arcEnv struct {
	b         *bench
	version   string
	dyn       dynamic.Interface
	ctrl      *localsystem.Process
	ctrlPID   int
	ctrlArgs  []string
	metrics   string // the controller's /metrics URL
	listeners *listenerSupervisor
	repairs   atomic.Int32 // stale AutoscalingListeners deleted (see repairListener)
	stopLoop  context.CancelFunc
	loopDone  chan struct{}
}

func startARC(t *testing.T, extra []string) *arcEnv {
	b := &bench{t: t, sz: full, root: repoRoot(), start: time.Now(), rng: rand.New(rand.NewPCG(uint64(*seed), 0x5eed)), idleSets: map[string]int{}, done: make(chan struct{})}
	if *binDir == "" {
		*binDir = filepath.Join(b.root, "_output", "bin")
	}
	dir, err := os.MkdirTemp(filepath.Join(b.root, "_output"), "bench-arc-")
	if err != nil {
		t.Fatal(err)
	}
	b.dir = dir
	e := &arcEnv{b: b, version: readARCVersion(*arcBin, *arcSrc).Version}
	t.Cleanup(e.stop) // also on t.Fatal: no listener or controller outlives the test
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if b.sys, err = localsystem.Start(ctx, localsystem.Options{BinDir: *binDir, Dir: dir, Simulator: &localsystem.SimulatorOptions{
		Binary: filepath.Join(*binDir, "github-simulator"),
		// As the bench starts it (env_test.go).
		Args: []string{"--runner-namespace=" + nsEmu, fmt.Sprintf("--seed=%d", *seed), "--assign-timeout=30m", "--kube-api-qps=1000", "--kube-api-burst=2000"},
	}}); err != nil {
		t.Fatalf("starting the local system: %v", err)
	}
	b.logf("local system for ARC up (state in %s)", dir)
	if err := e.clients(); err != nil {
		t.Fatal(err)
	}
	if err := e.installController(ctx, extra); err != nil {
		t.Fatalf("ARC's controller: %v", err)
	}
	if e.listeners, err = startListenerSupervisor(e); err != nil {
		t.Fatalf("ARC's listeners: %v", err)
	}
	e.startRepairLoop()
	return e
}

// startRepairLoop runs repairListener for every listener every 3 s: the race it repairs can
// leave a listener on a deleted EphemeralRunnerSet after its session opened.
func (e *arcEnv) startRepairLoop() {
	ctx, cancel := context.WithCancel(context.Background())
	e.stopLoop, e.loopDone = cancel, make(chan struct{})
	go func() {
		defer close(e.loopDone)
		tick := time.NewTicker(3 * time.Second)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				e.repairListener(ctx, "", "")
			}
		}
	}()
}

func (e *arcEnv) clients() error {
	b := e.b
	b.simURL = b.sys.SimulatorURL()
	ca, err := os.ReadFile(b.sys.SimulatorCAFile())
	if err != nil {
		return fmt.Errorf("reading the simulator's CA: %w", err)
	}
	if b.sim, err = simulator.NewControlClientTLS(b.simURL, ca); err != nil {
		return err
	}
	b.simRoots = x509.NewCertPool()
	b.simRoots.AppendCertsFromPEM(ca)
	admin := b.sys.RESTConfig(localsystem.UserAdmin)
	b.kube = kubernetes.NewForConfigOrDie(admin)
	e.dyn, err = dynamic.NewForConfig(admin)
	return err
}

// installController applies ARC's CRDs and the controller chart's RBAC (everything but its
// Deployment) and starts the controller with ARC's defaults, as the chart's Deployment would
// (its ServiceAccount's token, the same environment), but as a local process; extra flags
// (then -arc-controller-args) follow.
func (e *arcEnv) installController(ctx context.Context, extra []string) error {
	s := e.b.sys
	if err := e.applyControllerChart(ctx); err != nil {
		return err
	}
	kubeconfig, err := s.ServiceAccountKubeconfig(ctx, arcNamespace, arcControllerSA, 6*time.Hour)
	if err != nil {
		return err
	}
	ports := make([]int, 2)
	for i := range ports {
		if ports[i], err = localsystem.FreePort(); err != nil {
			return err
		}
	}
	e.metrics = fmt.Sprintf("http://127.0.0.1:%d/metrics", ports[0])
	e.ctrlArgs = append([]string{"--auto-scaling-runner-set-only", "--log-level=info", "--listener-metrics-addr=0", "--listener-metrics-endpoint=",
		fmt.Sprintf("--metrics-addr=127.0.0.1:%d", ports[0]), fmt.Sprintf("--health-probe-bind-address=127.0.0.1:%d", ports[1]), "--port=0"},
		append(slices.Clone(extra), strings.Fields(*arcArgs)...)...)
	e.ctrl, err = s.StartProcess(ctx, localsystem.ProcessOptions{
		Name: "arc-controller", Binary: filepath.Join(*arcBin, "manager"), Args: e.ctrlArgs,
		Env: []string{"KUBECONFIG=" + kubeconfig, "CONTROLLER_MANAGER_CONTAINER_IMAGE=ghcr.io/actions/gha-runner-scale-set-controller:" + e.version,
			"CONTROLLER_MANAGER_POD_NAMESPACE=" + arcNamespace},
		ReadyURL: fmt.Sprintf("http://127.0.0.1:%d/readyz", ports[1]),
	})
	if err != nil {
		return err
	}
	want := fmt.Sprintf("--metrics-addr=127.0.0.1:%d", ports[0])
	for pid, args := range processes() {
		if filepath.Base(args[0]) == "manager" && slices.Contains(args, want) {
			e.ctrlPID = pid
		}
	}
	e.b.logf("ARC %s controller running (pid %d): %v", e.version, e.ctrlPID, e.ctrlArgs)
	return nil
}

// applyControllerChart applies ARC's CRDs, waits until they are served, and applies the
// controller chart's objects but its Deployment.
func (e *arcEnv) applyControllerChart(ctx context.Context) error {
	s := e.b.sys
	chart := filepath.Join(*arcSrc, "charts", "gha-runner-scale-set-controller")
	if err := s.ApplyFile(ctx, filepath.Join(chart, "crds")); err != nil {
		return err
	}
	// The controller fails at start-up if its kinds are not served yet.
	err := waitUntil(ctx, time.Minute, "ARC's CRDs served", func() bool {
		list, err := e.b.kube.Discovery().ServerResourcesForGroupVersion(arcRunnerSets.GroupVersion().String())
		if err != nil {
			return false
		}
		kinds := 0
		for _, r := range list.APIResources {
			if !strings.Contains(r.Name, "/") {
				kinds++
			}
		}
		return kinds >= 4 // autoscalingrunnersets, autoscalinglisteners, ephemeralrunnersets, ephemeralrunners
	})
	if err != nil {
		return err
	}
	if err := s.EnsureNamespace(ctx, arcNamespace); err != nil {
		return err
	}
	out, _, err := s.Helm(ctx, localsystem.UserAdmin, "template", "arc", chart, "-n", arcNamespace)
	if err != nil {
		return err
	}
	return s.Apply(ctx, []byte(withoutKind(out, "Deployment")))
}

// withoutKind drops the documents of a kind from a multi-document YAML stream.
func withoutKind(manifests, kind string) string {
	var keep []string
	for _, doc := range strings.Split(manifests, "\n---") {
		if !strings.Contains(doc, "\nkind: "+kind+"\n") {
			keep = append(keep, doc)
		}
	}
	return strings.Join(keep, "\n---")
}

func (e *arcEnv) stop() {
	if e.stopLoop != nil {
		e.stopLoop()
		<-e.loopDone
		e.stopLoop = nil
	}
	if e.listeners != nil {
		e.listeners.stop()
		e.listeners = nil
	}
	if e.ctrl != nil {
		e.ctrl.Stop()
		e.ctrl = nil
	}
	if e.b.sys != nil {
		e.b.sys.Stop()
		e.b.sys = nil
		if !*keep && !e.b.t.Failed() {
			os.RemoveAll(e.b.dir)
		} else {
			e.b.t.Logf("ARC's state and logs kept in %s", e.b.dir)
		}
	}
}

// createSet installs the gha-runner-scale-set chart (helm template, applied) for repository
// bench/<name>, trusting the simulator's CA, its runner pods labelled for the runner emulator.
func (e *arcEnv) createSet(ctx context.Context, ns, name string, maxRunners int) (int, error) {
	s, b := e.b.sys, e.b
	if err := b.sim.DeclareAccount(jobOwner + "/" + name); err != nil {
		return 0, err
	}
	if err := e.caConfigMap(ctx, ns); err != nil {
		return 0, err
	}
	values := map[string]any{
		"githubConfigUrl":    b.simURL + "/" + jobOwner + "/" + name,
		"githubConfigSecret": map[string]any{"github_token": simulator.DefaultPAT},
		"githubServerTLS": map[string]any{"certificateFrom": map[string]any{"configMapKeyRef": map[string]any{"name": arcCAConfigMap, "key": "ca.crt"}},
			"runnerMountPath": "/usr/local/share/ca-certificates/"},
		"minRunners": 0, "maxRunners": maxRunners, "runnerScaleSetName": name,
		"controllerServiceAccount": map[string]any{"namespace": arcNamespace, "name": arcControllerSA},
		"template": map[string]any{
			"metadata": map[string]any{"labels": map[string]any{"actions.dev/runnerset": name}},
			"spec":     map[string]any{"containers": []any{map[string]any{"name": "runner", "image": runnerImage, "command": []string{"/home/runner/run.sh"}}}},
		},
	}
	data, _ := json.Marshal(values)
	file := filepath.Join(b.dir, "values-"+name+".json")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		return 0, err
	}
	out, _, err := s.Helm(ctx, localsystem.UserAdmin, "template", name, filepath.Join(*arcSrc, "charts", "gha-runner-scale-set"), "-n", ns, "-f", file)
	if err != nil {
		return 0, err
	}
	if err := s.Apply(ctx, []byte(out)); err != nil {
		return 0, err
	}
	return e.waitSession(ctx, ns, name, 2*time.Minute)
}

func (e *arcEnv) caConfigMap(ctx context.Context, ns string) error {
	if err := e.b.sys.EnsureNamespace(ctx, ns); err != nil {
		return err
	}
	ca, err := os.ReadFile(e.b.sys.SimulatorCAFile())
	if err != nil {
		return err
	}
	_, err = e.b.kube.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: arcCAConfigMap}, Data: map[string]string{"ca.crt": string(ca)}}, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		err = nil
	}
	return err
}

// waitSession waits until the AutoscalingRunnerSet has its scale set and a listener holds a
// message session for it on the simulator.
func (e *arcEnv) waitSession(ctx context.Context, ns, name string, timeout time.Duration) (int, error) {
	id := 0
	checked := time.Now()
	err := waitUntil(ctx, timeout, "ARC's scale set "+name+" with an open session", func() bool {
		if time.Since(checked) > 5*time.Second {
			checked = time.Now()
			e.repairListener(ctx, ns, name)
		}
		if id == 0 {
			ars, err := e.dyn.Resource(arcRunnerSets).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false
			}
			id, _ = strconv.Atoi(ars.GetAnnotations()[arcScaleSetIDAnno])
			if id == 0 {
				return false
			}
		}
		sessions, err := e.b.sim.Sessions()
		if err != nil {
			return false
		}
		return slices.ContainsFunc(sessions, func(s simulator.Session) bool { return s.RunnerScaleSet != nil && s.RunnerScaleSet.ID == id })
	})
	return id, err
}

// kubeRequests: the controller's client-go requests (rest_client_requests_total on its /metrics)
// plus every request the listeners sent (counted by the proxy they reach the kube-apiserver by).
func (e *arcEnv) kubeRequests(ctx context.Context) (float64, error) {
	body, err := e.scrape(ctx)
	if err != nil {
		return 0, err
	}
	total := 0.0
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, "rest_client_requests_total{") {
			fields := strings.Fields(line)
			v, _ := strconv.ParseFloat(fields[len(fields)-1], 64)
			total += v
		}
	}
	if total == 0 {
		return 0, fmt.Errorf("no rest_client_requests_total on %s", e.metrics)
	}
	return total + float64(e.listeners.proxy.requests.Load()), nil
}

func (e *arcEnv) scrape(ctx context.Context) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.metrics, nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return string(data), err
}

// memory: the controller's and every listener's RSS; the controller's Go heap in use (the
// listeners serve no metrics here).
func (e *arcEnv) memory(ctx context.Context) (int64, float64) {
	rss, _, _ := procStatus(e.ctrlPID)
	for _, pid := range e.listeners.pids() {
		r, _, _ := procStatus(pid)
		rss += r
	}
	heap := 0.0
	if body, err := e.scrape(ctx); err == nil {
		sc := bufio.NewScanner(strings.NewReader(body))
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "go_memstats_heap_inuse_bytes "); ok {
				heap, _ = strconv.ParseFloat(strings.TrimSpace(v), 64)
			}
		}
	}
	return rss, heap
}

// repairListener deletes the AutoscalingListener of an AutoscalingRunnerSet when the
// EphemeralRunnerSet it names does not exist, and says so. ARC's AutoscalingRunnerSet controller
// reads its informer cache right after its own writes: when two reconciles of a new
// AutoscalingRunnerSet run before the cache shows the first one's EphemeralRunnerSet, it creates
// two, deletes each as the other's "old" one, and leaves the listener on a deleted one; that
// listener then fails forever ("ephemeralrunnersets ... not found"), and the controller does not
// replace it. Deleting it is what an operator would do; the controller then creates a listener
// for the EphemeralRunnerSet that exists. ns "" means every AutoscalingRunnerSet.
func (e *arcEnv) repairListener(ctx context.Context, ns, name string) {
	list, err := e.dyn.Resource(arcListeners).Namespace(arcNamespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return
	}
	// Read before the check: an EphemeralRunnerSet listed here exists; one missing is looked up.
	sets, err := e.dyn.Resource(arcEphemeralRunnerSets).List(ctx, metav1.ListOptions{})
	if err != nil {
		return
	}
	exists := map[string]bool{}
	for _, s := range sets.Items {
		exists[s.GetNamespace()+"/"+s.GetName()] = true
	}
	for _, l := range list.Items {
		spec, _ := l.Object["spec"].(map[string]any)
		if ns != "" && (spec["autoscalingRunnerSetNamespace"] != ns || spec["autoscalingRunnerSetName"] != name) {
			continue
		}
		ers, _ := spec["ephemeralRunnerSetName"].(string)
		ersNS, _ := spec["autoscalingRunnerSetNamespace"].(string)
		if exists[ersNS+"/"+ers] {
			continue
		}
		_, err := e.dyn.Resource(arcEphemeralRunnerSets).Namespace(ersNS).Get(ctx, ers, metav1.GetOptions{})
		if !apierrors.IsNotFound(err) {
			continue
		}
		if err := e.dyn.Resource(arcListeners).Namespace(arcNamespace).Delete(ctx, l.GetName(), metav1.DeleteOptions{}); err == nil {
			e.repairs.Add(1)
			e.b.logf("ARC: AutoscalingListener %s named EphemeralRunnerSet %s/%s, which does not exist; deleted it", l.GetName(), ersNS, ers)
		}
	}
}
