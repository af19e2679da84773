{{/* Shorthands for this chart's components; the logic lives in charts/common. */}}
{{- define "tracing.fullname" -}}
{{- include "common.names.fullname" (dict "component" .component "context" .context) -}}
{{- end -}}

{{- define "tracing.labels" -}}
{{- include "common.labels.standard" (dict "component" .component "context" .context) -}}
{{- end -}}

{{- define "tracing.selectorLabels" -}}
{{- include "common.labels.selector" (dict "component" .component "context" .context) -}}
{{- end -}}

{{/* Ports, named once: OTLP in (gRPC, HTTP), the programs' own metrics and health. */}}
{{- define "tracing.port.otlpGrpc" -}}4317{{- end -}}
{{- define "tracing.port.otlpHttp" -}}4318{{- end -}}
{{- define "tracing.port.metrics" -}}8888{{- end -}}
{{- define "tracing.port.health" -}}13133{{- end -}}
{{- define "tracing.port.query" -}}16686{{- end -}}

{{/* A peer selector for one of this release's components. */}}
{{- define "tracing.peer" -}}
- podSelector:
    matchLabels:
      {{- include "common.labels.componentSelector" (dict "component" .component "context" .context) | nindent 6 }}
{{- end -}}

{{/* A peer from values {namespaceSelector, podSelector}; an empty namespaceSelector means this namespace. */}}
{{- define "tracing.valuesPeer" -}}
- podSelector:
    matchLabels:
      {{- toYaml .podSelector | nindent 6 }}
  {{- with .namespaceSelector }}
  namespaceSelector:
    matchLabels:
      {{- toYaml . | nindent 6 }}
  {{- end }}
{{- end -}}

{{/*
Probes on the health_check extension's port: ready once the pipelines run
(HTTP 200 on /), alive while the process holds its port, so a slow backend
never restarts the pod.
*/}}
{{- define "tracing.probes" -}}
livenessProbe:
  tcpSocket:
    port: health
  initialDelaySeconds: 10
  periodSeconds: 15
  timeoutSeconds: 3
  failureThreshold: 3
readinessProbe:
  httpGet:
    path: /
    port: health
  initialDelaySeconds: 5
  periodSeconds: 10
  timeoutSeconds: 3
  failureThreshold: 3
{{- end -}}

{{/*
The programs' own telemetry: logs to stderr, metrics in Prometheus format on
the pod IP (the collector's otelcol_* names that the alerts use).
*/}}
{{- define "tracing.selfTelemetry" -}}
telemetry:
  logs:
    level: info
    encoding: json
  metrics:
    level: normal
    readers:
      - pull:
          exporter:
            prometheus:
              host: ${env:POD_IP}
              port: {{ include "tracing.port.metrics" . }}
{{- end -}}

{{/* The legacy health endpoint (GET / → 200 once the pipelines run). */}}
{{- define "tracing.healthExtension" -}}
healthcheckv2:
  use_v2: false
  endpoint: ${env:POD_IP}:{{ include "tracing.port.health" . }}
{{- end -}}

{{/* POD_IP from the downward API: every listener binds the pod's address, not 0.0.0.0. */}}
{{- define "tracing.podIpEnv" -}}
- name: POD_IP
  valueFrom:
    fieldRef:
      fieldPath: status.podIP
{{- end -}}

{{/* Egress to the cluster DNS. */}}
{{- define "tracing.dnsEgress" -}}
{{- $dns := .Values.networkPolicy.dns -}}
- to:
    - namespaceSelector:
        matchLabels:
          {{- toYaml $dns.namespaceSelector | nindent 10 }}
      podSelector:
        matchLabels:
          {{- toYaml $dns.podSelector | nindent 10 }}
  ports:
    - protocol: UDP
      port: 53
    - protocol: TCP
      port: 53
{{- end -}}
