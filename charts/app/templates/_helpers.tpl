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


{{/* Replicas the Deployment may run at once; the PDB is rendered only above its minAvailable. */}}
{{- define "app.minReplicas" -}}
{{- if .Values.autoscaling.enabled -}}{{ .Values.autoscaling.minReplicas }}{{- else -}}{{ .Values.replicaCount }}{{- end -}}
{{- end -}}

{{/*
MongoDB connection. With connections.mongodb.existingSecret: the whole URI from
that Secret (an external server). Otherwise this release's mongodb chart: the
non-secret parts from its ConfigMap, the password from its one Secret, and the
URI composed by Kubernetes ($(VAR) expansion), so no password is copied.
*/}}
{{- define "app.mongodbEnv" -}}
{{- $connection := .Values.connections.mongodb -}}
{{- if $connection.existingSecret -}}
- name: MONGODB_URI
  valueFrom:
    secretKeyRef:
      name: {{ tpl $connection.existingSecret . }}
      key: {{ $connection.key }}
{{- else -}}
{{- $configMap := include "common.names.fullname" (dict "component" "mongodb" "context" .) -}}
{{- range $name, $key := dict "MONGODB_USERNAME" "username" "MONGODB_HOSTS" "hosts" "MONGODB_DATABASE" "database" "MONGODB_OPTIONS" "options" }}
- name: {{ $name }}
  valueFrom:
    configMapKeyRef:
      name: {{ $configMap }}
      key: {{ $key }}
{{- end }}
- name: MONGODB_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "common.secrets.ownerName" (dict "component" "mongodb" "context" .) }}
      key: mongodb-password
- name: MONGODB_URI
  value: "mongodb://$(MONGODB_USERNAME):$(MONGODB_PASSWORD)@$(MONGODB_HOSTS)/$(MONGODB_DATABASE)?$(MONGODB_OPTIONS)"
{{- end -}}
{{- end -}}

{{/* Redis connection, the same way; REDIS_CLUSTER tells the app to use a cluster client with REDIS_CLUSTER_NODES as seeds. */}}
{{- define "app.redisEnv" -}}
{{- $connection := .Values.connections.redis -}}
{{- if $connection.existingSecret -}}
- name: REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ tpl $connection.existingSecret . }}
      key: {{ $connection.key }}
{{- else -}}
{{- $configMap := printf "%s-connection" (include "common.names.fullname" (dict "component" "redis" "context" .)) -}}
{{- range $name, $key := dict "REDIS_HOST" "host" "REDIS_PORT" "port" "REDIS_CLUSTER" "cluster" "REDIS_CLUSTER_NODES" "nodes" }}
- name: {{ $name }}
  valueFrom:
    configMapKeyRef:
      name: {{ $configMap }}
      key: {{ $key }}
{{- end }}
- name: REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "common.secrets.ownerName" (dict "component" "redis" "context" .) }}
      key: redis-password
- name: REDIS_URL
  value: "redis://:$(REDIS_PASSWORD)@$(REDIS_HOST):$(REDIS_PORT)"
{{- end -}}
{{- end -}}

{{/*
Static files in this release's MinIO: the non-secret facts from the objectstore
chart's ConfigMap, the keys of the app's own MinIO user (app-*, limited to the
static bucket; never the root keys) from its one Secret (common.secrets.ownerName), never copied.
*/}}
{{- define "app.objectstoreEnv" -}}
{{- if .Values.objectstore.enabled -}}
{{- $configMap := include "common.names.fullname" (dict "component" "objectstore" "context" .) -}}
{{- range $name, $key := dict "S3_ENDPOINT" "endpoint" "S3_REGION" "region" "S3_BUCKET" "staticBucket" "S3_FORCE_PATH_STYLE" "forcePathStyle" }}
- name: {{ $name }}
  valueFrom:
    configMapKeyRef:
      name: {{ $configMap }}
      key: {{ $key }}
{{- end }}
{{- $secret := include "common.secrets.ownerName" (dict "component" "objectstore" "context" .) }}
{{- range $name, $key := dict "S3_ACCESS_KEY_ID" "app-access-key-id" "S3_SECRET_ACCESS_KEY" "app-secret-access-key" }}
- name: {{ $name }}
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ $key }}
{{- end }}
{{- end -}}
{{- end -}}

{{/* The NetworkPolicy egress rule to this release's MinIO (S3 on 9000). */}}
{{- define "app.objectstoreEgress" -}}
{{- if .Values.objectstore.enabled }}
# The release's MinIO (static files).
- to:
    - podSelector:
        matchLabels:
          {{- include "common.labels.componentSelector" (dict "component" "objectstore" "context" .) | nindent 10 }}
  ports:
    - protocol: TCP
      port: 9000
{{- end }}
{{- end -}}
