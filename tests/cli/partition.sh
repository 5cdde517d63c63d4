#!/usr/bin/env bash
# Four validators as real processes, each in its own Linux network namespace, joined by veth
# pairs to one bridge (in a fifth namespace), and the network between them cut and healed:
#   (a) all four commit a transaction and hold the same blocks;
#   (b) one validator isolated: the other three keep committing, a transaction commits;
#   (c) a second one isolated too (no side has 3 of 4): nothing commits for 8 s, nothing forks;
#   (d) healed: progress resumes, a transaction sent to a formerly isolated validator and one
#       accepted during the split commit, and all four hold the same blocks.
# Needs root (ip netns); without it prints "partition.sh: SKIP: ..." and exits 0. Bounded
# (every wait has a deadline); on exit every process started here is killed by pid and every
# namespace, veth and bridge made here is deleted. KEEP=1 keeps the temp folder; LOG_LEVEL=debug
# logs more; HOLD_S=N keeps validator 3 isolated N seconds longer.
set -euo pipefail
bin=$(readlink -f "$1")
[ -x "$bin" ] || { echo "FAIL: no program at $1"; exit 1; }

# --- names, chosen so that nothing of another run (or of anything else) is touched ----------
command -v ip >/dev/null 2>&1 || { echo "partition.sh: SKIP: no ip command (iproute2)"; exit 0; }
for _ in $(seq 1 20); do
  tag=blokp-$RANDOM$RANDOM
  ip netns list 2>/dev/null | grep -q "^$tag-" || break
done
brns=$tag-br # the namespace holding the bridge
ns=("$tag-0" "$tag-1" "$tag-2" "$tag-3")
net="10.$((1 + RANDOM % 254)).$((RANDOM % 255))"
addr() { echo "$net.$(($1 + 1))"; }

made=()  # namespaces created here
pids=()  # node processes started here
dir=
started=$(date +%s)
cleanup() {
  set +e
  local p n
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for _ in $(seq 1 30); do
    n=0
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && n=1; done
    [ "$n" = 0 ] && break
    sleep 0.1
  done
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
  # Anything else still inside one of our namespaces was started here too (a submit cut short).
  for n in "${made[@]}"; do
    for p in $(ip netns pids "$n" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
  done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  if [[ " ${made[*]} " == *" $brns "* ]]; then
    for k in 0 1 2 3; do ip -n "$brns" link del "v$k" 2>/dev/null; done
    ip -n "$brns" link del br0 2>/dev/null
  fi
  for n in "${made[@]}"; do ip netns del "$n" 2>/dev/null || echo "partition.sh: could not delete namespace $n"; done
  if [ -n "$dir" ]; then
    if [ -n "${KEEP:-}" ]; then echo "kept $dir"; else rm -rf "$dir"; fi
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The one reason to skip: network namespaces cannot be made here (not root, no CAP_SYS_ADMIN).
if ! err=$(ip netns add "$brns" 2>&1); then
  echo "partition.sh: SKIP: ip netns add does not work here: ${err:-unknown error}"
  exit 0
fi
made+=("$brns")

dir=$(mktemp -d)
fail() {
  echo "FAIL: $*"
  if [ "${#pids[@]}" = 4 ]; then
    echo "--- heights now: $(for k in 0 1 2 3; do printf 'validator %s: %s; ' "$k" "$(height "$k")"; done)"
  fi
  for k in 0 1 2 3; do echo "--- validator $k log (tail)"; tail -n 20 "$dir/v$k/node.log" 2>/dev/null || true; done
  exit 1
}
step() { echo "partition.sh: $(($(date +%s) - started)) s: $*"; }

# --- the network: a bridge, and a veth pair into it per validator ---------------------------
ip -n "$brns" link add br0 type bridge || fail "cannot create a bridge"
ip -n "$brns" link set br0 up || fail "cannot bring the bridge up"
for k in 0 1 2 3; do
  ip netns add "${ns[$k]}" || fail "cannot create namespace ${ns[$k]}"
  made+=("${ns[$k]}")
  ip -n "$brns" link add "v$k" type veth peer name eth0 netns "${ns[$k]}" || fail "cannot create veth $k"
  ip -n "$brns" link set "v$k" master br0 || fail "cannot attach veth $k to the bridge"
  ip -n "$brns" link set "v$k" up || fail "cannot bring veth $k up"
  ip -n "${ns[$k]}" link set lo up || fail "cannot bring loopback up in ${ns[$k]}"
  ip -n "${ns[$k]}" addr add "$(addr "$k")/24" dev eth0 || fail "cannot address ${ns[$k]}"
  ip -n "${ns[$k]}" link set eth0 up || fail "cannot bring eth0 up in ${ns[$k]}"
done
# Cutting a validator off takes its port on the bridge down: its own address stays local, so
# its API still answers from inside its namespace, and nothing it sends reaches the others.
isolate() { ip -n "$brns" link set "v$1" down || fail "cannot take veth $1 down"; }
reconnect() { ip -n "$brns" link set "v$1" up || fail "cannot bring veth $1 up"; }

# --- keys, genesis, node configs ------------------------------------------------------------
mkdir -p "$dir/keys"
pub() { "$bin" key show "$dir/keys/$1.key"; }
for k in 0 1 2 3; do "$bin" keygen --out "$dir/keys/validator-$k.key" >/dev/null || fail "keygen"; done
members=(dealer service insurer fleet auditor)
for m in "${members[@]}"; do "$bin" keygen --out "$dir/keys/$m.key" >/dev/null || fail "keygen"; done
{
  echo "{\"chain_id\": \"blokauto-partition\", \"genesis_time_ms\": $(date +%s%3N),"
  echo " \"validators\": ["
  for k in 0 1 2 3; do
    echo "  {\"name\": \"validator-$k\", \"public_key\": \"$(pub "validator-$k")\"}$([ $k = 3 ] || echo ,)"
  done
  echo " ],"
  echo " \"consortium\": {\"members\": ["
  last=${members[-1]}
  for m in "${members[@]}"; do
    echo "  {\"name\": \"partition $m\", \"roles\": [\"$m\"], \"keys\": [\"$(pub "$m")\"]}$([ "$m" = "$last" ] || echo ,)"
  done
  echo " ]}}"
} >"$dir/genesis.json"
for k in 0 1 2 3; do
  mkdir -p "$dir/v$k"
  peers=
  for j in 0 1 2 3; do
    [ "$j" = "$k" ] && continue
    peers+="${peers:+, }{\"public_key\": \"$(pub "validator-$j")\", \"address\": \"$(addr "$j"):19100\"}"
  done
  cat >"$dir/v$k/node.json" <<EOF
{
  "data_dir": "$dir/v$k",
  "genesis": "$dir/genesis.json",
  "validator_key": "$dir/keys/validator-$k.key",
  "http": "$(addr "$k"):18080",
  "p2p": "$(addr "$k"):19100",
  "peers": [$peers],
  "round_timeout_ms": 1000,
  "log_level": "${LOG_LEVEL:-info}"
}
EOF
done

for k in 0 1 2 3; do
  ip netns exec "${ns[$k]}" "$bin" node --config "$dir/v$k/node.json" >>"$dir/v$k/node.log" 2>&1 &
  pids+=($!)
done
step "four validators started in ${ns[*]} on $net.1-4 (pids ${pids[*]})"

# --- helpers: every call reaches a node from inside its namespace, with a deadline ----------
url() { echo "http://$(addr "$1"):18080"; }
api() { ip netns exec "${ns[$1]}" curl -s --max-time 2 "$(url "$1")$2" || true; }
height() { api "$1" /v1/status | sed -n 's/.*"height":\([0-9]*\).*/\1/p'; }
# The hashes of validator $1's blocks 1 to $2, one a line: one curl (one namespace entry) for all.
hashes() {
  ip netns exec "${ns[$1]}" curl -s --max-time 2 -w '\n' "$(url "$1")/v1/blocks/[1-$2]" |
    sed -n 's/^{"height":[0-9]*,"hash":"\([0-9a-f]*\)".*/\1/p' || true
}
alive() { for k in 0 1 2 3; do kill -0 "${pids[$k]}" 2>/dev/null || fail "validator $k exited"; done; }
. "$(dirname "$0")/lib/chain.sh" # wait_height, same_chain, hash
committed_on() { api "$1" "/v1/tx/$2" | grep -q '"status":"committed"'; }
# Waits until validator $1 reports transaction $2 committed (deadline $3 seconds).
wait_tx() {
  local end=$((SECONDS + $3))
  while [ "$SECONDS" -lt "$end" ]; do
    committed_on "$1" "$2" && return 0
    sleep 0.1
  done
  return 1
}
# submit VALIDATOR KEY DOCUMENT [--wait]: leaves the transaction's id in $txid. With --wait the
# transaction must commit on that validator within 60 s: the node's own wait (10 s), then, if
# it answered "pending", polling.
submit() {
  local out="$dir/sub.out" opt=() rc=0 t=$SECONDS
  [ "${4:-}" = --wait ] && opt=(--wait)
  timeout 90 ip netns exec "${ns[$1]}" "$bin" tx submit "${opt[@]}" --node "$(url "$1")" \
    --key "$dir/keys/$2.key" --kind anchor/record \
    --payload "{\"hash\":\"$(hash "$tag $3")\",\"label\":\"$3\"}" >"$out" 2>&1 || rc=$?
  txid=$(sed -n 's/^  "id": "\([0-9a-f]*\)".*/\1/p' "$out")
  [ -n "$txid" ] || fail "submit of '$3' to validator $1 (exit $rc): $(cat "$out")"
  if [ "${#opt[@]}" = 1 ]; then
    if ! grep -q '"status": "committed"' "$out"; then
      grep -q '"code": "BLOK_ETIMEOUT"' "$out" || fail "'$3' refused by validator $1: $(cat "$out")"
      wait_tx "$1" "$txid" $((60 - (SECONDS - t))) ||
        fail "'$3' ($txid) not committed on validator $1 within 60 s: $(cat "$out")"
      echo "partition.sh: '$3' took more than the node's 10 s wait: committed after $((SECONDS - t)) s"
    fi
  elif [ "$rc" != 0 ]; then
    fail "submit of '$3' to validator $1 (exit $rc): $(cat "$out")"
  fi
}

# --- (a) all four connected -----------------------------------------------------------------
for k in 0 1 2 3; do wait_height "$k" 3 30 || { alive; fail "validator $k did not reach height 3"; }; done
submit 0 dealer "to 0, all connected" --wait
t0=$txid
submit 2 service "to 2, all connected" --wait
t1=$txid
for k in 0 1 2 3; do
  wait_tx "$k" "$t0" 10 || fail "validator $k does not have the transaction sent to 0"
  wait_tx "$k" "$t1" 10 || fail "validator $k does not have the transaction sent to 2"
done
top=$(height 0)
for k in 1 2 3; do wait_height "$k" "$top" 30 || fail "validator $k did not reach height $top"; done
same_chain 0 1 2 3
step "(a) all four connected: transactions committed everywhere, same blocks up to $low"

# --- (b) validator 3 isolated ---------------------------------------------------------------
isolate 3
h=$(height 0)
[ -n "$h" ] || fail "validator 0 does not answer"
wait_height 0 $((h + 3)) 30 || fail "three validators of four did not commit with validator 3 isolated"
submit 1 insurer "to 1, validator 3 isolated" --wait
h=$(height 1)
for k in 0 2; do wait_height "$k" "$h" 30 || fail "validator $k behind validator 1 with 3 isolated"; done
same_chain 0 1 2
sleep "${HOLD_S:-0}" # longer isolations, by hand: HOLD_S=45 (the three go on meanwhile)
alive
step "(b) validator 3 isolated: 0, 1, 2 committed (height $(height 0)), same blocks up to $low"

# --- (c) 2|2: validator 2 isolated too ------------------------------------------------------
isolate 2
sleep 3 # what was certified before the cut may still commit; after that nothing may
declare -a before=()
for k in 0 1 2 3; do
  before[k]=$(height "$k")
  [ -n "${before[$k]}" ] || fail "validator $k does not answer in the split"
done
# A transaction accepted during the split: it must wait, and commit after the heal.
submit 0 fleet "to 0, during the split"
pend=$txid
sleep 8
for k in 0 1 2 3; do
  now=$(height "$k")
  [ "$now" = "${before[$k]}" ] || fail "validator $k committed during the 2|2 split (height ${before[$k]} -> ${now:-no answer})"
done
committed_on 0 "$pend" && fail "a transaction committed during the 2|2 split"
same_chain 0 1 2 3
alive
step "(c) 2|2 split: no commits for 8 s (heights ${before[*]}), same blocks up to $low"

# --- (d) healed -----------------------------------------------------------------------------
reconnect 2
reconnect 3
healed=$(date +%s%3N)
top=0
for k in 0 1 2 3; do if [ "${before[k]}" -gt "$top" ]; then top=${before[k]}; fi; done
wait_height 0 $((top + 3)) 60 || fail "no progress within 60 s of the heal"
resumed=$(($(date +%s%3N) - healed))
# Caught up: each of the others reaches the head validator 0 has now.
top=$(height 0)
for k in 1 2 3; do wait_height "$k" "$top" 60 || fail "validator $k did not catch up to $top after the heal"; done
caught=$(($(date +%s%3N) - healed))
submit 3 auditor "to 3, after the heal" --wait
wait_tx 0 "$pend" 30 || fail "the transaction sent during the split did not commit after the heal"
top=$(height 3)
for k in 0 1 2; do wait_height "$k" "$top" 30 || fail "validator $k behind after the heal"; done
same_chain 0 1 2 3
alive
step "(d) healed: progress after $resumed ms, all four caught up after $caught ms, same blocks up to $low"
echo "partition.sh: ok (height $(height 0), $(($(date +%s) - started)) s)"
