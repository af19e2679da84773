#!/usr/bin/env bash
# Installs the tool chain in two tiers. Idempotent: a run with everything
# present only checks versions. Starts no services and exports nothing: callers
# put "$REPO/.cache/tools/bin" first on PATH (Go tools, yamllint, yamale live there).
# Prerequisites: Debian/apt, Go >= 1.24, python3, Node.js with npm.
#
#   .ci/install-tools.sh           the main job's tools (npm run setup): what
#                                  validate, lint, package and release run
#     apt      python3-venv when missing; prometheus, prometheus-alertmanager, redis-server
#              (Debian's promtool, amtool and redis-server: the lint stage's program checks)
#     Go       ct, kubeconform, actionlint, kube-score (versions pinned in tools/go.mod)
#     PyPI     yamllint, yamale (tools/requirements-lint.txt) in a venv under .cache/tools/venv;
#              checkov (tools/requirements-checkov.txt, the lint stage's scanner) in its own
#              venv under .cache/checkov/venv (its many dependencies stay apart from ct's);
#              every file hash-checked (pip --require-hashes, wheels only, no unlocked
#              dependency): the locks are written by `npm run pip-lock`
#     schemas  strict standalone Kubernetes JSON schemas for kubeconform, generated
#              from the k8s.io/kubernetes module's OpenAPI document into
#              .cache/kube-schemas/v<version>-standalone-strict/
#   .ci/install-tools.sh --tests   the heavy tools only the tests run, in parallel
#   .ci/install-tools.sh --all     both (npm run setup -- --all; .ci/run)
#     apt      prometheus, prometheus-alertmanager (Debian's promtool/amtool),
#              redis-server, docker-registry, gnupg, awscli, shellcheck
#              (and mongod's libraries, redis_exporter)
#     builds   .ci/install-backup-tools.sh, .ci/install-prometheus-tools.sh,
#              .ci/install-kube.sh, .ci/install-mongo-tools.sh,
#              .ci/install-telemetry-tools.sh, .ci/install-objectstore-tools.sh
#              (each cached by version under .cache/)
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOOLS_MOD="$REPO/tools"
CACHE="$REPO/.cache"
BIN="$CACHE/tools/bin"
VENV="$CACHE/tools/venv"
SCHEMAS="$CACHE/kube-schemas"
GEN_SCHEMAS="$REPO/scripts/gen-kube-schemas.ts"

TIER=main
case "${1:-}" in
  "") ;;
  --all) TIER=all ;;
  --tests) TIER=tests ;;
  *) printf 'usage: %s [--all | --tests]\n' "$0" >&2; exit 2 ;;
esac
# apt packages of the main tier: the programs whose own validators the lint stage runs on every render
# (scripts/lib/program-checks.ts: amtool, promtool check rules, redis-server) - Debian's builds install in
# seconds; the upstream promtool/amtool of the deployed versions (test tier, minutes cold) are preferred when present
MAIN_APT_PACKAGES=(prometheus prometheus-alertmanager redis-server)
# apt packages of the test tier (the main tier also adds python3-venv when missing)
# (install-mongo-tools.sh's libraries too, so no two apt-gets run at once; redis_exporter is built from its module there)
TEST_APT_PACKAGES=(prometheus prometheus-alertmanager redis-server docker-registry gnupg awscli shellcheck
  libcurl4 libssl3 liblzma5 busybox-static)
# PyPI tools: versions in tools/requirements-*.in, every file's hash in the lock next to it
LINT_LOCK="$TOOLS_MOD/requirements-lint.txt"
CHECKOV_LOCK="$TOOLS_MOD/requirements-checkov.txt"
CHECKOV_VENV="$CACHE/checkov/venv"
# Oldest and newest supported Kubernetes versions: tools/kubernetes-versions (shared with the lint stage).
mapfile -t KUBE_VERSIONS < <(grep -v '^#' "$TOOLS_MOD/kubernetes-versions" | grep .)
# name|module|package|variable set to the version at link time ("" = none needed)
GO_TOOLS=(
  "ct|github.com/helm/chart-testing/v3|github.com/helm/chart-testing/v3/ct|github.com/helm/chart-testing/v3/ct/cmd.Version"
  "kubeconform|github.com/yannh/kubeconform|github.com/yannh/kubeconform/cmd/kubeconform|main.version"
  "actionlint|github.com/rhysd/actionlint|github.com/rhysd/actionlint/cmd/actionlint|"
  "kube-score|github.com/zegl/kube-score|github.com/zegl/kube-score/cmd/kube-score|main.version"
)

LOG_NAME=install-tools
# shellcheck source=.ci/lib.sh
source "$REPO/.ci/lib.sh"

mkdir -p "$BIN" "$SCHEMAS"
# Serialise concurrent runs (parallel test workers, CI steps).
exec 9>"$CACHE/tools/.lock"
flock 9

SUDO=()
if [[ $EUID -ne 0 ]]; then
  command -v sudo >/dev/null || die "not root and no sudo: cannot install apt packages"
  SUDO=(sudo)
fi

# --- apt ---------------------------------------------------------------------
install_apt() {
  local wanted=("$@") missing=() pkg installed
  if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
    wanted+=(python3-venv)
  fi
  ((${#wanted[@]} == 0)) && return 0
  installed=$(dpkg-query -W -f='${Package} ${Status}\n' "${wanted[@]}" 2>/dev/null | awk '$NF == "installed" {print $1}' || true)
  for pkg in "${wanted[@]}"; do
    grep -qxF "$pkg" <<<"$installed" || missing+=("$pkg")
  done
  ((${#missing[@]} == 0)) && return 0

  log "apt: installing ${missing[*]}"
  # Keep maintainer scripts from starting services (redis-server, prometheus, ...).
  local policy=/usr/sbin/policy-rc.d created_policy=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee "$policy" >/dev/null
    "${SUDO[@]}" chmod 755 "$policy"
    created_policy=1
  fi
  local rc=0
  {
    "${SUDO[@]}" apt-get update -qq &&
      "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  } || rc=$?
  if ((created_policy)); then "${SUDO[@]}" rm -f "$policy"; fi
  ((rc == 0)) || die "apt-get failed ($rc)"
}

# --- Go tools ------------------------------------------------------------------
# Version of a module as pinned in tools/go.mod.
pinned_version() {
  awk -v m="$1" '$1 == "require" && $2 == m {print $3; exit} $1 == m {print $2; exit}' "$TOOLS_MOD/go.mod"
}

# Version reported by an installed tool ("" when absent or broken).
tool_version() {
  local exe="$BIN/$1"
  [[ -x $exe ]] || return 0
  case $1 in
    ct) "$exe" version 2>/dev/null | awk '/^Version:/ {print $2}' ;;
    kubeconform) "$exe" -v 2>/dev/null ;;
    actionlint) "$exe" -version 2>/dev/null | head -n1 ;;
    kube-score) "$exe" version 2>/dev/null | sed -n 's/^kube-score version: \([^,]*\),.*/\1/p' ;;
    yamllint) "$exe" --version 2>/dev/null | awk '{print $2}' ;;
    yamale) "$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("yamale"))' 2>/dev/null ;;
    checkov) "$CHECKOV_VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("checkov"))' 2>/dev/null ;;
  esac
}

install_go_tools() {
  command -v go >/dev/null || die "Go >= 1.24 is required (go not found)"
  local entry name module pkg var want
  for entry in "${GO_TOOLS[@]}"; do
    IFS='|' read -r name module pkg var <<<"$entry"
    want=$(pinned_version "$module")
    [[ -n $want ]] || die "$module is not required in tools/go.mod"
    [[ "$(tool_version "$name")" == "$want" ]] && continue
    log "go: building $name $want"
    local ldflags="-s -w"
    [[ -n $var ]] && ldflags+=" -X $var=$want"
    (cd "$TOOLS_MOD" && GOBIN="$BIN" go install -trimpath -ldflags "$ldflags" "$pkg")
  done
}

# --- PyPI tools ------------------------------------------------------------------
# A venv's scripts name its interpreter by absolute path: a venv made in another
# folder (a moved or copied checkout) imports fine but its scripts fail to start.
venv_usable() {
  local venv=$1 script=$2 interpreter
  "$venv/bin/python" -c '' >/dev/null 2>&1 || return 1
  [[ -f $venv/bin/$script ]] || return 0
  interpreter=$(head -n1 "$venv/bin/$script")
  interpreter=${interpreter#\#!}
  [[ -x ${interpreter%% *} ]]
}

# pip_install_locked VENV LOCK: installs exactly the lock's files, each checked against its
# hashes (wheels only: an sdist's build dependencies would come unhashed); the lock's own
# hash stamps the venv, so a changed lock reinstalls.
pip_install_locked() {
  local venv=$1 lock=$2 stamp want
  stamp="$venv/.lock-sha256"
  want=$(sha256sum "$lock" | cut -d' ' -f1)
  [[ -f $stamp && "$(<"$stamp")" == "$want" ]] && return 0
  log "pip: installing ${lock#"$REPO"/} (--require-hashes)"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    --require-hashes --no-deps --only-binary=:all: -r "$lock"
  printf '%s\n' "$want" >"$stamp"
}

install_pip_tools() {
  command -v python3 >/dev/null || die "python3 is required"
  if ! venv_usable "$VENV" yamllint; then
    log "pip: creating venv"
    rm -rf "$VENV"
    python3 -m venv "$VENV"
  fi
  pip_install_locked "$VENV" "$LINT_LOCK"
  ln -sfn "$VENV/bin/yamllint" "$BIN/yamllint"
  ln -sfn "$VENV/bin/yamale" "$BIN/yamale"
}

# checkov: the lint stage's security scanner (scripts/lib/kube-checks.ts).
install_checkov() {
  if ! venv_usable "$CHECKOV_VENV" checkov; then
    rm -rf "$CHECKOV_VENV"
    python3 -m venv "$CHECKOV_VENV"
  fi
  pip_install_locked "$CHECKOV_VENV" "$CHECKOV_LOCK"
  ln -sfn "$CHECKOV_VENV/bin/checkov" "$BIN/checkov"
}

# --- Kubernetes schemas ----------------------------------------------------------
install_kube_schemas() {
  local tsx="$REPO/node_modules/.bin/tsx" gen_hash version dir stamp json swagger
  gen_hash=$(sha256sum "$GEN_SCHEMAS" | cut -d' ' -f1)
  for version in "${KUBE_VERSIONS[@]}"; do
    dir="$SCHEMAS/v$version-standalone-strict"
    stamp="$version $gen_hash"
    [[ -f $dir/.stamp && "$(<"$dir/.stamp")" == "$stamp" ]] && continue

    if [[ ! -x $tsx ]]; then
      log "npm: installing node dependencies (tsx)"
      (cd "$REPO" && npm ci --no-audit --no-fund --loglevel=error)
    fi
    log "schemas: Kubernetes $version"
    json=$(cd "$CACHE" && go mod download -json "k8s.io/kubernetes@v$version") ||
      die "cannot download k8s.io/kubernetes@v$version"
    swagger=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' <<<"$json")/api/openapi-spec/swagger.json
    [[ -f $swagger ]] || die "no swagger.json for Kubernetes $version"
    "$tsx" "$GEN_SCHEMAS" "$swagger" "$dir" >/dev/null
    printf '%s\n' "$stamp" >"$dir/.stamp"
  done
}

# --- summary -----------------------------------------------------------------------
print_versions() {
  local entry name module pkg var
  for entry in "${GO_TOOLS[@]}"; do
    IFS='|' read -r name module pkg var <<<"$entry"
    printf '%-16s %s\n' "$name" "$(tool_version "$name")"
  done
  printf '%-16s %s\n' yamllint "$(tool_version yamllint)" yamale "$(tool_version yamale)" checkov "$(tool_version checkov)"
  # apt tools: the package version (the binaries' own version flags are slow or inconsistent)
  local row
  for row in promtool:prometheus amtool:prometheus-alertmanager redis-server:redis-server \
    docker-registry:docker-registry gpg:gnupg aws:awscli shellcheck:shellcheck; do
    printf '%-16s %s\n' "${row%%:*}" "$(dpkg-query -W -f='${Version}' "${row#*:}" 2>/dev/null || echo 'not installed (test tier)')"
  done
  printf '%-16s %s\n' kube-schemas "${KUBE_VERSIONS[*]}"
}

# --- the two tiers ------------------------------------------------------------------
# timed NAME COMMAND...: one progress line per tool group, with its time.
timed() {
  local name=$1 started=$SECONDS
  shift
  log "$name: installing"
  "$@"
  log "$name: ready ($((SECONDS - started)) s)"
}

# The test tier's builds run side by side (downloads overlap with compiling);
# each logs to .cache/tools/logs/<name>.log, printed on failure.
install_test_tier() {
  local logs="$CACHE/tools/logs" name pids=() names=() failed=0 i
  mkdir -p "$logs"
  timed "apt (test tools)" install_apt "${TEST_APT_PACKAGES[@]}"
  local builds=(
    "backup-tools|$REPO/.ci/install-backup-tools.sh"
    "prometheus-tools|$REPO/.ci/install-prometheus-tools.sh"
    "kube|$REPO/.ci/install-kube.sh"
    "mongo-tools|$REPO/.ci/install-mongo-tools.sh"
    "telemetry-tools|$REPO/.ci/install-telemetry-tools.sh"
    "objectstore-tools|$REPO/.ci/install-objectstore-tools.sh"
  )
  for entry in "${builds[@]}"; do
    name=${entry%%|*}
    log "$name: installing (log: .cache/tools/logs/$name.log)"
    # each job records its own duration (the waits below finish in list order)
    (
      started=$SECONDS
      rc=0
      bash "${entry#*|}" >"$logs/$name.log" 2>&1 || rc=$?
      echo $((SECONDS - started)) >"$logs/$name.seconds"
      # every run's time, so bench can tell a cold build (the longest) from a warm check
      printf '%s %s\n' "$(date +%s)" $((SECONDS - started)) >>"$logs/$name.history"
      exit "$rc"
    ) &
    pids+=($!)
    names+=("$name")
  done
  for i in "${!pids[@]}"; do
    if wait "${pids[$i]}"; then
      log "${names[$i]}: ready ($(cat "$logs/${names[$i]}.seconds") s)"
    else
      failed=1
      log "error: ${names[$i]} failed; the end of its log:"
      tail -n 20 "$logs/${names[$i]}.log" >&2
    fi
  done
  ((failed == 0)) || die "the test tools did not install (see above)"
  cat "$logs"/*.log | grep -E '^[a-z][a-z0-9-]+ +[v0-9]' || true
}

if [[ $TIER != tests ]]; then
  timed "apt (main)" install_apt "${MAIN_APT_PACKAGES[@]}"
  timed "go tools (ct, kubeconform, actionlint, kube-score)" install_go_tools
  timed "pip tools (yamllint, yamale)" install_pip_tools
  timed "checkov" install_checkov
  timed "kubernetes schemas" install_kube_schemas
fi
if [[ $TIER != main ]]; then
  install_test_tier
fi
print_versions
