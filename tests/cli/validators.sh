#!/usr/bin/env bash
# Four validators and an observer as real processes (`devnet --validators 4 --observers 1`),
# on loopback ports:
#   transactions submitted to different nodes, the observer among them, commit everywhere;
#   one validator SIGKILLed under load and restarted catches up, and all four and the observer
#   hold the same blocks;
#   with one stopped (SIGTERM) the other three keep committing, and the observer follows;
#   with two stopped (the second by SIGKILL) nothing commits and nothing forks;
#   restarted from their folders, they commit again and all five agree.
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
  [ -n "${KEEP:-}" ] && echo "kept $dir" || rm -rf "$dir"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  for k in v0 v1 v2 v3 o0; do echo "--- $k log (tail)"; tail -n 15 "$dir/net/$k/node.log" || true; done
  exit 1
}

base=$((20000 + RANDOM % 12000)) # below the ephemeral ports (32768..), which outgoing connections take
"$bin" devnet --validators 4 --observers 1 --data "$dir/net" --http "127.0.0.1:$base" \
  --p2p-port $((base + 100)) >"$dir/out" 2>"$dir/err" &
sup=$!
pids=()
for _ in $(seq 1 100); do
  mapfile -t pids < <(sed -n 's/^  [a-z]* *[0-9]*: pid \([0-9]*\),.*/\1/p' "$dir/out")
  [ "${#pids[@]}" = 5 ] && break
  sleep 0.1
done
[ "${#pids[@]}" = 5 ] || fail "devnet did not start four validators and an observer: $(cat "$dir/out" "$dir/err")"

url() { echo "http://127.0.0.1:$((base + $1))"; }
height() { curl -s --max-time 2 "$(url "$1")/v1/status" | sed -n 's/.*"height":\([0-9]*\).*/\1/p'; }
# The hashes of node $1's blocks 1 to $2, one a line (one curl for all).
hashes() {
  curl -s --max-time 10 -w '\n' "$(url "$1")/v1/blocks/[1-$2]" |
    sed -n 's/^{"height":[0-9]*,"hash":"\([0-9a-f]*\)".*/\1/p' || true
}
. "$(dirname "$0")/lib/chain.sh" # wait_height, same_chain, hash

# Node 4 is the observer: it serves the API like the others and follows their chain.
for k in 0 1 2 3 4; do wait_height "$k" 3 30 || fail "node $k did not reach height 3"; done

# Transactions to different nodes, each waiting for its commit.
submit() { # validator, key name, document (the output file is per process: loads run at once)
  local out="$dir/sub.$BASHPID"
  "$bin" tx submit --wait --node "$(url "$1")" --key "$dir/net/keys/$2.key" --kind anchor/record \
    --payload "{\"hash\":\"$(hash "$3")\",\"label\":\"$3\"}" >"$out" 2>&1 \
    || fail "submit of $3 to $1: $(cat "$out")"
  grep -q '"status": "committed"' "$out" || fail "$3 not committed: $(cat "$out")"
}
submit 0 service "doc to 0"
submit 2 dealer "doc to 2"
submit 3 insurer "doc to 3"
submit 4 supplier "doc to the observer"

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
wait_height 4 "$top" 30 || fail "the observer did not follow to $top"
same_chain 0 1 2 3 4

# One stopped (validator 3, cleanly): the other three keep committing, the observer follows.
kill -TERM "${pids[3]}"
h=$(height 0)
wait_height 0 $((h + 3)) 30 || fail "three validators of four did not commit"
submit 1 fleet "with one stopped"
wait_height 4 $((h + 3)) 30 || fail "the observer did not follow three validators"

# Two stopped (3, and now 2 by SIGKILL): nothing commits, nothing forks.
kill -KILL "${pids[2]}"
sleep 3 # what was certified may still commit; then nothing may
h0=$(height 0)
h1=$(height 1)
sleep 5
[ "$(height 0)" = "$h0" ] && [ "$(height 1)" = "$h1" ] || fail "committed with two of four stopped"
same_chain 0 1 4

# Both restarted from their folders: progress resumes, and all five agree.
for k in 2 3; do
  "$bin" node --config "$dir/net/v$k/node.json" 2>>"$dir/net/v$k/node.log" &
  extra[$k]=$!
done
wait_height 0 $((h0 + 3)) 60 || fail "no progress after the two came back"
for k in 2 3; do wait_height "$k" $((h0 + 3)) 60 || fail "validator $k did not catch up"; done
submit 3 auditor "after the restart"
top=$(height 0)
for k in 1 2 3 4; do wait_height "$k" "$top" 30 || fail "node $k behind after the restart"; done
same_chain 0 1 2 3 4
echo "validators.sh: ok (height $(height 0))"
