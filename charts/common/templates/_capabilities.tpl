{{/*
True ("true") when the cluster serves the given apiVersion/Kind, e.g.
(dict "apiVersion" "autoscaling.k8s.io/v1" "kind" "VerticalPodAutoscaler" "context" $).
With `helm template`, pass --api-versions to simulate it.
*/}}
{{- define "common.capabilities.has" -}}
{{- if .context.Capabilities.APIVersions.Has (printf "%s/%s" .apiVersion .kind) -}}true{{- end -}}
{{- end -}}
