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

package contract

// The Secret and Pod of one ephemeral runner, rendered from its RunnerSet. Rendering is pure: the
// same inputs give the same objects, which the tests pin down.

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"path"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"actions.dev/runnerset-apiserver/pkg/apis/actions/v1alpha1"
)

// Constants of the rendered pods, following ARC's chart so existing images and hooks work.
const (
	DindImage              = "docker:dind"
	DockerHost             = "unix:///var/run/docker.sock"
	ContainerHooks         = "/home/runner/k8s/index.js"
	ContainerHooksNoVolume = "/home/runner/k8s-novolume/index.js"
	WorkDir                = "/home/runner/_work"
	tlsVolumeName          = "github-server-tls-cert"
	dindSockVolume         = "dind-sock"
	dindExternals          = "dind-externals"
	workVolume             = "work"
	initExternalsName      = "init-dind-externals"
)

// Params are the inputs of one runner.
type Params struct {
	RunnerSet *v1alpha1.RunnerSet
	// Name is the runner's name: its pod's, its Secret's and its GitHub registration's.
	Name string
	// Owner is the RunnerSet's backing object; the garbage collector removes runners with it.
	Owner metav1.OwnerReference
	// ScaleSetID and RunnerID are GitHub's ids, recorded on the pod.
	ScaleSetID, RunnerID int
	// KubernetesModeServiceAccount is the account runner pods use in kubernetes mode when the
	// template names none.
	KubernetesModeServiceAccount string
	// ProxySecretName holds http_proxy/https_proxy/no_proxy with credentials, when the proxy
	// needs credentials.
	ProxySecretName string
	// UserAgent is appended to the runner's user agent.
	UserAgent string
	// ProtectBusy marks the pod for node autoscalers (DisruptionAnnotations): idle now, busy
	// once its job starts.
	ProtectBusy bool
}

// scaleSet is what the pod's ARC labels and annotations are computed from.
func scaleSet(rs *v1alpha1.RunnerSet) ScaleSet {
	return ScaleSet{
		Name: rs.Name, Namespace: rs.Namespace, ConfigURL: rs.Spec.GitHubConfigURL,
		ScaleSetName: rs.Spec.RunnerScaleSetName, RunnerGroup: rs.Spec.RunnerGroup,
	}
}

// activeDeadline is the pod's activeDeadlineSeconds: maxRunnerLifetime, or the template's own
// if that is shorter. The kubelet enforces it, also while the server is down.
func activeDeadline(template *int64, lifetime *metav1.Duration) *int64 {
	if lifetime == nil {
		return template
	}
	secs := int64(lifetime.Duration.Seconds())
	if template != nil && *template < secs {
		return template
	}
	return &secs
}

// TemplateHash identifies what a runner pod is made from: a change replaces idle runners.
func TemplateHash(rs *v1alpha1.RunnerSet) string {
	data, _ := json.Marshal(struct {
		Template      corev1.PodTemplateSpec
		ContainerMode *v1alpha1.ContainerMode
		Proxy         *v1alpha1.ProxyConfig
		TLS           *v1alpha1.TLSConfig
		// omitempty: RunnerSets without it keep the hash their pods carry.
		Lifetime *metav1.Duration `json:",omitempty"`
	}{rs.Spec.Template, rs.Spec.ContainerMode, rs.Spec.Proxy, rs.Spec.GitHubServerTLS, rs.Spec.MaxRunnerLifetime})
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])[:16]
}

// Secret renders the Secret that hands the JIT configuration to the runner. It is the only
// credential a runner pod ever sees.
func Secret(p Params, encodedJITConfig string) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name:            p.Name,
			Namespace:       p.RunnerSet.Namespace,
			Labels:          RunnerLabels(p.RunnerSet.Name),
			Annotations:     map[string]string{v1alpha1.AnnotationRunnerID: strconv.Itoa(p.RunnerID), v1alpha1.AnnotationScaleSetID: strconv.Itoa(p.ScaleSetID)},
			OwnerReferences: []metav1.OwnerReference{p.Owner},
		},
		Type:      corev1.SecretTypeOpaque,
		Immutable: ptr.To(true),
		Data:      map[string][]byte{v1alpha1.SecretKeyJITConfig: []byte(encodedJITConfig)},
	}
}

// Pod renders the runner pod.
func Pod(p Params) *corev1.Pod {
	rs := p.RunnerSet
	tmpl := rs.Spec.Template.DeepCopy()
	// The server's labels and annotations win; validation refuses template labels they would
	// replace.
	labels := map[string]string{}
	maps.Copy(labels, tmpl.Labels)
	maps.Copy(labels, PodLabels(scaleSet(rs)))
	annotations := map[string]string{}
	maps.Copy(annotations, tmpl.Annotations)
	if p.ProtectBusy {
		maps.Copy(annotations, DisruptionAnnotations(rs, false))
	}
	maps.Copy(annotations, PodAnnotations(scaleSet(rs)))
	annotations[v1alpha1.AnnotationTemplateHash] = TemplateHash(rs)
	annotations[v1alpha1.AnnotationScaleSetID] = strconv.Itoa(p.ScaleSetID)
	annotations[v1alpha1.AnnotationRunnerID] = strconv.Itoa(p.RunnerID)

	spec := tmpl.Spec
	if spec.RestartPolicy == "" {
		// An ephemeral runner runs one job and exits; restarting it would reuse a spent registration.
		spec.RestartPolicy = corev1.RestartPolicyNever
	}
	for i := range spec.Containers {
		if spec.Containers[i].Name == v1alpha1.RunnerContainerName {
			configureRunner(&spec.Containers[i], p)
		}
	}
	addTLS(&spec, rs.Spec.GitHubServerTLS)
	spec.ActiveDeadlineSeconds = activeDeadline(spec.ActiveDeadlineSeconds, rs.Spec.MaxRunnerLifetime)
	mode := v1alpha1.ContainerModeDefault
	if rs.Spec.ContainerMode != nil {
		mode = rs.Spec.ContainerMode.Type
	}
	switch mode {
	case v1alpha1.ContainerModeDind:
		addDind(&spec)
	case v1alpha1.ContainerModeKubernetes:
		addKubernetesMode(&spec, rs.Spec.ContainerMode, p.KubernetesModeServiceAccount)
	case v1alpha1.ContainerModeKubernetesNoVolume:
		addKubernetesNoVolumeMode(&spec, p.KubernetesModeServiceAccount)
	}
	if spec.ServiceAccountName == "" && spec.AutomountServiceAccountToken == nil {
		// A runner runs untrusted workflow code: give it no Kubernetes credentials unless the
		// template asks for an account.
		spec.AutomountServiceAccountToken = ptr.To(false)
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name:            p.Name,
			Namespace:       rs.Namespace,
			Labels:          labels,
			Annotations:     annotations,
			OwnerReferences: []metav1.OwnerReference{p.Owner},
		},
		Spec: spec,
	}
}

// configureRunner hands the runner its JIT configuration and what every runner is told.
func configureRunner(c *corev1.Container, p Params) {
	c.Env = append([]corev1.EnvVar{{
		Name: "ACTIONS_RUNNER_INPUT_JITCONFIG",
		ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: p.Name},
			Key:                  v1alpha1.SecretKeyJITConfig,
		}},
	}}, c.Env...)
	setEnvDefault(c, "GITHUB_ACTIONS_RUNNER_EXTRA_USER_AGENT", p.UserAgent)
	// Exit 7 instead of 0 when the runner version is deprecated, so it is told apart from
	// a finished job.
	setEnvDefault(c, "ACTIONS_RUNNER_RETURN_VERSION_DEPRECATED_EXIT_CODE", "1")
	addProxyEnv(c, p.RunnerSet.Spec.Proxy, p.ProxySecretName)
}

func hasEnv(c *corev1.Container, name string) bool {
	for _, e := range c.Env {
		if e.Name == name {
			return true
		}
	}
	return false
}

// setEnvDefault adds an env var unless the user set it already.
func setEnvDefault(c *corev1.Container, name, value string) {
	if value != "" && !hasEnv(c, name) {
		c.Env = append(c.Env, corev1.EnvVar{Name: name, Value: value})
	}
}

func addProxyEnv(c *corev1.Container, px *v1alpha1.ProxyConfig, secretName string) {
	if px == nil {
		return
	}
	fromSecret := func(name string) {
		if !hasEnv(c, name) {
			c.Env = append(c.Env, corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: secretName}, Key: name,
			}}})
		}
	}
	set := func(name string, server *v1alpha1.ProxyServerConfig) {
		if server == nil {
			return
		}
		if server.CredentialSecretRef != "" && secretName != "" {
			fromSecret(name)
			return
		}
		setEnvDefault(c, name, server.URL)
	}
	set("http_proxy", px.HTTP)
	set("https_proxy", px.HTTPS)
	if len(px.NoProxy) > 0 {
		noProxy := ""
		for i, h := range px.NoProxy {
			if i > 0 {
				noProxy += ","
			}
			noProxy += h
		}
		setEnvDefault(c, "no_proxy", noProxy)
	}
}

func addTLS(spec *corev1.PodSpec, tls *v1alpha1.TLSConfig) {
	if tls == nil || tls.RunnerMountPath == "" || tls.CertificateFrom == nil || tls.CertificateFrom.ConfigMapKeyRef == nil {
		return
	}
	ref := tls.CertificateFrom.ConfigMapKeyRef
	spec.Volumes = append(spec.Volumes, corev1.Volume{Name: tlsVolumeName, VolumeSource: corev1.VolumeSource{
		ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: ref.LocalObjectReference, Items: []corev1.KeyToPath{{Key: ref.Key, Path: ref.Key}}},
	}})
	certPath := path.Join(tls.RunnerMountPath, ref.Key)
	for i := range spec.Containers {
		c := &spec.Containers[i]
		if c.Name != v1alpha1.RunnerContainerName {
			continue
		}
		c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: tlsVolumeName, MountPath: certPath, SubPath: ref.Key, ReadOnly: true})
		setEnvDefault(c, "NODE_EXTRA_CA_CERTS", certPath)
		setEnvDefault(c, "RUNNER_UPDATE_CA_CERTS", "1")
	}
}

func hasVolume(spec *corev1.PodSpec, name string) bool {
	for _, v := range spec.Volumes {
		if v.Name == name {
			return true
		}
	}
	return false
}

func addVolumeDefault(spec *corev1.PodSpec, v corev1.Volume) {
	if !hasVolume(spec, v.Name) {
		spec.Volumes = append(spec.Volumes, v)
	}
}

func addMountDefault(c *corev1.Container, m corev1.VolumeMount) {
	for _, existing := range c.VolumeMounts {
		if existing.Name == m.Name || existing.MountPath == m.MountPath {
			return
		}
	}
	c.VolumeMounts = append(c.VolumeMounts, m)
}

func runnerImage(spec *corev1.PodSpec) string {
	for _, c := range spec.Containers {
		if c.Name == v1alpha1.RunnerContainerName {
			return c.Image
		}
	}
	return ""
}

// addDind adds Docker-in-Docker as ARC's chart does in dind mode (Kubernetes >= 1.29): the init
// containers are init-dind-externals, then dind as a native sidecar, then the template's, which
// thus start once Docker answers. A template container of either name, among its containers or
// init containers, takes the place of the server's.
func addDind(spec *corev1.PodSpec) {
	emptyDir := corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}
	addVolumeDefault(spec, corev1.Volume{Name: workVolume, VolumeSource: emptyDir})
	addVolumeDefault(spec, corev1.Volume{Name: dindSockVolume, VolumeSource: emptyDir})
	addVolumeDefault(spec, corev1.Volume{Name: dindExternals, VolumeSource: emptyDir})
	externals := takeContainer(&spec.InitContainers, initExternalsName)
	if externals == nil {
		externals = &corev1.Container{
			Name:         initExternalsName,
			Image:        runnerImage(spec),
			Command:      []string{"cp"},
			Args:         []string{"-r", "/home/runner/externals/.", "/home/runner/tmpDir/"},
			VolumeMounts: []corev1.VolumeMount{{Name: dindExternals, MountPath: "/home/runner/tmpDir"}},
		}
	}
	dind := takeContainer(&spec.InitContainers, DindContainerName)
	if fromContainers := takeContainer(&spec.Containers, DindContainerName); dind == nil {
		dind = fromContainers
	}
	spec.InitContainers = append([]corev1.Container{*externals, dindSidecar(dind)}, spec.InitContainers...)
	for i := range spec.Containers {
		c := &spec.Containers[i]
		if c.Name != v1alpha1.RunnerContainerName {
			continue
		}
		setEnvDefault(c, "DOCKER_HOST", DockerHost)
		setEnvDefault(c, "RUNNER_WAIT_FOR_DOCKER_IN_SECONDS", "120")
		addMountDefault(c, corev1.VolumeMount{Name: workVolume, MountPath: WorkDir})
		addMountDefault(c, corev1.VolumeMount{Name: dindSockVolume, MountPath: "/var/run"})
	}
}

// takeContainer removes the container of that name from the list and returns it.
func takeContainer(list *[]corev1.Container, name string) *corev1.Container {
	for i := range *list {
		if (*list)[i].Name == name {
			c := (*list)[i]
			*list = append((*list)[:i:i], (*list)[i+1:]...)
			return &c
		}
	}
	return nil
}

// dindSidecar fills in the template's dind container (nil: none) with what ARC's chart gives
// its dind sidecar, keeping whatever the template set. It is always a restarting init
// container: as a plain container, dockerd would keep the pod running after the runner exits.
func dindSidecar(c *corev1.Container) corev1.Container {
	d := corev1.Container{Name: DindContainerName}
	if c != nil {
		d = *c
	}
	if d.Image == "" {
		d.Image = DindImage
	}
	if len(d.Command) == 0 && len(d.Args) == 0 {
		d.Args = []string{"dockerd", "--host=" + DockerHost, "--group=$(DOCKER_GROUP_GID)"}
	}
	setEnvDefault(&d, "DOCKER_GROUP_GID", "123")
	d.RestartPolicy = ptr.To(corev1.ContainerRestartPolicyAlways)
	if d.SecurityContext == nil {
		d.SecurityContext = &corev1.SecurityContext{Privileged: ptr.To(true)}
	}
	if d.StartupProbe == nil {
		d.StartupProbe = &corev1.Probe{
			ProbeHandler:     corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"docker", "info"}}},
			PeriodSeconds:    5,
			FailureThreshold: 24,
		}
	}
	addMountDefault(&d, corev1.VolumeMount{Name: workVolume, MountPath: WorkDir})
	addMountDefault(&d, corev1.VolumeMount{Name: dindSockVolume, MountPath: "/var/run"})
	addMountDefault(&d, corev1.VolumeMount{Name: dindExternals, MountPath: "/home/runner/externals"})
	return d
}

// addKubernetesMode wires the container hooks that run job containers as pods of their own.
func addKubernetesMode(spec *corev1.PodSpec, cm *v1alpha1.ContainerMode, serviceAccount string) {
	if cm.KubernetesModeWorkVolumeClaim != nil && !hasVolume(spec, workVolume) {
		spec.Volumes = append(spec.Volumes, corev1.Volume{Name: workVolume, VolumeSource: corev1.VolumeSource{
			Ephemeral: &corev1.EphemeralVolumeSource{VolumeClaimTemplate: &corev1.PersistentVolumeClaimTemplate{
				Spec: *cm.KubernetesModeWorkVolumeClaim.DeepCopy(),
			}},
		}})
	}
	if spec.ServiceAccountName == "" {
		spec.ServiceAccountName = serviceAccount
	}
	for i := range spec.Containers {
		c := &spec.Containers[i]
		if c.Name != v1alpha1.RunnerContainerName {
			continue
		}
		addHooksEnv(c, ContainerHooks)
		addMountDefault(c, corev1.VolumeMount{Name: workVolume, MountPath: WorkDir})
	}
}

// addKubernetesNoVolumeMode wires the container hooks that copy the workspace into job pods, as
// ARC's chart does for kubernetes-novolume: no work volume, and the runner's image for the hooks
// to copy from.
func addKubernetesNoVolumeMode(spec *corev1.PodSpec, serviceAccount string) {
	if spec.ServiceAccountName == "" {
		spec.ServiceAccountName = serviceAccount
	}
	for i := range spec.Containers {
		c := &spec.Containers[i]
		if c.Name != v1alpha1.RunnerContainerName {
			continue
		}
		addHooksEnv(c, ContainerHooksNoVolume)
		setEnvDefault(c, "ACTIONS_RUNNER_IMAGE", c.Image)
	}
}

// addHooksEnv points the runner at its container hooks, unless the template did.
func addHooksEnv(c *corev1.Container, hooks string) {
	setEnvDefault(c, "ACTIONS_RUNNER_CONTAINER_HOOKS", hooks)
	if !hasEnv(c, "ACTIONS_RUNNER_POD_NAME") {
		c.Env = append(c.Env, corev1.EnvVar{Name: "ACTIONS_RUNNER_POD_NAME", ValueFrom: &corev1.EnvVarSource{
			FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"},
		}})
	}
	setEnvDefault(c, "ACTIONS_RUNNER_REQUIRE_JOB_CONTAINER", "true")
}
