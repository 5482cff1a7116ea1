#!/usr/bin/env bash
# Validates hoist's Prometheus exposition with Prometheus's own `promtool check metrics`
# (Debian package `prometheus`). promtool parses the text with the real Go parser and lints names.
set -euo pipefail

tool="${HOIST_BIN_DIR:?HOIST_BIN_DIR not set}/it_tool_prom_expose"
if ! command -v promtool >/dev/null 2>&1; then
  echo "FAIL: promtool not found; install the Debian package 'prometheus' (scripts/setup.sh does)" >&2
  exit 1
fi
[ -x "$tool" ] || { echo "FAIL: $tool not built" >&2; exit 1; }

fail=0

# 1. hoist-style metrics: promtool must accept them without a single complaint.
out="$("$tool" lint)"
grep -q 'hoist_controller_operation_seconds_bucket{result="success",le="+Inf"} 2' <<<"$out" \
  || { echo "FAIL: sample exposition is missing the histogram" >&2; fail=1; }
if ! report="$(promtool check metrics <<<"$out" 2>&1)"; then
  echo "FAIL: promtool check metrics complained about the lint exposition:" >&2
  echo "$report" >&2
  fail=1
elif [ -n "$report" ]; then
  echo "FAIL: promtool printed: $report" >&2
  fail=1
fi

# 2. Forklift-compatible families: names are fixed by Forklift, so the only acceptable complaints are
#    promtool's naming conventions (counters without _total, Forklift's camelCase `ownerUID` label); a
#    parse error is a failure.
out="$("$tool" forklift)"
report="$(promtool check metrics <<<"$out" 2>&1 || true)"
if grep -q 'error' <<<"$report"; then
  echo "FAIL: promtool could not parse the Forklift-compatible exposition:" >&2
  echo "$report" >&2
  fail=1
fi
unexpected="$(grep -v -e 'counter metrics should have "_total" suffix' \
  -e "^ovirt_progress label names should be written in 'snake_case' not 'camelCase'" \
  -e "^openstack_populator_progress label names should be written in 'snake_case' not 'camelCase'" \
  <<<"$report" | grep -v '^$' || true)"
if [ -n "$unexpected" ]; then
  echo "FAIL: unexpected promtool complaints about the Forklift-compatible exposition:" >&2
  echo "$unexpected" >&2
  fail=1
fi
# The complaints name exactly the Forklift counters, which proves promtool read every family.
for name in ovirt_progress openstack_populator_progress vsphere_xcopy_volume_populator_progress; do
  grep -q "^$name counter" <<<"$report" || { echo "FAIL: promtool did not see counter $name" >&2; fail=1; }
done

# 3. A deliberately broken exposition must be rejected (the check itself can fail).
if printf 'broken{a="x} 1\n' | promtool check metrics >/dev/null 2>&1; then
  echo "FAIL: promtool accepted a broken exposition; the check proves nothing" >&2
  fail=1
fi

[ "$fail" -eq 0 ] && echo "ok: promtool accepts hoist's exposition"
exit "$fail"
