{{- /*
The template side of the quota-capacity rule (scripts/lib/rule-table.ts): what
the release runs at full scale and creates, per component, from the same values
as scripts/lib/rules.ts workloadDemands and objectDemands (test/quota-demand.test.ts
proves those against the render; test/bad-values-helm.test.ts that both refuse
the same files).
*/ -}}

{{/* One pod's requests and limits summed over containers: (list resources...) -> JSON {rc, rm, lc, lm} */}}
{{- define "techshop.quota.pod" -}}
{{- $sum := dict "rc" 0.0 "rm" 0.0 "lc" 0.0 "lm" 0.0 -}}
{{- range $r := . -}}
{{- $_ := set $sum "rc" (addf $sum.rc (include "common.quantity.millicores" $r.requests.cpu | float64)) -}}
{{- $_ := set $sum "rm" (addf $sum.rm (include "common.quantity.bytes" $r.requests.memory | float64)) -}}
{{- $_ := set $sum "lc" (addf $sum.lc (include "common.quantity.millicores" $r.limits.cpu | float64)) -}}
{{- $_ := set $sum "lm" (addf $sum.lm (include "common.quantity.bytes" $r.limits.memory | float64)) -}}
{{- end -}}
{{- toJson $sum -}}
{{- end -}}

{{/* Extra pods of a rollout: an absolute maxSurge, or a percentage of the replicas rounded up. */}}
{{- define "techshop.quota.surge" -}}
{{- $surge := toString .surge -}}
{{- if hasSuffix "%" $surge -}}
{{- ceil (divf (mulf (trimSuffix "%" $surge | float64) .replicas) 100) | int -}}
{{- else -}}
{{- $surge | int -}}
{{- end -}}
{{- end -}}

{{/* Every part of the demand: a JSON list of {part, pods, rc, rm, lc, lm, services, secrets, configmaps, pvcs, storage}. */}}
{{- define "techshop.quota.parts" -}}
{{- $v := .Values -}}
{{- $c := include "common.rules.constants" "quota-capacity" | fromJson -}}
{{- $testPod := dict "requests" (dict "cpu" (printf "%vm" $c.testPodRequestsMillicores) "memory" (int64 $c.testPodRequestsBytes)) "limits" (dict "cpu" (printf "%vm" $c.testPodLimitsMillicores) "memory" (int64 $c.testPodLimitsBytes)) -}}
{{- $parts := list -}}
{{- $existing := dict -}}
{{- $on := dict -}}
{{- range $name := list "app" "mongodb" "redis" "monitoring" "backup" "tracing" "objectstore" -}}
{{- $chart := index $v $name | default dict -}}
{{- $_ := set $on $name (ne (toString $chart.enabled) "false") -}}
{{- end -}}
{{- if $on.app -}}
{{- $a := $v.app -}}
{{- $replicas := ternary $a.autoscaling.maxReplicas $a.replicaCount $a.autoscaling.enabled | int -}}
{{- $surge := include "techshop.quota.surge" (dict "surge" $a.strategy.maxSurge "replicas" $replicas) | int -}}
{{- $generated := 1 -}}
{{- with $a.auth.existingSecret }}{{ $_ := set $existing . true }}{{ $generated = 0 }}{{ end -}}
{{- with $a.connections.mongodb.existingSecret }}{{ $_ := set $existing . true }}{{ end -}}
{{- with $a.connections.redis.existingSecret }}{{ $_ := set $existing . true }}{{ end -}}
{{- $parts = append $parts (dict "part" "app" "pods" (add $replicas $surge) "pod" (include "techshop.quota.pod" (list $a.resources) | fromJson) "services" 1 "secrets" $generated) -}}
{{- $parts = append $parts (dict "part" "helm test (app)" "pods" 1 "pod" (include "techshop.quota.pod" (list $testPod) | fromJson)) -}}
{{- end -}}
{{- if $on.mongodb -}}
{{- $m := $v.mongodb -}}
{{- $containers := list $m.resources $m.bootstrap.resources -}}
{{- if $m.metrics.enabled }}{{ $containers = append $containers $m.metrics.resources }}{{ end -}}
{{- $generated := 1 -}}
{{- with (dig "mongodb" "existingSecret" "" ($v.global | default dict)) }}{{ $_ := set $existing . true }}{{ $generated = 0 }}{{ end -}}
{{- $members := int $m.replicaCount -}}
{{- $pvcs := ternary $members 0 $m.persistence.enabled -}}
{{- $parts = append $parts (dict "part" "mongodb" "pods" $members "pod" (include "techshop.quota.pod" $containers | fromJson) "services" (ternary 3 2 $m.metrics.enabled) "secrets" $generated "configmaps" 2 "pvcs" $pvcs "storage" (mulf $pvcs (include "common.quantity.bytes" $m.persistence.size | float64))) -}}
{{- $parts = append $parts (dict "part" "helm test (mongodb)" "pods" 1 "pod" (include "techshop.quota.pod" (list $m.tests.resources) | fromJson)) -}}
{{- end -}}
{{- if $on.redis -}}
{{- $r := $v.redis -}}
{{- $cluster := eq $r.architecture "cluster" -}}
{{- $pods := ternary (mul $r.cluster.masters (add1 $r.cluster.replicasPerMaster)) 1 $cluster | int -}}
{{- $containers := list $r.resources -}}
{{- if $r.metrics.enabled }}{{ $containers = append $containers $r.metrics.resources }}{{ end -}}
{{- $generated := 1 -}}
{{- with (dig "redis" "existingSecret" "" ($v.global | default dict)) }}{{ $_ := set $existing . true }}{{ $generated = 0 }}{{ end -}}
{{- $pvcs := ternary $pods 0 $r.persistence.enabled -}}
{{- $parts = append $parts (dict "part" "redis" "pods" $pods "pod" (include "techshop.quota.pod" $containers | fromJson) "services" (ternary 3 2 $r.metrics.enabled) "secrets" $generated "configmaps" 3 "pvcs" $pvcs "storage" (mulf $pvcs (include "common.quantity.bytes" $r.persistence.size | float64))) -}}
{{- $helpers := 1 -}}
{{- if $cluster }}{{ $helpers = add $helpers 1 (ternary 1 0 $r.cluster.reconcile.enabled) }}{{ end -}}
{{- $parts = append $parts (dict "part" "redis helper pods" "pods" $helpers "pod" (include "techshop.quota.pod" (list $r.cluster.bootstrap.resources) | fromJson)) -}}
{{- end -}}
{{- if $on.backup -}}
{{- $b := $v.backup -}}
{{- $incremental := and $b.incremental.enabled (eq $b.mongodb.architecture "replicaset") -}}
{{- $jobs := add 1 (ternary 1 0 $incremental) (ternary 1 0 $b.restore.enabled) -}}
{{- $inline := 0 -}}
{{- if $b.storage.existingSecret }}{{ $_ := set $existing $b.storage.existingSecret true }}{{ else if or $b.storage.accessKeyId $b.storage.secretAccessKey (include "common.externalSecrets.mapped" (dict "credential" "backup" "context" $)) }}{{ $inline = 1 }}{{ end -}}
{{- with $b.restore.existingSecret }}{{ $_ := set $existing . true }}{{ end -}}
{{- $claim := ternary 0 1 (not (empty $b.persistence.existingClaim)) -}}
{{- $parts = append $parts (dict "part" "backup" "pods" $jobs "pod" (include "techshop.quota.pod" (list $b.resources) | fromJson) "secrets" $inline "configmaps" 1 "pvcs" $claim "storage" (mulf $claim (include "common.quantity.bytes" $b.persistence.size | float64))) -}}
{{- if $b.verify.enabled -}}
{{- $bigger := ternary $b.verify.resources $b.resources (ge (include "common.quantity.millicores" $b.verify.resources.limits.cpu | float64) (include "common.quantity.millicores" $b.resources.limits.cpu | float64)) -}}
{{- $parts = append $parts (dict "part" "backup verify" "pods" 1 "pod" (include "techshop.quota.pod" (list $bigger) | fromJson)) -}}
{{- end -}}
{{- end -}}
{{- if $on.monitoring -}}
{{- $mon := $v.monitoring -}}
{{- with $mon.alertmanager.existingSecret }}{{ $_ := set $existing . true }}{{ end -}}
{{- if eq $mon.mode "standalone" -}}
{{- $generated := 1 -}}
{{- with $mon.grafana.admin.existingSecret }}{{ $_ := set $existing . true }}{{ $generated = 0 }}{{ end -}}
{{- $pvc := ternary 1 0 $mon.prometheus.persistence.enabled -}}
{{- $parts = append $parts (dict "part" "prometheus" "pods" 1 "pod" (include "techshop.quota.pod" (list $mon.prometheus.resources) | fromJson) "services" 4 "secrets" $generated "configmaps" 4 "pvcs" $pvc "storage" (mulf $pvc (include "common.quantity.bytes" $mon.prometheus.persistence.size | float64))) -}}
{{- $parts = append $parts (dict "part" "alertmanager" "pods" 2 "pod" (include "techshop.quota.pod" (list $mon.alertmanager.resources) | fromJson)) -}}
{{- $parts = append $parts (dict "part" "grafana" "pods" 2 "pod" (include "techshop.quota.pod" (list $mon.grafana.resources) | fromJson)) -}}
{{- $parts = append $parts (dict "part" "helm test (monitoring)" "pods" 1 "pod" (include "techshop.quota.pod" (list $testPod) | fromJson)) -}}
{{- else -}}
{{- $parts = append $parts (dict "part" "monitoring (operator mode)" "configmaps" 1) -}}
{{- end -}}
{{- end -}}
{{- if $on.tracing -}}
{{- $t := $v.tracing -}}
{{- $collectors := int $t.collector.replicaCount -}}
{{- $parts = append $parts (dict "part" "otel-collector" "pods" (add1 $collectors) "pod" (include "techshop.quota.pod" (list $t.collector.resources) | fromJson) "services" 1 "configmaps" 1) -}}
{{- if $t.jaeger.enabled -}}
{{- $badger := ternary 1 0 (eq $t.jaeger.storage.type "badger") -}}
{{- $parts = append $parts (dict "part" "jaeger" "pods" 1 "pod" (include "techshop.quota.pod" (list $t.jaeger.resources) | fromJson) "services" 1 "configmaps" 1 "pvcs" $badger "storage" (mulf $badger (include "common.quantity.bytes" $t.jaeger.storage.size | float64))) -}}
{{- end -}}
{{- if $t.tests.enabled -}}
{{- $parts = append $parts (dict "part" "helm test (tracing)" "pods" 1 "pod" (include "techshop.quota.pod" (list $testPod) | fromJson)) -}}
{{- end -}}
{{- end -}}
{{- if $on.objectstore -}}
{{- $o := $v.objectstore -}}
{{- $generated := 1 -}}
{{- with (dig "objectstore" "existingSecret" "" ($v.global | default dict)) }}{{ $_ := set $existing . true }}{{ $generated = 0 }}{{ end -}}
{{- $pvc := ternary 1 0 $o.persistence.enabled -}}
{{- $parts = append $parts (dict "part" "objectstore" "pods" 1 "pod" (include "techshop.quota.pod" (list $o.resources) | fromJson) "services" 2 "secrets" $generated "configmaps" 2 "pvcs" $pvc "storage" (mulf $pvc (include "common.quantity.bytes" $o.persistence.size | float64))) -}}
{{- $parts = append $parts (dict "part" "objectstore helper pods" "pods" 2 "pod" (include "techshop.quota.pod" (list $o.bucketJob.resources) | fromJson)) -}}
{{- end -}}
{{- $parts = append $parts (dict "part" "the namespace" "secrets" (add (len $existing) $c.helmHistory) "configmaps" 1) -}}
{{- toJson $parts -}}
{{- end -}}

{{/* Fails when a hard limit of the ResourceQuota is below the demand (rule quota-capacity). */}}
{{- define "techshop.quota.check" -}}
{{- $quota := .Values.resourceQuota -}}
{{- if $quota.enabled -}}
{{- $parts := include "techshop.quota.parts" . | fromJsonArray -}}
{{- $keys := dict "requests.cpu" "rc" "requests.memory" "rm" "limits.cpu" "lc" "limits.memory" "lm" -}}
{{- $fix := (include "common.rules.constants" "quota-capacity" | fromJson).fixes -}}
{{- range $key := list "requests.cpu" "requests.memory" "limits.cpu" "limits.memory" "pods" "services" "secrets" "configmaps" "persistentvolumeclaims" "requests.storage" -}}
{{- if hasKey $quota.hard $key -}}
{{- $hard := index $quota.hard $key -}}
{{- $needed := 0.0 -}}
{{- $biggest := dict "part" "" "amount" 0.0 -}}
{{- range $p := $parts -}}
{{- $amount := 0.0 -}}
{{- if hasKey $keys $key -}}
{{- if $p.pod }}{{ $amount = mulf ($p.pods | default 0) (index $p.pod (index $keys $key)) }}{{ end -}}
{{- else if eq $key "pods" -}}{{- $amount = $p.pods | default 0 | float64 -}}
{{- else if eq $key "persistentvolumeclaims" -}}{{- $amount = $p.pvcs | default 0 | float64 -}}
{{- else if eq $key "requests.storage" -}}{{- $amount = $p.storage | default 0 | float64 -}}
{{- else -}}{{- $amount = index $p $key | default 0 | float64 -}}
{{- end -}}
{{- $needed = addf $needed $amount -}}
{{- if gt $amount $biggest.amount }}{{ $biggest = dict "part" $p.part "amount" $amount }}{{ end -}}
{{- end -}}
{{- $kind := ternary "cpu" (ternary "memory" "count" (or (hasSuffix "memory" $key) (eq $key "requests.storage"))) (hasSuffix "cpu" $key) -}}
{{- $allowed := 0.0 -}}
{{- if eq $kind "cpu" }}{{ $allowed = include "common.quantity.millicores" $hard | float64 }}{{ else if eq $kind "memory" }}{{ $allowed = include "common.quantity.bytes" $hard | float64 }}{{ else }}{{ $allowed = $hard | float64 }}{{ end -}}
{{- if gt $needed $allowed -}}
{{- $format := printf "techshop.quota.format.%s" $kind -}}
{{- include "common.rules.fail" (dict "rule" "quota-capacity" "args" (dict "key" $key "hard" $hard "needed" (include $format $needed) "fix" (index $fix $key) "biggest" (printf "%s: %s" $biggest.part (include $format $biggest.amount)) "rest" "")) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "techshop.quota.format.count" -}}{{ int64 . }}{{- end -}}
{{- define "techshop.quota.format.cpu" -}}
{{- $m := int64 (round . 0) -}}
{{- if eq (mod $m 1000) 0 }}{{ div $m 1000 }}{{ else }}{{ $m }}m{{ end -}}
{{- end -}}
{{- define "techshop.quota.format.memory" -}}
{{- $b := int64 (round . 0) -}}
{{- $done := false -}}
{{- range $unit := list (list "Ti" 1099511627776) (list "Gi" 1073741824) (list "Mi" 1048576) (list "Ki" 1024) -}}
{{- $f := int64 (last $unit) -}}
{{- if and (not $done) (ge $b $f) (eq (mod $b $f) 0) }}{{ div $b $f }}{{ first $unit }}{{ $done = true }}{{ end -}}
{{- end -}}
{{- if not $done }}{{ if ge $b 1048576 }}{{ printf "%.1fMi" (divf $b 1048576) }}{{ else }}{{ $b }}{{ end }}{{ end -}}
{{- end -}}
