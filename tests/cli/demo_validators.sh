#!/usr/bin/env bash
# `devnet --validators 4 --demo`: the demo loads its vehicles through validator 0's API and the
# other validators hold every one of them, the same record on all four (consensus carried them);
# SIGTERM to the supervisor stops the demo and all four nodes. Bounded (90 s for the demo); kills
# every process it started, by pid, on exit.
set -euo pipefail
bin=$1
dir=$(mktemp -d)
sup=
pids=()
cleanup() {
  if [ -n "$sup" ] && kill -0 "$sup" 2>/dev/null; then kill -TERM "$sup" 2>/dev/null || true; fi
  sleep 0.5
  if [ -n "$sup" ]; then kill -KILL "$sup" 2>/dev/null || true; fi
  for p in "${pids[@]:-}"; do kill -KILL "$p" 2>/dev/null || true; done
  [ -n "${KEEP:-}" ] && echo "kept $dir" || rm -rf "$dir"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  echo "--- out"; cat "$dir/out" || true
  echo "--- err"; cat "$dir/err" || true
  for k in v0 v1 v2 v3; do echo "--- $k log (tail)"; tail -n 10 "$dir/net/$k/node.log" || true; done
  exit 1
}
command -v jq >/dev/null || { echo "demo_validators.sh: jq is required"; exit 1; }

count=12
base=$((20000 + RANDOM % 12000)) # below the ephemeral ports (32768..)
"$bin" devnet --validators 4 --data "$dir/net" --http "127.0.0.1:$base" \
  --p2p-port $((base + 100)) --demo --demo-vehicles $count >"$dir/out" 2>"$dir/err" &
sup=$!
for _ in $(seq 1 100); do
  mapfile -t pids < <(sed -n 's/^  [a-z]* *[0-9]*: pid \([0-9]*\),.*/\1/p' "$dir/out")
  [ "${#pids[@]}" = 4 ] && break
  sleep 0.1
done
[ "${#pids[@]}" = 4 ] || fail "devnet did not start four validators"
. "$(dirname "$0")/lib/demo.sh" # wait_demo
wait_demo "$dir/out" "$dir/err" "$sup" 90
grep -q "^demo: done: $count vehicles" "$dir/out" || fail "the demo loaded another count"

url() { echo "http://127.0.0.1:$((base + $1))"; }
list="$dir/net/demo-vehicles.tsv"
[ "$(wc -l <"$list")" = $((count + 1)) ] || fail "the list has $(wc -l <"$list") lines"
# Every vehicle on every validator, the same record (its heights aside: a validator may be a
# block behind when asked, so each is asked until it has it, for 10 s at most).
strip='del(.registered_height, .retired_height, .chain_head)'
while IFS=$'\t' read -r vin _; do
  [ "$vin" = vin ] && continue
  want=$(curl -sf "$(url 0)/v1/state/vehicle/v/$vin" | jq -c ".value | $strip") ||
    fail "$vin: not on validator 0"
  [ "$want" != null ] || fail "$vin: no record on validator 0"
  for k in 1 2 3; do
    got=
    for _ in $(seq 1 100); do
      got=$(curl -sf "$(url $k)/v1/state/vehicle/v/$vin" | jq -c ".value | $strip") || got=
      [ "$got" = "$want" ] && break
      sleep 0.1
    done
    [ "$got" = "$want" ] || fail "$vin on validator $k: $got, not $want"
  done
done <"$list"

# SIGTERM to the supervisor stops all four (the demo's thread does not take the signal).
kill -TERM "$sup"
for _ in $(seq 1 100); do kill -0 "$sup" 2>/dev/null || break; sleep 0.1; done
kill -0 "$sup" 2>/dev/null && fail "the supervisor did not stop within 10 s of SIGTERM"
wait "$sup" || fail "the supervisor exited with status $?"
sup=
for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && fail "node pid $p still runs"; done
echo "ok: $count demo vehicles through validator 0, the same on all four"
