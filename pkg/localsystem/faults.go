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

package localsystem

// Fault injection for the fault suite (test/faults): kill, stop and restart a component, run
// more replicas of the aggregated server, and put a TCP balancer in front of them so the
// APIService reaches whichever replica is alive, as a Service with several endpoints would.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"k8s.io/client-go/dynamic"
	"k8s.io/klog/v2"
)

// running returns the newest process of a component that has not exited, or nil.
func (s *System) running(name string) *process {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range slices.Backward(s.procs) {
		if p.name == name && !p.exited() {
			return p
		}
	}
	return nil
}

// newest returns the newest process of a component, exited or not, or nil.
func (s *System) newest(name string) *process {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range slices.Backward(s.procs) {
		if p.name == name {
			return p
		}
	}
	return nil
}

// ComponentPID returns the pid of a running component, or 0.
func (s *System) ComponentPID(name string) int {
	if p := s.running(name); p != nil {
		return p.pid()
	}
	return 0
}

// KillComponent sends SIGKILL to a running component, by its pid only, and waits until it is
// reaped: what kill -9 or a node loss does. The exit is not reported on Failed.
func (s *System) KillComponent(name string) error {
	p := s.running(name)
	if p == nil {
		return fmt.Errorf("localsystem: %s is not running", name)
	}
	p.stopRequested.Store(true)
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("killing %s (pid %d): %w", name, p.pid(), err)
	}
	<-p.done
	klog.InfoS("Killed component", "component", name, "pid", p.pid())
	return nil
}

// StopComponent stops a running component gracefully: SIGTERM, and SIGKILL after grace. It
// returns once the process is reaped. The exit is not reported on Failed.
func (s *System) StopComponent(name string, grace time.Duration) error {
	p := s.running(name)
	if p == nil {
		return fmt.Errorf("localsystem: %s is not running", name)
	}
	p.stop(grace)
	return nil
}

// SignalComponent sends sig to a running component (by its pid only) and returns at once. The
// component is expected to exit: its exit is not reported on Failed. WaitExited waits for it.
func (s *System) SignalComponent(name string, sig syscall.Signal) error {
	p := s.running(name)
	if p == nil {
		return fmt.Errorf("localsystem: %s is not running", name)
	}
	p.stopRequested.Store(true)
	if err := p.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signalling %s (pid %d): %w", name, p.pid(), err)
	}
	return nil
}

// WaitExited waits up to timeout for the newest process of a component to exit and reports
// whether it did.
func (s *System) WaitExited(name string, timeout time.Duration) bool {
	p := s.newest(name)
	if p == nil {
		return true
	}
	select {
	case <-p.done:
		return true
	case <-time.After(timeout):
		return false
	}
}

// RestartComponent starts a component that was killed or stopped again, with the same command
// line (so the same ports and data), and waits until it is ready: kube-apiserver until /readyz,
// an aggregated server replica until its /readyz, others until they are started.
func (s *System) RestartComponent(ctx context.Context, name string) error {
	old := s.newest(name)
	if old == nil {
		return fmt.Errorf("localsystem: no component %s", name)
	}
	if !old.exited() {
		return fmt.Errorf("localsystem: %s is still running (pid %d)", name, old.pid())
	}
	s.forget(old)
	// The port was just released; another process may hold it for a moment (TIME_WAIT does not
	// block a listener with SO_REUSEADDR, which all of these set).
	p, err := s.start(name, old.cmd.Path, old.cmd.Args[1:])
	if err != nil {
		return err
	}
	begin := time.Now()
	switch {
	case name == "kube-apiserver":
		client := s.admin.Discovery().RESTClient()
		err = waitReady(ctx, p, apiServerReadyTimeout, func(ctx context.Context) (bool, error) {
			body, err := client.Get().AbsPath("/readyz").DoRaw(ctx)
			if err != nil {
				return false, fmt.Errorf("/readyz: %w: %s", err, body)
			}
			return string(body) == "ok", nil
		})
	case strings.HasPrefix(name, ServerName):
		port, perr := flagPort(old.cmd.Args, "--secure-port")
		if perr != nil {
			return perr
		}
		probes := probeClient(s.caPool())
		err = waitReady(ctx, p, serverReadyTimeout, func(ctx context.Context) (bool, error) {
			return probe(ctx, probes, loopbackURL("https", port)+"/readyz", "ok")
		})
	}
	if err != nil {
		return fmt.Errorf("restarting %s: %w", name, err)
	}
	klog.InfoS("Restarted component", "component", name, "pid", p.pid(), "duration", time.Since(begin).Round(time.Millisecond))
	return nil
}

func flagPort(args []string, flag string) (int, error) {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, flag+"="); ok {
			return strconv.Atoi(v)
		}
	}
	return 0, fmt.Errorf("localsystem: no %s flag in %v", flag, args)
}

// ServerReplicaPort returns the serving port of a runnerset-apiserver replica (ServerName for
// the first one), or 0 if there is no such replica.
func (s *System) ServerReplicaPort(name string) int {
	p := s.newest(name)
	if p == nil {
		return 0
	}
	port, _ := flagPort(p.cmd.Args, "--secure-port")
	return port
}

// StartServerReplica starts another runnerset-apiserver with the first one's command line (its
// ServiceAccount, serving certificate and flags) on a new loopback port, with args appended,
// and waits until it serves. name must start with ServerName (e.g. "runnerset-apiserver-2");
// its log is logs/<name>.log. The replica is not registered: put it behind the APIService with
// Balancer.SetBackends. It returns the replica's port.
func (s *System) StartServerReplica(ctx context.Context, name string, args ...string) (int, error) {
	if !strings.HasPrefix(name, ServerName+"-") {
		return 0, fmt.Errorf("localsystem: a replica's name must start with %s-", ServerName)
	}
	first := s.newest(ServerName)
	if first == nil {
		return 0, errors.New("localsystem: no runnerset-apiserver to copy")
	}
	base := slices.DeleteFunc(slices.Clone(first.cmd.Args[1:]), func(a string) bool { return strings.HasPrefix(a, "--secure-port=") })
	probes := probeClient(s.caPool())
	_, ports, err := s.startListening(ctx, name, first.cmd.Path, 1, serverReadyTimeout,
		func(ports []int) []string {
			return append(append([]string{"--secure-port=" + strconv.Itoa(ports[0])}, base...), args...)
		},
		func(ctx context.Context, ports []int) (bool, error) {
			return probe(ctx, probes, loopbackURL("https", ports[0])+"/readyz", "ok")
		},
		nil,
	)
	if err != nil {
		return 0, fmt.Errorf("starting %s: %w", name, err)
	}
	return ports[0], nil
}

// Balancer is a TCP balancer on 127.0.0.1 in front of the aggregated server's replicas: what
// a Service with several endpoints is to the aggregator. Each connection goes to the first
// backend that accepts it, starting from a rotating offset; TLS passes through untouched.
type Balancer struct {
	ln   net.Listener
	port int

	mu       sync.Mutex
	backends []int
	next     int
	conns    map[net.Conn]struct{}
	closed   bool

	wg sync.WaitGroup
}

// ServeThroughBalancer starts a Balancer whose only backend is the running server, and
// re-registers the APIService (through the ExternalName Service) at the balancer's port. From
// then on ServerPort returns the balancer's port. Close the balancer before Stop.
func (s *System) ServeThroughBalancer(ctx context.Context, manifestsDir string) (*Balancer, error) {
	if s.serverPort == 0 {
		return nil, errors.New("localsystem: no aggregated server runs")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	b := &Balancer{ln: ln, port: ln.Addr().(*net.TCPAddr).Port, backends: []int{s.serverPort}, conns: map[net.Conn]struct{}{}}
	b.wg.Go(b.serve)
	s.serverPort = b.port
	if err := s.registerServer(ctx, manifestsDir); err != nil {
		b.Close()
		return nil, fmt.Errorf("registering the balancer: %w", err)
	}
	klog.InfoS("Aggregated server behind a balancer", "port", b.port, "backends", b.backends)
	return b, nil
}

// Port is the balancer's port.
func (b *Balancer) Port() int { return b.port }

// SetBackends replaces the replicas' ports. Open connections stay where they are.
func (b *Balancer) SetBackends(ports ...int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.backends = slices.Clone(ports)
}

// Close stops accepting and closes every open connection.
func (b *Balancer) Close() {
	b.mu.Lock()
	b.closed = true
	for c := range b.conns {
		_ = c.Close()
	}
	b.mu.Unlock()
	_ = b.ln.Close()
	b.wg.Wait()
}

func (b *Balancer) serve() {
	for {
		c, err := b.ln.Accept()
		if err != nil {
			return
		}
		b.wg.Go(func() { b.forward(c) })
	}
}

// track records an open connection; false when the balancer is closing.
func (b *Balancer) track(cs ...net.Conn) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return false
	}
	for _, c := range cs {
		b.conns[c] = struct{}{}
	}
	return true
}

func (b *Balancer) untrack(cs ...net.Conn) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, c := range cs {
		delete(b.conns, c)
		_ = c.Close()
	}
}

func (b *Balancer) forward(client net.Conn) {
	b.mu.Lock()
	backends := slices.Clone(b.backends)
	start := b.next
	b.next++
	b.mu.Unlock()
	var upstream net.Conn
	for i := range backends {
		port := backends[(start+i)%len(backends)]
		c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second)
		if err == nil {
			upstream = c
			break
		}
	}
	if upstream == nil {
		_ = client.Close() // no replica answers: the caller sees a reset, as with no endpoints
		return
	}
	if !b.track(client, upstream) {
		_ = client.Close()
		_ = upstream.Close()
		return
	}
	// Either side ending ends both, as when an endpoint dies under a Service.
	var once sync.Once
	done := func() { once.Do(func() { b.untrack(client, upstream) }) }
	var wg sync.WaitGroup
	wg.Go(func() { _, _ = io.Copy(upstream, client); done() })
	wg.Go(func() { _, _ = io.Copy(client, upstream); done() })
	wg.Wait()
}

// WaitAPIServiceAvailable waits until the aggregator reports the APIService Available again,
// e.g. after the kube-apiserver or a server replica restarted.
func (s *System) WaitAPIServiceAvailable(ctx context.Context, name string, timeout time.Duration) error {
	dyn, err := dynamicForAdmin(s)
	if err != nil {
		return err
	}
	return waitAPIServiceAvailable(ctx, dyn, name, timeout)
}

func dynamicForAdmin(s *System) (dynamic.Interface, error) {
	return dynamic.NewForConfig(s.RESTConfig(UserAdmin))
}
