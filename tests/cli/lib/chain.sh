# Helpers shared by the multi-node scripts (validators.sh, partition.sh), sourced after the
# script defines: fail MESSAGE (ends it), height NODE (the node's head height, or nothing),
# hashes NODE N (the hashes of its blocks 1 to N, one a line) and $dir (a scratch folder).

# Waits until node $1 is at height $2 or more (deadline $3 seconds).
wait_height() {
  local h end=$((SECONDS + $3))
  while [ "$SECONDS" -lt "$end" ]; do
    h=$(height "$1")
    [ -n "$h" ] && [ "$h" -ge "$2" ] && return 0
    sleep 0.1
  done
  return 1
}

# Every node in "$@" has the same block at every height up to the lowest head, which it leaves
# in $low. (Called directly, never in $(...), so that fail ends the script.)
same_chain() {
  local h k
  low=999999999
  for k in "$@"; do
    h=$(height "$k")
    [ -n "$h" ] || fail "node $k does not answer"
    if [ "$h" -lt "$low" ]; then low=$h; fi
  done
  [ "$low" -ge 1 ] || fail "no blocks to compare"
  hashes "$1" "$low" >"$dir/chain.$1"
  [ "$(grep -c . "$dir/chain.$1")" = "$low" ] || fail "node $1 did not serve blocks 1 to $low"
  for k in "$@"; do
    hashes "$k" "$low" >"$dir/chain.$k"
    cmp -s "$dir/chain.$1" "$dir/chain.$k" ||
      fail "nodes $1 and $k differ at height $(cmp "$dir/chain.$1" "$dir/chain.$k" | sed -n 's/.* line \([0-9]*\).*/\1/p')"
  done
}

# The hex SHA-256 of a text (an anchored document's hash).
hash() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
