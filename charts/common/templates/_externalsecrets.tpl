{{/*
Credentials from Vault through the External Secrets Operator
(global.secrets.provider: externalSecrets). Each chart that owns a credential
renders, in its templates/externalsecret.yaml, one ExternalSecret that fills
the very Secret its consumers already read: the name is decided by
common.secrets.name (existingSecret, else <release>-<component>), the keys are
the ones the chart's own Secret would hold. The chart then renders no Secret
of its own (common.secrets.fromChart).
*/}}

{{/* "true" when global.secrets.provider is externalSecrets. Usage: {{ include "common.externalSecrets.enabled" $ }} */}}
{{- define "common.externalSecrets.enabled" -}}
{{- if eq (dig "secrets" "provider" "kubernetes" (.Values.global | default dict)) "externalSecrets" -}}true{{- end -}}
{{- end -}}

{{/*
"true" when values map at least one key of the credential to Vault; used for
the optional ones (the backup's S3 keys: none means an IAM role).
Usage: {{ include "common.externalSecrets.mapped" (dict "credential" "backup" "context" $) }}
*/}}
{{- define "common.externalSecrets.mapped" -}}
{{- if and (include "common.externalSecrets.enabled" .context) (dig "secrets" "externalSecrets" "credentials" .credential dict (.context.Values.global | default dict)) -}}true{{- end -}}
{{- end -}}

{{/*
common.externalSecrets.secret: the ExternalSecret of one credential. Its name
and its target are the Secret name the consumers reference (passed in, from
the chart's one name helper). The API must be served (common.capabilities.require:
created, or the render fails naming the API and the fix), and every key the
consumers read must be mapped (rule external-secret-keys; the key lists are the
rule's constants, shared with the validator).
  creationPolicy Owner: the operator creates the Secret and owns it, so it
    goes away with the ExternalSecret (helm uninstall) instead of lingering
    with stale credentials; a Secret of that name that already exists is
    taken over (its data overwritten), unless another ExternalSecret owns it.
  deletionPolicy (values, default Retain): when the Vault entries disappear,
    the last values stay, so running pods keep working.
Usage: {{ include "common.externalSecrets.secret" (dict "credential" "mongodb" "name" (include "mongodb.secretName" .) "component" "mongodb" "context" $) }}
*/}}
{{- define "common.externalSecrets.secret" -}}
{{- $ctx := .context -}}
{{- include "common.capabilities.require" (dict "apiVersion" "external-secrets.io/v1" "kind" "ExternalSecret" "path" "global.secrets.provider=externalSecrets" "provider" "the External Secrets Operator" "context" $ctx) -}}
{{- $es := dig "secrets" "externalSecrets" dict ($ctx.Values.global | default dict) -}}
{{- $store := $es.store | default dict -}}
{{- $mapping := dig "credentials" .credential dict $es -}}
{{- $rule := include "common.rules.constants" "external-secret-keys" | fromJson -}}
{{- range $key := index $rule.keys .credential -}}
{{- if not (hasKey $mapping $key) -}}
{{- include "common.rules.fail" (dict "rule" "external-secret-keys" "args" (dict "credential" $.credential "key" $key "keys" (index $rule.keys $.credential | join ", "))) -}}
{{- end -}}
{{- end -}}
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: {{ .name }}
  namespace: {{ $ctx.Release.Namespace }}
  labels:
    {{- include "common.labels.standard" (dict "component" .component "context" $ctx) | nindent 4 }}
spec:
  refreshInterval: {{ $es.refreshInterval | default "1h" | quote }}
  secretStoreRef:
    kind: {{ $store.kind | default "SecretStore" }}
    name: {{ $store.name }}
  target:
    name: {{ .name }}
    creationPolicy: Owner
    deletionPolicy: {{ $es.deletionPolicy | default "Retain" }}
  data:
    {{- range $key := keys $mapping | sortAlpha }}
    {{- $ref := index $mapping $key }}
    - secretKey: {{ $key }}
      remoteRef:
        key: {{ $ref.remotePath | quote }}
        {{- with $ref.property }}
        property: {{ . | quote }}
        {{- end }}
    {{- end }}
{{- end -}}
