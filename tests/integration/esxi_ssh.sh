#!/usr/bin/env bash
# The SSH clone method against real OpenSSH: the restricted authorized_keys line printed by
# `hoist esxi ssh-key-line` is installed for a loopback sshd; requests built by
# `hoist esxi ssh-request` (datastore and paths with spaces and quotes) reach the wrapper on the
# "datastore" whole, the connectivity probe answers SSH_OK, and anything else the key tries
# (another command, a PTY, port forwarding) gets nothing more than the wrapper.
# The wrapper runs under BusyBox sh with fake vmkfstools/vsish; /vmfs lives under a temp root.
set -euo pipefail

SRC_DIR=${HOIST_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
HOIST=${HOIST_BIN_DIR:+$HOIST_BIN_DIR/hoist}
[ -n "$HOIST" ] && [ -x "$HOIST" ] || { echo "FAIL: hoist binary not found (set HOIST_BIN_DIR)"; exit 1; }
BUSYBOX=$(command -v busybox) || { echo "FAIL: busybox is not installed"; exit 1; }
[ -x /usr/sbin/sshd ] && command -v ssh >/dev/null && command -v ssh-keygen >/dev/null ||
  { echo "FAIL: openssh-server/openssh-client are not installed (scripts/setup.sh installs them)"; exit 1; }

T=$(mktemp -d "${TMPDIR:-/tmp}/esxi_ssh.XXXXXX")
chmod 755 "$T"
ROOT=$T/root
BIN=$T/bin
SSHD_PID=
cleanup() {
  [ -n "$SSHD_PID" ] && kill "$SSHD_PID" 2>/dev/null || true
  touch "$ROOT/fake/release" 2>/dev/null || true
  rm -rf "$T"
}
trap cleanup EXIT

mkdir -p "$BIN" "$ROOT/tmp" "$ROOT/fake/vsish" /run/sshd
for applet in sh cat chmod cut dd echo find grep head kill logger ls mkdir mv od printf rm rmdir sed setsid \
  sleep tail touch tr wc; do
  ln -s "$BUSYBOX" "$BIN/$applet"
done
for f in vmkfstools vsish; do
  cp "$SRC_DIR/tests/integration/esxi_fakes/$f" "$BIN/$f"
  chmod +x "$BIN/$f"
done
echo ok >"$ROOT/fake/mode"

DS="ssd ds 1"
mkdir -p "$ROOT/vmfs/volumes/$DS"
cp "$SRC_DIR/esxi/vmkfstools-wrapper/vmkfstools_wrapper.sh" "$ROOT/vmfs/volumes/$DS/secure-vmkfstools-wrapper"

ssh-keygen -q -t ed25519 -N '' -C hoist-test -f "$T/client_key"
ssh-keygen -q -t ed25519 -N '' -f "$T/host_key"
# The line an administrator pastes on ESXi; here /vmfs/volumes is under the test root.
"$HOIST" esxi ssh-key-line --public-key "$T/client_key.pub" | sed "s|/vmfs/volumes/|$ROOT/vmfs/volumes/|" \
  >"$T/authorized_keys"

# A free loopback port: bind to port 0 through bash's /dev/tcp is not possible, so let sshd try a
# few random high ports.
start_sshd() {
  local port try
  for try in 1 2 3 4 5 6 7 8 9 10; do
    port=$((20000 + RANDOM % 40000))
    cat >"$T/sshd_config" <<EOF
Port $port
ListenAddress 127.0.0.1
HostKey $T/host_key
AuthorizedKeysFile $T/authorized_keys
PidFile $T/sshd.pid
UsePAM no
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
AllowTcpForwarding yes
PermitTTY yes
SetEnv PATH=$BIN HOIST_WRAPPER_ROOT_FOR_TEST=$ROOT
EOF
    /usr/sbin/sshd -D -e -f "$T/sshd_config" 2>"$T/sshd.log" &
    SSHD_PID=$!
    local i
    for i in $(seq 1 100); do
      if grep -q "Server listening" "$T/sshd.log" 2>/dev/null; then
        PORT=$port
        return 0
      fi
      kill -0 "$SSHD_PID" 2>/dev/null || break
      sleep 0.05
    done
    kill "$SSHD_PID" 2>/dev/null || true
    wait "$SSHD_PID" 2>/dev/null || true
    SSHD_PID=
  done
  echo "FAIL: sshd did not start: $(cat "$T/sshd.log")"
  exit 1
}
start_sshd

remote() { # <request> [ssh options...]
  local req=$1
  shift
  ssh -p "$PORT" -i "$T/client_key" -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
    -o LogLevel=ERROR "$@" "root@127.0.0.1" "$req" 2>>"$T/ssh.err"
}
# stderr of one request (the login shell's start-up files may add their own noise).
remote_err() {
  : >"$T/ssh.err"
  remote "$@" >/dev/null || true
  cat "$T/ssh.err"
}

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
decode() { printf '%s' "$1" | "$HOIST" esxi decode || true; }

expect_eq "probe" "$(remote 'DS=;CMD=status test-task-id')" "SSH_OK"
expect_eq "any other command is only a probe" "$(remote 'cat /etc/passwd')" "SSH_OK"
expect_contains "version" "$(remote "$("$HOIST" esxi ssh-request --datastore "$DS" version)")" '"implementation": "hoist"'

TGT=/vmfs/devices/disks/naa.624a9370aabbccdd
SRC="/vmfs/volumes/$DS/it's a \"vm\"/disk \$(id) 1.vmdk"
out=$(remote "$("$HOIST" esxi ssh-request --datastore "$DS" clone "$SRC" "$TGT")")
id=$(decode "$out" | sed -n 's/.*"taskId":"\([0-9a-f-]*\)".*/\1/p')
expect_eq "clone started" "${#id}" 36
for i in $(seq 1 200); do
  [ -f "$ROOT/tmp/vmkfstools-wrapper-$id/exitcode" ] && break
  sleep 0.05
done
expect_eq "vmkfstools got the path whole" "$(sed -n 2p "$ROOT/fake/vmkfstools.args")" "$SRC"
d=$(decode "$(remote "$("$HOIST" esxi ssh-request --datastore "$DS" task-get "$id")")")
expect_contains "task-get over ssh" "$d" '"exitCode":0'
expect_contains "task-get over ssh" "$d" '"progress":100'
out=$(remote "$("$HOIST" esxi ssh-request --datastore "$DS" task-clean "$id")")
expect_contains "task-clean over ssh" "$out" '"cancelled": false'
expect_eq "task directory removed" "$(ls "$ROOT/tmp")" ""

# A Forklift-style request (unquoted) with spaces still works with hoist's wrapper.
out=$(remote "DS=$DS;CMD=--clone -s /vmfs/volumes/$DS/vm/disk 1.vmdk -t $TGT")
id=$(decode "$out" | sed -n 's/.*"taskId":"\([0-9a-f-]*\)".*/\1/p')
for i in $(seq 1 200); do
  [ -f "$ROOT/tmp/vmkfstools-wrapper-$id/exitcode" ] && break
  sleep 0.05
done
expect_eq "unquoted request path" "$(sed -n 2p "$ROOT/fake/vmkfstools.args")" "/vmfs/volumes/$DS/vm/disk 1.vmdk"
remote "DS=$DS;CMD=--task-clean -i $id" >/dev/null

# What an administrator pins: the host keys the server offers, with ssh-keygen's fingerprints.
keys=$("$HOIST" esxi ssh-host-key --address 127.0.0.1 --port "$PORT")
expect_contains "host key fingerprint" "$keys" "$(ssh-keygen -lf "$T/host_key.pub" | cut -d' ' -f2)"
expect_contains "host key line" "$keys" "$(cut -d' ' -f1,2 "$T/host_key.pub")"

# The key cannot reach anything else.
expect_contains "datastore traversal refused" "$(remote_err 'DS=..;CMD=--version')" "invalid datastore name"
expect_contains "no wrapper on that datastore" "$(remote_err 'DS=nope;CMD=--version')" "nope/secure-vmkfstools-wrapper"
expect_eq "no PTY" "$(remote_err 'DS=;CMD=x' -tt | tr -d '\r' | grep -c 'PTY allocation request failed' || true)" 1
set +e
timeout 10 ssh -p "$PORT" -i "$T/client_key" -o BatchMode=yes -o StrictHostKeyChecking=no \
  -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ExitOnForwardFailure=yes -N -R "0:127.0.0.1:1" \
  root@127.0.0.1 2>"$T/fwd.err"
set -e
expect_contains "no port forwarding" "$(cat "$T/fwd.err")" "forward"

echo "esxi_ssh: $CHECKS checks, $FAILS failed"
[ "$FAILS" -eq 0 ]
