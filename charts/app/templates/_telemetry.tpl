{{/*
Telemetry of the app: OpenTelemetry SDK settings as the standard OTEL_*
variables, and the log level and format. Without tracing.endpoint the app
sends to this release's collector (charts/tracing), whose Service is found by
component name.
*/}}
{{- define "app.tracingEndpoint" -}}
{{- $t := .Values.tracing -}}
{{- if $t.endpoint -}}
{{- tpl $t.endpoint . -}}
{{- else -}}
{{- printf "http://%s:%d" (include "common.names.fullname" (dict "component" "otel-collector" "context" .)) (include "app.collectorPort" . | int) -}}
{{- end -}}
{{- end -}}

{{/* The collector's OTLP port for the chosen protocol (gRPC 4317, HTTP 4318). */}}
{{- define "app.collectorPort" -}}
{{- if eq .Values.tracing.protocol "grpc" -}}4317{{- else -}}4318{{- end -}}
{{- end -}}

{{- define "app.telemetryEnv" -}}
{{- $t := .Values.tracing -}}
- name: LOG_LEVEL
  value: {{ .Values.logging.level | quote }}
- name: LOG_FORMAT
  value: {{ .Values.logging.format | quote }}
{{- if $t.enabled }}
- name: K8S_POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: K8S_NAMESPACE_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
- name: OTEL_SERVICE_NAME
  value: {{ $t.serviceName | quote }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ include "app.tracingEndpoint" . | quote }}
- name: OTEL_EXPORTER_OTLP_PROTOCOL
  value: {{ $t.protocol | quote }}
- name: OTEL_TRACES_EXPORTER
  value: otlp
- name: OTEL_TRACES_SAMPLER
  value: {{ $t.sampler | quote }}
{{- if hasSuffix "traceidratio" $t.sampler }}
- name: OTEL_TRACES_SAMPLER_ARG
  value: {{ $t.samplerRatio | toString | quote }}
{{- end }}
{{- $attrs := list (printf "service.version=%s" (.Values.image.tag | default .Chart.AppVersion)) }}
{{- with (.Values.global).environment }}
{{- $attrs = append $attrs (printf "deployment.environment=%s" .) }}
{{- end }}
{{- $attrs = concat $attrs (list "k8s.pod.name=$(K8S_POD_NAME)" "k8s.namespace.name=$(K8S_NAMESPACE_NAME)") }}
{{- range $k, $v := $t.resourceAttributes }}
{{- $attrs = append $attrs (printf "%s=%s" $k (toString $v)) }}
{{- end }}
- name: OTEL_RESOURCE_ATTRIBUTES
  value: {{ join "," $attrs | quote }}
{{- end }}
{{- end -}}

{{/* NetworkPolicy egress rule to this release's collector (only when the app traces to it). */}}
{{- define "app.tracingEgress" -}}
{{- if and .Values.tracing.enabled (not .Values.tracing.endpoint) }}
# The release's OpenTelemetry Collector (traces): both OTLP ports, exactly what the collector's flows
# admit from the app (charts/tracing/templates/_flows.tpl); the probe matrix on the real node found
# app -> collector:4317 admitted by the flow table and refused by this rule when it named one port.
- to:
    - podSelector:
        matchLabels:
          {{- include "common.labels.componentSelector" (dict "component" "otel-collector" "context" .) | nindent 10 }}
  ports:
    - protocol: TCP
      port: 4317
    - protocol: TCP
      port: 4318
{{- end }}
{{- end -}}
