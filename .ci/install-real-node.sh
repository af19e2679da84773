#!/usr/bin/env bash
# Builds what `npm run cluster -- up --real-node` adds to the control plane:
# the kubelet and kube-proxy, from the same prepared k8s.io/kubernetes checkout
# as .ci/install-kube.sh (which must have run: it prepares .cache/kube/src),
# into .cache/realnode/v<version>/bin, and the Prometheus and Alertmanager servers
# the local images carry. Idempotent (version stamps). Starts nothing.
#
# The container runtime (containerd, runc), the CNI plugins and busybox come from
# Debian packages: checked, and installed with --apt (root, or sudo).
#
#   .ci/install-real-node.sh [--apt] [--images]
#     --apt      apt-get install the missing Debian packages
#     --images   then assemble the local images (.ci/build-images.sh)
#
# Exit 3, with every reason, when this machine cannot run a real node at all
# (not root, no writable cgroup v1 hierarchy, no br_netfilter): .ci/run then
# leaves the real-node tests out and the kwok path stands alone.
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
APT=0 IMAGES=0
for arg in "$@"; do
  case $arg in
    --apt) APT=1 ;;
    --images) IMAGES=1 ;;
    *) die "unknown argument $arg (usage: .ci/install-real-node.sh [--apt] [--images])" ;;
  esac
done

# --- can this machine run a kubelet at all? ----------------------------------------------------
reasons=()
[[ $EUID -eq 0 ]] || reasons+=("not root: the kubelet, containerd and the pods' bridge need uid 0")
for controller in cpu cpuacct cpuset memory pids devices freezer blkio systemd; do
  [[ -w /sys/fs/cgroup/$controller ]] || reasons+=("/sys/fs/cgroup/$controller: no writable cgroup v1 hierarchy (the kubelet's cgroupfs driver needs it)")
done
[[ -e /proc/sys/net/bridge/bridge-nf-call-iptables ]] || reasons+=("no br_netfilter (Service traffic between pods on the bridge needs it)")
if ((${#reasons[@]})); then
  for reason in "${reasons[@]}"; do log "cannot run a real node: $reason"; done
  exit 3
fi

# --- Debian packages ---------------------------------------------------------------------------
APT_PACKAGES=(containerd:/usr/bin/containerd runc:/usr/sbin/runc containernetworking-plugins:/usr/lib/cni/bridge
  busybox-static:/bin/busybox iptables:/usr/sbin/iptables ipset:/usr/sbin/ipset)
missing=()
for entry in "${APT_PACKAGES[@]}"; do
  [[ -x ${entry#*:} ]] || missing+=("${entry%%:*}")
done
if ((${#missing[@]})); then
  ((APT)) || die "missing Debian packages: apt-get install -y ${missing[*]} (or run with --apt)"
  log "apt: installing ${missing[*]}"
  # Maintainer scripts must not start a system containerd: a policy-rc.d of ours while apt runs.
  local_policy=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    local_policy=1
  fi
  apt_status=0
  apt-get update -qq || apt_status=$?
  ((apt_status)) || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" || apt_status=$?
  ((local_policy)) && rm -f /usr/sbin/policy-rc.d
  ((apt_status == 0)) || die "apt-get install ${missing[*]} failed ($apt_status)"
fi

# --- can this kernel run the NetworkPolicy engine (kube-router's firewall: ipsets matched by iptables)? ---
probe_set=techshop-probe-$$
kernel=()
if ! ipset create "$probe_set" hash:ip 2>/dev/null; then
  kernel+=("the kernel has no ip_set (hash:ip) support: kube-router's NetworkPolicy firewall keeps its peers in ipsets")
elif ! { iptables -w -N "TECHSHOP-PROBE-$$" && iptables -w -A "TECHSHOP-PROBE-$$" -m set --match-set "$probe_set" src -j RETURN; } 2>/dev/null; then
  kernel+=("the kernel has no xt_set (iptables -m set): kube-router's NetworkPolicy firewall matches its ipsets with it")
fi
iptables -w -F "TECHSHOP-PROBE-$$" 2>/dev/null || true
iptables -w -X "TECHSHOP-PROBE-$$" 2>/dev/null || true
ipset destroy "$probe_set" 2>/dev/null || true
if ((${#kernel[@]})); then
  for reason in "${kernel[@]}"; do log "cannot run a real node: $reason"; done
  exit 3
fi

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
  (cd "$dir" && GOFLAGS=-mod=mod gorun build -modfile="$modcopy/go.mod" -trimpath -tags netgo \
    -ldflags "-s -w -X $v.Version=$app_version -X $v.Revision=$version -X $v.Branch=HEAD" -o "$BIN/$name" "$pkg")
  write_stamp "$name" "$version"
  log "built $name in $(($(now) - started)) s"
}
build_prometheus_server prometheus "$PROM_MOD" github.com/prometheus/prometheus github.com/prometheus/prometheus/cmd/prometheus
build_prometheus_server alertmanager "$PROM_MOD/alertmanager" github.com/prometheus/alertmanager github.com/prometheus/alertmanager/cmd/alertmanager

# --- the NetworkPolicy engine: kube-router's firewall alone --------------------------------------
# Self-contained: built inside its own module (its go.mod and go.sum as published), version from
# tools/real-node/versions, cached by that version.
build_kube_router() {
  local version module=github.com/cloudnativelabs/kube-router/v2 moddir started
  version=$(awk '$1 == "kube-router" {print $2}' "$REPO/tools/real-node/versions")
  [[ -n $version ]] || die "tools/real-node/versions names no kube-router version"
  [[ "$(stamp kube-router)" == "$version" ]] && return 0
  started=$(now)
  moddir=$(gorun mod download -json "$module@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p') || die "cannot download $module@$version"
  [[ -d $moddir ]] || die "cannot download $module@$version"
  log "go: building kube-router $version"
  (cd "$moddir" && GOFLAGS=-mod=readonly gorun build -trimpath \
    -ldflags "-s -w -X $module/pkg/version.Version=$version -X $module/pkg/version.BuildDate=module" \
    -o "$BIN/kube-router" ./cmd/kube-router)
  write_stamp kube-router "$version"
  log "built kube-router in $(($(now) - started)) s"
}
build_kube_router

((IMAGES)) && bash "$REPO/.ci/build-images.sh"

for name in "${NODE_BINARIES[@]}" prometheus alertmanager kube-router; do
  printf '%-24s %s\n' "$name" "$(stamp "$name")"
done
