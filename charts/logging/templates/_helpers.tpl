{{- define "logging.fullname" -}}
{{- include "common.names.fullname" (dict "component" "log-agent" "context" .) -}}
{{- end -}}

{{- define "logging.labels" -}}
{{- include "common.labels.standard" (dict "component" "log-agent" "context" .) -}}
{{- end -}}

{{- define "logging.selectorLabels" -}}
{{- include "common.labels.selector" (dict "component" "log-agent" "context" .) -}}
{{- end -}}

{{- define "logging.healthPort" -}}13133{{- end -}}

{{- define "logging.retentionName" -}}
{{- include "common.names.fullname" (dict "component" "log-retention" "context" .) -}}
{{- end -}}

{{/*
The Pod Security level the agent needs its namespace to enforce. The DaemonSet
declares it (annotation techshop.io/namespace-pod-security, which the lint
stage's Pod Security check honours) and an install refuses a namespace that
enforces anything stricter, before any pod is refused.
*/}}
{{- define "logging.namespaceLevel" -}}privileged{{- end -}}

{{- define "logging.checkNamespace" -}}
{{- if .Values.namespace.checkPodSecurity }}
{{- $ns := lookup "v1" "Namespace" "" .Release.Namespace }}
{{- if $ns }}
{{- $level := get ($ns.metadata.labels | default dict) "pod-security.kubernetes.io/enforce" }}
{{- if ne $level (include "logging.namespaceLevel" .) }}
{{- include "common.rules.fail" (dict "rule" "namespace-pod-security" "args" (dict "path" "namespace.checkPodSecurity" "namespace" .Release.Namespace "level" (quote ($level | default "(unset: the cluster default)")))) }}
{{- end }}
{{- end }}
{{- end }}
{{- end -}}
