#!/usr/bin/env bash
# Runs one libFuzzer target for a bounded time, starting from the kept corpus.
# usage: run.sh FUZZER CORPUS_DIR SECONDS
# New inputs go to a scratch folder, deleted afterwards; crashes are written to
# $BLOK_FUZZ_ARTIFACTS (default: build/fuzz-artifacts) and fail the run.
set -euo pipefail
fuzzer=$1 corpus=$2 seconds=$3
artifacts=${BLOK_FUZZ_ARTIFACTS:-$(dirname "$fuzzer")/fuzz-artifacts}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$artifacts"
"$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$artifacts/$(basename "$fuzzer")-" "$scratch" "$corpus"
