# Shared by the .ci/install-*.sh scripts. Source it after setting LOG_NAME
# (the prefix of every line) and, for stamp/write_stamp, BIN.
# shellcheck shell=bash

log() { printf '[%s] %s\n' "$LOG_NAME" "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

# lock DIR: one run at a time per tool directory (parallel test workers, CI steps).
lock() {
  mkdir -p "$1"
  exec 9>"$1/.lock"
  flock 9
}

# stamp NAME: the version recorded when $BIN/NAME was installed ("" when absent).
stamp() {
  local file="$BIN/.$1.version"
  [[ -x $BIN/$1 && -f $file ]] && cat "$file"
  return 0
}
write_stamp() { printf '%s\n' "$2" >"$BIN/.$1.version"; }

# gorun ARGS...: go, bounded by GO_TIMEOUT seconds (a stuck download never hangs CI).
gorun() { timeout "${GO_TIMEOUT:-1800}" go "$@"; }
