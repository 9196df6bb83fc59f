{{/*
runnerset.apiErrors checks the RunnerSet the chart renders (a map: metadata and spec) as the
runnerset-apiserver's validation does after defaulting, and returns, as a JSON list, the errors
the API would answer with, in its words (field path, error type, detail). The chart fails on
them before anything is installed, instead of leaving a release half installed (its Secret
without its RunnerSet) or a Git repository that Argo CD cannot sync. What the server checks
beyond the object (rights, allowed hosts, limits) it still answers itself.

charts/runnerset_test.go compares these messages with the API's own validation.
*/}}
{{- define "runnerset.apiErrors" -}}
{{- $obj := . -}}
{{- $errs := list -}}
{{- $name := $obj.metadata.name -}}
{{- $spec := $obj.spec -}}

{{- /* metadata */ -}}
{{- range include "runnerset.api.dns1035Label" $name | fromJsonArray -}}
{{- $errs = append $errs (printf "metadata.name: Invalid value: %q: %s" $name .) -}}
{{- end -}}
{{- if gt (len $name) 57 -}}
{{- $errs = append $errs (printf "metadata.name: Invalid value: %q: must be no more than 57 characters" $name) -}}
{{- end -}}
{{- range $k, $v := $obj.metadata.labels -}}
{{- range include "runnerset.api.labelValue" $v | fromJsonArray -}}
{{- $errs = append $errs (printf "metadata.labels: Invalid value: %q: %s" $v .) -}}
{{- end -}}
{{- end -}}

{{- /* spec.githubConfigUrl */ -}}
{{- $url := $spec.githubConfigUrl -}}
{{- $urlErr := "" -}}
{{- if or (ne (trim $url) $url) (not $url) -}}
{{- $urlErr = "must be a URL such as https://github.com/my-org" -}}
{{- else -}}
{{- $u := urlParse (trimSuffix "/" $url) -}}
{{- if not (has $u.scheme (list "https" "http")) -}}
{{- $urlErr = "scheme must be https or http" -}}
{{- else if not $u.hostname -}}
{{- $urlErr = "must name a host" -}}
{{- else if or $u.userinfo $u.query $u.fragment -}}
{{- $urlErr = "must not carry credentials, a query or a fragment" -}}
{{- else -}}
{{- $path := trimAll "/" $u.path -}}
{{- $parts := list -}}
{{- if $path }}{{ $parts = splitList "/" $path }}{{ end -}}
{{- if has "" $parts -}}
{{- $urlErr = "path must not contain empty segments" -}}
{{- else if not (has (len $parts) (list 1 2)) -}}
{{- $urlErr = "must point to an enterprise (https://github.com/enterprises/NAME), an organization (https://github.com/ORG) or a repository (https://github.com/ORG/REPO)" -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if $urlErr -}}
{{- $errs = append $errs (printf "spec.githubConfigUrl: Invalid value: %q: %s" $url $urlErr) -}}
{{- end -}}

{{- /* spec.githubConfigSecret */ -}}
{{- range include "runnerset.api.dns1123Subdomain" $spec.githubConfigSecret | fromJsonArray -}}
{{- $errs = append $errs (printf "spec.githubConfigSecret: Invalid value: %q: %s" $spec.githubConfigSecret .) -}}
{{- end -}}

{{- /* spec.runnerScaleSetName */ -}}
{{- $ssn := $spec.runnerScaleSetName -}}
{{- if gt (len $ssn) 45 -}}
{{- $errs = append $errs (printf "spec.runnerScaleSetName: Invalid value: %q: must be no more than 45 characters" $ssn) -}}
{{- end -}}
{{- if not (regexMatch "^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$" $ssn) -}}
{{- $errs = append $errs (printf "spec.runnerScaleSetName: Invalid value: %q: must consist of letters, digits, '.', '-' and '_', and start and end with a letter or digit" $ssn) -}}
{{- end -}}

{{- /* spec.labels */ -}}
{{- $seen := dict -}}
{{- range $i, $l := $spec.labels | default list -}}
{{- $l = toString $l -}}
{{- if not $l -}}
{{- $errs = append $errs (printf "spec.labels[%d]: Invalid value: \"\": must not be empty" $i) -}}
{{- else if gt (len $l) 255 -}}
{{- $errs = append $errs (printf "spec.labels[%d]: Too long: may not be more than 255 bytes" $i) -}}
{{- else if hasKey $seen $l -}}
{{- $errs = append $errs (printf "spec.labels[%d]: Duplicate value: %q" $i $l) -}}
{{- end -}}
{{- $_ := set $seen $l true -}}
{{- end -}}

{{- /* spec.minRunners and maxRunners (minRunners defaults to 0) */ -}}
{{- $min := 0 -}}
{{- if hasKey $spec "minRunners" -}}
{{- $min = int64 $spec.minRunners -}}
{{- if lt $min 0 }}{{ $errs = append $errs (printf "spec.minRunners: Invalid value: %d: must be greater than or equal to 0" $min) }}{{ end -}}
{{- end -}}
{{- if hasKey $spec "maxRunners" -}}
{{- $max := int64 $spec.maxRunners -}}
{{- if lt $max 0 }}{{ $errs = append $errs (printf "spec.maxRunners: Invalid value: %d: must be greater than or equal to 0" $max) }}{{ end -}}
{{- if lt $max (int64 $min) }}{{ $errs = append $errs (printf "spec.maxRunners: Invalid value: %d: must be greater than or equal to minRunners (%d)" $max (int64 $min)) }}{{ end -}}
{{- end -}}

{{- /* spec.containerMode */ -}}
{{- $tspec := ($spec.template | default dict).spec | default dict -}}
{{- $hasWork := false -}}
{{- range $tspec.volumes | default list }}{{ if eq (toString .name) "work" }}{{ $hasWork = true }}{{ end }}{{ end -}}
{{- $mode := "" -}}
{{- with $spec.containerMode -}}
{{- $mode = toString (.type | default "") -}}
{{- $claim := .kubernetesModeWorkVolumeClaim -}}
{{- $cp := "spec.containerMode.kubernetesModeWorkVolumeClaim" -}}
{{- if has $mode (list "" "dind") -}}
{{- if $claim }}{{ $errs = append $errs (printf "%s: Forbidden: only allowed with type \"kubernetes\"" $cp) }}{{ end -}}
{{- else if eq $mode "kubernetes-novolume" -}}
{{- if $claim }}{{ $errs = append $errs (printf "%s: Forbidden: only allowed with type \"kubernetes\": type \"kubernetes-novolume\" uses no work volume" $cp) }}{{ end -}}
{{- else if eq $mode "kubernetes" -}}
{{- if and (not $claim) (not $hasWork) -}}
{{- $errs = append $errs (printf "%s: Required value: kubernetes mode needs a work volume that job pods share with the runner: set this claim, or declare a volume named \"work\" in the template" $cp) -}}
{{- else if and $claim $hasWork -}}
{{- $errs = append $errs (printf "%s: Forbidden: the template already declares a volume named \"work\": use one or the other" $cp) -}}
{{- else if $claim -}}
{{- if not $claim.accessModes }}{{ $errs = append $errs (printf "%s.accessModes: Required value: at least one access mode, e.g. ReadWriteOnce" $cp) }}{{ end -}}
{{- if not (hasKey (($claim.resources | default dict).requests | default dict) "storage") }}{{ $errs = append $errs (printf "%s.resources.requests.storage: Required value: the size of the work volume" $cp) }}{{ end -}}
{{- end -}}
{{- else -}}
{{- $errs = append $errs (printf "spec.containerMode.type: Unsupported value: %q: supported values: \"\", \"dind\", \"kubernetes\", \"kubernetes-novolume\"" $mode) -}}
{{- end -}}
{{- $rules := .kubernetesModeAdditionalRoleRules | default list -}}
{{- $rp := "spec.containerMode.kubernetesModeAdditionalRoleRules" -}}
{{- if and $rules (not (has $mode (list "kubernetes" "kubernetes-novolume"))) -}}
{{- $errs = append $errs (printf "%s: Forbidden: only allowed with type \"kubernetes\" or \"kubernetes-novolume\", whose runners get a Role" $rp) -}}
{{- else if $rules -}}
{{- $rights := 0 -}}
{{- range $i, $r := $rules -}}
{{- if not $r.verbs }}{{ $errs = append $errs (printf "%s[%d].verbs: Required value: at least one verb, e.g. get" $rp $i) }}{{ end -}}
{{- if not $r.apiGroups }}{{ $errs = append $errs (printf "%s[%d].apiGroups: Required value: at least one API group; \"\" is the core group" $rp $i) }}{{ end -}}
{{- if not $r.resources }}{{ $errs = append $errs (printf "%s[%d].resources: Required value: at least one resource, e.g. pods" $rp $i) }}{{ end -}}
{{- $rights = add $rights (mul (len ($r.verbs | default list)) (len ($r.apiGroups | default list)) (len ($r.resources | default list)) (max 1 (len ($r.resourceNames | default list)))) -}}
{{- end -}}
{{- if gt $rights 256 -}}
{{- $errs = append $errs (printf "%s: Forbidden: the rules spell out more than 256 rights (verbs x apiGroups x resources x resourceNames), each checked against the author's: use fewer or wildcards" $rp) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- /* spec.template, after the API put its default runner container first where there is none */ -}}
{{- $tp := "spec.template.spec" -}}
{{- $containers := $tspec.containers | default list -}}
{{- $hasRunner := false -}}
{{- range $containers -}}
{{- if eq (toString .name) "runner" -}}
{{- $hasRunner = true -}}
{{- end -}}
{{- end -}}
{{- if not $hasRunner }}{{ $containers = prepend $containers (dict "name" "runner") }}{{ end -}}
{{- $names := dict -}}
{{- range $i, $c := $containers -}}
{{- $cn := toString ($c.name | default "") -}}
{{- if not $cn -}}
{{- $errs = append $errs (printf "%s.containers[%d].name: Required value" $tp $i) -}}
{{- else -}}
{{- range include "runnerset.api.dns1123Label" $cn | fromJsonArray -}}
{{- $errs = append $errs (printf "%s.containers[%d].name: Invalid value: %q: %s" $tp $i $cn .) -}}
{{- end -}}
{{- if hasKey $names $cn }}{{ $errs = append $errs (printf "%s.containers[%d].name: Duplicate value: %q" $tp $i $cn) }}{{ end -}}
{{- $_ := set $names $cn true -}}
{{- end -}}
{{- end -}}
{{- with $tspec.restartPolicy -}}
{{- if ne (toString .) "Never" }}{{ $errs = append $errs (printf "%s.restartPolicy: Unsupported value: %q: supported values: \"Never\"" $tp (toString .)) }}{{ end -}}
{{- end -}}
{{- if eq $mode "dind" -}}
{{- if hasKey $names "dind" -}}
{{- $dup := false -}}
{{- range $i, $c := $tspec.initContainers | default list -}}
{{- if and (not $dup) (eq (toString $c.name) "dind") -}}
{{- $errs = append $errs (printf "%s.initContainers[%d].name: Duplicate value: \"dind\"" $tp $i) -}}
{{- $dup = true -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $tmeta := ($spec.template | default dict).metadata | default dict -}}
{{- range $k, $v := $tmeta.labels | default dict -}}
{{- range include "runnerset.api.labelValue" $v | fromJsonArray -}}
{{- $errs = append $errs (printf "spec.template.metadata.labels: Invalid value: %q: %s" $v .) -}}
{{- end -}}
{{- end -}}
{{- $reserved := include "runnerset.api.reservedPodLabels" . | fromJson -}}
{{- range $k := keys ($tmeta.labels | default dict) | sortAlpha -}}
{{- $why := get $reserved $k -}}
{{- if $why -}}
{{- $errs = append $errs (printf "spec.template.metadata.labels[%s]: Forbidden: the server sets this label on every runner pod (%s): remove it from the template" $k $why) -}}
{{- end -}}
{{- end -}}

{{- /* spec.proxy */ -}}
{{- range $k := list "http" "https" -}}
{{- with index ($spec.proxy | default dict) $k -}}
{{- $purl := toString (.url | default "") -}}
{{- $pu := dict -}}
{{- if $purl }}{{ $pu = urlParse $purl }}{{ end -}}
{{- if or (not (has $pu.scheme (list "http" "https"))) (not $pu.host) -}}
{{- $errs = append $errs (printf "spec.proxy.%s.url: Invalid value: %q: must be an http:// or https:// URL with a host" $k $purl) -}}
{{- else if $pu.userinfo -}}
{{- $errs = append $errs (printf "spec.proxy.%s.url: Invalid value: \"<redacted>\": must not carry credentials: put them in the Secret named by credentialSecretRef" $k) -}}
{{- end -}}
{{- with .credentialSecretRef -}}
{{- $ref := . -}}
{{- range include "runnerset.api.dns1123Subdomain" $ref | fromJsonArray -}}
{{- $errs = append $errs (printf "spec.proxy.%s.credentialSecretRef: Invalid value: %q: %s" $k $ref .) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- /* spec.githubServerTLS */ -}}
{{- with $spec.githubServerTLS -}}
{{- $ref := (.certificateFrom | default dict).configMapKeyRef -}}
{{- if not $ref -}}
{{- $errs = append $errs "spec.githubServerTLS.certificateFrom.configMapKeyRef: Required value: the ConfigMap key holding the CA bundle" -}}
{{- else -}}
{{- if not $ref.name }}{{ $errs = append $errs "spec.githubServerTLS.certificateFrom.configMapKeyRef.name: Required value" }}{{ end -}}
{{- if not $ref.key }}{{ $errs = append $errs "spec.githubServerTLS.certificateFrom.configMapKeyRef.key: Required value" }}{{ end -}}
{{- end -}}
{{- with .runnerMountPath -}}
{{- if not (hasPrefix "/" .) }}{{ $errs = append $errs (printf "spec.githubServerTLS.runnerMountPath: Invalid value: %q: must be an absolute path" .) }}{{ end -}}
{{- end -}}
{{- end -}}

{{- /*
spec.schedules (validation/schedules.go). A time zone the server's zone database does not know
is left to the server: the chart cannot load zones, and "Local" is the only name it refuses.
*/ -}}
{{- $scheds := $spec.schedules | default list -}}
{{- if gt (len $scheds) 20 -}}
{{- $errs = append $errs (printf "spec.schedules: Too many: %d: must have at most 20 items" (len $scheds)) -}}
{{- else -}}
{{- $schedNames := dict -}}
{{- $dayNames := list "sun" "mon" "tue" "wed" "thu" "fri" "sat" -}}
{{- range $i, $s := $scheds -}}
{{- $sp := printf "spec.schedules[%d]" $i -}}
{{- $sn := toString ($s.name | default "") -}}
{{- if not $sn -}}
{{- $errs = append $errs (printf "%s.name: Required value: a name for the window, shown in the status and events" $sp) -}}
{{- else if hasKey $schedNames $sn -}}
{{- $errs = append $errs (printf "%s.name: Duplicate value: %q" $sp $sn) -}}
{{- else -}}
{{- range include "runnerset.api.dns1123Label" $sn | fromJsonArray -}}
{{- $errs = append $errs (printf "%s.name: Invalid value: %q: %s" $sp $sn .) -}}
{{- end -}}
{{- end -}}
{{- $_ := set $schedNames $sn true -}}
{{- $seenDays := dict -}}
{{- range $j, $d := $s.days | default list -}}
{{- $d = toString $d -}}
{{- if not (has (lower $d) $dayNames) -}}
{{- $errs = append $errs (printf "%s.days[%d]: Invalid value: %q: must be Mon, Tue, Wed, Thu, Fri, Sat or Sun" $sp $j $d) -}}
{{- else if hasKey $seenDays (lower $d) -}}
{{- $errs = append $errs (printf "%s.days[%d]: Duplicate value: %q" $sp $j $d) -}}
{{- end -}}
{{- $_ := set $seenDays (lower $d) true -}}
{{- end -}}
{{- range $k := list "start" "end" -}}
{{- $clock := toString (index $s $k | default "") -}}
{{- if not $clock -}}
{{- $errs = append $errs (printf "%s.%s: Required value: HH:MM or HH:MM:SS, such as 08:00" $sp $k) -}}
{{- else if not (regexMatch "^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$" $clock) -}}
{{- $errs = append $errs (printf "%s.%s: Invalid value: %q: must be HH:MM or HH:MM:SS (24-hour, two digits each), from 00:00 to 23:59:59" $sp $k $clock) -}}
{{- end -}}
{{- end -}}
{{- if eq (toString ($s.timeZone | default "")) "Local" -}}
{{- $errs = append $errs (printf "%s.timeZone: Invalid value: \"Local\": must be an IANA time zone name, such as Europe/Berlin, or empty for UTC" $sp) -}}
{{- end -}}
{{- $hasMin := not (kindIs "invalid" $s.minRunners) -}}
{{- if $hasMin -}}
{{- if lt (int64 $s.minRunners) 0 }}{{ $errs = append $errs (printf "%s.minRunners: Invalid value: %d: must be greater than or equal to 0" $sp (int64 $s.minRunners)) }}{{ end -}}
{{- end -}}
{{- if not (kindIs "invalid" $s.maxRunners) -}}
{{- $smax := int64 $s.maxRunners -}}
{{- if lt $smax 0 }}{{ $errs = append $errs (printf "%s.maxRunners: Invalid value: %d: must be greater than or equal to 0" $sp $smax) }}{{ end -}}
{{- if and $hasMin (lt $smax (int64 $s.minRunners)) -}}
{{- $errs = append $errs (printf "%s.maxRunners: Invalid value: %d: must be greater than or equal to the window's minRunners (%d)" $sp $smax (int64 $s.minRunners)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- /* spec.scaleUp: burst defaults to runnersPerMinute (v1alpha1 defaulting) before the check. */ -}}
{{- with $spec.scaleUp -}}
{{- $rate := int64 (.runnersPerMinute | default 0) -}}
{{- if or (lt $rate 1) (gt $rate 100000) -}}
{{- $errs = append $errs (printf "spec.scaleUp.runnersPerMinute: Invalid value: %d: must be between 1 and 100000" $rate) -}}
{{- end -}}
{{- $burst := $rate -}}
{{- if not (kindIs "invalid" .burst) }}{{ $burst = int64 .burst }}{{ end -}}
{{- if or (lt $burst 1) (gt $burst 100000) -}}
{{- $errs = append $errs (printf "spec.scaleUp.burst: Invalid value: %d: must be between 1 and 100000" $burst) -}}
{{- end -}}
{{- end -}}
{{- toJson $errs -}}
{{- end }}

{{/* The labels the server sets on runner pods, with why a template may not set them. */}}
{{- define "runnerset.api.reservedPodLabels" -}}
{{- toJson (dict
  "actions.dev/runnerset" "the server selects a RunnerSet's runner pods by it"
  "app.kubernetes.io/component" "the server marks its runner pods with it"
  "app.kubernetes.io/managed-by" "the server marks its runner pods with it"
  "actions.github.com/scale-set-name" "set to the RunnerSet's name, as ARC does"
  "actions.github.com/scale-set-namespace" "set to the RunnerSet's namespace, as ARC does"
  "actions.github.com/enterprise" "set from githubConfigUrl, as ARC does"
  "actions.github.com/organization" "set from githubConfigUrl, as ARC does"
  "actions.github.com/repository" "set from githubConfigUrl, as ARC does"
  "actions-ephemeral-runner" "set on every runner pod, as ARC does"
) -}}
{{- end }}

{{/* Kubernetes' name checks, with its messages (k8s.io/apimachinery/pkg/util/validation). */}}
{{- define "runnerset.api.dns1035Label" -}}
{{- $errs := list -}}
{{- if gt (len .) 63 }}{{ $errs = append $errs "must be no more than 63 characters" }}{{ end -}}
{{- if not (regexMatch "^[a-z]([-a-z0-9]*[a-z0-9])?$" .) -}}
{{- $errs = append $errs "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')" -}}
{{- end -}}
{{- toJson $errs -}}
{{- end }}

{{- define "runnerset.api.dns1123Label" -}}
{{- $errs := list -}}
{{- if gt (len .) 63 }}{{ $errs = append $errs "must be no more than 63 characters" }}{{ end -}}
{{- if not (regexMatch "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$" .) -}}
{{- $errs = append $errs "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')" -}}
{{- end -}}
{{- toJson $errs -}}
{{- end }}

{{- define "runnerset.api.dns1123Subdomain" -}}
{{- $errs := list -}}
{{- if gt (len .) 253 }}{{ $errs = append $errs "must be no more than 253 characters" }}{{ end -}}
{{- if not (regexMatch "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$" .) -}}
{{- $errs = append $errs "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')" -}}
{{- end -}}
{{- toJson $errs -}}
{{- end }}

{{- define "runnerset.api.labelValue" -}}
{{- $v := toString . -}}
{{- $errs := list -}}
{{- if gt (len $v) 63 }}{{ $errs = append $errs "must be no more than 63 characters" }}{{ end -}}
{{- if not (regexMatch "^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$" $v) -}}
{{- $errs = append $errs "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')" -}}
{{- end -}}
{{- toJson $errs -}}
{{- end }}
