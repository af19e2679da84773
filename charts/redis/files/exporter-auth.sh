#!/usr/bin/env bash
# Writes redis_exporter's password file (its --redis.password-file, set through
# REDIS_PASSWORD_FILE): a JSON map from the Redis URI to the password. Runs in
# the init container "metrics-auth", so the exporter never holds the password
# in its environment or on its command line; the file lives in a memory-backed
# emptyDir, mode 0400, readable only by the pod's user.
#
# Environment (the chart sets these; a test sets them to run it locally):
#   REDIS_PASSWORD_FILE   the file holding the password (the mounted Secret)
#   REDIS_ADDR            the URI the exporter scrapes (redis://127.0.0.1:6379)
#   EXPORTER_AUTH_FILE    where to write the JSON map
set -euo pipefail

die() { printf 'exporter auth: %s\n' "$*" >&2; exit 1; }

: "${REDIS_PASSWORD_FILE:?REDIS_PASSWORD_FILE is required}" "${REDIS_ADDR:?REDIS_ADDR is required}" "${EXPORTER_AUTH_FILE:?EXPORTER_AUTH_FILE is required}"
[[ -r $REDIS_PASSWORD_FILE ]] || die "cannot read REDIS_PASSWORD_FILE $REDIS_PASSWORD_FILE"
password=$(<"$REDIS_PASSWORD_FILE")
[[ -n $password ]] || die "the password in $REDIS_PASSWORD_FILE is empty"
# JSON string: \ and " escaped; control characters are refused (start.sh refuses them too).
[[ $password != *[[:cntrl:]]* ]] || die "the password holds a control character"
json() {
  local value=${1//\\/\\\\}
  printf '"%s"' "${value//\"/\\\"}"
}

umask 077
printf '{%s: %s}\n' "$(json "$REDIS_ADDR")" "$(json "$password")" >"$EXPORTER_AUTH_FILE.tmp"
chmod 0400 "$EXPORTER_AUTH_FILE.tmp"
mv -f "$EXPORTER_AUTH_FILE.tmp" "$EXPORTER_AUTH_FILE"
