#!/usr/bin/env bash
# Builds upstream promtool and amtool matching the deployed images, from the Go
# module proxy, into .cache/tools/bin/ as promtool-upstream and amtool-upstream
# (so they don't shadow Debian's promtool/amtool, which stay installed).
#
#   promtool  github.com/prometheus/prometheus   (tools/prometheus/go.mod)
#             Prometheus 3.x tags map to Go module versions v0.3MM.P:
#             v3.5.1 = v0.305.1. Built with Kubernetes service discovery,
#             which Debian's promtool lacks.
#   amtool    github.com/prometheus/alertmanager (tools/prometheus/alertmanager/go.mod,
#             a module of its own so amtool gets Alertmanager's dependency versions)
#
# Idempotent: a tool whose `--version` already names the pinned module version
# is not rebuilt. A cold build takes several minutes on 2 cores.
# Prerequisites: Go >= 1.24, the Go module proxy.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PROM_MOD="$REPO/tools/prometheus"
AM_MOD="$PROM_MOD/alertmanager"
BIN="$REPO/.cache/tools/bin"
# Seconds allowed for one go command (download, build).
GO_TIMEOUT=${GO_TIMEOUT:-1800}

# name|module dir|module|package
TOOLS=(
  "promtool|$PROM_MOD|github.com/prometheus/prometheus|github.com/prometheus/prometheus/cmd/promtool"
  "amtool|$AM_MOD|github.com/prometheus/alertmanager|github.com/prometheus/alertmanager/cmd/amtool"
)

LOG_NAME=install-prometheus-tools
# shellcheck source=.ci/lib.sh
source "$REPO/.ci/lib.sh"

command -v go >/dev/null || die "Go >= 1.24 is required (go not found)"
mkdir -p "$BIN"
# Own lock file: .ci/install-tools.sh may call this while holding .cache/tools/.lock.
exec 8>"$REPO/.cache/tools/.lock-prometheus"
flock 8

# Version of a module as pinned in a go.mod.
pinned_version() {
  awk -v m="$2" '$1 == "require" && $2 == m {print $3; exit} $1 == m {print $2; exit}' "$1/go.mod"
}

# First line of an installed tool's --version ("" when absent or broken), e.g.
# "promtool, version 3.5.1 (branch: HEAD, revision: v0.305.1)".
version_line() {
  local exe="$BIN/$1-upstream"
  [[ -x $exe ]] || return 0
  "$exe" --version 2>&1 | head -n1 || true
}

build() {
  local name=$1 dir=$2 module=$3 pkg=$4 want moddir app_version ldflags v
  want=$(pinned_version "$dir" "$module")
  [[ -n $want ]] || die "$module is not required in $dir/go.mod"
  if [[ "$(version_line "$name")" == *"revision: $want)" ]]; then
    return 0
  fi

  log "go: downloading $module $want"
  moddir=$(cd "$dir" && gorun mod download -json "$module" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p') ||
    die "cannot download $module $want"
  [[ -f $moddir/VERSION ]] || die "no VERSION file in $module $want"
  # The release version (VERSION file of the module), as upstream's promu sets it.
  app_version=$(<"$moddir/VERSION")

  log "go: building $name $app_version ($module $want), this takes a few minutes"
  ldflags="-s -w"
  v=github.com/prometheus/common/version
  ldflags+=" -X $v.Version=$app_version -X $v.Revision=$want -X $v.Branch=HEAD"
  ldflags+=" -X $v.BuildUser=install-prometheus-tools"
  # Build beside the target, then move into place: no half-written binary on failure.
  local tmp="$BIN/.build-$name"
  rm -rf "$tmp"
  # The real node's Prometheus server (.ci/install-real-node.sh) builds with the same tags and flags from
  # the same go.mod: 1,359 of its 1,413 packages are promtool's (go list -deps), so Go's build cache
  # serves them and that second build compiles only the server's own packages and links.
  (cd "$dir" && GOFLAGS="-mod=readonly -buildvcs=false" GOBIN="$tmp" \
    gorun install -trimpath -tags netgo -ldflags "$ldflags" "$pkg") ||
    die "go install $pkg failed"
  mv -f "$tmp/$name" "$BIN/$name-upstream"
  rmdir "$tmp"
  [[ "$(version_line "$name")" == *"revision: $want)" ]] ||
    die "$name-upstream does not report $want: $(version_line "$name")"
}

for entry in "${TOOLS[@]}"; do
  IFS='|' read -r name dir module pkg <<<"$entry"
  build "$name" "$dir" "$module" "$pkg"
done

for entry in "${TOOLS[@]}"; do
  IFS='|' read -r name _ <<<"$entry"
  printf '%-18s %s\n' "$name-upstream" "$(version_line "$name")"
done
