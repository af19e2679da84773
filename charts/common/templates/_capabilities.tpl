{{/*
True ("true") when the cluster serves the given apiVersion/Kind, e.g.
(dict "apiVersion" "autoscaling.k8s.io/v1" "kind" "VerticalPodAutoscaler" "context" $).
With `helm template`, pass --api-versions to simulate it; where no flag can be
passed (helm lint, ct lint), global.apiVersions lists the APIs the target
cluster serves. Either way the object is rendered, never skipped: if the API is
in fact missing, the API server refuses it ("no matches for kind").
*/}}
{{- define "common.capabilities.has" -}}
{{- $api := printf "%s/%s" .apiVersion .kind -}}
{{- $global := .context.Values.global | default dict -}}
{{- if or (.context.Capabilities.APIVersions.Has $api) (has $api ($global.apiVersions | default list)) -}}true{{- end -}}
{{- end -}}

{{/*
common.capabilities.require: the one behaviour of every CRD-backed object the
charts offer (cert-manager ClusterIssuer, VPA, ServiceMonitor, PrometheusRule):
asked for and served → rendered; asked for and not served → the install fails
here, naming the value, the missing API and the fix. Never a silent skip: an
object you asked for is there, or you are told why not.
Usage: {{ include "common.capabilities.require" (dict "apiVersion" "autoscaling.k8s.io/v1"
         "kind" "VerticalPodAutoscaler" "path" "app.vpa.enabled" "provider" "the Vertical Pod Autoscaler" "context" $) }}
*/}}
{{- define "common.capabilities.require" -}}
{{- if not (include "common.capabilities.has" .) -}}
{{- include "common.rules.fail" (dict "rule" "api-not-served" "args" (dict "path" .path "apiVersion" .apiVersion "kind" .kind "provider" .provider)) -}}
{{- end -}}
{{- end -}}
