#!/usr/bin/env bash
# make bench: runs every benchmark built in the release tree, one after the other.
set -euo pipefail
BUILD=${1:-build/release}
export HOIST_BIN_DIR="$BUILD/src"
status=0
for b in "$BUILD"/bench/bench_*; do
  [ -x "$b" ] || continue
  echo "== $(basename "$b")"
  "$b" || status=1
done
exit $status
