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

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"

	"k8s.io/klog/v2"
)

// netState is the simulator's listener and its open connections, so that an outage can close
// them all and a recovery can listen again on the same address.
type netState struct {
	mu    sync.Mutex
	ln    net.Listener // nil during an outage
	addr  string
	conns map[net.Conn]struct{}
}

// ErrNoOutage is returned by EndOutage when the simulator is serving.
var ErrNoOutage = errors.New("simulator: not in an outage")

// serveOn serves on ln in the background until Close or an outage closes it.
func (s *Simulator) serveOn(ln net.Listener) {
	s.net.mu.Lock()
	s.net.ln, s.net.addr = ln, ln.Addr().String()
	s.net.mu.Unlock()
	s.bg.Go(func() {
		err := s.srv.Serve(ln)
		s.net.mu.Lock()
		outage := s.net.ln != ln
		s.net.mu.Unlock()
		if err != nil && !errors.Is(err, http.ErrServerClosed) && !outage {
			klog.ErrorS(err, "GitHub simulator stopped serving")
		}
	})
}

// trackConn is the server's ConnState hook: it keeps the open connections.
func (s *Simulator) trackConn(c net.Conn, state http.ConnState) {
	s.net.mu.Lock()
	defer s.net.mu.Unlock()
	switch state {
	case http.StateNew:
		if s.net.conns == nil {
			s.net.conns = map[net.Conn]struct{}{}
		}
		s.net.conns[c] = struct{}{}
	case http.StateClosed, http.StateHijacked:
		delete(s.net.conns, c)
	}
}

// StartOutage takes GitHub off the network: the simulator stops listening, so new connections
// are refused, and every open connection is closed (a held long poll ends with a reset). Its
// state (scale sets, sessions, jobs, runners, tokens) is kept, and the control API in this
// process keeps working; the simulator's clock keeps running, so tokens may expire meanwhile.
// EndOutage serves again on the same address. A second StartOutage is a no-op.
func (s *Simulator) StartOutage() {
	s.net.mu.Lock()
	ln := s.net.ln
	s.net.ln = nil
	conns := s.net.conns
	s.net.conns = map[net.Conn]struct{}{}
	s.net.mu.Unlock()
	if ln == nil {
		return
	}
	_ = ln.Close()
	for c := range conns {
		_ = c.Close()
	}
	klog.InfoS("GitHub simulator outage: not listening", "addr", s.net.addr, "droppedConnections", len(conns))
}

// EndOutage listens again on the address the simulator had, retrying for a few seconds should
// another socket hold the port for a moment.
func (s *Simulator) EndOutage() error {
	s.net.mu.Lock()
	down, addr := s.net.ln == nil, s.net.addr
	s.net.mu.Unlock()
	if !down {
		return ErrNoOutage
	}
	select {
	case <-s.done:
		return errors.New("simulator: closed")
	default:
	}
	var ln net.Listener
	var err error
	deadline := time.Now().Add(10 * time.Second)
	for {
		ln, err = net.Listen("tcp", addr)
		if err == nil || !errors.Is(err, syscall.EADDRINUSE) || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("simulator: listening again on %s: %w", addr, err)
	}
	s.serveOn(ln)
	klog.InfoS("GitHub simulator outage over: listening again", "addr", addr)
	return nil
}

// InOutage reports whether the simulator is off the network.
func (s *Simulator) InOutage() bool {
	s.net.mu.Lock()
	defer s.net.mu.Unlock()
	return s.net.ln == nil
}
