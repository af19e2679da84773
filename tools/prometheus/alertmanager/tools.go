//go:build tools

// Package tools pins the upstream amtool matching the deployed Alertmanager
// (image prom/alertmanager v0.28.1 = Go module github.com/prometheus/alertmanager
// v0.28.1). A module of its own so amtool is built against Alertmanager's own
// dependency versions, not the newer ones Prometheus pulls in.
// .ci/install-prometheus-tools.sh builds it with `go install`.
package tools

import (
	_ "github.com/prometheus/alertmanager/cmd/amtool"
)
