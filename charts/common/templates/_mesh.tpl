{{/*
The Istio mesh (global.mesh): ambient mode only. The namespace runs under Pod
Security "restricted"; the sidecar's istio-init container needs NET_ADMIN and
NET_RAW, which that profile forbids, and even with the Istio CNI node agent
sidecars would hold Jobs and helm test pods open and turn Prometheus' pod-IP
scrapes into plaintext that STRICT mTLS refuses. Ambient changes no pod spec:
the node's ztunnel carries every connection as mTLS (HBONE, TCP 15008) with the
workload's service-account identity. README "Service mesh" says what the user
labels and what the chart labels.
*/}}

{{/* "true" when global.mesh.enabled. */}}
{{- define "common.mesh.enabled" -}}
{{- $global := .Values.global | default dict -}}
{{- $mesh := $global.mesh | default dict -}}
{{- if $mesh.enabled -}}true{{- end -}}
{{- end -}}

{{/* HBONE, ztunnel's inbound mTLS tunnel port: "15008" in the mesh, else empty. */}}
{{- define "common.mesh.hbonePort" -}}
{{- if include "common.mesh.enabled" . -}}15008{{- end -}}
{{- end -}}

{{/* The source address the Istio CNI node agent gives the kubelet's probes of ambient pods (link-local, never routed). */}}
{{- define "common.mesh.probeSource" -}}169.254.7.127/32{{- end -}}

{{/*
Pod labels that put a pod into the mesh (nothing when the mesh is off):
istio.io/dataplane-mode=ambient on every pod the chart runs, so the namespace
itself needs no mesh label.
Usage: {{- include "common.mesh.podLabels" (dict "indent" 8 "context" $) }}
*/}}
{{- define "common.mesh.podLabels" -}}
{{- if include "common.mesh.enabled" .context -}}
{{- "istio.io/dataplane-mode: ambient" | nindent (int .indent) -}}
{{- end -}}
{{- end -}}

{{/*
The service account of a component: in the mesh every workload runs under its
own, <release>-<component>, because the service account is its mTLS identity
(a shared "default" account would let every pod of the namespace pass as any
other). Usage: {{ include "common.mesh.serviceAccountName" (dict "component" "redis" "context" $) }}
*/}}
{{- define "common.mesh.serviceAccountName" -}}
{{- include "common.names.fullname" (dict "component" .component "context" .context) -}}
{{- end -}}

{{/*
The `serviceAccountName:` line of a pod that otherwise runs under "default":
rendered in the mesh only. Usage: {{- include "common.mesh.serviceAccountField" (dict "component" "redis" "indent" 6 "context" $) }}
*/}}
{{- define "common.mesh.serviceAccountField" -}}
{{- if include "common.mesh.enabled" .context -}}
{{- printf "serviceAccountName: %s" (include "common.mesh.serviceAccountName" .) | nindent (int .indent) -}}
{{- end -}}
{{- end -}}

{{/*
A ServiceAccount object for each component, in the mesh only (no API token:
these pods never call the Kubernetes API).
Usage: {{- include "common.mesh.serviceAccounts" (dict "components" (list "redis" "redis-test") "context" $) }}
*/}}
{{- define "common.mesh.serviceAccounts" -}}
{{- $ctx := .context -}}
{{- if include "common.mesh.enabled" $ctx -}}
{{- range .components }}
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "common.mesh.serviceAccountName" (dict "component" . "context" $ctx) }}
  namespace: {{ $ctx.Release.Namespace }}
  labels:
    {{- include "common.labels.standard" (dict "component" . "context" $ctx) | nindent 4 }}
automountServiceAccountToken: false
{{- end }}
{{- end -}}
{{- end -}}

{{/* The SPIFFE principal of a service account of this namespace, as AuthorizationPolicy `principals` spell it. */}}
{{- define "common.mesh.principal" -}}
{{- $global := .context.Values.global | default dict -}}
{{- $mesh := $global.mesh | default dict -}}
{{- printf "%s/ns/%s/sa/%s" ($mesh.trustDomain | default "cluster.local") .context.Release.Namespace .serviceAccount -}}
{{- end -}}

{{/* The Istio security API must be served: created, or the render fails naming it (common.capabilities.require). */}}
{{- define "common.mesh.requireApi" -}}
{{- include "common.capabilities.require" (dict "apiVersion" "security.istio.io/v1" "kind" .kind "path" "global.mesh.enabled" "provider" "Istio" "context" .context) -}}
{{- end -}}
