{{/*
The release notes: how to see the server serve, what the chart's choices imply, and the values
it did not read.
*/}}
{{- define "runnerset-apiserver.notes" -}}
{{- $fullname := include "runnerset-apiserver.fullname" . -}}
{{- $watched := include "runnerset-apiserver.watchNamespaces" . | fromJsonArray -}}
runnerset-apiserver {{ .Chart.AppVersion }} is installed in namespace {{ .Release.Namespace }}.

The API group actions.dev/v1alpha1 is served once the APIService is Available:

  kubectl get apiservice v1alpha1.actions.dev
  kubectl api-resources --api-group=actions.dev
{{- if eq .Values.tls.type "cert-manager" }}

cert-manager issues the serving certificate; until it has, the pods wait for its Secret:

  kubectl get certificate {{ include "runnerset-apiserver.certSecretName" . }} -n {{ .Release.Namespace }}
{{- else if eq .Values.tls.type "existingSecret" }}

The pods mount the Secret {{ .Values.tls.existingSecret.name }} (kubernetes.io/tls, valid for
{{ include "runnerset-apiserver.serviceDNSName" . }}); they wait until it exists.
{{- end }}
{{- if $watched }}

Namespaced mode: RunnerSets are served in {{ join ", " $watched }} only; creating one elsewhere is
refused (403). To add a namespace, create it and add it to watchNamespaces (helm upgrade).
{{- end }}

Teams that can edit or administer a namespace can now manage RunnerSets there (the
runnerset-viewer/-editor/-admin roles are aggregated into view/edit/admin). Create a runner
scale set with the runnerset chart, which takes the values of ARC's gha-runner-scale-set chart:

  helm install arc-runner-set charts/runnerset -n {{ if $watched }}{{ first $watched }}{{ else }}arc-runners --create-namespace{{ end }} -f myvalues.yaml
  kubectl get rset -n {{ if $watched }}{{ first $watched }}{{ else }}arc-runners{{ end }}

Before uninstalling this release, uninstall the runnerset releases (or `kubectl delete rset --all -A`)
and let them drain: each RunnerSet then deregisters its runners and scale set on GitHub. Removing
the server first leaves the scale sets registered on GitHub and the runner pods running until their
namespaces go; reinstalling the server picks the RunnerSets up again.
{{- if eq .Values.service.type "ExternalName" }}

The Service is an ExternalName pointing at {{ .Values.service.externalName }}:{{ .Values.service.port }}: the
aggregator dials the server there, not the pods of the Deployment.
{{- end }}
{{- if .Values.apiService.insecureSkipTLSVerify }}

WARNING: apiService.insecureSkipTLSVerify is true: the kube-apiserver does not verify the server's
certificate.
{{- end }}
{{- with include "runnerset-apiserver.unknownValues" . | fromJsonArray }}

WARNING: the chart does not know these values, which were not used (a typo?):
{{- range . }}
  - {{ .key }}{{ if .hint }}: did you mean {{ .hint }}?{{ end }}
{{- end }}
{{- end }}
{{- end }}
