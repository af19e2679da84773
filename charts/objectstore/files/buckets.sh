#!/bin/bash
# Creates the buckets named in BUCKETS (space separated) on the S3 server at
# S3_ENDPOINT, waiting up to TIMEOUT_SECONDS for it to answer. Idempotent: an
# existing bucket is kept as it is (mc mb --ignore-existing), so every install
# and upgrade runs it. The keys come from S3_ACCESS_KEY_ID / S3_SECRET_ACCESS_KEY
# or from the files S3_ACCESS_KEY_ID_FILE / S3_SECRET_ACCESS_KEY_FILE name.
# The keys never reach a command line (/proc/<pid>/cmdline is readable by every
# user of the node, and exec auditing records it) nor mc's environment: mc
# reads the alias "objectstore" from its config file, written here under
# umask 077 into MC_CONFIG_DIR (an emptyDir in the pod).
# Exit 1: the server did not answer in time or refused a bucket.
set -euo pipefail

log() { printf '[buckets] %s\n' "$*" >&2; }
for name in S3_ACCESS_KEY_ID S3_SECRET_ACCESS_KEY; do
  file_var="${name}_FILE"
  if [[ -n ${!file_var:-} ]]; then
    [[ -r ${!file_var} ]] || { log "$file_var: ${!file_var} is not readable"; exit 1; }
    printf -v "$name" '%s' "$(<"${!file_var}")"
  fi
  [[ -n ${!name:-} ]] || { log "$name (or $file_var) is required"; exit 1; }
done
: "${S3_ENDPOINT:?S3_ENDPOINT is required}"
: "${BUCKETS:?BUCKETS is required}"
region=${S3_REGION:-us-east-1}
deadline=$((SECONDS + ${TIMEOUT_SECONDS:-120}))

for value in "$S3_ENDPOINT" "$S3_ACCESS_KEY_ID" "$S3_SECRET_ACCESS_KEY"; do
  [[ $value != *[[:cntrl:]]* ]] || { log "a key or the endpoint holds a control character"; exit 1; }
done
# A JSON string: \ and " escaped.
json() {
  local value=${1//\\/\\\\}
  printf '"%s"' "${value//\"/\\\"}"
}
config_dir=${MC_CONFIG_DIR:-$HOME/.mc}
(
  umask 077
  mkdir -p "$config_dir"
  printf '{"version":"10","aliases":{"objectstore":{"url":%s,"accessKey":%s,"secretKey":%s,"api":"S3v4","path":"auto"}}}\n' \
    "$(json "$S3_ENDPOINT")" "$(json "$S3_ACCESS_KEY_ID")" "$(json "$S3_SECRET_ACCESS_KEY")" >"$config_dir/config.json"
)
export MC_CONFIG_DIR=$config_dir
unset S3_ACCESS_KEY_ID S3_SECRET_ACCESS_KEY

# Ready means: the server answers and lists buckets for these keys.
ready() {
  mc --quiet ls objectstore >/dev/null
}
until error=$(ready 2>&1); do
  if ((SECONDS >= deadline)); then
    log "$S3_ENDPOINT did not accept these keys within ${TIMEOUT_SECONDS:-120} s: ${error//$'\n'/ }"
    exit 1
  fi
  sleep 2
done

for bucket in $BUCKETS; do
  mc --quiet mb --ignore-existing --region "$region" "objectstore/$bucket" >/dev/null
  # stat proves the bucket is there and these keys may use it
  mc --quiet stat "objectstore/$bucket" >/dev/null
  log "bucket $bucket ready"
done
