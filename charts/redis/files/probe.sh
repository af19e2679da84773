#!/usr/bin/env bash
# Kubelet probe: an authenticated PING to the local server. redis-cli reads
# the password from REDISCLI_AUTH (here read from the file REDISCLI_AUTH_FILE,
# the mounted Secret, when set), never from -a, so it is not on a command line.
#   probe.sh readiness   ready only on PONG
#   probe.sh liveness    alive on PONG, and also while the server is loading its
#                        AOF/RDB (LOADING) or a replica has no master yet
#                        (MASTERDOWN): restarting would only start the load over
set -euo pipefail

mode=${1:-readiness}
port=${REDIS_PORT:-6379}
if [[ -n ${REDISCLI_AUTH_FILE:-} ]]; then
  REDISCLI_AUTH=$(<"$REDISCLI_AUTH_FILE") || exit 1
  export REDISCLI_AUTH
fi
[[ -n ${REDISCLI_AUTH:-} ]] || { echo "REDISCLI_AUTH is not set" >&2; exit 1; }

reply=$(timeout 4 redis-cli --no-auth-warning -h 127.0.0.1 -p "$port" ping 2>&1 || true)
case $mode:$reply in
  *:PONG) exit 0 ;;
  liveness:LOADING* | liveness:MASTERDOWN*) exit 0 ;;
  *)
    echo "redis $mode probe: ${reply:-no reply}" >&2
    exit 1
    ;;
esac
