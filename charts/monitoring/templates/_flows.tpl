{{/*
Who may connect to Prometheus, Alertmanager and Grafana: the one description
both the NetworkPolicies and the AuthorizationPolicies are generated from
(charts/common/templates/_flows.tpl). The helm test pods admit nothing.
*/}}
{{- define "monitoring.flows" -}}
{{- $tests := .Values.tests.enabled -}}
- component: prometheus
  selector:
    {{- include "monitoring.selectorLabels" (dict "component" "prometheus" "context" .) | nindent 4 }}
  ingress:
    - ports: [9090]
      from:
        - component: grafana
        {{- if $tests }}
        - component: monitoring-test
        {{- end }}
- component: alertmanager
  selector:
    {{- include "monitoring.selectorLabels" (dict "component" "alertmanager" "context" .) | nindent 4 }}
  ingress:
    - ports: [9093]
      from:
        - component: prometheus
        {{- if $tests }}
        - component: monitoring-test
        {{- end }}
- component: grafana
  selector:
    {{- include "monitoring.selectorLabels" (dict "component" "grafana" "context" .) | nindent 4 }}
  ingress:
    # the ingress controller (both selectors must match), and helm test pods.
    - ports: [3000]
      from:
        - {{ include "common.flows.valuesPeer" (dict "peer" .Values.networkPolicy.grafanaIngress "allNamespaces" true "values" "monitoring.networkPolicy.grafanaIngress") }}
        {{- if $tests }}
        - component: monitoring-test
        {{- end }}
{{- end -}}
