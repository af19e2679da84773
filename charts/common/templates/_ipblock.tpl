{{- /*
NetworkPolicy ipBlocks, read as Kubernetes reads them: an except must be a
strict subset of its cidr (inside it, with a longer prefix), or the API server
refuses the policy. Addresses are compared as bit strings, as
scripts/lib/cidr.ts does (the validator's twin, rule ipblock-except).
*/ -}}

{{/* The address of a range as a string of bits: 32 for IPv4, 128 for IPv6 ("::" expanded). */}}
{{- define "common.ipBlock.bits" -}}
{{- $address := index (splitList "/" .) 0 -}}
{{- if contains ":" $address -}}
{{- $halves := splitList "::" $address -}}
{{- $head := list -}}
{{- $tail := list -}}
{{- if index $halves 0 }}{{ $head = splitList ":" (index $halves 0) }}{{ end -}}
{{- if and (gt (len $halves) 1) (index $halves 1) }}{{ $tail = splitList ":" (index $halves 1) }}{{ end -}}
{{- $groups := $head -}}
{{- if gt (len $halves) 1 -}}
{{- range until (sub 8 (add (len $head) (len $tail)) | int) }}{{ $groups = append $groups "0" }}{{ end -}}
{{- end -}}
{{- range concat $groups $tail }}{{ printf "%016b" (printf "0x%s" . | int64) }}{{ end -}}
{{- else -}}
{{- range splitList "." $address }}{{ printf "%08b" (int .) }}{{ end -}}
{{- end -}}
{{- end -}}

{{/*
common.ipBlock.render: the body of an ipBlock (cidr, except) from a values
section {cidr, except}; fails (rule ipblock-except) on an except outside it.
Usage: - ipBlock:
           {{- include "common.ipBlock.render" (dict "block" $np.externalEgress "path" "app.networkPolicy.externalEgress") | nindent 12 }}
*/}}
{{- define "common.ipBlock.render" -}}
{{- $cidr := toString .block.cidr -}}
{{- $bits := include "common.ipBlock.bits" $cidr -}}
{{- $prefix := index (splitList "/" $cidr) 1 | int -}}
{{- range $index, $except := .block.except -}}
{{- $exceptBits := include "common.ipBlock.bits" $except -}}
{{- $exceptPrefix := index (splitList "/" $except) 1 | int -}}
{{- if or (ne (len $exceptBits) (len $bits)) (le $exceptPrefix $prefix) (ne (substr 0 $prefix $exceptBits) (substr 0 $prefix $bits)) -}}
{{- include "common.rules.fail" (dict "rule" "ipblock-except" "args" (dict "path" $.path "index" $index "except" $except "cidr" $cidr)) -}}
{{- end -}}
{{- end -}}
cidr: {{ $cidr }}
{{- with .block.except }}
except:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
