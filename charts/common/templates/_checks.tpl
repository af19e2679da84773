{{- /*
The template side of the cross-field rules of scripts/lib/rule-table.ts
(messages and constants from the generated _rules.tpl; the validator's side is
scripts/lib/rules.ts, the same rule id). Quantities and cron schedules are read
here as scripts/lib/quantity.ts and scripts/lib/cron.ts read them.
*/ -}}

{{/* Bytes of a memory quantity: common.quantity.bytes in _statefulsets.tpl. */}}

{{/* Millicores of a CPU quantity ("250m", "1", 0.5). */}}
{{- define "common.quantity.millicores" -}}
{{- $value := toString . -}}
{{- if hasSuffix "m" $value -}}
{{- trimSuffix "m" $value | float64 -}}
{{- else -}}
{{- mulf ($value | float64) 1000 -}}
{{- end -}}
{{- end -}}

{{/* A container resource amount as a number: CPU in millicores, memory in bytes (parseAmount in scripts/lib/quantity.ts). Usage: {{ include "common.quantity.amount" (dict "resource" "cpu" "value" "250m") }} */}}
{{- define "common.quantity.amount" -}}
{{- include (ternary "common.quantity.millicores" "common.quantity.bytes" (eq .resource "cpu")) .value -}}
{{- end -}}

{{/*
common.rules.requestsWithinLimits: every requests/limits pair anywhere in a
chart's values (every container of every component): a request above its
limit is refused, as the API server would refuse the pod.
Usage: {{ include "common.rules.requestsWithinLimits" (dict "node" .Values "path" "redis") }}
*/}}
{{- define "common.rules.requestsWithinLimits" -}}
{{- $path := .path -}}
{{- range $key, $value := .node -}}
{{- if kindIs "map" $value -}}
{{- $here := printf "%s.%s" $path $key -}}
{{- if and (kindIs "map" $value.requests) (kindIs "map" $value.limits) -}}
{{- range $resource := list "cpu" "memory" -}}
{{- if and (hasKey $value.requests $resource) (hasKey $value.limits $resource) -}}
{{- $request := index $value.requests $resource -}}
{{- $limit := index $value.limits $resource -}}
{{- if gt (include "common.quantity.amount" (dict "resource" $resource "value" $request) | float64) (include "common.quantity.amount" (dict "resource" $resource "value" $limit) | float64) -}}
{{- include "common.rules.fail" (dict "rule" "request-limit" "args" (dict "path" $here "resource" $resource "request" $request "limit" $limit)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- else -}}
{{- include "common.rules.requestsWithinLimits" (dict "node" $value "path" $here) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
common.rules.withinLimitRange: every limits of a chart's values (every
container) at or below the namespace LimitRange max, which the API server
enforces at admission.
Usage: {{ include "common.rules.withinLimitRange" (dict "node" .Values.redis "path" "redis" "max" .Values.limitRange.max) }}
*/}}
{{- define "common.rules.withinLimitRange" -}}
{{- $ctx := . -}}
{{- range $key, $value := .node -}}
{{- if kindIs "map" $value -}}
{{- $here := printf "%s.%s" $ctx.path $key -}}
{{- if and (kindIs "map" $value.requests) (kindIs "map" $value.limits) -}}
{{- range $resource := list "cpu" "memory" -}}
{{- if hasKey $value.limits $resource -}}
{{- $limit := index $value.limits $resource -}}
{{- $max := index $ctx.max $resource -}}
{{- if gt (include "common.quantity.amount" (dict "resource" $resource "value" $limit) | float64) (include "common.quantity.amount" (dict "resource" $resource "value" $max) | float64) -}}
{{- include "common.rules.fail" (dict "rule" "limit-range" "args" (dict "path" $here "resource" $resource "limit" $limit "max" $max)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- else -}}
{{- include "common.rules.withinLimitRange" (dict "node" $value "path" $here "max" $ctx.max) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
common.cron.set: the values one cron field allows, as a JSON object keyed by
the numbers ("5": true). Input: (dict "text" "0-23/6" "min" 0 "max" 23 "names" list "base" 0)
*/}}
{{- define "common.cron.set" -}}
{{- $field := . -}}
{{- $out := dict -}}
{{- range $item := splitList "," $field.text -}}
{{- $parts := splitList "/" $item -}}
{{- $range := first $parts -}}
{{- $step := 1 -}}
{{- if gt (len $parts) 1 -}}{{- $step = index $parts 1 | int -}}{{- end -}}
{{- $lo := int $field.min -}}
{{- $hi := int $field.max -}}
{{- if not (has $range (list "*" "?")) -}}
{{- $ends := splitList "-" $range -}}
{{- $lo = include "common.cron.number" (dict "text" (first $ends) "names" $field.names "base" $field.base) | int -}}
{{- if gt (len $ends) 1 -}}
{{- $hi = include "common.cron.number" (dict "text" (last $ends) "names" $field.names "base" $field.base) | int -}}
{{- else if eq (len $parts) 1 -}}
{{- $hi = $lo -}}
{{- end -}}
{{- end -}}
{{- if lt $step 1 -}}{{- $step = 1 -}}{{- end -}}
{{- range $n := untilStep $lo (add1 $hi | int) $step -}}
{{- $_ := set $out (toString (ternary 0 $n (and (hasKey $field "sunday") (eq $n 7)))) true -}}
{{- end -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{- define "common.cron.number" -}}
{{- $upper := upper .text -}}
{{- $found := -1 -}}
{{- range $i, $name := .names -}}{{- if eq $name $upper -}}{{- $found = $i -}}{{- end -}}{{- end -}}
{{- ternary (add $found .base) (.text | int) (ge $found 0) -}}
{{- end -}}

{{/*
common.cron.longestGapMinutes: the longest time between two runs of a
schedule over five years (2024-2028), as scripts/lib/cron.ts longestGapMinutes
computes it; -1 when it runs fewer than twice.
*/}}
{{- define "common.cron.longestGapMinutes" -}}
{{- $macros := dict "@yearly" "0 0 1 1 *" "@annually" "0 0 1 1 *" "@monthly" "0 0 1 * *" "@weekly" "0 0 * * 0" "@daily" "0 0 * * *" "@midnight" "0 0 * * *" "@hourly" "0 * * * *" -}}
{{- $text := trim (toString .) -}}
{{- $text = get $macros $text | default $text -}}
{{- $f := splitList " " (regexReplaceAll "[ \t]+" $text " ") -}}
{{- $months := list "JAN" "FEB" "MAR" "APR" "MAY" "JUN" "JUL" "AUG" "SEP" "OCT" "NOV" "DEC" -}}
{{- $days := list "SUN" "MON" "TUE" "WED" "THU" "FRI" "SAT" -}}
{{- $minute := include "common.cron.set" (dict "text" (index $f 0) "min" 0 "max" 59 "names" list "base" 0) | fromJson -}}
{{- $hour := include "common.cron.set" (dict "text" (index $f 1) "min" 0 "max" 23 "names" list "base" 0) | fromJson -}}
{{- $dom := include "common.cron.set" (dict "text" (index $f 2) "min" 1 "max" 31 "names" list "base" 0) | fromJson -}}
{{- $month := include "common.cron.set" (dict "text" (index $f 3) "min" 1 "max" 12 "names" $months "base" 1) | fromJson -}}
{{- $dow := include "common.cron.set" (dict "text" (index $f 4) "min" 0 "max" 7 "names" $days "base" 0 "sunday" true) | fromJson -}}
{{- $domAny := has (index $f 2) (list "*" "?") -}}
{{- $dowAny := has (index $f 4) (list "*" "?") -}}
{{- $times := list -}}
{{- range $h := until 24 -}}{{- if hasKey $hour (toString $h) -}}{{- range $m := until 60 -}}{{- if hasKey $minute (toString $m) -}}{{- $times = append $times (add (mul $h 60) $m) -}}{{- end -}}{{- end -}}{{- end -}}{{- end -}}
{{- $longest := -1 -}}
{{- $previous := -1 -}}
{{- if $times -}}
{{- $inDay := 0 -}}
{{- range $i, $t := $times -}}{{- if gt $i 0 -}}{{- $inDay = max $inDay (sub $t (index $times (sub $i 1))) -}}{{- end -}}{{- end -}}
{{- $day := 0 -}}
{{- range $year := list 2024 2025 2026 2027 2028 -}}
{{- $february := ternary 29 28 (eq (mod $year 4) 0) -}}
{{- range $m, $length := list 31 $february 31 30 31 30 31 31 30 31 30 31 -}}
{{- range $d := until $length -}}
{{- $domOk := hasKey $dom (toString (add1 $d)) -}}
{{- $dowOk := hasKey $dow (toString (mod (add1 $day) 7)) -}}
{{- $dayOk := and (hasKey $month (toString (add1 $m))) (ternary (or $domOk $dowOk) (and $domOk $dowOk) (and (not $domAny) (not $dowAny))) -}}
{{- if $dayOk -}}
{{- $first := add (mul $day 1440) (first $times) -}}
{{- if ge $previous 0 -}}{{- $longest = max $longest (sub $first $previous) -}}{{- end -}}
{{- if gt (len $times) 1 -}}{{- $longest = max $longest $inDay -}}{{- end -}}
{{- $previous = add (mul $day 1440) (last $times) -}}
{{- end -}}
{{- $day = add1 $day -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $longest -}}
{{- end -}}
