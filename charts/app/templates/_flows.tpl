{{/*
Who may connect to the app: the one description both the NetworkPolicy and the
AuthorizationPolicy are generated from (charts/common/templates/_flows.tpl).
*/}}
{{- define "app.flows" -}}
{{- $np := .Values.networkPolicy -}}
- component: app
  selector:
    {{- include "app.selectorLabels" . | nindent 4 }}
  ingress:
    # The ingress controller: namespace AND pod selector in one peer (the seed's
    # two separate peers would also admit any same-named pod in any namespace);
    # and the helm test pods of this release, which call /health.
    - ports: [{{ .Values.containerPort }}]
      from:
        - {{ include "common.flows.valuesPeer" (dict "peer" $np.ingressController "allNamespaces" true "values" "app.networkPolicy.ingressController") }}
        - component: test
    {{- if .Values.metrics.enabled }}
    # Prometheus scrapes the app's own port.
    - ports: [{{ .Values.containerPort }}]
      from:
        - {{ include "common.flows.valuesPeer" (dict "peer" $np.prometheus "values" "app.networkPolicy.prometheus") }}
    {{- end }}
{{- end -}}
