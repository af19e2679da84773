{{/* Shorthands for this chart's component; the logic lives in charts/common. */}}
{{- define "backup.fullname" -}}
{{- include "common.names.fullname" (dict "component" "backup" "context" .) -}}
{{- end -}}

{{- define "backup.labels" -}}
{{- include "common.labels.standard" (dict "component" "backup" "context" .) -}}
{{- end -}}

{{- define "backup.selectorLabels" -}}
{{- include "common.labels.selector" (dict "component" "backup" "context" .) -}}
{{- end -}}

{{- define "backup.replicaSet" -}}
{{- if eq .Values.mongodb.architecture "replicaset" -}}true{{- end -}}
{{- end -}}

{{/*
Secret with the S3 keys: the release's MinIO Secret (storage.objectstore; the
keys of the backups' own MinIO user, backup-access-key-id and
backup-secret-access-key, limited to the backup bucket), existingSecret, the chart's own
(inline keys), the one an ExternalSecret fills (keys mapped to Vault), or none
(IAM role).
*/}}
{{- define "backup.s3SecretName" -}}
{{- if .Values.storage.objectstore -}}
{{- include "common.secrets.ownerName" (dict "component" "objectstore" "context" .) -}}
{{- else if or .Values.storage.existingSecret .Values.storage.accessKeyId (include "common.externalSecrets.mapped" (dict "credential" "backup" "context" .)) -}}
{{- include "common.secrets.name" (dict "existingSecret" .Values.storage.existingSecret "component" "backup" "context" .) -}}
{{- end -}}
{{- end -}}

{{/*
MongoDB connection of the backup user: non-secret facts from the mongodb
chart's ConfigMap, the password from its one Secret (never copied), as a
mounted file (backup.secretVolumes; the container's command reads it).
*/}}
{{- define "backup.mongodbEnv" -}}
{{- $configMap := include "common.names.fullname" (dict "component" "mongodb" "context" .) -}}
- name: MONGODB_HOSTS
  valueFrom:
    configMapKeyRef:
      name: {{ $configMap }}
      key: hosts
- name: MONGODB_REPLICA_SET
  valueFrom:
    configMapKeyRef:
      name: {{ $configMap }}
      key: replicaSet
- name: MONGODB_USERNAME
  valueFrom:
    configMapKeyRef:
      name: {{ $configMap }}
      key: backupUsername
- name: MONGODB_PASSWORD_FILE
  value: /run/secrets/mongodb/mongodb-backup-password
- name: MONGODB_AUTH_SOURCE
  value: {{ .Values.mongodb.authSource | quote }}
{{- end -}}

{{/*
S3 settings; the keys only as mounted files. With storage.objectstore the
endpoint, region and bucket come from the objectstore chart's ConfigMap.
*/}}
{{- define "backup.s3Env" -}}
{{- $s := .Values.storage -}}
{{- if $s.objectstore }}
{{- $configMap := include "common.names.fullname" (dict "component" "objectstore" "context" .) -}}
{{- range $name, $key := dict "S3_BUCKET" "backupsBucket" "S3_ENDPOINT" "endpoint" "S3_REGION" "region" "S3_FORCE_PATH_STYLE" "forcePathStyle" }}
- name: {{ $name }}
  valueFrom:
    configMapKeyRef:
      name: {{ $configMap }}
      key: {{ $key }}
{{- end }}
{{- else }}
- name: S3_BUCKET
  value: {{ $s.bucket | quote }}
- name: S3_ENDPOINT
  value: {{ $s.endpoint | quote }}
- name: S3_REGION
  value: {{ $s.region | quote }}
- name: S3_FORCE_PATH_STYLE
  value: {{ $s.forcePathStyle | quote }}
{{- end }}
- name: S3_PREFIX
  value: {{ $s.prefix | quote }}
- name: S3_SSE
  value: {{ $s.serverSideEncryption.type | quote }}
- name: S3_SSE_KMS_KEY_ID
  value: {{ $s.serverSideEncryption.kmsKeyId | quote }}
{{- if include "backup.s3SecretName" . }}
- name: AWS_ACCESS_KEY_ID_FILE
  value: /run/secrets/s3/access-key-id
- name: AWS_SECRET_ACCESS_KEY_FILE
  value: /run/secrets/s3/secret-access-key
{{- end }}
- name: HOME
  value: /work
{{- end -}}

{{- define "backup.commonEnv" -}}
- name: BACKUP_DIR
  value: /backup
- name: WORK_DIR
  value: /work
{{- end -}}

{{/*
The Secrets a backup pod reads, each as a volume mounted at
/run/secrets/<name>/ in the containers whose env names a file there.
*/}}
{{- define "backup.secretVolumes" -}}
{{- $mongodb := include "common.secrets.ownerName" (dict "component" "mongodb" "context" .) -}}
{{- $volumes := dict
  "mongodb" (dict "secretName" $mongodb "keys" (list "mongodb-backup-password"))
  "mongodb-restore" (dict "secretName" (.Values.restore.existingSecret | default $mongodb) "keys" (list .Values.restore.passwordKey))
  "redis" (dict "secretName" (include "common.secrets.ownerName" (dict "component" "redis" "context" .)) "keys" (list "redis-password")) -}}
{{- with include "backup.s3SecretName" . }}
{{- if $.Values.storage.objectstore }}
{{- $_ := set $volumes "s3" (dict "secretName" . "keys" (list "backup-access-key-id" "backup-secret-access-key") "paths" (dict "backup-access-key-id" "access-key-id" "backup-secret-access-key" "secret-access-key")) -}}
{{- else }}
{{- $_ := set $volumes "s3" (dict "secretName" . "keys" (list "access-key-id" "secret-access-key")) -}}
{{- end }}
{{- end }}
{{- toYaml $volumes -}}
{{- end -}}

{{/*
One container. dict: name, image (values image), script (or command), env
(rendered env list), mounts (list of volume names), resources, context.
Credentials arrive as <NAME>_FILE; the command reads them first
(common.secretFiles.load).
*/}}
{{- define "backup.container" -}}
{{- $ctx := .context -}}
- name: {{ .name }}
  image: {{ include "common.images.image" (dict "image" .image "context" $ctx) }}
  imagePullPolicy: {{ .image.pullPolicy }}
  command:
    - /bin/bash
    - -c
    - {{ printf "%s %s" (include "common.secretFiles.load" $ctx) .command | quote }}
  env:
    {{- include "backup.commonEnv" $ctx | nindent 4 }}
    {{- .env | trim | nindent 4 }}
  resources:
    {{- toYaml .resources | nindent 4 }}
  securityContext:
    {{- include "common.securityContext.container" $ctx.Values.securityContext | nindent 4 }}
  volumeMounts:
    - name: scripts
      mountPath: /scripts
      readOnly: true
    - name: work
      mountPath: /work
    - name: tmp
      mountPath: /tmp
    {{- if has "backup" .mounts }}
    - name: backup
      mountPath: /backup
    {{- end }}
    {{- range $name, $_ := include "backup.secretVolumes" $ctx | fromYaml }}
    {{- if contains (printf "/run/secrets/%s/" $name) $.env }}
    - name: secret-{{ $name }}
      mountPath: /run/secrets/{{ $name }}
      readOnly: true
    {{- end }}
    {{- end }}
{{- end -}}

{{/*
Pod template of every backup Job. dict: initContainers, containers (rendered
lists), volumes (backup: the PVC), scratch (work emptyDir size), context.
*/}}
{{- define "backup.podTemplate" -}}
{{- $ctx := .context -}}
metadata:
  labels:
    {{- include "backup.labels" $ctx | nindent 4 }}
    {{- include "common.mesh.podLabels" (dict "indent" 4 "context" $ctx) }}
    {{- with $ctx.Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  annotations:
    checksum/scripts: {{ include "common.checksums.template" (dict "path" "/configmap.yaml" "context" $ctx) }}
    {{- with $ctx.Values.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  restartPolicy: Never
  serviceAccountName: {{ ternary (include "backup.fullname" $ctx) "default" (or $ctx.Values.serviceAccount.create (include "common.mesh.enabled" $ctx)) }}
  automountServiceAccountToken: false
  {{- include "common.images.pullSecrets" (dict "context" $ctx) | nindent 2 }}
  securityContext:
    {{- include "common.securityContext.pod" $ctx.Values.securityContext | nindent 4 }}
  {{- with .initContainers }}
  initContainers:
    {{- . | trim | nindent 4 }}
  {{- end }}
  containers:
    {{- .containers | trim | nindent 4 }}
  volumes:
    - name: scripts
      configMap:
        name: {{ include "backup.fullname" $ctx }}-scripts
        defaultMode: 365 # 0555: decimal, as every YAML reader agrees on it
    - name: work
      emptyDir:
        sizeLimit: {{ .scratch }}
    - name: tmp
      emptyDir:
        sizeLimit: 64Mi
    {{- if .backupVolume }}
    - name: backup
      persistentVolumeClaim:
        claimName: {{ $ctx.Values.persistence.existingClaim | default (include "backup.fullname" $ctx) }}
    {{- end }}
    {{- $containers := printf "%s\n%s" (.initContainers | default "") .containers }}
    {{- range $name, $v := include "backup.secretVolumes" $ctx | fromYaml }}
    {{- if contains (printf "/run/secrets/%s/" $name) $containers }}
    {{- include "common.secretFiles.volume" (dict "name" (printf "secret-%s" $name) "secretName" $v.secretName "keys" $v.keys "paths" ($v.paths | default dict)) | nindent 4 }}
    {{- end }}
    {{- end }}
  {{- with $ctx.Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $ctx.Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}

{{/* CronJob spec fields shared by the three CronJobs. dict: schedule, deadline, context. */}}
{{- define "backup.cronSpec" -}}
{{- $v := .context.Values -}}
schedule: {{ .schedule | quote }}
{{- with $v.timeZone }}
timeZone: {{ . | quote }}
{{- end }}
concurrencyPolicy: Forbid
startingDeadlineSeconds: {{ $v.startingDeadlineSeconds }}
successfulJobsHistoryLimit: {{ $v.successfulJobsHistoryLimit }}
failedJobsHistoryLimit: {{ $v.failedJobsHistoryLimit }}
{{- end -}}

{{/* The restore user: a user with the restore role (the backup user cannot write). */}}
{{- define "backup.restoreEnv" -}}
{{- $configMap := include "common.names.fullname" (dict "component" "mongodb" "context" .) -}}
{{- $r := .Values.restore -}}
- name: MONGODB_HOSTS
  valueFrom:
    configMapKeyRef:
      name: {{ $configMap }}
      key: hosts
- name: MONGODB_REPLICA_SET
  valueFrom:
    configMapKeyRef:
      name: {{ $configMap }}
      key: replicaSet
- name: MONGODB_USERNAME
  value: {{ $r.username | quote }}
- name: MONGODB_PASSWORD_FILE
  value: /run/secrets/mongodb-restore/{{ $r.passwordKey }}
- name: MONGODB_AUTH_SOURCE
  value: {{ .Values.mongodb.authSource | quote }}
{{- end -}}

{{/* Redis, for the optional RDB copy: host and port from the redis chart's ConfigMap, password from its Secret. */}}
{{- define "backup.redisEnv" -}}
{{- $configMap := printf "%s-connection" (include "common.names.fullname" (dict "component" "redis" "context" .)) -}}
- name: REDIS_HOST
  valueFrom:
    configMapKeyRef:
      name: {{ $configMap }}
      key: host
- name: REDIS_PORT
  valueFrom:
    configMapKeyRef:
      name: {{ $configMap }}
      key: port
- name: REDISCLI_AUTH_FILE
  value: /run/secrets/redis/redis-password
{{- end -}}
