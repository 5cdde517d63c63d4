#!/usr/bin/env bash
# The parts of `devnet --demo`, read back as a person would: `blokauto parts recall ID` shows the
# brake-pad recall's reach with the path of parts to each vehicle and half of it remedied, and the
# chip recall reaches vehicles through chip -> ECU -> vehicle; `blokauto parts part SERIAL` shows
# the cloned serial's clone flag; GET /v1/vehicles/{vin}/parts lists the open recalls of a vehicle
# the summary names; a battery cell's batch is sourced from attested lots only. Every number is
# checked against the demo's own summary, so a demo that sends nothing fails. Kills the node by
# pid on every exit.
set -euo pipefail
bin=$1
dir=$(mktemp -d)
pid=
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; fi
  rm -rf "$dir"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  echo "--- stdout"; cat "$dir/out" 2>/dev/null || true
  echo "--- log (last lines)"; tail -n 20 "$dir/log" 2>/dev/null || true
  exit 1
}
command -v jq >/dev/null || { echo "parts.sh: jq is required"; exit 1; }

"$bin" devnet --data "$dir/net" --http 127.0.0.1:0 --demo --seed 7 --demo-vehicles 30 \
  >"$dir/out" 2>"$dir/log" &
pid=$!
. "$(dirname "$0")/lib/demo.sh" # wait_demo
wait_demo "$dir/out" "$dir/log" "$pid" 60
port=$(sed -n 's/.*event=start .*http=http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$dir/log")
[ -n "$port" ] || fail "no start line"
node="http://127.0.0.1:$port"
[ "$(curl -sf "$node/metrics" | sed -n 's/^blok_txs_failed_total \([0-9]*\)$/\1/p')" = 0 ] ||
  fail "a transaction failed"

# What the summary says: "demo: recall ID (what): reaches N vehicles, R remedied, O open".
recall_line() { grep "^demo: recall $1 " "$dir/out" || fail "no summary line for recall $1"; }
pads=$(sed -n 's/^demo: recall \([^ ]*\) (front brake pads.*/\1/p' "$dir/out")
chips=$(sed -n 's/^demo: recall \([^ ]*\) (microcontrollers.*/\1/p' "$dir/out")
[ -n "$pads" ] && [ -n "$chips" ] || fail "the summary names no recall"
reached=$(recall_line "$pads" | sed -n 's/.*: reaches \([0-9]*\) vehicles, \([0-9]*\) remedied.*/\1/p')
remedied=$(recall_line "$pads" | sed -n 's/.*: reaches \([0-9]*\) vehicles, \([0-9]*\) remedied.*/\2/p')
[ -n "$reached" ] && [ "$reached" -ge 2 ] || fail "the pad recall reaches '$reached' vehicles"
[ "$remedied" = $((reached / 2)) ] || fail "$remedied of $reached remedied: not half"
grep -q "^demo:   blokauto parts recall $pads --node $node$" "$dir/out" || fail "no blokauto line"

# The pad recall: every vehicle once, each with its path (a pad of the recalled batch), half done.
"$bin" parts recall "$pads" --limit 1000 --node "$node" >"$dir/recall" ||
  fail "blokauto parts recall $pads: $(head -3 "$dir/recall")"
[ "$(jq .counts.reached "$dir/recall")" = "$reached" ] || fail "counts: $(jq -c .counts "$dir/recall")"
[ "$(jq .counts.remedied "$dir/recall")" = "$remedied" ] || fail "remedied: $(jq -c .counts "$dir/recall")"
[ "$(jq .counts.open "$dir/recall")" = $((reached - remedied)) ] || fail "open count"
[ "$(jq '.vehicles | length' "$dir/recall")" = "$reached" ] || fail "vehicles listed"
[ "$(jq '[.vehicles[] | select(.remedy == "done")] | length' "$dir/recall")" = "$remedied" ] ||
  fail "remedy done on the page"
[ "$(jq '[.vehicles[] | select(.remedy == "done" and .remedy_height > 0)] | length' \
  "$dir/recall")" = "$remedied" ] || fail "a remedy without its height"
[ "$(jq '[.vehicles[] | select((.path | length) == 1 and (.path[0] | startswith("PADA-")))]
  | length' "$dir/recall")" = "$reached" ] || fail "paths: $(jq -c '.vehicles[0]' "$dir/recall")"
[ "$(jq '[.vehicles[].vin] | unique | length' "$dir/recall")" = "$reached" ] || fail "a vin twice"

# The chip recall: chip -> ECU -> vehicle, as its summary line counts it.
chips_reached=$(recall_line "$chips" | sed -n 's/.*: reaches \([0-9]*\) vehicles.*/\1/p')
"$bin" parts recall "$chips" --node "$node" >"$dir/chips" || fail "blokauto parts recall $chips"
[ "$chips_reached" -ge 1 ] && [ "$(jq .counts.reached "$dir/chips")" = "$chips_reached" ] ||
  fail "chip recall counts $(jq -c .counts "$dir/chips"), the summary $chips_reached"
[ "$(jq '[.vehicles[] | select((.path | length) == 2 and (.path[0] | startswith("MCU-"))
  and (.path[1] | startswith("ECU-")))] | length' "$dir/chips")" = "$chips_reached" ] ||
  fail "chip paths: $(jq -c '.vehicles[0]' "$dir/chips")"

# The cloned serial: flagged, still where it was installed, and its history says where it was seen.
clone=$(sed -n 's/^demo: cloned serial: \([^ ]*\) (installed in \([0-9A-Z]*\), reported in \([0-9A-Z]*\))$/\1 \2 \3/p' "$dir/out")
read -r serial home seen <<<"$clone"
[ -n "${seen:-}" ] && [ "$home" != "$seen" ] || fail "the summary names no cloned serial"
"$bin" parts part "$serial" --node "$node" >"$dir/part" || fail "blokauto parts part $serial"
[ "$(jq .flags.clone "$dir/part")" = true ] || fail "no clone flag: $(jq -c .flags "$dir/part")"
[ "$(jq -r .where.vin "$dir/part")" = "$home" ] || fail "the clone moved: $(jq -c .where "$dir/part")"
curl -sf "$node/v1/parts/$serial/history" | jq -e --arg v "$seen" \
  '[.events[] | select(.detail | test("reported in vehicle " + $v + ".*CLONE"))] | length == 1' \
  >/dev/null || fail "the history shows no clone report in $seen"
# A serial with no report carries no flag.
"$bin" parts part "${serial%1}2" --node "$node" | jq -e '.flags.clone == false' >/dev/null ||
  fail "${serial%1}2 flagged"

# A vehicle both recalls reach, with no remedy: its open recalls, and its parts tree.
vin=$(sed -n 's/^demo: open recalls: \([0-9A-Z]\{17\}\) .*/\1/p' "$dir/out")
[ -n "$vin" ] || fail "the summary names no vehicle with open recalls"
curl -sf "$node/v1/vehicles/$vin/parts" >"$dir/vparts" || fail "GET /v1/vehicles/$vin/parts"
[ "$(jq -c .open_recalls "$dir/vparts")" = "[\"$pads\",\"$chips\"]" ] ||
  fail "open recalls of $vin: $(jq -c .open_recalls "$dir/vparts")"
jq -e '[.parts[].path | select(length == 2 and (.[0] | startswith("MCU-")))] | length == 1' \
  "$dir/vparts" >/dev/null || fail "no chip inside an ECU in $vin: $(jq -c .parts "$dir/vparts")"
# A remedied vehicle has the pad recall closed.
done_vin=$(jq -r '[.vehicles[] | select(.remedy == "done")][0].vin' "$dir/recall")
curl -sf "$node/v1/vehicles/$done_vin/parts" | jq -e --arg r "$pads" \
  '.open_recalls | index($r) == null' >/dev/null || fail "$done_vin remedied, yet the recall is open"

# A battery cell: its batch is made from attested lots only.
cell=$(sed -n 's/^demo: sourcing: battery cell \([^ ]*\) (batch \([^)]*\)).*/\1 \2/p' "$dir/out")
read -r cell_serial cell_batch <<<"$cell"
[ -n "${cell_batch:-}" ] || fail "the summary names no battery cell"
"$bin" parts part "$cell_serial" --node "$node" >"$dir/cell" || fail "blokauto parts part $cell_serial"
[ "$(jq -r .batch "$dir/cell")" = "$cell_batch" ] || fail "cell batch $(jq -r .batch "$dir/cell")"
"$bin" parts batch "$cell_batch" --node "$node" >"$dir/batch" || fail "blokauto parts batch"
[ "$(jq -c '.sourcing | {status, attested_lots, missing}' "$dir/batch")" = \
  '{"status":"complete","attested_lots":2,"missing":0}' ] ||
  fail "sourcing of $cell_batch: $(jq -c .sourcing "$dir/batch")"
[ "$(jq -c '[.inputs[].kind] | unique' "$dir/batch")" = '["attested_lot"]' ] ||
  fail "inputs of $cell_batch: $(jq -c .inputs "$dir/batch")"
# The packs made from the cells are attested through them.
pack=$(jq -r '.outputs[0]' "$dir/batch")
curl -sf "$node/v1/batches/$pack" | jq -e '.sourcing.status == "complete" and
  .sourcing.attested_lots == 2' >/dev/null || fail "pack batch $pack not attested through its cells"

kill -TERM "$pid"
wait "$pid" || fail "node exit status on SIGTERM"
pid=
echo "parts.sh: ok"
