#!/usr/bin/env bash
# Command-line tests of `blokauto vin` (docs/VIN.md): exact output and exit status for
# valid and invalid VINs, JSON lines, usage errors, and the vPIC database path order.
# usage: vin.sh PATH-TO-BLOKAUTO. Exits non-zero when any case fails.
set -uo pipefail

bin=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
nodb=/nonexistent/vpic.lite.db
unavail="  vpic: decoding unavailable: $nodb: no such file (scripts/deps.sh fetches it)"

fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

# expect NAME STATUS STDOUT ARGS...: runs blokauto ARGS and compares the exit status and the
# whole of stdout (STDOUT without its final newline).
expect() {
  local name=$1 want_status=$2 want_out=$3
  shift 3
  "$bin" "$@" >"$tmp/out" 2>"$tmp/err"
  local status=$?
  if [ "$status" -ne "$want_status" ]; then
    fail "$name: exit status $status, expected $want_status"
    sed 's/^/  stderr: /' "$tmp/err"
  fi
  if ! diff -u <(printf '%s\n' "$want_out") "$tmp/out" >"$tmp/diff"; then
    fail "$name: stdout differs"
    cat "$tmp/diff"
  fi
}

# expect_usage NAME STDERR-FIRST-LINE ARGS...: a usage error: status 2, nothing on stdout,
# the reason on stderr's first line and the usage after it.
expect_usage() {
  local name=$1 want_err=$2
  shift 2
  "$bin" "$@" >"$tmp/out" 2>"$tmp/err"
  local status=$?
  [ "$status" -eq 2 ] || fail "$name: exit status $status, expected 2"
  [ ! -s "$tmp/out" ] || fail "$name: wrote to stdout: $(head -c 200 "$tmp/out")"
  local first
  first=$(head -n 1 "$tmp/err")
  [ "$first" = "$want_err" ] || fail "$name: stderr '$first', expected '$want_err'"
  grep -q '^usage: blokauto vin check' "$tmp/err" || fail "$name: no usage on stderr"
}

# --- valid VINs, without the database -------------------------------------------------------

expect "north american, check digit X" 0 "1M8GDM9AXKP042788: valid
  wmi: 1M8 (North America)
  vds: GDM9AX
  vis: KP042788
  check digit: X (matches)
  model year: 1989 or 2019 (code K); position 7 is a digit, so 1989 is preferred
  plant: P
$unavail" vin check --vpic-db "$nodb" 1M8GDM9AXKP042788

expect "european, letter at position 9" 0 "WP0ZZZ99ZTS392124: valid
  wmi: WP0 (Europe)
  vds: ZZZ99Z
  vis: TS392124
  check digit: not verified (position 9 is 'Z', computed '8'; only North American VINs must carry one)
  model year: 1996 or 2026 (code T)
  plant: S
$unavail" vin check --vpic-db "$nodb" WP0ZZZ99ZTS392124

expect "lower case, letter year rule, european check matched" 0 "1fTMW1T88MFA00001: valid
  normalised: 1FTMW1T88MFA00001
  wmi: 1FT (North America)
  vds: MW1T88
  vis: MFA00001
  check digit: 8 (matches)
  model year: 1991 or 2021 (code M); position 7 is a letter, so 2021 is preferred
  plant: F
$unavail
WA1A4AFY2J2008189: valid
  wmi: WA1 (Europe)
  vds: A4AFY2
  vis: J2008189
  check digit: 2 (matches)
  model year: 1988 or 2018 (code J)
  plant: 2
$unavail" vin check 1fTMW1T88MFA00001 --vpic-db "$nodb" WA1A4AFY2J2008189

expect "small manufacturer, no year code" 0 "1F9AA11A01A434111: valid
  wmi: 1F9434 (North America; small manufacturer: positions 1-3 and 12-14)
  vds: AA11A0
  vis: 1A434111
  check digit: 0 (matches)
  model year: 2001 or 2031 (code 1); position 7 is a digit, so 2001 is preferred
  plant: A
$unavail
WP0ZZZ99ZZS392124: valid
  wmi: WP0 (Europe)
  vds: ZZZ99Z
  vis: ZS392124
  check digit: not verified (position 9 is 'Z', computed '7'; only North American VINs must carry one)
  model year: none ('Z' at position 10 is not a year code: U, Z and 0 never are)
  plant: S
$unavail" vin check --vpic-db "$nodb" 1F9AA11A01A434111 WP0ZZZ99ZZS392124

# --- invalid VINs: status 1, each with its exact reason -------------------------------------

expect "wrong check digit" 1 "1HGCM82633A123456: invalid: wrong check digit at position 9: expected '7', found '3'
  wmi: 1HG (North America)
  vds: CM8263
  vis: 3A123456
  check digit: wrong (expected '7', found '3')
  model year: 2003 or 2033 (code 3); position 7 is a digit, so 2003 is preferred
  plant: A
$unavail" vin check --vpic-db "$nodb" 1HGCM82633A123456

expect "every kind of invalid, and one valid among them" 1 "1M8GDM9AXKP04278: invalid: wrong length: expected 17 characters, found 16
1M8GDM9AXKP0427880: invalid: wrong length: expected 17 characters, found 18
1M8GDM9AXKP0I2788: invalid: invalid character 'I' at position 13: I, O and Q are never used in a VIN
1M8GDM9AXKP0o2788: invalid: invalid character 'o' at position 13: I, O and Q are never used in a VIN
1M8GDM9AX-P042788: invalid: invalid character '-' at position 10: a VIN has only 0-9 and A-Z without I, O and Q
1M8GDM9AX P042788: invalid: invalid byte 0x20 at position 10: a VIN has only 0-9 and A-Z without I, O and Q
1M8GDM9AX\\xc3\\x84P04278: invalid: invalid byte 0xc3 at position 10: a VIN has only 0-9 and A-Z without I, O and Q
1M8GDM9AX\\x5cP042788: invalid: invalid byte 0x5c at position 10: a VIN has only 0-9 and A-Z without I, O and Q
: invalid: wrong length: expected 17 characters, found 0
11111111111111111: valid
  wmi: 111 (North America)
  vds: 111111
  vis: 11111111
  check digit: 1 (matches)
  model year: 2001 or 2031 (code 1); position 7 is a digit, so 2001 is preferred
  plant: 1
$unavail" vin check --vpic-db "$nodb" 1M8GDM9AXKP04278 1M8GDM9AXKP0427880 1M8GDM9AXKP0I2788 \
  1M8GDM9AXKP0o2788 1M8GDM9AX-P042788 "1M8GDM9AX P042788" $'1M8GDM9AX\xc3\x84P04278' \
  '1M8GDM9AX\P042788' "" 11111111111111111

expect "after --, an argument starting with - is a VIN" 1 \
  "-1M8GDM9AXKP04278: invalid: invalid character '-' at position 1: a VIN has only 0-9 and A-Z without I, O and Q" \
  vin check --vpic-db "$nodb" -- -1M8GDM9AXKP04278

long256=$(printf 'A%.0s' $(seq 256))
expect "a 256-byte argument is still checked" 1 \
  "$long256: invalid: wrong length: expected 17 characters, found 256" \
  vin check --vpic-db "$nodb" "$long256"

# --- JSON -----------------------------------------------------------------------------------

expect "json lines" 1 '{"input":"1M8GDM9AXKP042788","valid":true,"error":null,"vin":"1M8GDM9AXKP042788","wmi":"1M8","small_manufacturer":false,"region":"North America","vds":"GDM9AX","vis":"KP042788","check_digit":{"status":"matched","expected":"X","found":"X"},"model_year":{"code":"K","candidates":[1989,2019],"preferred":1989},"plant":"P","vpic":{"status":"unavailable","wmi":"1M8","reason":"/nonexistent/vpic.lite.db: no such file (scripts/deps.sh fetches it)"}}
{"input":"wp0zzz99zzs392124","valid":true,"error":null,"vin":"WP0ZZZ99ZZS392124","wmi":"WP0","small_manufacturer":false,"region":"Europe","vds":"ZZZ99Z","vis":"ZS392124","check_digit":{"status":"not_verified","expected":"7","found":"Z"},"model_year":{"code":"Z","candidates":[],"preferred":null},"plant":"S","vpic":{"status":"unavailable","wmi":"WP0","reason":"/nonexistent/vpic.lite.db: no such file (scripts/deps.sh fetches it)"}}
{"input":"1M8GDM9A5KP042788","valid":false,"error":{"fault":"check_digit","message":"wrong check digit at position 9: expected '"'X'"', found '"'5'"'","expected":"X","found":"5"},"vin":"1M8GDM9A5KP042788","wmi":"1M8","small_manufacturer":false,"region":"North America","vds":"GDM9A5","vis":"KP042788","check_digit":{"status":"mismatch","expected":"X","found":"5"},"model_year":{"code":"K","candidates":[1989,2019],"preferred":1989},"plant":"P","vpic":{"status":"unavailable","wmi":"1M8","reason":"/nonexistent/vpic.lite.db: no such file (scripts/deps.sh fetches it)"}}
{"input":"short","valid":false,"error":{"fault":"length","message":"wrong length: expected 17 characters, found 5","length":5}}
{"input":"1M8GDM9AX\\x01","valid":false,"error":{"fault":"length","message":"wrong length: expected 17 characters, found 10","length":10}}
{"input":"1M8GDM9AXKP0Q2788","valid":false,"error":{"fault":"character","message":"invalid character '"'Q'"' at position 13: I, O and Q are never used in a VIN","position":13,"byte":81}}' \
  vin check --json --vpic-db "$nodb" 1M8GDM9AXKP042788 wp0zzz99zzs392124 1M8GDM9A5KP042788 \
  short $'1M8GDM9AX\x01' 1M8GDM9AXKP0Q2788

# --- usage errors: status 2 -----------------------------------------------------------------

expect_usage "no subcommand" "blokauto: vin: which subcommand?" vin
expect_usage "unknown subcommand" "blokauto: vin: unknown subcommand 'frobnicate'" vin frobnicate
expect_usage "no VIN" "blokauto: vin check: no VIN given" vin check
expect_usage "only options" "blokauto: vin check: no VIN given" vin check --json --vpic-db "$nodb"
expect_usage "unknown option" "blokauto: vin check: unknown option '--bogus'" \
  vin check --bogus 1M8GDM9AXKP042788
expect_usage "unknown short option" "blokauto: vin check: unknown option '-x'" \
  vin check 1M8GDM9AXKP042788 -x
expect_usage "--vpic-db without a path" "blokauto: vin check: --vpic-db needs a path" \
  vin check 1M8GDM9AXKP042788 --vpic-db
expect_usage "--vpic-db with an empty path" "blokauto: vin check: --vpic-db needs a path" \
  vin check --vpic-db "" 1M8GDM9AXKP042788
expect_usage "argument over 256 bytes" \
  "blokauto: vin check: argument 2 is longer than 256 bytes; a VIN has 17" \
  vin check 1M8GDM9AXKP042788 "A$long256"
long_path=/$(printf 'p%.0s' $(seq 4100))
expect_usage "database path over 4096 bytes" \
  "blokauto: vin check: the --vpic-db path is longer than 4096 bytes" \
  vin check --vpic-db "$long_path" 1M8GDM9AXKP042788

# --- help: status 0, on stdout --------------------------------------------------------------

for args in "vin --help" "vin -h" "vin help" "vin check --help" "vin check -h"; do
  # shellcheck disable=SC2086
  "$bin" $args >"$tmp/out" 2>"$tmp/err"
  status=$?
  [ "$status" -eq 0 ] || fail "$args: exit status $status, expected 0"
  head -n 1 "$tmp/out" | grep -qx 'usage: blokauto vin check \[--json\] \[--vpic-db PATH\] \[--\] VIN\.\.\.' ||
    fail "$args: no usage line on stdout"
  [ ! -s "$tmp/err" ] || fail "$args: wrote to stderr"
done

# --- which database: --vpic-db, then $BLOK_VPIC_DB, then the build's default ---------------

BLOK_VPIC_DB=/nonexistent/env.db "$bin" vin check 1M8GDM9AXKP042788 >"$tmp/out"
grep -qx '  vpic: decoding unavailable: /nonexistent/env.db: no such file (scripts/deps.sh fetches it)' \
  "$tmp/out" || fail "BLOK_VPIC_DB is not used: $(tail -n 1 "$tmp/out")"
BLOK_VPIC_DB=/nonexistent/env.db "$bin" vin check --vpic-db /nonexistent/flag.db \
  1M8GDM9AXKP042788 >"$tmp/out"
grep -qx '  vpic: decoding unavailable: /nonexistent/flag.db: no such file (scripts/deps.sh fetches it)' \
  "$tmp/out" || fail "--vpic-db does not win over BLOK_VPIC_DB: $(tail -n 1 "$tmp/out")"
: >"$tmp/empty.db"
"$bin" vin check --vpic-db "$tmp/empty.db" 1M8GDM9AXKP042788 >"$tmp/out"
grep -qx "  vpic: decoding unavailable: $tmp/empty.db: not a vPIC database (no such table: Wmi)" \
  "$tmp/out" || fail "empty database file: $(tail -n 1 "$tmp/out")"

# --- with the real vPIC database, when it is there -----------------------------------------

db=${BLOK_VPIC_DB:-}
if [ -n "$db" ] && [ -f "$db" ]; then
  expect "vpic: known WMIs" 1 "1M8GDM9AXKP042788: valid
  wmi: 1M8 (North America)
  vds: GDM9AX
  vis: KP042788
  check digit: X (matches)
  model year: 1989 or 2019 (code K); position 7 is a digit, so 1989 is preferred
  plant: P
  manufacturer: MOTOR COACH INDUSTRIES, INC.
  make: Motor Coach Industries
  country: UNITED STATES (USA)
  vehicle type: Bus
1HGCM82633A123456: invalid: wrong check digit at position 9: expected '7', found '3'
  wmi: 1HG (North America)
  vds: CM8263
  vis: 3A123456
  check digit: wrong (expected '7', found '3')
  model year: 2003 or 2033 (code 3); position 7 is a digit, so 2003 is preferred
  plant: A
  manufacturer: AMERICAN HONDA MOTOR CO., INC.
  make: Honda
  country: UNITED STATES (USA)
  vehicle type: Passenger Car
11111111111111111: valid
  wmi: 111 (North America)
  vds: 111111
  vis: 11111111
  check digit: 1 (matches)
  model year: 2001 or 2031 (code 1); position 7 is a digit, so 2001 is preferred
  plant: 1
  vpic: no entry for WMI 111" vin check --vpic-db "$db" 1M8GDM9AXKP042788 1HGCM82633A123456 \
    11111111111111111
  # The environment variable alone finds it too. (A made-up Tesla VIN with a right check digit.)
  expect "vpic: json, from BLOK_VPIC_DB" 0 '{"input":"5YJSA1E27HF000337","valid":true,"error":null,"vin":"5YJSA1E27HF000337","wmi":"5YJ","small_manufacturer":false,"region":"North America","vds":"SA1E27","vis":"HF000337","check_digit":{"status":"matched","expected":"7","found":"7"},"model_year":{"code":"H","candidates":[1987,2017],"preferred":2017},"plant":"F","vpic":{"status":"found","wmi":"5YJ","manufacturer":"TESLA, INC.","make":"Tesla","country":"UNITED STATES (USA)","vehicle_type":"Passenger Car"}}' \
    vin check --json 5YJSA1E27HF000337
else
  echo "skip: vPIC database absent (BLOK_VPIC_DB='$db'): database cases not run"
fi

if [ "$failures" -ne 0 ]; then
  echo "vin.sh: $failures failure(s)"
  exit 1
fi
echo "vin.sh: all passed"
