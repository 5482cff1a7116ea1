#!/usr/bin/env bash
# Real kubectl against `hoist lab apiserver`: every command's output is asserted, so a difference from
# what kubectl shows against a real cluster fails the test with what was expected and what was seen.
set -uo pipefail

HOIST="${HOIST_BIN_DIR:?HOIST_BIN_DIR must name the directory holding hoist}/hoist"
KUBECTL="${KUBECTL:-kubectl}"
command -v "$KUBECTL" >/dev/null || { echo "FAIL: kubectl not found (install it with scripts/setup.sh)"; exit 1; }

WORK="$(mktemp -d "${TMPDIR:-/tmp}/kubectl_conformance.XXXXXX")"
SERVER_PID=""
WATCH_PID=""
cleanup() {
  [ -n "$WATCH_PID" ] && kill "$WATCH_PID" 2>/dev/null
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  if [ -f "$WORK/server.err" ]; then
    echo "--- server log (last lines) ---" >&2
    tail -n 20 "$WORK/server.err" >&2
  fi
  exit 1
}
step() { echo "--- $*"; }

# expect_eq DESCRIPTION EXPECTED ACTUAL
expect_eq() {
  if [ "$2" != "$3" ]; then
    fail "$1
expected: $(printf '%q' "$2")
actual:   $(printf '%q' "$3")"
  fi
}
# expect_match DESCRIPTION EXTENDED-REGEX TEXT
expect_match() {
  if ! grep -Eq -- "$2" <<<"$3"; then
    fail "$1
expected to match: $2
actual:
$3"
  fi
}
expect_no_match() {
  if grep -Eq -- "$2" <<<"$3"; then
    fail "$1
expected not to match: $2
actual:
$3"
  fi
}

"$HOIST" lab apiserver --dir "$WORK/srv" --port 0 >"$WORK/server.out" 2>"$WORK/server.err" &
SERVER_PID=$!
KC="$WORK/srv/kubeconfig"
for _ in $(seq 1 200); do
  [ -f "$KC" ] && break
  kill -0 "$SERVER_PID" 2>/dev/null || fail "hoist lab apiserver exited before it was ready"
  sleep 0.05
done
[ -f "$KC" ] || fail "no kubeconfig after 10 s"

k() { "$KUBECTL" --kubeconfig "$KC" --cache-dir "$WORK/cache" --request-timeout=20s "$@"; }
# Runs k and fails the test when kubectl fails; prints kubectl's stdout.
kk() {
  local out
  if ! out="$(k "$@" 2>&1)"; then
    fail "kubectl $* failed:
$out"
  fi
  printf '%s' "$out"
}

step "version and discovery"
out="$(kk version)"
expect_match "server version" '^Server Version: (v1\.32\.|version\.Info\{Major:"1", Minor:"32")' "$out"
out="$(kk api-resources)"
expect_match "api-resources header" '^NAME +SHORTNAMES +APIVERSION +NAMESPACED +KIND$' "$out"
for row in 'persistentvolumeclaims +pvc +v1 +true +PersistentVolumeClaim' \
           'persistentvolumes +pv +v1 +false +PersistentVolume' \
           'pods +po +v1 +true +Pod' 'namespaces +ns +v1 +false +Namespace' \
           'configmaps +cm +v1 +true +ConfigMap' 'secrets +v1 +true +Secret' \
           'storageclasses +sc +storage\.k8s\.io/v1 +false +StorageClass' \
           'leases +coordination\.k8s\.io/v1 +true +Lease' \
           'customresourcedefinitions +crd,crds +apiextensions\.k8s\.io/v1 +false +CustomResourceDefinition'; do
  expect_match "api-resources row" "^$row\$" "$out"
done

step "authentication"
out="$("$KUBECTL" --kubeconfig "$KC" --cache-dir "$WORK/cache" --token wrong get ns 2>&1)" && fail "wrong token accepted"
expect_match "401 with a wrong token" 'You must be logged in to the server \(Unauthorized\)' "$out"
server="$(grep -o 'https://[^ ]*' "$KC" | head -n1)"
out="$(curl -sk "$server/api/v1/namespaces")"
expect_eq "401 Status without a token" 'Failure Unauthorized 401' \
  "$(python3 -c 'import json,sys; s=json.load(sys.stdin); print(s["status"], s["reason"], s["code"])' <<<"$out")"

step "create -f"
cat >"$WORK/objects.yaml" <<'EOF'
apiVersion: v1
kind: Namespace
metadata:
  name: demo
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: data
  namespace: demo
  labels: {app: db, tier: gold}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: PersistentVolume
metadata:
  name: pv1
spec:
  capacity: {storage: 2Gi}
  accessModes: [ReadWriteOnce]
  hostPath: {path: /tmp/pv1}
---
apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: demo
  labels: {app: web}
spec:
  containers:
  - name: main
    image: busybox:1.36
    env: [{name: A, value: "1"}]
  - name: side
    image: busybox:1.36
---
apiVersion: v1
kind: Secret
metadata: {name: creds, namespace: demo}
stringData: {user: admin}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg, namespace: demo, labels: {app: db}}
data: {a: "1"}
EOF
# No --validate=false: the server's OpenAPI v3 index tells kubectl >= 1.28 that it validates fields
# itself. kubectl 1.27 asks OpenAPI v2 (protobuf), which the lab does not serve.
VALIDATE=()
minor="$("$KUBECTL" version --client -o json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["clientVersion"]["minor"].rstrip("+"))')"
[ "${minor:-99}" -lt 28 ] && VALIDATE=(--validate=false)
out="$(kk create "${VALIDATE[@]}" -f "$WORK/objects.yaml")"
expect_eq "create -f output" "namespace/demo created
persistentvolumeclaim/data created
persistentvolume/pv1 created
pod/web created
secret/creds created
configmap/cfg created" "$out"
out="$(k create --validate=false -f "$WORK/objects.yaml" 2>&1)" && fail "second create succeeded"
expect_match "AlreadyExists" 'Error from server \(AlreadyExists\): error when creating .*: namespaces "demo" already exists' "$out"

step "apply -f"
out="$(kk apply "${VALIDATE[@]}" -f "$WORK/objects.yaml")"
expect_match "apply of existing objects" '^persistentvolumeclaim/data configured$' "$out"
sed 's/a: "1"/a: "2"/' "$WORK/objects.yaml" >"$WORK/objects2.yaml"
out="$(kk apply --validate=false -f "$WORK/objects2.yaml")"
expect_match "apply changes configmap" '^configmap/cfg configured$' "$out"
expect_eq "applied value" "2" "$(kk get cm cfg -n demo -o jsonpath='{.data.a}')"
out="$(kk apply --validate=false -f "$WORK/objects2.yaml")"
expect_match "re-apply is unchanged" '^configmap/cfg unchanged$' "$out"

step "get: tables, json, yaml"
out="$(kk get pvc -n demo)"
expect_match "pvc table header" '^NAME +STATUS +VOLUME +CAPACITY +ACCESS MODES +STORAGECLASS +VOLUMEATTRIBUTESCLASS +AGE$' "$out"
expect_match "pvc row" '^data +Pending +<unset> +[0-9]+s$' "$out"
out="$(kk get pv)"
expect_match "pv table" '^pv1 +2Gi +RWO +Retain +Pending +<unset> +[0-9]+s$' "$out"
out="$(kk get pods -n demo)"
expect_match "pod table" '^web +0/2 +Pending +0 +[0-9]+s$' "$out"
out="$(kk get ns)"
expect_match "namespace table" '^demo +Active +[0-9]+s$' "$out"
expect_match "default namespace exists" '^default +Active' "$out"
out="$(kk get secret creds -n demo -o json)"
expect_eq "secret stringData stored base64 in data" "YWRtaW4= Opaque" \
  "$(python3 -c 'import json,sys; s=json.load(sys.stdin); print(s["data"]["user"], s["type"])' <<<"$out")"
out="$(kk get pvc data -n demo -o yaml)"
expect_match "yaml kind" '^kind: PersistentVolumeClaim$' "$out"
expect_match "yaml uid" '^  uid: [0-9a-f-]{36}$' "$out"
expect_match "yaml resourceVersion" '^  resourceVersion: "[0-9]+"$' "$out"
expect_match "yaml creationTimestamp" '^  creationTimestamp: "20[0-9]{2}-[0-9]{2}-[0-9]{2}T' "$out"
out="$(kk get pvc data -n demo -o jsonpath='{.status.phase} {.spec.volumeMode} {.metadata.generation}')"
expect_eq "defaults" "Pending Filesystem 1" "$out"
out="$(k get pvc missing -n demo 2>&1)" && fail "get of a missing object succeeded"
expect_eq "NotFound" 'Error from server (NotFound): persistentvolumeclaims "missing" not found' "$out"

step "selectors"
expect_eq "label selector" "configmap/cfg persistentvolumeclaim/data" \
  "$(kk get pvc,cm -n demo -l app=db -o name | sort | tr '\n' ' ' | sed 's/ $//')"
expect_eq "set-based label selector" "persistentvolumeclaim/data" \
  "$(kk get pvc -A -l 'tier in (gold,silver),app' -o name)"
expect_eq "label selector with no match" "" "$(kk get pvc -n demo -l 'app!=db' -o name)"
expect_eq "field selector metadata.name" "pod/web" "$(kk get pods -A --field-selector metadata.name=web -o name)"
expect_eq "field selector status.phase" "pod/web" \
  "$(kk get pods -n demo --field-selector status.phase=Pending,spec.nodeName= -o name)"
expect_eq "field selector excludes" "" "$(kk get pods -n demo --field-selector status.phase=Running -o name)"
expect_eq "secret type field selector" "secret/creds" "$(kk get secrets -n demo --field-selector type=Opaque -o name)"

step "pagination"
for i in $(seq 1 7); do
  printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: page-%s, namespace: demo}\n---\n' "$i"
done >"$WORK/pages.yaml"
kk create --validate=false -f "$WORK/pages.yaml" >/dev/null
out="$(kk get cm -n demo --chunk-size=2 -o name -v=6 2>&1)"
expect_eq "paginated list returns every object" "8" "$(grep -c '^configmap/' <<<"$out")"
expect_match "paginated list used continue" 'continue=' "$out"

step "watch (background)"
k get cm -n demo -w --output-watch-events >"$WORK/watch.out" 2>&1 &
WATCH_PID=$!
for _ in $(seq 1 100); do grep -q 'ADDED' "$WORK/watch.out" 2>/dev/null && break; sleep 0.05; done

step "patch: strategic, merge, json"
out="$(kk patch pod web -n demo -p '{"spec":{"containers":[{"name":"side","image":"busybox:1.37"}]}}')"
expect_eq "strategic patch output" "pod/web patched" "$out"
expect_eq "strategic patch merged containers by name" "main=busybox:1.36 side=busybox:1.37 " \
  "$(kk get pod web -n demo -o jsonpath='{range .spec.containers[*]}{.name}={.image} {end}')"
expect_eq "env kept" "A=1" "$(kk get pod web -n demo -o jsonpath='{.spec.containers[0].env[0].name}={.spec.containers[0].env[0].value}')"
kk patch pod web -n demo -p '{"spec":{"containers":[{"name":"main","env":[{"name":"B","value":"2"}]}]}}' >/dev/null
expect_eq "strategic patch merged env by name" "A B " \
  "$(kk get pod web -n demo -o jsonpath='{range .spec.containers[0].env[*]}{.name} {end}')"
kk patch pod web -n demo -p '{"spec":{"containers":[{"name":"main","env":[{"name":"A","$patch":"delete"}]}]}}' >/dev/null
expect_eq "strategic patch \$patch: delete" "B " \
  "$(kk get pod web -n demo -o jsonpath='{range .spec.containers[0].env[*]}{.name} {end}')"
out="$(kk patch cm cfg -n demo --type merge -p '{"data":{"b":"x"},"metadata":{"labels":{"tier":"t1"}}}')"
expect_eq "merge patch output" "configmap/cfg patched" "$out"
expect_eq "merge patch result" "2 x t1" "$(kk get cm cfg -n demo -o jsonpath='{.data.a} {.data.b} {.metadata.labels.tier}')"
out="$(kk patch cm cfg -n demo --type json -p '[{"op":"remove","path":"/data/b"},{"op":"add","path":"/data/c","value":"3"}]')"
expect_eq "json patch output" "configmap/cfg patched" "$out"
expect_eq "json patch result" '{"a":"2","c":"3"}' "$(kk get cm cfg -n demo -o jsonpath='{.data}')"
out="$(k patch cm cfg -n demo --type json -p '[{"op":"test","path":"/data/a","value":"nope"}]' 2>&1)" &&
  fail "failing json patch test op succeeded"
expect_match "failing json patch is rejected" '^The request is invalid: the server rejected our request' "$out"

step "replace and 409 conflict"
kk get cm cfg -n demo -o json >"$WORK/cfg.json"
python3 - "$WORK/cfg.json" <<'EOF'
import json, sys
p = sys.argv[1]
o = json.load(open(p))
o["data"]["replaced"] = "yes"
json.dump(o, open(p, "w"))
EOF
out="$(kk replace --validate=false -f "$WORK/cfg.json")"
expect_eq "replace output" "configmap/cfg replaced" "$out"
expect_eq "replaced content" "yes" "$(kk get cm cfg -n demo -o jsonpath='{.data.replaced}')"
out="$(k replace --validate=false -f "$WORK/cfg.json" 2>&1)" && fail "replace with a stale resourceVersion succeeded"
expect_eq "409 on stale resourceVersion" \
  'Error from server (Conflict): error when replacing "'"$WORK"'/cfg.json": Operation cannot be fulfilled on configmaps "cfg": the object has been modified; please apply your changes to the latest version and try again' \
  "$out"

step "delete with a finalizer"
cat >"$WORK/held.yaml" <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata:
  name: held
  namespace: demo
  finalizers: [example.com/hold]
data: {k: v}
EOF
kk create --validate=false -f "$WORK/held.yaml" >/dev/null
out="$(kk delete cm held -n demo --wait=false)"
expect_eq "delete output" 'configmap "held" deleted' "$out"
expect_match "object stays with deletionTimestamp" '^20[0-9-]+T[0-9:]+Z example\.com/hold$' \
  "$(kk get cm held -n demo -o jsonpath='{.metadata.deletionTimestamp} {.metadata.finalizers[0]}')"
kk patch cm held -n demo --type json -p '[{"op":"remove","path":"/metadata/finalizers"}]' >/dev/null
out="$(k get cm held -n demo 2>&1)" && fail "object still present after its finalizer was removed"
expect_eq "gone after the finalizer" 'Error from server (NotFound): configmaps "held" not found' "$out"

step "watch saw ADDED, MODIFIED, DELETED"
for _ in $(seq 1 100); do grep -q '^DELETED .*held' "$WORK/watch.out" && break; sleep 0.05; done
kill "$WATCH_PID" 2>/dev/null
wait "$WATCH_PID" 2>/dev/null
WATCH_PID=""
out="$(cat "$WORK/watch.out")"
expect_match "watch header" '^EVENT +NAME +DATA +AGE$' "$out"
expect_match "watch initial ADDED" '^ADDED +cfg +' "$out"
expect_match "watch MODIFIED" '^MODIFIED +cfg +' "$out"
expect_match "watch ADDED of a new object" '^ADDED +held +1 +' "$out"
expect_match "watch DELETED" '^DELETED +held +1 +' "$out"

step "CRD and custom resources"
cat >"$WORK/crd.yaml" <<'EOF'
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wg]}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
    additionalPrinterColumns:
    - {name: Size, type: integer, jsonPath: .spec.size}
    - {name: Ready, type: boolean, jsonPath: .status.ready}
    - {name: State, type: string, jsonPath: '.status.conditions[?(@.status=="True")].type'}
    - {name: Age, type: date, jsonPath: .metadata.creationTimestamp}
EOF
expect_eq "CRD create" "customresourcedefinition.apiextensions.k8s.io/widgets.example.com created" \
  "$(kk apply --validate=false -f "$WORK/crd.yaml")"
expect_eq "kubectl wait established" "customresourcedefinition.apiextensions.k8s.io/widgets.example.com condition met" \
  "$(kk wait --for condition=established --timeout=20s crd/widgets.example.com)"
out="$(kk api-resources --api-group=example.com)"
expect_match "CRD in discovery" '^widgets +wg +example\.com/v1 +true +Widget$' "$out"
cat >"$WORK/widget.yaml" <<'EOF'
apiVersion: example.com/v1
kind: Widget
metadata: {name: w1, namespace: demo}
spec: {size: 3}
EOF
expect_eq "CR create" "widget.example.com/w1 created" "$(kk create --validate=false -f "$WORK/widget.yaml")"
out="$(kk get wg -n demo)"
expect_match "CR printer columns" '^NAME +SIZE +READY +STATE +AGE$' "$out"
expect_match "CR row" '^w1 +3 +[0-9]+s$' "$out"
expect_eq "status subresource patch" "widget.example.com/w1 patched" \
  "$(kk patch widget w1 -n demo --subresource=status --type merge -p '{"status":{"ready":true}}')"
expect_eq "status set" "true 3" "$(kk get widget w1 -n demo -o jsonpath='{.status.ready} {.spec.size}')"
kk patch widget w1 -n demo --subresource=status --type merge \
  -p '{"status":{"conditions":[{"type":"Pending","status":"False"},{"type":"Running","status":"True"}]}}' >/dev/null
expect_match "CR column with a JSONPath filter" '^w1 +3 +true +Running +[0-9]+s$' "$(kk get wg -n demo --no-headers)"
kk patch widget w1 -n demo --type merge -p '{"spec":{"size":4},"status":{"ready":false}}' >/dev/null
expect_eq "main patch ignores status" "true 4 2" \
  "$(kk get widget w1 -n demo -o jsonpath='{.status.ready} {.spec.size} {.metadata.generation}')"
out="$(k patch widget w1 -n demo -p '{"spec":{"size":5}}' 2>&1)" && fail "strategic merge patch on a CR succeeded"
expect_match "strategic patch unsupported for CRs" 'application/strategic-merge-patch\+json is not supported' "$out"

step "validation"
out="$(printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: Bad_Name, namespace: demo}\n' |
  k create --validate=false -f - 2>&1)" && fail "invalid name accepted"
expect_match "422 Invalid for a bad name" '^The ConfigMap "Bad_Name" is invalid: metadata\.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain' "$out"

step "namespace deletion removes its contents"
expect_eq "namespace delete" 'namespace "demo" deleted' "$(kk delete ns demo --timeout=20s)"
out="$(k get ns demo 2>&1)" && fail "namespace still present"
expect_eq "namespace gone" 'Error from server (NotFound): namespaces "demo" not found' "$out"
expect_eq "contents gone" "" "$(kk get pvc,cm,pods,secrets -A -o name)"

echo "PASS: kubectl conformance ($("$KUBECTL" version --client 2>/dev/null | head -n1))"
