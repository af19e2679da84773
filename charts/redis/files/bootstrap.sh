#!/usr/bin/env bash
# Idempotent Redis Cluster bootstrap and repair. Safe to run any number of
# times, against a fresh set of nodes or a running cluster:
#
#   every node empty, no slots, knows only itself
#       -> redis-cli --cluster create (the only time it creates anything)
#   a cluster whose nodes all see each other, all slots served
#       -> nothing to do
#   a cluster where a node lost its peers (a pod came back with a new IP, or
#   every pod did, so the addresses in nodes.conf are all stale)
#       -> CLUSTER MEET to the node's current address, only between nodes that
#          already know each other by node id (never merges two clusters)
#   anything else: some nodes empty while others hold slots, slots missing,
#   nodes of two different clusters
#       -> refuses (exit 2) and says what a human should look at
#
# It never runs reset, flush, forget, fix, addslots or failover. Every wait and
# every redis-cli call is bounded by a timeout.
#
# Usage: bootstrap.sh [--no-create] [host:port ...]
# Environment:
#   REDIS_NODES               host:port of every node, space or comma separated
#                             (used when no arguments are given)
#   REDISCLI_AUTH             the password (redis-cli reads it from here, so it
#                             never appears on a command line)
#   REDISCLI_AUTH_FILE        a file holding the password (the mounted Secret);
#                             read into REDISCLI_AUTH when set
#   REDIS_CLUSTER_REPLICAS    replicas per master for create (default 1)
#   REDIS_BOOTSTRAP_TIMEOUT   seconds to wait for nodes / a healthy cluster (default 300)
#   REDIS_CALL_TIMEOUT        seconds per redis-cli call (default 10)
#   REDIS_BOOTSTRAP_CREATE    "false" never creates (the periodic reconcile)
# Exit: 0 created / healthy / repaired, 1 error or timeout, 2 refused (unsafe state).
set -euo pipefail

replicas=${REDIS_CLUSTER_REPLICAS:-1}
wait_timeout=${REDIS_BOOTSTRAP_TIMEOUT:-300}
call_timeout=${REDIS_CALL_TIMEOUT:-10}
allow_create=${REDIS_BOOTSTRAP_CREATE:-true}
TOTAL_SLOTS=16384

log() { printf '%s bootstrap: %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }
refuse() {
  log "REFUSING: $*"
  log "nothing was changed; inspect with: redis-cli -c -h <node> cluster nodes / redis-cli --cluster check <node>:6379"
  exit 2
}

nodes=()
for arg in "$@"; do
  case $arg in
    --no-create) allow_create=false ;;
    -h | --help) sed -n '2,32p' "$0"; exit 0 ;;
    -*) die "unknown option $arg" ;;
    *) nodes+=("$arg") ;;
  esac
done
if ((${#nodes[@]} == 0)); then
  read -r -a nodes <<<"${REDIS_NODES//,/ }"
fi
((${#nodes[@]} > 0)) || die "no nodes: set REDIS_NODES or pass host:port arguments"
if [[ -n ${REDISCLI_AUTH_FILE:-} ]]; then
  [[ -r $REDISCLI_AUTH_FILE ]] || die "REDISCLI_AUTH_FILE $REDISCLI_AUTH_FILE is not readable"
  REDISCLI_AUTH=$(<"$REDISCLI_AUTH_FILE")
  export REDISCLI_AUTH
fi
[[ -n ${REDISCLI_AUTH:-} ]] || die "REDISCLI_AUTH is not set"
[[ $replicas =~ ^[0-9]+$ && $wait_timeout =~ ^[0-9]+$ && $call_timeout =~ ^[0-9]+$ ]] || die "REDIS_CLUSTER_REPLICAS, REDIS_BOOTSTRAP_TIMEOUT and REDIS_CALL_TIMEOUT must be integers"
for node in "${nodes[@]}"; do
  [[ $node =~ ^[^:]+:[0-9]+$ ]] || die "bad node address '$node' (want host:port)"
done
n=${#nodes[@]}
deadline=$((SECONDS + wait_timeout))

# cli <host:port> <args...>: one bounded redis-cli call, CRs stripped.
cli() {
  local addr=$1
  shift
  timeout "$call_timeout" redis-cli --no-auth-warning -h "${addr%:*}" -p "${addr##*:}" "$@" 2>&1 | tr -d '\r'
}

# field <text> <key>: the value of key:value in INFO / CLUSTER INFO output.
field() { sed -n "s/^$2:\(.*\)$/\1/p" <<<"$1" | head -n 1; }

is_ip() { [[ $1 =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ || $1 == *:* ]]; }

# resolve <host>: the address CLUSTER MEET needs (it takes IPs, not names).
resolve() {
  if is_ip "$1"; then
    printf '%s' "$1"
  else
    getent hosts "$1" | awk 'NR == 1 { print $1 }'
  fi
}

# 1. Wait until every node answers PING.
log "waiting for ${n} nodes to answer PING (up to ${wait_timeout}s)"
while :; do
  missing=()
  for node in "${nodes[@]}"; do
    [[ $(cli "$node" ping) == PONG ]] || missing+=("$node")
  done
  ((${#missing[@]} == 0)) && break
  ((SECONDS < deadline)) || die "timed out waiting for: ${missing[*]}"
  sleep 2
done

# 2. Addresses, and each node's view of the cluster.
declare -a ip port addr id known assigned state dbsize view busport myslots
collect() {
  local i line
  for ((i = 0; i < n; i++)); do
    local info
    info=$(cli "${nodes[i]}" cluster info)
    [[ $(field "$(cli "${nodes[i]}" info cluster)" cluster_enabled) == 1 ]] || die "${nodes[i]} does not run with cluster-enabled yes"
    state[i]=$(field "$info" cluster_state)
    known[i]=$(field "$info" cluster_known_nodes)
    assigned[i]=$(field "$info" cluster_slots_assigned)
    dbsize[i]=$(cli "${nodes[i]}" dbsize)
    id[i]=$(cli "${nodes[i]}" cluster myid)
    [[ ${id[i]} =~ ^[0-9a-f]{40}$ ]] || die "${nodes[i]}: unexpected CLUSTER MYID reply '${id[i]}'"
    view[i]=$(cli "${nodes[i]}" cluster nodes)
    line=$(awk '$3 ~ /myself/' <<<"${view[i]}")
    # ip:port@busport[,hostname] -> busport
    busport[i]=$(awk '{ split($2, a, "@"); split(a[2], b, ","); print b[1] }' <<<"$line")
    myslots[i]=$(awk '{ print NF - 8 }' <<<"$line")
  done
}
for ((i = 0; i < n; i++)); do
  port[i]=${nodes[i]##*:}
  ip[i]=$(resolve "${nodes[i]%:*}")
  [[ -n ${ip[i]} ]] || die "cannot resolve ${nodes[i]%:*}"
  addr[i]="${ip[i]}:${port[i]}"
done
collect

is_fresh() { [[ ${known[$1]} == 1 && ${assigned[$1]} == 0 && ${dbsize[$1]} == 0 && ${myslots[$1]} == 0 ]]; }

# line_for <i> <j>: node i's CLUSTER NODES line about node j ("" when unknown).
line_for() { awk -v id="${id[$2]}" '$1 == id' <<<"${view[$1]}"; }

# sees <i> <j>: node i knows j at j's current address, connected, not failing.
sees() {
  local line
  line=$(line_for "$1" "$2")
  [[ -n $line ]] || return 1
  awk -v want="${addr[$2]}" '{
    split($2, a, "@")
    ok = (a[1] == want) && ($8 == "connected") && ($3 !~ /(fail|noaddr|handshake)/)
    exit ok ? 0 : 1
  }' <<<"$line"
}

healthy() {
  local i j
  for ((i = 0; i < n; i++)); do
    [[ ${state[i]} == ok && ${assigned[i]} == "$TOTAL_SLOTS" ]] || return 1
    for ((j = 0; j < n; j++)); do
      ((i == j)) || sees "$i" "$j" || return 1
    done
  done
}

wait_healthy() {
  while :; do
    collect
    healthy && return 0
    ((SECONDS < deadline)) || return 1
    sleep 2
  done
}

summary() {
  local i masters=0 replicas_seen=0
  for ((i = 0; i < n; i++)); do
    if awk '$3 ~ /myself/ && $3 ~ /master/ { found = 1 } END { exit !found }' <<<"${view[i]}"; then
      masters=$((masters + 1))
    else
      replicas_seen=$((replicas_seen + 1))
    fi
  done
  log "cluster_state:ok, ${TOTAL_SLOTS} slots, ${masters} masters, ${replicas_seen} replicas"
  for ((i = 0; i < n; i++)); do
    if ((known[i] > n)); then
      log "note: ${nodes[i]} knows ${known[i]} nodes for ${n} pods; stale entries (e.g. a pod that lost its volume) stay until removed by hand with CLUSTER FORGET"
      break
    fi
  done
}

fresh=() members=()
for ((i = 0; i < n; i++)); do
  if is_fresh "$i"; then fresh+=("${nodes[i]}"); else members+=("${nodes[i]}"); fi
done

# 3. A brand-new set of nodes: create the cluster.
if ((${#fresh[@]} == n)); then
  if [[ $allow_create != true ]]; then
    log "no cluster yet and creation is disabled here (--no-create); nothing to do"
    exit 0
  fi
  ((n % (replicas + 1) == 0 && n / (replicas + 1) >= 3)) ||
    die "${n} nodes cannot form a cluster of >= 3 masters with ${replicas} replica(s) each"
  targets=()
  for ((i = 0; i < n; i++)); do targets+=("${addr[i]}"); done
  log "all ${n} nodes are empty and hold no slots: creating the cluster (${replicas} replica(s) per master)"
  timeout "$wait_timeout" redis-cli --no-auth-warning --cluster create "${targets[@]}" --cluster-replicas "$replicas" --cluster-yes ||
    die "redis-cli --cluster create failed"
  wait_healthy || die "the new cluster did not reach cluster_state:ok within ${wait_timeout}s"
  summary
  exit 0
fi

# 4. Some nodes are empty while others already belong to a cluster.
if ((${#fresh[@]} > 0)); then
  refuse "partially set up: ${#fresh[@]} empty node(s) without slots (${fresh[*]}) next to node(s) that already hold slots or know peers (${members[*]}). Creating would need destructive commands on a cluster that holds slots. If a pod lost its volume, add it back by hand: redis-cli --cluster add-node <new>:6379 <member>:6379 --cluster-slave, then CLUSTER FORGET the old node id on every node."
fi

# 5. Every node belongs to a cluster: make sure they all see each other.
if healthy; then
  log "cluster exists and is ok; nothing to do"
  summary
  exit 0
fi
met=0
declare -A handshaken=()
for ((i = 0; i < n; i++)); do
  for ((j = 0; j < n; j++)); do
    ((i == j)) && continue
    sees "$i" "$j" && continue
    # A MEET teaches both ends each other's address: one per pair is enough.
    [[ -n ${handshaken[$j,$i]:-} ]] && continue
    if [[ -z $(line_for "$i" "$j") && -z $(line_for "$j" "$i") ]]; then
      refuse "${nodes[i]} (${id[i]}) and ${nodes[j]} (${id[j]}) do not know each other: they belong to different clusters; not merging them"
    fi
    log "${nodes[i]} does not see ${nodes[j]} at ${addr[j]}: CLUSTER MEET ${ip[j]} ${port[j]} ${busport[j]}"
    reply=$(cli "${nodes[i]}" cluster meet "${ip[j]}" "${port[j]}" "${busport[j]}")
    [[ $reply == OK ]] || die "CLUSTER MEET on ${nodes[i]} answered: $reply"
    handshaken[$i,$j]=1
    met=$((met + 1))
  done
done

if ((met == 0)); then
  for ((i = 0; i < n; i++)); do
    if [[ ${assigned[i]} != "$TOTAL_SLOTS" ]]; then
      refuse "${nodes[i]} sees ${assigned[i]:-?} of ${TOTAL_SLOTS} slots assigned: a partial cluster. Slots are never assigned automatically; check with redis-cli --cluster check and fix by hand."
    fi
  done
  log "all nodes see each other; waiting for cluster_state:ok (failover or rejoin in progress)"
else
  log "sent ${met} CLUSTER MEET(s); waiting for the cluster to converge"
fi
wait_healthy || die "the cluster did not become healthy within ${wait_timeout}s (state per node: ${state[*]})"
summary
