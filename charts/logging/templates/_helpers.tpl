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
