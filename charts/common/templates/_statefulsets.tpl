{{/*
common.statefulsets.checkClaimSize: Kubernetes refuses any change to a
StatefulSet's volumeClaimTemplates, and the API error does not say what to do.
On upgrade (the live StatefulSet is found with lookup) a changed claim size
fails the render with the way to resize instead. Offline renders (helm
template, GitOps) have no live object and skip the check.
Usage: {{ include "common.statefulsets.checkClaimSize" (dict "name" $fullname "claim" "data"
         "size" .Values.persistence.size "path" "mongodb.persistence.size" "context" $) }}
*/}}
{{- define "common.statefulsets.checkClaimSize" -}}
{{- $live := lookup "apps/v1" "StatefulSet" .context.Release.Namespace .name -}}
{{- if $live -}}
{{- $ctx := . -}}
{{- range (dig "spec" "volumeClaimTemplates" list $live) -}}
{{- if eq .metadata.name $ctx.claim -}}
{{- $liveSize := dig "spec" "resources" "requests" "storage" "" . | toString -}}
{{- if and $liveSize (ne (include "common.quantity.bytes" $liveSize) (include "common.quantity.bytes" $ctx.size)) -}}
{{- $ns := $ctx.context.Release.Namespace -}}
{{- include "common.rules.fail" (dict "rule" "statefulset-claim-size" "args" (dict "path" $ctx.path "live" $liveSize "size" (toString $ctx.size) "name" $ctx.name "namespace" $ns "claim" $ctx.claim)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
common.quantity.bytes: a storage quantity ("20Gi", "500M", "1.5Gi") in bytes,
so sizes the API server canonicalised compare equal to what values say.
*/}}
{{- define "common.quantity.bytes" -}}
{{- $q := toString . -}}
{{- $number := regexFind "^[0-9]+(\\.[0-9]+)?" $q -}}
{{- $suffix := trimPrefix $number $q -}}
{{- $factors := dict "" 1.0 "Ki" 1024.0 "Mi" 1048576.0 "Gi" 1073741824.0 "Ti" 1099511627776.0 "Pi" 1125899906842624.0 "k" 1000.0 "M" 1000000.0 "G" 1000000000.0 "T" 1000000000000.0 "P" 1000000000000000.0 -}}
{{- if or (not $number) (not (hasKey $factors $suffix)) -}}
{{- include "common.rules.fail" (dict "rule" "quantity-format" "args" (dict "value" (quote $q))) -}}
{{- end -}}
{{- mulf (float64 $number) (index $factors $suffix | default 0.0) | printf "%.0f" -}}
{{- end -}}
