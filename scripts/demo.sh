#!/usr/bin/env bash
# make demo: runs hoist's demo on the embedded lab (a pod writes to a provisioned block volume).
set -euo pipefail
BUILD=${1:-build/release}
shift || true
exec "$BUILD/src/hoist" lab demo "$@"
