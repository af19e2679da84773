{{/*
Image reference from {registry, repository, tag, digest}; a digest wins over the
tag, global.imageRegistry over the image's own registry. In prod every image
must be pinned (rule image-pinned, common.images.checkPinned).
Usage: {{ include "common.images.image" (dict "image" .Values.image "context" $) }}
*/}}
{{- define "common.images.image" -}}
{{- $global := .context.Values.global | default dict -}}
{{- if eq (toString ($global.environment | default "")) "prod" -}}
{{- include "common.images.checkPinned" .image -}}
{{- end -}}
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

{{/*
common.images.checkPinned: fails (rule image-pinned) unless the image has a
digest or a full-version tag, by the patterns of the rule table (the one
definition isPinned in scripts/lib/images.ts and the validator read).
*/}}
{{- define "common.images.checkPinned" -}}
{{- $c := include "common.rules.constants" "image-pinned" | fromJson -}}
{{- $name := join "/" (compact (list (toString (.registry | default "")) (toString (.repository | default "")))) -}}
{{- if .digest -}}
{{- if not (regexMatch (printf "(%s)" (join ")|(" $c.digestPattern)) (toString .digest)) -}}
{{- include "common.rules.fail" (dict "rule" "image-pinned" "args" (dict "image" (printf "%s@%s" $name .digest))) -}}
{{- end -}}
{{- else if not (regexMatch (printf "(%s)" (join ")|(" $c.tagPattern)) (toString (.tag | default ""))) -}}
{{- include "common.rules.fail" (dict "rule" "image-pinned" "args" (dict "image" (printf "%s:%s" $name (toString (.tag | default ""))))) -}}
{{- end -}}
{{- end -}}
