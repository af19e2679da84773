{{/* Shorthands for this chart's components; the logic lives in charts/common. */}}
{{- define "monitoring.fullname" -}}
{{- include "common.names.fullname" (dict "component" .component "context" .context) -}}
{{- end -}}

{{- define "monitoring.labels" -}}
{{- include "common.labels.standard" (dict "component" .component "context" .context) -}}
{{- end -}}

{{- define "monitoring.selectorLabels" -}}
{{- include "common.labels.selector" (dict "component" .component "context" .context) -}}
{{- end -}}

{{/* True ("true") in standalone mode. */}}
{{- define "monitoring.standalone" -}}
{{- if eq .Values.mode "standalone" -}}true{{- end -}}
{{- end -}}

{{/*
Operator objects are rendered in operator mode; the install fails with the
fix when the cluster does not serve their CRD (common.capabilities.require):
(dict "kind" "ServiceMonitor" "context" $).
*/}}
{{- define "monitoring.operatorServes" -}}
{{- $ctx := .context -}}
{{- if eq $ctx.Values.mode "operator" -}}
{{- include "common.capabilities.require" (dict "apiVersion" "monitoring.coreos.com/v1" "kind" .kind "path" "monitoring.mode=operator" "provider" "the Prometheus operator" "context" $ctx) -}}
true
{{- end -}}
{{- end -}}

{{/*
Rules that need kube-state-metrics / kubelet series are rendered only where
those series exist: in operator mode (the stack scrapes both) or when this
chart's Prometheus scrapes them. An alert that can never fire is worse than none.
*/}}
{{- define "monitoring.hasKubeStateMetrics" -}}
{{- if or (eq .Values.mode "operator") .Values.kubeStateMetrics.enabled -}}true{{- end -}}
{{- end -}}

{{- define "monitoring.hasKubelet" -}}
{{- if or (eq .Values.mode "operator") .Values.kubelet.enabled -}}true{{- end -}}
{{- end -}}

{{/* Whether Prometheus needs cluster-scoped read access (nodes). */}}
{{- define "monitoring.needsClusterRole" -}}
{{- if and (include "monitoring.standalone" .) (or .Values.kubelet.enabled .Values.nodeExporter.enabled) -}}true{{- end -}}
{{- end -}}

{{/* Scrape job names; fixed so rules and dashboards (static JSON) agree in both modes. */}}
{{- define "monitoring.job.app" -}}techshop-app{{- end -}}
{{- define "monitoring.job.mongodb" -}}mongodb{{- end -}}
{{- define "monitoring.job.redis" -}}redis{{- end -}}

{{/* Name of the Service the mongodb / redis chart puts its exporter behind. */}}
{{- define "monitoring.metricsService" -}}
{{- printf "%s-metrics" (include "common.names.fullname" (dict "component" .component "context" .context)) -}}
{{- end -}}

{{/* Grafana admin Secret: the user's existingSecret or the chart's own. */}}
{{- define "monitoring.grafanaSecretName" -}}
{{- include "common.secrets.name" (dict "existingSecret" .Values.grafana.admin.existingSecret "component" "grafana" "context" .) -}}
{{- end -}}

{{/* Container ports and in-cluster URLs. */}}
{{- define "monitoring.prometheusUrl" -}}
{{- printf "http://%s:9090" (include "common.names.fullname" (dict "component" "prometheus" "context" .)) -}}
{{- end -}}

{{/* A NetworkPolicy peer that selects a component of this release. */}}
{{- define "monitoring.peer" -}}
- podSelector:
    matchLabels:
      {{- include "common.labels.componentSelector" (dict "component" .component "context" .context) | nindent 6 }}
{{- end -}}

{{/* A peer from {namespaceSelector, podSelector} values; both must match. */}}
{{- define "monitoring.valuesPeer" -}}
- podSelector:
    matchLabels:
      {{- toYaml .podSelector | nindent 6 }}
  {{- with .namespaceSelector }}
  namespaceSelector:
    matchLabels:
      {{- toYaml . | nindent 6 }}
  {{- end }}
{{- end -}}

{{/*
Alertmanager configuration from values, refusing inline credentials: every
secret a receiver needs comes from alertmanager.existingSecret as a file
(url_file, api_url_file, auth_password_file, routing_key_file, ...).
*/}}
{{- define "monitoring.alertmanagerConfig" -}}
{{- $keys := include "common.rules.constants" "alertmanager-inline-credential" | fromJson -}}
{{- $inline := $keys.receiverKeys -}}
{{- $config := deepCopy .Values.alertmanager.config -}}
{{- range $key, $value := ($config.global | default dict) -}}
{{- if has $key $keys.globalKeys -}}
{{- include "common.rules.fail" (dict "rule" "alertmanager-inline-credential" "args" (dict "path" (printf "global.%s" $key) "key" $key)) -}}
{{- end -}}
{{- end -}}
{{- range $i, $receiver := ($config.receivers | default list) -}}
{{- range $kind, $configs := $receiver -}}
{{- if kindIs "slice" $configs -}}
{{- range $j, $item := $configs -}}
{{- include "monitoring.refuseInline" (dict "node" $item "path" (printf "receivers[%d].%s[%d]" $i $kind $j) "inline" $inline) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $names := dict "receivers" list "time_intervals" list -}}
{{- range $list := list "receivers" "time_intervals" -}}
{{- range $index, $item := (index $config $list | default list) -}}
{{- /* rule alertmanager-duplicate-name (validator twin: alertmanagerUniqueNames) */ -}}
{{- if has (toString $item.name) (index $names $list) -}}
{{- $first := 0 -}}
{{- range $j, $name := (index $names $list) -}}{{- if eq $name (toString $item.name) -}}{{- $first = $j -}}{{- end -}}{{- end -}}
{{- include "common.rules.fail" (dict "rule" "alertmanager-duplicate-name" "args" (dict "list" $list "index" $index "name" (toString $item.name) "first" $first)) -}}
{{- end -}}
{{- $_ := set $names $list (append (index $names $list) (toString $item.name)) -}}
{{- end -}}
{{- end -}}
{{- include "monitoring.checkRoute" (dict "route" $config.route "path" "route" "names" $names) -}}
{{- toYaml $config -}}
{{- end -}}

{{/*
Every receiver and time interval a route names, in the whole tree (depth
first), must be defined: Alertmanager refuses the config otherwise (rule
alertmanager-reference; the validator's twin is alertmanagerReferences).
*/}}
{{- define "monitoring.checkRoute" -}}
{{- $ctx := . -}}
{{- $receivers := .names.receivers -}}
{{- $intervals := index .names "time_intervals" -}}
{{- with .route.receiver -}}
{{- if not (has (toString .) $receivers) -}}
{{- include "common.rules.fail" (dict "rule" "alertmanager-reference" "args" (dict "path" (printf "%s.receiver" $ctx.path) "kind" "receiver" "name" (toString .) "list" "receivers" "known" (join ", " $receivers | default "(none)"))) -}}
{{- end -}}
{{- end -}}
{{- range $key := list "mute_time_intervals" "active_time_intervals" -}}
{{- range $i, $name := (index $ctx.route $key | default list) -}}
{{- if not (has (toString $name) $intervals) -}}
{{- include "common.rules.fail" (dict "rule" "alertmanager-reference" "args" (dict "path" (printf "%s.%s[%d]" $ctx.path $key $i) "kind" "time interval" "name" (toString $name) "list" "time_intervals" "known" (join ", " $intervals | default "(none)"))) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- range $i, $child := (.route.routes | default list) -}}
{{- if kindIs "map" $child -}}
{{- include "monitoring.checkRoute" (dict "route" $child "path" (printf "%s.routes[%d]" $ctx.path $i) "names" $ctx.names) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "monitoring.refuseInline" -}}
{{- $ctx := . -}}
{{- range $key, $value := .node -}}
{{- if kindIs "map" $value -}}
{{- include "monitoring.refuseInline" (dict "node" $value "path" (printf "%s.%s" $ctx.path $key) "inline" $ctx.inline) -}}
{{- else if has $key $ctx.inline -}}
{{- include "common.rules.fail" (dict "rule" "alertmanager-inline-credential" "args" (dict "path" (printf "%s.%s" $ctx.path $key) "key" $key)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
