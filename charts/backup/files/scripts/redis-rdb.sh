#!/usr/bin/env bash
# Optional: a Redis RDB snapshot copied beside the MongoDB dumps (redis image).
# redis-cli --rdb asks the server at REDIS_HOST:REDIS_PORT for a fresh RDB
# (password in REDISCLI_AUTH, from the redis chart's Secret, never on the
# command line); a SHA-256 file and a manifest follow, as for every set.
set -euo pipefail
SCRIPT_NAME=redis-rdb
# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

: "${REDIS_HOST:?REDIS_HOST is not set}"
mkdir -p "$BACKUP_DIR" "$WORK_DIR"
ts=$(timestamp)
stem="redis-$ts"
rdb="$BACKUP_DIR/$stem.rdb"
rm -f "$rdb.partial"
log "copying an RDB snapshot of $REDIS_HOST:${REDIS_PORT:-6379}"
if ! redis-cli -h "$REDIS_HOST" -p "${REDIS_PORT:-6379}" --no-auth-warning --rdb "$rdb.partial" >&2; then
  rm -f "$rdb.partial"
  die "redis-cli --rdb failed; nothing was written"
fi
[[ -s $rdb.partial ]] || die "redis-cli wrote an empty RDB file"
head -c 5 "$rdb.partial" | grep -q '^REDIS' || die "the file redis-cli wrote is not an RDB snapshot"
mv "$rdb.partial" "$rdb"
sha256_write "$rdb"
{
  printf 'format=1\nkind=redis\nname=%s\ncreated=%s\n' "$(basename "$rdb")" "$ts"
  printf 'sha256=%s\nsize=%s\n' "$(cut -d' ' -f1 "$rdb.sha256")" "$(stat -c %s "$rdb")"
} >"$BACKUP_DIR/$stem.manifest.partial"
mv "$BACKUP_DIR/$stem.manifest.partial" "$BACKUP_DIR/$stem.manifest"
printf '%s\n' "$stem" >>"$RUN_FILE"
log "redis snapshot $stem: $(stat -c %s "$rdb") bytes"
