{{/*
prometheus.yml (seed 001: global 15s, the app every 10s on /metrics, the
MongoDB exporter, the Redis exporter, optional node-exporter targets, the rule
file techshop_rules.yml, alerts to the chart's Alertmanager). Discovery is
Kubernetes service discovery restricted to the release namespace; targets are
kept by the labels and port names the app, mongodb and redis charts render.
*/}}
{{- define "monitoring.prometheusConfig" -}}
{{- $ns := .Release.Namespace -}}
{{- $release := .Release.Name -}}
{{- $t := .Values.targets -}}
global:
  scrape_interval: {{ .Values.prometheus.scrapeInterval }}
  evaluation_interval: {{ .Values.prometheus.evaluationInterval }}
rule_files:
  - techshop_rules.yml
alerting:
  alertmanagers:
    - static_configs:
        - targets:
            - {{ printf "%s:9093" (include "common.names.fullname" (dict "component" "alertmanager" "context" .)) }}
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets:
          - localhost:9090
{{- if $t.app.enabled }}
  # Every app pod (not the Service, which would hit one random pod per scrape).
  - job_name: {{ include "monitoring.job.app" . }}
    scrape_interval: {{ $t.app.interval }}
    metrics_path: {{ $t.app.path }}
    kubernetes_sd_configs:
      - role: pod
        namespaces:
          names:
            - {{ $ns }}
    relabel_configs:
      - source_labels:
          - __meta_kubernetes_pod_label_app_kubernetes_io_instance
          - __meta_kubernetes_pod_label_app_kubernetes_io_component
          - __meta_kubernetes_pod_container_port_name
        regex: {{ printf "%s;app;http" $release | quote }}
        action: keep
      - source_labels:
          - __meta_kubernetes_pod_annotation_prometheus_io_scrape
        regex: "true"
        action: keep
      - source_labels:
          - __meta_kubernetes_pod_phase
        regex: Succeeded|Failed
        action: drop
      - source_labels:
          - __meta_kubernetes_pod_annotation_prometheus_io_path
        regex: (/.*)
        target_label: __metrics_path__
      {{- include "monitoring.podTargetLabels" . | nindent 6 }}
{{- end }}
{{- range $component := list "mongodb" "redis" }}
{{- if (index $t $component).enabled }}
  # The exporter behind the {{ $component }} chart's metrics Service (port named metrics).
  - job_name: {{ include (printf "monitoring.job.%s" $component) $ }}
    kubernetes_sd_configs:
      - role: endpointslice
        namespaces:
          names:
            - {{ $ns }}
    relabel_configs:
      - source_labels:
          - __meta_kubernetes_service_name
          - __meta_kubernetes_service_label_app_kubernetes_io_instance
          - __meta_kubernetes_service_label_app_kubernetes_io_component
          - __meta_kubernetes_endpointslice_port_name
        regex: {{ printf "%s;%s;%s;metrics" (include "monitoring.metricsService" (dict "component" $component "context" $)) $release $component | quote }}
        action: keep
      - source_labels:
          - __meta_kubernetes_service_name
        target_label: service
      {{- include "monitoring.podTargetLabels" $ | nindent 6 }}
{{- end }}
{{- end }}
{{- include "monitoring.tracing.scrapeJob" . | indent 2 }}
{{- if .Values.kubeStateMetrics.enabled }}
  # An existing kube-state-metrics, through its Service; honor_labels keeps the
  # namespace/pod labels of the objects it describes.
  - job_name: kube-state-metrics
    honor_labels: true
    static_configs:
      - targets:
          - {{ printf "%s.%s.svc:%v" .Values.kubeStateMetrics.service .Values.kubeStateMetrics.namespace .Values.kubeStateMetrics.port }}
    metric_relabel_configs:
      - source_labels:
          - namespace
        regex: {{ $ns }}
        action: keep
{{- end }}
{{- if .Values.kubelet.enabled }}
  # Each kubelet's own /metrics (authorised as nodes/metrics), for PVC usage
  # only. Node discovery gives the node's address with the kubelet port. The
  # kubelet's serving certificate is checked against the cluster CA of the
  # service account (managed clusters and kubelets with serverTLSBootstrap
  # sign it there); kubelet.insecureSkipVerify is for clusters whose kubelets
  # serve a self-signed certificate (kubeadm's and kind's default).
  - job_name: kubelet
    scheme: https
    tls_config:
      {{- if .Values.kubelet.insecureSkipVerify }}
      insecure_skip_verify: true
      {{- else }}
      ca_file: /var/run/secrets/kubernetes.io/serviceaccount/ca.crt
      {{- end }}
    authorization:
      credentials_file: /var/run/secrets/kubernetes.io/serviceaccount/token
    kubernetes_sd_configs:
      - role: node
    relabel_configs:
      - source_labels:
          - __address__
        regex: ([^:]+)(?::\d+)?
        target_label: __address__
        replacement: ${1}:{{ .Values.kubelet.port }}
      - source_labels:
          - __meta_kubernetes_node_name
        target_label: node
    metric_relabel_configs:
      - source_labels:
          - __name__
          - namespace
        regex: {{ printf "kubelet_volume_stats_(capacity|used|available)_bytes;%s" $ns | quote }}
        action: keep
{{- end }}
{{- if .Values.nodeExporter.enabled }}
  # node-exporter on every node (seed 001: the kubelet address, port 9100).
  - job_name: kubernetes-nodes
    kubernetes_sd_configs:
      - role: node
    relabel_configs:
      - source_labels:
          - __address__
        regex: (.*):10250
        target_label: __address__
        replacement: {{ printf "${1}:%v" .Values.nodeExporter.port | quote }}
      - source_labels:
          - __meta_kubernetes_node_name
        target_label: node
{{- end }}
{{- end -}}

{{- define "monitoring.podTargetLabels" -}}
- source_labels:
    - __meta_kubernetes_namespace
  target_label: namespace
- source_labels:
    - __meta_kubernetes_pod_name
  target_label: pod
- source_labels:
    - __meta_kubernetes_pod_container_name
  target_label: container
{{- end -}}
