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
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func serverDeployment(t *testing.T, args ...string) *appsv1.Deployment {
	t.Helper()
	return as[appsv1.Deployment](t, renderServer(t, args...).get(t, "Deployment", "runnerset-apiserver"))
}

// TestServerChartNetwork: the port the server listens on, and the node's network.
func TestServerChartNetwork(t *testing.T) {
	t.Parallel()
	t.Run("containerPort", func(t *testing.T) {
		t.Parallel()
		objs := renderServer(t, "--set", "containerPort=8443")
		d := as[appsv1.Deployment](t, objs.get(t, "Deployment", "runnerset-apiserver"))
		c := serverContainer(t, d)
		assert.Equal(t, 8443, serverFlags(t, c.Args).RecommendedOptions.SecureServing.BindPort)
		assert.Equal(t, []corev1.ContainerPort{{Name: "https", ContainerPort: 8443, Protocol: corev1.ProtocolTCP}}, c.Ports)
		// The probes and the Service name the port, so they follow it.
		assert.Equal(t, intstr.FromString("https"), c.ReadinessProbe.HTTPGet.Port)
		assert.Equal(t, intstr.FromString("https"), c.LivenessProbe.HTTPGet.Port)
		svc := as[corev1.Service](t, objs.get(t, "Service", "runnerset-apiserver"))
		assert.Equal(t, intstr.FromString("https"), svc.Spec.Ports[0].TargetPort)
		assert.Equal(t, int32(443), svc.Spec.Ports[0].Port, "the APIService still dials 443")
		assert.False(t, d.Spec.Template.Spec.HostNetwork)
	})
	t.Run("hostNetwork", func(t *testing.T) {
		t.Parallel()
		d := serverDeployment(t, "--set", "hostNetwork=true,containerPort=9443")
		pod := d.Spec.Template.Spec
		assert.True(t, pod.HostNetwork)
		assert.Equal(t, corev1.DNSClusterFirstWithHostNet, pod.DNSPolicy, "cluster DNS on the node's network")
		c := serverContainer(t, d)
		assert.Equal(t, 9443, serverFlags(t, c.Args).RecommendedOptions.SecureServing.BindPort)
		assert.Equal(t, int32(9443), c.Ports[0].ContainerPort)
		// One replica per node (the port is the node's): a rollout replaces them one at a time,
		// without a surge replica that no node could take.
		require.NotNil(t, d.Spec.Strategy.RollingUpdate)
		assert.Equal(t, appsv1.RollingUpdateDeploymentStrategyType, d.Spec.Strategy.Type)
		assert.Equal(t, intstr.FromInt32(0), *d.Spec.Strategy.RollingUpdate.MaxSurge)
		assert.Equal(t, intstr.FromInt32(1), *d.Spec.Strategy.RollingUpdate.MaxUnavailable)

		// An updateStrategy given wins.
		d = serverDeployment(t, "--set", "hostNetwork=true,containerPort=9443,updateStrategy.type=Recreate")
		assert.Equal(t, appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}, d.Spec.Strategy)
	})
	t.Run("hostNetwork on the kubelet's port", func(t *testing.T) {
		t.Parallel()
		msg := renderFails(t, serverRelease, chartDir(serverChart), serverNamespace, "--set", "hostNetwork=true")
		assert.Contains(t, msg, "hostNetwork=true with containerPort 10250: on the node's network that is the kubelet's port")
	})
}

// TestServerChartHygiene: the values every production chart is expected to have.
func TestServerChartHygiene(t *testing.T) {
	t.Parallel()
	t.Run("commonLabels", func(t *testing.T) {
		t.Parallel()
		objs := renderServer(t, "--set", "commonLabels.team=ci,commonLabels.cost-center=42,podLabels.tier=control,"+
			"metrics.serviceMonitor.enabled=true,metrics.prometheusRule.enabled=true,metrics.grafanaDashboard.enabled=true")
		require.Greater(t, len(objs), 20)
		for _, obj := range objs {
			assert.Equal(t, "ci", obj.GetLabels()["team"], "%s %s", obj.GetKind(), obj.GetName())
			assert.Equal(t, "42", obj.GetLabels()["cost-center"], "%s %s: a string, as the API wants", obj.GetKind(), obj.GetName())
		}
		d := as[appsv1.Deployment](t, objs.get(t, "Deployment", "runnerset-apiserver"))
		assert.Equal(t, "ci", d.Spec.Template.Labels["team"], "on the pods too")
		assert.Equal(t, "control", d.Spec.Template.Labels["tier"])
		assert.Equal(t, map[string]string{"app.kubernetes.io/name": "runnerset-apiserver", "app.kubernetes.io/instance": "runnerset-apiserver"},
			d.Spec.Selector.MatchLabels, "the selector, which cannot change after install, stays the chart's")
		svc := as[corev1.Service](t, objs.get(t, "Service", "runnerset-apiserver"))
		assert.Equal(t, d.Spec.Selector.MatchLabels, svc.Spec.Selector)
	})
	t.Run("revisionHistoryLimit and updateStrategy", func(t *testing.T) {
		t.Parallel()
		d := serverDeployment(t, "--set", "revisionHistoryLimit=3,updateStrategy.type=RollingUpdate,updateStrategy.rollingUpdate.maxSurge=0,updateStrategy.rollingUpdate.maxUnavailable=1")
		assert.Equal(t, int32(3), *d.Spec.RevisionHistoryLimit)
		require.NotNil(t, d.Spec.Strategy.RollingUpdate)
		assert.Equal(t, intstr.FromInt32(0), *d.Spec.Strategy.RollingUpdate.MaxSurge)
		d = serverDeployment(t, "--set", "revisionHistoryLimit=0")
		assert.Equal(t, int32(0), *d.Spec.RevisionHistoryLimit)
	})
	t.Run("extraVolumes", func(t *testing.T) {
		t.Parallel()
		d := serverDeployment(t, "--set", "extraVolumes[0].name=audit,extraVolumes[0].emptyDir.medium=Memory,"+
			"extraVolumeMounts[0].name=audit,extraVolumeMounts[0].mountPath=/var/log/audit")
		vols := d.Spec.Template.Spec.Volumes
		assert.Equal(t, []string{"serving-cert", "tmp", "audit"}, volumeNames(vols))
		assert.Equal(t, corev1.StorageMediumMemory, vols[2].EmptyDir.Medium)
		c := serverContainer(t, d)
		require.Len(t, c.VolumeMounts, 3)
		assert.Equal(t, corev1.VolumeMount{Name: "audit", MountPath: "/var/log/audit"}, c.VolumeMounts[2])
		assert.Equal(t, "serving-cert", c.VolumeMounts[0].Name, "the chart's own mounts stay")
	})
	t.Run("probes", func(t *testing.T) {
		t.Parallel()
		c := serverContainer(t, serverDeployment(t, "--set", "livenessProbe.periodSeconds=20,livenessProbe.timeoutSeconds=3,readinessProbe=null,"+
			"startupProbe.httpGet.path=/livez,startupProbe.httpGet.port=https,startupProbe.httpGet.scheme=HTTPS,startupProbe.failureThreshold=30"))
		require.NotNil(t, c.LivenessProbe)
		assert.Equal(t, int32(20), c.LivenessProbe.PeriodSeconds, "changed key by key")
		assert.Equal(t, int32(3), c.LivenessProbe.TimeoutSeconds)
		assert.Equal(t, "/livez", c.LivenessProbe.HTTPGet.Path, "the rest of the default stays")
		assert.Equal(t, corev1.URISchemeHTTPS, c.LivenessProbe.HTTPGet.Scheme)
		assert.Nil(t, c.ReadinessProbe, "null turns a probe off")
		require.NotNil(t, c.StartupProbe)
		assert.Equal(t, int32(30), c.StartupProbe.FailureThreshold)
		assert.Equal(t, intstr.FromString("https"), c.StartupProbe.HTTPGet.Port)
	})
	t.Run("PodDisruptionBudget", func(t *testing.T) {
		t.Parallel()
		objs := renderServer(t, "--set", "podDisruptionBudget.unhealthyPodEvictionPolicy=IfHealthyBudget,podDisruptionBudget.maxUnavailable=50%")
		pdb := as[policyv1.PodDisruptionBudget](t, objs.get(t, "PodDisruptionBudget", "runnerset-apiserver"))
		require.NotNil(t, pdb.Spec.UnhealthyPodEvictionPolicy)
		assert.Equal(t, policyv1.IfHealthyBudget, *pdb.Spec.UnhealthyPodEvictionPolicy)
		assert.Equal(t, intstr.FromString("50%"), *pdb.Spec.MaxUnavailable)
		objs = renderServer(t, "--set", "podDisruptionBudget.unhealthyPodEvictionPolicy=")
		pdb = as[policyv1.PodDisruptionBudget](t, objs.get(t, "PodDisruptionBudget", "runnerset-apiserver"))
		assert.Nil(t, pdb.Spec.UnhealthyPodEvictionPolicy, "empty: the cluster's default")
	})
	for _, tc := range []struct{ set, want string }{
		{"commonLabels.app\\.kubernetes\\.io/name=x", "commonLabels.app.kubernetes.io/name: the chart sets that label itself"},
		{"commonLabels.helm\\.sh/chart=x", "commonLabels.helm.sh/chart: the chart sets that label itself"},
		{"podLabels.app\\.kubernetes\\.io/instance=x", "podLabels.app.kubernetes.io/instance: the chart sets that label itself"},
		{"revisionHistoryLimit=-1", "/revisionHistoryLimit'"},
	} {
		t.Run("refuses "+tc.set, func(t *testing.T) {
			t.Parallel()
			assert.Contains(t, renderFails(t, serverRelease, chartDir(serverChart), serverNamespace, "--set", tc.set), tc.want)
		})
	}
}
