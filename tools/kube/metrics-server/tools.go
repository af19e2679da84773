//go:build tools

// Pins sigs.k8s.io/metrics-server for .ci/install-kube.sh: the resource metrics API
// (metrics.k8s.io) the HorizontalPodAutoscaler reads, scraping kwok's simulated
// kubelet /metrics/resource endpoints in the faults tier.
package tools

import _ "sigs.k8s.io/metrics-server/cmd/metrics-server"
