#!/usr/bin/env bash
# Builds what `npm run cluster -- up --real-node` adds to the control plane:
# the kubelet and kube-proxy, from the same prepared k8s.io/kubernetes checkout
# as .ci/install-kube.sh (which must have run: it prepares .cache/kube/src),
# into .cache/realnode/v<version>/bin, and the Prometheus and Alertmanager servers
# the local images carry. Idempotent (version stamps). Starts nothing.
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
if [[ ! -f $MODFILE ]] || ! cmp -s "$SRC/go.mod" "$ROOT/mod/go.mod.orig"; then
  cp "$SRC/go.mod" "$MODFILE"
  cp "$SRC/go.mod" "$ROOT/mod/go.mod.orig"
  cp "$SRC/go.sum" "$ROOT/mod/go.sum"
fi

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

# --- Prometheus and Alertmanager servers for the local images ------------------------------------
# Debian's prometheus has no Kubernetes service discovery (the charts' scrape configs need it), so the
# server is built from the module tools/prometheus pins for promtool (.ci/install-prometheus-tools.sh);
# Alertmanager likewise from tools/prometheus/alertmanager. go.mod/go.sum copies: the tools' own stay untouched.
PROM_MOD="$REPO/tools/prometheus"
build_prometheus_server() {
  local name=$1 dir=$2 module=$3 pkg=$4 version moddir app_version modcopy started v
  version=$(awk -v m="$module" '$1 == "require" && $2 == m {print $3; exit} $1 == m {print $2; exit}' "$dir/go.mod")
  [[ -n $version ]] || die "$module is not required in $dir/go.mod"
  [[ "$(stamp "$name")" == "$version" ]] && return 0
  started=$(now)
  moddir=$(cd "$dir" && gorun mod download -json "$module" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p') || die "cannot download $module"
  app_version=$(cat "$moddir/VERSION" 2>/dev/null || echo "$version")
  modcopy="$ROOT/mod-$name"
  mkdir -p "$modcopy"
  cp "$dir/go.mod" "$dir/go.sum" "$modcopy/"
  log "go: building $name $app_version ($module $version)"
  v=github.com/prometheus/common/version
  (cd "$dir" && GOFLAGS=-mod=mod gorun build -modfile="$modcopy/go.mod" -trimpath \
    -ldflags "-s -w -X $v.Version=$app_version -X $v.Revision=$version -X $v.Branch=HEAD" -o "$BIN/$name" "$pkg")
  write_stamp "$name" "$version"
  log "built $name in $(($(now) - started)) s"
}
build_prometheus_server prometheus "$PROM_MOD" github.com/prometheus/prometheus github.com/prometheus/prometheus/cmd/prometheus
build_prometheus_server alertmanager "$PROM_MOD/alertmanager" github.com/prometheus/alertmanager github.com/prometheus/alertmanager/cmd/alertmanager

missing=()
for tool in containerd:containerd ctr:containerd runc:runc umoci:umoci /usr/lib/cni/bridge:containernetworking-plugins; do
  cmd=${tool%%:*}
  if [[ $cmd == /* ]]; then [[ -x $cmd ]] || missing+=("${tool#*:}"); else command -v "$cmd" >/dev/null || missing+=("${tool#*:}"); fi
done
((${#missing[@]} == 0)) || die "missing Debian packages: apt-get install -y ${missing[*]}"

for name in "${NODE_BINARIES[@]}" prometheus alertmanager; do
  printf '%-24s %s\n' "$name" "$(stamp "$name")"
done
