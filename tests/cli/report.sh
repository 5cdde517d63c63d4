#!/usr/bin/env bash
# The verifiable history report as a person uses it: a devnet on a free loopback port, a vehicle
# registered by the devnet's manufacturer (on the WMI its genesis gives it) with a few events
# submitted with `tx submit --wait`, `get vehicle` and `get history`, the routes' refusals (400,
# 404), `report` (and its refusal to overwrite), then the node stopped and `verify` run offline:
# VERIFIED against the devnet's genesis, NOT VERIFIED (exit 1, naming the check) for tampered
# copies and for other genesis documents. Then a `devnet --demo` vehicle with open recalls: its
# report verifies offline and lists both recalls with the path of parts to each, and a copy with
# a recall's state value left out fails the recalls check. Kills the nodes by pid on every exit.
set -euo pipefail
bin=$1
dir=$(mktemp -d)
pid=
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; fi
  rm -rf "$dir"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; echo "--- node log"; cat "$dir/node.log" || true; exit 1; }

"$bin" devnet --data "$dir/net" --http 127.0.0.1:0 >"$dir/out" 2>"$dir/node.log" &
pid=$!
port=
for _ in $(seq 1 100); do
  port=$(sed -n 's/.*event=start .*http=http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$dir/node.log")
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || fail "no start line"
node="http://127.0.0.1:$port"
gen="$dir/net/genesis.json"
keys="$dir/net/keys"

# A VIN on the manufacturer's first WMI, with its check digit put right by `vin check`.
wmi=$(tr -d ' \n\t' <"$gen" | grep -o '"wmi":\["[0-9A-Z]\{3\}"' | head -1 | cut -c9-11)
[ ${#wmi} = 3 ] || fail "no wmi in the genesis"
vin_of() { # 17 characters -> the same with the right check digit at position 9
  local d
  d=$("$bin" vin check --json "$1" | sed -n 's/.*"check_digit":{[^}]*"expected":"\(.\)".*/\1/p')
  [ -n "$d" ] || fail "no check digit for $1"
  echo "${1:0:8}${d}${1:9}"
}
vin=$(vin_of "${wmi}DB8250LA123456")
other_vin=$(vin_of "${wmi}DB8250LA123457")
"$bin" vin check "$vin" >/dev/null || fail "vin $vin is not valid"

"$bin" keygen --out "$dir/owner.key" >/dev/null
owner=$("$bin" key show "$dir/owner.key")

submit() { # KEY KIND PAYLOAD
  "$bin" tx submit --wait --node "$node" --key "$keys/$1.key" --kind "vehicle/$2" --payload "$3" \
    >"$dir/sub" || fail "$2: $(cat "$dir/sub")"
}
submit manufacturer register \
  "{\"vin\":\"$vin\",\"model_year\":2020,\"make\":\"Northwind\",\"model\":\"Falcon\",\"owner\":\"$owner\"}"
submit service odometer "{\"vin\":\"$vin\",\"km\":12000}"
submit service service "{\"vin\":\"$vin\",\"summary\":\"oil change\"}"
submit insurer accident \
  "{\"vin\":\"$vin\",\"severity\":\"minor\",\"airbag_deployed\":false,\"structural_damage\":false}"
submit lender lien "{\"vin\":\"$vin\",\"action\":\"place\"}"
submit service odometer "{\"vin\":\"$vin\",\"km\":9000}"

"$bin" get vehicle "$vin" --node "$node" >"$dir/vehicle" || fail "get vehicle"
grep -q '"event_count": 6' "$dir/vehicle" || fail "get vehicle: $(cat "$dir/vehicle")"
grep -q '"end": "leaf"' "$dir/vehicle" || fail "get vehicle: no proof"
"$bin" get history "$vin" --limit 2 --desc --node "$node" >"$dir/history" || fail "get history"
grep -q '"n": 6' "$dir/history" && grep -q '"next_cursor": 5' "$dir/history" \
  || fail "get history: $(cat "$dir/history")"

# The routes' refusals: an invalid VIN, an unknown one, a bad page, an unknown sub-path.
code() { curl -s -o /dev/null -w '%{http_code}' "$node$1"; }
[ "$(code "/v1/vehicles/${vin:0:16}")" = 400 ] || fail "short vin is not 400"
[ "$(code "/v1/vehicles/${vin:0:8}0${vin:9}")" = 400 ] || fail "bad check digit is not 400"
[ "$(code "/v1/vehicles/$other_vin")" = 404 ] || fail "unknown vin is not 404"
[ "$(code "/v1/vehicles/$other_vin/report")" = 404 ] || fail "unknown vin report is not 404"
[ "$(code "/v1/vehicles/$vin/history?limit=1001")" = 400 ] || fail "limit 1001 is not 400"
[ "$(code "/v1/vehicles/$vin/history?order=up")" = 400 ] || fail "order=up is not 400"
[ "$(code "/v1/vehicles/$vin/colour")" = 404 ] || fail "unknown sub-path is not 404"
curl -s "$node/v1/vehicles/$(echo "$vin" | tr A-Z a-z)/history?cursor=4&limit=10" >"$dir/h2"
grep -q '"n":5.*"n":6' "$dir/h2" && grep -q '"next_cursor":null' "$dir/h2" \
  || fail "history page after cursor 4: $(cat "$dir/h2")"

report="$dir/report.json"
"$bin" report "$vin" --node "$node" --out "$report" >"$dir/rep" || fail "report: $(cat "$dir/rep")"
grep -q "6 events" "$dir/rep" || fail "report output: $(cat "$dir/rep")"
set +e
"$bin" report "$vin" --node "$node" --out "$report" >/dev/null 2>"$dir/err"
[ $? = 1 ] && grep -q "already exists" "$dir/err" || fail "report overwrote a file"
"$bin" report "5NWXX000000000000" --node "$node" --out "$dir/x.json" >/dev/null 2>&1
[ $? = 2 ] || fail "an invalid vin is a usage error"
"$bin" report --node "$node" "$vin" >/dev/null 2>&1
[ $? = 2 ] || fail "report without --out is a usage error"
"$bin" report "$other_vin" --node "$node" --out "$dir/x.json" >/dev/null 2>"$dir/err"
[ $? = 1 ] && grep -q "not registered" "$dir/err" || fail "unknown vin: $(cat "$dir/err")"
[ ! -e "$dir/x.json" ] || fail "a failed report left a file"
set -e
"$bin" report "$vin" --node "$node" --out "$report" --force >/dev/null || fail "report --force"

# From here on, no node: verification is offline.
kill -TERM "$pid"
wait "$pid" || fail "node exit status on SIGTERM"
pid=

"$bin" verify "$report" --genesis "$gen" >"$dir/v" || fail "verify: $(cat "$dir/v")"
grep -q "^VERIFIED: $vin complete as of block [0-9]*, time 20[0-9-]*T[0-9:]*Z$" "$dir/v" \
  || fail "verify output: $(cat "$dir/v")"
grep -q "rollbacks  *1" "$dir/v" && grep -q "lien  *open, held by" "$dir/v" \
  && grep -q "odometer 9000 km: rollback" "$dir/v" || fail "summary: $(cat "$dir/v")"

# NOT VERIFIED: prints the check and the reason, exits 1.
not_verified() { # FILE GENESIS CHECK
  set +e
  "$bin" verify "$1" --genesis "$2" >"$dir/nv" 2>&1
  local code=$?
  set -e
  [ $code = 1 ] || fail "verify $1 against $2 exited $code: $(cat "$dir/nv")"
  grep -q "^NOT VERIFIED: $3: ." "$dir/nv" || fail "expected the $3 check: $(cat "$dir/nv")"
}
sed 's/"owners":1,/"owners":2,/' "$report" >"$dir/t1.json"
cmp -s "$report" "$dir/t1.json" && fail "the owners tamper changed nothing"
not_verified "$dir/t1.json" "$gen" summary
sed 's/"record":"\([0-9]*\)\([a-f]\)/"record":"\1\U\2/' "$report" >"$dir/t2.json"
not_verified "$dir/t2.json" "$gen" format
sed 's/,{"height":[0-9]*,"time_ms":[0-9]*,"tx":"[0-9a-f]*"}\]/]/' "$report" >"$dir/t3.json"
cmp -s "$report" "$dir/t3.json" && fail "the event removal changed nothing"
not_verified "$dir/t3.json" "$gen" chain

# Another validator under the same chain id, and another chain id.
"$bin" keygen --out "$dir/v2.key" >/dev/null
v2=$("$bin" key show "$dir/v2.key")
sed "s/\"public_key\": \"[0-9a-f]*\"/\"public_key\": \"$v2\"/" "$gen" >"$dir/g2.json"
not_verified "$report" "$dir/g2.json" certificate
sed 's/"chain_id": "[^"]*"/"chain_id": "another-chain"/' "$gen" >"$dir/g3.json"
not_verified "$report" "$dir/g3.json" header

set +e
"$bin" verify "$report" >/dev/null 2>&1; [ $? = 2 ] || fail "verify without --genesis"
"$bin" verify --genesis "$gen" >/dev/null 2>&1; [ $? = 2 ] || fail "verify without a file"
"$bin" verify "$dir/missing.json" --genesis "$gen" >/dev/null 2>&1; [ $? = 1 ] || fail "missing file"
set -e

# A demo vehicle with open recalls (a recalled brake pad; a recalled chip inside its ECU).
command -v jq >/dev/null || fail "jq is required"
"$bin" devnet --data "$dir/demo" --http 127.0.0.1:0 --demo --seed 7 --demo-vehicles 30 \
  >"$dir/demo.out" 2>"$dir/node.log" &
pid=$!
. "$(dirname "$0")/lib/demo.sh" # wait_demo
wait_demo "$dir/demo.out" "$dir/node.log" "$pid" 60
port=$(sed -n 's/.*event=start .*http=http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$dir/node.log")
demo_vin=$(sed -n 's/^demo: open recalls: \([0-9A-Z]\{17\}\) .*/\1/p' "$dir/demo.out")
pads=$(sed -n 's/^demo: recall \([^ ]*\) (front brake pads.*/\1/p' "$dir/demo.out")
chips=$(sed -n 's/^demo: recall \([^ ]*\) (microcontrollers.*/\1/p' "$dir/demo.out")
[ -n "$port" ] && [ -n "$demo_vin" ] && [ -n "$pads" ] && [ -n "$chips" ] ||
  fail "the demo summary names no vehicle with open recalls: $(cat "$dir/demo.out")"
"$bin" report "$demo_vin" --node "http://127.0.0.1:$port" --out "$dir/demo.json" >/dev/null ||
  fail "report of $demo_vin"
kill -TERM "$pid"
wait "$pid" || fail "demo node exit status on SIGTERM"
pid=
"$bin" verify "$dir/demo.json" --genesis "$dir/demo/genesis.json" >"$dir/dv" ||
  fail "verify $demo_vin: $(cat "$dir/dv")"
grep -q "^VERIFIED: $demo_vin complete" "$dir/dv" || fail "verify output: $(cat "$dir/dv")"
grep -q "recalls  *2 open" "$dir/dv" || fail "no open recalls: $(cat "$dir/dv")"
grep -q "^    $pads: .*; in PADA-[0-9]*$" "$dir/dv" || fail "pad recall: $(cat "$dir/dv")"
grep -q "^    $chips: .*; in ECU-[0-9]* > MCU-[0-9]*$" "$dir/dv" || fail "chip recall: $(cat "$dir/dv")"
[ "$(jq -c '[.summary.open_recalls[] | [.recall, (.path | length)]]' "$dir/demo.json")" = \
  "[[\"$pads\",1],[\"$chips\",2]]" ] || fail "open_recalls: $(jq -c .summary.open_recalls "$dir/demo.json")"
# The chip recall's record left out of the bundle: NOT VERIFIED at the recalls check.
key=$(printf 'r/%s' "$chips" | od -An -tx1 | tr -d ' \n')
jq -c --arg k "$key" '.recalls |= map(select(.key != $k))' "$dir/demo.json" >"$dir/t4.json"
cmp -s "$dir/demo.json" "$dir/t4.json" && fail "the recall removal changed nothing"
not_verified "$dir/t4.json" "$dir/demo/genesis.json" recalls
echo "report.sh: ok"
