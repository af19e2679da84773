#!/usr/bin/env bash
# Builds the real programs the backup chart's script tests run, from the Go
# module proxy, into .cache/backup-tools/bin. Idempotent: a run with every
# binary present at its pinned version does nothing. Starts no services.
#
#   mongodump, mongorestore, mongoimport, mongoexport
#       github.com/mongodb/mongo-tools (MongoDB Database Tools; the repo tags
#       are not semver, so a pseudo-version of the commit after 100.9.5 is
#       pinned). The tests run them against real mongod (.ci/install-mongo-tools.sh).
#   s3server
#       a 20-line main around github.com/johannesboyne/gofakes3 (in-memory
#       S3-compatible server, path-style), for the real aws CLI to talk to.
#
# Prerequisites: Go >= 1.22. Bounded: every go command runs under `timeout`.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROOT="$REPO/.cache/backup-tools"
BIN="$ROOT/bin"
SRC="$ROOT/src"
GO_TIMEOUT=${BACKUP_TOOLS_GO_TIMEOUT:-900}

MONGO_TOOLS_MODULE=github.com/mongodb/mongo-tools
MONGO_TOOLS_VERSION=v0.0.0-20240724183527-6d4f001be3fc
MONGO_TOOLS_LABEL=100.9.5-6d4f001be3fc
# The checksum database does not serve this pseudo-version, so the module is
# fetched with GONOSUMDB and checked against this hash (from its first download).
MONGO_TOOLS_H1=h1:BOTtfrCNuPnXgnEDvmXYiP0K8WF5JzDh3dQwZ9QThF0=
MONGO_TOOLS=(mongodump mongorestore mongoimport mongoexport)

GOFAKES3_MODULE=github.com/johannesboyne/gofakes3
GOFAKES3_VERSION=v0.0.0-20250106100439-5c39aecd6999

LOG_NAME=install-backup-tools
# shellcheck source=.ci/lib.sh
source "$REPO/.ci/lib.sh"

command -v go >/dev/null || die "Go >= 1.22 is required (go not found)"
mkdir -p "$BIN" "$SRC"
lock "$ROOT"

# --- MongoDB Database Tools ---------------------------------------------------------
install_mongo_tools() {
  local want="$MONGO_TOOLS_VERSION" tool missing=0
  for tool in "${MONGO_TOOLS[@]}"; do
    [[ "$(stamp "$tool")" == "$want" ]] || missing=1
  done
  ((missing)) || return 0

  local dir="$SRC/mongo-tools"
  mkdir -p "$dir"
  log "go: building ${MONGO_TOOLS[*]} ($MONGO_TOOLS_LABEL)"
  cat >"$dir/go.mod" <<EOF
module techshop.local/backup-tools/mongo-tools

go 1.22

require $MONGO_TOOLS_MODULE $want
EOF
  {
    printf '//go:build tools\n\npackage tools\n\nimport (\n'
    for tool in "${MONGO_TOOLS[@]}"; do printf '\t_ "%s/%s/main"\n' "$MONGO_TOOLS_MODULE" "$tool"; done
    printf ')\n'
  } >"$dir/tools.go"
  rm -f "$dir/go.sum"
  (cd "$dir" && GONOSUMDB=$MONGO_TOOLS_MODULE GOFLAGS=-mod=mod gorun mod tidy)
  grep -qxF "$MONGO_TOOLS_MODULE $want $MONGO_TOOLS_H1" "$dir/go.sum" ||
    die "$MONGO_TOOLS_MODULE@$want does not match the pinned hash $MONGO_TOOLS_H1"
  for tool in "${MONGO_TOOLS[@]}"; do
    (cd "$dir" && GONOSUMDB=$MONGO_TOOLS_MODULE GOFLAGS=-mod=mod gorun build -trimpath \
      -ldflags "-s -w -X main.VersionStr=$MONGO_TOOLS_LABEL -X main.GitCommit=${want##*-}" \
      -o "$BIN/$tool" "$MONGO_TOOLS_MODULE/$tool/main")
    write_stamp "$tool" "$want"
  done
}

# --- S3-compatible server ----------------------------------------------------------------
install_s3server() {
  [[ "$(stamp s3server)" == "$GOFAKES3_VERSION" ]] && return 0
  log "go: building s3server (gofakes3 $GOFAKES3_VERSION)"
  local dir="$SRC/s3server"
  mkdir -p "$dir"
  cat >"$dir/go.mod" <<EOF
module techshop.local/backup-tools/s3server

go 1.22

require $GOFAKES3_MODULE $GOFAKES3_VERSION
EOF
  cat >"$dir/main.go" <<'EOF'
// An in-memory S3-compatible server for tests: path-style, any credentials.
package main

import (
	"flag"
	"log"
	"net/http"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9000", "listen address")
	flag.Parse()
	faker := gofakes3.New(s3mem.New())
	log.Printf("listening on %s", *addr)
	log.Fatal(http.ListenAndServe(*addr, faker.Server()))
}
EOF
  rm -f "$dir/go.sum"
  (cd "$dir" && GOFLAGS=-mod=mod gorun mod tidy && gorun build -trimpath -ldflags "-s -w" -o "$BIN/s3server" .)
  write_stamp s3server "$GOFAKES3_VERSION"
}

install_mongo_tools
install_s3server

for tool in "${MONGO_TOOLS[@]}" s3server; do
  printf '%-16s %s\n' "$tool" "$(stamp "$tool")"
done
