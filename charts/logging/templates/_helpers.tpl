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
{{- fail (printf "namespace.checkPodSecurity: namespace %s enforces Pod Security %q, but the log agent mounts the node's /var/log/pods (hostPath) as uid 0, which only \"privileged\" admits. Label it: kubectl label namespace %s pod-security.kubernetes.io/enforce=privileged pod-security.kubernetes.io/warn=restricted pod-security.kubernetes.io/audit=restricted --overwrite" .Release.Namespace ($level | default "(unset: the cluster default)") .Release.Namespace) }}
{{- end }}
{{- end }}
{{- end }}
{{- end -}}
