//go:build tools

// Package tools pins the upstream promtool matching the deployed Prometheus
// (image prom/prometheus v3.5.0 = Go module github.com/prometheus/prometheus
// v0.305.0). Unlike Debian's promtool it is built with Kubernetes service
// discovery. .ci/install-prometheus-tools.sh builds it with `go install`.
package tools

import (
	_ "github.com/prometheus/prometheus/cmd/promtool"
)
