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

# go_timeout: GO_TIMEOUT seconds (default 1800) scaled by the load when the command starts: on a machine
# whose cores are shared (the test tier's builds run side by side, beside other work) a build's wall time
# grows with the run queue, and a fixed bound failed a cold promtool build at 1,800 s under load ~28 on
# 2 cores. Factor = load average / cores, rounded up, between 1 and 4.
go_timeout() {
  local base=${GO_TIMEOUT:-1800} load cores factor
  read -r load _ </proc/loadavg
  cores=$(nproc)
  factor=$(((${load%.*} + cores) / cores))
  ((factor < 1)) && factor=1
  ((factor > 4)) && factor=4
  echo $((base * factor))
}

# gorun ARGS...: go, bounded by go_timeout seconds (a stuck download never hangs CI).
gorun() { timeout "$(go_timeout)" go "$@"; }
