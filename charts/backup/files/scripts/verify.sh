#!/usr/bin/env bash
# Verification (mongo image), after fetch.sh downloaded the newest full dump:
#   1. the archive's SHA-256 matches its .sha256 file and the manifest;
#   2. it restores into a throwaway server started in this pod on 127.0.0.1
#      with a temporary dbpath (mongod; VERIFY_SERVER_CMD overrides the command,
#      run by bash with DBPATH and PORT set);
#   3. every collection's document count in the restored data equals the count
#      mongodump recorded in the manifest.
# Any failure exits non-zero: the verify Job fails and the monitoring chart's
# "backup verification failed" alert fires.
set -euo pipefail
SCRIPT_NAME=verify
# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

dir="$WORK_DIR/fetch"
[[ -f $dir/plan ]] || die "nothing fetched ($dir/plan missing)"
stem=$(sed -n 's/^full //p' "$dir/plan")
archive="$dir/$(data_name "$stem")"
manifest="$dir/$stem.manifest"

# 1. integrity
sha256_check "$archive" || die "checksum mismatch: $(basename "$archive") does not match its .sha256 file"
[[ "$(cut -d' ' -f1 "$archive.sha256")" == "$(manifest_get "$manifest" sha256)" ]] ||
  die "checksum mismatch: the .sha256 file and the manifest of $stem disagree"
log "checksum of $(basename "$archive") OK"

# 2. throwaway server
export DBPATH="$WORK_DIR/verify-db" PORT=${VERIFY_PORT:-27017}
rm -rf "$DBPATH"
mkdir -p "$DBPATH"
# shellcheck disable=SC2016 # expanded by the inner bash, where DBPATH and PORT are set
cmd=${VERIFY_SERVER_CMD:-'mongod --dbpath "$DBPATH" --bind_ip 127.0.0.1 --port "$PORT" --nounixsocket --wiredTigerCacheSizeGB 0.25 --quiet --logpath "$DBPATH/mongod.log"'}
bash -c "exec $cmd" >"$WORK_DIR/verify-server.log" 2>&1 &
server=$!
stop_server() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
}
trap stop_server EXIT
for _ in $(seq 1 "${VERIFY_SERVER_WAIT:-120}"); do
  kill -0 "$server" 2>/dev/null || {
    cat "$WORK_DIR/verify-server.log" >&2
    die "the throwaway server exited"
  }
  if (: <"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then break; fi
  sleep 1
done
(: <"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null || die "the throwaway server did not listen on 127.0.0.1:$PORT"
local_uri="mongodb://127.0.0.1:$PORT/"

log "restoring $(basename "$archive") into the throwaway server"
mongorestore --uri="$local_uri" --gzip --archive="$archive" --nsExclude='admin.system.*' \
  --stopOnError 2>"$WORK_DIR/verify-restore.log" || {
  cat "$WORK_DIR/verify-restore.log" >&2
  die "mongorestore of $(basename "$archive") failed"
}

# 3. counts: dump the restored data to nowhere and read what mongodump counted
mongodump --uri="$local_uri" --archive=/dev/null 2>"$WORK_DIR/verify-count.log" || {
  cat "$WORK_DIR/verify-count.log" >&2
  die "cannot count the restored documents"
}
expected=$(manifest_counts "$manifest" | grep -v '^admin\.system\.' || true)
actual=$(dump_counts "$WORK_DIR/verify-count.log")
[[ -n $expected ]] || log "warning: the manifest of $stem lists no collections (an empty database?)"
mismatches=0
while read -r ns count; do
  [[ -n $ns ]] || continue
  got=$(awk -v ns="$ns" '$1 == ns {print $2}' <<<"$actual")
  if [[ $got != "$count" ]]; then
    log "MISMATCH $ns: manifest $count, restored ${got:-none}"
    mismatches=$((mismatches + 1))
  fi
done <<<"$expected"
((mismatches == 0)) || die "verification of $stem failed: $mismatches collection(s) differ from the manifest"
log "verification of $stem passed: $(grep -c . <<<"$expected" || true) collection(s), counts equal to the manifest"
