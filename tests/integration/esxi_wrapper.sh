#!/usr/bin/env bash
# Runs the ESXi-side vmkfstools-wrapper under BusyBox `sh` (ESXi's shell), with only BusyBox
# applets and fake `vmkfstools`/`vsish` (tests/integration/esxi_fakes/) on PATH, through both
# transports: esxcli-style arguments and SSH_ORIGINAL_COMMAND (DS=<ds>;CMD=<args>, also through
# the forced command of the restricted key line that `hoist esxi ssh-key-line` prints).
# Answers are checked as raw XML and as hoist's C++ parser reads them (`hoist esxi decode`).
set -euo pipefail

SRC_DIR=${HOIST_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
WRAPPER=$SRC_DIR/esxi/vmkfstools-wrapper/vmkfstools_wrapper.sh
HOIST=${HOIST_BIN_DIR:+$HOIST_BIN_DIR/hoist}
BUSYBOX=$(command -v busybox) || { echo "FAIL: busybox is not installed (scripts/setup.sh installs it)"; exit 1; }
[ -n "$HOIST" ] && [ -x "$HOIST" ] || { echo "FAIL: hoist binary not found (set HOIST_BIN_DIR)"; exit 1; }

T=$(mktemp -d "${TMPDIR:-/tmp}/esxi_wrapper.XXXXXX")
ROOT=$T/root
BIN=$T/bin
FAKE=$ROOT/fake
cleanup() {
  touch "$FAKE/release" 2>/dev/null || true
  # Stop any task still running (each is its own process group, started by setsid).
  for p in "$ROOT"/tmp/vmkfstools-wrapper-*/pid; do
    [ -f "$p" ] && kill -KILL -- "-$(cat "$p")" 2>/dev/null || true
  done
  rm -rf "$T"
}
trap cleanup EXIT

mkdir -p "$BIN" "$ROOT/tmp" "$FAKE/vsish"
for applet in sh ash cat chmod cut dd echo find grep head kill logger ls mkdir mv od printf rm rmdir \
  sed setsid sleep tail touch tr wc basename dirname date; do
  ln -s "$BUSYBOX" "$BIN/$applet"
done
for f in vmkfstools vsish; do
  cp "$SRC_DIR/tests/integration/esxi_fakes/$f" "$BIN/$f"
  chmod +x "$BIN/$f"
done

FAILS=0
CHECKS=0
pass() { CHECKS=$((CHECKS + 1)); }
fail() {
  CHECKS=$((CHECKS + 1))
  FAILS=$((FAILS + 1))
  echo "FAIL: $*" >&2
}
expect_eq() { # <what> <got> <want>
  if [ "$2" == "$3" ]; then pass; else fail "$1: got [$2], want [$3]"; fi
}
expect_contains() { # <what> <haystack> <needle>
  if [[ "$2" == *"$3"* ]]; then pass; else fail "$1: [$2] does not contain [$3]"; fi
}
expect_not_contains() {
  if [[ "$2" != *"$3"* ]]; then pass; else fail "$1: [$2] contains [$3]"; fi
}

# The wrapper with esxcli-style arguments / with an SSH request. The environment is emptied so
# nothing but BusyBox and the fakes is reachable.
wrap() {
  env -i PATH="$BIN" HOIST_WRAPPER_ROOT_FOR_TEST="$ROOT" "$BUSYBOX" sh "$WRAPPER" "$@"
}
wrap_ssh() {
  env -i PATH="$BIN" HOIST_WRAPPER_ROOT_FOR_TEST="$ROOT" SSH_ORIGINAL_COMMAND="$1" "$BUSYBOX" sh "$WRAPPER"
}
mode() { echo "$1" >"$FAKE/mode"; rm -f "$FAKE/release" "$FAKE/vmkfstools.args" "$FAKE/vmkfstools.pid"; }

# Field of the wrapper's XML as text (entities decoded) and the C++ view of it.
field() { # <xml> <name>
  printf '%s\n' "$1" | sed -n "s|.*<field name=\"$2\"><string>\(.*\)</string></field>.*|\1|p" |
    sed -e 's/&lt;/</g' -e 's/&gt;/>/g' -e 's/&amp;/\&/g'
}
decode() { printf '%s' "$1" | "$HOIST" esxi decode || true; }
task_id_of() { decode "$1" | sed -n 's/.*"taskId":"\([0-9a-f-]*\)".*/\1/p'; }

wait_done() { # <task id>: until the task's exit code is recorded (deadline 10 s)
  local i
  for i in $(seq 1 200); do
    [ -f "$ROOT/tmp/vmkfstools-wrapper-$1/exitcode" ] && return 0
    sleep 0.05
  done
  fail "task $1 did not finish"
}
wait_file() { # <file>
  local i
  for i in $(seq 1 200); do
    [ -s "$1" ] && return 0
    sleep 0.05
  done
  fail "$1 did not appear"
}
wait_progress() { # <task id> <percent>: until task-get shows that progress
  local i
  for i in $(seq 1 200); do
    [[ "$(wrap --task-get -i "$1")" == *"\"progress\": $2"* ]] && return 0
    sleep 0.05
  done
  fail "task $1 never reached $2%"
}
args_of_fake() { cat "$FAKE/vmkfstools.args" 2>/dev/null | tr '\n' '|'; }

DEV=naa.600a098038314648593f517773636d61
TGT=/vmfs/devices/disks/$DEV

echo "--- version"
out=$(wrap --version)
expect_eq "version status" "$(field "$out" status)" 0
expect_contains "version message" "$(field "$out" message)" '"version": "1.0.0"'
expect_eq "version simple" "$(wrap --version --output simple)" "1.0.0"
expect_contains "version over ssh" "$(wrap_ssh 'DS=ds1;CMD=--version')" '"implementation": "hoist"'

echo "--- clone with spaces and quotes (esxcli arguments), XCOPY, cleanup"
mode ok
echo 0 >"$FAKE/vsish/$DEV"
SRC="/vmfs/volumes/my ds/vm \"q\" it's/disk 1.vmdk"
out=$(wrap --clone -s "$SRC" -t "$TGT")
expect_eq "clone status" "$(field "$out" status)" 0
id=$(task_id_of "$out")
[[ "$id" =~ ^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$ ]] && pass || fail "task id [$id]"
expect_contains "clone message" "$(field "$out" message)" '"xcopyUsed": false'
wait_done "$id"
RDM="/vmfs/volumes/my ds/vm \"q\" it's/disk 1-xcopy-${id%%-*}.vmdk"
expect_eq "vmkfstools argv" "$(args_of_fake)" "-i|$SRC|-d|rdm:$TGT|$RDM|"
out=$(wrap --task-get -i "$id")
expect_eq "task-get status" "$(field "$out" status)" 0
d=$(decode "$out")
for want in '"exitCode":0' '"progress":100' '"running":false' '"xcopyUsed":true' '"cloneWriteOps":37' \
  '"lastLine":"Clone: 100% done."' "\"taskId\":\"$id\""; do
  expect_contains "task-get (C++ view)" "$d" "$want"
done
expect_contains "task-get raw exitCode is a string (Forklift)" "$(field "$out" message)" '"exitCode": "0"'
[ -f "$ROOT$RDM" ] && pass || fail "RDM descriptor was not created"
RDM_MAP="/vmfs/volumes/my ds/vm \"q\" it's/disk 1-xcopy-${id%%-*}-rdm.vmdk"
[ -f "$ROOT$RDM_MAP" ] && pass || fail "RDM mapping file was not created"
out=$(wrap --task-clean -i "$id")
expect_eq "task-clean status" "$(field "$out" status)" 0
expect_contains "task-clean message" "$(field "$out" message)" '"cancelled": false'
[ ! -e "$ROOT$RDM" ] && [ ! -e "$ROOT$RDM_MAP" ] && pass || fail "RDM files left behind by task-clean"
[ ! -e "$ROOT/tmp/vmkfstools-wrapper-$id" ] && pass || fail "task directory left behind"
out=$(wrap --task-get -i "$id")
expect_eq "task-get after clean: status" "$(field "$out" status)" 1
expect_contains "task-get after clean: code" "$(field "$out" message)" '"code": "TaskNotFound"'
expect_contains "task-get after clean: Forklift stdErr" "$(field "$out" message)" 'not found'
out=$(wrap --task-clean -i "$id")
expect_contains "task-clean twice" "$(field "$out" message)" '"code": "TaskNotFound"'

echo "--- host copy: the LUN's earlier XCOPY count does not count"
mode hostcopy
echo 500 >"$FAKE/vsish/$DEV"
id=$(task_id_of "$(wrap --clone -s /vmfs/volumes/ds1/vm/vm.vmdk -t "$TGT")")
wait_done "$id"
d=$(decode "$(wrap --task-get -i "$id")")
expect_contains "host copy xcopyUsed" "$d" '"xcopyUsed":false'
expect_contains "host copy cloneWriteOps" "$d" '"cloneWriteOps":0'
rm -f "$FAKE/vsish/$DEV"
d=$(decode "$(wrap --task-get -i "$id")")
expect_contains "vsish failure gives null" "$d" '"xcopyUsed":null'
wrap --task-clean -i "$id" >/dev/null

echo "--- SSH transport: quoting, Forklift's unquoted form, hex, the forced command"
mode ok
id=$(task_id_of "$(wrap_ssh "DS=my ds;CMD=--clone -s '/vmfs/volumes/my ds/vm \"q\" it'\\''s/disk 1.vmdk' -t $TGT")")
wait_done "$id"
expect_eq "ssh single-quoted argv" "$(args_of_fake)" "-i|$SRC|-d|rdm:$TGT|/vmfs/volumes/my ds/vm \"q\" it's/disk 1-xcopy-${id%%-*}.vmdk|"
wrap --task-clean -i "$id" >/dev/null

id=$(task_id_of "$(wrap_ssh "--clone -s \"/vmfs/volumes/d s/a \\\"b\\\" \\\$HOME\\\\x.vmdk\" -t $TGT")")
wait_done "$id"
expect_contains "ssh double-quoted argv" "$(args_of_fake)" "-i|/vmfs/volumes/d s/a \"b\" \$HOME\\x.vmdk|"
wrap --task-clean -i "$id" >/dev/null

# Forklift's populator does not quote: the value of -s runs on until the next option.
id=$(task_id_of "$(wrap_ssh "--clone -s /vmfs/volumes/my  ds/vm/disk 1.vmdk -t $TGT")")
wait_done "$id"
expect_contains "ssh unquoted (Forklift) argv" "$(args_of_fake)" "-i|/vmfs/volumes/my  ds/vm/disk 1.vmdk|-d|"
wrap --task-clean -i "$id" >/dev/null

# hoist's client: the request as `hoist esxi ssh-request` builds it, run through the forced command.
ssh-keygen -q -t ed25519 -N '' -C test@hoist -f "$T/key" >/dev/null 2>&1 || printf 'ssh-ed25519 AAAAC3Nz test@hoist\n' >"$T/key.pub"
line=$("$HOIST" esxi ssh-key-line --public-key "$T/key.pub")
expect_contains "key line options" "$line" '",no-port-forwarding,no-agent-forwarding,no-X11-forwarding,no-pty ssh-'
program=$(printf '%s' "$line" | sed -e 's/^command="//' -e 's/",no-port-forwarding.*$//' -e 's/\\"/"/g')
mkdir -p "$ROOT/vmfs/volumes/my ds 2"
cp "$WRAPPER" "$ROOT/vmfs/volumes/my ds 2/secure-vmkfstools-wrapper"
# The forced command reads /vmfs/volumes/<ds>/...: run it with /vmfs mapped onto the test root.
forced() { # <request>
  local p=${program//\/vmfs\/volumes\//$ROOT/vmfs/volumes/}
  env -i PATH="$BIN" HOIST_WRAPPER_ROOT_FOR_TEST="$ROOT" SSH_ORIGINAL_COMMAND="$1" "$BUSYBOX" sh -c "$p"
}
expect_eq "forced command probe" "$(forced 'DS=;CMD=status test-task-id')" "SSH_OK"
expect_contains "forced command version" "$(forced "$("$HOIST" esxi ssh-request --datastore 'my ds 2' version)")" '"version": "1.0.0"'
expect_contains "forced command rejects ../" "$(forced 'DS=../../etc;CMD=--version' 2>&1 || true)" 'invalid datastore name'
SRC2="/vmfs/volumes/my ds 2/it's a \"vm\"/d\$(x)\`y\`.vmdk"
req=$("$HOIST" esxi ssh-request --datastore 'my ds 2' clone "$SRC2" "$TGT")
expect_contains "hoist request uses hex for quotes" "$req" "DS=my ds 2;CMD=--clone -s hex:"
id=$(task_id_of "$(forced "$req")")
wait_done "$id"
expect_contains "forced command argv" "$(args_of_fake)" "-i|$SRC2|-d|rdm:$TGT|"
d=$(decode "$(forced "$("$HOIST" esxi ssh-request --datastore 'my ds 2' task-get "$id")")")
expect_contains "forced command task-get" "$d" '"exitCode":0'
expect_contains "forced command task-clean" \
  "$(forced "$("$HOIST" esxi ssh-request --datastore 'my ds 2' task-clean "$id")")" '"cancelled": false'
req=$("$HOIST" esxi ssh-request --datastore 'my ds 2' clone "/vmfs/volumes/my ds 2/v m/a.vmdk" "$TGT")
expect_eq "hoist request quotes spaces" "$req" "DS=my ds 2;CMD=--clone -s '/vmfs/volumes/my ds 2/v m/a.vmdk' -t $TGT"
id=$(task_id_of "$(forced "$req")")
wait_done "$id"
expect_contains "forced command quoted argv" "$(args_of_fake)" "-i|/vmfs/volumes/my ds 2/v m/a.vmdk|"
wrap --task-clean -i "$id" >/dev/null

# The esxcli route: a quote cannot pass '$val{...}', so hoist sends hex.
id=$(task_id_of "$(wrap --clone -s "hex:$(printf '%s' "$SRC" | od -A n -t x1 | tr -d ' \n')" -t "$TGT")")
wait_done "$id"
expect_eq "hex argv" "$(args_of_fake)" "-i|$SRC|-d|rdm:$TGT|/vmfs/volumes/my ds/vm \"q\" it's/disk 1-xcopy-${id%%-*}.vmdk|"
wrap --task-clean -i "$id" >/dev/null

echo "--- failing clone"
mode fail
id=$(task_id_of "$(wrap --clone -s /vmfs/volumes/ds1/vm/vm.vmdk -t "$TGT")")
wait_done "$id"
out=$(wrap --task-get -i "$id")
expect_eq "failed task: status of the request" "$(field "$out" status)" 0
d=$(decode "$out")
for want in '"exitCode":3' '"running":false' '"progress":12' 'Input/output error (327689).'; do
  expect_contains "failed task" "$d" "$want"
done
wrap --task-clean -i "$id" >/dev/null

echo "--- escaping: markup, quotes, backslashes, tabs in vmkfstools output"
mode noisy
id=$(task_id_of "$(wrap --clone -s /vmfs/volumes/ds1/vm/vm.vmdk -t "$TGT")")
wait_done "$id"
out=$(wrap --task-get -i "$id")
expect_not_contains "raw XML has no markup from the output" "$out" "<b>"
expect_contains "XML-escaped lastLine" "$out" '"lastLine": "Clone: 42% done. &lt;b&gt;&amp;amp;&lt;/b&gt;"'
expect_contains "JSON-escaped stderr" "$out" 'warning: &lt;path&gt; &amp; \"quotes\" \\ back\ttab'
d=$(decode "$out")
expect_contains "decoded lastLine" "$d" '"lastLine":"Clone: 42% done. <b>&amp;</b>"'
expect_contains "decoded stderr" "$d" '"stdErr":"warning: <path> & \"quotes\" \\ back\ttab"'
expect_contains "decoded progress" "$d" '"progress":42'
wrap --task-clean -i "$id" >/dev/null

echo "--- running task; vmkfstools killed; whole task killed; cancel by task-clean"
mode hang
id=$(task_id_of "$(wrap --clone -s /vmfs/volumes/ds1/vm/vm.vmdk -t "$TGT")")
wait_progress "$id" 37
d=$(decode "$(wrap --task-get -i "$id")")
expect_contains "running task" "$d" '"running":true'
expect_contains "running task exit code" "$d" '"exitCode":null'
expect_contains "running task raw exitCode" "$(wrap --task-get -i "$id")" '"exitCode": ""'
wait_file "$FAKE/vmkfstools.pid"
kill -KILL "$(cat "$FAKE/vmkfstools.pid")"
wait_done "$id"
d=$(decode "$(wrap --task-get -i "$id")")
expect_contains "killed vmkfstools" "$d" '"exitCode":137'
expect_contains "killed vmkfstools" "$d" '"running":false'
wrap --task-clean -i "$id" >/dev/null

mode hang
id=$(task_id_of "$(wrap --clone -s /vmfs/volumes/ds1/vm/vm.vmdk -t "$TGT")")
wait_progress "$id" 37
kill -KILL -- "-$(cat "$ROOT/tmp/vmkfstools-wrapper-$id/pid")"
for i in $(seq 1 200); do
  [[ "$(wrap --task-get -i "$id")" == *'"running": false'* ]] && break
  sleep 0.05
done
d=$(decode "$(wrap --task-get -i "$id")")
expect_contains "task killed without exit code" "$d" '"exitCode":1'
expect_contains "task killed without exit code" "$d" 'ended without recording an exit code'
wrap --task-clean -i "$id" >/dev/null

mode hang
id=$(task_id_of "$(wrap --clone -s /vmfs/volumes/ds1/vm/vm.vmdk -t "$TGT")")
wait_progress "$id" 37
pid=$(cat "$FAKE/vmkfstools.pid")
out=$(wrap --task-clean -i "$id")
expect_contains "task-clean cancels a running task" "$(field "$out" message)" '"cancelled": true'
state=$(sed -e 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d ' ' -f 1 || true)
[[ -z "$state" || "$state" == Z ]] && pass || fail "vmkfstools still runs after task-clean (state $state)"
[ ! -e "$ROOT/tmp/vmkfstools-wrapper-$id" ] && [ ! -e "$ROOT/vmfs/volumes/ds1/vm/vm-xcopy-${id%%-*}.vmdk" ] && pass ||
  fail "cancelled task left files"

echo "--- stale task purge"
mode ok
old_done=$(task_id_of "$(wrap --clone -s /vmfs/volumes/ds1/old/old.vmdk -t "$TGT")")
wait_done "$old_done"
mode hang
old_running=$(task_id_of "$(wrap --clone -s /vmfs/volumes/ds1/run/run.vmdk -t "$TGT")")
wait_progress "$old_running" 37
mode ok
recent=$(task_id_of "$(wrap --clone -s /vmfs/volumes/ds1/new/new.vmdk -t "$TGT")")
wait_done "$recent"
touch -d '7 days ago' "$ROOT/tmp/vmkfstools-wrapper-$old_done" "$ROOT/tmp/vmkfstools-wrapper-$old_running"
mkdir "$ROOT/tmp/vmkfstools-wrapper-not-a-task"
touch -d '7 days ago' "$ROOT/tmp/vmkfstools-wrapper-not-a-task"
id=$(task_id_of "$(wrap --clone -s /vmfs/volumes/ds1/vm/vm.vmdk -t "$TGT")")
[ ! -e "$ROOT/tmp/vmkfstools-wrapper-$old_done" ] && pass || fail "stale finished task not purged"
[ ! -e "$ROOT/vmfs/volumes/ds1/old/old-xcopy-${old_done%%-*}.vmdk" ] && pass || fail "stale task's RDM descriptor not purged"
[ ! -e "$ROOT/vmfs/volumes/ds1/old/old-xcopy-${old_done%%-*}-rdm.vmdk" ] && pass || fail "stale task's RDM mapping not purged"
[ -e "$ROOT/tmp/vmkfstools-wrapper-$old_running" ] && pass || fail "old but running task was purged"
[ -e "$ROOT/tmp/vmkfstools-wrapper-$recent" ] && pass || fail "recent task was purged"
[ -e "$ROOT/tmp/vmkfstools-wrapper-not-a-task" ] && pass || fail "a directory that is not a task was purged"
wait_done "$id"
touch "$FAKE/release"
wait_done "$old_running"
for t in "$id" "$old_running" "$recent"; do wrap --task-clean -i "$t" >/dev/null; done

echo "--- rejected requests"
mode ok
reject() { # <what> <code> <expected text> <wrapper args...>
  local what=$1 code=$2 text=$3
  shift 3
  rm -f "$FAKE/vmkfstools.args"
  local before after out
  before=$(ls "$ROOT/tmp" | wc -l)
  out=$(wrap "$@")
  after=$(ls "$ROOT/tmp" | wc -l)
  expect_eq "$what: status" "$(field "$out" status)" 1
  expect_contains "$what: code" "$(field "$out" message)" "\"code\": \"$code\""
  expect_contains "$what: message" "$(decode "$out")" "$text"
  [ ! -e "$FAKE/vmkfstools.args" ] && pass || fail "$what: vmkfstools ran"
  expect_eq "$what: no task directory" "$after" "$before"
}
reject "traversal in source" InvalidPath "'..' is not allowed" --clone -s /vmfs/volumes/ds1/../../etc/x.vmdk -t "$TGT"
reject "traversal in target" InvalidPath "'..' is not allowed" --clone -s /vmfs/volumes/ds1/vm/vm.vmdk -t /vmfs/devices/disks/../../../etc/passwd
reject "source outside datastores" InvalidPath "under /vmfs/volumes" --clone -s /etc/shadow.vmdk -t "$TGT"
reject "source in /tmp" InvalidPath "under /vmfs/volumes" --clone -s /tmp/x.vmdk -t "$TGT"
reject "source not a vmdk" InvalidPath ".vmdk descriptor" --clone -s /vmfs/volumes/ds1/vm/vm.vmx -t "$TGT"
reject "target outside devices" InvalidPath "under /vmfs/devices/disks" --clone -s /vmfs/volumes/ds1/vm/vm.vmdk -t /dev/sda
reject "target with a subpath" InvalidPath "must name a device" --clone -s /vmfs/volumes/ds1/vm/vm.vmdk -t "/vmfs/devices/disks/naa.1/x"
reject "target with a space" InvalidPath "must name a device" --clone -s /vmfs/volumes/ds1/vm/vm.vmdk -t "/vmfs/devices/disks/naa.1 x"
reject "newline in source (hex)" InvalidPath "control characters" --clone -s "hex:2f766d66732f766f6c756d65732f64732f610a2e766d646b" -t "$TGT"
reject "malformed hex" InvalidPath "malformed hex" --clone -s "hex:2f7" -t "$TGT"
reject "missing target" MissingArgument "-t (target-lun) is required" --clone -s /vmfs/volumes/ds1/vm/vm.vmdk
reject "unknown option" UsageError "Unknown option: --frobnicate" --frobnicate
reject "two actions" UsageError "only one of" --clone --task-get -i x
reject "bad task id" InvalidTaskId "invalid task id" --task-get -i ../../etc
reject "bad task id on clean" InvalidTaskId "invalid task id" --task-clean -i "x'; rm -rf /"
reject "missing task" TaskNotFound "not found" --task-get -i 00000000-0000-0000-0000-000000000000
out=$(wrap_ssh "--clone -s '/vmfs/volumes/ds1/vm/vm.vmdk -t $TGT")
expect_contains "unbalanced quote over SSH" "$(field "$out" message)" '"code": "UsageError"'
# Shell syntax in an SSH request is data, never code.
rm -f "$T/pwned"
out=$(wrap_ssh "--clone -s /vmfs/volumes/ds1/\$(touch $T/pwned)\`touch $T/pwned\`.vmdk;touch $T/pwned -t $TGT")
[ ! -e "$T/pwned" ] && pass || fail "SSH request text was executed"
expect_contains "shell syntax stays literal" "$(field "$out" message)" '"code": "InvalidPath"'

echo "esxi_wrapper: $CHECKS checks, $FAILS failed"
[ "$FAILS" -eq 0 ]
