{{/*
Every object is named <release>-<component> (truncated to 63 characters), so a
chart can find another chart's Service or Secret by component name alone.
Usage: {{ include "common.names.fullname" (dict "component" "app" "context" $) }}
*/}}
{{- define "common.names.fullname" -}}
{{- printf "%s-%s" .context.Release.Name .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The chart label value: <name>-<version>, "+" replaced as Kubernetes labels require. */}}
{{- define "common.names.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Namespace of the release. */}}
{{- define "common.names.namespace" -}}
{{- .Release.Namespace -}}
{{- end -}}
