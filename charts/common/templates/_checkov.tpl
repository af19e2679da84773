{{/*
checkov findings we accept, each with its reason, written once here: the one
place (with kube-score.ignore for kube-score) where a scanner finding is
justified. A workload names the reasons that apply to it; checkov reads them
as `checkov.io/skip<N>: <check>=<reason>` annotations on the object, and the
lint stage fails on any finding without one (scripts/lib/kube-checks.ts).
A reason must not contain "=" (checkov splits on it).

Usage, inside an object's metadata.annotations:
  {{- include "common.checkov.skips" (dict "reasons" (list "imageUser") "images" (list .Values.image)) | nindent 4 }}
"images" adds the image reasons only when they apply: no digest, a pull
policy other than Always, a floating tag.
*/}}
{{- define "common.checkov.reasons" -}}
# The image reference carries a version tag; a digest is optional (image.digest).
imageDigest:
  CKV_K8S_43: pinned by version tag; the prod and staging profiles refuse floating tags and image.digest pins a digest where wanted
# IfNotPresent with a pinned tag: a start does not depend on the registry.
imagePullPolicy:
  CKV_K8S_15: the tag is pinned (the staging and prod profiles require it) so IfNotPresent pulls nothing new and a restart does not depend on the registry
# Only the dev profile allows latest, and only with pullPolicy Always.
imageFloatingTag:
  CKV_K8S_14: dev follows the newest app build on purpose (seed 001) with pullPolicy Always; the staging and prod profiles refuse floating tags
imageUser:
  CKV_K8S_40: runs as a fixed non-root uid below 10000 - the image's own user (mongo and redis 999; grafana 472; the app 1001) that owns its files and the existing volumes; PSS restricted only forbids uid 0
runToCompletion:
  CKV_K8S_8: a helm test pod runs once to completion; a liveness probe could only restart it in the middle of the test
  CKV_K8S_9: a helm test pod runs once to completion and backs no Service so readiness means nothing for it
appEnvContract:
  CKV_K8S_35: the app is a third-party Node program whose contract is the MONGODB_URI and REDIS_URL and JWT_SECRET environment variables (composed by $(VAR) expansion) and with the release's MinIO S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY; it reads no files
exporterEnv:
  CKV_K8S_35: the metrics exporter reads its database password only from the environment or a flag (the deployed mongodb_exporter has no password file option and its image no shell; the redis_exporter password file is a JSON map of addresses and not the bare password the one Secret holds)
# Not yet fixed, said so: the sidecar's scripts are being rewritten against a real mongod (issue 12).
mongoBootstrapEnv:
  CKV_K8S_35: the MongoDB bootstrap sidecar hands the passwords to mongosh and mongo-init.js in its environment; moving them to mounted Secret files waits for the real-mongod bootstrap tests of issue 12 which run this container exactly as rendered
# charts/logging's node agent: why it cannot be PSA restricted (README "Traces and logs").
logAgentRoot:
  CKV_K8S_23: the log agent reads the node's pod log files which are root's with mode 0640 - it runs as uid 0 with every capability dropped (owner permissions only) and no privilege escalation and a read-only root filesystem in a namespace that declares Pod Security privileged for it
  CKV_K8S_40: the log agent reads the node's pod log files which are root's with mode 0640 so it runs as uid 0 (every capability dropped)
prometheusToken:
  CKV_K8S_38: Prometheus discovers targets through the Kubernetes API and scrapes the kubelet with this token (ClusterRole read-only; nodes/metrics and not nodes/proxy)
{{- end -}}

{{- define "common.checkov.skips" -}}
{{- $table := include "common.checkov.reasons" . | fromYaml -}}
{{- $names := list -}}
{{- range (.images | default list) -}}
{{- if not .digest }}{{ $names = append $names "imageDigest" }}{{ end -}}
{{- if ne (.pullPolicy | default "IfNotPresent") "Always" }}{{ $names = append $names "imagePullPolicy" }}{{ end -}}
{{- if or (eq (.tag | toString) "latest") (eq (.tag | toString) "") }}{{ $names = append $names "imageFloatingTag" }}{{ end -}}
{{- end -}}
{{- $names = concat $names (.reasons | default list) | uniq -}}
{{- $n := 0 -}}
{{- range $names -}}
{{- $checks := required (printf "common.checkov.skips: no reason %q in common.checkov.reasons" .) (get $table .) -}}
{{- range $check := keys $checks | sortAlpha }}
{{- $n = add1 $n }}
checkov.io/skip{{ $n }}: {{ printf "%s=%s" $check (get $checks $check) | quote }}
{{- end -}}
{{- end -}}
{{- end -}}
