#!/usr/bin/env bash
# make demo: the vSphere copy-offload (XCOPY) populator end to end on the embedded lab — an ONTAP
# simulator, the lab vCenter with a VM whose disk holds a known pattern, hoist-controller, and a PVC +
# VSphereXcopyVolumePopulator + Secret; live progress, then the PVC Bound and the data checked by SHA-256.
# `hoist lab demo` (a pod filling a block volume) is the smaller lab-only demo.
set -euo pipefail
BUILD=${1:-build/release}
shift || true
export HOIST_BIN_DIR="$BUILD/src"
exec "$BUILD/src/hoist" lab xcopy-demo "$@"
