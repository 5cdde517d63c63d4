#!/usr/bin/env bash
# The node and the commands that talk to it, as a person uses them: `devnet` on a free loopback
# port, `status`, `tx sign`, `tx submit --wait` (applied, then refused by its module), `get tx`,
# `get block`, `get state`, and a clean stop on SIGTERM. Kills the node by pid on every exit.
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

# Port 0: the node picks a free port and logs it in its start line.
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
"$bin" status --node "$node" >"$dir/status" || fail "status"
grep -q '"chain_id": "blokauto-devnet"' "$dir/status" || fail "status chain id"
grep -q "http://127.0.0.1:0/" "$dir/out" || fail "devnet does not print its URL"
[ "$(stat -c %a "$dir/net/keys/manufacturer.key")" = 600 ] || fail "key file mode"

hash=$(printf 'node.sh document' | sha256sum | cut -d' ' -f1)
payload="{\"hash\":\"$hash\",\"label\":\"test\"}"
key="$dir/net/keys/service.key"
"$bin" tx sign --node "$node" --key "$key" --kind anchor/record --payload "$payload" >"$dir/signed"
grep -q '"nonce": 1' "$dir/signed" || fail "tx sign nonce"

"$bin" tx submit --wait --node "$node" --key "$key" --kind anchor/record --payload "$payload" \
  >"$dir/sub1" || fail "tx submit --wait: $(cat "$dir/sub1")"
grep -q '"status": "committed"' "$dir/sub1" || fail "not committed"
id=$(sed -n 's/^  "id": "\([0-9a-f]*\)",$/\1/p' "$dir/sub1")
height=$(sed -n 's/^  "height": \([0-9]*\),$/\1/p' "$dir/sub1")
[ ${#id} = 64 ] && [ -n "$height" ] || fail "id and height from: $(cat "$dir/sub1")"

# The same document again: committed, refused by the module, exit 1.
if "$bin" tx submit --wait --node "$node" --key "$key" --kind anchor/record --payload "$payload" \
  >"$dir/sub2"; then fail "a refused anchor exited 0"; fi
grep -q 'BLOK_EEXIST' "$dir/sub2" || fail "refusal code: $(cat "$dir/sub2")"

"$bin" get tx "$id" --node "$node" >"$dir/tx" || fail "get tx"
grep -q '"label": "test"' "$dir/tx" || fail "get tx payload"
"$bin" get block "$height" --node "$node" | grep -q "$id" || fail "get block"
"$bin" get block latest --node "$node" >/dev/null || fail "get block latest"
"$bin" get state anchor "doc/$hash" --proof --node "$node" >"$dir/state" || fail "get state"
grep -q '"found": true' "$dir/state" || fail "state not found"
"$bin" get state consortium "member/QuickLane Service Center" --node "$node" | grep -q service \
  || fail "member by name"

# Usage errors exit 2; an unreachable node exits 1.
set +e
"$bin" get tx nothex --node "$node" >/dev/null 2>&1; [ $? = 2 ] || fail "bad id exit"
"$bin" tx sign --key "$key" >/dev/null 2>&1; [ $? = 2 ] || fail "incomplete sign exit"
"$bin" status --node http://127.0.0.1:1 >/dev/null 2>&1; [ $? = 1 ] || fail "unreachable exit"
# A payload file over 1 MiB is refused before it is parsed.
head -c 1100000 /dev/zero | tr '\0' ' ' >"$dir/big.json"
"$bin" tx sign --node "$node" --key "$key" --kind anchor/record --payload-file "$dir/big.json" \
  >/dev/null 2>"$dir/big.err"; [ $? = 2 ] || fail "oversized payload file exit"
grep -q 'at most 1048576 bytes' "$dir/big.err" || fail "oversized payload file: $(cat "$dir/big.err")"
set -e

kill -TERM "$pid"
wait "$pid" || fail "node exit status on SIGTERM"
pid=
grep -q 'event=stop' "$dir/node.log" || fail "no stop line in the log"
echo "node.sh: ok"
