#!/usr/bin/env bash
# Uploads the sets this run wrote (listed in $WORK_DIR/run-sets) to S3-compatible
# storage (amazon/aws-cli image): data file, then its .sha256, then the manifest
# last, each checked by size after the upload. Only when every set is in the
# bucket does it record them in $WORK_DIR/uploaded-sets, which retention.sh
# requires; any failure exits non-zero, failing the Job, and deletes nothing.
set -euo pipefail
SCRIPT_NAME=upload
# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

s3_setup
rm -f "$UPLOADED_FILE"
[[ -s $RUN_FILE ]] || die "this run wrote no backup set ($RUN_FILE is empty): the dump step did not succeed"

uploaded=()
while IFS= read -r stem; do
  [[ -n $stem ]] || continue
  data=$(data_name "$stem") || die "unknown set $stem"
  for name in "$data" "$data.sha256" "$stem.manifest"; do
    file="$BACKUP_DIR/$name"
    [[ -f $file ]] || die "missing $file"
    s3_upload "$file" || die "upload of $name to $(s3_url "$name") failed"
    size=$(s3_size "$name") || die "cannot read $(s3_url "$name") back after the upload"
    [[ $size == "$(stat -c %s "$file")" ]] || die "$(s3_url "$name") has $size bytes, $file $(stat -c %s "$file")"
  done
  log "uploaded $stem to $(s3_url "$stem")*"
  uploaded+=("$stem")
done <"$RUN_FILE"

printf '%s\n' "${uploaded[@]}" >"$UPLOADED_FILE"
log "uploaded ${#uploaded[@]} set(s)"
