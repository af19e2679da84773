{{/* Shorthands for this chart's component; the logic lives in charts/common. */}}
{{- define "redis.fullname" -}}
{{- include "common.names.fullname" (dict "component" "redis" "context" .) -}}
{{- end -}}

{{- define "redis.labels" -}}
{{- include "common.labels.standard" (dict "component" "redis" "context" .) -}}
{{- end -}}

{{- define "redis.selectorLabels" -}}
{{- include "common.labels.selector" (dict "component" "redis" "context" .) -}}
{{- end -}}

{{/* The bootstrap Job/CronJob pods and the helm test pod: components of their own, so policies can name them. */}}
{{- define "redis.bootstrapLabels" -}}
{{- include "common.labels.standard" (dict "component" "redis-bootstrap" "context" .) -}}
{{- end -}}

{{- define "redis.testLabels" -}}
{{- include "common.labels.standard" (dict "component" "redis-test" "context" .) -}}
{{- end -}}

{{- define "redis.isCluster" -}}
{{- if eq .Values.architecture "cluster" -}}true{{- end -}}
{{- end -}}

{{- define "redis.headlessName" -}}
{{- printf "%s-headless" (include "redis.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Pods of the StatefulSet: one in standalone mode, masters x (1 + replicas) in cluster mode. */}}
{{- define "redis.replicas" -}}
{{- if include "redis.isCluster" . -}}
{{- mul (int .Values.cluster.masters) (add 1 (int .Values.cluster.replicasPerMaster)) -}}
{{- else -}}1{{- end -}}
{{- end -}}

{{/*
The one Secret with key redis-password: global.redis.existingSecret when set,
else <release>-redis (the same helper the app uses to find it).
*/}}
{{- define "redis.secretName" -}}
{{- include "common.secrets.ownerName" (dict "component" "redis" "context" .) -}}
{{- end -}}

{{- define "redis.existingSecret" -}}
{{- $global := .Values.global | default dict -}}
{{- (index $global "redis" | default dict).existingSecret | default "" -}}
{{- end -}}

{{/* DNS suffix of the namespace: <ns>.svc.<clusterDomain>. */}}
{{- define "redis.svcDomain" -}}
{{- printf "%s.svc.%s" .Release.Namespace .Values.clusterDomain -}}
{{- end -}}

{{/* host:port of every pod through the headless Service, comma separated. */}}
{{- define "redis.podAddresses" -}}
{{- $nodes := list -}}
{{- range $i := until (int (include "redis.replicas" .)) -}}
{{- $nodes = append $nodes (printf "%s-%d.%s.%s:6379" (include "redis.fullname" $) $i (include "redis.headlessName" $) (include "redis.svcDomain" $)) -}}
{{- end -}}
{{- join "," $nodes -}}
{{- end -}}

{{/*
The password as a file, for programs that read one (<NAME>_FILE names it):
the env entry, the volume mount and the volume of the Secret's redis-password.
*/}}
{{- define "redis.passwordFileEnv" -}}
- name: {{ .name }}_FILE
  value: /etc/redis-auth/redis-password
{{- end -}}

{{- define "redis.passwordFileMount" -}}
- name: redis-auth
  mountPath: /etc/redis-auth
  readOnly: true
{{- end -}}

{{- define "redis.passwordFileVolume" -}}
- name: redis-auth
  secret:
    secretName: {{ include "redis.secretName" . }}
    defaultMode: 288 # 0440: readable by the pod's fsGroup
    items:
      - key: redis-password
        path: redis-password
{{- end -}}

{{/*
Bytes of a Kubernetes memory quantity ("512Mi") or of a redis.conf size
("320mb"; redis reads k/m/g as powers of 1000 and kb/mb/gb as powers of 1024).
*/}}
{{- define "redis.bytes" -}}
{{- $value := . | toString -}}
{{- $number := regexFind "^[0-9.]+" $value | float64 -}}
{{- $unit := trimPrefix (regexFind "^[0-9.]+" $value) $value -}}
{{- $factors := dict "" 1 "Ki" 1024 "Mi" 1048576 "Gi" 1073741824 "Ti" 1099511627776 "k" 1000 "M" 1000000 "G" 1000000000 "T" 1000000000000 "kb" 1024 "mb" 1048576 "gb" 1073741824 -}}
{{- if not (hasKey $factors $unit) -}}
{{- include "common.rules.fail" (dict "rule" "quantity-format" "args" (dict "value" (quote $value))) -}}
{{- end -}}
{{- mulf $number (index $factors $unit) | int64 -}}
{{- end -}}

{{/*
maxmemory must leave room below the container limit: redis counts only its
dataset against maxmemory; replication and client output buffers, the AOF
rewrite buffer, fragmentation and the copy-on-write pages of a fork (AOF
rewrite, RDB save, full resync) come on top. Above 80 % of the limit the
kernel's OOM killer, not the eviction policy, decides.
*/}}
{{- define "redis.checkMaxmemory" -}}
{{- $max := include "redis.bytes" .Values.config.maxmemory | float64 -}}
{{- $limit := include "redis.bytes" .Values.resources.limits.memory | float64 -}}
{{- $percent := (include "common.rules.constants" "redis-maxmemory" | fromJson).percent -}}
{{- if gt $max (mulf $limit (divf $percent 100)) -}}
{{- include "common.rules.fail" (dict "rule" "redis-maxmemory" "args" (dict "maxmemory" .Values.config.maxmemory "limit" .Values.resources.limits.memory)) -}}
{{- end -}}
{{- end -}}

{{/*
Pod template of the cluster bootstrap (the post-install/post-upgrade Job and
the optional reconcile CronJob). Usage: (dict "args" (list "--no-create") "context" $)
*/}}
{{- define "redis.bootstrapPod" -}}
{{- $ := .context -}}
metadata:
  labels:
    {{- include "redis.bootstrapLabels" $ | nindent 4 }}
    {{- include "common.mesh.podLabels" (dict "indent" 4 "context" $) }}
spec:
  restartPolicy: Never
  {{- include "common.mesh.serviceAccountField" (dict "component" "redis-bootstrap" "indent" 2 "context" $) }}
  automountServiceAccountToken: false
  enableServiceLinks: false
  {{- include "common.images.pullSecrets" (dict "context" $) | nindent 2 }}
  securityContext:
    {{- include "common.securityContext.pod" $.Values.securityContext | nindent 4 }}
  containers:
    - name: bootstrap
      image: {{ include "common.images.image" (dict "image" $.Values.image "context" $) }}
      imagePullPolicy: {{ $.Values.image.pullPolicy }}
      command: ["/bin/bash", "/scripts/bootstrap.sh"{{ range .args }}, {{ . | quote }}{{ end }}]
      env:
        - name: REDIS_NODES
          value: {{ include "redis.podAddresses" $ | quote }}
        {{- include "redis.passwordFileEnv" (dict "name" "REDISCLI_AUTH") | nindent 8 }}
        - name: REDIS_CLUSTER_REPLICAS
          value: {{ $.Values.cluster.replicasPerMaster | quote }}
        - name: REDIS_BOOTSTRAP_TIMEOUT
          value: {{ $.Values.cluster.bootstrap.timeoutSeconds | quote }}
      resources:
        {{- toYaml $.Values.cluster.bootstrap.resources | nindent 8 }}
      securityContext:
        {{- include "common.securityContext.container" $.Values.securityContext | nindent 8 }}
      volumeMounts:
        - name: scripts
          mountPath: /scripts
          readOnly: true
        {{- include "redis.passwordFileMount" $ | nindent 8 }}
  volumes:
    - name: scripts
      configMap:
        name: {{ include "redis.fullname" $ }}-scripts
    {{- include "redis.passwordFileVolume" $ | nindent 4 }}
  {{- with $.Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $.Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}

{{/* Job spec fields shared by the Job and the CronJob's jobTemplate. */}}
{{- define "redis.bootstrapJobSpec" -}}
backoffLimit: {{ .context.Values.cluster.bootstrap.backoffLimit }}
# The script bounds its own waits; this bounds the whole Job.
activeDeadlineSeconds: {{ add (int .context.Values.cluster.bootstrap.timeoutSeconds) 300 }}
# Exit 2 = the script refused an unsafe state: retrying cannot help.
podFailurePolicy:
  rules:
    - action: FailJob
      onExitCodes:
        containerName: bootstrap
        operator: In
        values: [2]
template:
  {{- include "redis.bootstrapPod" . | nindent 2 }}
{{- end -}}
