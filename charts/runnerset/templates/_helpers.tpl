{{/*
The RunnerSet's name: runnerScaleSetName (or the release name) as ARC names its
AutoscalingRunnerSet, made a valid object name (lower case; '_' and '.' become '-').
*/}}
{{- define "runnerset.name" -}}
{{- .Values.runnerScaleSetName | default .Release.Name | lower | replace "_" "-" | replace "." "-" | trunc 57 | trimSuffix "-" }}
{{- end }}

{{/* The scale set's name on GitHub, the runs-on label: kept as given. */}}
{{- define "runnerset.scaleSetName" -}}
{{- .Values.runnerScaleSetName | default .Release.Name }}
{{- end }}

{{- define "runnerset.namespace" -}}
{{- .Values.namespaceOverride | default .Release.Namespace }}
{{- end }}

{{- define "runnerset.githubSecretName" -}}
{{- if kindIs "string" .Values.githubConfigSecret }}
{{- .Values.githubConfigSecret }}
{{- else }}
{{- printf "%s-github-secret" .Release.Name | trunc 253 }}
{{- end }}
{{- end }}

{{- define "runnerset.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "runnerset.name" . | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: runnerset
{{- include "runnerset.stringMap" (dict "m" .Values.labels "indent" 0) }}
{{- end }}

{{/*
A GitHub App or installation id as a string: YAML numbers arrive as float64 (123456 would print
as 1.23456e+05), --set numbers as int64.
*/}}
{{- define "runnerset.idString" -}}
{{- if or (kindIs "float64" .) (kindIs "int64" .) (kindIs "int" .) }}
{{- int64 . | toString }}
{{- else }}
{{- toString . }}
{{- end }}
{{- end }}

{{/*
Checks the values before anything renders. ARC's values that have no equivalent fail with what
to do instead; unknown values fail too, so that a typo is not silently ignored.
*/}}
{{- define "runnerset.validate" -}}
{{- $unsupported := dict
  "listenerTemplate" "there is no listener pod here: the runnerset-apiserver's scaler (on its elected replica) listens to GitHub for every RunnerSet. Set its resources, placement and proxy with the runnerset-apiserver chart's values (resources, nodeSelector, tolerations, affinity, proxy) and remove listenerTemplate."
  "listenerMetrics" "there is no listener pod here: the scaler's metrics are served by runnerset-apiserver on /metrics (runnerset-apiserver chart: metrics.enabled, metrics.serviceMonitor.enabled), and each RunnerSet's runner and job counts are in its status (kubectl get rset -o wide). Remove listenerMetrics."
  "keyVault" "the runnerset-apiserver does not read Azure Key Vault: put the credentials in a Kubernetes Secret (synced from Key Vault by the External Secrets Operator or the Secrets Store CSI driver, for example) and set githubConfigSecret to that Secret's name. Remove keyVault."
  "controllerServiceAccount" "there is no controller ServiceAccount to bind: the runnerset-apiserver's own ClusterRole (runnerset-apiserver chart) already covers every namespace. Remove controllerServiceAccount."
}}
{{- $known := list "githubConfigUrl" "githubConfigSecret" "proxy" "maxRunners" "minRunners" "runnerGroup" "runnerScaleSetName" "scaleSetLabels" "githubServerTLS" "containerMode" "template" "namespaceOverride" "labels" "annotations" "resourceMeta" "global" }}
{{- range $key, $value := .Values }}
{{- if hasKey $unsupported $key }}
{{- if $value }}
{{- fail (printf "%s is not supported: %s" $key (get $unsupported $key)) }}
{{- end }}
{{- else if not (has $key $known) }}
{{- fail (printf "unknown value %q: this chart takes %s" $key (join ", " (without $known "global"))) }}
{{- end }}
{{- end }}

{{- if not .Values.githubConfigUrl }}
{{- fail "githubConfigUrl is required: the repository, organization or enterprise URL runners register to, e.g. https://github.com/my-org" }}
{{- end }}

{{- $secret := .Values.githubConfigSecret }}
{{- if not $secret }}
{{- fail "githubConfigSecret is required: github_token (a PAT), or github_app_id, github_app_installation_id and github_app_private_key (a GitHub App), or the name of an existing Secret with those keys" }}
{{- else if kindIs "map" $secret }}
{{- $app := and $secret.github_app_id $secret.github_app_installation_id $secret.github_app_private_key }}
{{- if not (or $secret.github_token $app) }}
{{- fail "githubConfigSecret needs github_token, or all of github_app_id, github_app_installation_id and github_app_private_key" }}
{{- end }}
{{- range $k, $v := $secret }}
{{- if not (has $k (list "github_token" "github_app_id" "github_app_installation_id" "github_app_private_key")) }}
{{- fail (printf "githubConfigSecret.%s is not a key the server reads: use github_token, or github_app_id, github_app_installation_id and github_app_private_key" $k) }}
{{- end }}
{{- end }}
{{- else if not (kindIs "string" $secret) }}
{{- fail "githubConfigSecret must be the credentials (an object) or the name of an existing Secret (a string)" }}
{{- end }}

{{- $name := include "runnerset.scaleSetName" . }}
{{- if gt (len $name) 45 }}
{{- fail (printf "runnerScaleSetName (or the release name) %q is longer than 45 characters, the most GitHub accepts for a scale set name" $name) }}
{{- end }}

{{- if not (kindIs "invalid" .Values.minRunners) }}
{{- if lt (int .Values.minRunners) 0 }}
{{- fail "minRunners has to be greater than or equal to 0" }}
{{- end }}
{{- end }}
{{- if not (kindIs "invalid" .Values.maxRunners) }}
{{- if lt (int .Values.maxRunners) 0 }}
{{- fail "maxRunners has to be greater than or equal to 0" }}
{{- end }}
{{- if and (not (kindIs "invalid" .Values.minRunners)) (lt (int .Values.maxRunners) (int .Values.minRunners)) }}
{{- fail "maxRunners has to be greater than or equal to minRunners" }}
{{- end }}
{{- end }}

{{- range .Values.scaleSetLabels }}
{{- if or (not .) (ge (len .) 256) }}
{{- fail "scaleSetLabels: every label must be non-empty and shorter than 256 characters" }}
{{- end }}
{{- end }}

{{- with .Values.containerMode }}
{{- $type := .type | default "" }}
{{- if eq $type "kubernetes-novolume" }}
{{- fail "containerMode.type kubernetes-novolume is not supported: use type kubernetes with a work volume that job pods share (containerMode.kubernetesModeWorkVolumeClaim, or a volume named work in template.spec.volumes)" }}
{{- else if not (has $type (list "" "dind" "kubernetes")) }}
{{- fail (printf "containerMode.type %q: use \"\" (default), dind or kubernetes" $type) }}
{{- end }}
{{- if .kubernetesModeAdditionalRoleRules }}
{{- fail "containerMode.kubernetesModeAdditionalRoleRules is not supported: the server creates the Role and ServiceAccount <RunnerSet name>-kube-mode with the rules the container hooks need. For more rights, create a Role of your own and a RoleBinding to that ServiceAccount in this namespace" }}
{{- end }}
{{- range $k, $v := . }}
{{- if not (has $k (list "type" "kubernetesModeWorkVolumeClaim" "kubernetesModeAdditionalRoleRules")) }}
{{- fail (printf "unknown value containerMode.%s: use type and kubernetesModeWorkVolumeClaim" $k) }}
{{- end }}
{{- end }}
{{- end }}

{{- range $kind, $meta := .Values.resourceMeta }}
{{- if and $meta (not (has $kind (list "autoscalingRunnerSet" "githubConfigSecret"))) }}
{{- if or $meta.labels $meta.annotations }}
{{- fail (printf "resourceMeta.%s has no equivalent here: only autoscalingRunnerSet (the RunnerSet) and githubConfigSecret exist. The server creates runner pods, their Secrets and the kubernetes-mode ServiceAccount and Role itself; label runner pods with template.metadata" $kind) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/*
A map of labels or annotations (dict "m" map "indent" n), one "key: value" line each, every value
a quoted string (--set turns 2026 into a number, which the API refuses there).
*/}}
{{- define "runnerset.stringMap" -}}
{{- $pad := repeat (int .indent) " " }}
{{- range $k, $v := .m }}
{{ $pad }}{{ $k }}: {{ $v | toString | quote }}
{{- end }}
{{- end }}
