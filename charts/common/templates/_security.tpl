{{/*
Pod Security Standards "restricted" contexts. Only the user and group ids are
values; nothing here can be loosened from values on purpose.
Usage: {{ include "common.securityContext.pod" .Values.securityContext }}
with {runAsUser, runAsGroup, fsGroup}.
*/}}
{{- define "common.securityContext.pod" -}}
runAsNonRoot: true
runAsUser: {{ .runAsUser }}
runAsGroup: {{ .runAsGroup }}
fsGroup: {{ .fsGroup }}
fsGroupChangePolicy: OnRootMismatch
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "common.securityContext.container" -}}
runAsNonRoot: true
runAsUser: {{ .runAsUser }}
runAsGroup: {{ .runAsGroup }}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
privileged: false
capabilities:
  drop:
    - ALL
seccompProfile:
  type: RuntimeDefault
{{- end -}}
