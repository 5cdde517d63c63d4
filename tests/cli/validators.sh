#!/usr/bin/env bash
# Four validators as real processes (`devnet --validators 4`), on loopback ports:
#   transactions submitted to different nodes commit everywhere;
#   one validator SIGKILLed under load and restarted catches up, and all four hold the same
#   blocks;
#   with one stopped the other three keep committing;
#   with two stopped nothing commits and nothing forks;
#   restarted, they commit again.
# Bounded (every wait has a deadline); every process started here is killed by pid on exit.
set -euo pipefail
bin=$1
dir=$(mktemp -d)
sup=
declare -A extra=() # validator -> pid of a node restarted by this script
cleanup() {
  for p in "${extra[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  if [ -n "$sup" ]; then
    kill -TERM "$sup" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$sup" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$sup" 2>/dev/null || true
  fi
  for p in "${pids[@]:-}"; do kill -KILL "$p" 2>/dev/null || true; done
  rm -rf "$dir"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  for k in 0 1 2 3; do echo "--- v$k log (tail)"; tail -n 15 "$dir/net/v$k/node.log" || true; done
  exit 1
}

base=$((20000 + RANDOM % 20000))
"$bin" devnet --validators 4 --data "$dir/net" --http "127.0.0.1:$base" \
  --p2p-port $((base + 100)) >"$dir/out" 2>"$dir/err" &
sup=$!
pids=()
for _ in $(seq 1 100); do
  mapfile -t pids < <(sed -n 's/^  validator [0-9]*: pid \([0-9]*\),.*/\1/p' "$dir/out")
  [ "${#pids[@]}" = 4 ] && break
  sleep 0.1
done
[ "${#pids[@]}" = 4 ] || fail "devnet did not start four validators: $(cat "$dir/out" "$dir/err")"

url() { echo "http://127.0.0.1:$((base + $1))"; }
height() { curl -s --max-time 2 "$(url "$1")/v1/status" | sed -n 's/.*"height":\([0-9]*\).*/\1/p'; }
hash_at() { curl -s --max-time 2 "$(url "$1")/v1/blocks/$2" | sed -n 's/^{"height":[0-9]*,"hash":"\([0-9a-f]*\)".*/\1/p'; }
# Waits until validator $1 is at height $2 or more (deadline $3 seconds).
wait_height() {
  local h
  for _ in $(seq 1 $(($3 * 10))); do
    h=$(height "$1")
    [ -n "$h" ] && [ "$h" -ge "$2" ] && return 0
    sleep 0.1
  done
  return 1
}
# Every running validator in "$@" has the same block at every height up to the lowest head.
same_chain() {
  local low=999999999 h k
  for k in "$@"; do h=$(height "$k"); [ -n "$h" ] && [ "$h" -lt "$low" ] && low=$h; done
  [ "$low" -ge 1 ] || fail "no blocks to compare"
  for h in $(seq 1 "$low"); do
    local want
    want=$(hash_at "$1" "$h")
    [ -n "$want" ] || fail "no block $h on validator $1"
    for k in "$@"; do
      [ "$(hash_at "$k" "$h")" = "$want" ] || fail "validators $1 and $k differ at height $h"
    done
  done
}

for k in 0 1 2 3; do wait_height "$k" 3 30 || fail "validator $k did not reach height 3"; done

# Transactions to different nodes, each waiting for its commit.
hash() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
submit() { # validator, key name, document
  "$bin" tx submit --wait --node "$(url "$1")" --key "$dir/net/keys/$2.key" --kind anchor/record \
    --payload "{\"hash\":\"$(hash "$3")\",\"label\":\"$3\"}" >"$dir/sub" 2>&1 \
    || fail "submit of $3 to $1: $(cat "$dir/sub")"
  grep -q '"status": "committed"' "$dir/sub" || fail "$3 not committed: $(cat "$dir/sub")"
}
submit 0 service "doc to 0"
submit 2 dealer "doc to 2"
submit 3 insurer "doc to 3"

# Load on 0 and 2 while validator 1 is SIGKILLed and restarted.
load() { # validator, key name, count
  for i in $(seq 1 "$3"); do submit "$1" "$2" "load $1 $i" || return 1; done
}
load 0 registry 15 &
l1=$!
load 2 lender 15 &
l2=$!
sleep 1
kill -KILL "${pids[1]}"
sleep 2
"$bin" node --config "$dir/net/v1/node.json" 2>>"$dir/net/v1/node.log" &
extra[1]=$!
wait "$l1" || fail "load on 0"
wait "$l2" || fail "load on 2"
top=$(height 0)
wait_height 1 "$top" 30 || fail "the restarted validator 1 did not catch up to $top"
same_chain 0 1 2 3

# One stopped (validator 3): the other three keep committing.
kill -STOP "${pids[3]}"
h=$(height 0)
wait_height 0 $((h + 3)) 30 || fail "three validators of four did not commit"
submit 1 fleet "with one stopped"

# Two stopped (3 and 2): nothing commits, nothing forks.
kill -STOP "${pids[2]}"
sleep 3 # what was certified may still commit; then nothing may
h0=$(height 0)
h1=$(height 1)
sleep 5
[ "$(height 0)" = "$h0" ] && [ "$(height 1)" = "$h1" ] || fail "committed with two of four stopped"
same_chain 0 1

# Both back: progress resumes, and all four agree.
kill -CONT "${pids[2]}" "${pids[3]}"
wait_height 0 $((h0 + 3)) 60 || fail "no progress after the two came back"
submit 3 auditor "after the heal"
top=$(height 0)
for k in 1 2 3; do wait_height "$k" "$top" 30 || fail "validator $k behind after the heal"; done
same_chain 0 1 2 3
echo "validators.sh: ok (height $(height 0))"
