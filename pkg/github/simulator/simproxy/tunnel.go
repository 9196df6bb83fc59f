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

package simproxy

import (
	"io"
	"net"
	"net/http"

	"k8s.io/klog/v2"
)

// connect answers CONNECT: it dials the routed target and then copies bytes both ways, so
// TLS is between the client and the target.
func (p *Proxy) connect(w http.ResponseWriter, r *http.Request) {
	addr, err := p.route(r.Host)
	if err != nil {
		refuse(w, r, err)
		return
	}
	up, err := (&net.Dialer{Timeout: dialTimeout}).DialContext(r.Context(), "tcp", addr)
	if err != nil {
		http.Error(w, "simproxy: dialing "+r.Host+": "+err.Error(), http.StatusBadGateway)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		_ = up.Close()
		http.Error(w, "simproxy: cannot tunnel on this connection", http.StatusInternalServerError)
		return
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		_ = up.Close()
		return
	}
	_, err = conn.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n"))
	if n := buf.Reader.Buffered(); err == nil && n > 0 {
		// Bytes the client sent before reading the 200 belong to the target.
		b, _ := buf.Reader.Peek(n)
		_, err = up.Write(b)
	}
	if err != nil || !p.track(conn, up) {
		_ = conn.Close()
		_ = up.Close()
		return
	}
	klog.V(3).InfoS("Proxy tunnel open", "target", r.Host, "dialled", addr)
	go func() {
		defer p.tunnels.Done()
		p.pipe(conn, up)
	}()
}

// track registers a tunnel's connections for Close and counts the tunnel for Close to wait
// on; false once the proxy is closed. Counting under the lock keeps Add before Close's Wait.
func (p *Proxy) track(conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	for _, c := range conns {
		p.open[c] = struct{}{}
	}
	p.tunnels.Add(1)
	return true
}

// pipe copies a and b into each other until both directions end. A direction that ends
// cleanly half-closes its destination, so the peer sees the end of its stream; a failed one
// closes both, so neither side hangs on a tunnel whose other end is gone.
func (p *Proxy) pipe(a, b net.Conn) {
	done := make(chan struct{}, 2)
	half := func(dst, src net.Conn) {
		defer func() { done <- struct{}{} }()
		_, err := io.Copy(dst, src)
		cw, ok := dst.(interface{ CloseWrite() error })
		if err != nil || !ok || cw.CloseWrite() != nil {
			_ = a.Close()
			_ = b.Close()
		}
	}
	go half(a, b)
	go half(b, a)
	<-done
	<-done
	_ = a.Close()
	_ = b.Close()
	p.mu.Lock()
	delete(p.open, a)
	delete(p.open, b)
	p.mu.Unlock()
}
