{{/*
Who may connect to MinIO: the one description both the NetworkPolicy and the
AuthorizationPolicy are generated from (charts/common/templates/_flows.tpl).
The bucket Job and the helm test pod admit nothing.
*/}}
{{- define "objectstore.flows" -}}
- component: objectstore
  selector:
    {{- include "objectstore.selectorLabels" . | nindent 4 }}
  ingress:
    # 9000 (S3): this release's app and backup pods, the bucket Job and the helm test.
    - ports: [9000]
      from:
        {{- range list "app" "backup" "objectstore-buckets" "objectstore-test" }}
        - component: {{ . }}
        {{- end }}
{{- end -}}
