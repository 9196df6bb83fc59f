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

package charts

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

const (
	serverChart    = "runnerset-apiserver"
	runnerSetChart = "runnerset"

	// The documented installation: release runnerset-apiserver in runnerset-system, which gives
	// the names artifacts/example uses.
	serverRelease   = "runnerset-apiserver"
	serverNamespace = "runnerset-system"
	// As in the seed document: helm install arc-runner-set --namespace arc-runners.
	runnerSetRelease   = "arc-runner-set"
	runnerSetNamespace = "arc-runners"
)

// repoRoot is the repository: the tests run in charts/.
var repoRoot = func() string {
	wd, _ := os.Getwd()
	return filepath.Dir(wd)
}()

func chartDir(name string) string { return filepath.Join(repoRoot, "charts", name) }

// helmBinary is the pinned helm that make tools builds; the tests skip without it.
func helmBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(repoRoot, "_output", "bin", "helm")
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("%s is missing (build it with make tools): %v", bin, err)
	}
	return bin
}

// helm runs the pinned helm with its home directories in a temporary directory and no cluster,
// so that nothing outside the test is read or written.
func helm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	bin := helmBinary(t)
	home := t.TempDir()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(),
		"HOME="+home,
		"HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"),
		"HELM_DATA_HOME="+filepath.Join(home, "data"),
		"KUBECONFIG="+filepath.Join(home, "no-cluster.kubeconfig"),
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("helm %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

// objects is what a chart rendered.
type objects []*unstructured.Unstructured

// renderServer renders the server chart as documented, with extra helm arguments.
func renderServer(t *testing.T, args ...string) objects {
	t.Helper()
	return render(t, serverRelease, chartDir(serverChart), serverNamespace, args...)
}

// renderRunnerSet renders the runnerset chart as the seed document installs ARC's.
func renderRunnerSet(t *testing.T, args ...string) objects {
	t.Helper()
	return render(t, runnerSetRelease, chartDir(runnerSetChart), runnerSetNamespace, args...)
}

// copyChart copies a chart into a temporary directory, for a test that changes a template.
func copyChart(t *testing.T, name string) string {
	t.Helper()
	src := chartDir(name)
	dst := filepath.Join(t.TempDir(), name)
	require.NoError(t, filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	}))
	return dst
}

// notesTemplate renders a chart's release notes (the named template NOTES.txt includes) as the
// data of a ConfigMap: helm template leaves NOTES.txt out, and helm install --dry-run needs a
// cluster.
const notesTemplate = `apiVersion: v1
kind: ConfigMap
metadata:
  name: release-notes
data:
  notes: {{ include %q . | quote }}
`

// chartNotes renders a chart's release notes, as helm install prints them: NOTES.txt is one
// include of the named template define.
func chartNotes(t *testing.T, chartName, define, release, namespace string, args ...string) string {
	t.Helper()
	chart := copyChart(t, chartName)
	require.NoError(t, os.WriteFile(filepath.Join(chart, "templates", "zz-release-notes.yaml"), []byte(fmt.Sprintf(notesTemplate, define)), 0o644))
	notes := render(t, release, chart, namespace, args...).get(t, "ConfigMap", "release-notes")
	text, _, err := unstructured.NestedString(notes.Object, "data", "notes")
	require.NoError(t, err)
	// The notes NOTES.txt renders are these.
	data, err := os.ReadFile(filepath.Join(chart, "templates", "NOTES.txt"))
	require.NoError(t, err)
	require.Equal(t, fmt.Sprintf(`{{- include %q . }}`, define), strings.TrimSpace(string(data)))
	return text
}

// runnerSetNotes renders the runnerset chart's release notes, as helm install prints them.
func runnerSetNotes(t *testing.T, args ...string) string {
	t.Helper()
	return chartNotes(t, runnerSetChart, "runnerset.notes", runnerSetRelease, runnerSetNamespace, args...)
}

// serverNotes renders the server chart's release notes, as helm install prints them.
func serverNotes(t *testing.T, args ...string) string {
	t.Helper()
	return chartNotes(t, serverChart, "runnerset-apiserver.notes", serverRelease, serverNamespace, args...)
}

func render(t *testing.T, release, chart, namespace string, args ...string) objects {
	t.Helper()
	out, err := helm(t, append([]string{"template", release, chart, "--namespace", namespace}, args...)...)
	require.NoError(t, err)
	objs, err := decode([]byte(out))
	require.NoError(t, err, "decoding what helm rendered:\n%s", out)
	return objs
}

// renderFails renders a chart expecting helm to refuse, and returns its message.
func renderFails(t *testing.T, release, chart, namespace string, args ...string) string {
	t.Helper()
	out, err := helm(t, append([]string{"template", release, chart, "--namespace", namespace}, args...)...)
	require.Error(t, err, "helm template should fail; it rendered:\n%s", out)
	return err.Error()
}

func decode(data []byte) (objects, error) {
	var objs objects
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		var raw map[string]any
		if err := dec.Decode(&raw); err != nil {
			if errors.Is(err, io.EOF) {
				return objs, nil
			}
			return nil, err
		}
		if len(raw) > 0 {
			objs = append(objs, &unstructured.Unstructured{Object: raw})
		}
	}
}

func decodeFile(t *testing.T, path string) objects {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	objs, err := decode(data)
	require.NoError(t, err, path)
	return objs
}

// find returns the object of that kind and name, or nil.
func (o objects) find(kind, name string) *unstructured.Unstructured {
	for _, obj := range o {
		if obj.GetKind() == kind && obj.GetName() == name {
			return obj
		}
	}
	return nil
}

// findIn returns the object of that kind, namespace and name, or nil.
func (o objects) findIn(kind, namespace, name string) *unstructured.Unstructured {
	for _, obj := range o {
		if obj.GetKind() == kind && obj.GetNamespace() == namespace && obj.GetName() == name {
			return obj
		}
	}
	return nil
}

// get returns the object of that kind and name and fails the test without it.
func (o objects) get(t *testing.T, kind, name string) *unstructured.Unstructured {
	t.Helper()
	obj := o.find(kind, name)
	require.NotNil(t, obj, "%s %s not rendered; got %v", kind, name, o.names())
	return obj
}

func (o objects) names() []string {
	var names []string
	for _, obj := range o {
		names = append(names, obj.GetKind()+"/"+obj.GetName())
	}
	return names
}

func (o objects) ofKind(kind string) objects {
	var out objects
	for _, obj := range o {
		if obj.GetKind() == kind {
			out = append(out, obj)
		}
	}
	return out
}

// as converts obj into a typed object, refusing fields the type does not have: a misspelt
// field in a template fails here rather than being dropped by the API server.
func as[T any](t *testing.T, obj *unstructured.Unstructured) *T {
	t.Helper()
	out := new(T)
	require.NoError(t, runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(obj.Object, out, true),
		"%s %s", obj.GetKind(), obj.GetName())
	return out
}

// runtimeFromUnstructured converts obj into out, which may declare only some of its fields (a
// custom resource's, say).
func runtimeFromUnstructured(obj *unstructured.Unstructured, out any) error {
	return runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, out)
}
