#!/usr/bin/env bash
# `blokauto keygen` and `blokauto key show`: outputs, exit codes (0 ok, 1 failure, 2 usage),
# file mode, refusal to overwrite, and the one-line error messages.
# usage: bash tests/cli/key.sh path/to/blokauto
set -u
B=${1:?usage: key.sh path/to/blokauto}
T=$(mktemp -d "${TMPDIR:-/tmp}/blok-cli-key.XXXXXX")
trap 'chmod -R u+rwx "$T" 2>/dev/null; rm -rf "$T"' EXIT
fails=0

fail() {
  echo "FAIL: $*" >&2
  fails=$((fails + 1))
}

# run WANT_STATUS ARGS...: runs blokauto, keeps stdout/stderr in $T/out and $T/err.
run() {
  local want=$1
  shift
  "$B" "$@" >"$T/out" 2>"$T/err"
  local got=$?
  if [[ $got != "$want" ]]; then
    fail "blokauto $* exited $got, want $want; stderr: $(head -c 300 "$T/err")"
  fi
}

# expect_out TEXT / expect_err_line TEXT: exact stdout; exactly one stderr line containing TEXT.
expect_out() {
  if [[ "$(cat "$T/out")" != "$1" ]]; then fail "stdout was '$(cat "$T/out")', want '$1'"; fi
}
expect_err_line() {
  local lines
  lines=$(wc -l <"$T/err")
  if [[ $lines != 1 ]]; then fail "stderr has $lines lines, want 1: $(cat "$T/err")"; fi
  if ! grep -qF -- "$1" "$T/err"; then fail "stderr '$(cat "$T/err")' lacks '$1'"; fi
}
expect_usage_err() {
  if ! grep -q '^usage: blokauto' "$T/err"; then fail "no usage on stderr: $(cat "$T/err")"; fi
  if ! grep -qF -- "$1" "$T/err"; then fail "stderr lacks '$1': $(cat "$T/err")"; fi
  if [[ -s "$T/out" ]]; then fail "stdout not empty on a usage error"; fi
}
mode_of() { stat -c %a "$1"; }

# ---- keygen, then key show of the same file --------------------------------------------------
run 0 keygen --out "$T/a.key"
pk=$(sed -n 's/^public key: \([0-9a-f]\{64\}\)$/\1/p' "$T/out")
[[ -n $pk ]] || fail "keygen printed no public key line: $(cat "$T/out")"
expect_out "public key: $pk
key file:   $T/a.key"
[[ -s "$T/err" ]] && fail "keygen wrote to stderr: $(cat "$T/err")"
[[ $(mode_of "$T/a.key") == 600 ]] || fail "mode $(mode_of "$T/a.key"), want 600"
grep -q '"type":"blokauto-ed25519-key"' "$T/a.key" || fail "key file lacks its type"

run 0 key show "$T/a.key"
expect_out "$pk"
[[ $(wc -l <"$T/out") == 1 ]] || fail "key show printed more than one line"
run 0 key show -- "$T/a.key"
expect_out "$pk"

# --out=FILE works too, and two keys differ.
run 0 keygen "--out=$T/b.key"
grep -qF "$pk" "$T/out" && fail "two generated keys have the same public key"

# A relative path (the directory synced is then ".").
(cd "$T" && "$B" keygen --out rel.key >/dev/null 2>&1) || fail "keygen --out rel.key"
[[ $(mode_of "$T/rel.key") == 600 ]] || fail "rel.key mode $(mode_of "$T/rel.key")"

# The mode is 0600 whatever the umask.
for m in 000 022 277; do
  (umask $m && "$B" keygen --out "$T/umask$m.key" >/dev/null 2>&1) || fail "keygen with umask $m"
  [[ $(mode_of "$T/umask$m.key") == 600 ]] || fail "umask $m: mode $(mode_of "$T/umask$m.key")"
done

# ---- refuses to overwrite --------------------------------------------------------------------
before=$(sha256sum <"$T/a.key")
run 1 keygen --out "$T/a.key"
expect_err_line "blokauto: keygen: $T/a.key: already exists; refusing to overwrite it"
[[ -s "$T/out" ]] && fail "keygen printed to stdout on failure"
[[ $(sha256sum <"$T/a.key") == "$before" ]] || fail "existing key file changed"
ln -s "$T/nowhere.key" "$T/link.key"
run 1 keygen --out "$T/link.key"
expect_err_line "already exists"
[[ -e "$T/nowhere.key" ]] && fail "keygen wrote through a dangling symlink"
run 1 keygen --out "$T/missing/dir/x.key"
expect_err_line "blokauto: keygen: $T/missing/dir/x.key: no such file or directory"

# ---- key show refusals -----------------------------------------------------------------------
run 1 key show "$T/absent.key"
expect_err_line "blokauto: key show: $T/absent.key: no such file or directory"

cp "$T/a.key" "$T/open.key"
chmod 644 "$T/open.key"
run 1 key show "$T/open.key"
expect_err_line "blokauto: key show: $T/open.key: group or others can access this key file; run: chmod 600 $T/open.key"
[[ -s "$T/out" ]] && fail "key show printed to stdout on failure"
chmod 600 "$T/open.key"
run 0 key show "$T/open.key"
expect_out "$pk"

# RFC 8032 TEST 1 as a hand-written key file: the format is what docs/PROTOCOL.md says.
seed1=9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60
pk1=d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a
pk2=3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c
(umask 077 && printf '{"type":"blokauto-ed25519-key","version":1,"seed":"%s","public":"%s"}\n' \
  $seed1 $pk1 >"$T/t1.key")
run 0 key show "$T/t1.key"
expect_out "$pk1"

(umask 077 && printf '{"type":"blokauto-ed25519-key","version":1,"seed":"%s","public":"%s"}\n' \
  $seed1 $pk2 >"$T/mismatch.key")
run 1 key show "$T/mismatch.key"
expect_err_line "public key does not match the seed"
(umask 077 && printf '{"type":"blokauto-ed25519-key","version":2,"seed":"%s","public":"%s"}\n' \
  $seed1 $pk1 >"$T/v2.key")
run 1 key show "$T/v2.key"
expect_err_line "not a blokauto key file"
(umask 077 && printf '{"type":"blokauto-ed25519-key","version":1,"seed":"%s","public":"%s"}\n' \
  "${seed1:0:62}" $pk1 >"$T/short.key")
run 1 key show "$T/short.key"
expect_err_line "seed or public key is not 64 hex digits"
(umask 077 && echo 'not json' >"$T/junk.key")
run 1 key show "$T/junk.key"
expect_err_line "blokauto: key show: $T/junk.key: not a blokauto key file"
(umask 077 && head -c 5000 /dev/zero | tr '\0' ' ' >"$T/big.key")
run 1 key show "$T/big.key"
expect_err_line "too large to be a key file"
run 1 key show "$T"
expect_err_line "not a blokauto key file"

# Output that cannot be written is a failure, not a silent success.
if [[ -w /dev/full ]]; then
  "$B" key show "$T/a.key" >/dev/full 2>"$T/err"
  st=$?
  [[ $st == 1 ]] || fail "key show >/dev/full exited $st, want 1"
  expect_err_line "blokauto: key show: cannot write the output"
fi

# ---- usage errors (exit 2) and --help (exit 0) -------------------------------------------------
run 0 keygen --help
grep -q '^usage: blokauto keygen --out FILE' "$T/out" || fail "keygen --help: $(cat "$T/out")"
run 0 key --help
grep -q '^usage: blokauto key show FILE' "$T/out" || fail "key --help: $(cat "$T/out")"
run 0 key show --help
grep -q '^usage: blokauto key show FILE' "$T/out" || fail "key show --help"

run 2 keygen
expect_usage_err "missing --out FILE"
run 2 keygen --out
expect_usage_err "--out needs a FILE"
run 2 keygen --out "$T/c.key" --out "$T/d.key"
expect_usage_err "--out given twice"
run 2 keygen --bogus
expect_usage_err "unknown option '--bogus'"
run 2 keygen --out "$T/c.key" extra
expect_usage_err "unexpected argument 'extra'"
run 2 keygen --out ""
expect_usage_err "FILE must be 1 to 4095 bytes long"
long=$(head -c 5000 /dev/zero | tr '\0' 'a')
run 2 keygen --out "$T/$long"
expect_usage_err "FILE must be 1 to 4095 bytes long"
[[ -e "$T/c.key" || -e "$T/d.key" ]] && fail "a usage error created a file"

run 2 key
expect_usage_err "missing subcommand"
run 2 key list
expect_usage_err "unknown subcommand 'list'"
run 2 key show
expect_usage_err "missing FILE"
run 2 key show "$T/a.key" "$T/b.key"
expect_usage_err "unexpected argument"
run 2 key show --bogus
expect_usage_err "unknown option '--bogus'"
run 2 key show "$T/$long"
expect_usage_err "FILE must be 1 to 4095 bytes long"

if [[ $fails != 0 ]]; then
  echo "key.sh: $fails failure(s)" >&2
  exit 1
fi
echo "key.sh: all passed"
