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
	"fmt"
	"net"
	"net/http"
	"strings"
)

// GitHub's host names. The simulator answers to them when a client reaches it through a proxy
// that resolves them to its listeners (ResolveMap; package simproxy), and then hands out URLs
// that name them, as github.com does.
const (
	HostGitHub    = "github.com"
	HostAPI       = "api.github.com"
	HostPipelines = "pipelines.actions.githubusercontent.com"
	HostBroker    = "broker.actions.githubusercontent.com"
	actionsDomain = ".actions.githubusercontent.com"
)

// Default addresses of the Actions Service and the broker with Options.SeparateHosts: loopback
// addresses of their own, so that a call sent to the wrong host cannot land by accident.
const (
	DefaultServiceListen = "127.0.0.2:0"
	DefaultBrokerListen  = "127.0.0.3:0"
)

// role is a part of GitHub a listener serves.
type role int

const (
	roleREST    role = iota // GitHub REST (and the control API)
	roleService             // the Actions Service: tenant URLs
	roleBroker              // the message queue: messageQueueUrl
)

func (r role) String() string { return [...]string{"rest", "service", "broker"}[r] }

// origins are the "scheme://host[:port]" a client reaches each role at.
type origins struct{ rest, service, broker string }

// originsAt are the origins of the listeners at addrs (indexed by role).
func originsAt(scheme string, addrs [3]string) origins {
	return origins{rest: scheme + "://" + addrs[roleREST], service: scheme + "://" + addrs[roleService], broker: scheme + "://" + addrs[roleBroker]}
}

// namedOrigins are GitHub's names, on the scheme's default port.
func namedOrigins(scheme string) origins {
	return origins{rest: scheme + "://" + HostAPI, service: scheme + "://" + HostPipelines, broker: scheme + "://" + HostBroker}
}

// tenantURL is t's Actions Service URL at these origins.
func (o origins) tenantURL(t *tenant) string { return o.service + "/tenant/" + itoa(t.id) + "/" }

// queueURL is sess's messageQueueUrl at these origins: on the broker, a path under the tenant's
// (clients treat it as opaque and only append lastMessageId or /{messageId}).
func (o origins) queueURL(sess *session) string {
	ss := sess.scaleSet
	return o.broker + "/tenant/" + itoa(ss.tenant.id) + "/_apis/runtime/runnerscalesets/" + itoa(ss.rs.ID) + "/messages?sessionId=" + sess.id
}

// originsFor are the origins the URLs in an answer to r name: GitHub's names when r addressed
// the simulator by one of them, else its loopback listeners. A client that came by a name
// resolves only names (through its proxy); one that came by address may have no proxy at all.
func (s *Simulator) originsFor(r *http.Request) origins {
	if r != nil && isGitHubName(r.Host) {
		return s.named
	}
	return s.loopback
}

// tenantURLFor is t's tenant URL as handed to the client of r.
func (s *Simulator) tenantURLFor(r *http.Request, t *tenant) string {
	return s.originsFor(r).tenantURL(t)
}

// isGitHubName reports whether a Host header names one of GitHub's hosts.
func isGitHubName(hostport string) bool {
	h := hostport
	if host, _, err := net.SplitHostPort(hostport); err == nil {
		h = host
	}
	h = strings.ToLower(strings.TrimSuffix(h, "."))
	return h == HostGitHub || h == "www."+HostGitHub || h == HostAPI || strings.HasSuffix(h, actionsDomain)
}

// Hosts are the "host:port" addresses the simulator serves on, the REST listener's first: one
// without SeparateHosts, three with it. For allowlists and no_proxy lists.
func (s *Simulator) Hosts() []string {
	out := make([]string, 0, len(s.listeners))
	for _, l := range s.listeners {
		out = append(out, l.addr)
	}
	return out
}

// ResolveMap maps GitHub's "name:port" to the listener serving it ("127.0.0.1:PORT"), for a
// proxy that gives clients the github.com form (simproxy.Options.Resolve): github.com and
// api.github.com to the REST listener, pipelines.actions.githubusercontent.com to the Actions
// Service's, broker.actions.githubusercontent.com to the broker's. The port is 443 with TLS,
// else 80: the port a URL without one means.
func (s *Simulator) ResolveMap() map[string]string {
	port := "80"
	if s.tls != nil {
		port = "443"
	}
	m := map[string]string{}
	for name, r := range map[string]role{HostGitHub: roleREST, "www." + HostGitHub: roleREST, HostAPI: roleREST,
		HostPipelines: roleService, HostBroker: roleBroker} {
		m[net.JoinHostPort(name, port)] = s.addrs[r]
	}
	return m
}

// checkLoopback refuses any listen address that is not on the loopback interface.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("simulator: listen address %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("simulator: listen address %q is not a loopback address; the simulator only serves 127.0.0.0/8, ::1 or localhost", addr)
}

// listenAddrs are the addresses to listen on, by role: one (REST, serving every role) without
// SeparateHosts. Each must be loopback: the control API has no authentication.
func listenAddrs(o Options) ([]string, error) {
	addrs := []string{o.Listen}
	if o.SeparateHosts {
		addrs = append(addrs, o.ServiceListen, o.BrokerListen)
	}
	for _, a := range addrs {
		if err := checkLoopback(a); err != nil {
			return nil, err
		}
	}
	return addrs, nil
}
