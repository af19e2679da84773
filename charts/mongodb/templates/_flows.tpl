{{/*
Who may connect to MongoDB: the one description both the NetworkPolicy and the
AuthorizationPolicy are generated from (charts/common/templates/_flows.tpl).
*/}}
{{- define "mongodb.flows" -}}
- component: mongodb
  selector:
    {{- include "mongodb.selectorLabels" . | nindent 4 }}
  ingress:
    # 27017: the app, the backup job, the other members, and helm test pods of this release.
    - ports: [27017]
      from:
        {{- range list "app" "backup" "mongodb" "mongodb-test" }}
        - component: {{ . }}
        {{- end }}
    {{- if .Values.metrics.enabled }}
    # the exporter: Prometheus only.
    - ports: [{{ .Values.metrics.port }}]
      from:
        - {{ include "common.flows.valuesPeer" (dict "peer" .Values.networkPolicy.prometheus "values" "mongodb.networkPolicy.prometheus") }}
    {{- end }}
{{- end -}}
