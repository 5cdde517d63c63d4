#!/usr/bin/env bash
# `devnet --demo`: two new chains loaded at once with the same seed, on free loopback ports. Each
# must finish its demo; the chain's records must say what the demo's list of vehicles says they
# should (owners, accidents, rollbacks, brands, status, odometer, event count) for every vehicle;
# the example VINs it prints must be a rollback, a retired and an accident vehicle, and the
# rollback's report must verify offline; the two chains must hold the same vehicles with the same
# records, heights and hashes aside. A restart skips the demo, and SIGTERM stops the node cleanly.
# Kills the nodes by pid on every exit.
set -euo pipefail
bin=$1
dir=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do
    if kill -0 "$p" 2>/dev/null; then kill -KILL "$p"; fi
  done
  rm -rf "$dir"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  for n in a b; do
    echo "--- $n: stdout"; cat "$dir/$n.out" 2>/dev/null || true
    echo "--- $n: log (last lines)"; tail -n 20 "$dir/$n.log" 2>/dev/null || true
  done
  exit 1
}
command -v jq >/dev/null || { echo "demo.sh: jq is required"; exit 1; }

count=30
seed=7
start() { # name
  "$bin" devnet --data "$dir/$1" --http 127.0.0.1:0 --demo --seed $seed \
    --demo-vehicles $count >"$dir/$1.out" 2>"$dir/$1.log" &
  pids+=($!)
}
port_of() { sed -n 's/.*event=start .*http=http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$dir/$1.log"; }
. "$(dirname "$0")/lib/demo.sh" # wait_demo
wait_done() { wait_demo "$dir/$1.out" "$dir/$1.log" "${pids[$2]}" 60; } # name, index in pids

start a
start b
wait_done a 0
wait_done b 1
pa=$(port_of a)
pb=$(port_of b)
[ -n "$pa" ] && [ -n "$pb" ] || fail "no start line"
na="http://127.0.0.1:$pa"
nb="http://127.0.0.1:$pb"

grep -q "^demo: loading $count vehicles (seed $seed)" "$dir/a.out" || fail "no loading line"
grep -q "^demo: $count/$count vehicles, [0-9]* transactions" "$dir/a.out" || fail "no progress line"
grep -q "API and web UI:  http://127.0.0.1:$pa/" "$dir/a.out" || fail "the banner does not show the port"
height=$(curl -sf "$na/v1/status" | jq -r .height)
txs=$(sed -n 's/^demo: done: [0-9]* vehicles, \([0-9]*\) transactions.*/\1/p' "$dir/a.out")
[ "$height" -gt 1 ] || fail "status height $height did not grow"
[ "$txs" -gt $((count * 5)) ] || fail "only $txs transactions for $count vehicles"
committed=$(curl -sf "$na/metrics" | sed -n 's/^blok_txs_committed_total \([0-9]*\)$/\1/p')
failed=$(curl -sf "$na/metrics" | sed -n 's/^blok_txs_failed_total \([0-9]*\)$/\1/p')
[ "$committed" = "$txs" ] || fail "node committed $committed transactions, the demo says $txs"
[ "$failed" = 0 ] || fail "$failed transactions failed"

record() { # node vin: the record's JSON, or fail
  local r
  r=$(curl -sf "$1/v1/state/vehicle/v/$2") || fail "GET state of $2"
  [ "$(jq -r .found <<<"$r")" = true ] || fail "$2 not found on $1"
  jq -c .value <<<"$r"
}

# The examples the summary points at.
example() { sed -n "s/^demo: $1: \([0-9A-Z]\{17\}\) (.*/\1/p" "$dir/a.out"; }
vin_rollback=$(example "odometer rollback")
vin_retired=$(example retired)
vin_accident=$(example accident)
[ -n "$vin_rollback" ] && [ -n "$vin_retired" ] && [ -n "$vin_accident" ] || fail "example VINs"
grep -q "^demo:   curl -s $na/v1/vehicles/$vin_rollback$" "$dir/a.out" || fail "no curl line"
[ "$(curl -sf "$na/v1/vehicles/$vin_rollback" | jq .vehicle.rollbacks)" -ge 1 ] ||
  fail "GET /v1/vehicles/$vin_rollback: no rollback"
[ "$(record "$na" "$vin_retired" | jq -r .status)" = retired ] || fail "$vin_retired not retired"
[ "$(record "$na" "$vin_accident" | jq .accidents)" -ge 1 ] || fail "$vin_accident no accident"
"$bin" get state vehicle "v/$vin_retired" --node "$na" | grep -q '"status": "retired"' ||
  fail "blokauto get state of $vin_retired"
# The history the demo wrote verifies offline, as the summary's command line says.
"$bin" report "$vin_rollback" --out "$dir/report.json" --node "$na" >/dev/null ||
  fail "blokauto report $vin_rollback"
"$bin" verify "$dir/report.json" --genesis "$dir/a/genesis.json" >"$dir/verify" ||
  fail "blokauto verify: $(head -3 "$dir/verify")"
grep -q 'rollback, below the highest' "$dir/verify" || fail "the report shows no rollback"

# Every vehicle: the record says what the list says, and chain b holds the same record.
list_a="$dir/a/demo-vehicles.tsv"
[ "$(wc -l <"$list_a")" = $((count + 1)) ] || fail "the list has $(wc -l <"$list_a") lines"
cmp -s "$list_a" "$dir/b/demo-vehicles.tsv" || fail "the same seed gave other vehicles"
[ "$(cut -f1 "$list_a" | sort -u | wc -l)" = $((count + 1)) ] || fail "duplicate VINs"
strip='del(.registered_height, .retired_height, .chain_head)'
rollbacks=0 retired=0
while IFS=$'\t' read -r vin year make model key status owners accidents rb brands high last events; do
  [ "$vin" = vin ] && continue
  ra=$(record "$na" "$vin")
  want=$(jq -nc --arg y "$year" --arg mk "$make" --arg md "$model" --arg st "$status" \
    --arg o "$owners" --arg a "$accidents" --arg r "$rb" --arg b "$brands" --arg h "$high" \
    --arg l "$last" --arg e "$events" --arg k "$key" \
    '{model_year: ($y|tonumber), make: $mk, model: $md, status: $st, owners: ($o|tonumber),
      accidents: ($a|tonumber), rollbacks: ($r|tonumber),
      brands: (if $b == "-" then [] else ($b|split(",")) end), odometer_high_km: ($h|tonumber),
      odometer_last_km: ($l|tonumber), event_count: ($e|tonumber), vehicle_key: ($k == "yes")}')
  got=$(jq -c '{model_year, make, model, status, owners, accidents, rollbacks, brands,
    odometer_high_km, odometer_last_km, event_count, vehicle_key: (.vehicle_key != null)}' <<<"$ra")
  [ "$got" = "$want" ] || fail "$vin: the record $got, the list $want"
  [ "$(jq -c "$strip" <<<"$ra")" = "$(record "$nb" "$vin" | jq -c "$strip")" ] ||
    fail "$vin differs between two runs with seed $seed"
  if [ "$rb" -gt 0 ]; then rollbacks=$((rollbacks + 1)); fi
  if [ "$status" = retired ]; then retired=$((retired + 1)); fi
done <"$list_a"
[ $rollbacks -ge 1 ] && [ $retired -ge 1 ] || fail "no rollback or no retired vehicle in the list"

# Stop; a restart continues the chain and skips the demo.
for i in 0 1; do
  kill -TERM "${pids[$i]}"
  wait "${pids[$i]}" || fail "node exit status on SIGTERM"
done
pids=()
grep -q 'event=stop' "$dir/a.log" || fail "no stop line in the log"
"$bin" devnet --data "$dir/a" --demo >"$dir/a.out" 2>"$dir/a.log" &
pids+=($!)
# Up to 60 s: under `ctest -j` this shares two cores with the crash test and the browser test.
for _ in $(seq 1 600); do
  grep -q 'event=start' "$dir/a.log" && break
  sleep 0.1
done
grep -q '^demo: skipped: ' "$dir/a.out" || fail "a restart with --demo did not skip it"
kill -TERM "${pids[0]}"
wait "${pids[0]}" || fail "restarted node exit status on SIGTERM"
pids=()
echo "demo.sh: ok"
