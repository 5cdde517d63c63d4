# Waiting for `devnet --demo` in the scripts that start one (demo.sh, demo_validators.sh,
# parts.sh, report.sh), sourced after the script defines fail MESSAGE (ends it).

# wait_demo OUT LOG PID SECONDS: until OUT holds the demo's completion line. Fails when the demo
# stopped (its reason is in LOG), when process PID exited, or after SECONDS.
wait_demo() {
  local end=$((SECONDS + $4))
  while [ "$SECONDS" -lt "$end" ]; do
    grep -q '^demo: done: ' "$1" && return 0
    grep -q '^demo: stopped' "$2" 2>/dev/null && fail "$(grep '^demo: stopped' "$2")"
    kill -0 "$3" 2>/dev/null || fail "the node exited before its demo was done"
    sleep 0.1
  done
  fail "no demo completion line in $1 within $4 s"
}
