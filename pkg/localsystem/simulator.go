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

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// SimulatorName is the simulator's component name (its log is logs/github-simulator.log).
const SimulatorName = "github-simulator"

// GitHubListen is where the local system's GitHub simulators listen: a loopback address of
// their own, on which nothing else of the local system listens (every control plane process
// binds 127.0.0.1). The server may then dial any port of it (AllowedGitHubHosts) without
// reaching the kube-apiserver, etcd or anything else a RunnerSet must never reach.
const GitHubListen = "127.0.0.2:0"

// GitHubServiceListen and GitHubBrokerListen are where the simulator serves the Actions
// Service and the broker, on hosts of their own as GitHub does: two more loopback addresses
// nothing else listens on, for the same reason. (The simulator package's defaults,
// 127.0.0.2 and 127.0.0.3, would put its REST API on 127.0.0.1.)
const (
	GitHubServiceListen = "127.0.0.3:0"
	GitHubBrokerListen  = "127.0.0.4:0"
)

// AllowedGitHubHosts is the server's --allowed-github-hosts on the local system: the
// simulator's three addresses, any port.
const AllowedGitHubHosts = "127.0.0.2:*,127.0.0.3:*,127.0.0.4:*"

// simulatorCAFile is the simulator's CA certificate in the system's directory: the command
// writes it next to its --url-file.
const simulatorCAFile = "simulator-ca.crt"

// SimulatorOptions starts the GitHub simulator (cmd/github-simulator) as a process, with the
// runner emulator playing runner pods of this cluster.
type SimulatorOptions struct {
	// Binary is the path of the built github-simulator.
	Binary string
	// Args are appended to the flags Start sets.
	Args []string
}

// startSimulator starts the simulator on free loopback ports, as GitHub is: HTTPS with a CA
// of its own, the Actions Service and the broker on hosts of their own. It waits until the
// simulator listens.
func (s *System) startSimulator(ctx context.Context, o *SimulatorOptions) error {
	urlFile := filepath.Join(s.dir, "simulator.url")
	_ = os.Remove(urlFile)
	_ = os.Remove(filepath.Join(s.dir, simulatorCAFile)) // the command writes it before the URL
	args := append([]string{
		"--listen=" + GitHubListen,
		"--tls",
		"--separate-hosts",
		"--service-listen=" + GitHubServiceListen,
		"--broker-listen=" + GitHubBrokerListen,
		"--url-file=" + urlFile,
		"--kubeconfig=" + s.kubeconfigs[UserAdmin],
		"--emulate-runners",
	}, o.Args...)
	p, err := s.start(SimulatorName, o.Binary, args)
	if err != nil {
		return fmt.Errorf("starting %s: %w", SimulatorName, err)
	}
	err = wait.PollUntilContextTimeout(ctx, pollInterval, 30*time.Second, true, func(context.Context) (bool, error) {
		data, err := os.ReadFile(urlFile)
		if err != nil || len(strings.TrimSpace(string(data))) == 0 {
			return false, nil
		}
		s.simulatorURL = strings.TrimSpace(string(data))
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("%s did not start: %w\n%s", SimulatorName, err, p.logTail(logTailLines))
	}
	return nil
}

// SimulatorURL is the simulator's base URL ("" when none runs), https://127.0.0.2:PORT.
// Config URLs are SimulatorURL()+"/<org>[/<repo>]"; clients trust SimulatorCAFile.
func (s *System) SimulatorURL() string { return s.simulatorURL }

// SimulatorCAFile is the path of the PEM CA certificate the simulator's serving certificate
// is signed by: for SSL_CERT_FILE, a RunnerSet's githubServerTLS, or
// simulator.NewControlClientTLS. "" when no simulator runs or it serves plain HTTP (Args
// with --tls=false).
func (s *System) SimulatorCAFile() string {
	path := filepath.Join(s.dir, simulatorCAFile)
	if _, err := os.Stat(path); s.simulatorURL == "" || err != nil {
		return ""
	}
	return path
}
