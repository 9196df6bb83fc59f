{{/*
runnerset.values reads the chart's values, written for ARC's gha-runner-scale-set chart or for
its gha-runner-scale-set-experimental chart, into one form, as JSON:

  dialect          which of the two charts the values were written for
  url              githubConfigUrl
  secretName       an existing Secret's name, or the one the chart creates from secretData
  secretData       the credentials the chart puts in that Secret (nil for an existing Secret)
  runnerGroup, scaleSetName, scaleSetLabels, minRunners, maxRunners
  containerMode    the RunnerSet's spec.containerMode (nil for the default mode)
  template         the RunnerSet's spec.template
  proxy, githubServerTLS
  schedules, scaleUp, capacity
                   the RunnerSet's spec.schedules, scaleUp and capacity: this chart's own values
                   (ARC's charts have none of them), read alike in both forms
  namespace
  rsLabels, rsAnnotations, secretLabels, secretAnnotations
  configMaps       ConfigMaps the chart creates (the experimental chart's hook extension)
  ignored          [{key, why}]: values of ARC's charts that mean nothing here, for the notes
  unknown          [{key, hint}]: keys neither chart knows (typos), for the notes

Values whose meaning this chart cannot keep fail here, saying why and what to use instead. What
the API itself refuses is checked on the rendered RunnerSet (_apichecks.tpl).
*/}}
{{- define "runnerset.values" -}}
{{- $v := .Values -}}
{{- $st := dict "ignored" (list) "unknown" (list) "configMaps" (list) -}}
{{- $exp := list -}}
{{- range list "scaleset" "auth" "runner" "secretResolution" "resource" "listenerPodTemplate" -}}
{{- if not (empty (index $v .)) }}{{ $exp = append $exp . }}{{ end -}}
{{- end -}}
{{- $legacy := list -}}
{{- range list "githubConfigUrl" "githubConfigSecret" "template" "containerMode" "scaleSetLabels" "runnerGroup" "resourceMeta" "keyVault" "listenerTemplate" "labels" "annotations" -}}
{{- if not (empty (index $v .)) }}{{ $legacy = append $legacy . }}{{ end -}}
{{- end -}}
{{- range list "minRunners" "maxRunners" -}}
{{- if not (kindIs "invalid" (index $v .)) }}{{ $legacy = append $legacy . }}{{ end -}}
{{- end -}}
{{- if and $exp $legacy -}}
{{- fail (printf "these values mix keys of ARC's gha-runner-scale-set chart (%s) with keys of its gha-runner-scale-set-experimental chart (%s), which this chart would read differently: write them for one of the two (see \"Coming from ARC\" in the README)" (join ", " $legacy) (join ", " $exp)) -}}
{{- end -}}
{{- if $exp -}}
{{- $_ := include "runnerset.values.experimental" (dict "root" . "st" $st) -}}
{{- else -}}
{{- $_ := include "runnerset.values.legacy" (dict "root" . "st" $st) -}}
{{- end -}}
{{- $_ := include "runnerset.values.common" (dict "root" . "st" $st) -}}
{{- toJson $st -}}
{{- end }}

{{/* The values of ARC's gha-runner-scale-set chart. */}}
{{- define "runnerset.values.legacy" -}}
{{- $root := .root -}}
{{- $st := .st -}}
{{- $v := $root.Values -}}
{{- $_ := set $st "dialect" "gha-runner-scale-set" -}}
{{- $_ := include "runnerset.checkKeys" (dict "st" $st "prefix" "" "m" $v "known" (list
  "githubConfigUrl" "githubConfigSecret" "proxy" "maxRunners" "minRunners" "runnerGroup"
  "runnerScaleSetName" "scaleSetLabels" "githubServerTLS" "containerMode" "template"
  "namespaceOverride" "labels" "annotations" "resourceMeta" "global"
  "controllerServiceAccount" "listenerTemplate" "listenerMetrics" "keyVault" "enabled"
  "scaleset" "auth" "runner" "secretResolution" "resource" "listenerPodTemplate"
  "schedules" "scaleUp" "capacity")) -}}

{{- $_ := set $st "url" (toString ($v.githubConfigUrl | default "")) -}}
{{- $secret := $v.githubConfigSecret -}}
{{- if kindIs "string" $secret -}}
{{- $_ := set $st "secretName" $secret -}}
{{- else if kindIs "map" $secret -}}
{{- $keys := list "github_token" "github_app_id" "github_app_installation_id" "github_app_private_key" -}}
{{- $_ := include "runnerset.checkKeys" (dict "st" $st "prefix" "githubConfigSecret." "m" $secret "known" $keys) -}}
{{- $data := dict -}}
{{- range $keys -}}
{{- $val := index $secret . -}}
{{- if not (empty $val) }}{{ $_ := set $data . (include "runnerset.idString" $val) }}{{ end -}}
{{- end -}}
{{- $_ := set $st "secretData" $data -}}
{{- else if not (kindIs "invalid" $secret) -}}
{{- fail "githubConfigSecret must be the credentials (an object) or the name of an existing Secret (a string)" -}}
{{- end -}}
{{- $_ := set $st "runnerGroup" (toString ($v.runnerGroup | default "")) -}}
{{- $_ := set $st "scaleSetName" (toString ($v.runnerScaleSetName | default $root.Release.Name)) -}}
{{- $_ := set $st "scaleSetLabels" ($v.scaleSetLabels | default list) -}}
{{- $_ := set $st "minRunners" $v.minRunners -}}
{{- $_ := set $st "maxRunners" $v.maxRunners -}}
{{- $_ := set $st "proxy" $v.proxy -}}
{{- $_ := set $st "githubServerTLS" $v.githubServerTLS -}}

{{- /* resourceMeta: the RunnerSet, the Secret, and what reaches the runner pods. */ -}}
{{- $meta := $v.resourceMeta | default dict -}}
{{- $kinds := dict
  "autoscalingRunnerSet" ""
  "githubConfigSecret" ""
  "ephemeralRunnerSet" ""
  "ephemeralRunner" ""
  "kubernetesModeRole" "the server creates the kubernetes-mode Role, RoleBinding and ServiceAccount (<RunnerSet>-kube-mode) itself, without these labels and annotations; to run runner pods under an account you label yourself, name it in template.spec.serviceAccountName"
  "kubernetesModeRoleBinding" "the server creates the kubernetes-mode Role, RoleBinding and ServiceAccount (<RunnerSet>-kube-mode) itself, without these labels and annotations; to run runner pods under an account you label yourself, name it in template.spec.serviceAccountName"
  "kubernetesModeServiceAccount" "the server creates the kubernetes-mode Role, RoleBinding and ServiceAccount (<RunnerSet>-kube-mode) itself, without these labels and annotations; to run runner pods under an account you label yourself, name it in template.spec.serviceAccountName"
  "managerRole" "there is no manager Role here: the runnerset-apiserver's ClusterRole covers every namespace"
  "managerRoleBinding" "there is no manager RoleBinding here: the runnerset-apiserver's ClusterRole covers every namespace"
  "noPermissionServiceAccount" "there is no such ServiceAccount here: runner pods get no ServiceAccount token unless template.spec.serviceAccountName names an account"
  "autoscalingListener" "there is no listener here: the runnerset-apiserver's elected replica listens for every RunnerSet"
  "listenerServiceAccount" "there is no listener here: the runnerset-apiserver's elected replica listens for every RunnerSet"
  "listenerRole" "there is no listener here: the runnerset-apiserver's elected replica listens for every RunnerSet"
  "listenerRoleBinding" "there is no listener here: the runnerset-apiserver's elected replica listens for every RunnerSet"
  "listenerConfigSecret" "there is no listener here: the runnerset-apiserver's elected replica listens for every RunnerSet"
  "ephemeralRunnerConfigSecret" "the runners' just-in-time configuration Secrets belong to the server, which labels them actions.dev/runnerset=<RunnerSet>"
-}}
{{- $_ := include "runnerset.checkKeys" (dict "st" $st "prefix" "resourceMeta." "m" $meta "known" (keys $kinds)) -}}
{{- range $kind, $m := $meta -}}
{{- if hasKey $kinds $kind -}}
{{- $_ := include "runnerset.checkKeys" (dict "st" $st "prefix" (printf "resourceMeta.%s." $kind) "m" ($m | default dict) "known" (list "labels" "annotations")) -}}
{{- $why := get $kinds $kind -}}
{{- if and $why $m (or $m.labels $m.annotations) -}}
{{- $_ := include "runnerset.ignore" (dict "st" $st "key" (printf "resourceMeta.%s" $kind) "why" $why) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $rsMeta := $meta.autoscalingRunnerSet | default dict -}}
{{- $secretMeta := $meta.githubConfigSecret | default dict -}}
{{- $ersMeta := $meta.ephemeralRunnerSet | default dict -}}
{{- $erMeta := $meta.ephemeralRunner | default dict -}}
{{- $labels := $v.labels | default dict -}}
{{- $annotations := $v.annotations | default dict -}}
{{- $_ := set $st "rsLabels" (merge (dict) ($rsMeta.labels | default dict) $labels) -}}
{{- $_ := set $st "rsAnnotations" (merge (dict) ($rsMeta.annotations | default dict) $annotations) -}}
{{- $_ := set $st "secretLabels" (merge (dict) ($secretMeta.labels | default dict) $labels) -}}
{{- $_ := set $st "secretAnnotations" (merge (dict) ($secretMeta.annotations | default dict) $annotations) -}}

{{- /*
The runner pods' metadata, as ARC's controller builds it: the AutoscalingRunnerSet's labels
(labels, resourceMeta.autoscalingRunnerSet) and resourceMeta.ephemeralRunnerSet and
ephemeralRunner reach every runner pod; the template's own win.
*/ -}}
{{- $template := deepCopy ($v.template | default dict) -}}
{{- $_ := include "runnerset.checkKeys" (dict "st" $st "prefix" "template." "m" $template "known" (list "metadata" "spec")) -}}
{{- $passed := merge (dict) ($erMeta.labels | default dict) ($ersMeta.labels | default dict) ($rsMeta.labels | default dict) $labels -}}
{{- $podLabels := merge (dict) (($template.metadata | default dict).labels | default dict) (include "runnerset.passedLabels" $passed | fromJson) -}}
{{- $podAnnotations := merge (dict) (($template.metadata | default dict).annotations | default dict) ($erMeta.annotations | default dict) ($ersMeta.annotations | default dict) -}}
{{- $_ := include "runnerset.podMetadata" (dict "template" $template "labels" $podLabels "annotations" $podAnnotations) -}}
{{- $spec := $template.spec | default dict -}}
{{- /* containerMode: "none" is ARC's spelling of the default mode. */ -}}
{{- $cm := $v.containerMode | default dict -}}
{{- $_ := include "runnerset.checkKeys" (dict "st" $st "prefix" "containerMode." "m" $cm "known" (list "type" "kubernetesModeWorkVolumeClaim" "kubernetesModeAdditionalRoleRules")) -}}
{{- $type := toString ($cm.type | default "") -}}
{{- if eq $type "none" }}{{ $type = "" }}{{ end -}}
{{- $out := dict -}}
{{- if $type }}{{ $_ := set $out "type" $type }}{{ end -}}
{{- $kube := has $type (list "kubernetes" "kubernetes-novolume") -}}
{{- with $cm.kubernetesModeWorkVolumeClaim -}}
{{- if eq $type "kubernetes" -}}
{{- $_ := set $out "kubernetesModeWorkVolumeClaim" . -}}
{{- else -}}
{{- $_ := include "runnerset.ignore" (dict "st" $st "key" "containerMode.kubernetesModeWorkVolumeClaim" "why" (printf "only containerMode.type kubernetes uses it, and the type is %s (ARC ignores it too)" (include "runnerset.modeName" $type))) -}}
{{- end -}}
{{- end -}}
{{- with $cm.kubernetesModeAdditionalRoleRules -}}
{{- if and $kube (not $spec.serviceAccountName) -}}
{{- $_ := set $out "kubernetesModeAdditionalRoleRules" . -}}
{{- else if $kube -}}
{{- $_ := include "runnerset.ignore" (dict "st" $st "key" "containerMode.kubernetesModeAdditionalRoleRules" "why" (printf "runner pods run as template.spec.serviceAccountName (%s), so no kubernetes-mode Role is created to add them to (as in ARC): grant that ServiceAccount the rights with a Role of your own" $spec.serviceAccountName)) -}}
{{- else -}}
{{- $_ := include "runnerset.ignore" (dict "st" $st "key" "containerMode.kubernetesModeAdditionalRoleRules" "why" (printf "only the kubernetes modes have a Role to add them to, and containerMode.type is %s (ARC ignores them too)" (include "runnerset.modeName" $type))) -}}
{{- end -}}
{{- end -}}
{{- if $out }}{{ $_ := set $st "containerMode" $out }}{{ end -}}
{{- $_ := set $st "template" $template -}}

{{- /* ARC's values for what does not exist here. */ -}}
{{- with $v.controllerServiceAccount -}}
{{- $_ := include "runnerset.ignore" (dict "st" $st "key" "controllerServiceAccount" "why" "there is no controller to bind: the runnerset-apiserver's ClusterRole covers every namespace. Nothing to do; remove it") -}}
{{- end -}}
{{- with $v.listenerTemplate -}}
{{- $_ := include "runnerset.ignore" (dict "st" $st "key" "listenerTemplate" "why" "there is no listener pod: the runnerset-apiserver's elected replica listens for every RunnerSet. Set its resources and placement with the runnerset-apiserver chart's values (resources, nodeSelector, tolerations, affinity, priorityClassName)") -}}
{{- end -}}
{{- with $v.listenerMetrics -}}
{{- $_ := include "runnerset.ignore" (dict "st" $st "key" "listenerMetrics" "why" "there is no listener pod: the runnerset-apiserver serves the scaler's metrics on /metrics (its chart's metrics.enabled and metrics.serviceMonitor.enabled), and each RunnerSet's runner and job counts are in its status (kubectl get rset -o wide)") -}}
{{- end -}}
{{- with $v.keyVault -}}
{{- if and (kindIs "map" .) .type -}}
{{- fail (printf "keyVault.type %q is not supported: the runnerset-apiserver reads GitHub credentials from Kubernetes Secrets only, so githubConfigSecret would be looked up as a Kubernetes Secret instead of in the vault. Sync the credentials into a Kubernetes Secret (with the External Secrets Operator or the Secrets Store CSI driver, say), set githubConfigSecret to its name and remove keyVault" (toString .type)) -}}
{{- end -}}
{{- $_ := include "runnerset.ignore" (dict "st" $st "key" "keyVault" "why" "keyVault.type is empty, so ARC would not use it either: the credentials come from githubConfigSecret") -}}
{{- end -}}
{{- end }}

{{/*
The values of ARC's gha-runner-scale-set-experimental chart (ARC 0.14): scaleset, auth,
secretResolution, resource and runner. They become the same RunnerSet as the equivalent
gha-runner-scale-set values.
*/}}
{{- define "runnerset.values.experimental" -}}
{{- $root := .root -}}
{{- $st := .st -}}
{{- $v := $root.Values -}}
{{- $_ := set $st "dialect" "gha-runner-scale-set-experimental" -}}
{{- $_ := include "runnerset.checkKeys" (dict "st" $st "prefix" "" "m" $v "known" (list
  "namespaceOverride" "scaleset" "auth" "secretResolution" "proxy" "listenerPodTemplate" "resource"
  "runner" "githubServerTLS" "controllerServiceAccount" "listenerMetrics" "runnerScaleSetName"
  "global" "enabled" "githubConfigUrl" "schedules" "scaleUp" "capacity")) -}}

{{- /* auth: an existing Secret, a GitHub App (by its Client ID) or a token, in that order. */ -}}
{{- $auth := $v.auth | default dict -}}
{{- $_ := include "runnerset.checkKeys" (dict "st" $st "prefix" "auth." "m" $auth "known" (list "url" "githubToken" "secretName" "app")) -}}
{{- $app := $auth.app | default dict -}}
{{- $_ := include "runnerset.checkKeys" (dict "st" $st "prefix" "auth.app." "m" $app "known" (list "clientId" "installationId" "privateKey")) -}}
{{- $_ := set $st "url" (toString ($auth.url | default "")) -}}
{{- $_ := set $st "urlKey" "auth.url" -}}
{{- if $auth.secretName -}}
{{- $_ := set $st "secretName" (toString $auth.secretName) -}}
{{- else if $app.clientId -}}
{{- if not $app.installationId }}{{ fail "auth.app.installationId is required with auth.app.clientId: the installation's id in the organization or repository owner" }}{{ end -}}
{{- if not $app.privateKey }}{{ fail "auth.app.privateKey is required with auth.app.clientId: the App's PEM private key" }}{{ end -}}
{{- $_ := set $st "secretData" (dict "github_app_id" (include "runnerset.idString" $app.clientId) "github_app_installation_id" (include "runnerset.idString" $app.installationId) "github_app_private_key" (toString $app.privateKey)) -}}
{{- else if $auth.githubToken -}}
{{- $_ := set $st "secretData" (dict "github_token" (toString $auth.githubToken)) -}}
{{- else -}}
{{- fail "auth needs secretName (an existing Secret), app.clientId with app.installationId and app.privateKey (a GitHub App), or githubToken (a personal access token)" -}}
{{- end -}}

{{- $sr := $v.secretResolution | default dict -}}
{{- $_ := include "runnerset.checkKeys" (dict "st" $st "prefix" "secretResolution." "m" $sr "known" (list "type" "proxy" "azureKeyVault")) -}}
{{- $srType := toString ($sr.type | default "kubernetes") -}}
{{- if ne $srType "kubernetes" -}}
{{- fail (printf "secretResolution.type %q is not supported: the runnerset-apiserver reads GitHub credentials from Kubernetes Secrets only, so auth.secretName would be looked up as a Kubernetes Secret instead of in the vault. Sync the credentials into a Kubernetes Secret (with the External Secrets Operator or the Secrets Store CSI driver, say), set auth.secretName to its name and secretResolution.type to kubernetes" $srType) -}}
{{- end -}}
{{- range list "proxy" "azureKeyVault" -}}
{{- if index $sr . -}}
{{- $_ := include "runnerset.ignore" (dict "st" $st "key" (printf "secretResolution.%s" .) "why" "only used with a vault, and secretResolution.type is kubernetes (ARC ignores it too)") -}}
{{- end -}}
{{- end -}}

{{- $ss := $v.scaleset | default dict -}}
{{- $_ := include "runnerset.checkKeys" (dict "st" $st "prefix" "scaleset." "m" $ss "known" (list "name" "runnerGroup" "labels" "minRunners" "maxRunners")) -}}
{{- $_ := set $st "runnerGroup" (toString ($ss.runnerGroup | default "")) -}}
{{- $_ := set $st "scaleSetName" (toString ($ss.name | default ($v.runnerScaleSetName | default $root.Release.Name))) -}}
{{- $_ := set $st "scaleSetLabels" ($ss.labels | default list) -}}
{{- $_ := set $st "minRunners" $ss.minRunners -}}
{{- $_ := set $st "maxRunners" $ss.maxRunners -}}
{{- $_ := set $st "proxy" $v.proxy -}}
{{- $_ := set $st "githubServerTLS" $v.githubServerTLS -}}

{{- /* resource: metadata of the chart's objects, and of what reaches the runner pods. */ -}}
{{- $res := $v.resource | default dict -}}
{{- $kinds := dict
  "all" ""
  "autoscalingRunnerSet" ""
  "ephemeralRunnerSet" ""
  "ephemeralRunner" ""
  "kubernetesModeRole" ""
  "kubernetesModeRoleBinding" "the server creates the kubernetes-mode Role, RoleBinding and ServiceAccount (<RunnerSet>-kube-mode) itself, without these labels and annotations; to run runner pods under an account you label yourself, name it in runner.kubernetesMode.serviceAccountName"
  "kubernetesModeServiceAccount" "the server creates the kubernetes-mode Role, RoleBinding and ServiceAccount (<RunnerSet>-kube-mode) itself, without these labels and annotations; to run runner pods under an account you label yourself, name it in runner.kubernetesMode.serviceAccountName"
  "managerRole" "there is no manager Role here: the runnerset-apiserver's ClusterRole covers every namespace"
  "managerRoleBinding" "there is no manager RoleBinding here: the runnerset-apiserver's ClusterRole covers every namespace"
  "noPermissionServiceAccount" "there is no such ServiceAccount here: runner pods get no ServiceAccount token unless runner.kubernetesMode.serviceAccountName names an account"
  "autoscalingListener" "there is no listener here: the runnerset-apiserver's elected replica listens for every RunnerSet"
  "listenerServiceAccount" "there is no listener here: the runnerset-apiserver's elected replica listens for every RunnerSet"
  "listenerRole" "there is no listener here: the runnerset-apiserver's elected replica listens for every RunnerSet"
  "listenerRoleBinding" "there is no listener here: the runnerset-apiserver's elected replica listens for every RunnerSet"
  "listenerConfigSecret" "there is no listener here: the runnerset-apiserver's elected replica listens for every RunnerSet"
  "ephemeralRunnerConfigSecret" "the runners' just-in-time configuration Secrets belong to the server, which labels them actions.dev/runnerset=<RunnerSet>"
-}}
{{- $_ := include "runnerset.checkKeys" (dict "st" $st "prefix" "resource." "m" $res "known" (keys $kinds)) -}}
{{- range $kind, $r := $res -}}
{{- if hasKey $kinds $kind -}}
{{- $r = $r | default dict -}}
{{- $known := list "metadata" -}}
{{- if has $kind (list "managerRole" "kubernetesModeRole") }}{{ $known = append $known "extraRules" }}{{ end -}}
{{- $_ := include "runnerset.checkKeys" (dict "st" $st "prefix" (printf "resource.%s." $kind) "m" $r "known" $known) -}}
{{- $m := $r.metadata | default dict -}}
{{- $_ := include "runnerset.checkKeys" (dict "st" $st "prefix" (printf "resource.%s.metadata." $kind) "m" $m "known" (list "labels" "annotations")) -}}
{{- $why := get $kinds $kind -}}
{{- if eq $kind "kubernetesModeRole" }}{{ $why = "the server creates the kubernetes-mode Role, RoleBinding and ServiceAccount (<RunnerSet>-kube-mode) itself, without these labels and annotations (its rules: resource.kubernetesModeRole.extraRules)" }}{{ end -}}
{{- if and $why (or $m.labels $m.annotations) -}}
{{- $_ := include "runnerset.ignore" (dict "st" $st "key" (printf "resource.%s.metadata" $kind) "why" $why) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- with ($res.managerRole | default dict).extraRules -}}
{{- $_ := include "runnerset.ignore" (dict "st" $st "key" "resource.managerRole.extraRules" "why" "there is no manager Role here: the runnerset-apiserver's ClusterRole (runnerset-apiserver chart) has the rights the server needs in every namespace") -}}
{{- end -}}
{{- $allMeta := ($res.all | default dict).metadata | default dict -}}
{{- $rsMeta := ($res.autoscalingRunnerSet | default dict).metadata | default dict -}}
{{- $ersMeta := ($res.ephemeralRunnerSet | default dict).metadata | default dict -}}
{{- $erMeta := ($res.ephemeralRunner | default dict).metadata | default dict -}}
{{- $_ := set $st "rsLabels" (merge (dict) ($rsMeta.labels | default dict) ($allMeta.labels | default dict)) -}}
{{- $_ := set $st "rsAnnotations" (merge (dict) ($rsMeta.annotations | default dict) ($allMeta.annotations | default dict)) -}}
{{- $_ := set $st "secretLabels" ($allMeta.labels | default dict) -}}
{{- $_ := set $st "secretAnnotations" ($allMeta.annotations | default dict) -}}

{{- /* runner: the runner pod. */ -}}
{{- $runner := $v.runner | default dict -}}
{{- $_ := include "runnerset.checkKeys" (dict "st" $st "prefix" "runner." "m" $runner "known" (list "mode" "pod" "container" "env" "dind" "kubernetesMode")) -}}
{{- $mode := toString ($runner.mode | default "") -}}
{{- $pod := $runner.pod | default dict -}}
{{- $_ := include "runnerset.checkKeys" (dict "st" $st "prefix" "runner.pod." "m" $pod "known" (list "metadata" "spec")) -}}
{{- $podSpec := deepCopy ($pod.spec | default dict) -}}
{{- $podMeta := $pod.metadata | default dict -}}
{{- $spec := omit $podSpec "containers" "initContainers" "volumes" "serviceAccountName" -}}
{{- with $podSpec.serviceAccountName -}}
{{- $_ := include "runnerset.ignore" (dict "st" $st "key" "runner.pod.spec.serviceAccountName" "why" "ARC's chart ignores it too: in kubernetes mode name the account in runner.kubernetesMode.serviceAccountName") -}}
{{- end -}}

{{- /* The runner container: runner.container, and runner.env. */ -}}
{{- $container := deepCopy ($runner.container | default dict) -}}
{{- $_ := set $container "name" "runner" -}}
{{- $env := concat ($container.env | default list) ($runner.env | default list) -}}

{{- $out := dict -}}
{{- if $mode }}{{ $_ := set $out "type" $mode }}{{ end -}}
{{- $dind := $runner.dind | default dict -}}
{{- $_ := include "runnerset.checkKeys" (dict "st" $st "prefix" "runner.dind." "m" $dind "known" (list "copyRunnerExternals" "dockerGroupId" "dockerSock" "waitForDockerInSeconds" "container")) -}}
{{- $km := $runner.kubernetesMode | default dict -}}
{{- $_ := include "runnerset.checkKeys" (dict "st" $st "prefix" "runner.kubernetesMode." "m" $km "known" (list "serviceAccountName" "hookPath" "requireJobContainer" "workVolumeClaim" "extensionRef" "extension" "default")) -}}
{{- $volumes := $podSpec.volumes | default list -}}
{{- $initContainers := $podSpec.initContainers | default list -}}
{{- $mounts := $container.volumeMounts | default list -}}

{{- if eq $mode "dind" -}}
{{- $_ := include "runnerset.experimental.dind" (dict "st" $st "dind" $dind "container" $container "env" $env "mounts" $mounts "initContainers" $initContainers) -}}
{{- $env = $st.tmpEnv -}}
{{- $mounts = $st.tmpMounts -}}
{{- $initContainers = $st.tmpInitContainers -}}
{{- end -}}

{{- if eq $mode "kubernetes" -}}
{{- $sa := toString ($km.serviceAccountName | default "") -}}
{{- if $sa -}}
{{- $_ := set $spec "serviceAccountName" $sa -}}
{{- else if and (hasKey $km "default") (not (kindIs "invalid" $km.default)) (not $km.default) -}}
{{- fail "runner.kubernetesMode.serviceAccountName must be set when runner.mode is kubernetes and runner.kubernetesMode.default is false" -}}
{{- end -}}
{{- $rules := ($res.kubernetesModeRole | default dict).extraRules -}}
{{- if and $rules (not $sa) -}}
{{- $_ := set $out "kubernetesModeAdditionalRoleRules" $rules -}}
{{- else if $rules -}}
{{- $_ := include "runnerset.ignore" (dict "st" $st "key" "resource.kubernetesModeRole.extraRules" "why" (printf "runner pods run as runner.kubernetesMode.serviceAccountName (%s), so no kubernetes-mode Role is created to add them to (as in ARC): grant that ServiceAccount the rights with a Role of your own" $sa)) -}}
{{- end -}}
{{- $hookPath := toString ($km.hookPath | default "/home/runner/k8s/index.js") -}}
{{- if ne $hookPath "/home/runner/k8s/index.js" -}}
{{- $env = include "runnerset.envDefault" (dict "env" $env "name" "ACTIONS_RUNNER_CONTAINER_HOOKS" "value" $hookPath) | fromJsonArray -}}
{{- end -}}
{{- if and (hasKey $km "requireJobContainer") (not (kindIs "invalid" $km.requireJobContainer)) (ne (toString $km.requireJobContainer) "true") -}}
{{- $env = include "runnerset.envDefault" (dict "env" $env "name" "ACTIONS_RUNNER_REQUIRE_JOB_CONTAINER" "value" "false") | fromJsonArray -}}
{{- end -}}
{{- /* The work volume: a claim (ARC's defaults under the user's), unless the pod declares one. */ -}}
{{- $hasWork := false -}}
{{- range $volumes }}{{ if eq (toString .name) "work" }}{{ $hasWork = true }}{{ end }}{{ end -}}
{{- if or (not $hasWork) $km.workVolumeClaim -}}
{{- $claim := mergeOverwrite (dict "accessModes" (list "ReadWriteOnce") "storageClassName" "local-path" "resources" (dict "requests" (dict "storage" "1Gi"))) (deepCopy ($km.workVolumeClaim | default dict)) -}}
{{- $_ := set $out "kubernetesModeWorkVolumeClaim" $claim -}}
{{- end -}}
{{- /* The hook extension: a ConfigMap mounted as the hooks' pod template. */ -}}
{{- $ext := $km.extension | default dict -}}
{{- $extYaml := $ext.yaml -}}
{{- if kindIs "map" $extYaml }}{{ $extYaml = toYaml $extYaml }}{{ end -}}
{{- $extName := "" -}}
{{- if $km.extensionRef -}}
{{- $extName = toString $km.extensionRef -}}
{{- else if $extYaml -}}
{{- $extName = ($ext.metadata | default dict).name | default (printf "%s-hook-extension" $root.Release.Name | trunc 63 | trimSuffix "-") -}}
{{- $_ := set $st "configMaps" (append $st.configMaps (dict "name" $extName "labels" (($ext.metadata | default dict).labels | default dict) "data" (dict "extension" (toString $extYaml)))) -}}
{{- end -}}
{{- if $extName -}}
{{- $templatePath := printf "%s/hook-template.yaml" (dir $hookPath) -}}
{{- $env = include "runnerset.envDefault" (dict "env" $env "name" "ACTIONS_RUNNER_CONTAINER_HOOK_TEMPLATE" "value" $templatePath) | fromJsonArray -}}
{{- $mounts = append $mounts (dict "name" "hook-extension" "mountPath" $templatePath "subPath" "extension" "readOnly" true) -}}
{{- $volumes = append $volumes (dict "name" "hook-extension" "configMap" (dict "name" $extName)) -}}
{{- end -}}
{{- end -}}
{{- if and (ne $mode "kubernetes") ($res.kubernetesModeRole | default dict).extraRules -}}
{{- $_ := include "runnerset.ignore" (dict "st" $st "key" "resource.kubernetesModeRole.extraRules" "why" (printf "only runner.mode kubernetes has a Role to add them to, and the mode is %s (ARC ignores them too)" (include "runnerset.modeName" $mode))) -}}
{{- end -}}
{{- if $out }}{{ $_ := set $st "containerMode" $out }}{{ end -}}

{{- /*
The template: the runner container first (when the values say anything about it; otherwise the
server adds ARC's default), then runner.pod.spec's containers.
*/ -}}
{{- if $env }}{{ $_ := set $container "env" $env }}{{ else }}{{ $container = omit $container "env" }}{{ end -}}
{{- if $mounts }}{{ $_ := set $container "volumeMounts" $mounts }}{{ else }}{{ $container = omit $container "volumeMounts" }}{{ end -}}
{{- $containers := list -}}
{{- if gt (len (keys $container)) 1 -}}
{{- /* The experimental chart's runner container has its image and command, unless the values
set them (its templates' defaults). */ -}}
{{- $_ := set $container "image" ($container.image | default (include "runnerset.defaultRunnerImage" $root)) -}}
{{- $_ := set $container "command" ($container.command | default (list (include "runnerset.defaultRunnerCommand" $root))) -}}
{{- $containers = append $containers $container -}}
{{- end -}}
{{- range ($podSpec.containers | default list) -}}
{{- if eq (toString .name) "runner" -}}
{{- fail "runner.pod.spec.containers[].name must not be 'runner' (reserved): set the runner container in runner.container" -}}
{{- end -}}
{{- $containers = append $containers . -}}
{{- end -}}
{{- if $containers }}{{ $_ := set $spec "containers" $containers }}{{ end -}}
{{- if $initContainers }}{{ $_ := set $spec "initContainers" $initContainers }}{{ end -}}
{{- if $volumes }}{{ $_ := set $spec "volumes" $volumes }}{{ end -}}
{{- $template := dict "spec" $spec -}}
{{- $passed := merge (dict) ($erMeta.labels | default dict) ($ersMeta.labels | default dict) ($rsMeta.labels | default dict) ($allMeta.labels | default dict) -}}
{{- $podLabels := merge (dict) ($podMeta.labels | default dict) (include "runnerset.passedLabels" $passed | fromJson) -}}
{{- $podAnnotations := merge (dict) ($podMeta.annotations | default dict) ($erMeta.annotations | default dict) ($ersMeta.annotations | default dict) ($allMeta.annotations | default dict) -}}
{{- $_ := include "runnerset.podMetadata" (dict "template" $template "labels" $podLabels "annotations" $podAnnotations) -}}
{{- $_ := set $st "template" $template -}}

{{- with $v.listenerPodTemplate -}}
{{- $_ := include "runnerset.ignore" (dict "st" $st "key" "listenerPodTemplate" "why" "there is no listener pod: the runnerset-apiserver's elected replica listens for every RunnerSet. Set its resources and placement with the runnerset-apiserver chart's values (resources, nodeSelector, tolerations, affinity, priorityClassName)") -}}
{{- end -}}
{{- with $v.listenerMetrics -}}
{{- $_ := include "runnerset.ignore" (dict "st" $st "key" "listenerMetrics" "why" "there is no listener pod: the runnerset-apiserver serves the scaler's metrics on /metrics (its chart's metrics.enabled and metrics.serviceMonitor.enabled), and each RunnerSet's runner and job counts are in its status (kubectl get rset -o wide)") -}}
{{- end -}}
{{- with $v.controllerServiceAccount -}}
{{- if or .name .namespace -}}
{{- $_ := include "runnerset.ignore" (dict "st" $st "key" "controllerServiceAccount" "why" "there is no controller to bind: the runnerset-apiserver's ClusterRole covers every namespace. Nothing to do; remove it") -}}
{{- end -}}
{{- end -}}
{{- end }}

{{/*
runner.dind of the experimental chart. The server renders ARC's Docker-in-Docker sidecar; what
the values change in it becomes the runner's env and mounts, or a sidecar named dind of the
values' own, which replaces the server's.
*/}}
{{- define "runnerset.experimental.dind" -}}
{{- $st := .st -}}
{{- $dind := .dind -}}
{{- $env := .env -}}
{{- $mounts := .mounts -}}
{{- $initContainers := .initContainers -}}
{{- $wait := $dind.waitForDockerInSeconds -}}
{{- if and (not (kindIs "invalid" $wait)) (ne (int64 $wait) 120) -}}
{{- $env = include "runnerset.envDefault" (dict "env" $env "name" "RUNNER_WAIT_FOR_DOCKER_IN_SECONDS" "value" (toString (int64 $wait))) | fromJsonArray -}}
{{- end -}}
{{- $sock := toString ($dind.dockerSock | default "unix:///var/run/docker.sock") -}}
{{- $gid := include "runnerset.idString" ($dind.dockerGroupId | default "123") -}}
{{- $dc := $dind.container | default dict -}}
{{- if hasKey $dc "volumes" -}}
{{- fail "runner.dind.container.volumes is not supported (nor by ARC's chart): declare volumes in runner.pod.spec.volumes and mount them with runner.dind.container.volumeMounts" -}}
{{- end -}}
{{- if and (hasKey $dind "copyRunnerExternals") (not (kindIs "invalid" $dind.copyRunnerExternals)) (not $dind.copyRunnerExternals) -}}
{{- fail "runner.dind.copyRunnerExternals false is not supported: the server always copies the runner image's externals into the dind sidecar's /home/runner/externals (ARC's default), which would hide what your dind image has there. Remove it, and keep the externals in the runner image" -}}
{{- end -}}
{{- $custom := or (ne $sock "unix:///var/run/docker.sock") (ne $gid "123") (not (empty (omit $dc "image"))) (and $dc.image (ne (toString $dc.image) "docker:dind")) -}}
{{- if $custom -}}
{{- $sockDir := dir (trimPrefix "unix://" $sock) -}}
{{- $env = include "runnerset.envDefault" (dict "env" $env "name" "DOCKER_HOST" "value" $sock) | fromJsonArray -}}
{{- $mounts = append $mounts (dict "name" "dind-sock" "mountPath" $sockDir) -}}
{{- $dindMounts := list (dict "name" "work" "mountPath" "/home/runner/_work") (dict "name" "dind-sock" "mountPath" $sockDir) -}}
{{- $dindMounts = concat $dindMounts ($dc.volumeMounts | default list) -}}
{{- $dindMounts = append $dindMounts (dict "name" "dind-externals" "mountPath" "/home/runner/externals") -}}
{{- $sidecar := dict
  "name" "dind"
  "image" (toString ($dc.image | default "docker:dind"))
  "args" ($dc.args | default (list "dockerd" (printf "--host=%s" $sock) "--group=$(DOCKER_GROUP_GID)"))
  "env" (concat (list (dict "name" "DOCKER_GROUP_GID" "value" $gid)) ($dc.env | default list))
  "securityContext" ($dc.securityContext | default (dict "privileged" true))
  "restartPolicy" "Always"
  "startupProbe" ($dc.startupProbe | default (dict "exec" (dict "command" (list "docker" "info")) "initialDelaySeconds" 0 "failureThreshold" 24 "periodSeconds" 5))
  "volumeMounts" $dindMounts
-}}
{{- $sidecar = merge $sidecar (omit $dc "name" "image" "args" "env" "securityContext" "startupProbe" "volumeMounts") -}}
{{- $initContainers = append $initContainers $sidecar -}}
{{- end -}}
{{- $_ := set $st "tmpEnv" $env -}}
{{- $_ := set $st "tmpMounts" $mounts -}}
{{- $_ := set $st "tmpInitContainers" $initContainers -}}
{{- end }}

{{/* What both forms need, and the chart's own checks of the credentials. */}}
{{- define "runnerset.values.common" -}}
{{- $root := .root -}}
{{- $st := .st -}}
{{- $v := $root.Values -}}
{{- if hasKey $v "enabled" -}}
{{- $_ := include "runnerset.ignore" (dict "st" $st "key" "enabled" "why" "an umbrella chart's condition reads it to decide whether to install this chart; the chart itself has nothing to turn on or off") -}}
{{- end -}}
{{- $_ := set $st "namespace" (toString ($v.namespaceOverride | default $root.Release.Namespace)) -}}
{{- $_ := set $st "url" ($st.url | trimSuffix "/") -}}
{{- /* proxy and githubServerTLS: the keys ARC's charts read. */ -}}
{{- $proxy := $st.proxy | default dict -}}
{{- $_ := unset $st "proxy" -}}
{{- if kindIs "map" $proxy -}}
{{- $_ := include "runnerset.checkKeys" (dict "st" $st "prefix" "proxy." "m" $proxy "known" (list "http" "https" "noProxy")) -}}
{{- $p := dict -}}
{{- range $k := list "http" "https" -}}
{{- with index $proxy $k -}}
{{- $_ := include "runnerset.checkKeys" (dict "st" $st "prefix" (printf "proxy.%s." $k) "m" . "known" (list "url" "credentialSecretRef")) -}}
{{- $e := dict "url" (toString (.url | default "")) -}}
{{- with .credentialSecretRef }}{{ $_ := set $e "credentialSecretRef" (toString .) }}{{ end -}}
{{- $_ := set $p $k $e -}}
{{- end -}}
{{- end -}}
{{- if and $proxy.noProxy (kindIs "slice" $proxy.noProxy) }}{{ $_ := set $p "noProxy" $proxy.noProxy }}{{ end -}}
{{- if $p }}{{ $_ := set $st "proxy" $p }}{{ end -}}
{{- end -}}
{{- $tls := $st.githubServerTLS | default dict -}}
{{- $_ := unset $st "githubServerTLS" -}}
{{- if kindIs "map" $tls -}}
{{- $_ := include "runnerset.checkKeys" (dict "st" $st "prefix" "githubServerTLS." "m" $tls "known" (list "certificateFrom" "runnerMountPath")) -}}
{{- $t := dict -}}
{{- with $tls.certificateFrom -}}
{{- $_ := include "runnerset.checkKeys" (dict "st" $st "prefix" "githubServerTLS.certificateFrom." "m" . "known" (list "configMapKeyRef")) -}}
{{- $ref := .configMapKeyRef | default dict -}}
{{- $_ := include "runnerset.checkKeys" (dict "st" $st "prefix" "githubServerTLS.certificateFrom.configMapKeyRef." "m" $ref "known" (list "name" "key")) -}}
{{- $_ := set $t "certificateFrom" (dict "configMapKeyRef" (dict "name" (toString ($ref.name | default "")) "key" (toString ($ref.key | default "")))) -}}
{{- end -}}
{{- with $tls.runnerMountPath }}{{ $_ := set $t "runnerMountPath" (toString .) }}{{ end -}}
{{- if $t }}{{ $_ := set $st "githubServerTLS" $t }}{{ end -}}
{{- end -}}
{{- /*
This chart's own values, the same in both forms: schedules, scaleUp and capacity become the
RunnerSet's spec.schedules, spec.scaleUp and spec.capacity (values.schema.json refuses keys the
API does not have; _apichecks.tpl what it refuses). Counts become integers, as minRunners does.
*/ -}}
{{- $schedules := list -}}
{{- range $v.schedules | default list -}}
{{- $s := dict "name" (toString (.name | default "")) "start" (toString (.start | default "")) "end" (toString (.end | default "")) -}}
{{- with .days -}}
{{- $days := list -}}
{{- range . }}{{ $days = append $days (toString .) }}{{ end -}}
{{- $_ := set $s "days" $days -}}
{{- end -}}
{{- with .timeZone }}{{ $_ := set $s "timeZone" (toString .) }}{{ end -}}
{{- if not (kindIs "invalid" .minRunners) }}{{ $_ := set $s "minRunners" (int64 .minRunners) }}{{ end -}}
{{- if not (kindIs "invalid" .maxRunners) }}{{ $_ := set $s "maxRunners" (int64 .maxRunners) }}{{ end -}}
{{- $schedules = append $schedules $s -}}
{{- end -}}
{{- if $schedules }}{{ $_ := set $st "schedules" $schedules }}{{ end -}}
{{- with $v.scaleUp -}}
{{- $u := dict "runnersPerMinute" (int64 (.runnersPerMinute | default 0)) -}}
{{- if not (kindIs "invalid" .burst) }}{{ $_ := set $u "burst" (int64 .burst) }}{{ end -}}
{{- $_ := set $st "scaleUp" $u -}}
{{- end -}}
{{- with $v.capacity -}}
{{- if not (kindIs "invalid" .waitForNodes) }}{{ $_ := set $st "capacity" (dict "waitForNodes" .waitForNodes) }}{{ end -}}
{{- end -}}
{{- if not $st.url -}}
{{- fail (printf "%s is required: the repository, organization or enterprise URL runners register to, e.g. https://github.com/my-org" ($st.urlKey | default "githubConfigUrl")) -}}
{{- end -}}
{{- if kindIs "map" $st.secretData -}}
{{- $s := $st.secretData -}}
{{- $app := and $s.github_app_id $s.github_app_installation_id $s.github_app_private_key -}}
{{- if not (or $s.github_token $app) -}}
{{- fail "githubConfigSecret needs github_token, or all of github_app_id, github_app_installation_id and github_app_private_key" -}}
{{- end -}}
{{- if and $s.github_token (or $s.github_app_id $s.github_app_installation_id $s.github_app_private_key) -}}
{{- fail "githubConfigSecret has github_token and github_app_* keys, which the server refuses together: keep either the personal access token or the GitHub App" -}}
{{- end -}}
{{- $_ := set $st "secretName" (printf "%s-github-secret" $root.Release.Name | trunc 253) -}}
{{- else if not $st.secretName -}}
{{- fail "githubConfigSecret is required: github_token (a PAT), or github_app_id, github_app_installation_id and github_app_private_key (a GitHub App), or the name of an existing Secret with those keys" -}}
{{- end -}}
{{- end }}

{{/*
runnerset.podMetadata sets a template's metadata.labels and annotations (dict "template"
"labels" "annotations"), leaving out what is empty.
*/}}
{{- define "runnerset.podMetadata" -}}
{{- $t := .template -}}
{{- $meta := omit ($t.metadata | default dict) "labels" "annotations" -}}
{{- if .labels }}{{ $_ := set $meta "labels" (include "runnerset.strings" .labels | fromJson) }}{{ end -}}
{{- if .annotations }}{{ $_ := set $meta "annotations" (include "runnerset.strings" .annotations | fromJson) }}{{ end -}}
{{- if $meta }}{{ $_ := set $t "metadata" $meta }}{{ else }}{{ $_ := unset $t "metadata" }}{{ end -}}
{{- end }}

{{/*
runnerset.passedLabels: the labels of a map that may reach runner pods, as JSON. Those the server
sets on every runner pod (actions.dev/*, actions.github.com/*, app.kubernetes.io/component and
managed-by, actions-ephemeral-runner) are left out, as ARC's chart leaves its reserved labels out.
*/}}
{{- define "runnerset.passedLabels" -}}
{{- $out := dict -}}
{{- range $k, $v := . -}}
{{- if not (or (hasPrefix "actions.dev/" $k) (hasPrefix "actions.github.com/" $k) (has $k (list "app.kubernetes.io/component" "app.kubernetes.io/managed-by" "actions-ephemeral-runner"))) -}}
{{- $_ := set $out $k $v -}}
{{- end -}}
{{- end -}}
{{- toJson $out -}}
{{- end }}

{{/* runnerset.envDefault appends name=value to env (as JSON) unless env sets name already. */}}
{{- define "runnerset.envDefault" -}}
{{- $env := .env | default list -}}
{{- $found := false -}}
{{- range $env }}{{ if eq (toString .name) $.name }}{{ $found = true }}{{ end }}{{ end -}}
{{- if not $found }}{{ $env = append $env (dict "name" .name "value" .value) }}{{ end -}}
{{- toJson $env -}}
{{- end }}

{{/*
ARC's default runner container's image and command, which the API also uses for a template
without a runner container (v1alpha1.DefaultRunnerImage, DefaultRunnerCommand).
*/}}
{{- define "runnerset.defaultRunnerImage" -}}ghcr.io/actions/actions-runner:latest{{- end }}
{{- define "runnerset.defaultRunnerCommand" -}}/home/runner/run.sh{{- end }}

{{/* A container mode for a message: "dind", or the default mode. */}}
{{- define "runnerset.modeName" -}}
{{- if . }}{{ quote . }}{{ else }}the default mode{{ end -}}
{{- end }}

{{/* runnerset.ignore records a value that means nothing here (dict "st" "key" "why"). */}}
{{- define "runnerset.ignore" -}}
{{- $_ := set .st "ignored" (append .st.ignored (dict "key" .key "why" .why)) -}}
{{- end }}

{{/*
runnerset.checkKeys records the keys of a map that neither of ARC's charts nor this one knows
(dict "st" "prefix" "m" "known"), with the known key it most likely meant.
*/}}
{{- define "runnerset.checkKeys" -}}
{{- $st := .st -}}
{{- $known := .known -}}
{{- if kindIs "map" .m -}}
{{- range $k, $_ := .m -}}
{{- if not (has $k $known) -}}
{{- $hint := "" -}}
{{- range $known -}}
{{- if and (not $hint) (or (eq (lower .) (lower $k)) (hasPrefix (lower .) (lower $k)) (hasPrefix (lower $k) (lower .))) }}{{ $hint = . }}{{ end -}}
{{- end -}}
{{- $_ := set $st "unknown" (append $st.unknown (dict "key" (printf "%s%s" $.prefix $k) "hint" $hint)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end }}
