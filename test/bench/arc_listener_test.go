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
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
)

// ARC's listener runs in a pod the controller creates (kwok "runs" it: nothing executes) and
// reads its configuration from a Secret the controller writes, and its Kubernetes client from
// rest.InClusterConfig(). The supervisor plays the kubelet for those pods: for each listener
// pod it runs ghalistener as a local process with exactly the configuration the controller wrote
// (the Secret's config.json) and the pod's identity (a token of the pod's ServiceAccount bound
// to the pod, the hostname the pod's name), in a mount and UTS namespace of its own so that
// /var/run/secrets/kubernetes.io/serviceaccount and the hostname are the pod's without touching
// the machine's. When the pod goes, the process is stopped; when the process exits, its
// container is written Terminated into the pod's status, and ARC's controller recreates the pod
// as it would after a crash.
const listenerWrapper = `#!/bin/sh
# runs inside: unshare -m -u --propagation private; $1 the listener's dir, $2 the pod, $3 ghalistener
set -e
mount -t tmpfs tmpfs /run
mkdir -p /run/secrets/kubernetes.io/serviceaccount
cp "$1/sa/token" "$1/sa/ca.crt" "$1/sa/namespace" /run/secrets/kubernetes.io/serviceaccount/
hostname "$2"
exec "$3"
`

type listenerSupervisor struct {
	e       *arcEnv
	dir     string
	wrapper string
	proxy   *countingProxy
	cancel  context.CancelFunc
	factory informers.SharedInformerFactory
	wg      sync.WaitGroup

	mu     sync.Mutex
	closed bool
	procs  map[types.UID]*listenerProc
	starts int
	exits  int
}

type listenerProc struct {
	pod      *corev1.Pod
	cmd      *exec.Cmd
	exited   chan struct{}
	stopping atomic.Bool
}

func startListenerSupervisor(e *arcEnv) (*listenerSupervisor, error) {
	l := &listenerSupervisor{e: e, dir: filepath.Join(e.b.dir, "listeners"), procs: map[types.UID]*listenerProc{}}
	l.wrapper = filepath.Join(l.dir, "wrapper.sh")
	if err := os.MkdirAll(l.dir, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(l.wrapper, []byte(listenerWrapper), 0o755); err != nil {
		return nil, err
	}
	var err error
	if l.proxy, err = startCountingProxy(l.dir, e.b.sys.APIServerURL(), e.b.sys.CAFile()); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	l.cancel = cancel
	l.factory = informers.NewSharedInformerFactoryWithOptions(e.b.kube, 0, informers.WithNamespace(arcNamespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = arcListenerLabel }))
	inf := l.factory.Core().V1().Pods().Informer()
	_, err = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { l.sync(obj) },
		UpdateFunc: func(_, obj any) { l.sync(obj) },
		DeleteFunc: func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			if p, ok := obj.(*corev1.Pod); ok {
				l.remove(p.UID)
			}
		},
	})
	if err != nil {
		l.stop()
		return nil, err
	}
	l.factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		l.stop()
		return nil, errors.New("listener pod informer did not sync")
	}
	return l, nil
}

// sync starts a process for a listener pod seen for the first time, and stops it once the pod
// is being deleted.
func (l *listenerSupervisor) sync(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	if pod.DeletionTimestamp != nil {
		l.remove(pod.UID)
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed || l.procs[pod.UID] != nil {
		return
	}
	p := &listenerProc{pod: pod.DeepCopy(), exited: make(chan struct{})}
	l.procs[pod.UID] = p
	l.wg.Go(func() {
		if err := l.launch(p); err != nil {
			l.e.b.logf("listener for pod %s not started: %v", pod.Name, err)
			close(p.exited)
		}
	})
}

// launch writes the pod's files and starts its listener process.
func (l *listenerSupervisor) launch(p *listenerProc) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := filepath.Join(l.dir, string(p.pod.UID))
	if err := os.MkdirAll(filepath.Join(dir, "sa"), 0o700); err != nil {
		return err
	}
	if err := l.writeFiles(ctx, p.pod, dir); err != nil {
		return err
	}
	logFile, err := os.OpenFile(filepath.Join(l.dir, p.pod.Name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close()
	cmd := exec.Command("unshare", "-m", "-u", "--propagation", "private", "/bin/sh", l.wrapper, dir, p.pod.Name, filepath.Join(*arcBin, "ghalistener"))
	cmd.Env = append(os.Environ(), "KUBERNETES_SERVICE_HOST=127.0.0.1", "KUBERNETES_SERVICE_PORT="+strconv.Itoa(l.proxy.port),
		"LISTENER_CONFIG_PATH="+filepath.Join(dir, "config.json"))
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed || p.stopping.Load() {
		return errors.New("stopped before it started")
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	p.cmd = cmd
	l.starts++
	l.e.b.logf("listener for pod %s started (pid %d)", p.pod.Name, cmd.Process.Pid)
	l.wg.Go(func() { l.wait(p) })
	return nil
}

// writeFiles writes config.json (the Secret the pod mounts) and the pod's service account files.
func (l *listenerSupervisor) writeFiles(ctx context.Context, pod *corev1.Pod, dir string) error {
	kube := l.e.b.kube
	secret := ""
	for _, v := range pod.Spec.Volumes {
		if v.Secret != nil && (secret == "" || v.Name == "listener-config") {
			secret = v.Secret.SecretName
		}
	}
	var config []byte
	err := waitUntil(ctx, 30*time.Second, "the listener's config Secret "+secret, func() bool {
		s, err := kube.CoreV1().Secrets(pod.Namespace).Get(ctx, secret, metav1.GetOptions{})
		config = nil
		if err == nil {
			config = s.Data["config.json"]
		}
		return len(config) > 0
	})
	if err != nil {
		return err
	}
	tr, err := kube.CoreV1().ServiceAccounts(pod.Namespace).CreateToken(ctx, pod.Spec.ServiceAccountName, &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		ExpirationSeconds: ptr.To[int64](6 * 3600),
		BoundObjectRef:    &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID},
	}}, metav1.CreateOptions{})
	if err != nil {
		return err
	}
	for name, data := range map[string][]byte{
		"config.json": config, "sa/token": []byte(tr.Status.Token), "sa/ca.crt": l.proxy.caPEM, "sa/namespace": []byte(pod.Namespace),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// wait reaps a listener process; an exit nobody asked for terminates the pod's container.
func (l *listenerSupervisor) wait(p *listenerProc) {
	err := p.cmd.Wait()
	close(p.exited)
	if p.stopping.Load() {
		return
	}
	code := p.cmd.ProcessState.ExitCode()
	l.mu.Lock()
	l.exits++
	l.mu.Unlock()
	l.e.b.logf("listener of pod %s exited by itself (%v); its container is now Terminated", p.pod.Name, err)
	if err := l.terminated(p.pod, code); err != nil {
		l.e.b.logf("writing pod %s's status: %v", p.pod.Name, err)
	}
}

// terminated writes the pod's first container Terminated with code, as the kubelet would.
func (l *listenerSupervisor) terminated(pod *corev1.Pod, code int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pods := l.e.b.kube.CoreV1().Pods(pod.Namespace)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := pods.Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil || cur.UID != pod.UID {
			return err
		}
		name := cur.Spec.Containers[0].Name
		state := corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: int32(code), Reason: "Error", FinishedAt: metav1.Now()}}
		cur.Status.Phase = corev1.PodFailed
		if code == 0 {
			state.Terminated.Reason, cur.Status.Phase = "Completed", corev1.PodSucceeded
		}
		found := false
		for i := range cur.Status.ContainerStatuses {
			if cs := &cur.Status.ContainerStatuses[i]; cs.Name == name {
				cs.State, cs.Ready, cs.Started, found = state, false, ptr.To(false), true
			}
		}
		if !found {
			cur.Status.ContainerStatuses = append(cur.Status.ContainerStatuses, corev1.ContainerStatus{Name: name, Image: cur.Spec.Containers[0].Image, State: state})
		}
		_, err = pods.UpdateStatus(ctx, cur, metav1.UpdateOptions{})
		return err
	})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// remove stops the process of a pod that is going away.
func (l *listenerSupervisor) remove(uid types.UID) {
	l.mu.Lock()
	p := l.procs[uid]
	l.mu.Unlock()
	if p == nil || p.stopping.Swap(true) {
		return
	}
	l.wg.Go(func() { l.stopProc(p) })
}

// stopProc ends a listener whose stopping is set: SIGTERM to its process group, SIGKILL after
// 5 s. (launch starts no process once stopping is set; both read cmd under the lock.)
func (l *listenerSupervisor) stopProc(p *listenerProc) {
	l.mu.Lock()
	cmd := p.cmd
	l.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-p.exited
	}
}

// pids are the running listeners' process ids (after its exec, the wrapper's pid is ghalistener's).
func (l *listenerSupervisor) pids() []int {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []int
	for _, p := range l.procs {
		if p.cmd != nil && !p.stopping.Load() {
			select {
			case <-p.exited:
			default:
				out = append(out, p.cmd.Process.Pid)
			}
		}
	}
	return out
}

// counts are how many listener processes were started and exited by themselves.
func (l *listenerSupervisor) counts() (starts, exits int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.starts, l.exits
}

// stop ends every listener process and the proxy; it waits for all of them.
func (l *listenerSupervisor) stop() {
	if l.cancel != nil {
		l.cancel()
		l.factory.Shutdown()
	}
	l.mu.Lock()
	l.closed = true
	procs := make([]*listenerProc, 0, len(l.procs))
	for _, p := range l.procs {
		procs = append(procs, p)
	}
	l.mu.Unlock()
	for _, p := range procs {
		if !p.stopping.Swap(true) {
			l.wg.Go(func() { l.stopProc(p) })
		}
	}
	l.wg.Wait()
	l.proxy.close()
}

// countingProxy is the listeners' way to the kube-apiserver: a TLS reverse proxy on 127.0.0.1
// (its own self-signed certificate, the listeners' ca.crt) that counts the requests it passes.
// ARC's listener serves no client-go metrics; this counts what its client sends.
type countingProxy struct {
	srv      *http.Server
	port     int
	caPEM    []byte
	requests atomic.Int64
}

func startCountingProxy(dir, apiServerURL, apiServerCA string) (*countingProxy, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "bench listener proxy"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(48 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	target, err := url.Parse(apiServerURL)
	if err != nil {
		return nil, err
	}
	caData, err := os.ReadFile(apiServerCA)
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caData)
	p := &countingProxy{caPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
	rp := &httputil.ReverseProxy{
		Rewrite:       func(r *httputil.ProxyRequest) { r.SetURL(target) },
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}, ForceAttemptHTTP2: true, MaxIdleConnsPerHost: 64},
		FlushInterval: -1, // watches stream
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p.port = ln.Addr().(*net.TCPAddr).Port
	p.srv = &http.Server{
		Handler:   http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { p.requests.Add(1); rp.ServeHTTP(w, r) }),
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12},
	}
	go func() { _ = p.srv.ServeTLS(ln, "", "") }()
	_ = os.WriteFile(filepath.Join(dir, "proxy-ca.crt"), p.caPEM, 0o644)
	return p, nil
}

func (p *countingProxy) close() {
	if p == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = p.srv.Shutdown(ctx)
	_ = p.srv.Close()
}
