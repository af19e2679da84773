{{/*
The alert rules: ONE definition, rendered into the standalone Prometheus's
rule file (prometheus-configmap.yaml) and into the PrometheusRule
(prometheusrule.yaml), so the two cannot drift. Every alert has a summary, a
description, a severity and a runbook_url into this chart's README.

Series are scoped to the release: its namespace, and job names / object
names derived from the release name.
*/}}
{{- define "monitoring.rules.groups" -}}
{{- $ns := .Release.Namespace -}}
{{- $a := .Values.alerts -}}
{{- $runbook := $a.runbookBaseUrl -}}
{{- $app := printf "job=%q,namespace=%q" (include "monitoring.job.app" .) $ns -}}
{{- $mongo := printf "job=%q,namespace=%q" (include "monitoring.job.mongodb" .) $ns -}}
{{- $redis := printf "job=%q,namespace=%q" (include "monitoring.job.redis" .) $ns -}}
{{- $appName := include "common.names.fullname" (dict "component" "app" "context" .) -}}
{{- $backup := include "common.names.fullname" (dict "component" "backup" "context" .) -}}
{{- $maxAge := mul (int $a.backup.maxAgeHours) 3600 -}}
{{- if .Values.targets.app.enabled }}
- name: techshop-app
  rules:
    - alert: TechShopAppDown
      expr: |-
        (sum by (namespace) (up{ {{- $app -}} }) == 0)
        or absent(up{ {{- $app -}} })
      for: 2m
      labels:
        severity: critical
      annotations:
        summary: TechShop app is down
        description: {{ printf "No app pod in namespace %s answers Prometheus scrapes on %s." $ns .Values.targets.app.path | quote }}
        runbook_url: {{ printf "%s#techshopappdown" $runbook }}
    - alert: TechShopHighErrorRate
      expr: |-
        sum by (namespace) (rate(http_requests_total{ {{- $app -}} ,status=~"5.."}[5m]))
        / sum by (namespace) (rate(http_requests_total{ {{- $app -}} }[5m]))
        > {{ $a.app.errorRatio }}
      for: 5m
      labels:
        severity: critical
      annotations:
        summary: TechShop app answers too many requests with 5xx
        description: {{ printf "%s of the app's requests failed with 5xx over the last 5 minutes (threshold %v)." "{{ $value | humanizePercentage }}" $a.app.errorRatio | quote }}
        runbook_url: {{ printf "%s#techshophigherrorrate" $runbook }}
    - alert: TechShopHighLatency
      expr: |-
        histogram_quantile(0.95, sum by (namespace, le) (rate(http_request_duration_seconds_bucket{ {{- $app -}} }[5m])))
        > {{ $a.app.latencyP95Seconds }}
      for: 10m
      labels:
        severity: warning
      annotations:
        summary: TechShop app p95 latency is high
        description: {{ printf "The app's 95th percentile response time is %s (threshold %vs)." "{{ $value | humanizeDuration }}" $a.app.latencyP95Seconds | quote }}
        runbook_url: {{ printf "%s#techshophighlatency" $runbook }}
{{- if include "monitoring.hasKubeStateMetrics" . }}
    - alert: TechShopAppNotReady
      expr: |-
        kube_deployment_status_replicas_available{namespace={{ $ns | quote }},deployment={{ $appName | quote }}}
        < on (namespace, deployment) kube_deployment_spec_replicas{namespace={{ $ns | quote }},deployment={{ $appName | quote }}}
      for: 10m
      labels:
        severity: warning
      annotations:
        summary: TechShop app has pods that are not ready
        description: {{ printf "Deployment %s has had fewer available replicas than desired for 10 minutes." $appName | quote }}
        runbook_url: {{ printf "%s#techshopappnotready" $runbook }}
    - alert: TechShopHPAAtMax
      expr: |-
        kube_horizontalpodautoscaler_status_current_replicas{namespace={{ $ns | quote }},horizontalpodautoscaler={{ $appName | quote }}}
        >= on (namespace, horizontalpodautoscaler) kube_horizontalpodautoscaler_spec_max_replicas{namespace={{ $ns | quote }},horizontalpodautoscaler={{ $appName | quote }}}
      for: 15m
      labels:
        severity: warning
      annotations:
        summary: TechShop app autoscaler is at its maximum
        description: {{ printf "HPA %s has run at maxReplicas for 15 minutes: it cannot absorb more load." $appName | quote }}
        runbook_url: {{ printf "%s#techshophpaatmax" $runbook }}
    - alert: TechShopPodRestarting
      expr: |-
        increase(kube_pod_container_status_restarts_total{namespace={{ $ns | quote }},pod=~{{ printf "%s-.*" .Release.Name | quote }}}[1h])
        > {{ $a.app.restartsPerHour }}
      for: 5m
      labels:
        severity: warning
      annotations:
        summary: A TechShop container keeps restarting
        description: {{ printf "Container %s of pod %s restarted %s times in the last hour (threshold %v)." "{{ $labels.container }}" "{{ $labels.pod }}" "{{ $value | humanize }}" $a.app.restartsPerHour | quote }}
        runbook_url: {{ printf "%s#techshoppodrestarting" $runbook }}
{{- end }}
{{- end }}
{{- if .Values.targets.mongodb.enabled }}
- name: techshop-mongodb
  rules:
    - alert: TechShopMongoDBDown
      expr: |-
        (max by (namespace, pod) (up{ {{- $mongo -}} }) == 0)
        or (max by (namespace, pod) (mongodb_up{ {{- $mongo -}} }) == 0)
        or absent(up{ {{- $mongo -}} })
      for: 2m
      labels:
        severity: critical
      annotations:
        summary: MongoDB is down
        description: {{ printf "MongoDB pod %s (or its exporter) does not answer; no MongoDB target at all when the pod label is empty." "{{ $labels.pod }}" | quote }}
        runbook_url: {{ printf "%s#techshopmongodbdown" $runbook }}
    - alert: TechShopMongoDBReplicaMemberUnhealthy
      expr: |-
        (max by (namespace, member_idx) (mongodb_rs_members_health{ {{- $mongo -}} }) == 0)
        or (max by (namespace, member_idx) (label_replace(mongodb_mongod_replset_member_health{ {{- $mongo -}} }, "member_idx", "$1", "name", "(.+)")) == 0)
      for: 2m
      labels:
        severity: critical
      annotations:
        summary: A MongoDB replica set member is unhealthy
        description: {{ printf "Replica set member %s reports health 0." "{{ $labels.member_idx }}" | quote }}
        runbook_url: {{ printf "%s#techshopmongodbreplicamemberunhealthy" $runbook }}
    - alert: TechShopMongoDBConnectionsNearLimit
      expr: |-
        (
          (
            max by (namespace, pod) (mongodb_ss_connections{ {{- $mongo -}} ,conn_type="current"})
            / (max by (namespace, pod) (mongodb_ss_connections{ {{- $mongo -}} ,conn_type="current"}) + max by (namespace, pod) (mongodb_ss_connections{ {{- $mongo -}} ,conn_type="available"}))
          )
          or
          (
            max by (namespace, pod) (mongodb_connections{ {{- $mongo -}} ,state="current"})
            / (max by (namespace, pod) (mongodb_connections{ {{- $mongo -}} ,state="current"}) + max by (namespace, pod) (mongodb_connections{ {{- $mongo -}} ,state="available"}))
          )
        )
        > {{ $a.mongodb.connectionsRatio }}
      for: 5m
      labels:
        severity: warning
      annotations:
        summary: MongoDB is running out of connections
        description: {{ printf "MongoDB pod %s uses %s of its connection limit (threshold %v)." "{{ $labels.pod }}" "{{ $value | humanizePercentage }}" $a.mongodb.connectionsRatio | quote }}
        runbook_url: {{ printf "%s#techshopmongodbconnectionsnearlimit" $runbook }}
{{- end }}
{{- if .Values.targets.redis.enabled }}
- name: techshop-redis
  rules:
    - alert: TechShopRedisDown
      expr: |-
        (max by (namespace, pod) (up{ {{- $redis -}} }) == 0)
        or (max by (namespace, pod) (redis_up{ {{- $redis -}} }) == 0)
        or absent(up{ {{- $redis -}} })
      for: 2m
      labels:
        severity: critical
      annotations:
        summary: Redis is down
        description: {{ printf "Redis pod %s (or its exporter) does not answer; no Redis target at all when the pod label is empty." "{{ $labels.pod }}" | quote }}
        runbook_url: {{ printf "%s#techshopredisdown" $runbook }}
    - alert: TechShopRedisMemoryNearLimit
      expr: |-
        max by (namespace, pod) (redis_memory_used_bytes{ {{- $redis -}} })
        / max by (namespace, pod) (redis_memory_max_bytes{ {{- $redis -}} } > 0)
        > {{ $a.redis.memoryRatio }}
      for: 5m
      labels:
        severity: warning
      annotations:
        summary: Redis memory is close to maxmemory
        description: {{ printf "Redis pod %s uses %s of maxmemory (threshold %v); keys will be evicted or writes refused." "{{ $labels.pod }}" "{{ $value | humanizePercentage }}" $a.redis.memoryRatio | quote }}
        runbook_url: {{ printf "%s#techshopredismemorynearlimit" $runbook }}
    - alert: TechShopRedisClusterStateNotOk
      expr: |-
        max by (namespace, pod) (redis_cluster_state{ {{- $redis -}} }) == 0
      for: 2m
      labels:
        severity: critical
      annotations:
        summary: Redis cluster state is not ok
        description: {{ printf "Redis node %s reports cluster_state other than ok: some hash slots are not served." "{{ $labels.pod }}" | quote }}
        runbook_url: {{ printf "%s#techshopredisclusterstatenotok" $runbook }}
{{- end }}
{{- if include "monitoring.hasKubeStateMetrics" . }}
- name: techshop-backup
  rules:
    - alert: TechShopBackupNotSuccessful
      expr: |-
        (time() - max by (namespace, cronjob) (kube_cronjob_status_last_successful_time{namespace={{ $ns | quote }},cronjob={{ $backup | quote }}}) > {{ $maxAge }})
        or
        (
          (time() - max by (namespace, cronjob) (kube_cronjob_created{namespace={{ $ns | quote }},cronjob={{ $backup | quote }}}) > {{ $maxAge }})
          unless on (namespace, cronjob) kube_cronjob_status_last_successful_time{namespace={{ $ns | quote }},cronjob={{ $backup | quote }}}
        )
      for: 5m
      labels:
        severity: critical
      annotations:
        summary: No successful MongoDB backup
        description: {{ printf "CronJob %s has not completed a backup in the last %v hours." $backup $a.backup.maxAgeHours | quote }}
        runbook_url: {{ printf "%s#techshopbackupnotsuccessful" $runbook }}
    - alert: TechShopBackupVerificationFailed
      expr: |-
        max by (namespace, job_name) (kube_job_status_failed{namespace={{ $ns | quote }}} > 0)
        * on (namespace, job_name) group_left (owner_name) max by (namespace, job_name, owner_name) (kube_job_owner{namespace={{ $ns | quote }},owner_kind="CronJob",owner_name={{ printf "%s-verify" $backup | quote }}})
        and on (namespace, job_name) (time() - kube_job_created{namespace={{ $ns | quote }}} < {{ $maxAge }})
      labels:
        severity: critical
      annotations:
        summary: Backup verification failed
        description: {{ printf "Job %s of CronJob %s-verify failed: the latest backup may not be restorable." "{{ $labels.job_name }}" $backup | quote }}
        runbook_url: {{ printf "%s#techshopbackupverificationfailed" $runbook }}
{{- end }}
{{- if include "monitoring.hasKubelet" . }}
- name: techshop-storage
  rules:
    - alert: TechShopPersistentVolumeFillingUp
      expr: |-
        max by (namespace, persistentvolumeclaim) (kubelet_volume_stats_used_bytes{namespace={{ $ns | quote }}})
        / max by (namespace, persistentvolumeclaim) (kubelet_volume_stats_capacity_bytes{namespace={{ $ns | quote }}})
        > {{ $a.pvc.usageRatio }}
      for: 15m
      labels:
        severity: warning
      annotations:
        summary: A persistent volume is nearly full
        description: {{ printf "PVC %s is %s full (threshold %v)." "{{ $labels.persistentvolumeclaim }}" "{{ $value | humanizePercentage }}" $a.pvc.usageRatio | quote }}
        runbook_url: {{ printf "%s#techshoppersistentvolumefillingup" $runbook }}
{{- end }}
{{- include "monitoring.tracing.rules" . }}
{{- end -}}
