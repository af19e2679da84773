{{/*
The tracing chart (charts/tracing) seen from monitoring: the collector's
scrape job, the NetworkPolicy egress for it and for Grafana's Jaeger data
source, the data source, and the alerts on spans the collector loses. All off
unless targets.tracing.enabled (the validator checks it matches tracing.enabled).
The metric names are the collector's own (test/telemetry-programs.test.ts reads
them from a running collector).
*/}}
{{- define "monitoring.job.otelCollector" -}}otel-collector{{- end -}}

{{- define "monitoring.tracing.scrapeJob" -}}
{{- if .Values.targets.tracing.enabled }}
# The OpenTelemetry Collector pods (container port named metrics).
- job_name: {{ include "monitoring.job.otelCollector" . }}
  kubernetes_sd_configs:
    - role: pod
      namespaces:
        names:
          - {{ .Release.Namespace }}
  relabel_configs:
    - source_labels:
        - __meta_kubernetes_pod_label_app_kubernetes_io_instance
        - __meta_kubernetes_pod_label_app_kubernetes_io_component
        - __meta_kubernetes_pod_container_port_name
      regex: {{ printf "%s;otel-collector;metrics" .Release.Name | quote }}
      action: keep
    {{- include "monitoring.podTargetLabels" . | nindent 4 }}
{{- end }}
{{- end -}}

{{- define "monitoring.tracing.prometheusEgress" -}}
{{- if .Values.targets.tracing.enabled }}
- to:
    {{- include "monitoring.peer" (dict "component" "otel-collector" "context" .) | nindent 4 }}
  ports:
    - protocol: TCP
      port: 8888
{{- end }}
{{- end -}}

{{- define "monitoring.tracing.grafanaEgress" -}}
{{- if .Values.targets.tracing.jaeger }}
- to:
    {{- include "monitoring.peer" (dict "component" "jaeger" "context" .) | nindent 4 }}
  ports:
    - protocol: TCP
      port: 16686
{{- end }}
{{- end -}}

{{- define "monitoring.tracing.datasource" -}}
{{- if .Values.targets.tracing.jaeger }}
- name: Jaeger
  uid: jaeger
  type: jaeger
  access: proxy
  url: {{ printf "http://%s:16686" (include "common.names.fullname" (dict "component" "jaeger" "context" .)) }}
  editable: false
{{- end }}
{{- end -}}

{{- define "monitoring.tracing.rules" -}}
{{- if .Values.targets.tracing.enabled }}
{{- $sel := printf "job=%q,namespace=%q" (include "monitoring.job.otelCollector" .) .Release.Namespace -}}
{{- $runbook := .Values.alerts.runbookBaseUrl }}
- name: techshop-tracing
  rules:
    - alert: TechShopTracingSpansDropped
      expr: |-
        sum by (namespace, exporter) (rate(otelcol_exporter_send_failed_spans_total{ {{- $sel -}} }[5m])) > 0
      for: 10m
      labels:
        severity: warning
      annotations:
        summary: The trace collector cannot deliver spans
        description: {{ printf "Exporter %s of the OpenTelemetry Collector fails to send spans (%s/s): traces are lost." "{{ $labels.exporter }}" "{{ $value | humanize }}" | quote }}
        runbook_url: {{ printf "%s#techshoptracingspansdropped" $runbook }}
    - alert: TechShopTracingSpansRefused
      expr: |-
        sum by (namespace, receiver) (rate(otelcol_receiver_refused_spans_total{ {{- $sel -}} }[5m])) > 0
      for: 10m
      labels:
        severity: warning
      annotations:
        summary: The trace collector refuses spans
        description: {{ printf "Receiver %s of the OpenTelemetry Collector refuses spans (%s/s), usually at its memory limit: traces are lost." "{{ $labels.receiver }}" "{{ $value | humanize }}" | quote }}
        runbook_url: {{ printf "%s#techshoptracingspansrefused" $runbook }}
{{- end }}
{{- end -}}
