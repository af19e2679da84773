#!/usr/bin/env bash
# Builds the telemetry programs the tracing and logging charts deploy, from the
# Go module proxy, into .cache/telemetry-tools/<version>/:
#
#   otelcol  an OpenTelemetry Collector distribution with only the components
#            the rendered configs use (tools/telemetry/otelcol/main.go)
#   jaeger   Jaeger v2 (github.com/jaegertracing/jaeger, cmd/jaeger)
#
# Usage: .ci/install-telemetry-tools.sh [--print-dir]
#
# Both come from one Go module (tools/telemetry/go.mod), so the collector gets
# Jaeger's OpenTelemetry versions and the two builds share compiled packages.
# The cache directory is named after that go.mod's hash: a changed pin builds
# afresh, an unchanged one returns at once (idempotent).
# The collector carries the filelog receiver and the Elasticsearch exporter for
# charts/logging too. Versions: Jaeger v1.75.0 (= v2.12.0) because its
# OpenTelemetry line (v0.139) is one the proxy serves the Elasticsearch exporter
# for (v0.140.0 is refused with 403). The checksum database has no entry for
# that exporter module, so its go.sum line is the proxy's hash, recorded once
# with GONOSUMDB set for that module only; builds verify against go.sum.
# A cold build takes about 15 minutes on 2 loaded cores (collector ~5, Jaeger ~10).
# Prerequisites: Go >= 1.24, the Go module proxy.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MOD="$REPO/tools/telemetry"
# Seconds allowed for one go command (gorun).
GO_TIMEOUT=${GO_TIMEOUT:-2400}

LOG_NAME=install-telemetry-tools
# shellcheck source=.ci/lib.sh
source "$REPO/.ci/lib.sh"

command -v go >/dev/null || die "Go >= 1.24 is required (go not found)"
jaeger_version=$(awk '$1 == "github.com/jaegertracing/jaeger" {print $2; exit}' "$MOD/go.mod")
otel_version=$(awk '$1 == "go.opentelemetry.io/collector/otelcol" {print $2; exit}' "$MOD/go.mod")
[[ -n $jaeger_version && -n $otel_version ]] || die "cannot read the pinned versions from tools/telemetry/go.mod"
key=$(cat "$MOD/go.mod" "$MOD/go.sum" "$MOD/otelcol/main.go" | sha256sum | cut -c1-12)
OUT="$REPO/.cache/telemetry-tools/$key"
# --print-dir: where this checkout's binaries are (the tests ask; .cache is
# shared between checkouts, so no "current" link that another one could move).
if [[ ${1:-} == --print-dir ]]; then
  printf '%s\n' "$OUT"
  exit 0
fi
mkdir -p "$REPO/.cache/telemetry-tools"
lock "$REPO/.cache/telemetry-tools"

if [[ -x $OUT/otelcol && -x $OUT/jaeger ]]; then
  log "otelcol $otel_version and jaeger $jaeger_version already built ($OUT)"
else
  tmp="$OUT.tmp"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  start=$SECONDS
  log "go: downloading modules (jaeger $jaeger_version, collector $otel_version)"
  (cd "$MOD" && gorun mod download) || die "go mod download failed"
  log "go: modules ready ($((SECONDS - start)) s); building otelcol"
  (cd "$MOD" && GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0 \
    gorun build -trimpath -ldflags "-s -w -X main.version=$otel_version" -o "$tmp/otelcol" ./otelcol) ||
    die "go build otelcol failed"
  log "otelcol built ($((SECONDS - start)) s); building jaeger"
  (cd "$MOD" && GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0 \
    gorun build -trimpath -ldflags "-s -w" -o "$tmp/jaeger" github.com/jaegertracing/jaeger/cmd/jaeger) ||
    die "go build jaeger failed"
  log "jaeger built ($((SECONDS - start)) s)"
  rm -rf "$OUT"
  mv "$tmp" "$OUT"
fi
"$OUT/otelcol" components >/dev/null || die "$OUT/otelcol does not run"
printf '%-18s %s\n' otelcol "$otel_version" jaeger "$jaeger_version"
