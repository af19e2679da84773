{{/*
Credentials as files (the <NAME>_FILE convention): a container gets the env
entry <NAME>_FILE with the path of a key in a mounted Secret, never the value
itself, so the value stays out of the pod spec and `kubectl describe`.

common.secretFiles.load: the bash line that reads each <NAME>_FILE into
<NAME> right before a shell-run program starts, for programs that only read
the environment (mongodump, the aws CLI, redis-cli). It EXPORTS each value:
the program it starts and every process that program starts hold the value
in their environment (readable in /proc/<pid>/environ by the same user) until
they exit. So it is for short-lived Job containers only (the backup Jobs); a
long-running container reads its files when it needs them instead
(test/secret-env.test.ts checks both over every rendered environment).
Fails on an unreadable file.
Usage: command: ["/bin/bash", "-c", "{{ include "common.secretFiles.load" . }} exec /scripts/x.sh"]
*/}}
{{- define "common.secretFiles.load" -}}
for v in $(compgen -e); do case $v in *_FILE) [ -r "${!v}" ] || { echo "$v: ${!v} is not readable" >&2; exit 1; }; export "${v%_FILE}=$(<"${!v}")" ;; esac; done;
{{- end -}}

{{/*
A Secret volume with only the keys a pod reads, readable by its fsGroup.
Usage: {{ include "common.secretFiles.volume" (dict "name" "mongodb-credentials" "secretName" $name "keys" (list "mongodb-password")) }}
(optional "paths": a dict key -> file name, where the file must not carry the key's name)
*/}}
{{- define "common.secretFiles.volume" -}}
- name: {{ .name }}
  secret:
    secretName: {{ .secretName }}
    defaultMode: 288 # 0440: readable by the pod's fsGroup
    items:
      {{- $paths := .paths | default dict }}
      {{- range .keys }}
      - key: {{ . }}
        path: {{ index $paths . | default . }}
      {{- end }}
{{- end -}}
