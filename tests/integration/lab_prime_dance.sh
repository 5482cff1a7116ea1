#!/usr/bin/env bash
# The volume populator's "prime PVC" dance, done by hand with real kubectl against `hoist lab up`:
# PVC a is provisioned and bound to PV X; PVC b (with a dataSourceRef, so no provisioner touches it)
# waits; patching X.spec.claimRef to b makes b Bound to X and a Lost; deleting a leaves X (and its
# data) intact and bound to b.
set -euo pipefail
HOIST=${HOIST_BIN_DIR:?set HOIST_BIN_DIR to the directory holding hoist}/hoist
command -v kubectl >/dev/null || { echo "kubectl is required (scripts/setup.sh installs it)"; exit 1; }
DIR=$(mktemp -d "${TMPDIR:-/tmp}/hoist-prime-XXXXXX")
cleanup() {
  "$HOIST" lab down --dir "$DIR" >/dev/null 2>&1 || true
  rm -rf "$DIR"
}
trap cleanup EXIT

"$HOIST" lab up --dir "$DIR" --detach --log-level warn >/dev/null
export KUBECONFIG=$DIR/kubeconfig
k() { kubectl --request-timeout=10s "$@"; }

# wait_for WANT CMD...: polls CMD until its output is WANT (30 s).
wait_for() {
  local want=$1 got=""
  shift
  local deadline=$((SECONDS + 30))
  while :; do
    got=$("$@" 2>/dev/null || true)
    [ "$got" = "$want" ] && return 0
    if [ $SECONDS -ge $deadline ]; then
      echo "FAIL: '$*' gave '$got', want '$want'" >&2
      k get pvc,pv -o wide >&2 || true
      exit 1
    fi
    sleep 0.2
  done
}
expect() {  # expect WANT GOT WHAT
  if [ "$1" != "$2" ]; then
    echo "FAIL: $3: got '$2', want '$1'" >&2
    exit 1
  fi
  echo "ok: $3"
}

k apply -f - >/dev/null <<'EOF'
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: lab-file
provisioner: lab.hoist.io/file
reclaimPolicy: Delete
volumeBindingMode: Immediate
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: a
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: lab-file
  resources:
    requests:
      storage: 4Mi
EOF
wait_for Bound k get pvc a -o 'jsonpath={.status.phase}'
X=$(k get pvc a -o 'jsonpath={.spec.volumeName}')
A_UID=$(k get pvc a -o 'jsonpath={.metadata.uid}')
expect "$A_UID" "$(k get pv "$X" -o 'jsonpath={.spec.claimRef.uid}')" "PV $X is bound to a"
expect yes "$(k get pvc a -o 'jsonpath={.metadata.annotations.pv\.kubernetes\.io/bind-completed}')" "a has bind-completed"
DATA=$(k get pv "$X" -o 'jsonpath={.metadata.annotations.lab\.hoist\.io/data-path}')
echo "populated by the prime claim" > "$DATA/disk.img"

k apply -f - >/dev/null <<'EOF'
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: b
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: lab-file
  dataSourceRef:
    apiGroup: forklift.konveyor.io
    kind: VSphereXcopyVolumePopulator
    name: disk-0
  resources:
    requests:
      storage: 4Mi
EOF
wait_for lab.hoist.io/file k get pvc b -o 'jsonpath={.metadata.annotations.volume\.kubernetes\.io/storage-provisioner}'
expect Pending "$(k get pvc b -o 'jsonpath={.status.phase}')" "b waits for its populator"
expect 1 "$(k get pv -o name | wc -l | tr -d ' ')" "no volume was provisioned for b"

# The rebind, as the populator controller sends it: a strategic-merge patch of claimRef.
B_UID=$(k get pvc b -o 'jsonpath={.metadata.uid}')
B_RV=$(k get pvc b -o 'jsonpath={.metadata.resourceVersion}')
k patch pv "$X" -p "{\"metadata\":{\"annotations\":{\"forklift.konveyor.io/populated-from\":\"default/disk-0\"}},\"spec\":{\"claimRef\":{\"namespace\":\"default\",\"name\":\"b\",\"uid\":\"$B_UID\",\"resourceVersion\":\"$B_RV\"}}}" >/dev/null
wait_for Bound k get pvc b -o 'jsonpath={.status.phase}'
expect "$X" "$(k get pvc b -o 'jsonpath={.spec.volumeName}')" "b is bound to $X"
wait_for Lost k get pvc a -o 'jsonpath={.status.phase}'
expect "$X" "$(k get pvc a -o 'jsonpath={.spec.volumeName}')" "a keeps spec.volumeName"
expect PersistentVolumeClaim "$(k get pv "$X" -o 'jsonpath={.spec.claimRef.kind}')" "claimRef kind kept by the merge"
k get pvc a --no-headers | grep -q Lost || { echo "FAIL: kubectl get pvc does not show a Lost" >&2; exit 1; }
k get events --field-selector involvedObject.name=a -o 'jsonpath={.items[*].reason}' | grep -q ClaimMisbound \
  || { echo "FAIL: no ClaimMisbound event on a" >&2; exit 1; }

k delete pvc a --timeout=30s >/dev/null
expect "" "$(k get pvc a --ignore-not-found -o name)" "a is gone"
sleep 1  # give the binder a few passes to (wrongly) release or delete X
expect Bound "$(k get pv "$X" -o 'jsonpath={.status.phase}')" "$X is still Bound"
expect b "$(k get pv "$X" -o 'jsonpath={.spec.claimRef.name}')" "$X still belongs to b"
expect Bound "$(k get pvc b -o 'jsonpath={.status.phase}')" "b is still Bound"
expect "populated by the prime claim" "$(cat "$DATA/disk.img")" "the data is intact"

# And the ordinary end of life: deleting b (reclaimPolicy Delete) removes X and its data.
k delete pvc b --timeout=30s >/dev/null
wait_for "" k get pv "$X" --ignore-not-found -o name
[ ! -e "$DATA" ] || { echo "FAIL: $DATA still exists after the PV was deleted" >&2; exit 1; }
echo "ok: deleting b deleted $X and its data"
echo PASS
