#!/usr/bin/env bash
# Builds the object storage programs the objectstore chart's tests run, from
# the Go module proxy, into .cache/objectstore-tools/<version>/:
#
#   minio  the MinIO server (github.com/minio/minio), the program the chart deploys
#   mc     the MinIO client (github.com/minio/mc), the program the chart's bucket Job runs
#
# Usage: .ci/install-objectstore-tools.sh [--print-dir]
#
# The proxy refuses MinIO's RELEASE.* tags (403), so both are pinned as the
# pseudo-versions of their newest commits it serves. The cache directory is
# named after both pins: a changed pin builds afresh, an unchanged one returns
# at once (idempotent). Starts no services.
# Prerequisites: Go >= 1.24, the Go module proxy.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MINIO_MODULE=github.com/minio/minio
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
MC_MODULE=github.com/minio/mc
MC_VERSION=v0.0.0-20250313080218-cf909e1063a9
# Seconds allowed for one go command (gorun).
GO_TIMEOUT=${GO_TIMEOUT:-2400}

LOG_NAME=install-objectstore-tools
# shellcheck source=.ci/lib.sh
source "$REPO/.ci/lib.sh"

key=$(printf '%s\n' "$MINIO_VERSION" "$MC_VERSION" | sha256sum | cut -c1-12)
OUT="$REPO/.cache/objectstore-tools/$key"
# --print-dir: where this checkout's binaries are (the tests ask).
if [[ ${1:-} == --print-dir ]]; then
  printf '%s\n' "$OUT"
  exit 0
fi
command -v go >/dev/null || die "Go >= 1.24 is required (go not found)"
mkdir -p "$REPO/.cache/objectstore-tools"
lock "$REPO/.cache/objectstore-tools"

# build NAME MODULE VERSION: go install of the module's main package at VERSION
# (its own go.mod and go.sum, verified against the checksum database).
build() {
  local name=$1 module=$2 version=$3 start=$SECONDS
  log "go: building $name ($module@$version)"
  GOBIN="$OUT.tmp" CGO_ENABLED=0 GOFLAGS=-buildvcs=false \
    gorun install -trimpath -ldflags "-s -w" "$module@$version" || die "go install $module@$version failed"
  log "$name built ($((SECONDS - start)) s)"
}

if [[ -x $OUT/minio && -x $OUT/mc ]]; then
  log "minio and mc already built ($OUT)"
else
  rm -rf "$OUT.tmp"
  mkdir -p "$OUT.tmp"
  build minio "$MINIO_MODULE" "$MINIO_VERSION"
  build mc "$MC_MODULE" "$MC_VERSION"
  rm -rf "$OUT"
  mv "$OUT.tmp" "$OUT"
fi
"$OUT/minio" --version >/dev/null || die "$OUT/minio does not run"
"$OUT/mc" --version >/dev/null || die "$OUT/mc does not run"
printf '%-18s %s\n' minio "$MINIO_VERSION" mc "$MC_VERSION"
