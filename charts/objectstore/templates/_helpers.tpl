{{/* Shorthands for this chart's component; the logic lives in charts/common. */}}
{{- define "objectstore.fullname" -}}
{{- include "common.names.fullname" (dict "component" "objectstore" "context" .) -}}
{{- end -}}

{{- define "objectstore.labels" -}}
{{- include "common.labels.standard" (dict "component" "objectstore" "context" .) -}}
{{- end -}}

{{- define "objectstore.selectorLabels" -}}
{{- include "common.labels.selector" (dict "component" "objectstore" "context" .) -}}
{{- end -}}

{{/* The bucket Job and the helm test pod: components of their own, so policies can name them. */}}
{{- define "objectstore.bucketsLabels" -}}
{{- include "common.labels.standard" (dict "component" "objectstore-buckets" "context" .) -}}
{{- end -}}

{{- define "objectstore.testLabels" -}}
{{- include "common.labels.standard" (dict "component" "objectstore-test" "context" .) -}}
{{- end -}}

{{- define "objectstore.headlessName" -}}
{{- printf "%s-headless" (include "objectstore.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The one Secret (MinIO's root keys access-key-id and secret-access-key, and
each consumer's app-* and backup-* keys, objectstore.consumerKeys):
global.objectstore.existingSecret when set, else <release>-objectstore (the
same helper the app and the backup chart use).
*/}}
{{- define "objectstore.secretName" -}}
{{- include "common.secrets.ownerName" (dict "component" "objectstore" "context" .) -}}
{{- end -}}

{{- define "objectstore.existingSecret" -}}
{{- $global := .Values.global | default dict -}}
{{- (index $global "objectstore" | default dict).existingSecret | default "" -}}
{{- end -}}

{{/* The S3 endpoint clients use: the Service's cluster DNS name, port 9000. */}}
{{- define "objectstore.endpoint" -}}
{{- printf "http://%s.%s.svc.%s:9000" (include "objectstore.fullname" .) .Release.Namespace .Values.clusterDomain -}}
{{- end -}}

{{/*
The credentials as files (MINIO_ROOT_USER_FILE / MINIO_ROOT_PASSWORD_FILE for
the server, <NAME>_FILE for the scripts): the mount and the volume.
*/}}
{{- define "objectstore.credentialsMount" -}}
- name: credentials
  mountPath: /run/secrets/objectstore
  readOnly: true
{{- end -}}

{{/* The keys of the consumers' MinIO users (files/buckets.sh makes the users). */}}
{{- define "objectstore.consumerKeys" -}}
{{- list "app-access-key-id" "app-secret-access-key" "backup-access-key-id" "backup-secret-access-key" | toJson -}}
{{- end -}}

{{/* The bucket Job's credentials: the root keys and the consumers' keys it makes users of. */}}
{{- define "objectstore.jobCredentialsVolume" -}}
{{- include "common.secretFiles.volume" (dict "name" "credentials" "secretName" (include "objectstore.secretName" .) "keys" (concat (list "access-key-id" "secret-access-key") (include "objectstore.consumerKeys" . | fromJsonArray))) }}
{{- end -}}

{{- define "objectstore.credentialsVolume" -}}
{{- include "common.secretFiles.volume" (dict "name" "credentials" "secretName" (include "objectstore.secretName" .) "keys" (list "access-key-id" "secret-access-key")) }}
{{- end -}}

{{/*
Environment of a pod running files/buckets.sh (the bucket Job and the helm
test): where the server is, the credentials as files, mc's writable home.
*/}}
{{- define "objectstore.clientEnv" -}}
- name: S3_ENDPOINT
  value: {{ include "objectstore.endpoint" . | quote }}
- name: S3_REGION
  value: {{ .Values.region | quote }}
- name: S3_ACCESS_KEY_ID_FILE
  value: /run/secrets/objectstore/access-key-id
- name: S3_SECRET_ACCESS_KEY_FILE
  value: /run/secrets/objectstore/secret-access-key
- name: HOME
  value: /tmp
- name: MC_CONFIG_DIR
  value: /tmp/.mc
{{- end -}}
