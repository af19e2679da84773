#!/usr/bin/env bash
# Builds the local Kubernetes control plane from the Go module proxy into
# .cache/kube/v<version>/bin. Idempotent: binaries whose stamp names the pinned
# version are not rebuilt. Starts nothing.
#
#   kube-apiserver, kube-controller-manager, kube-scheduler
#       k8s.io/kubernetes (version in tools/kube/versions). The module's go.mod
#       replaces every k8s.io/<staging> module with ./staging/src/..., which a
#       module download does not contain: we build from a writable copy whose
#       staging replaces are dropped and the published k8s.io/<name> v0.<minor>.<patch>
#       required instead. The version is stamped at link time (the chart's
#       kubeVersion refuses a server reporting v0.0.0).
#   etcd
#       tools/kube/etcd: a main calling etcdmain.Main (go.etcd.io/etcd/server/v3).
#       Debian's etcd 3.4 lacks the watch-progress requests newer clients send.
#   kwok
#       tools/kube/kwok: sigs.k8s.io/kwok, fake nodes and pod lifecycles.
#   metrics-server
#       tools/kube/metrics-server: sigs.k8s.io/metrics-server, the resource metrics API
#       (metrics.k8s.io) that the HPA reads; the faults tier points it at kwok's
#       simulated kubelet metrics.
#   CRDs
#       tools/kube/crds: cert-manager, VPA, prometheus-operator, External Secrets and Istio CRDs, copied
#       from their Go modules into .cache/kube/crds/.
#
# A cold build takes 15-25 minutes on 2 cores (kube-apiserver dominates).
# Prerequisites: Go >= 1.24, the Go module proxy.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KUBE_MOD="$REPO/tools/kube"
KUBE_VERSION=$(awk '$1 == "kubernetes" {print $2}' "$KUBE_MOD/versions")
ROOT="$REPO/.cache/kube"
BIN="$ROOT/v$KUBE_VERSION/bin"
SRC="$ROOT/src/kubernetes-$KUBE_VERSION"
GO_TIMEOUT=${GO_TIMEOUT:-2700}

LOG_NAME=install-kube
# shellcheck source=.ci/lib.sh
source "$REPO/.ci/lib.sh"
now() { date +%s; }

command -v go >/dev/null || die "Go >= 1.24 is required (go not found)"
[[ -n $KUBE_VERSION ]] || die "no kubernetes version in tools/kube/versions"
mkdir -p "$BIN" "$ROOT/src"
lock "$ROOT"

# --- kube-apiserver, kube-controller-manager, kube-scheduler -----------------------------
CONTROL_PLANE=(kube-apiserver kube-controller-manager kube-scheduler)

prepare_kubernetes_source() {
  [[ -f $SRC/.prepared ]] && return 0
  local json moddir staging name minor_patch
  log "go: downloading k8s.io/kubernetes@v$KUBE_VERSION"
  json=$(cd "$ROOT" && gorun mod download -json "k8s.io/kubernetes@v$KUBE_VERSION") ||
    die "cannot download k8s.io/kubernetes@v$KUBE_VERSION"
  moddir=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' <<<"$json")
  [[ -d $moddir ]] || die "no module directory for k8s.io/kubernetes@v$KUBE_VERSION"
  rm -rf "$SRC"
  cp -r "$moddir" "$SRC"
  chmod -R u+w "$SRC"
  rm -rf "$SRC/vendor" "$SRC/go.work" "$SRC/go.work.sum"
  minor_patch=${KUBE_VERSION#*.}
  # Every "k8s.io/<name> => ./staging/src/k8s.io/<name>" becomes a require of the published module.
  mapfile -t staging < <(awk '$2 == "=>" && $3 ~ /^\.\/staging\// {print $1} $1 == "replace" && $3 == "=>" && $4 ~ /^\.\/staging\// {print $2}' "$SRC/go.mod")
  ((${#staging[@]} > 0)) || die "no ./staging replaces found in k8s.io/kubernetes go.mod"
  local args=()
  for name in "${staging[@]}"; do
    args+=(-dropreplace="$name")
    # The proxy does not serve every sample module (k8s.io/sample-controller...); no control-plane binary imports them.
    if (cd "$ROOT" && gorun list -m "$name@v0.$minor_patch" >/dev/null 2>&1); then
      args+=(-require="$name@v0.$minor_patch")
    else
      log "go: $name@v0.$minor_patch is not served: dropping its requirement"
      args+=(-droprequire="$name")
    fi
  done
  (cd "$SRC" && go mod edit "${args[@]}")
  log "go: resolving ${#staging[@]} staging modules at v0.$minor_patch"
  (cd "$SRC" && GOFLAGS=-mod=mod gorun mod download)
  touch "$SRC/.prepared"
}

install_control_plane() {
  local name missing=0 started
  for name in "${CONTROL_PLANE[@]}"; do
    [[ "$(stamp "$name")" == "$KUBE_VERSION" ]] || missing=1
  done
  ((missing)) || return 0
  prepare_kubernetes_source
  local minor=${KUBE_VERSION#*.}
  minor=${minor%%.*}
  local pkg=k8s.io/component-base/version
  local ldflags="-s -w -X $pkg.gitVersion=v$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
  ldflags+=" -X k8s.io/client-go/pkg/version.gitVersion=v$KUBE_VERSION -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=$minor"
  for name in "${CONTROL_PLANE[@]}"; do
    [[ "$(stamp "$name")" == "$KUBE_VERSION" ]] && continue
    started=$(now)
    log "go: building $name v$KUBE_VERSION"
    (cd "$SRC" && GOFLAGS=-mod=mod gorun build -trimpath -ldflags "$ldflags" -o "$BIN/$name" "./cmd/$name")
    write_stamp "$name" "$KUBE_VERSION"
    log "built $name in $(($(now) - started)) s"
  done
}

# --- etcd and kwok: small modules in tools/kube -----------------------------------------
# module dir|name|package|version module
SMALL_TOOLS=(
  "etcd|etcd|.|go.etcd.io/etcd/server/v3"
  "kwok|kwok|sigs.k8s.io/kwok/cmd/kwok|sigs.k8s.io/kwok"
  "metrics-server|metrics-server|sigs.k8s.io/metrics-server/cmd/metrics-server|sigs.k8s.io/metrics-server"
)

install_small_tools() {
  local entry dir name pkg module version started ldflags
  for entry in "${SMALL_TOOLS[@]}"; do
    IFS='|' read -r dir name pkg module <<<"$entry"
    version=$(awk -v m="$module" '$1 == "require" && $2 == m {print $3; exit} $1 == m {print $2; exit}' "$KUBE_MOD/$dir/go.mod")
    [[ -n $version ]] || die "$module is not required in tools/kube/$dir/go.mod"
    [[ "$(stamp "$name")" == "$version" ]] && continue
    started=$(now)
    log "go: building $name $version"
    ldflags="-s -w"
    [[ $name == kwok ]] && ldflags+=" -X sigs.k8s.io/kwok/pkg/consts.Version=$version"
    (cd "$KUBE_MOD/$dir" && gorun build -trimpath -ldflags "$ldflags" -o "$BIN/$name" "$pkg")
    write_stamp "$name" "$version"
    log "built $name in $(($(now) - started)) s"
  done
}

# --- CRDs of the charts' optional objects (tools/kube/crds) -----------------------------------
install_crds() {
  local dir="$ROOT/crds" module version file json moddir target
  mkdir -p "$dir"
  while read -r module version file name; do
    [[ -z $module || $module == \#* ]] && continue
    target="$dir/${name:-$(basename "$file")}"
    [[ -f $target && -f $target.version && "$(<"$target.version")" == "$module@$version" ]] && continue
    json=$(cd "$ROOT" && gorun mod download -json "$module@$version") || die "cannot download $module@$version"
    moddir=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' <<<"$json")
    [[ -f $moddir/$file ]] || die "$module@$version has no $file"
    cp "$moddir/$file" "$target"
    chmod u+w "$target"
    printf '%s\n' "$module@$version" >"$target.version"
    log "crd: $(basename "$target") from $module@$version"
  done <"$KUBE_MOD/crds"
}

# --- kwok's stage configuration: its own "fast" node and pod lifecycles ------------------------
# kwok's binary carries no stages; they ship as YAML in its module (kustomize/stage/).
KWOK_STAGES=(node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml
  pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml)
install_kwok_stages() {
  local version json moddir target="$BIN/kwok-stages.yaml" file
  version=$(awk '$1 == "require" && $2 == "sigs.k8s.io/kwok" {print $3; exit} $1 == "sigs.k8s.io/kwok" {print $2; exit}' "$KUBE_MOD/kwok/go.mod")
  [[ -f $target && -f $BIN/.kwok-stages.yaml.version && "$(<"$BIN/.kwok-stages.yaml.version")" == "$version" ]] && return 0
  json=$(cd "$ROOT" && gorun mod download -json "sigs.k8s.io/kwok@$version") || die "cannot download sigs.k8s.io/kwok@$version"
  moddir=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' <<<"$json")
  {
    for file in "${KWOK_STAGES[@]}"; do
      [[ -f $moddir/kustomize/stage/$file ]] || die "sigs.k8s.io/kwok@$version has no kustomize/stage/$file"
      printf -- '---\n'
      grep -v '^---$' "$moddir/kustomize/stage/$file"
    done
  } >"$target.tmp"
  mv "$target.tmp" "$target"
  write_stamp kwok-stages.yaml "$version"
  log "kwok: stages ${KWOK_STAGES[*]} from sigs.k8s.io/kwok@$version"
}

# kwok's simulated kubelet /metrics/resource endpoint (its Metric resource, kustomize/metrics/resource):
# what metrics-server scrapes in the faults tier (test/faults/global-setup.ts).
install_kwok_metrics() {
  local version json moddir target="$BIN/kwok-metrics.yaml" file=kustomize/metrics/resource/metrics-resource.yaml
  version=$(awk '$1 == "require" && $2 == "sigs.k8s.io/kwok" {print $3; exit} $1 == "sigs.k8s.io/kwok" {print $2; exit}' "$KUBE_MOD/kwok/go.mod")
  [[ -f $target && -f $BIN/.kwok-metrics.yaml.version && "$(<"$BIN/.kwok-metrics.yaml.version")" == "$version" ]] && return 0
  json=$(cd "$ROOT" && gorun mod download -json "sigs.k8s.io/kwok@$version") || die "cannot download sigs.k8s.io/kwok@$version"
  moddir=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' <<<"$json")
  [[ -f $moddir/$file ]] || die "sigs.k8s.io/kwok@$version has no $file"
  cp "$moddir/$file" "$target.tmp"
  chmod u+w "$target.tmp"
  mv "$target.tmp" "$target"
  write_stamp kwok-metrics.yaml "$version"
  log "kwok: $file from sigs.k8s.io/kwok@$version"
}

install_small_tools
install_kwok_stages
install_kwok_metrics
install_crds
install_control_plane

for name in "${CONTROL_PLANE[@]}" etcd kwok metrics-server; do
  printf '%-24s %s\n' "$name" "$(stamp "$name")"
done
printf '%-24s %s\n' crds "$(cd "$ROOT/crds" && printf '%s ' *.yaml)"
