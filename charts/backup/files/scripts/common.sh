#!/usr/bin/env bash
# Shared by every backup script (sourced, never run). Names, manifests, logging,
# MongoDB and S3 access. Everything here is plain bash + coreutils so it runs in
# the mongo, amazon/aws-cli and redis images alike.
#
# A backup "set" is three files with one stem, on the volume and in the bucket:
#   <stem>.<ext>          the data (mongodb-full-<ts>.archive.gz, mongodb-oplog-<ts>.bson.gz, redis-<ts>.rdb)
#   <stem>.<ext>.sha256   `sha256sum` line for it
#   <stem>.manifest       what the dump recorded; written (and uploaded) last,
#                         so a set with a manifest is a complete, successful one
# <ts> is the dump time, UTC, 20250101T020000Z; ages are computed from it (not
# from file mtimes or S3 LastModified, which copies and re-uploads change).

BACKUP_DIR=${BACKUP_DIR:-/backup}
WORK_DIR=${WORK_DIR:-/work}
# shellcheck disable=SC2034 # used by the scripts that source this file
# The current run's sets: one stem per line, appended by the dump steps.
RUN_FILE="$WORK_DIR/run-sets"
# shellcheck disable=SC2034
# Written by upload.sh only when every set of the run is in the bucket.
UPLOADED_FILE="$WORK_DIR/uploaded-sets"

log() { printf '%s [%s] %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "${SCRIPT_NAME:-backup}" "$*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}

now_epoch() { printf '%s\n' "${BACKUP_NOW:-$(date -u +%s)}"; }
timestamp() { date -u -d "@$(now_epoch)" +%Y%m%dT%H%M%SZ; }

# 20250101T020000Z (anywhere in a name) -> epoch seconds; fails on anything else.
name_epoch() {
  local ts
  ts=$(sed -n 's/.*\([0-9]\{8\}T[0-9]\{6\}Z\).*/\1/p' <<<"$1")
  [[ -n $ts ]] || return 1
  date -u -d "${ts:0:4}-${ts:4:2}-${ts:6:2} ${ts:9:2}:${ts:11:2}:${ts:13:2}" +%s
}

# Stem of a file or key name of a set: the part before .archive.gz/.bson.gz/.rdb/.manifest/.sha256.
stem_of() {
  local name=${1##*/}
  name=${name%.partial}
  name=${name%.sha256}
  name=${name%.manifest}
  name=${name%.archive.gz}
  name=${name%.bson.gz}
  name=${name%.rdb}
  printf '%s\n' "$name"
}

# Data file name of a stem (by its kind prefix).
data_name() {
  case $1 in
    mongodb-full-*) printf '%s.archive.gz\n' "$1" ;;
    mongodb-oplog-*) printf '%s.bson.gz\n' "$1" ;;
    redis-*) printf '%s.rdb\n' "$1" ;;
    *) return 1 ;;
  esac
}

# Only names this chart writes are ever touched by retention.
is_set_file() {
  [[ ${1##*/} =~ ^(mongodb-full|mongodb-oplog|redis)-[0-9]{8}T[0-9]{6}Z\.(archive\.gz|bson\.gz|rdb|manifest)(\.sha256)?(\.partial)?$ ]]
}

manifest_get() { sed -n "s/^$2=//p" "$1" | head -n1; }

# "db.coll count" lines of a manifest, sorted.
manifest_counts() { sed -n 's/^count //p' "$1" | sort; }

# Per-collection counts from mongodump's log ("done dumping db.coll (N documents)"), sorted.
dump_counts() {
  sed -n 's/.*done dumping \([^ ]*\) (\([0-9]*\) documents\{0,1\}).*/\1 \2/p' "$1" | sort
}

sha256_write() { (cd "$(dirname "$1")" && sha256sum "$(basename "$1")" >"$(basename "$1").sha256"); }
sha256_check() { (cd "$(dirname "$1")" && sha256sum --check --status "$(basename "$1").sha256"); }

# --- MongoDB ---------------------------------------------------------------------
# MONGODB_HOSTS (host:port,...), MONGODB_REPLICA_SET (empty: standalone),
# MONGODB_USERNAME, MONGODB_PASSWORD (from the mongodb chart's Secret),
# MONGODB_AUTH_SOURCE. The password goes to the tools through a 0600 config
# file, never on a command line.
mongo_uri() {
  local uri="mongodb://${MONGODB_HOSTS:?MONGODB_HOSTS is not set}/?authSource=${MONGODB_AUTH_SOURCE:-admin}"
  if [[ -n ${MONGODB_REPLICA_SET:-} ]]; then uri+="&replicaSet=$MONGODB_REPLICA_SET"; fi
  printf '%s\n' "$uri"
}

is_replica_set() { [[ -n ${MONGODB_REPLICA_SET:-} ]]; }

# Fails unless the connection variables are set (the pod spec sets them all).
mongo_require() {
  local name
  for name in MONGODB_HOSTS MONGODB_USERNAME MONGODB_PASSWORD; do
    [[ -n ${!name:-} ]] || die "$name is not set"
  done
}

# Writes the tools' --config file with the password; prints its path.
mongo_config() {
  local file="$WORK_DIR/mongo-tools.yaml"
  (
    umask 077
    printf 'password: "%s"\n' "${MONGODB_PASSWORD:?MONGODB_PASSWORD is not set}" >"$file"
  )
  printf '%s\n' "$file"
}

# Arguments every tool gets to reach the release's MongoDB as MONGODB_USERNAME.
mongo_args() {
  local config
  config=$(mongo_config)
  printf '%s\n' "--uri=$(mongo_uri)" "--username=${MONGODB_USERNAME:?MONGODB_USERNAME is not set}" "--config=$config"
}

# Newest (or, with "oldest", the oldest) oplog timestamp as T:I.
oplog_ts() {
  local order=-1 out args
  [[ ${1:-newest} == oldest ]] && order=1
  mapfile -t args < <(mongo_args)
  out=$(mongoexport "${args[@]}" --db=local --collection=oplog.rs --sort="{\"\$natural\":$order}" \
    --limit=1 --fields=ts --jsonFormat=canonical --quiet) || return 1
  out=$(sed -n 's/.*"t":[[:space:]]*\([0-9]*\),[[:space:]]*"i":[[:space:]]*\([0-9]*\).*/\1:\2/p' <<<"$out" | head -n1)
  [[ -n $out ]] || return 1
  printf '%s\n' "$out"
}

# ts_le A B: true when timestamp A (T:I) <= B.
ts_le() {
  local at=${1%%:*} ai=${1##*:} bt=${2%%:*} bi=${2##*:}
  ((at < bt || (at == bt && ai <= bi)))
}

# --- S3 ----------------------------------------------------------------------------
# S3_BUCKET, S3_PREFIX, S3_ENDPOINT (empty: AWS), S3_REGION, S3_FORCE_PATH_STYLE,
# S3_SSE (""|AES256|aws:kms), S3_SSE_KMS_KEY_ID; AWS_ACCESS_KEY_ID and
# AWS_SECRET_ACCESS_KEY from a Secret (or none: an IAM role). AWS_CLI names the
# binary (default aws).
s3_setup() {
  mkdir -p "$WORK_DIR"
  export HOME=${HOME:-$WORK_DIR}
  if [[ ${S3_FORCE_PATH_STYLE:-false} == true ]]; then
    export AWS_CONFIG_FILE="$WORK_DIR/aws-config"
    printf '[default]\ns3 =\n    addressing_style = path\n' >"$AWS_CONFIG_FILE"
  fi
  # Newer CLIs add CRC checksums many S3-compatible servers reject; only when required.
  export AWS_REQUEST_CHECKSUM_CALCULATION=${AWS_REQUEST_CHECKSUM_CALCULATION:-when_required}
  export AWS_RESPONSE_CHECKSUM_VALIDATION=${AWS_RESPONSE_CHECKSUM_VALIDATION:-when_required}
  : "${S3_BUCKET:?S3_BUCKET is not set}"
}

aws_cli() {
  local args=()
  if [[ -n ${S3_ENDPOINT:-} ]]; then args+=(--endpoint-url "$S3_ENDPOINT"); fi
  if [[ -n ${S3_REGION:-} ]]; then args+=(--region "$S3_REGION"); fi
  "${AWS_CLI:-aws}" "${args[@]}" "$@"
}

s3_key() { printf '%s%s\n' "${S3_PREFIX:-}" "$1"; }
s3_url() { printf 's3://%s/%s\n' "$S3_BUCKET" "$(s3_key "$1")"; }

# Every object name (without the prefix) under the prefix, one per line.
s3_list() {
  local keys
  keys=$(aws_cli s3api list-objects-v2 --bucket "$S3_BUCKET" --prefix "${S3_PREFIX:-}" \
    --query 'Contents[].Key' --output text) || return 1
  tr '\t' '\n' <<<"$keys" | sed '/^None$/d;/^$/d' | while IFS= read -r key; do
    printf '%s\n' "${key#"${S3_PREFIX:-}"}"
  done
}

s3_upload() {
  local file=$1 args=()
  case ${S3_SSE:-} in
    '') ;;
    AES256) args+=(--sse AES256) ;;
    aws:kms)
      args+=(--sse aws:kms)
      if [[ -n ${S3_SSE_KMS_KEY_ID:-} ]]; then args+=(--sse-kms-key-id "$S3_SSE_KMS_KEY_ID"); fi
      ;;
    *) die "unknown S3_SSE '$S3_SSE' (AES256 or aws:kms)" ;;
  esac
  aws_cli s3 cp --only-show-errors "${args[@]}" "$file" "$(s3_url "$(basename "$file")")"
}

s3_size() {
  aws_cli s3api head-object --bucket "$S3_BUCKET" --key "$(s3_key "$1")" --query ContentLength --output text
}

s3_download() { aws_cli s3 cp --only-show-errors "$(s3_url "$1")" "$2"; }

s3_delete() { aws_cli s3 rm --only-show-errors "$(s3_url "$1")"; }

# Stems of complete sets (manifest present) among names read from stdin, oldest first.
complete_stems() {
  sed -n 's/\.manifest$//p' | while IFS= read -r stem; do
    if [[ $stem =~ ^(mongodb-full|mongodb-oplog|redis)-[0-9]{8}T[0-9]{6}Z$ ]]; then printf '%s\n' "$stem"; fi
  done | by_time
}

# Sorts names oldest first by the timestamp in them (fixed width: text order is time order).
by_time() {
  while IFS= read -r name; do
    printf '%s %s\n' "$(sed -n 's/.*\([0-9]\{8\}T[0-9]\{6\}Z\).*/\1/p' <<<"$name")" "$name"
  done | sort | cut -d' ' -f2-
}
