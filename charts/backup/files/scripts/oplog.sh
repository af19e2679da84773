#!/usr/bin/env bash
# Incremental backup on a replica set (mongo image): the oplog entries since the
# last full dump or slice on the backup volume, up to now, as one gzipped BSON
# slice (mongodump of local.oplog.rs with a ts range). Replayed in order after
# the full dump they bring a restore to any point in time (--oplogLimit).
#
# Refuses on a standalone server (it has no oplog: only full dumps are possible),
# and fails when the oplog no longer reaches back to the last backup (a gap a
# replay cannot cross: take a full dump). With no earlier backup on the volume
# there is nothing to continue: it says so and writes nothing.
set -euo pipefail
SCRIPT_NAME=oplog
# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

mongo_require
is_replica_set || die "MongoDB is standalone: it has no oplog, so only full dumps are possible"
mkdir -p "$BACKUP_DIR" "$WORK_DIR"

# Where the chain stands: the newest complete set's end (a slice's oplog_until,
# or a full dump's oplog_from: replaying from there again is harmless, oplog
# entries are idempotent).
from=""
last=""
while IFS= read -r stem; do
  case $stem in mongodb-full-* | mongodb-oplog-*) last=$stem ;; esac
done < <(find "$BACKUP_DIR" -maxdepth 1 -name '*.manifest' -printf '%f\n' | complete_stems)
if [[ -n $last ]]; then
  from=$(manifest_get "$BACKUP_DIR/$last.manifest" oplog_until)
  [[ -n $from ]] || from=$(manifest_get "$BACKUP_DIR/$last.manifest" oplog_from)
fi
if [[ -z $from ]]; then
  log "no full dump with an oplog position on $BACKUP_DIR yet: nothing to continue from; the next full dump starts the chain"
  exit 0
fi

oldest=$(oplog_ts oldest) || die "cannot read the oplog"
until=$(oplog_ts newest) || die "cannot read the oplog"
ts_le "$oldest" "$from" || die "the oplog starts at $oldest, after the last backup's position $from: entries were lost, so a replay would have a gap; take a full dump now (and consider a larger oplog)"
if ts_le "$until" "$from"; then
  log "no new oplog entries since $from (last backup $last): nothing to write"
  exit 0
fi

ts=$(timestamp)
stem="mongodb-oplog-$ts"
slice="$BACKUP_DIR/$stem.bson.gz"
out="$WORK_DIR/oplog-$ts"
dumplog="$WORK_DIR/$stem.log"
mapfile -t args < <(mongo_args)
# Users and roles (admin.system.*) stay out of the slice: a restore never
# replaces them (restore.sh).
# shellcheck disable=SC2016 # $gt/$lte/$timestamp are MongoDB operators, not shell
query=$(printf '{"ts":{"$gt":{"$timestamp":{"t":%s,"i":%s}},"$lte":{"$timestamp":{"t":%s,"i":%s}}},"ns":{"$not":{"$regex":"^admin[.]system[.]"}}}' \
  "${from%%:*}" "${from##*:}" "${until%%:*}" "${until##*:}")

log "dumping oplog ($from, $until] after $last"
rm -rf "$out"
if ! mongodump "${args[@]}" --readPreference=secondaryPreferred --db=local --collection=oplog.rs \
  --query="$query" --gzip --out="$out" 2>"$dumplog"; then
  cat "$dumplog" >&2
  rm -rf "$out"
  die "mongodump of the oplog failed; nothing was written"
fi
cat "$dumplog" >&2
[[ -f $out/local/oplog.rs.bson.gz ]] || die "mongodump wrote no oplog slice"
mv "$out/local/oplog.rs.bson.gz" "$slice"
rm -rf "$out"
sha256_write "$slice"
{
  printf 'format=1\nkind=oplog\nname=%s\ncreated=%s\n' "$(basename "$slice")" "$ts"
  printf 'sha256=%s\nsize=%s\n' "$(cut -d' ' -f1 "$slice.sha256")" "$(stat -c %s "$slice")"
  printf 'replica_set=%s\nafter=%s\noplog_from=%s\noplog_until=%s\n' "$MONGODB_REPLICA_SET" "$last" "$from" "$until"
  dump_counts "$dumplog" | sed 's/^/count /'
} >"$BACKUP_DIR/$stem.manifest.partial"
mv "$BACKUP_DIR/$stem.manifest.partial" "$BACKUP_DIR/$stem.manifest"
printf '%s\n' "$stem" >>"$RUN_FILE"
log "oplog slice $stem: ($from, $until]"
