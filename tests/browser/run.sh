#!/usr/bin/env bash
# The web pages, tested in a real browser against a real node: starts `blokauto devnet --demo
# --demo-vehicles 60` on a free loopback port in a temporary folder, waits for the demo's
# completion line, runs the codec and verifier tests (node --test codec.test.mjs) and the
# browser test (pages.mjs: playwright-core driving Debian's chromium), then kills the node by
# its pid and removes the folder. Screenshots go to tests/artifacts/ (git-ignored).
#
# Needs: node, /usr/bin/chromium and tests/browser/node_modules (scripts/deps.sh installs all
# three; `npm ci` here if only the modules are missing). No browser is ever downloaded.
set -euo pipefail
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
dir=$(mktemp -d)
pid=
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; fi
  rm -rf "$dir"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; echo "--- node stdout"; cat "$dir/out" || true; echo "--- node log (last lines)"; tail -n 20 "$dir/log" || true; exit 1; }

command -v node >/dev/null || fail "node is not installed (scripts/deps.sh)"
[ -x /usr/bin/chromium ] || fail "/usr/bin/chromium is not installed (scripts/deps.sh)"
if [ ! -d "$here/node_modules/playwright-core" ]; then
  (cd "$here" && npm ci --no-audit --no-fund --silent) || fail "npm ci in tests/browser"
fi

"$bin" devnet --data "$dir/net" --http 127.0.0.1:0 --demo --demo-vehicles 60 >"$dir/out" 2>"$dir/log" &
pid=$!
for _ in $(seq 1 600); do
  grep -q '^demo: done: ' "$dir/out" && break
  grep -q '^demo: stopped' "$dir/log" && fail "the demo stopped"
  kill -0 "$pid" 2>/dev/null || fail "the node exited"
  sleep 0.1
done
grep -q '^demo: done: ' "$dir/out" || fail "no demo completion line within 60 s"
port=$(sed -n 's/.*event=start .*http=http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$dir/log")
vin=$(sed -n 's/^demo: odometer rollback: \([0-9A-Z]\{17\}\) (.*/\1/p' "$dir/out")
[ -n "$port" ] || fail "no start line"
retired=$(sed -n 's/^demo: retired: \([0-9A-Z]\{17\}\) (.*/\1/p' "$dir/out")
[ -n "$vin" ] && [ -n "$retired" ] || fail "the demo named no vehicle with a rollback, or no retired one"

recall=$(sed -n 's/^demo: recall \([A-Za-z0-9._:-]*\) (.*/\1/p' "$dir/out" | head -n 1)
clone=$(sed -n 's/^demo: cloned serial: \([A-Za-z0-9._:-]*\) (.*/\1/p' "$dir/out")
recalled=$(sed -n 's/^demo: open recalls: \([0-9A-Z]\{17\}\) (.*/\1/p' "$dir/out")
[ -n "$recall" ] && [ -n "$clone" ] && [ -n "$recalled" ] || fail "the demo named no recall, clone or recalled vehicle"

export BLOK_URL="http://127.0.0.1:$port" BLOK_VIN="$vin" BLOK_VIN_RETIRED="$retired" BLOK_GENESIS="$dir/net/genesis.json"
export BLOK_RECALL="$recall" BLOK_CLONE="$clone" BLOK_VIN_RECALLS="$recalled"
export BLOK_BIN="$bin" BLOK_TMP="$dir" BLOK_ARTIFACTS="$top/tests/artifacts/browser"
export NODE_NO_WARNINGS=1

node --test "$here/codec.test.mjs" || fail "codec.test.mjs"
(cd "$here" && node pages.mjs) || fail "pages.mjs"

kill -TERM "$pid"
wait "$pid" || true
pid=
echo "browser: ok (screenshots in $BLOK_ARTIFACTS)"
