//go:build e2e

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

package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
	clientset "actions.dev/runnerset-apiserver/pkg/generated/clientset/versioned"
	"actions.dev/runnerset-apiserver/pkg/github/simulator"
	"actions.dev/runnerset-apiserver/pkg/localsystem"
	"actions.dev/runnerset-apiserver/pkg/runneremulator"
)

// The server chart is installed as docs/install.md says: release runnerset-apiserver in
// runnerset-system, which names everything runnerset-apiserver.
const (
	chartRelease   = "runnerset-apiserver"
	chartNamespace = "runnerset-system"
	chartService   = "runnerset-apiserver.runnerset-system.svc"
	apiServiceName = "v1alpha1.actions.dev"
)

var apiServicesGVR = schema.GroupVersionResource{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices"}

// chartCluster is a second local control plane, without the server of TestMain's: here the
// Helm chart owns the APIService, the RBAC and the ServiceAccount, and our server runs as a
// process on this machine under that ServiceAccount. In the local system no container runs
// (kwok plays the node), so the chart's Deployment cannot serve; the chart's Service is switched
// to ExternalName localhost:<port> (service.type/externalName/port), the only route the
// aggregator has to a process on loopback (--enable-aggregator-routing=false).
type chartCluster struct {
	t      *testing.T
	sys    *localsystem.System
	dir    string
	port   int
	server *localsystem.Process
	// certDir holds the serving certificate the chart generated, as the server reads it.
	certDir string
}

// with returns c for a subtest: failures go to t, from t's goroutine.
func (c *chartCluster) with(t *testing.T) *chartCluster {
	cp := *c
	cp.t = t
	return &cp
}

func (c *chartCluster) kubectl(user string, args ...string) string {
	c.t.Helper()
	out, errOut, err := c.sys.Kubectl(context.Background(), user, args...)
	require.NoError(c.t, err, "kubectl %s\nstdout: %s\nstderr: %s", strings.Join(args, " "), out, errOut)
	return out
}

func (c *chartCluster) kubectlFails(user string, args ...string) string {
	c.t.Helper()
	out, errOut, err := c.sys.Kubectl(context.Background(), user, args...)
	require.Error(c.t, err, "kubectl %s should fail\nstdout: %s", strings.Join(args, " "), out)
	return errOut
}

func (c *chartCluster) helm(user string, args ...string) string {
	c.t.Helper()
	out, errOut, err := c.sys.Helm(context.Background(), user, args...)
	require.NoError(c.t, err, "helm %s\nstdout: %s\nstderr: %s", strings.Join(args, " "), out, errOut)
	return out
}

func (c *chartCluster) kube() kubernetes.Interface { return c.sys.AdminClient() }

func (c *chartCluster) actions() clientset.Interface {
	cs, err := clientset.NewForConfig(c.sys.RESTConfig(localsystem.UserAdmin))
	require.NoError(c.t, err)
	return cs
}

func (c *chartCluster) dynamic() dynamic.Interface {
	d, err := dynamic.NewForConfig(c.sys.RESTConfig(localsystem.UserAdmin))
	require.NoError(c.t, err)
	return d
}

// apiService returns the APIService's caBundle and whether it is Available.
func (c *chartCluster) apiService(ctx context.Context) (caBundle []byte, available bool, why string, err error) {
	obj, err := c.dynamic().Resource(apiServicesGVR).Get(ctx, apiServiceName, metav1.GetOptions{})
	if err != nil {
		return nil, false, "", err
	}
	b64, _, _ := unstructured.NestedString(obj.Object, "spec", "caBundle")
	caBundle, _ = base64.StdEncoding.DecodeString(b64)
	conditions, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	for _, cond := range conditions {
		m, _ := cond.(map[string]any)
		if m["type"] == "Available" {
			return caBundle, m["status"] == "True", fmt.Sprintf("%v: %v", m["reason"], m["message"]), nil
		}
	}
	return caBundle, false, "no Available condition yet", nil
}

func (c *chartCluster) waitAvailable(what string) []byte {
	c.t.Helper()
	var (
		bundle []byte
		last   string
	)
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		b, ok, why, err := c.apiService(ctx)
		bundle, last = b, why
		if err != nil {
			last = err.Error()
		}
		return ok, nil
	})
	require.NoError(c.t, err, "waiting for %s (last: %s)", what, last)
	return bundle
}

// watchAvailability checks, every 100ms until stop is called, that the APIService is Available
// and that a request through the aggregator to our server succeeds. stop returns every failure
// seen.
func (c *chartCluster) watchAvailability() (stop func() []string) {
	ctx, cancel := context.WithCancel(context.Background())
	actions := c.actions()
	var (
		mu       sync.Mutex
		failures []string
		done     = make(chan struct{})
	)
	go func() {
		defer close(done)
		_ = wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
			var failure string
			if _, ok, why, err := c.apiService(ctx); ctx.Err() == nil && (err != nil || !ok) {
				failure = fmt.Sprintf("APIService not Available: %v %s", err, why)
			} else if _, err := actions.ActionsV1alpha1().RunnerSets("").List(ctx, metav1.ListOptions{Limit: 1}); ctx.Err() == nil && err != nil {
				failure = "listing RunnerSets through the aggregator: " + err.Error()
			}
			if failure != "" {
				mu.Lock()
				failures = append(failures, time.Now().Format("15:04:05.000")+" "+failure)
				mu.Unlock()
			}
			return false, nil
		})
	}()
	return func() []string {
		cancel()
		<-done
		mu.Lock()
		defer mu.Unlock()
		return failures
	}
}

// servingCert returns the Secret the chart generated: the certificate, key and CA.
func (c *chartCluster) servingCert() *corev1.Secret {
	c.t.Helper()
	s, err := c.kube().CoreV1().Secrets(chartNamespace).Get(context.Background(), "runnerset-apiserver-serving-cert", metav1.GetOptions{})
	require.NoError(c.t, err)
	return s
}

// writeServingCert writes the Secret's key pair where the server reads it, as the kubelet
// would update a Secret volume: each file replaced atomically.
func (c *chartCluster) writeServingCert(s *corev1.Secret) {
	c.t.Helper()
	for _, name := range []string{"tls.key", "tls.crt"} {
		tmp := filepath.Join(c.certDir, "."+name)
		require.NoError(c.t, os.WriteFile(tmp, s.Data[name], 0o600))
		require.NoError(c.t, os.Rename(tmp, filepath.Join(c.certDir, name)))
	}
}

// servedCert is the certificate our server presents right now.
func (c *chartCluster) servedCert() ([]byte, error) {
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port)),
		&tls.Config{InsecureSkipVerify: true}) //nolint:gosec // only reads which certificate is served
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].Raw, nil
}

// startServer runs our server the way the chart's Deployment would, under the chart's
// ServiceAccount: the container's arguments from the installed Deployment, with only what
// differs on this machine replaced (listen address and port, certificate paths, kubeconfigs),
// and GitHub restricted to the simulator on loopback.
func (c *chartCluster) startServer(ctx context.Context) {
	c.t.Helper()
	d, err := c.kube().AppsV1().Deployments(chartNamespace).Get(ctx, chartRelease, metav1.GetOptions{})
	require.NoError(c.t, err)
	require.Len(c.t, d.Spec.Template.Spec.Containers, 1)
	container := d.Spec.Template.Spec.Containers[0]
	require.Equal(c.t, chartRelease, d.Spec.Template.Spec.ServiceAccountName)

	c.certDir = filepath.Join(c.dir, "chart-serving-cert")
	require.NoError(c.t, os.MkdirAll(c.certDir, 0o700))
	secret := c.servingCert()
	c.writeServingCert(secret)
	kubeconfig, err := c.sys.ServiceAccountKubeconfig(ctx, chartNamespace, d.Spec.Template.Spec.ServiceAccountName, time.Hour)
	require.NoError(c.t, err)

	var args []string
	for _, a := range container.Args {
		switch name, _, _ := strings.Cut(a, "="); name {
		case "--secure-port", "--bind-address", "--tls-cert-file", "--tls-private-key-file", "--allowed-github-hosts":
			continue // replaced below
		}
		args = append(args, a)
	}
	args = append(args,
		"--bind-address=127.0.0.1",
		"--secure-port="+strconv.Itoa(c.port),
		"--tls-cert-file="+filepath.Join(c.certDir, "tls.crt"),
		"--tls-private-key-file="+filepath.Join(c.certDir, "tls.key"),
		"--kubeconfig="+kubeconfig,
		"--authentication-kubeconfig="+kubeconfig,
		"--authorization-kubeconfig="+kubeconfig,
		// Never let a test reach github.com: GitHub is the simulator on loopback.
		"--allowed-github-hosts="+localsystem.AllowedGitHubHosts,
	)
	c.server, err = c.sys.StartProcess(ctx, localsystem.ProcessOptions{
		Name:            "runnerset-apiserver",
		Binary:          filepath.Join(*binDir, "runnerset-apiserver"),
		Args:            args,
		Env:             []string{"SSL_CERT_FILE=" + ghCAFile},
		ReadyURL:        "https://127.0.0.1:" + strconv.Itoa(c.port) + "/readyz",
		ReadyCA:         secret.Data["ca.crt"],
		ReadyServerName: chartService,
	})
	require.NoError(c.t, err)
}

// canI asks kubectl auth can-i as the chart's ServiceAccount.
func (c *chartCluster) canI(args ...string) (bool, error) {
	full := append([]string{"auth", "can-i", "--as=system:serviceaccount:" + chartNamespace + ":" + chartRelease}, args...)
	out, errOut, err := c.sys.Kubectl(context.Background(), localsystem.UserAdmin, full...)
	switch strings.TrimSpace(out) {
	case "yes":
		return true, nil
	case "no":
		return false, nil
	}
	return false, fmt.Errorf("kubectl %v: %v: %s %s", full, err, out, errOut)
}

// TestHelmCharts installs both charts on a local control plane of their own and runs our server
// behind the chart's APIService, under the chart's ServiceAccount: the chart's RBAC is
// sufficient (RunnerSets from the seed document's values files become Ready and scale) and
// minimal (kubectl auth can-i denies the rest), teams that administer a namespace manage their
// RunnerSets with no extra binding, upgrades keep the APIService Available, namespaced mode
// (watchNamespaces) confines the server's rights and RunnerSets to the watched namespaces, and
// uninstalling the server leaves no namespace stuck.
func TestHelmCharts(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a second control plane")
	}
	begin := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	root := repoRoot()
	dir, err := os.MkdirTemp(filepath.Join(root, "_output"), "e2e-helm-")
	require.NoError(t, err)
	hs, err := localsystem.Start(ctx, localsystem.Options{BinDir: *binDir, Dir: dir})
	require.NoError(t, err)
	t.Cleanup(func() {
		hs.Stop()
		if t.Failed() || *keepDir {
			t.Logf("state and logs kept in %s", dir)
		} else {
			_ = os.RemoveAll(dir)
		}
	})
	t.Logf("second control plane up in %s", time.Since(begin).Round(time.Millisecond))
	emu, err := runneremulator.New(runneremulator.Config{Client: hs.AdminClient(), Runners: gh})
	require.NoError(t, err)
	emuCtx, stopEmu := context.WithCancel(context.Background())
	emuDone := make(chan struct{})
	go func() { defer close(emuDone); _ = emu.Run(emuCtx) }()
	t.Cleanup(func() { stopEmu(); <-emuDone })

	c := &chartCluster{t: t, sys: hs, dir: dir}
	c.port, err = localsystem.FreePort()
	require.NoError(t, err)

	// The release namespace enforces the restricted Pod Security Standard: the chart's pods
	// must satisfy it to be created at all.
	_, err = hs.AdminClient().CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name:   chartNamespace,
		Labels: map[string]string{"pod-security.kubernetes.io/enforce": "restricted"},
	}}, metav1.CreateOptions{})
	require.NoError(t, err)

	chart := filepath.Join(root, "charts", "runnerset-apiserver")
	route := "service.type=ExternalName,service.externalName=localhost,service.port=" + strconv.Itoa(c.port)
	c.helm(localsystem.UserAdmin, "install", chartRelease, chart, "--namespace", chartNamespace, "--set", route)
	c.startServer(ctx)
	bundle := c.waitAvailable("the chart's APIService to be Available")
	verifyChain(t, c.servingCert(), bundle)
	waitOpenAPI(t, hs)
	t.Logf("server chart installed and serving after %s", time.Since(begin).Round(time.Millisecond))

	t.Run("Deployment satisfies the restricted Pod Security Standard", func(t *testing.T) {
		// kwok plays the node, so the pods only have to be admitted, scheduled and "run".
		eventually(t, 60*time.Second, "the chart's Deployment to be available", func(ctx context.Context) (bool, error) {
			d, err := hs.AdminClient().AppsV1().Deployments(chartNamespace).Get(ctx, chartRelease, metav1.GetOptions{})
			if err != nil {
				return false, nil
			}
			return d.Status.AvailableReplicas == 2, nil
		})
	})

	t.Run("ClusterRole is minimal", func(t *testing.T) { testServerRBACMinimal(t, c.with(t)) })

	// Sufficient: the seed document's values files, each as its own release, as in the seed.
	t.Run("seed values", func(t *testing.T) {
		for _, tc := range []struct{ mode, release string }{
			{"default", "arc-runner-set"}, {"dind", "dind-mode-test"}, {"kubernetes", "k8s-mode-test"},
		} {
			t.Run(tc.mode, func(t *testing.T) {
				t.Parallel()
				testSeedValues(t, c.with(t), tc.mode, tc.release)
			})
		}
	})

	t.Run("upgrade keeps the APIService Available", func(t *testing.T) {
		c := c.with(t)
		before := c.servingCert()
		stop := c.watchAvailability()
		c.helm(localsystem.UserAdmin, "upgrade", chartRelease, chart, "--namespace", chartNamespace, "--reuse-values", "--set", "logLevel=3,kubeAPI.qps=40")
		after := c.waitAvailable("the APIService after the upgrade")
		assert.Empty(t, stop(), "the APIService must stay Available through helm upgrade")
		assert.Equal(t, bundle, after, "same caBundle")
		assert.Equal(t, before.Data, c.servingCert().Data, "same certificate")
		d, err := hs.AdminClient().AppsV1().Deployments(chartNamespace).Get(ctx, chartRelease, metav1.GetOptions{})
		require.NoError(t, err)
		assert.Contains(t, d.Spec.Template.Spec.Containers[0].Args, "--v=3", "the upgrade did apply")
	})

	t.Run("certificate rotation keeps the APIService Available", func(t *testing.T) {
		c := c.with(t)
		old := c.servingCert()
		stop := c.watchAvailability()
		// A new rotation value: new CA and certificate; for this release the caBundle trusts both.
		c.helm(localsystem.UserAdmin, "upgrade", chartRelease, chart, "--namespace", chartNamespace, "--reuse-values", "--set", "tls.helm.rotation=2026-11")
		rotated := c.servingCert()
		require.NotEqual(t, old.Data["ca.crt"], rotated.Data["ca.crt"], "a new CA")
		both, _, _, err := c.apiService(ctx)
		require.NoError(t, err)
		assert.Equal(t, 2, countCerts(both), "the old and the new CA during the rotation")
		verifyChain(t, old, both)
		verifyChain(t, rotated, both)
		// The kubelet would now refresh the Secret volume; the server reloads its files.
		c.writeServingCert(rotated)
		block, _ := pem.Decode(rotated.Data["tls.crt"])
		eventually(t, 30*time.Second, "the server to serve the new certificate", func(ctx context.Context) (bool, error) {
			served, err := c.servedCert()
			return err == nil && bytes.Equal(served, block.Bytes), nil
		})
		// The next upgrade, same rotation value: the new CA only, no new rotation.
		c.helm(localsystem.UserAdmin, "upgrade", chartRelease, chart, "--namespace", chartNamespace, "--reuse-values")
		final := c.waitAvailable("the APIService after the rotation")
		assert.Empty(t, stop(), "the APIService must stay Available through a certificate rotation")
		assert.Equal(t, 1, countCerts(final))
		assert.Equal(t, rotated.Data, c.servingCert().Data, "the same rotation value does not rotate again")
		verifyChain(t, rotated, final)
	})

	// Namespaced mode, switched on and off with helm upgrade: the chart's Role in the watched
	// namespace is all the server needs there, it holds no right on Secrets or pods elsewhere, and
	// a RunnerSet installed elsewhere is refused with a 403 that names the watched namespaces.
	t.Run("namespaced mode", func(t *testing.T) {
		nc := c.with(t)
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		// The pods would restart with the Deployment's new arguments; here the process does.
		restart := func(what string) {
			nc.server.Stop()
			nc.startServer(ctx)
			c.server = nc.server // the uninstall subtest stops it
			nc.waitAvailable(what)
		}
		const watched, release = "helm-default", "arc-runner-set"
		nc.helm(localsystem.UserAdmin, "upgrade", chartRelease, chart, "--namespace", chartNamespace, "--reuse-values", "--set", "watchNamespaces={"+watched+"}")
		d, err := hs.AdminClient().AppsV1().Deployments(chartNamespace).Get(ctx, chartRelease, metav1.GetOptions{})
		require.NoError(t, err)
		assert.Contains(t, d.Spec.Template.Spec.Containers[0].Args, "--watch-namespaces="+watched)
		restart("the APIService in namespaced mode")

		for _, ck := range []struct {
			args []string
			want bool
		}{
			{[]string{"get", "secrets", "-n", watched}, true},
			{[]string{"create", "pods", "-n", watched}, true},
			{[]string{"create", "roles", "-n", watched}, true},
			{[]string{"create", "configmaps", "-n", watched}, true},
			{[]string{"get", "secrets", "-n", chartNamespace}, true}, // its signing key
			{[]string{"list", "configmaps", "--all-namespaces"}, true},
			{[]string{"get", "secrets", "-n", "helm-dind"}, false},
			{[]string{"get", "secrets", "-n", "kube-system"}, false},
			{[]string{"list", "secrets", "--all-namespaces"}, false},
			{[]string{"list", "pods", "--all-namespaces"}, false},
			{[]string{"create", "pods", "-n", "helm-dind"}, false},
			{[]string{"create", "configmaps", "-n", "helm-dind"}, false},
			{[]string{"create", "events", "-n", "helm-dind"}, false},
			{[]string{"create", "roles", "-n", "helm-kubernetes"}, false},
		} {
			got, err := nc.canI(ck.args...)
			if assert.NoError(t, err) {
				assert.Equal(t, ck.want, got, "can-i %s", strings.Join(ck.args, " "))
			}
		}

		// Installing a runner scale set in a namespace the server does not watch fails, naming
		// the ones it does.
		out, errOut, err := hs.Helm(ctx, localsystem.UserAdmin, "install", "elsewhere", filepath.Join(root, "charts", "runnerset"), "--namespace", "helm-dind",
			"--set", "githubConfigUrl="+gh.ConfigURL("helm/elsewhere"), "--set", "githubConfigSecret=github-pat")
		if assert.Error(t, err, "helm install in an unwatched namespace: %s", out) {
			assert.Contains(t, errOut, "forbidden")
			assert.Contains(t, errOut, "only in namespaces "+watched)
		}
		_, err = nc.actions().ActionsV1alpha1().RunnerSets("helm-dind").Get(ctx, "elsewhere", metav1.GetOptions{})
		assert.True(t, apierrors.IsNotFound(err), "RunnerSet helm-dind/elsewhere not created: %v", err)
		_, _, _ = hs.Helm(ctx, localsystem.UserAdmin, "uninstall", "elsewhere", "--namespace", "helm-dind")

		// The watched namespace's RunnerSet still scales, with the Role's rights only.
		nc.kubectl(localsystem.UserAdmin, "scale", "rset", release, "-n", watched, "--replicas=3")
		eventually(t, 90*time.Second, "3 runner pods in "+watched, func(ctx context.Context) (bool, error) {
			list, err := hs.AdminClient().CoreV1().Pods(watched).List(ctx, metav1.ListOptions{LabelSelector: v1alpha1.LabelRunnerSet + "=" + release})
			return err == nil && len(list.Items) == 3, nil
		})

		// Back to cluster mode: the Roles go, the ClusterRole holds the rights again.
		nc.helm(localsystem.UserAdmin, "upgrade", chartRelease, chart, "--namespace", chartNamespace, "--reuse-values", "--set-json", "watchNamespaces=[]")
		restart("the APIService back in cluster mode")
		_, err = hs.AdminClient().RbacV1().Roles(watched).Get(ctx, chartRelease+":runners", metav1.GetOptions{})
		assert.True(t, apierrors.IsNotFound(err), "Role %s:runners removed from %s: %v", chartRelease, watched, err)
		got, err := nc.canI("get", "secrets", "-n", "helm-dind")
		assert.NoError(t, err)
		assert.True(t, got, "cluster mode: the server reads Secrets in every namespace again")
	})

	t.Run("uninstall", func(t *testing.T) {
		c := c.with(t)
		// The documented order: runner scale sets first. helm uninstall --wait returns once the
		// server has drained the RunnerSet, deleting its scale set on GitHub.
		const ns, name = "helm-default", "arc-runner-set"
		rs, err := c.actions().ActionsV1alpha1().RunnerSets(ns).Get(ctx, name, metav1.GetOptions{})
		require.NoError(t, err)
		scaleSetID := int(rs.Status.ScaleSetID)
		require.NotZero(t, scaleSetID)
		c.helm(localsystem.UserAlice, "uninstall", name, "--namespace", ns, "--wait", "--timeout", "60s")
		_, err = c.actions().ActionsV1alpha1().RunnerSets(ns).Get(ctx, name, metav1.GetOptions{})
		assert.True(t, apierrors.IsNotFound(err), "RunnerSet gone: %v", err)
		for _, ss := range gh.ScaleSets() {
			assert.NotEqual(t, scaleSetID, ss.ID, "scale set %d deleted on GitHub", scaleSetID)
		}
		// Drained once, cleanly: not deleted again by a worker that took the RunnerSet for one
		// that vanished without a drain.
		assert.Equal(t, 1, gh.Counters().ScaleSets[scaleSetID]["DeleteScaleSet"], "DeleteScaleSet calls for scale set %d", scaleSetID)

		// The server next, while two RunnerSets still exist (with their drain finalizer):
		// their namespaces must still be deletable.
		c.helm(localsystem.UserAdmin, "uninstall", chartRelease, "--namespace", chartNamespace)
		c.server.Stop()
		_, err = c.dynamic().Resource(apiServicesGVR).Get(ctx, apiServiceName, metav1.GetOptions{})
		assert.True(t, apierrors.IsNotFound(err), "APIService removed: %v", err)
		for _, role := range []string{"runnerset-viewer", "runnerset-editor", "runnerset-admin", chartRelease} {
			_, err := hs.AdminClient().RbacV1().ClusterRoles().Get(ctx, role, metav1.GetOptions{})
			assert.True(t, apierrors.IsNotFound(err), "ClusterRole %s removed: %v", role, err)
		}
		namespaces := []string{"helm-dind", "helm-kubernetes", ns, chartNamespace}
		for _, n := range namespaces {
			require.NoError(t, hs.AdminClient().CoreV1().Namespaces().Delete(ctx, n, metav1.DeleteOptions{}))
		}
		eventually(t, 90*time.Second, "every namespace deleted, none stuck Terminating", func(ctx context.Context) (bool, error) {
			for _, n := range namespaces {
				if _, err := hs.AdminClient().CoreV1().Namespaces().Get(ctx, n, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
					return false, nil
				}
			}
			return true, nil
		})
	})
	t.Logf("TestHelmCharts took %s", time.Since(begin).Round(time.Millisecond))
}

// testServerRBACMinimal: what the server's ServiceAccount may do, and, above all, what not.
func testServerRBACMinimal(t *testing.T, c *chartCluster) {
	type check struct {
		args []string
		want bool
	}
	var checks []check
	allow := func(args ...string) { checks = append(checks, check{args, true}) }
	deny := func(args ...string) { checks = append(checks, check{args, false}) }

	// What the server needs (the e2e flows below prove it needs no more).
	allow("create", "configmaps", "-n", "team-x")
	allow("get", "secrets", "--all-namespaces") // githubConfigSecret in any namespace; the scaler's informer
	allow("create", "pods", "-n", "team-x")
	allow("patch", "pods", "-n", "team-x")
	allow("create", "roles", "-n", "team-x") // kubernetes mode
	allow("update", "roles", "-n", "team-x") // its Role follows kubernetesModeAdditionalRoleRules
	allow("create", "pods", "--subresource=exec", "-n", "team-x")
	allow("create", "leases", "-n", chartNamespace)
	allow("update", "leases/runnerset-apiserver-scaler", "-n", chartNamespace)
	allow("create", "tokenreviews.authentication.k8s.io")
	allow("create", "subjectaccessreviews.authorization.k8s.io")
	allow("get", "configmaps/extension-apiserver-authentication", "-n", "kube-system")
	allow("watch", "flowschemas.flowcontrol.apiserver.k8s.io")

	// What it must not do.
	deny("delete", "namespaces")
	deny("create", "namespaces")
	deny("update", "namespaces")
	deny("get", "nodes")
	deny("patch", "nodes")
	deny("create", "clusterroles")
	deny("create", "clusterrolebindings")
	deny("escalate", "roles", "-n", "team-x")
	deny("bind", "roles", "-n", "team-x")
	deny("delete", "rolebindings", "-n", "team-x")
	deny("create", "serviceaccounts", "--subresource=token", "-n", "team-x") // no minting tokens for others
	deny("delete", "serviceaccounts", "-n", "team-x")
	deny("impersonate", "users")
	deny("impersonate", "serviceaccounts")
	deny("update", "deployments.apps", "-n", chartNamespace)
	deny("delete", "apiservices.apiregistration.k8s.io")
	deny("patch", "validatingwebhookconfigurations.admissionregistration.k8s.io")
	deny("create", "certificatesigningrequests.certificates.k8s.io")
	deny("update", "pods", "--subresource=status", "-n", "team-x")
	deny("create", "pods", "--subresource=eviction", "-n", "team-x")
	deny("create", "leases", "-n", "kube-node-lease") // nodes' heartbeats
	deny("update", "leases/kube-scheduler", "-n", "kube-system")
	deny("update", "leases/someone-else", "-n", chartNamespace)
	deny("create", "leases", "-n", "team-x")
	deny("patch", "configmaps", "-n", "team-x")
	deny("update", "secrets", "-n", "team-x")
	deny("create", "events.events.k8s.io", "-n", "team-x")
	deny("list", "runnersets.actions.dev", "--all-namespaces") // the server reaches itself on loopback
	deny("get", "/metrics")

	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		failed []string
		sem    = make(chan struct{}, 4)
	)
	for _, ck := range checks {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			got, err := c.canI(ck.args...)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failed = append(failed, err.Error())
			} else if got != ck.want {
				failed = append(failed, fmt.Sprintf("can-i %s: got %v, want %v", strings.Join(ck.args, " "), got, ck.want))
			}
		})
	}
	wg.Wait()
	assert.Empty(t, failed)
}

// testSeedValues installs the runnerset chart with one of the seed document's values files
// (unchanged, but pointed at the simulator) and checks the RunnerSet becomes Ready and scales.
func testSeedValues(t *testing.T, c *chartCluster, mode, release string) {
	ctx := context.Background()
	ns := "helm-" + mode
	require.NoError(t, c.sys.EnsureNamespace(ctx, ns))
	user := localsystem.UserAdmin
	if mode == "default" {
		// A team that administers its namespace installs and scales its runner scale set with
		// no binding but the built-in admin role (runnerset-admin is aggregated into it), and
		// one with view only sees it.
		user = localsystem.UserAlice
		c.kubectl(localsystem.UserAdmin, "create", "rolebinding", "alice-admin", "-n", ns, "--clusterrole=admin", "--user=alice")
		c.kubectl(localsystem.UserAdmin, "create", "rolebinding", "bob-view", "-n", ns, "--clusterrole=view", "--user=bob")
		eventually(t, 30*time.Second, "runnerset-admin aggregated into admin", func(ctx context.Context) (bool, error) {
			out, _, _ := c.sys.Kubectl(ctx, localsystem.UserAlice, "auth", "can-i", "update", "runnersets.actions.dev/scale", "-n", ns)
			return strings.TrimSpace(out) == "yes", nil
		})
	}
	values := filepath.Join(repoRoot(), "charts", "runnerset", "ci", mode+"-values.yaml")
	c.helm(user, "install", release, filepath.Join(repoRoot(), "charts", "runnerset"), "--namespace", ns, "--values", values,
		"--set", "githubConfigUrl="+gh.ConfigURL("helm/"+mode), "--set", "githubConfigSecret.github_token="+simulator.DefaultPAT)

	var rs *v1alpha1.RunnerSet
	eventually(t, 60*time.Second, "RunnerSet "+ns+"/"+release+" Ready", func(ctx context.Context) (bool, error) {
		got, err := c.actions().ActionsV1alpha1().RunnerSets(ns).Get(ctx, release, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		rs = got
		return meta.IsStatusConditionTrue(got.Status.Conditions, v1alpha1.ConditionReady), nil
	})
	assert.Equal(t, release, rs.Spec.RunnerScaleSetName)
	assert.NotZero(t, rs.Status.ScaleSetID)
	assert.Contains(t, rs.Finalizers, v1alpha1.RunnerSetFinalizer)

	replicas := 1
	if mode == "default" {
		replicas = 2
	}
	c.kubectl(user, "scale", "rset", release, "-n", ns, "--replicas="+strconv.Itoa(replicas))
	if mode == "dind" && dindRefused(t, c, ns, release) {
		return
	}
	var pods []corev1.Pod
	eventually(t, 60*time.Second, fmt.Sprintf("%d runner pods in %s", replicas, ns), func(ctx context.Context) (bool, error) {
		list, err := c.kube().CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: v1alpha1.LabelRunnerSet + "=" + release})
		if err != nil {
			return false, nil
		}
		pods = list.Items
		return len(pods) == replicas, nil
	})

	switch mode {
	case "default":
		// The runners register (the emulator plays them) and show in kubectl get runners for the
		// team; the viewer sees but cannot scale; other namespaces stay closed.
		eventually(t, 60*time.Second, "2 runners in the scale subresource", func(ctx context.Context) (bool, error) {
			out, _, err := c.sys.Kubectl(ctx, localsystem.UserAlice, "get", "rset", release, "-n", ns, "--subresource=scale", "-o", "jsonpath={.status.replicas}")
			return err == nil && out == "2", nil
		})
		runners := c.kubectl(localsystem.UserAlice, "get", "runners", "-n", ns, "--no-headers")
		assert.Equal(t, 2, len(strings.Split(strings.TrimSpace(runners), "\n")), runners)
		c.kubectl(localsystem.UserBob, "get", "rset", release, "-n", ns)
		assert.Contains(t, c.kubectlFails(localsystem.UserBob, "scale", "rset", release, "-n", ns, "--replicas=3"), "forbidden")
		assert.Contains(t, c.kubectlFails(localsystem.UserAlice, "get", "rset", "-n", "helm-dind"), "forbidden")
	case "dind":
		assert.True(t, hasSidecar(pods[0], "dind"), "the server rendered the dind sidecar")
	case "kubernetes":
		// The server created the container hooks' Role: possible only because its ClusterRole
		// holds every right that Role grants (RBAC escalation prevention).
		role, err := c.kube().RbacV1().Roles(ns).Get(ctx, release+"-kube-mode", metav1.GetOptions{})
		require.NoError(t, err)
		assert.Contains(t, role.Rules, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods/exec"}, Verbs: []string{"get", "create"}})
		_, err = c.kube().RbacV1().RoleBindings(ns).Get(ctx, release+"-kube-mode", metav1.GetOptions{})
		require.NoError(t, err)
		assert.Equal(t, release+"-kube-mode", pods[0].Spec.ServiceAccountName)
	}
}

// dindRefused waits until the dind RunnerSet has a runner pod, or the cluster refused it for
// being privileged, and reports the latter. The local kube-apiserver runs without
// --allow-privileged=true, which real clusters set: there the pod is refused ("privileged:
// Forbidden: disallowed by cluster policy") after the server, with the chart's rights, rendered
// and tried to create it. Once the local system allows privileged containers, the pod itself is
// checked.
func dindRefused(t *testing.T, c *chartCluster, ns, name string) bool {
	refused := ""
	eventually(t, 60*time.Second, "a dind runner pod, or its refusal", func(ctx context.Context) (bool, error) {
		list, err := c.kube().CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: v1alpha1.LabelRunnerSet + "=" + name})
		if err == nil && len(list.Items) > 0 {
			return true, nil
		}
		rs, err := c.actions().ActionsV1alpha1().RunnerSets(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		if cond := meta.FindStatusCondition(rs.Status.Conditions, v1alpha1.ConditionPodsFailing); cond != nil && cond.Status == metav1.ConditionTrue &&
			strings.Contains(cond.Message, "privileged") && strings.Contains(cond.Message, "disallowed by cluster policy") &&
			rs.Status.DesiredRunners == 1 { // the scale reached the scaler
			refused = cond.Message
			return true, nil
		}
		return false, nil
	})
	if refused != "" {
		t.Logf("the local kube-apiserver refuses privileged containers (no --allow-privileged=true), so the dind runner pod was refused after the server tried to create it: %s", refused)
	}
	return refused != ""
}

func hasSidecar(p corev1.Pod, name string) bool {
	for _, c := range p.Spec.InitContainers {
		if c.Name == name && c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			return true
		}
	}
	return false
}

// verifyChain checks that caBundle verifies the Secret's certificate as the aggregator does.
func verifyChain(t *testing.T, secret *corev1.Secret, caBundle []byte) {
	t.Helper()
	block, _ := pem.Decode(secret.Data["tls.crt"])
	require.NotNil(t, block)
	cert, err := x509.ParseCertificate(block.Bytes)
	require.NoError(t, err)
	roots := x509.NewCertPool()
	require.True(t, roots.AppendCertsFromPEM(caBundle))
	_, err = cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: chartService})
	require.NoError(t, err)
}

func countCerts(bundle []byte) int {
	n := 0
	for {
		var block *pem.Block
		block, bundle = pem.Decode(bundle)
		if block == nil {
			return n
		}
		n++
	}
}

// waitOpenAPI waits until the aggregator publishes our OpenAPI, which helm's client-side
// validation of the RunnerSet needs.
func waitOpenAPI(t *testing.T, s *localsystem.System) {
	t.Helper()
	eventually(t, 60*time.Second, "actions.dev/v1alpha1 in /openapi/v3", func(ctx context.Context) (bool, error) {
		raw, err := s.AdminClient().Discovery().RESTClient().Get().AbsPath("/openapi/v3").DoRaw(ctx)
		return err == nil && strings.Contains(string(raw), `"apis/actions.dev/v1alpha1"`), nil
	})
}

// arcValuesFiles are the values files written in the shapes of ARC's (charts/testdata/
// arc-shapes: the 15 of its gha-runner-scale-set chart 0.14.2) or in the form of its
// gha-runner-scale-set-experimental chart (charts/testdata/arc-experimental), by base name.
func arcValuesFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repoRoot(), "charts", "testdata", dir, "*.yaml"))
	require.NoError(t, err)
	out := map[string]string{}
	for _, f := range files {
		out[strings.TrimSuffix(filepath.Base(f), ".yaml")] = f
	}
	return out
}

// arcRelease is the release (and so RunnerSet and scale set) name for a values file.
func arcRelease(prefix, file string) string {
	return prefix + strings.ReplaceAll(strings.TrimPrefix(file, "values_"), "_", "-")
}

// decodeApplied reads what kubectl apply -o json printed: one object, or a List of them.
func decodeApplied(t *testing.T, out string) []*unstructured.Unstructured {
	t.Helper()
	obj := &unstructured.Unstructured{}
	require.NoError(t, obj.UnmarshalJSON([]byte(out)), out)
	if !obj.IsList() {
		return []*unstructured.Unstructured{obj}
	}
	list, err := obj.ToList()
	require.NoError(t, err)
	var objs []*unstructured.Unstructured
	for i := range list.Items {
		objs = append(objs, &list.Items[i])
	}
	return objs
}

// TestHelmARCValues: every values file of ARC's gha-runner-scale-set chart, in its shape, renders
// with the runnerset chart into a RunnerSet the server accepts (kubectl apply --dry-run=server,
// pointed at the simulator); so do values in the form of ARC's experimental chart. The dind and
// kubernetes-mode ones, installed, give the runner pods ARC's chart gives for them.
func TestHelmARCValues(t *testing.T) {
	ctx := context.Background()
	ns := namespace(t, "helm-arc-values")
	kubectl(t, localsystem.UserAdmin, "create", "secret", "generic", "github-pat", "-n", ns, "--from-literal=github_token="+simulator.DefaultPAT)
	chart := filepath.Join(repoRoot(), "charts", "runnerset")
	shapes := arcValuesFiles(t, "arc-shapes")
	require.Len(t, shapes, 15)
	experimental := arcValuesFiles(t, "arc-experimental")
	require.NotEmpty(t, experimental)

	dryRun := func(t *testing.T, release, file string, set ...string) {
		args := append([]string{"template", release, chart, "--namespace", ns, "--values", file}, set...)
		manifest, errOut, err := sys.Helm(ctx, localsystem.UserAdmin, args...)
		require.NoError(t, err, "helm %s\n%s", strings.Join(args, " "), errOut)
		out, errOut, err := sys.KubectlWithInput(ctx, localsystem.UserAdmin, manifest, "apply", "--dry-run=server", "-f", "-", "-o", "json")
		require.NoError(t, err, "kubectl apply --dry-run=server\n%s\n%s", manifest, errOut)
		var rs *v1alpha1.RunnerSet
		for _, obj := range decodeApplied(t, out) {
			if obj.GetKind() == "RunnerSet" {
				rs = &v1alpha1.RunnerSet{}
				require.NoError(t, runtimeConverter.FromUnstructured(obj.Object, rs))
			}
		}
		require.NotNil(t, rs, "a RunnerSet in %s", out)
		assert.Equal(t, ns, rs.Namespace)
		assert.Equal(t, release, rs.Spec.RunnerScaleSetName)
		var runner bool
		for _, c := range rs.Spec.Template.Spec.Containers {
			runner = runner || (c.Name == v1alpha1.RunnerContainerName && c.Image != "")
		}
		assert.True(t, runner, "the served RunnerSet has a runner container with an image: %v", rs.Spec.Template.Spec.Containers)
		_, err = actionsClient(t, localsystem.UserAdmin).ActionsV1alpha1().RunnerSets(ns).Get(ctx, rs.Name, metav1.GetOptions{})
		assert.True(t, apierrors.IsNotFound(err), "a dry run stores nothing: %v", err)
	}
	// installReady installs the file for real: its RunnerSet becomes Ready, and uninstalling
	// drains it away.
	installReady := func(t *testing.T, release, file string, set ...string) {
		args := append([]string{"install", release, chart, "--namespace", ns, "--values", file}, set...)
		out, errOut, err := sys.Helm(ctx, localsystem.UserAdmin, args...)
		require.NoError(t, err, "helm %s\n%s\n%s", strings.Join(args, " "), out, errOut)
		rsets := actionsClient(t, localsystem.UserAdmin).ActionsV1alpha1().RunnerSets(ns)
		eventually(t, 90*time.Second, "RunnerSet "+release+" Ready", func(ctx context.Context) (bool, error) {
			rs, err := rsets.Get(ctx, release, metav1.GetOptions{})
			if err != nil {
				return false, nil
			}
			return meta.IsStatusConditionTrue(rs.Status.Conditions, v1alpha1.ConditionReady), nil
		})
		out, errOut, err = sys.Helm(ctx, localsystem.UserAdmin, "uninstall", release, "--namespace", ns, "--wait", "--timeout", "90s")
		require.NoError(t, err, "helm uninstall\n%s\n%s", out, errOut)
		_, err = rsets.Get(ctx, release, metav1.GetOptions{})
		assert.True(t, apierrors.IsNotFound(err), "RunnerSet %s gone after helm uninstall --wait: %v", release, err)
	}
	t.Run("dry-run and install", func(t *testing.T) {
		for file, path := range shapes {
			t.Run(file, func(t *testing.T) {
				t.Parallel()
				release := arcRelease("arc-", file)
				dryRun(t, release, path, "--set", "githubConfigUrl="+gh.ConfigURL("arc-shapes/"+release), "--set", "githubConfigSecret=github-pat")
				release = arcRelease("ready-", file)
				installReady(t, release, path, "--set", "githubConfigUrl="+gh.ConfigURL("arc-shapes/"+release), "--set", "githubConfigSecret=github-pat")
			})
		}
		for file, path := range experimental {
			t.Run("experimental "+file, func(t *testing.T) {
				t.Parallel()
				release := arcRelease("exp-", file)
				dryRun(t, release, path, "--set", "auth.url="+gh.ConfigURL("arc-experimental/"+release), "--set", "auth.secretName=github-pat",
					"--set", "scaleset.name="+release)
				release = arcRelease("ready-exp-", file)
				installReady(t, release, path, "--set", "auth.url="+gh.ConfigURL("arc-experimental/"+release), "--set", "auth.secretName=github-pat",
					"--set", "scaleset.name="+release)
			})
		}
	})

	// What ARC's chart renders for each file (its templates/_helpers.tpl on Kubernetes >= 1.29),
	// which the server renders here. Where ARC's chart renders a runner container without an
	// image (the values have no runner container, or one without an image, because Helm does not
	// merge lists), the runner is ARC's default one, which is what such values meant: the API
	// puts it first in the first case and gives the runner its image in the second.
	const (
		image      = "ghcr.io/actions/actions-runner:latest"
		workDir    = "/home/runner/_work"
		dockerHost = "unix:///var/run/docker.sock"
		podName    = "fieldRef:metadata.name"
	)
	dindEnv := map[string]string{"DOCKER_HOST": dockerHost, "RUNNER_WAIT_FOR_DOCKER_IN_SECONDS": "120"}
	dindMounts := map[string]string{"work": workDir, "dind-sock": "/var/run"}
	k8sEnv := map[string]string{"ACTIONS_RUNNER_CONTAINER_HOOKS": "/home/runner/k8s/index.js", "ACTIONS_RUNNER_POD_NAME": podName, "ACTIONS_RUNNER_REQUIRE_JOB_CONTAINER": "true"}
	noVolumeEnv := map[string]string{"ACTIONS_RUNNER_CONTAINER_HOOKS": "/home/runner/k8s-novolume/index.js", "ACTIONS_RUNNER_POD_NAME": podName,
		"ACTIONS_RUNNER_REQUIRE_JOB_CONTAINER": "true", "ACTIONS_RUNNER_IMAGE": image}
	for _, tc := range []arcPod{
		{file: "values_dind_extra_init_containers", dind: true,
			initContainers: []string{"init-dind-externals", "dind", "fix-work-owner", "say-hello"}, containers: []string{"runner"},
			volumes: map[string]string{"dind-sock": "emptyDir", "dind-externals": "emptyDir", "work": "emptyDir"}, env: dindEnv, mounts: dindMounts},
		{file: "values_dind_extra_volumes", dind: true,
			initContainers: []string{"init-dind-externals", "dind"}, containers: []string{"runner", "cache"},
			env: dindEnv, mounts: dindMounts,
			volumes: map[string]string{"dind-sock": "emptyDir", "dind-externals": "emptyDir", "work": "hostPath", "scratch": "emptyDir", "tools": "emptyDir"}},
		{file: "values_k8s_extra_volumes", kubeMode: true, containers: []string{"runner", "cache"},
			volumes: map[string]string{"work": "hostPath", "scratch": "emptyDir", "tools": "emptyDir"}, env: k8sEnv, mounts: map[string]string{"work": workDir}},
		{file: "values_k8s_extra_role_rules", kubeMode: true, containers: []string{"runner", "cache"},
			volumes: map[string]string{"work": "hostPath", "scratch": "emptyDir", "tools": "emptyDir"}, env: k8sEnv, mounts: map[string]string{"work": workDir},
			notes: []string{"- containerMode.kubernetesModeAdditionalRoleRule: did you mean kubernetesModeAdditionalRoleRules?"}},
		{file: "values_k8s_novolume_custom_volumes", kubeMode: true, containers: []string{"runner"},
			volumes: map[string]string{"certs": "emptyDir"}, env: noVolumeEnv, mounts: map[string]string{},
			notes: []string{"- controllerServiceAccount: there is no controller to bind"}},
		{file: "values_k8s_novolume_custom_volume_mounts", kubeMode: true, containers: []string{"runner"},
			volumes: map[string]string{"certs": "emptyDir"}, env: noVolumeEnv, mounts: map[string]string{"certs": "/etc/runner-certs"}},
	} {
		t.Run("installed "+tc.file, func(t *testing.T) {
			t.Parallel()
			testARCPod(t, ns, chart, shapes[tc.file], tc)
		})
	}
}

// arcPod is the runner pod ARC's chart and controller make for a values file.
type arcPod struct {
	file                       string
	dind, kubeMode             bool
	initContainers, containers []string
	// volumes maps each volume to its source (emptyDir, hostPath, ...).
	volumes map[string]string
	// env and mounts of the runner container that ARC's chart renders (env values from a field
	// are "fieldRef:<path>").
	env, mounts map[string]string
	// notes are lines helm install prints in the release notes.
	notes []string
}

var runtimeConverter = runtime.DefaultUnstructuredConverter

func volumeSource(v corev1.Volume) string {
	switch {
	case v.EmptyDir != nil:
		return "emptyDir"
	case v.HostPath != nil:
		return "hostPath"
	case v.Ephemeral != nil:
		return "ephemeral"
	case v.ConfigMap != nil:
		return "configMap"
	case v.Secret != nil:
		return "secret"
	}
	return "other"
}

// testARCPod installs the runnerset chart with an ARC-shaped values file, one idle runner kept,
// and compares the runner pod the server creates with ARC's.
func testARCPod(t *testing.T, ns, chart, file string, want arcPod) {
	ctx := context.Background()
	release := arcRelease("arc-", want.file)
	out, errOut, err := sys.Helm(ctx, localsystem.UserAdmin, "install", release, chart, "--namespace", ns, "--values", file,
		"--set", "githubConfigUrl="+gh.ConfigURL("arc-shapes/"+release), "--set", "githubConfigSecret=github-pat", "--set", "minRunners=1")
	require.NoError(t, err, "helm install\n%s\n%s", out, errOut)
	for _, line := range want.notes {
		assert.Contains(t, out, line, "the release notes")
	}

	var pod corev1.Pod
	eventually(t, 90*time.Second, "a runner pod of "+release, func(ctx context.Context) (bool, error) {
		list, err := kubeClient(t, localsystem.UserAdmin).CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: v1alpha1.LabelRunnerSet + "=" + release})
		if err != nil || len(list.Items) == 0 {
			return false, nil
		}
		pod = list.Items[0]
		return true, nil
	})
	spec := pod.Spec

	names := func(cs []corev1.Container) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.Name)
		}
		return out
	}
	assert.Equal(t, want.initContainers, names(spec.InitContainers), "init containers, in ARC's order")
	assert.Equal(t, want.containers, names(spec.Containers), "containers, in ARC's order")
	// Kubernetes' ServiceAccount admission adds the token volume (kube-api-access-*) to pods
	// that mount their account's token, ARC's as ours: it is not the chart's or the server's.
	volumes := map[string]string{}
	for _, v := range spec.Volumes {
		if !strings.HasPrefix(v.Name, "kube-api-access-") {
			volumes[v.Name] = volumeSource(v)
		}
	}
	assert.Equal(t, want.volumes, volumes)
	assert.Equal(t, corev1.RestartPolicyNever, spec.RestartPolicy)

	var runner corev1.Container
	for _, c := range spec.Containers {
		if c.Name == v1alpha1.RunnerContainerName {
			runner = c
		}
	}
	assert.Equal(t, "ghcr.io/actions/actions-runner:latest", runner.Image)
	env := map[string]string{}
	for _, e := range runner.Env {
		switch {
		case e.ValueFrom != nil && e.ValueFrom.FieldRef != nil:
			env[e.Name] = "fieldRef:" + e.ValueFrom.FieldRef.FieldPath
		case e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil:
			env[e.Name] = "secretKeyRef:" + e.ValueFrom.SecretKeyRef.Key
		default:
			env[e.Name] = e.Value
		}
	}
	// ARC's controller adds the JIT configuration, a user agent and the deprecated-version exit
	// code to what its chart renders; so does the server.
	wantEnv := map[string]string{"ACTIONS_RUNNER_INPUT_JITCONFIG": "secretKeyRef:" + v1alpha1.SecretKeyJITConfig, "ACTIONS_RUNNER_RETURN_VERSION_DEPRECATED_EXIT_CODE": "1"}
	for k, v := range want.env {
		wantEnv[k] = v
	}
	assert.NotEmpty(t, env["GITHUB_ACTIONS_RUNNER_EXTRA_USER_AGENT"])
	delete(env, "GITHUB_ACTIONS_RUNNER_EXTRA_USER_AGENT")
	assert.Equal(t, wantEnv, env, "the runner's env")
	mounts := map[string]string{}
	for _, m := range runner.VolumeMounts {
		if !strings.HasPrefix(m.Name, "kube-api-access-") {
			mounts[m.Name] = m.MountPath
		}
	}
	assert.Equal(t, want.mounts, mounts, "the runner's mounts")

	// ARC's labels and annotations of a runner pod.
	for k, v := range map[string]string{
		"app.kubernetes.io/component":            "runner",
		"actions.github.com/scale-set-name":      release,
		"actions.github.com/scale-set-namespace": ns,
		"actions.github.com/organization":        "arc-shapes",
		"actions.github.com/repository":          release,
		"actions-ephemeral-runner":               "True",
	} {
		assert.Equal(t, v, pod.Labels[k], "label %s", k)
	}
	assert.Equal(t, release, pod.Annotations["actions.github.com/runner-scale-set-name"])
	assert.Equal(t, "Default", pod.Annotations["actions.github.com/runner-group-name"])

	switch {
	case want.dind:
		require.Len(t, spec.InitContainers, len(want.initContainers))
		externals, dind := spec.InitContainers[0], spec.InitContainers[1]
		assert.Equal(t, runner.Image, externals.Image, "init-dind-externals copies the runner image's externals")
		assert.Equal(t, []string{"cp"}, externals.Command)
		assert.Equal(t, []string{"-r", "/home/runner/externals/.", "/home/runner/tmpDir/"}, externals.Args)
		assert.Equal(t, []corev1.VolumeMount{{Name: "dind-externals", MountPath: "/home/runner/tmpDir"}}, externals.VolumeMounts)
		assert.Equal(t, "docker:dind", dind.Image)
		assert.Equal(t, []string{"dockerd", "--host=unix:///var/run/docker.sock", "--group=$(DOCKER_GROUP_GID)"}, dind.Args)
		assert.Equal(t, []corev1.EnvVar{{Name: "DOCKER_GROUP_GID", Value: "123"}}, dind.Env)
		assert.True(t, *dind.SecurityContext.Privileged)
		assert.Equal(t, corev1.ContainerRestartPolicyAlways, *dind.RestartPolicy, "a native sidecar")
		assert.Equal(t, []string{"docker", "info"}, dind.StartupProbe.Exec.Command)
		assert.Equal(t, int32(24), dind.StartupProbe.FailureThreshold)
		assert.Equal(t, int32(5), dind.StartupProbe.PeriodSeconds)
		assert.Equal(t, []corev1.VolumeMount{
			{Name: "work", MountPath: "/home/runner/_work"},
			{Name: "dind-sock", MountPath: "/var/run"},
			{Name: "dind-externals", MountPath: "/home/runner/externals"},
		}, dind.VolumeMounts)
		// ARC runs runner pods under a ServiceAccount without rights; here they get no token
		// (under the namespace's default account, which Kubernetes fills in).
		assert.Equal(t, "default", spec.ServiceAccountName)
		assert.False(t, *spec.AutomountServiceAccountToken)
	case want.kubeMode:
		assert.Equal(t, release+"-kube-mode", spec.ServiceAccountName)
	}
}
