#!/usr/bin/env bash
# Starts redis-server with the chart's redis.conf (a read-only ConfigMap) plus
# the per-pod settings that cannot live in a ConfigMap: the password and, in
# cluster mode, the stable hostname this node announces.
#
# The password never reaches a command line (so never `ps`): it is written to
# a runtime config file in a memory-backed emptyDir (mode 0600), which includes
# the ConfigMap's file and is then given to redis-server by path.
#
# Environment (the chart sets these; a test sets them to run it locally):
#   REDIS_PASSWORD_FILE       the file holding the password (the mounted Secret; the chart sets it)
#   REDIS_PASSWORD            the password itself, when no file is given
#   REDIS_CONFIG              the rendered redis.conf (default /etc/redis/redis.conf)
#   REDIS_RUNTIME_DIR         writable directory for the runtime file (default /run/redis)
#   REDIS_ANNOUNCE_HOSTNAME   optional: cluster-announce-hostname (cluster mode)
#   REDIS_SERVER              optional: the redis-server binary (default: from PATH)
# Extra arguments are passed on to redis-server (they override the files).
set -euo pipefail

config=${REDIS_CONFIG:-/etc/redis/redis.conf}
runtime_dir=${REDIS_RUNTIME_DIR:-/run/redis}
server=${REDIS_SERVER:-redis-server}

die() { printf 'redis start: %s\n' "$*" >&2; exit 1; }

[[ -r $config ]] || die "cannot read $config"
if [[ -n ${REDIS_PASSWORD_FILE:-} ]]; then
  [[ -r $REDIS_PASSWORD_FILE ]] || die "cannot read REDIS_PASSWORD_FILE $REDIS_PASSWORD_FILE"
  REDIS_PASSWORD=$(<"$REDIS_PASSWORD_FILE")
fi
[[ -n ${REDIS_PASSWORD:-} ]] || die "REDIS_PASSWORD is empty: refusing to start without a password"
case $REDIS_PASSWORD in
  *$'\n'* | *$'\r'*) die "REDIS_PASSWORD must be one line" ;;
esac

# A value for a redis.conf line: double-quoted, with \ and " escaped.
quote() {
  local value=${1//\\/\\\\}
  printf '"%s"' "${value//\"/\\\"}"
}

mkdir -p "$runtime_dir"
runtime="$runtime_dir/redis.conf"
umask 077
{
  printf '# Written at container start by start.sh; do not edit.\n'
  printf 'include %s\n' "$(quote "$config")"
  printf 'requirepass %s\n' "$(quote "$REDIS_PASSWORD")"
  printf 'masterauth %s\n' "$(quote "$REDIS_PASSWORD")"
  if [[ -n ${REDIS_ANNOUNCE_HOSTNAME:-} ]]; then
    printf 'cluster-announce-hostname %s\n' "$(quote "$REDIS_ANNOUNCE_HOSTNAME")"
  fi
} >"$runtime.tmp"
mv -f "$runtime.tmp" "$runtime"

exec "$server" "$runtime" "$@"
