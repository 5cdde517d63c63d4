#!/usr/bin/env bash
# Every C source file must include "blok/banned.h" as its last #include, so that a banned
# function (see include/blok/banned.h) is a compile error wherever it is used.
set -euo pipefail
top=${1:-.}
bad=0
while IFS= read -r -d '' f; do
  last=$(grep -E '^[[:space:]]*#[[:space:]]*include' "$f" | tail -n 1 || true)
  if [[ "$last" != *'"blok/banned.h"'* ]]; then
    echo "$f: last #include is not \"blok/banned.h\" (found: ${last:-none})"
    bad=1
  fi
done < <(find "$top/src" "$top/tests" "$top/bench" -name '*.c' -print0)
exit $bad
