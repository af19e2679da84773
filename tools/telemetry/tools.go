//go:build tools

// Package telemetry pins Jaeger (cmd/jaeger, the v2 binary) next to the
// collector distribution in otelcol/, so both build from one set of
// OpenTelemetry module versions (Jaeger's).
package telemetry

import _ "github.com/jaegertracing/jaeger/cmd/jaeger"
