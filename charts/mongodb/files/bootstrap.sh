#!/usr/bin/env bash
# Runs in the "bootstrap" container of every MongoDB pod, next to mongod, and
# reconciles once every INTERVAL_SECONDS (or once with --once). Each pass is
# idempotent; what it does depends only on what the members report:
#
#   local mongod         this pod                 action
#   not answering        any                      nothing (retry)
#   standalone           -                        root user, then users/indexes
#   not initialised      ordinal 0, every other   rs.initiate() with this member
#                        member answers and is
#                        not initialised either
#   not initialised      ordinal 0, another       nothing: the set exists, its
#                        member is in a set       primary adds this member
#   not initialised      ordinal 0, a member      nothing (retry): never start a
#                        does not answer          second set next to a live one
#   not initialised      ordinal > 0              nothing: wait to be added
#   primary              -                        root user; rs.add() each wanted
#                                                 member missing from the config
#                                                 that answers; rs.remove() each
#                                                 config member no longer wanted
#                                                 (scale-down), never itself;
#                                                 users/indexes
#   secondary, other     -                        nothing: a member with data
#                                                 rejoins the set by itself
#
# "Not initialised" is what rs.status() reports as NotYetInitialized (94);
# it is read from hello, which needs no authentication, so that it works on a
# fresh member that has no users yet. The root user is created through the
# localhost exception (first user on an instance without users), so mongod
# runs with authorization from its very first start. Users and indexes are
# applied once per pod by the pod that is primary (mongo-init.js).
set -euo pipefail

: "${ARCHITECTURE:?}" "${POD_NAME:?}" "${MEMBER_DOMAIN:?}" "${HOSTS_FILE:?}"
: "${MONGODB_ROOT_USER:?}" "${MONGODB_ROOT_PASSWORD_FILE:?}" "${MONGODB_INIT_SCRIPT:?}"
[ -r "$MONGODB_ROOT_PASSWORD_FILE" ] || { echo "MONGODB_ROOT_PASSWORD_FILE: $MONGODB_ROOT_PASSWORD_FILE is not readable" >&2; exit 1; }
REPLICA_SET_NAME=${REPLICA_SET_NAME:-rs0}
INTERVAL_SECONDS=${INTERVAL_SECONDS:-30}
TIMEOUT_MS=${TIMEOUT_MS:-5000}
STATE_DIR=${STATE_DIR:-/tmp}

ORDINAL=${POD_NAME##*-}
# Where the local mongod answers, and the address the set knows this member by.
# The chart sets neither (these defaults are the pod's); the tests set them to
# run this script against mongod processes on free ports of 127.0.0.1.
LOCAL=${MONGODB_LOCAL_ADDRESS:-127.0.0.1:27017}
SELF=${MONGODB_MEMBER_ADDRESS:-${POD_NAME}${MEMBER_DOMAIN}:27017}

# Authenticates the shell as root. The password is read from its file (the
# mounted Secret) inside mongosh, by the query that needs it: it is never on a
# command line, nor in this script's or mongosh's environment.
ROOT_PASSWORD='require("fs").readFileSync(process.env.MONGODB_ROOT_PASSWORD_FILE, "utf8")'
AUTH="db.getSiblingDB(\"admin\").auth(process.env.MONGODB_ROOT_USER, ${ROOT_PASSWORD});"

# A member's state as one word (see the table above).
JS_STATE='const h = db.hello();
print(h.setName ? (h.isWritablePrimary ? "primary" : h.secondary ? "secondary" : "other")
  : h.isreplicaset ? "uninitialized" : "standalone");'

# Creating first only succeeds through the localhost exception (no user yet);
# otherwise mongod answers Unauthorized and the password is checked instead.
JS_ROOT='const admin = db.getSiblingDB("admin");
const user = process.env.MONGODB_ROOT_USER, pwd = '"${ROOT_PASSWORD}"';
let state = "auth-failed";
try { admin.createUser({ user: user, pwd: pwd, roles: ["root"] }); state = "created"; } catch (e) {
  try { const r = admin.auth(user, pwd); if (r && r.ok === 1) state = "exists"; } catch (e2) { /* wrong password */ }
}
print(state);'

log() {
  printf '%s bootstrap %s: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$POD_NAME" "$*" >&2
}

# query HOST NAME JS: runs JS on one member and prints its output. NAME labels
# the query in a leading comment (visible in mongod's slow-query log).
# stdin is closed: inside `while read` loops mongosh would eat the loop's input.
query() {
  mongosh --quiet --norc \
    "mongodb://$1/admin?directConnection=true&serverSelectionTimeoutMS=${TIMEOUT_MS}&connectTimeoutMS=${TIMEOUT_MS}" \
    --eval "/* $2 */ $3" </dev/null
}

state_of() {
  query "$1" state "$JS_STATE" 2>/dev/null || echo down
}

# The members the chart wants: the "hosts" key of the connection ConfigMap,
# mounted as a volume so that a scale-up reaches running pods without a restart.
wanted_members() {
  { tr ',' '\n' <"$HOSTS_FILE"; echo; } | sed '/^$/d'
}

# The root user, checked until it works once per pod (marker in the emptyDir).
ensure_root() {
  local marker="${STATE_DIR}/root-ok" result
  [ -e "$marker" ] && return 0
  result=$(query "$LOCAL" root "$JS_ROOT") || { log "cannot reach the local mongod"; return 1; }
  case "$result" in
    exists) ;;
    created) log "created the root user ${MONGODB_ROOT_USER} (localhost exception)" ;;
    *)
      log "root user ${MONGODB_ROOT_USER} exists with another password; change it with db.changeUserPassword() first (README: rotating credentials)"
      return 1
      ;;
  esac
  : >"$marker"
}

maybe_initiate() {
  if [ "$ORDINAL" != 0 ]; then
    log "not initialised; waiting for the primary to add ${SELF}"
    return 0
  fi
  local host state
  while read -r host; do
    [ "$host" = "$SELF" ] && continue
    state=$(state_of "$host")
    case "$state" in
      uninitialized) ;;
      down)
        log "not initiating: ${host} does not answer yet"
        return 0
        ;;
      *)
        log "not initiating: ${host} is already a member (${state}); waiting to be added"
        return 0
        ;;
    esac
  done < <(wanted_members)
  log "initiating replica set ${REPLICA_SET_NAME} with ${SELF}"
  query "$LOCAL" initiate "printjson(rs.initiate({ _id: \"${REPLICA_SET_NAME}\", members: [{ _id: 0, host: \"${SELF}\" }] }).ok)"
}

# The hosts of the members in the replica set configuration, one a line.
config_members() {
  query "$LOCAL" members "${AUTH} print(rs.conf().members.map((m) => m.host).join(\"\\n\"))" || {
    log "cannot read the replica set configuration"
    return 1
  }
}

add_missing_members() {
  local current host state
  current=$(config_members) || return 1
  while read -r host; do
    if grep -qxF "$host" <<<"$current"; then continue; fi
    state=$(state_of "$host")
    if [ "$state" = uninitialized ]; then
      log "adding ${host} to ${REPLICA_SET_NAME}"
      query "$LOCAL" add "${AUTH} printjson(rs.add({ host: \"${host}\" }).ok)" || log "rs.add(${host}) failed; retrying next pass"
    else
      log "not adding ${host} yet (${state})"
    fi
  done < <(wanted_members)
}

# Scale-down: config members the chart no longer wants leave the set, one
# reconfiguration each. Never this member (a primary cannot remove itself; the
# next primary does it). Runs after the adds, so the set never shrinks below
# what is wanted.
remove_unwanted_members() {
  local current wanted host
  current=$(config_members) || return 1
  wanted=$(wanted_members)
  # A hosts list without this member is not this set's (or is being rewritten).
  if ! grep -qxF "$SELF" <<<"$wanted"; then
    log "not removing members: ${SELF} is not in the hosts list"
    return 0
  fi
  while read -r host; do
    [ -z "$host" ] && continue
    if [ "$host" = "$SELF" ] || grep -qxF "$host" <<<"$wanted"; then continue; fi
    log "removing ${host} from ${REPLICA_SET_NAME} (no longer in the hosts list)"
    query "$LOCAL" remove "${AUTH} printjson(rs.remove(\"${host}\").ok)" || log "rs.remove(${host}) failed; retrying next pass"
  done <<<"$current"
}

# Users and indexes (mongo-init.js), once per pod, by the pod that is primary
# or standalone; the marker lives in the pod's emptyDir.
apply_users_once() {
  local marker="${STATE_DIR}/users-applied"
  [ -e "$marker" ] && return 0
  log "applying users and indexes"
  query "$LOCAL" init "${AUTH} load(process.env.MONGODB_INIT_SCRIPT)" && : >"$marker"
}

reconcile() {
  local state
  state=$(state_of "$LOCAL")
  case "$state" in
    down)
      log "mongod does not answer yet"
      return 1
      ;;
    standalone) ensure_root && apply_users_once ;;
    uninitialized) maybe_initiate ;;
    primary) ensure_root && add_missing_members && remove_unwanted_members && apply_users_once ;;
    secondary | other) ;;
    *)
      log "unexpected state: ${state}"
      return 1
      ;;
  esac
}

main() {
  if [ "${1:-}" = --once ]; then
    reconcile
    return
  fi
  log "reconciling ${ARCHITECTURE} member ${SELF} every ${INTERVAL_SECONDS}s"
  trap 'exit 0' TERM INT
  while :; do
    reconcile || true
    # The container's probes read the age of this file (a stuck pass is restarted).
    touch "${STATE_DIR}/heartbeat"
    sleep "$INTERVAL_SECONDS" &
    wait $!
  done
}

main "$@"
