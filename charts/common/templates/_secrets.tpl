{{/*
Credentials. Each credential has one owner chart and one Secret, named
<release>-<component> unless an existingSecret is given.

common.secrets.name: the Secret consumers reference.
  (dict "existingSecret" .Values.auth.existingSecret "component" "app" "context" $)
*/}}
{{- define "common.secrets.name" -}}
{{- if .existingSecret -}}
{{- tpl .existingSecret .context -}}
{{- else -}}
{{- include "common.names.fullname" . -}}
{{- end -}}
{{- end -}}

{{/*
common.secrets.value: the base64 value of one key of an owned Secret, in order:
  1. the value given in values,
  2. the live Secret's value (lookup), so `helm upgrade` never regenerates it,
  3. a random alphanumeric string of `length` characters, drawn once per render
     (kept in .Values._generatedSecrets, which no values file can set: the schemas are strict).
(An existingSecret is handled by the caller: the owned Secret is not rendered.)
Usage:
  {{ include "common.secrets.value" (dict "value" .Values.auth.jwtSecret "key" "jwt-secret"
       "secretName" (include "common.names.fullname" (dict "component" "app" "context" $))
       "length" 48 "context" $) }}
*/}}
{{- define "common.secrets.value" -}}
{{- if .value -}}
{{- .value | toString | b64enc -}}
{{- else -}}
{{- $live := lookup "v1" "Secret" .context.Release.Namespace .secretName -}}
{{- $liveData := dig "data" dict ($live | default dict) -}}
{{- if hasKey $liveData .key -}}
{{- index $liveData .key -}}
{{- else -}}
{{- /* One random value per Secret key and render: the Secret and every
       checksum/secret annotation that includes it must see the same value,
       or the first upgrade rolls every pod for nothing. */ -}}
{{- $generated := .context.Values._generatedSecrets | default dict -}}
{{- $cacheKey := printf "%s/%s" .secretName .key -}}
{{- if not (hasKey $generated $cacheKey) -}}
{{- $_ := set $generated $cacheKey (randAlphaNum (.length | default 32 | int) | b64enc) -}}
{{- $_ := set .context.Values "_generatedSecrets" $generated -}}
{{- end -}}
{{- index $generated $cacheKey -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
common.secrets.fromChart: "true" when the chart renders the credential's Secret
itself (generated or inline values): no existingSecret is named and the
credentials do not come from ExternalSecrets (common.externalSecrets.enabled).
The chart's secret.yaml and its pods' checksum/secret annotation ask this.
Usage: {{ if include "common.secrets.fromChart" (dict "existingSecret" .Values.auth.existingSecret "context" $) }}
*/}}
{{- define "common.secrets.fromChart" -}}
{{- if not (or .existingSecret (include "common.externalSecrets.enabled" .context)) -}}true{{- end -}}
{{- end -}}

{{/*
Fails the render when a credential is given both inline and as an
existingSecret or an ExternalSecret: one source only, so nobody wonders which
one is live.
Usage: {{ include "common.secrets.checkSingleSource" (dict "path" "app.auth" "value" .Values.auth.jwtSecret "existingSecret" .Values.auth.existingSecret "context" $) }}
*/}}
{{- define "common.secrets.checkSingleSource" -}}
{{- if .value -}}
{{- if .existingSecret -}}
{{- include "common.rules.fail" (dict "rule" "credential-source" "args" (dict "path" .path "source" "existingSecret")) -}}
{{- else if include "common.externalSecrets.enabled" .context -}}
{{- include "common.rules.fail" (dict "rule" "credential-source" "args" (dict "path" .path "source" "global.secrets.provider externalSecrets")) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
common.secrets.ownerName: the one Secret of a component whose credentials
several charts read (mongodb, redis): global.<component>.existingSecret when
set, else <release>-<component>. Owner and consumers call the same helper, so
they always agree without copying values around.
Usage: {{ include "common.secrets.ownerName" (dict "component" "mongodb" "context" $) }}
*/}}
{{- define "common.secrets.ownerName" -}}
{{- $global := .context.Values.global | default dict -}}
{{- $shared := index $global .component | default dict -}}
{{- include "common.secrets.name" (dict "existingSecret" ($shared.existingSecret | default "") "component" .component "context" .context) -}}
{{- end -}}
