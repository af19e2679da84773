#!/usr/bin/env bash
# Restore into the release's MongoDB (mongo image), from what fetch.sh
# downloaded: the full dump (--drop: each restored collection replaces the live
# one; users and roles, admin.system.*, are never touched), then - for a point
# in time - the incremental slices after it, concatenated in order and replayed
# with --oplogReplay --oplogLimit. Every file's checksum is checked and the
# slices must form an unbroken chain before anything is written to the database.
# Running it twice restores the same data twice: the result is the same.
#
# The dump's own oplog (mongodump --oplog) is not replayed: mongorestore refuses
# --oplogReplay together with --nsExclude, and without the exclusion it would
# replace the users and roles with the dumped ones. The slices start at or
# before the dump's start, so replaying them makes a replica-set dump consistent;
# without a point in time the data is what mongodump read, writes made during
# the dump possibly in part (README: restore to the time of the next slice for
# a consistent state).
set -euo pipefail
SCRIPT_NAME=restore
# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

mongo_require
dir="$WORK_DIR/fetch"
[[ -f $dir/plan ]] || die "nothing fetched ($dir/plan missing)"
full=$(sed -n 's/^full //p' "$dir/plan")
mapfile -t slices < <(sed -n 's/^oplog //p' "$dir/plan")
limit=$(sed -n 's/^limit //p' "$dir/plan")

# 1. integrity of everything, before touching the database
position=""
for stem in "$full" "${slices[@]}"; do
  file="$dir/$(data_name "$stem")"
  sha256_check "$file" || die "checksum mismatch: $(basename "$file") does not match its .sha256 file"
  [[ "$(cut -d' ' -f1 "$file.sha256")" == "$(manifest_get "$dir/$stem.manifest" sha256)" ]] ||
    die "checksum mismatch: the .sha256 file and the manifest of $stem disagree"
  if [[ $stem == mongodb-oplog-* ]]; then
    from=$(manifest_get "$dir/$stem.manifest" oplog_from)
    # each slice must start where the previous one ended (or, the first, at or before the full dump's position)
    if [[ -z $position ]] || ! ts_le "$from" "$position"; then
      die "the incremental chain is broken before $stem (it starts at $from, the restore so far reaches ${position:-nothing}): restore without a point in time or choose another archive"
    fi
    position=$(manifest_get "$dir/$stem.manifest" oplog_until)
  else
    position=$(manifest_get "$dir/$stem.manifest" oplog_from)
  fi
done
if ((${#slices[@]})) && [[ $(manifest_get "$dir/$full.manifest" oplog) != true ]]; then
  die "$full was taken without an oplog (standalone): no point-in-time restore from it"
fi
log "checksums OK: $full${slices[*]:+ + ${#slices[@]} incremental slice(s)}"

mapfile -t args < <(mongo_args)
# 2. the full dump
log "restoring $full into $(mongo_uri) (--drop)"
mongorestore "${args[@]}" --gzip --archive="$dir/$(data_name "$full")" --drop --nsExclude='admin.system.*' \
  --stopOnError || die "mongorestore of $full failed"

# 3. point in time: the slices after it, up to the limit
if ((${#slices[@]})); then
  oplog_dir="$WORK_DIR/replay"
  rm -rf "$oplog_dir"
  mkdir -p "$oplog_dir"
  for stem in "${slices[@]}"; do
    gzip -dc "$dir/$(data_name "$stem")" >>"$oplog_dir/oplog.bson"
  done
  log "replaying ${#slices[@]} incremental slice(s) up to $(date -u -d "@$limit" +%Y-%m-%dT%H:%M:%SZ)"
  mongorestore "${args[@]}" --oplogReplay --oplogLimit="$limit:0" --stopOnError "$oplog_dir" ||
    die "oplog replay failed"
fi
log "restore of $full done${limit:+ (point in time $(date -u -d "@$limit" +%Y-%m-%dT%H:%M:%SZ))}"
