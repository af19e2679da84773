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
# With CONSUMERS ("app=<bucket> backup=<bucket>", the bucket Job only) it also
# makes one MinIO user per consumer, whose keys are the files
# <consumer>-access-key-id and <consumer>-secret-access-key in CONSUMER_KEYS_DIR,
# with a policy that reaches only that consumer's bucket: the app and the backups
# never hold the root keys. The secret key reaches mc on stdin, never argv.
# Re-running sets the same secret and policy again (a rotated secret applies).
# Exit 1: the server did not answer in time or refused a bucket, user or policy.
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

# Object and listing rights on one bucket, nothing on any other, no admin rights.
bucket_policy() {
  printf '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetBucketLocation","s3:ListBucket","s3:ListBucketMultipartUploads"],"Resource":["arn:aws:s3:::%s"]},{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject","s3:DeleteObject","s3:AbortMultipartUpload","s3:ListMultipartUploadParts"],"Resource":["arn:aws:s3:::%s/*"]}]}\n' "$1" "$1"
}
for consumer in ${CONSUMERS:-}; do
  name=${consumer%%=*}
  bucket=${consumer#*=}
  [[ $name =~ ^[a-z][a-z0-9-]*$ && -n $bucket && $bucket != "$consumer" ]] || { log "CONSUMERS: \"$consumer\" is not <name>=<bucket>"; exit 1; }
  key_file="${CONSUMER_KEYS_DIR:?CONSUMER_KEYS_DIR is required with CONSUMERS}/$name-access-key-id"
  secret_file="$CONSUMER_KEYS_DIR/$name-secret-access-key"
  [[ -r $key_file && -r $secret_file ]] || { log "$name: $key_file or $secret_file is not readable"; exit 1; }
  access_key=$(<"$key_file")
  [[ $access_key =~ ^[A-Za-z0-9._-]{3,128}$ ]] || { log "$name: the access key id must be 3-128 letters, digits, '.', '_' or '-'"; exit 1; }
  policy="techshop-$name"
  policy_file="$config_dir/$policy.json"
  (umask 077 && bucket_policy "$bucket" >"$policy_file")
  mc --quiet admin policy create objectstore "$policy" "$policy_file" >/dev/null
  # mc reads the access key and then the secret key from stdin when they are not arguments
  { printf '%s\n' "$access_key"; cat "$secret_file"; printf '\n'; } | mc --quiet admin user add objectstore >/dev/null
  if ! out=$(mc --quiet admin policy attach objectstore "$policy" --user "$access_key" 2>&1) && [[ $out != *already* ]]; then
    log "$name: cannot attach policy $policy: ${out//$'\n'/ }"
    exit 1
  fi
  # The user exists, is enabled and carries the policy.
  info=$(mc --quiet admin user info objectstore "$access_key" --json)
  [[ $info == *'"userStatus":"enabled"'* && $info == *"\"policyName\":\"$policy\""* ]] || { log "$name: user check failed: $info"; exit 1; }
  log "user for $name ready (policy $policy: bucket $bucket only)"
done
