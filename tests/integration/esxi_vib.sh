#!/usr/bin/env bash
# `hoist esxi vib build` produces a VIB that Debian's own tools take apart as ESXi would:
# `ar` members descriptor.xml, sig.pkcs7 (empty), payload1 (gzip'd tar); the descriptor's size and
# sha-256/sha-1 checksums match the payload; the payload holds the wrapper (runnable under BusyBox,
# carrying the VIB's version) and the esxcli plugin XML at their ESXi paths.
set -euo pipefail

SRC_DIR=${HOIST_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
HOIST=${HOIST_BIN_DIR:+$HOIST_BIN_DIR/hoist}
[ -n "$HOIST" ] && [ -x "$HOIST" ] || { echo "FAIL: hoist binary not found (set HOIST_BIN_DIR)"; exit 1; }
for tool in ar gzip tar sha256sum sha1sum busybox; do
  command -v "$tool" >/dev/null || { echo "FAIL: $tool is not installed"; exit 1; }
done

T=$(mktemp -d "${TMPDIR:-/tmp}/esxi_vib.XXXXXX")
trap 'rm -rf "$T"' EXIT

FAILS=0
CHECKS=0
check() { # <what> <command...>: the command must succeed
  local what=$1
  shift
  CHECKS=$((CHECKS + 1))
  if ! "$@"; then
    FAILS=$((FAILS + 1))
    echo "FAIL: $what" >&2
  fi
}
eq() { [ "$1" == "$2" ] || { echo "  got [$1], want [$2]" >&2; return 1; }; }
has() { [[ "$1" == *"$2"* ]] || { echo "  [$2] not found" >&2; return 1; }; }

VIB=$T/vmkfstools-wrapper.vib
out=$("$HOIST" esxi vib build --out "$VIB" --version 2.5.0 --release-date 2026-01-02T03:04:05)
check "build reports the file" has "$out" "vmkfstools-wrapper 2.5.0"
check "no temporary file left" eq "$(ls "$T")" "vmkfstools-wrapper.vib"

check "ar lists the members in order" eq "$(ar t "$VIB" | tr '\n' ' ')" "descriptor.xml sig.pkcs7 payload1 "
mkdir "$T/x"
(cd "$T/x" && ar x "$VIB")
check "sig.pkcs7 is empty" eq "$(stat -c %s "$T/x/sig.pkcs7")" 0
check "payload1 is gzip" gzip -t "$T/x/payload1"

desc=$(cat "$T/x/descriptor.xml")
P=$T/x/payload1
check "descriptor: name" has "$desc" "<name>vmkfstools-wrapper</name>"
check "descriptor: version" has "$desc" "<version>2.5.0</version>"
check "descriptor: release date" has "$desc" "<release-date>2026-01-02T03:04:05</release-date>"
check "descriptor: community acceptance" has "$desc" "<acceptance-level>community</acceptance-level>"
check "descriptor: live install" has "$desc" "<live-install-allowed>true</live-install-allowed>"
check "descriptor: payload size" has "$desc" "<payload name=\"payload1\" type=\"tgz\" size=\"$(stat -c %s "$P")\">"
check "descriptor: sha-256" has "$desc" \
  "<checksum checksum-type=\"sha-256\">$(sha256sum "$P" | cut -d ' ' -f 1)</checksum>"
check "descriptor: sha-256 of the tar" has "$desc" \
  "<checksum checksum-type=\"sha-256\" verify-process=\"gunzip\">$(gzip -dc "$P" | sha256sum | cut -d ' ' -f 1)</checksum>"
check "descriptor: sha-1 of the tar" has "$desc" \
  "<checksum checksum-type=\"sha-1\" verify-process=\"gunzip\">$(gzip -dc "$P" | sha1sum | cut -d ' ' -f 1)</checksum>"

listing=$(tar -tzvf "$P")
files=$(tar -tzf "$P" | grep -v '/$' | tr '\n' ' ')
check "payload files" eq "$files" "opt/hoist/vmkfstools-wrapper usr/lib/vmware/esxcli/ext/esxcli-vmkfstools.xml "
listed=$(sed -n 's|^ *<file>\(.*\)</file>$|\1|p' "$T/x/descriptor.xml" | tr '\n' ' ')
check "descriptor file-list matches the payload" eq "$listed" "$files"
check "wrapper is executable, owned by root" has "$listing" "-rwxr-xr-x root/root"
check "directories come first" eq "$(tar -tzf "$P" | head -2 | tr '\n' ' ')" "opt/ opt/hoist/ "

mkdir "$T/root"
tar -xzf "$P" -C "$T/root"
W=$T/root/opt/hoist/vmkfstools-wrapper
check "plugin XML is the source file" cmp -s "$T/root/usr/lib/vmware/esxcli/ext/esxcli-vmkfstools.xml" \
  "$SRC_DIR/esxi/vmkfstools-wrapper/esxcli-vmkfstools.xml"
check "wrapper differs from the source only in its version" eq \
  "$(diff "$W" "$SRC_DIR/esxi/vmkfstools-wrapper/vmkfstools_wrapper.sh" | grep '^[<>]' | tr '\n' ' ')" \
  '< SCRIPT_VERSION="2.5.0" > SCRIPT_VERSION="1.0.0" '
check "packaged wrapper runs under BusyBox" eq "$(env -i PATH=/usr/bin:/bin busybox sh "$W" --version --output simple)" "2.5.0"
check "plugin runs the packaged wrapper" has "$(cat "$T/root/usr/lib/vmware/esxcli/ext/esxcli-vmkfstools.xml")" \
  "<execute>/opt/hoist/vmkfstools-wrapper --task-get -i '\$val{id}'</execute>"

# Reproducible: same inputs, same bytes (SOURCE_DATE_EPOCH fixes the release date).
SOURCE_DATE_EPOCH=86400 "$HOIST" esxi vib build --out "$T/a.vib" >/dev/null
SOURCE_DATE_EPOCH=86400 "$HOIST" esxi vib build --out "$T/b.vib" >/dev/null
check "reproducible build" cmp -s "$T/a.vib" "$T/b.vib"
(mkdir "$T/a" && cd "$T/a" && ar x "$T/a.vib" descriptor.xml)
check "default version is the wrapper's" has "$(cat "$T/a/descriptor.xml")" "<version>1.0.0</version>"
check "SOURCE_DATE_EPOCH release date" has "$(cat "$T/a/descriptor.xml")" "<release-date>1970-01-02T00:00:00</release-date>"

# Building from files (--wrapper/--plugin) instead of the embedded copies.
"$HOIST" esxi vib build --out "$T/c.vib" --release-date 2026-01-01T00:00:00 \
  --wrapper "$SRC_DIR/esxi/vmkfstools-wrapper/vmkfstools_wrapper.sh" \
  --plugin "$SRC_DIR/esxi/vmkfstools-wrapper/esxcli-vmkfstools.xml" >/dev/null
"$HOIST" esxi vib build --out "$T/d.vib" --release-date 2026-01-01T00:00:00 >/dev/null
check "embedded files equal the source files" cmp -s "$T/c.vib" "$T/d.vib"

set +e
err=$("$HOIST" esxi vib build --out "$T/bad.vib" --version '1.0; rm' 2>&1)
rc=$?
set -e
check "bad version is refused" eq "$rc" 2
check "bad version message" has "$err" "must start with a digit"
check "nothing written for a bad version" test ! -e "$T/bad.vib"

echo "esxi_vib: $CHECKS checks, $FAILS failed"
[ "$FAILS" -eq 0 ]
