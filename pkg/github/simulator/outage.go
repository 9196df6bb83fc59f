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
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"

	"k8s.io/klog/v2"
)

// listener is one address the simulator serves on, with its server and its open connections,
// so that an outage can close them all and a recovery can listen again on the same address.
// Its ln and conns are guarded by Simulator.netMu; the rest is fixed at Start.
type listener struct {
	role  role // the role it serves; without SeparateHosts the REST listener serves all
	addr  string
	srv   *http.Server
	ln    net.Listener // nil during an outage
	conns map[net.Conn]struct{}
}

// ErrNoOutage is returned by EndOutage when the simulator is serving.
var ErrNoOutage = errors.New("simulator: not in an outage")

// newListener builds the server of a listener already listening on ln.
func (s *Simulator) newListener(r role, ln net.Listener) *listener {
	l := &listener{role: r, addr: ln.Addr().String(), conns: map[net.Conn]struct{}{}}
	l.srv = &http.Server{Handler: s.handlerFor(r), ReadHeaderTimeout: 10 * time.Second,
		ConnState: func(c net.Conn, st http.ConnState) { s.trackConn(l, c, st) },
		ErrorLog:  log.New(serverLog{}, "", 0)}
	if s.tls != nil {
		l.srv.TLSConfig = s.tls.config()
	}
	return l
}

// serverLog takes net/http's server messages (mostly handshakes of clients that do not trust
// the CA, which tests provoke) to klog at V(2) rather than to the standard logger.
type serverLog struct{}

func (serverLog) Write(p []byte) (int, error) {
	klog.V(2).InfoS("GitHub simulator HTTP server", "message", strings.TrimSpace(string(p)))
	return len(p), nil
}

// serveOn serves l on ln in the background until Close or an outage closes it.
func (s *Simulator) serveOn(l *listener, ln net.Listener) {
	s.netMu.Lock()
	l.ln = ln
	s.netMu.Unlock()
	s.bg.Go(func() {
		var err error
		if s.tls != nil {
			err = l.srv.ServeTLS(ln, "", "") // the certificate is in TLSConfig
		} else {
			err = l.srv.Serve(ln)
		}
		s.netMu.Lock()
		outage := l.ln != ln
		s.netMu.Unlock()
		if err != nil && !errors.Is(err, http.ErrServerClosed) && !outage {
			klog.ErrorS(err, "GitHub simulator stopped serving", "role", l.role, "addr", l.addr)
		}
	})
}

// trackConn is a server's ConnState hook: it keeps the open connections.
func (s *Simulator) trackConn(l *listener, c net.Conn, state http.ConnState) {
	s.netMu.Lock()
	defer s.netMu.Unlock()
	switch state {
	case http.StateNew:
		l.conns[c] = struct{}{}
	case http.StateClosed, http.StateHijacked:
		delete(l.conns, c)
	}
}

// StartOutage takes GitHub off the network: the simulator stops listening on every address
// (REST, and with SeparateHosts the Actions Service and the broker), so new connections are
// refused, and every open connection is closed (a held long poll ends with a reset). Its state
// (scale sets, sessions, jobs, runners, tokens) is kept, and the control API in this process
// keeps working; the simulator's clock keeps running, so tokens may expire meanwhile.
// EndOutage serves again on the same addresses. A second StartOutage is a no-op.
func (s *Simulator) StartOutage() {
	var closers []interface{ Close() error }
	s.netMu.Lock()
	for _, l := range s.listeners {
		if l.ln == nil {
			continue
		}
		closers = append(closers, l.ln)
		l.ln = nil
		for c := range l.conns {
			closers = append(closers, c)
		}
		l.conns = map[net.Conn]struct{}{}
	}
	s.netMu.Unlock()
	if len(closers) == 0 {
		return
	}
	for _, c := range closers {
		_ = c.Close()
	}
	klog.InfoS("GitHub simulator outage: not listening", "hosts", s.Hosts(), "closed", len(closers))
}

// EndOutage listens again on every address the simulator had, retrying for a few seconds
// should another socket hold a port for a moment.
func (s *Simulator) EndOutage() error {
	var down []*listener
	s.netMu.Lock()
	for _, l := range s.listeners {
		if l.ln == nil {
			down = append(down, l)
		}
	}
	s.netMu.Unlock()
	if len(down) == 0 {
		return ErrNoOutage
	}
	select {
	case <-s.done:
		return errors.New("simulator: closed")
	default:
	}
	var errs []error
	for _, l := range down {
		ln, err := listenAgain(l.addr)
		if err != nil {
			errs = append(errs, err) // a later EndOutage tries it again
			continue
		}
		s.serveOn(l, ln)
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	klog.InfoS("GitHub simulator outage over: listening again", "hosts", s.Hosts())
	return nil
}

// listenAgain listens on addr, retrying while the port is still taken.
func listenAgain(addr string) (net.Listener, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		ln, err := net.Listen("tcp", addr)
		if err == nil {
			return ln, nil
		}
		if !errors.Is(err, syscall.EADDRINUSE) || time.Now().After(deadline) {
			return nil, fmt.Errorf("simulator: listening again on %s: %w", addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// InOutage reports whether the simulator is off the network (on any of its addresses).
func (s *Simulator) InOutage() bool {
	s.netMu.Lock()
	defer s.netMu.Unlock()
	for _, l := range s.listeners {
		if l.ln == nil {
			return true
		}
	}
	return false
}

// shutdown stops every server: gracefully for up to 5 seconds, then by force.
func (s *Simulator) shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, l := range s.listeners {
		if err := l.srv.Shutdown(ctx); err != nil {
			_ = l.srv.Close()
		}
	}
}
