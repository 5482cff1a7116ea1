#!/usr/bin/env bash
# make demo: a migration Plan with storage copy offload (XCOPY) end to end on the embedded lab — an ONTAP
# simulator, the lab vCenter with a two-disk VM whose disks hold known patterns, hoist-controller running
# the planner (FEATURE_COPY_OFFLOAD=true); the Provider, StorageMap and Plan are written as an
# administrator would, `hoist watch` follows the Plan, and each Bound PVC is checked against its disk by
# SHA-256. `hoist lab xcopy-demo` (one disk, CR and PVC by hand) and `hoist lab demo` are smaller demos.
set -euo pipefail
# Absolute: the lab's kubelet starts pod programs in their own working directory.
BUILD=$(cd "${1:-build/release}" && pwd)
shift || true
export HOIST_BIN_DIR="$BUILD/src"
exec "$BUILD/src/hoist" lab plan-demo "$@"
