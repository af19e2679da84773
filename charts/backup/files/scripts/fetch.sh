#!/usr/bin/env bash
# Downloads a backup set from the bucket into $WORK_DIR/fetch (amazon/aws-cli
# image), for verify.sh and restore.sh, and writes $WORK_DIR/fetch/plan:
#   full <stem>            the full dump to restore
#   oplog <stem>           incremental slices to replay after it, in order
#   limit <epoch seconds>  replay stops before this time (point in time)
# FETCH_ARCHIVE: the full dump's archive name (or stem); empty = the newest
# complete one. FETCH_POINT_IN_TIME: optional UTC time (2025-01-31T10:30:00Z).
set -euo pipefail
SCRIPT_NAME=fetch
# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

s3_setup
dir="$WORK_DIR/fetch"
mkdir -p "$dir"
names=$(s3_list) || die "cannot list $(s3_url '')"

if [[ -n ${FETCH_ARCHIVE:-} ]]; then
  full=$(stem_of "$FETCH_ARCHIVE")
  [[ $full == mongodb-full-* ]] || die "$FETCH_ARCHIVE is not a full dump (mongodb-full-<time>.archive.gz)"
  grep -qxF "$full.manifest" <<<"$names" || die "$full is not a complete set in $(s3_url ''): no $full.manifest"
else
  full=$(grep '^mongodb-full-' <<<"$names" | complete_stems | tail -n1 || true)
  [[ -n $full ]] || die "no complete full dump in $(s3_url '')"
fi

get_set() {
  local stem=$1 data
  data=$(data_name "$stem")
  for name in "$stem.manifest" "$data" "$data.sha256"; do
    s3_download "$name" "$dir/$name" || die "cannot download $(s3_url "$name")"
  done
}

log "fetching $full"
get_set "$full"
printf 'full %s\n' "$full" >"$dir/plan.partial"

if [[ -n ${FETCH_POINT_IN_TIME:-} ]]; then
  limit=$(date -u -d "$FETCH_POINT_IN_TIME" +%s) || die "cannot read the point in time '$FETCH_POINT_IN_TIME' (use 2025-01-31T10:30:00Z)"
  full_epoch=$(name_epoch "$full")
  ((limit > full_epoch)) || die "the point in time $FETCH_POINT_IN_TIME is not after the full dump $full: choose an earlier archive"
  covered=0
  while IFS= read -r stem; do
    epoch=$(name_epoch "$stem")
    ((epoch > full_epoch)) || continue
    get_set "$stem"
    printf 'oplog %s\n' "$stem" >>"$dir/plan.partial"
    if ((epoch >= limit)); then
      covered=1
      break
    fi
  done < <(grep '^mongodb-oplog-' <<<"$names" | complete_stems || true)
  ((covered)) || die "no incremental slice reaches $FETCH_POINT_IN_TIME yet (the newest is older): wait for the next one or choose an earlier time"
  printf 'limit %s\n' "$limit" >>"$dir/plan.partial"
fi
mv "$dir/plan.partial" "$dir/plan"
log "plan: $(tr '\n' ' ' <"$dir/plan")"
