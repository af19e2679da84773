{{/*
Checksum of another template of the same chart, for pod annotations, so a
changed ConfigMap or Secret rolls the pods.
Usage: checksum/secret: {{ include "common.checksums.template" (dict "path" "/secret.yaml" "context" $) }}
*/}}
{{- define "common.checksums.template" -}}
{{- include (print .context.Template.BasePath .path) .context | sha256sum -}}
{{- end -}}
