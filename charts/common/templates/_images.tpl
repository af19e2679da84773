{{/*
Image reference from {registry, repository, tag, digest}; a digest wins over the
tag, global.imageRegistry over the image's own registry.
Usage: {{ include "common.images.image" (dict "image" .Values.image "context" $) }}
*/}}
{{- define "common.images.image" -}}
{{- $global := .context.Values.global | default dict -}}
{{- $registry := $global.imageRegistry | default .image.registry -}}
{{- $repository := required "image.repository is required" .image.repository -}}
{{- $name := ternary (printf "%s/%s" $registry $repository) $repository (ne ($registry | toString) "") -}}
{{- if .image.digest -}}
{{- printf "%s@%s" $name .image.digest -}}
{{- else -}}
{{- printf "%s:%s" $name (required "image.tag or image.digest is required" (.image.tag | toString)) -}}
{{- end -}}
{{- end -}}

{{/* imagePullSecrets from global.imagePullSecrets (a list of names). */}}
{{- define "common.images.pullSecrets" -}}
{{- $global := .context.Values.global | default dict -}}
{{- with $global.imagePullSecrets }}
imagePullSecrets:
{{- range . }}
  - name: {{ . }}
{{- end }}
{{- end }}
{{- end -}}
