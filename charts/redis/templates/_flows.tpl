{{/*
Who may connect to Redis: the one description both the NetworkPolicy and the
AuthorizationPolicy are generated from (charts/common/templates/_flows.tpl).
The bootstrap and helm test pods admit nothing.
*/}}
{{- define "redis.flows" -}}
{{- $np := .Values.networkPolicy -}}
{{- $cluster := include "redis.isCluster" . -}}
- component: redis
  selector:
    {{- include "redis.selectorLabels" . | nindent 4 }}
  ingress:
    # 6379: the app, this chart's bootstrap and helm test pods, the backup
    # chart when allowed, and (cluster) the other members for replication.
    - ports: [6379]
      from:
        {{- $clients := list "app" "redis-test" }}
        {{- if $cluster }}{{- $clients = append $clients "redis-bootstrap" }}{{- end }}
        {{- if $np.allowBackup }}{{- $clients = append $clients "backup" }}{{- end }}
        {{- range $clients }}
        - component: {{ . }}
        {{- end }}
        {{- if $cluster }}
        - component: redis
          podSelector:
            {{- include "redis.selectorLabels" . | nindent 12 }}
        {{- end }}
    {{- if $cluster }}
    # 16379: the cluster bus, between members only.
    - ports: [16379]
      from:
        - component: redis
          podSelector:
            {{- include "redis.selectorLabels" . | nindent 12 }}
    {{- end }}
    {{- if .Values.metrics.enabled }}
    # 9121: Prometheus only.
    - ports: [9121]
      from:
        - {{ include "common.flows.valuesPeer" (dict "peer" $np.prometheus "values" "redis.networkPolicy.prometheus") }}
    {{- end }}
{{- end -}}
