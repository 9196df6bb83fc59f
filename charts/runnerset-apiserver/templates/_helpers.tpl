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

{{/* The labels of every object: the chart's own, then commonLabels. */}}
{{- define "runnerset-apiserver.labels" -}}
helm.sh/chart: {{ include "runnerset-apiserver.chart" . }}
{{ include "runnerset-apiserver.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- include "runnerset-apiserver.stringMap" (dict "m" .Values.commonLabels "indent" 0) }}
{{- end }}

{{/* The labels the chart sets itself, which commonLabels and podLabels may not change. */}}
{{- define "runnerset-apiserver.ownLabels" -}}
{{- list "helm.sh/chart" "app.kubernetes.io/name" "app.kubernetes.io/instance" "app.kubernetes.io/version" "app.kubernetes.io/managed-by" | toJson }}
{{- end }}

{{- define "runnerset-apiserver.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "runnerset-apiserver.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The Secret holding the serving certificate (tls.crt, tls.key, and ca.crt but with some
existingSecrets): the chart's (tls.type helm), cert-manager's (cert-manager), or the user's.
*/}}
{{- define "runnerset-apiserver.certSecretName" -}}
{{- if eq .Values.tls.type "existingSecret" }}
{{- .Values.tls.existingSecret.name }}
{{- else }}
{{- printf "%s-serving-cert" (include "runnerset-apiserver.fullname" .) }}
{{- end }}
{{- end }}

{{/*
The DNS names of the serving certificate: the Service's, short and long. The aggregator verifies
<fullname>.<namespace>.svc.
*/}}
{{- define "runnerset-apiserver.certDNSNames" -}}
{{- $fullname := include "runnerset-apiserver.fullname" . }}
{{- list $fullname (printf "%s.%s" $fullname .Release.Namespace) (include "runnerset-apiserver.serviceDNSName" .) (printf "%s.%s.svc.cluster.local" $fullname .Release.Namespace) | toJson }}
{{- end }}

{{/* The annotations with which a CA injector writes the APIService's caBundle. */}}
{{- define "runnerset-apiserver.caInjectionAnnotations" -}}
{{- list "cert-manager.io/inject-ca-from" "cert-manager.io/inject-ca-from-secret" "service.beta.openshift.io/inject-cabundle" | toJson }}
{{- end }}

{{/* The namespaces of namespaced mode (watchNamespaces), sorted, without duplicates or blanks. */}}
{{- define "runnerset-apiserver.watchNamespaces" -}}
{{- $out := list }}
{{- range .Values.watchNamespaces }}
{{- $ns := trim (toString .) }}
{{- if $ns }}{{ $out = append $out $ns }}{{ end }}
{{- end }}
{{- $out | uniq | sortAlpha | toJson }}
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
{{- include "runnerset-apiserver.validateTLS" . }}
{{- if and .Values.hostNetwork (eq (int .Values.containerPort) 10250) }}
{{- fail "hostNetwork=true with containerPort 10250: on the node's network that is the kubelet's port, so the server could not listen; set containerPort to a free port of your nodes (and let the control plane reach it)" }}
{{- end }}
{{- if and .Values.extraCA.configMap.name .Values.extraCA.secret.name }}
{{- fail "extraCA: give either configMap.name or secret.name, not both" }}
{{- end }}
{{- $own := include "runnerset-apiserver.ownLabels" . | fromJsonArray }}
{{- range $k, $_ := .Values.commonLabels }}
{{- if has $k $own }}
{{- fail (printf "commonLabels.%s: the chart sets that label itself; choose another key" $k) }}
{{- end }}
{{- end }}
{{- range $k, $_ := .Values.podLabels }}
{{- if has $k (list "app.kubernetes.io/name" "app.kubernetes.io/instance") }}
{{- fail (printf "podLabels.%s: the chart sets that label itself (the Deployment, Service and PodDisruptionBudget select the server's pods by it); choose another key" $k) }}
{{- end }}
{{- end }}
{{- end }}

{{/* Checks tls.* and the APIService's trust. */}}
{{- define "runnerset-apiserver.validateTLS" -}}
{{- $type := .Values.tls.type }}
{{- if not (has $type (list "helm" "cert-manager" "existingSecret")) }}
{{- fail (printf "tls.type %q: use helm (the default: the chart generates the certificate), cert-manager, or existingSecret" $type) }}
{{- end }}
{{- $api := .Values.apiService }}
{{- if and $api.insecureSkipTLSVerify (not $api.insecureSkipTLSVerifyForce) }}
{{- fail "apiService.insecureSkipTLSVerify=true is refused: the kube-apiserver would then accept any certificate from whatever answers at the Service, and send it every actions.dev request with the user's identity. Keep it false and let the aggregator verify the server (tls.type helm, cert-manager or existingSecret); to skip verification anyway, also set apiService.insecureSkipTLSVerifyForce=true" }}
{{- end }}
{{- if and $api.caBundle (ne $type "existingSecret") }}
{{- fail (printf "apiService.caBundle is set, but with tls.type=%s the %s: leave apiService.caBundle empty, or use tls.type=existingSecret" $type (ternary "chart writes the caBundle itself" "CA injector writes the caBundle" (eq $type "helm"))) }}
{{- end }}
{{- if eq $type "existingSecret" }}
{{- if not .Values.tls.existingSecret.name }}
{{- fail "tls.type=existingSecret needs tls.existingSecret.name: a kubernetes.io/tls Secret in the release namespace, valid for <fullname>.<namespace>.svc" }}
{{- end }}
{{- $injected := false }}
{{- range include "runnerset-apiserver.caInjectionAnnotations" . | fromJsonArray }}
{{- if hasKey $api.annotations . }}{{ $injected = true }}{{ end }}
{{- end }}
{{- if and $api.create (not $api.caBundle) (not $api.insecureSkipTLSVerify) (not $injected) }}
{{- fail "tls.type=existingSecret: give apiService.caBundle (base64 PEM of the CA that signed the Secret's certificate) or a CA-injection annotation in apiService.annotations (cert-manager.io/inject-ca-from, cert-manager.io/inject-ca-from-secret or service.beta.openshift.io/inject-cabundle), so the aggregator can verify the server" }}
{{- end }}
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
