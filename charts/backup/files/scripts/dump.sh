#!/usr/bin/env bash
# Full dump of the release's MongoDB to the backup volume (mongo image).
#   mongodump --gzip --archive, with --oplog and --readPreference=secondaryPreferred
#   on a replica set; a SHA-256 file beside the archive; a manifest with the
#   per-collection document counts mongodump reported, written last.
# Exits non-zero (failing the Job, so nothing is uploaded or deleted) when the
# dump fails; a failed dump leaves only a *.partial file, never a set.
set -euo pipefail
SCRIPT_NAME=dump
# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

mongo_require
mkdir -p "$BACKUP_DIR" "$WORK_DIR"
ts=$(timestamp)
stem="mongodb-full-$ts"
archive="$BACKUP_DIR/$stem.archive.gz"
partial="$archive.partial"
dumplog="$WORK_DIR/$stem.log"
mapfile -t args < <(mongo_args)

extra=()
oplog_from=""
if is_replica_set; then
  # Replay after restore brings the data to one consistent point; ops from the
  # newest entry before the dump on are what the next incremental slice continues.
  oplog_from=$(oplog_ts newest) || die "cannot read the oplog of replica set $MONGODB_REPLICA_SET"
  extra+=(--oplog --readPreference=secondaryPreferred)
  log "replica set $MONGODB_REPLICA_SET: dumping with --oplog from a secondary when one is available (oplog at $oplog_from)"
else
  log "standalone MongoDB: full dumps only (no oplog, so no incremental backups or point-in-time restore)"
fi

log "dumping to $archive"
rm -f "$partial"
if ! mongodump "${args[@]}" "${extra[@]}" --gzip --archive="$partial" 2>"$dumplog"; then
  cat "$dumplog" >&2
  rm -f "$partial"
  die "mongodump failed; nothing was written"
fi
cat "$dumplog" >&2
[[ -s $partial ]] || die "mongodump wrote an empty archive"
mv "$partial" "$archive"
sha256_write "$archive"

{
  printf 'format=1\nkind=full\nname=%s\ncreated=%s\n' "$(basename "$archive")" "$ts"
  printf 'sha256=%s\nsize=%s\n' "$(cut -d' ' -f1 "$archive.sha256")" "$(stat -c %s "$archive")"
  printf 'replica_set=%s\noplog=%s\noplog_from=%s\n' "${MONGODB_REPLICA_SET:-}" "$(is_replica_set && echo true || echo false)" "$oplog_from"
  dump_counts "$dumplog" | sed 's/^/count /'
} >"$BACKUP_DIR/$stem.manifest.partial"
mv "$BACKUP_DIR/$stem.manifest.partial" "$BACKUP_DIR/$stem.manifest"
printf '%s\n' "$stem" >>"$RUN_FILE"
log "full dump $stem: $(manifest_counts "$BACKUP_DIR/$stem.manifest" | wc -l) collections, $(stat -c %s "$archive") bytes"
