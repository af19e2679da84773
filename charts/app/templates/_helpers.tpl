{{/* Shorthands for this chart's component; the logic lives in charts/common. */}}
{{- define "app.fullname" -}}
{{- include "common.names.fullname" (dict "component" "app" "context" .) -}}
{{- end -}}

{{- define "app.labels" -}}
{{- include "common.labels.standard" (dict "component" "app" "context" .) -}}
{{- end -}}

{{- define "app.selectorLabels" -}}
{{- include "common.labels.selector" (dict "component" "app" "context" .) -}}
{{- end -}}

{{/* Secret holding jwt-secret: the user's existingSecret or the chart's own. */}}
{{- define "app.authSecretName" -}}
{{- include "common.secrets.name" (dict "existingSecret" .Values.auth.existingSecret "component" "app" "context" .) -}}
{{- end -}}

{{/* Secret with the MongoDB URI / Redis URL: a user's Secret, else the owning chart's. */}}
{{- define "app.connectionSecretName" -}}
{{- include "common.secrets.name" (dict "existingSecret" .connection.existingSecret "component" .component "context" .context) -}}
{{- end -}}

{{/* Replicas the Deployment may run at once; the PDB is rendered only above its minAvailable. */}}
{{- define "app.minReplicas" -}}
{{- if .Values.autoscaling.enabled -}}{{ .Values.autoscaling.minReplicas }}{{- else -}}{{ .Values.replicaCount }}{{- end -}}
{{- end -}}
