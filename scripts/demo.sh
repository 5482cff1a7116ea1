#!/usr/bin/env bash
# make demo: runs hoist's main job on the embedded lab.
set -euo pipefail
BUILD=${1:-build/release}
exec "$BUILD/src/hoist" lab demo
