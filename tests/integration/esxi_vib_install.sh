#!/usr/bin/env bash
# `hoist esxi vib install` against the lab's vCenter (hoist-vcsim): a host without the
# vmkfstools-wrapper VIB gets it through vCenter alone — the VIB is uploaded to a datastore over
# vCenter's datastore file access, installed with `esxcli software vib install -v …` (the simulated
# host checks the archive and its checksums, the signature flag and the acceptance level, and unpacks
# the payload), and the esxcli vmkfstools namespace then answers from the installed wrapper. The
# uploaded file is deleted afterwards; a second install with a new version replaces the first.
# `hoist esxi check` reports the host before and after (namespace, data mover settings, Disk.MaxLUN,
# the datastore's device).
set -euo pipefail

HOIST=${HOIST_BIN_DIR:+$HOIST_BIN_DIR/hoist}
VCSIM=${HOIST_BIN_DIR:+$HOIST_BIN_DIR/hoist-vcsim}
[ -n "$HOIST" ] && [ -x "$HOIST" ] || { echo "FAIL: hoist binary not found (set HOIST_BIN_DIR)"; exit 1; }
[ -x "$VCSIM" ] || { echo "FAIL: hoist-vcsim not found in HOIST_BIN_DIR (needs golang-go and govmomi)"; exit 1; }

T=$(mktemp -d "${TMPDIR:-/tmp}/esxi_vib_install.XXXXXX")
VCSIM_PID=
cleanup() {
  [ -n "$VCSIM_PID" ] && kill "$VCSIM_PID" 2>/dev/null && wait "$VCSIM_PID" 2>/dev/null || true
  rm -rf "$T"
}
trap cleanup EXIT

FAILS=0
CHECKS=0
expect_eq() {
  CHECKS=$((CHECKS + 1))
  [ "$2" == "$3" ] || { FAILS=$((FAILS + 1)); echo "FAIL: $1: got [$2], want [$3]" >&2; }
}
expect_contains() {
  CHECKS=$((CHECKS + 1))
  [[ "$2" == *"$3"* ]] || { FAILS=$((FAILS + 1)); echo "FAIL: $1: [$2] does not contain [$3]" >&2; }
}

mkdir -p "$T/ds1" "$T/san"
# A host with only ESXi's own VIB: no vmkfstools namespace.
cat >"$T/world.json" <<EOF
{"sanDir": "$T/san",
 "hosts": [{"name": "esx1.lab", "iqn": "iqn.1998-01.com.vmware:esx1-0001",
            "vibs": [{"name": "esx-base", "version": "8.0.2-0.0.22380479", "vendor": "VMware",
                      "acceptanceLevel": "VMwareCertified"}]}],
 "datastores": [{"name": "ds1", "naa": "naa.600a098038314d2d4c244a6f6b6b6f31", "dir": "$T/ds1", "array": "ontap1"}]}
EOF
"$VCSIM" --world "$T/world.json" --state-dir "$T/state" --url-file "$T/inventory.json" >/dev/null 2>"$T/vcsim.log" &
VCSIM_PID=$!
for i in $(seq 1 600); do
  [ -s "$T/inventory.json" ] && break
  kill -0 "$VCSIM_PID" 2>/dev/null || { echo "FAIL: hoist-vcsim exited: $(cat "$T/vcsim.log")"; exit 1; }
  sleep 0.05
done
URL=$(sed -n 's/.*"url":"\([^"]*\)".*/\1/p' "$T/inventory.json")
ROOT=$(sed -n 's/.*"root":"\([^"]*\)".*/\1/p' "$T/inventory.json")
[ -n "$URL" ] && [ -d "$ROOT" ] || { echo "FAIL: no vCenter URL / host root in $(cat "$T/inventory.json")"; exit 1; }

export GOVMOMI_USERNAME=administrator@vsphere.local GOVMOMI_PASSWORD=lab-password
install() { "$HOIST" esxi vib install --vcenter "$URL" --host esx1.lab --datastore ds1 "$@" >"$T/out" 2>"$T/err"; }

check() { "$HOIST" esxi check --vcenter "$URL" --host esx1.lab --datastore ds1 >"$T/check" 2>"$T/check.err"; }
rc=0
check || rc=$?
expect_eq "check before: one failure" "$rc" 1
expect_contains "no namespace yet" "$(cat "$T/check")" "FAIL esxcli vmkfstools: the esxcli namespace vmkfstools is missing on esx1.lab"
expect_contains "XCOPY on" "$(cat "$T/check")" "ok   /DataMover/HardwareAcceleratedMove: 1"
expect_contains "transfer size" "$(cat "$T/check")" "WARN /DataMover/MaxHWTransferSize: 4096"
expect_contains "MaxLUN" "$(cat "$T/check")" "WARN /Disk/MaxLUN: 1024"
expect_contains "datastore device" "$(cat "$T/check")" "ok   device naa.600a098038314d2d4c244a6f6b6b6f31: VAAI plugin VMW_VAAIP_T10, Clone Status supported"
expect_contains "paths" "$(cat "$T/check")" "ok   paths to naa.600a098038314d2d4c244a6f6b6b6f31: 1 active (vmhba65)"

# The host's acceptance level (PartnerSupported) refuses a community VIB unless forced.
rc=0
install --version 1.0.0 || rc=$?
expect_eq "refused without --force" "$rc" 2
expect_contains "says why" "$(cat "$T/err")" "AcceptanceLevelError"
expect_contains "says what to do" "$(cat "$T/err")" "esxcli software acceptance set --level CommunitySupported"
expect_eq "upload deleted after a refusal" "$(ls "$T/ds1")" ""

rc=0
install --version 1.0.0 --force || rc=$?
expect_eq "installed" "$rc" 0
expect_contains "uploaded through vCenter" "$(cat "$T/out")" "uploading vmkfstools-wrapper"
expect_contains "install result" "$(cat "$T/out")" "installed: hoist_bootbank_vmkfstools-wrapper_1.0.0"
expect_contains "namespace answers" "$(cat "$T/out")" "esxcli vmkfstools version 1.0.0 (hoist)"
expect_eq "upload deleted" "$(ls "$T/ds1")" ""
expect_contains "payload unpacked" "$(cat "$ROOT/opt/hoist/vmkfstools-wrapper" 2>/dev/null)" 'SCRIPT_VERSION="1.0.0"'
expect_eq "plugin XML installed" "$([ -f "$ROOT/usr/lib/vmware/esxcli/ext/esxcli-vmkfstools.xml" ] && echo yes)" yes

rc=0
check || rc=$?
expect_eq "check after install passes" "$rc" 0
expect_contains "namespace answers" "$(cat "$T/check")" "ok   esxcli vmkfstools: vmkfstools-wrapper 1.0.0 (hoist)"

# A new version replaces the old one, and the namespace runs the new wrapper.
rc=0
install --version 1.0.1 --force --keep || rc=$?
expect_eq "upgraded" "$rc" 0
expect_contains "old VIB removed" "$(cat "$T/out")" "removed: hoist_bootbank_vmkfstools-wrapper_1.0.0"
expect_contains "new wrapper answers" "$(cat "$T/out")" "esxcli vmkfstools version 1.0.1 (hoist)"
expect_eq "--keep keeps the upload" "$(ls "$T/ds1")" "hoist-vmkfstools-wrapper-1.0.1.vib"

# Credentials never reach the output.
expect_eq "no password in output" "$(grep -c lab-password "$T/out" "$T/err" | awk -F: '{s+=$2} END {print s}')" 0

# A file that is not a VIB is refused by the host with its own words.
printf 'not a vib' >"$T/bad.vib"
rc=0
install --vib "$T/bad.vib" --force || rc=$?
expect_eq "bad VIB refused" "$rc" 2
expect_contains "host's reason" "$(cat "$T/err")" "VibFormatError"

echo "esxi_vib_install: $CHECKS checks, $FAILS failed"
[ "$FAILS" -eq 0 ]
