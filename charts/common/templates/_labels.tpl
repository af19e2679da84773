{{/*
Standard labels. Usage:
  {{ include "common.labels.standard" (dict "component" "app" "context" $) }}
*/}}
{{- define "common.labels.standard" -}}
{{ include "common.labels.selector" . }}
app.kubernetes.io/part-of: techshop
app.kubernetes.io/version: {{ .context.Chart.AppVersion | default .context.Chart.Version | quote }}
app.kubernetes.io/managed-by: {{ .context.Release.Service }}
helm.sh/chart: {{ include "common.names.chart" .context }}
{{- end -}}

{{/*
The immutable subset used in selectors: never add to it, a Deployment or
StatefulSet selector cannot change after creation.
*/}}
{{- define "common.labels.selector" -}}
app.kubernetes.io/name: {{ .context.Chart.Name }}
app.kubernetes.io/instance: {{ .context.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/*
Selects the pods of another component of the same release, across charts
(e.g. the app's NetworkPolicy selecting MongoDB pods).
*/}}
{{- define "common.labels.componentSelector" -}}
app.kubernetes.io/instance: {{ .context.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}
