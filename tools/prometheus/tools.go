//go:build tools

// Package tools pins the upstream promtool matching the deployed Prometheus
// (image prom/prometheus v3.13.5 = Go module github.com/prometheus/prometheus
// v0.313.5). Unlike Debian's promtool it is built with Kubernetes service
// discovery. .ci/install-prometheus-tools.sh builds it with `go install`.
package tools

import (
	_ "github.com/prometheus/prometheus/cmd/promtool"
)
