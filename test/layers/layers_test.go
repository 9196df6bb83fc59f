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

// Package layers holds the rules of which package may import which: the API types know no
// server, the two halves of the server (registry and scaler) know only the contract between
// them, the scaler's GitHub side knows nothing of the cluster side, and the server's binary
// carries none of the test systems.
package layers

import (
	"bufio"
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

const module = "actions.dev/runnerset-apiserver/"

// rule: no package under from may import a package under any of to.
type rule struct {
	from string
	to   []string
	why  string
}

var rules = []rule{
	{"pkg/apis", []string{"pkg/registry", "pkg/scaler", "pkg/github", "pkg/apiserver"}, "the API types are the base everything else builds on"},
	{"pkg/contract", []string{"pkg/registry", "pkg/scaler", "pkg/github", "pkg/apiserver"}, "the contract is what registry and scaler share, and depends on neither"},
	{"pkg/registry", []string{"pkg/scaler", "pkg/github"}, "the registry serves the API; what it shares with the scaler is in pkg/contract"},
	{"pkg/scaler", []string{"pkg/registry", "pkg/apiserver"}, "the scaler works through the API, like any client"},
	{"pkg/scaler/session", []string{"pkg/scaler/runners", "actions.dev/runnerset-apiserver/pkg/scaler$", "pkg/contract"}, "the GitHub side publishes a Demand and knows nothing of runner objects"},
	{"pkg/scaler/runners", []string{"actions.dev/runnerset-apiserver/pkg/scaler$"}, "the cluster side is driven by the worker, not the other way round"},
	{"pkg/github", []string{"pkg/apis", "pkg/registry", "pkg/scaler", "pkg/apiserver", "pkg/contract"}, "the GitHub clients and simulator know GitHub only"},
	{"cmd/apiserver/app", []string{"pkg/scaler", "pkg/registry"}, "the command builds options; pkg/apiserver assembles the server"},
	{"pkg/scope", []string{"pkg/apis", "pkg/registry", "pkg/scaler", "pkg/github", "pkg/apiserver", "pkg/contract"}, "which namespaces are served is a leaf both halves of the server read"},
	{"pkg/runnerpods", []string{"pkg/registry", "pkg/scaler", "pkg/github", "pkg/apiserver", "pkg/contract"}, "the runner pod cache is a leaf both halves of the server read, kept once per replica"},
	{"pkg/schedule", []string{"pkg/apis", "pkg/registry", "pkg/scaler", "pkg/github", "pkg/apiserver", "pkg/contract"}, "a schedule is clock arithmetic both the API's validation and the scaler use"},
}

// forbiddenInBinary are never linked into the server's binary.
var forbiddenInBinary = []string{"pkg/github/simulator", "pkg/runneremulator", "pkg/localsystem"}

// imports maps every package of the module to the module packages it imports (deps: all it
// links in).
func imports(t *testing.T, deps bool, patterns ...string) map[string][]string {
	t.Helper()
	tmpl := `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`
	if deps {
		tmpl = `{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`
	}
	cmd := exec.Command("go", append([]string{"list", "-f", tmpl}, patterns...)...)
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	m := map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<22)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		for _, imp := range f[1:] {
			if strings.HasPrefix(imp, module) {
				m[f[0]] = append(m[f[0]], imp)
			}
		}
	}
	return m
}

// under tells whether pkg is dir or below it; a pattern ending in $ names one package exactly.
func under(pkg, dir string) bool {
	if exact, ok := strings.CutSuffix(dir, "$"); ok {
		return pkg == exact
	}
	full := module + dir
	return pkg == full || strings.HasPrefix(pkg, full+"/")
}

func TestImportRules(t *testing.T) {
	all := imports(t, false, "./...")
	if len(all) < 10 {
		t.Fatalf("go list found %d packages with module imports; the rules would check nothing", len(all))
	}
	for pkg, imps := range all {
		for _, r := range rules {
			if !under(pkg, r.from) {
				continue
			}
			for _, imp := range imps {
				for _, to := range r.to {
					if under(imp, to) {
						t.Errorf("%s imports %s: %s", strings.TrimPrefix(pkg, module), strings.TrimPrefix(imp, module), r.why)
					}
				}
			}
		}
	}
}

func TestServerBinaryCarriesNoTestSystem(t *testing.T) {
	deps := imports(t, true, "./cmd/apiserver")[module+"cmd/apiserver"]
	if len(deps) == 0 {
		t.Fatal("go list found no dependencies of cmd/apiserver")
	}
	for _, d := range deps {
		for _, f := range forbiddenInBinary {
			if under(d, f) {
				t.Errorf("the server's binary links %s", strings.TrimPrefix(d, module))
			}
		}
	}
}
