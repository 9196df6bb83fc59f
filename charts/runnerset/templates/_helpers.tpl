{{/*
The RunnerSet's name: the scale set's name (runnerScaleSetName, or the release name) as ARC names
its AutoscalingRunnerSet, made an object name (lower case; '_' and '.' become '-'). The API
refuses what is still not a valid name (one starting with a digit, say).
*/}}
{{- define "runnerset.objectName" -}}
{{- . | lower | replace "_" "-" | replace "." "-" }}
{{- end }}

{{- define "runnerset.labels" -}}
{{- $root := .root -}}
helm.sh/chart: {{ printf "%s-%s" $root.Chart.Name $root.Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ .name | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/instance: {{ $root.Release.Name | quote }}
app.kubernetes.io/version: {{ $root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ $root.Release.Service }}
app.kubernetes.io/part-of: runnerset
{{- include "runnerset.stringMap" (dict "m" .extra "indent" 0) }}
{{- end }}

{{/*
A GitHub App or installation id as a string: YAML numbers arrive as float64 (123456 would print
as 1.23456e+05), --set numbers as int64. A Client ID is a string already.
*/}}
{{- define "runnerset.idString" -}}
{{- if or (kindIs "float64" .) (kindIs "int64" .) (kindIs "int" .) }}
{{- int64 . | toString }}
{{- else }}
{{- toString . }}
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

{{/* A map with every value a string, for labels and annotations. */}}
{{- define "runnerset.strings" -}}
{{- $out := dict -}}
{{- range $k, $v := . }}{{ $_ := set $out $k (toString $v) }}{{ end -}}
{{- toJson $out -}}
{{- end }}
