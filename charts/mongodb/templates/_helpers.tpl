{{/* Shorthands for this chart's component; the logic lives in charts/common. */}}
{{- define "mongodb.fullname" -}}
{{- include "common.names.fullname" (dict "component" "mongodb" "context" .) -}}
{{- end -}}

{{- define "mongodb.labels" -}}
{{- include "common.labels.standard" (dict "component" "mongodb" "context" .) -}}
{{- end -}}

{{- define "mongodb.selectorLabels" -}}
{{- include "common.labels.selector" (dict "component" "mongodb" "context" .) -}}
{{- end -}}

{{/* The StatefulSet's governing Service; part of spec.serviceName, which never changes. */}}
{{- define "mongodb.headlessName" -}}
{{- include "common.names.fullname" (dict "component" "mongodb-headless" "context" .) -}}
{{- end -}}

{{- define "mongodb.scriptsName" -}}
{{- include "common.names.fullname" (dict "component" "mongodb-scripts" "context" .) -}}
{{- end -}}

{{- define "mongodb.replicaset" -}}
{{- if eq .Values.architecture "replicaset" -}}true{{- end -}}
{{- end -}}

{{/* global.mongodb.existingSecret, or empty. */}}
{{- define "mongodb.existingSecret" -}}
{{- dig "mongodb" "existingSecret" "" (.Values.global | default dict) -}}
{{- end -}}

{{/* The one Secret with every MongoDB credential: the user's, or <release>-mongodb. */}}
{{- define "mongodb.secretName" -}}
{{- include "common.secrets.name" (dict "existingSecret" (include "mongodb.existingSecret" .) "component" "mongodb" "context" .) -}}
{{- end -}}

{{/* Secret keys, with the inline value and generated length of each. */}}
{{- define "mongodb.secretKeys" -}}
{{- $a := .Values.auth -}}
{{- toYaml (list
  (dict "key" "mongodb-root-password" "value" $a.rootPassword "path" "auth.rootPassword" "length" 32)
  (dict "key" "mongodb-password" "value" $a.password "path" "auth.password" "length" 32)
  (dict "key" "mongodb-metrics-password" "value" $a.metricsPassword "path" "auth.metricsPassword" "length" 32)
  (dict "key" "mongodb-backup-password" "value" $a.backupPassword "path" "auth.backupPassword" "length" 32)
  (dict "key" "mongodb-replica-set-key" "value" $a.replicaSetKey "path" "auth.replicaSetKey" "length" 756)) -}}
{{- end -}}

{{/* ".<headless>.<namespace>.svc.<domain>": a member's DNS name is <pod><memberDomain>. */}}
{{- define "mongodb.memberDomain" -}}
{{- printf ".%s.%s.svc.%s" (include "mongodb.headlessName" .) .Release.Namespace .Values.clusterDomain -}}
{{- end -}}

{{/* host:port list clients connect to: every member, or the client Service. */}}
{{- define "mongodb.hosts" -}}
{{- $hosts := list -}}
{{- if include "mongodb.replicaset" . -}}
{{- range $i := until (int .Values.replicaCount) -}}
{{- $hosts = append $hosts (printf "%s-%d%s:%d" (include "mongodb.fullname" $) $i (include "mongodb.memberDomain" $) 27017) -}}
{{- end -}}
{{- else -}}
{{- $hosts = append $hosts (printf "%s.%s.svc.%s:%d" (include "mongodb.fullname" .) .Release.Namespace .Values.clusterDomain 27017) -}}
{{- end -}}
{{- join "," $hosts -}}
{{- end -}}

{{- define "mongodb.options" -}}
{{- printf "authSource=%s" .Values.auth.database -}}
{{- if include "mongodb.replicaset" . }}{{ printf "&replicaSet=%s" .Values.replicaSetName }}{{ end -}}
{{- end -}}

{{/* An env var read from the credentials Secret. */}}
{{- define "mongodb.secretEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ include "mongodb.secretName" .context }}
      key: {{ .key }}
{{- end -}}

{{/* Members spread over nodes and zones: more than one member only. */}}
{{- define "mongodb.spread" -}}
{{- if gt (int .Values.replicaCount) 1 }}
affinity:
  podAntiAffinity:
    {{- if eq .Values.podAntiAffinity "hard" }}
    requiredDuringSchedulingIgnoredDuringExecution:
      - topologyKey: kubernetes.io/hostname
        labelSelector:
          matchLabels:
            {{- include "mongodb.selectorLabels" . | nindent 12 }}
    {{- else }}
    preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 100
        podAffinityTerm:
          topologyKey: kubernetes.io/hostname
          labelSelector:
            matchLabels:
              {{- include "mongodb.selectorLabels" . | nindent 14 }}
    {{- end }}
topologySpreadConstraints:
  - maxSkew: {{ .Values.topologySpread.maxSkew }}
    topologyKey: topology.kubernetes.io/zone
    whenUnsatisfiable: {{ .Values.topologySpread.whenUnsatisfiable }}
    labelSelector:
      matchLabels:
        {{- include "mongodb.selectorLabels" . | nindent 8 }}
{{- end }}
{{- end -}}

{{/* mongosh against the local mongod, for probes. */}}
{{- define "mongodb.localUri" -}}
mongodb://127.0.0.1:27017/admin?directConnection=true&serverSelectionTimeoutMS=5000
{{- end -}}
