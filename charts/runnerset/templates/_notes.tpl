{{/*
The release notes: where the runners are, and what of the values was not used (ARC's values that
mean nothing here, with what to do instead, and keys neither chart knows).
*/}}
{{- define "runnerset.notes" -}}
{{- $vals := include "runnerset.values" . | fromJson -}}
{{- $name := include "runnerset.objectName" $vals.scaleSetName -}}
RunnerSet {{ $name }} is in namespace {{ $vals.namespace }}. Workflows select its runners with:

  runs-on: {{ $vals.scaleSetName }}

Once the scale set is registered on GitHub, READY turns True:

  kubectl get rset {{ $name }} -n {{ $vals.namespace }} -o wide
  kubectl get runners -n {{ $vals.namespace }}

`helm uninstall` deletes the RunnerSet: the server then deregisters its runners and the scale set
on GitHub (add --wait to wait for that).
{{- if eq $vals.dialect "gha-runner-scale-set-experimental" }}

The values were read as those of ARC's gha-runner-scale-set-experimental chart.
{{- end }}
{{- with $vals.ignored }}

IGNORED: these values of ARC's chart mean nothing here and were not used:
{{- range . }}
  - {{ .key }}: {{ .why }}.
{{- end }}
{{- end }}
{{- with $vals.unknown }}

WARNING: neither ARC's charts nor this one know these values, which were not used (a typo?):
{{- range . }}
  - {{ .key }}{{ if .hint }}: did you mean {{ .hint }}?{{ end }}
{{- end }}
{{- end }}
{{- end }}
