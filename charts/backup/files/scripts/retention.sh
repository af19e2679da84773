#!/usr/bin/env bash
# Retention (amazon/aws-cli image), after a successful dump AND upload only:
#   local sets (backup volume) older than RETENTION_LOCAL_DAYS, and
#   remote sets (bucket prefix) older than RETENTION_REMOTE_DAYS are deleted;
# ages come from the dump time in the name. Never deleted: the newest complete
# (manifest present) set of each kind, this run's sets, and any name this chart
# did not write. Without this run's $WORK_DIR/uploaded-sets (written by
# upload.sh after every set was confirmed in the bucket) nothing is deleted and
# the script fails.
set -euo pipefail
SCRIPT_NAME=retention
# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

LOCAL_DAYS=${RETENTION_LOCAL_DAYS:-7}
REMOTE_DAYS=${RETENTION_REMOTE_DAYS:-30}
[[ $LOCAL_DAYS =~ ^[0-9]+$ && $REMOTE_DAYS =~ ^[0-9]+$ ]] || die "retention days must be whole numbers"

[[ -s $UPLOADED_FILE ]] || die "no confirmed upload in this run ($UPLOADED_FILE missing): the dump or the upload failed, so nothing is deleted"
mapfile -t this_run <"$UPLOADED_FILE"
now=$(now_epoch)

# expired DAYS: reads names (one per line), prints those to delete.
expired() {
  local days=$1 names keep=() stem kind name epoch
  names=$(cat)
  # the newest complete set of each kind, and this run's sets, stay
  for kind in mongodb-full mongodb-oplog redis; do
    stem=$(grep -E "^$kind-" <<<"$names" | complete_stems | tail -n1 || true)
    if [[ -n $stem ]]; then keep+=("$stem"); fi
  done
  keep+=("${this_run[@]}")
  while IFS= read -r name; do
    [[ -n $name ]] || continue
    is_set_file "$name" || continue
    stem=$(stem_of "$name")
    if printf '%s\n' "${keep[@]}" | grep -qxF "$stem"; then continue; fi
    epoch=$(name_epoch "$name") || continue
    if ((now - epoch > days * 86400)); then printf '%s\n' "$name"; fi
  done <<<"$names"
}

s3_setup
remote=$(s3_list) || die "cannot list $(s3_url '')"
# Every set of this run must be complete in the bucket before anything goes.
for stem in "${this_run[@]}"; do
  grep -qxF "$stem.manifest" <<<"$remote" || die "$stem.manifest is not in the bucket: nothing is deleted"
done

deleted=0
while IFS= read -r name; do
  [[ -n $name ]] || continue
  log "remote: deleting $name (older than $REMOTE_DAYS days)"
  s3_delete "$name" || die "cannot delete $(s3_url "$name")"
  deleted=$((deleted + 1))
done < <(expired "$REMOTE_DAYS" <<<"$remote")

while IFS= read -r name; do
  [[ -n $name ]] || continue
  log "local: deleting $name (older than $LOCAL_DAYS days)"
  rm -f "${BACKUP_DIR:?}/$name"
  deleted=$((deleted + 1))
done < <(find "$BACKUP_DIR" -maxdepth 1 -type f -printf '%f\n' | expired "$LOCAL_DAYS")

log "retention done: $deleted file(s) deleted (local > $LOCAL_DAYS days, remote > $REMOTE_DAYS days)"
