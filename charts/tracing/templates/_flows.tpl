{{/*
Who may connect to the collector and Jaeger: the one description both the
NetworkPolicies and the AuthorizationPolicies are generated from
(charts/common/templates/_flows.tpl).
*/}}
{{- define "tracing.flows" -}}
{{- $np := .Values.networkPolicy -}}
- component: otel-collector
  selector:
    {{- include "tracing.selectorLabels" (dict "component" "otel-collector" "context" .) | nindent 4 }}
  ingress:
    # OTLP from the app; the collector's own metrics from Prometheus.
    - ports: [{{ include "tracing.port.otlpGrpc" . }}, {{ include "tracing.port.otlpHttp" . }}]
      from:
        - component: app
    {{- if .Values.tests.enabled }}
    # OTLP/HTTP from the helm test pod.
    - ports: [{{ include "tracing.port.otlpHttp" . }}]
      from:
        - component: tracing-test
    {{- end }}
    - ports: [{{ include "tracing.port.metrics" . }}]
      from:
        - {{ include "common.flows.valuesPeer" (dict "peer" $np.prometheus "values" "tracing.networkPolicy.prometheus") }}
{{- if .Values.jaeger.enabled }}
- component: jaeger
  selector:
    {{- include "tracing.selectorLabels" (dict "component" "jaeger" "context" .) | nindent 4 }}
  ingress:
    # OTLP from the collector, the query API from Grafana. Not its metrics: the monitoring chart scrapes
    # only the collector (monitoring.tracing.scrapeJob) and Prometheus' egress has no rule to Jaeger; the
    # real node's probe matrix found this flow admitted here and refused there.
    - ports: [{{ include "tracing.port.otlpGrpc" . }}]
      from:
        - component: otel-collector
    - ports: [{{ include "tracing.port.query" . }}]
      from:
        - {{ include "common.flows.valuesPeer" (dict "peer" $np.grafana "values" "tracing.networkPolicy.grafana") }}
        {{- if .Values.tests.enabled }}
        - component: tracing-test
        {{- end }}
{{- end }}
{{- end -}}
