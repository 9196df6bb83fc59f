{{/* Chart name, truncated to a DNS label. */}}
{{- define "runnerset-apiserver.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Name of every namespaced object and prefix of the cluster-scoped ones. Installing the release as
"runnerset-apiserver" (the documented way) gives "runnerset-apiserver", the names the
repository's artifacts/example use.
*/}}
{{- define "runnerset-apiserver.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "runnerset-apiserver.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "runnerset-apiserver.selectorLabels" -}}
app.kubernetes.io/name: {{ include "runnerset-apiserver.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "runnerset-apiserver.labels" -}}
helm.sh/chart: {{ include "runnerset-apiserver.chart" . }}
{{ include "runnerset-apiserver.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "runnerset-apiserver.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "runnerset-apiserver.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Secret holding the serving certificate (tls.crt, tls.key). */}}
{{- define "runnerset-apiserver.certSecretName" -}}
{{- default (printf "%s-serving-cert" (include "runnerset-apiserver.fullname" .)) .Values.certificate.existingSecret }}
{{- end }}

{{/* The name the aggregator verifies the serving certificate against. */}}
{{- define "runnerset-apiserver.serviceDNSName" -}}
{{- printf "%s.%s.svc" (include "runnerset-apiserver.fullname" .) .Release.Namespace }}
{{- end }}

{{/* The Lease the scaler's leader election holds (fixed in the server). */}}
{{- define "runnerset-apiserver.leaseName" -}}
runnerset-apiserver-scaler
{{- end }}

{{/* Checks values that would install a broken server. */}}
{{- define "runnerset-apiserver.validate" -}}
{{- if and .Values.scaler.enabled (gt (int .Values.replicaCount) 1) (not .Values.leaderElection.enabled) }}
{{- fail "leaderElection.enabled=false with replicaCount > 1 would run one scaler per replica, each creating runners: keep leader election on, or set replicaCount: 1" }}
{{- end }}
{{- if not (has .Values.service.type (list "ClusterIP" "NodePort" "LoadBalancer" "ExternalName")) }}
{{- fail (printf "service.type %q: use ClusterIP (the default), NodePort, LoadBalancer or ExternalName" .Values.service.type) }}
{{- end }}
{{- if and (eq .Values.service.type "ExternalName") (not .Values.service.externalName) }}
{{- fail "service.type=ExternalName needs service.externalName (the host the aggregator dials, e.g. localhost)" }}
{{- end }}
{{- if and .Values.apiService.create .Values.certificate.existingSecret (not .Values.apiService.caBundle) (not .Values.apiService.insecureSkipTLSVerify) (not (hasKey .Values.apiService.annotations "cert-manager.io/inject-ca-from")) }}
{{- fail "certificate.existingSecret is set: give apiService.caBundle (base64 PEM of the CA that signed it) or the annotation cert-manager.io/inject-ca-from in apiService.annotations, so the aggregator can verify the server" }}
{{- end }}
{{- if and .Values.extraCA.configMap.name .Values.extraCA.secret.name }}
{{- fail "extraCA: give either configMap.name or secret.name, not both" }}
{{- end }}
{{- end }}

{{/*
A map of labels or annotations (dict "m" map "indent" n), one "key: value" line each, every value
a quoted string (--set turns 2026 into a number, which the API refuses there).
*/}}
{{- define "runnerset-apiserver.stringMap" -}}
{{- $pad := repeat (int .indent) " " }}
{{- range $k, $v := .m }}
{{ $pad }}{{ $k }}: {{ $v | toString | quote }}
{{- end }}
{{- end }}
