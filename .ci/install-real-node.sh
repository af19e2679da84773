#!/usr/bin/env bash
# Builds what `npm run cluster -- up --real-node` adds to the control plane:
# the kubelet and kube-proxy, from the same prepared k8s.io/kubernetes checkout
# as .ci/install-kube.sh (which must have run: it prepares .cache/kube/src),
# into .cache/realnode/v<version>/bin. Idempotent (version stamps). Starts nothing.
#
# The container runtime (containerd, runc), the CNI plugins and the image tools
# (umoci, skopeo) come from Debian packages; this script only checks that they
# are installed and says which package is missing.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KUBE_VERSION=$(awk '$1 == "kubernetes" {print $2}' "$REPO/tools/kube/versions")
SRC="$REPO/.cache/kube/src/kubernetes-$KUBE_VERSION"
ROOT="$REPO/.cache/realnode"
BIN="$ROOT/v$KUBE_VERSION/bin"
GO_TIMEOUT=${GO_TIMEOUT:-2700}

LOG_NAME=install-real-node
# shellcheck source=.ci/lib.sh
source "$REPO/.ci/lib.sh"
now() { date +%s; }

NODE_BINARIES=(kubelet kube-proxy)

command -v go >/dev/null || die "Go >= 1.24 is required (go not found)"
[[ -f $SRC/.prepared ]] || die "no prepared k8s.io/kubernetes source: run .ci/install-kube.sh first"
mkdir -p "$BIN"
lock "$ROOT"

MODFILE="$ROOT/mod/go.mod"
mkdir -p "$ROOT/mod"
[[ -f $MODFILE ]] && cmp -s "$SRC/go.mod" "$ROOT/mod/go.mod.orig" || {
  cp "$SRC/go.mod" "$MODFILE" && cp "$SRC/go.mod" "$ROOT/mod/go.mod.orig" && cp "$SRC/go.sum" "$ROOT/mod/go.sum"
}

minor=${KUBE_VERSION#*.}
minor=${minor%%.*}
pkg=k8s.io/component-base/version
ldflags="-s -w -X $pkg.gitVersion=v$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
for name in "${NODE_BINARIES[@]}"; do
  [[ "$(stamp "$name")" == "$KUBE_VERSION" ]] && continue
  started=$(now)
  log "go: building $name v$KUBE_VERSION"
  # The checkout belongs to install-kube.sh: the node binaries may need go.sum lines the control plane did
  # not, so they are resolved against a copy of go.mod/go.sum in our own folder (-modfile).
  (cd "$SRC" && GOFLAGS=-mod=mod gorun build -modfile="$MODFILE" -trimpath -ldflags "$ldflags" -o "$BIN/$name" "./cmd/$name")
  write_stamp "$name" "$KUBE_VERSION"
  log "built $name in $(($(now) - started)) s"
done

missing=()
for tool in containerd:containerd ctr:containerd runc:runc umoci:umoci /usr/lib/cni/bridge:containernetworking-plugins; do
  cmd=${tool%%:*}
  if [[ $cmd == /* ]]; then [[ -x $cmd ]] || missing+=("${tool#*:}"); else command -v "$cmd" >/dev/null || missing+=("${tool#*:}"); fi
done
((${#missing[@]} == 0)) || die "missing Debian packages: apt-get install -y ${missing[*]}"

for name in "${NODE_BINARIES[@]}"; do
  printf '%-24s %s\n' "$name" "$(stamp "$name")"
done
