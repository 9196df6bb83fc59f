{{/*
Values the chart does not read. values.schema.json checks the types of the values the chart
knows but lets other keys through; these templates find those keys, so that the release notes
warn about each (a typo, a value renamed, one of ARC's controller chart) and name the key it most
likely meant.
*/}}

{{/*
Every key the chart reads, as a tree: a map is walked into, ~ is a value whose content is free
(a Kubernetes object, a map of labels). charts/server_notes_test.go keeps it equal to the
properties of values.schema.json.
*/}}
{{- define "runnerset-apiserver.knownValues" -}}
global: ~
enabled: ~
replicaCount: ~
image: {repository: ~, tag: ~, pullPolicy: ~}
imagePullSecrets: ~
nameOverride: ~
fullnameOverride: ~
commonLabels: ~
logLevel: ~
leaderElection: {enabled: ~, leaseDuration: ~, renewDeadline: ~, retryPeriod: ~}
scaler: {enabled: ~, drainTimeout: ~, githubGiveUp: ~, runnerCreateParallelism: ~, runnerExitGrace: ~, protectBusyRunners: ~, allowedGitHubHosts: ~, jobHistory: {retention: ~, max: ~}, jitBudget: {perMinute: ~, burst: ~}}
limits: {maxRunnersPerRunnerSet: ~, maxRunnerSetsPerNamespace: ~}
watchNamespaces: ~
kubeAPI: {qps: ~, burst: ~}
proxy: {http: ~, https: ~, noProxy: ~}
extraCA:
  configMap: {name: ~, key: ~}
  secret: {name: ~, key: ~}
metrics:
  enabled: ~
  serviceMonitor:
    enabled: ~
    interval: ~
    scrapeTimeout: ~
    labels: ~
    honorLabels: ~
    authorization:
      credentials: {name: ~, key: ~}
    tlsConfig: ~
  prometheusRule:
    enabled: ~
    labels: ~
    alertLabels: ~
    alerts:
      sessionLost: {enabled: ~, for: ~, severity: ~}
      githubUnreachable: {enabled: ~, for: ~, severity: ~}
      jobsWaiting: {enabled: ~, for: ~, severity: ~}
      podsFailing: {enabled: ~, for: ~, severity: ~}
      atMaxRunners: {enabled: ~, for: ~, severity: ~}
      runnerVersionDeprecated: {enabled: ~, for: ~, severity: ~}
      orphanRunners: {enabled: ~, for: ~, severity: ~}
  grafanaDashboard: {enabled: ~, labels: ~, annotations: ~, namespace: ~}
containerPort: ~
hostNetwork: ~
service: {type: ~, port: ~, externalName: ~, annotations: ~}
apiService: {create: ~, groupPriorityMinimum: ~, versionPriority: ~, caBundle: ~, insecureSkipTLSVerify: ~, insecureSkipTLSVerifyForce: ~, annotations: ~}
tls:
  type: ~
  helm: {validityDays: ~, rotation: ~}
  certManager:
    issuerRef: {name: ~, kind: ~, group: ~}
    duration: ~
    renewBefore: ~
    caDuration: ~
  existingSecret: {name: ~}
serviceAccount: {create: ~, name: ~, annotations: ~}
rbac: {create: ~, kubernetesMode: ~}
userRoles: {create: ~, aggregateToDefaultRoles: ~}
podDisruptionBudget: {enabled: ~, maxUnavailable: ~, unhealthyPodEvictionPolicy: ~}
revisionHistoryLimit: ~
updateStrategy: ~
resources: ~
podSecurityContext: ~
securityContext: ~
nodeSelector: ~
tolerations: ~
affinity: ~
topologySpreadConstraints: ~
priorityClassName: ~
preStopSleepSeconds: ~
podAnnotations: ~
podLabels: ~
extraArgs: ~
extraEnv: ~
extraVolumes: ~
extraVolumeMounts: ~
readinessProbe: ~
livenessProbe: ~
startupProbe: ~
{{- end }}

{{/*
Keys that mean something elsewhere: the chart's own values renamed before its first release, and
the values of ARC's gha-runner-scale-set-controller chart (see "Coming from ARC" in the README).
*/}}
{{- define "runnerset-apiserver.movedValues" -}}
certificate.existingSecret: tls.existingSecret.name (with tls.type=existingSecret)
certificate.validityDays: tls.helm.validityDays
certificate.rotation: tls.helm.rotation
securePort: containerPort
labels: commonLabels
env: extraEnv
volumes: extraVolumes
volumeMounts: extraVolumeMounts
flags.logLevel: logLevel
flags.logFormat: extraArgs (--logging-format=json)
flags.k8sClientRateLimiterQPS: kubeAPI.qps
flags.k8sClientRateLimiterBurst: kubeAPI.burst
flags.runnerMaxConcurrentReconciles: scaler.runnerCreateParallelism
flags.watchSingleNamespace: watchNamespaces
metrics.controllerManagerAddr: metrics.serviceMonitor (the server serves /metrics on its HTTPS port)
metrics.listenerAddr: metrics.serviceMonitor (the server serves /metrics on its HTTPS port)
metrics.listenerEndpoint: metrics.serviceMonitor (the server serves /metrics on its HTTPS port)
{{- end }}

{{/* The keys of the values the chart does not read, each with a hint: [{key, hint}]. */}}
{{- define "runnerset-apiserver.unknownValues" -}}
{{- $known := include "runnerset-apiserver.knownValues" . | fromYaml }}
{{- $st := dict "unknown" (list) "paths" (list) "moved" (include "runnerset-apiserver.movedValues" . | fromYaml) }}
{{- include "runnerset-apiserver.knownPaths" (dict "st" $st "prefix" "" "known" $known) }}
{{- include "runnerset-apiserver.checkKeys" (dict "st" $st "prefix" "" "m" .Values "known" $known) }}
{{- $st.unknown | toJson }}
{{- end }}

{{/* knownPaths lists every path of the known tree in st.paths (dict "st" "prefix" "known"). */}}
{{- define "runnerset-apiserver.knownPaths" -}}
{{- $st := .st }}
{{- range $k, $sub := .known }}
{{- $path := printf "%s%s" $.prefix $k }}
{{- $_ := set $st "paths" (append $st.paths $path) }}
{{- if kindIs "map" $sub }}
{{- include "runnerset-apiserver.knownPaths" (dict "st" $st "prefix" (printf "%s." $path) "known" $sub) }}
{{- end }}
{{- end }}
{{- end }}

{{/*
checkKeys records in st.unknown the keys of m (under prefix) that the known tree does not have,
and walks into those it has (dict "st" "prefix" "m" "known").
*/}}
{{- define "runnerset-apiserver.checkKeys" -}}
{{- $st := .st }}
{{- range $k, $v := .m }}
{{- $path := printf "%s%s" $.prefix $k }}
{{- if hasKey $.known $k }}
{{- $sub := index $.known $k }}
{{- if and (kindIs "map" $sub) (kindIs "map" $v) }}
{{- include "runnerset-apiserver.checkKeys" (dict "st" $st "prefix" (printf "%s." $path) "m" $v "known" $sub) }}
{{- end }}
{{- else }}
{{- include "runnerset-apiserver.unknownKey" (dict "st" $st "prefix" $.prefix "key" $k "value" $v "siblings" (keys $.known | sortAlpha)) }}
{{- end }}
{{- end }}
{{- end }}

{{/*
unknownKey records one unknown key (dict "st" "prefix" "key" "value" "siblings": the known keys
beside it). A map whose
keys moved elsewhere (certificate.*, ARC's flags.*) is recorded key by key, each with its new
place. Otherwise the hint is, in this order: where the key moved; a known key beside it spelt
alike but for case; one beside it a letter apart (one added, dropped, changed, or two swapped);
the known key of that name elsewhere in the tree; a known key beside it that starts alike (at
least 4 letters, and half of the key).
*/}}
{{- define "runnerset-apiserver.unknownKey" -}}
{{- $st := .st }}
{{- $path := printf "%s%s" .prefix .key }}
{{- $movedBelow := false }}
{{- range $from, $_ := $st.moved }}
{{- if hasPrefix (printf "%s." $path) $from }}{{ $movedBelow = true }}{{ end }}
{{- end }}
{{- if and (kindIs "map" .value) .value $movedBelow }}
{{- range $k, $v := .value }}
{{- include "runnerset-apiserver.unknownKey" (dict "st" $st "prefix" (printf "%s." $path) "key" $k "value" $v "siblings" list) }}
{{- end }}
{{- else }}
{{- $key := lower (toString .key) }}
{{- $hint := "" }}
{{- if hasKey $st.moved $path }}
{{- $hint = index $st.moved $path }}
{{- end }}
{{- if not $hint }}
{{- range .siblings }}
{{- if and (not $hint) (eq (lower .) $key) }}{{ $hint = printf "%s%s" $.prefix . }}{{ end }}
{{- end }}
{{- end }}
{{- if not $hint }}
{{- range .siblings }}
{{- if and (not $hint) (eq (include "runnerset-apiserver.oneEditApart" (dict "a" $key "b" (lower .))) "true") }}{{ $hint = printf "%s%s" $.prefix . }}{{ end }}
{{- end }}
{{- end }}
{{- if not $hint }}
{{- range $st.paths }}
{{- if and (not $hint) (eq (lower (last (splitList "." .))) $key) }}{{ $hint = . }}{{ end }}
{{- end }}
{{- end }}
{{- if not $hint }}
{{- $best := 0 }}
{{- range .siblings }}
{{- $n := include "runnerset-apiserver.commonPrefix" (dict "a" $key "b" (lower .)) | atoi }}
{{- if and (gt $n $best) (ge $n 4) (ge (mul $n 2) (len $key)) }}{{ $best = $n }}{{ $hint = printf "%s%s" $.prefix . }}{{ end }}
{{- end }}
{{- end }}
{{- $_ := set $st "unknown" (append $st.unknown (dict "key" $path "hint" $hint)) }}
{{- end }}
{{- end }}

{{/* The length of the longest common prefix of a and b (dict "a" "b"). */}}
{{- define "runnerset-apiserver.commonPrefix" -}}
{{- $a := .a }}
{{- $b := .b }}
{{- $n := 0 }}
{{- $same := true }}
{{- range $i := until (int (min (len $a) (len $b))) }}
{{- if and $same (eq (substr $i (int (add1 $i)) $a) (substr $i (int (add1 $i)) $b)) }}{{ $n = add1 $n }}{{ else }}{{ $same = false }}{{ end }}
{{- end }}
{{- $n }}
{{- end }}

{{/*
oneEditApart tells ("true") whether a and b differ by one letter added, dropped or changed, or
two neighbours swapped (dict "a" "b").
*/}}
{{- define "runnerset-apiserver.oneEditApart" -}}
{{- $a := .a }}
{{- $b := .b }}
{{- if lt (len $a) (len $b) }}{{ $a = .b }}{{ $b = .a }}{{ end }}
{{- $apart := false }}
{{- if eq (len $a) (add1 (len $b)) }}
{{- range $i := until (len $a) }}
{{- if eq (print (substr 0 $i $a) (substr (int (add1 $i)) (len $a) $a)) $b }}{{ $apart = true }}{{ end }}
{{- end }}
{{- else if and (eq (len $a) (len $b)) (ne $a $b) }}
{{- $diff := list }}
{{- range $i := until (len $a) }}
{{- if ne (substr $i (int (add1 $i)) $a) (substr $i (int (add1 $i)) $b) }}{{ $diff = append $diff $i }}{{ end }}
{{- end }}
{{- if eq (len $diff) 1 }}{{ $apart = true }}{{ end }}
{{- if and (eq (len $diff) 2) (eq (add1 (index $diff 0)) (index $diff 1)) }}
{{- $i := index $diff 0 }}
{{- $j := index $diff 1 }}
{{- if and (eq (substr $i (int (add1 $i)) $a) (substr $j (int (add1 $j)) $b)) (eq (substr $j (int (add1 $j)) $a) (substr $i (int (add1 $i)) $b)) }}{{ $apart = true }}{{ end }}
{{- end }}
{{- end }}
{{- $apart }}
{{- end }}
