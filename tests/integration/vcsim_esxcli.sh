#!/usr/bin/env bash
# The lab's vCenter (hoist-vcsim: govmomi's simulator plus remote esxcli and a SAN model), driven the
# way a vSphere client drives vCenter: SOAP envelopes posted with curl, responses checked as XML text.
# Covers login, RetrieveManagedMethodExecuter, FetchCLIInfo, esxcli storage/system/software commands,
# device discovery after an array maps a LUN (SAN directory), Disk.MaxLUN, detach, and a
# `vmkfstools clone` through hoist's vmkfstools-wrapper (busybox sh) whose bytes must land on the LUN.
set -euo pipefail

BIN=${HOIST_BIN_DIR:?HOIST_BIN_DIR must name the directory holding hoist-vcsim}/hoist-vcsim
SRC=${HOIST_SOURCE_DIR:?HOIST_SOURCE_DIR must name the source tree}
[ -x "$BIN" ] || { echo "FAIL: $BIN is missing (needs golang-go and golang-github-vmware-govmomi-dev; run scripts/setup.sh)"; exit 1; }
command -v busybox >/dev/null || { echo "FAIL: busybox is missing (run scripts/setup.sh)"; exit 1; }

T=$(mktemp -d "${TMPDIR:-/tmp}/vcsim-esxcli.XXXXXX")
VCSIM_PID=
TLS_PID=
cleanup() {
  for p in $VCSIM_PID $TLS_PID; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$T"
}
trap cleanup EXIT

failures=0
pass() { echo "ok   - $1"; }
fail() { echo "FAIL - $1"; failures=$((failures + 1)); }
check() { # <description> <command...>
  local what=$1; shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}
has() { grep -q -- "$2" <<<"$1"; }   # <text> <pattern>
hasnt() { ! grep -q -- "$2" <<<"$1"; }

# --- the world: two hosts, a VMFS datastore on an array LUN, a VM with a data disk ---------------------
DS_NAA=naa.600a098038314d2d4c244a6f6b6b6f31
IQN1=iqn.1998-01.com.vmware:esx1-0001
WWPN2=20000025b500000f
mkdir -p "$T/ds1" "$T/san" "$T/luns"
head -c 3000000 /dev/urandom >"$T/data.bin"
# A zero hole in the middle of the source: the copy must keep it zero on a target that had data there.
dd if=/dev/zero of="$T/data.bin" bs=4096 seek=200 count=100 conv=notrunc status=none
cat >"$T/world.json" <<EOF
{
  "sanDir": "$T/san",
  "env": {"HOIST_FAKE_VMKFSTOOLS_DELAY": "0.2"},
  "hosts": [
    {"name": "esx1.lab", "iqn": "$IQN1"},
    {"name": "esx2.lab", "fc": [{"wwnn": "20000025b5000001", "wwpn": "$WWPN2"}], "vibs": []}
  ],
  "datastores": [
    {"name": "san-ds1", "naa": "$DS_NAA", "dir": "$T/ds1", "array": "ontap1", "vendor": "NETAPP", "model": "LUN C-Mode"}
  ],
  "vms": [
    {"name": "vm1", "host": "esx1.lab", "disks": [
      {"capacityBytes": 4194304, "data": "$T/data.bin"},
      {"capacityBytes": 1048576, "snapshots": 1}
    ]}
  ]
}
EOF

"$BIN" --world "$T/world.json" --state-dir "$T/state" --url-file "$T/inventory.json" \
  --user admin --password secret >"$T/stdout" 2>"$T/stderr" &
VCSIM_PID=$!
for _ in $(seq 1 600); do
  [ -s "$T/inventory.json" ] && break
  kill -0 "$VCSIM_PID" 2>/dev/null || { cat "$T/stderr"; echo "FAIL: hoist-vcsim exited"; exit 1; }
  sleep 0.05
done
[ -s "$T/inventory.json" ] || { cat "$T/stderr"; echo "FAIL: hoist-vcsim did not start"; exit 1; }
INV=$(cat "$T/inventory.json")
check "the first stdout line is the inventory, URL first" has "$(head -n 1 "$T/stdout")" '^{"url":"http://127.0.0.1:[0-9]*/sdk"'
URL=$(sed -n 's/.*"url":"\([^"]*\)".*/\1/p' <<<"$INV")
json_field() { sed -n "s/.*\"$1\":{[^}]*\"moref\":\"\([^\"]*\)\".*/\1/p" <<<"$INV"; }
H1=$(json_field esx1.lab)
H2=$(json_field esx2.lab)
VM1=$(json_field vm1)
check "inventory names hosts and the VM" test -n "$H1" -a -n "$H2" -a -n "$VM1"
ROOT1="$T/state/hosts/esx1.lab"

# --- SOAP helpers ----------------------------------------------------------------------------------------
soap() { # <body xml> -> the raw SOAP response
  curl -sS -b "$T/cookies" -c "$T/cookies" -H 'Content-Type: text/xml; charset=utf-8' \
    -H 'SOAPAction: "urn:vim25/8.0"' --data-binary @- "$URL" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>$1</soapenv:Body></soapenv:Envelope>
EOF
}
unescape() { sed -e 's/&lt;/</g' -e 's/&gt;/>/g' -e 's/&#34;/"/g' -e 's/&quot;/"/g' -e "s/&#39;/'/g" -e 's/&#xA;/\n/g' -e 's/&amp;/\&/g'; }
# The inner document of ExecuteSoap's returnval (response or fault), unescaped once.
inner() { sed -n 's:.*<returnval>\(.*\)</returnval>.*:\1:p' | unescape; }
xarg() { # <name> <value> -> an ExecuteSoap argument; the value is a small XML document, escaped once
  local v=$2
  v=${v//&/&amp;}; v=${v//</&lt;}; v=${v//>/&gt;}
  printf '<argument><name>%s</name><val>&lt;%s&gt;%s&lt;/%s&gt;</val></argument>' "$1" "$1" "$v" "$1"
}
EXEC1=
esxcli() { # <executer> <namespace> <command> [<name> <value>]... -> inner document
  local ex=$1 ns=$2 cmd=$3 args=""
  shift 3
  while [ $# -ge 2 ]; do args="$args$(xarg "$1" "$2")"; shift 2; done
  [ $# -eq 0 ] || { echo "esxcli: odd argument list" >&2; return 1; }
  soap "<ExecuteSoap xmlns=\"urn:vim25\"><_this type=\"ReflectManagedMethodExecuter\">$ex</_this><moid>ha-cli-handler-${ns//./-}</moid><version>urn:vim25/5.0</version><method>vim.EsxCLI.$ns.$cmd</method>$args</ExecuteSoap>" | inner
}
cliinfo() { # <executer> <namespace>
  soap "<ExecuteSoap xmlns=\"urn:vim25\"><_this type=\"ReflectManagedMethodExecuter\">$1</_this><moid>ha-dynamic-type-manager-local-cli-cliinfo</moid><version>urn:vim25/5.0</version><method>vim.CLIInfo.FetchCLIInfo</method>$(xarg typeName "vim.EsxCLI.$2")</ExecuteSoap>" | inner
}
retrieve() { # <type> <moref> <property path>
  soap "<RetrievePropertiesEx xmlns=\"urn:vim25\"><_this type=\"PropertyCollector\">propertyCollector</_this><specSet><propSet><type>$1</type><pathSet>$3</pathSet></propSet><objectSet><obj type=\"$1\">$2</obj></objectSet></specSet><options></options></RetrievePropertiesEx>"
}
value() { sed -n "s:.*<$2>\([^<]*\)</$2>.*:\1:p" <<<"$1" | head -n 1; }

# --- sessions ----------------------------------------------------------------------------------------------
r=$(soap "<RetrieveManagedMethodExecuter xmlns=\"urn:vim25\"><_this type=\"HostSystem\">$H1</_this></RetrieveManagedMethodExecuter>")
check "esxcli objects need a session" has "$r" NotAuthenticated
r=$(soap '<Login xmlns="urn:vim25"><_this type="SessionManager">SessionManager</_this><userName>admin</userName><password>wrong</password></Login>')
check "a wrong password is refused" has "$r" InvalidLogin
r=$(soap '<Login xmlns="urn:vim25"><_this type="SessionManager">SessionManager</_this><userName>admin</userName><password>secret</password></Login>')
check "login" has "$r" LoginResponse

# --- executer and type manager -----------------------------------------------------------------------------
r=$(soap "<RetrieveManagedMethodExecuter xmlns=\"urn:vim25\"><_this type=\"HostSystem\">$H1</_this></RetrieveManagedMethodExecuter>")
EXEC1=$(sed -n 's:.*<returnval type="ReflectManagedMethodExecuter">\([^<]*\)</returnval>.*:\1:p' <<<"$r")
check "RetrieveManagedMethodExecuter returns a ReflectManagedMethodExecuter" test -n "$EXEC1"
r=$(soap "<RetrieveManagedMethodExecuter xmlns=\"urn:vim25\"><_this type=\"HostSystem\">$H2</_this></RetrieveManagedMethodExecuter>")
EXEC2=$(sed -n 's:.*<returnval type="ReflectManagedMethodExecuter">\([^<]*\)</returnval>.*:\1:p' <<<"$r")
check "each host has its own executer" test -n "$EXEC2" -a "$EXEC2" != "$EXEC1"
r=$(soap "<RetrieveDynamicTypeManager xmlns=\"urn:vim25\"><_this type=\"HostSystem\">$H1</_this></RetrieveDynamicTypeManager>")
DTM=$(sed -n 's:.*<returnval type="InternalDynamicTypeManager">\([^<]*\)</returnval>.*:\1:p' <<<"$r")
check "RetrieveDynamicTypeManager" test -n "$DTM"
r=$(soap "<DynamicTypeMgrQueryMoInstances xmlns=\"urn:vim25\"><_this type=\"InternalDynamicTypeManager\">$DTM</_this></DynamicTypeMgrQueryMoInstances>")
check "the type manager lists the esxcli handlers" has "$r" '<id>ha-cli-handler-storage-core-device</id><moType>vim.EsxCLI.storage.core.device</moType>'
check "the type manager lists the wrapper's namespace" has "$r" '<id>ha-cli-handler-vmkfstools</id>'

# --- CLIInfo -----------------------------------------------------------------------------------------------
r=$(cliinfo "$EXEC1" storage.core.device)
check "FetchCLIInfo describes device list with -d/--device" has "$r" '<name>device</name><displayName>device</displayName>.*<aliases>-d</aliases><aliases>--device</aliases><flag>false</flag>'
check "FetchCLIInfo names the namespace" has "$r" '<name>vim.EsxCLI.storage.core.device</name>'
r=$(cliinfo "$EXEC1" vmkfstools)
check "the plugin's parameter names drop dashes" has "$r" '<name>sourcevmdk</name><displayName>source-vmdk</displayName>.*<aliases>-s</aliases>'
r=$(cliinfo "$EXEC2" vmkfstools)
check "a host without the VIB has no vmkfstools namespace" has "$r" '<fault><faultMsg>The object or item referred to could not be found.</faultMsg>'

# --- storage model as the vSphere API shows it -------------------------------------------------------------
r=$(retrieve HostSystem "$H1" datastore)
DSREF=$(sed -n 's:.*<ManagedObjectReference type="Datastore"[^>]*>\([^<]*\)</ManagedObjectReference>.*:\1:p' <<<"$r")
check "the host mounts the datastore" test -n "$DSREF"
r=$(retrieve Datastore "$DSREF" info)
check "the datastore is VMFS on the array LUN" has "$r" "VmfsDatastoreInfo.*<extent><diskName>$DS_NAA</diskName>"
r=$(retrieve HostSystem "$H1" config.storageDevice)
check "the host has a software iSCSI adapter with its IQN" has "$r" "HostInternetScsiHba.*<iScsiName>$IQN1</iScsiName>"
check "the datastore LUN is a SCSI disk of the host" has "$r" "<canonicalName>$DS_NAA</canonicalName>"
check "its path is active on the iSCSI adapter" has "$r" '<pathState>active</pathState><state>active</state><isWorkingPath>true</isWorkingPath><adapter>key-vim.host.InternetScsiHba-vmhba65</adapter>'
r=$(retrieve HostSystem "$H2" config.storageDevice)
check "the FC host has an FC adapter" has "$r" 'HostFibreChannelHba'
r=$(retrieve VirtualMachine "$VM1" config.hardware.device)
check "the VM disk is a FlatVer2 backing on the datastore" has "$r" 'VirtualDiskFlatVer2BackingInfo"><fileName>\[san-ds1\] vm1/vm1.vmdk</fileName>'
check "the snapshot disk chains to its base" has "$r" '<fileName>\[san-ds1\] vm1/vm1_1-000001.vmdk</fileName>.*<parent><fileName>\[san-ds1\] vm1/vm1_1.vmdk</fileName>'
VM1_UUID=$(sed -n 's/.*"vm1":{[^}]*"uuid":"\([^"]*\)".*/\1/p' <<<"$INV")
r=$(soap "<FindByUuid xmlns=\"urn:vim25\"><_this type=\"SearchIndex\">SearchIndex</_this><uuid>$VM1_UUID</uuid><vmSearch>true</vmSearch></FindByUuid>")
check "SearchIndex.FindByUuid finds the VM (vcsim walks every object, hoist's too)" has "$r" "<returnval type=\"VirtualMachine\">$VM1</returnval>"
check "the VMDK descriptor and flat file exist" test -f "$T/ds1/vm1/vm1.vmdk" -a -f "$T/ds1/vm1/vm1-flat.vmdk"

# --- esxcli: adapters, devices, settings, version, VIBs ----------------------------------------------------
r=$(esxcli "$EXEC1" storage.core.adapter list)
check "adapter list is an ArrayOfDataObject" has "$r" 'xsi:type="ArrayOfDataObject"'
check "adapter list shows the iSCSI adapter" has "$r" "<HBAName>vmhba65</HBAName><Driver>iscsi_vmk</Driver><LinkState>online</LinkState><UID>$IQN1</UID>"
r=$(esxcli "$EXEC2" storage.core.adapter list)
check "adapter list shows the FC port as fc.<wwnn>:<wwpn>" has "$r" "<UID>fc.20000025b5000001:$WWPN2</UID>"
r=$(esxcli "$EXEC1" storage.core.device list device "$DS_NAA")
check "device list -d shows the datastore LUN on" has "$r" "<Device>$DS_NAA</Device>.*<Status>on</Status>"
r=$(esxcli "$EXEC1" storage.core.device list device naa.6000000000000000000000000000dead)
check "an unknown device is a CLI fault" has "$r" '<faultMsg>EsxCLI.CLIFault.summary</faultMsg>'
check "the fault detail says which device" has "$r" '<errMsg>Unable to find device with name naa.6000000000000000000000000000dead</errMsg>'
r=$(esxcli "$EXEC1" storage.core.device list bogus x)
check "an unknown parameter is refused" has "$r" '<errMsg>Invalid option bogus</errMsg>'
r=$(esxcli "$EXEC1" system.settings.advanced list option /DataMover/HardwareAcceleratedMove)
check "HardwareAcceleratedMove is 1" has "$r" '<Path>/DataMover/HardwareAcceleratedMove</Path><Type>integer</Type><IntValue>1</IntValue>'
r=$(esxcli "$EXEC1" system.settings.advanced list option /DataMover/MaxHWTransferSize)
check "MaxHWTransferSize defaults to 4096" has "$r" '<IntValue>4096</IntValue>'
r=$(esxcli "$EXEC1" system.version get)
check "system version get is a single structure" has "$r" 'xsi:type="VimEsxCLIsystemversiongetVersionGet"><Product>VMware ESXi</Product>'
r=$(esxcli "$EXEC1" software.vib get vibname vmkfstools-wrapper)
WRAPPER_VERSION=$(sed -n 's/^SCRIPT_VERSION="\(.*\)"/\1/p' "$SRC/esxi/vmkfstools-wrapper/vmkfstools_wrapper.sh")
check "software vib get shows the wrapper VIB" has "$r" "<Name>vmkfstools-wrapper</Name><Version>$WRAPPER_VERSION</Version>"
r=$(esxcli "$EXEC2" software.vib get vibname vmkfstools-wrapper)
check "a missing VIB is a NoMatchError" has "$r" 'NoMatchError'
r=$(esxcli "$EXEC1" storage.core.device.vaai.status get device "$DS_NAA")
check "VAAI clone status is supported on array LUNs" has "$r" '<CloneStatus>supported</CloneStatus>'

# --- an array maps a LUN to the host: visible after a rescan -----------------------------------------------
LUN_NAA=naa.600a0980383030303030303030303031
truncate -s 8M "$T/luns/lun1.img"
head -c 8388608 /dev/urandom >"$T/luns/lun1.img"   # stale data: the clone must overwrite all of it
mkdir -p "$T/san/$IQN1"
printf '{"backing": "%s", "array": "ontap1", "vendor": "NETAPP", "model": "LUN C-Mode", "lunId": 3}\n' "$T/luns/lun1.img" >"$T/san/$IQN1/$LUN_NAA"
r=$(esxcli "$EXEC1" storage.core.device list device "$LUN_NAA")
check "a mapped LUN is invisible before a rescan" has "$r" '<errMsg>Unable to find device'
r=$(esxcli "$EXEC1" storage.core.adapter rescan type add all 1)
check "adapter rescan -t add -a 1 returns true" has "$r" 'xsi:type="xsd:boolean">true</obj>'
r=$(esxcli "$EXEC1" storage.core.device list device "$LUN_NAA")
check "after the rescan the LUN is on" has "$r" "<Device>$LUN_NAA</Device>.*<Status>on</Status>"
r=$(esxcli "$EXEC1" storage.core.path list device "$LUN_NAA")
check "its path is active on vmhba65, LUN 3" has "$r" "<RuntimeName>vmhba65:C0:T0:L3</RuntimeName>.*<State>active</State><Transport>iscsi</Transport>"
r=$(retrieve HostSystem "$H1" config.storageDevice)
check "the vSphere API shows the new LUN too" has "$r" "<canonicalName>$LUN_NAA</canonicalName>"
check "the device node exists on the host" test -e "$ROOT1/vmfs/devices/disks/$LUN_NAA"

# Disk.MaxLUN: a LUN id at or above it stays invisible until the setting is raised.
HIGH_NAA=naa.600a0980383030303030303030303032
truncate -s 1M "$T/luns/lun2.img"
printf '{"backing": "%s", "array": "ontap1", "lunId": 1500}\n' "$T/luns/lun2.img" >"$T/san/$IQN1/$HIGH_NAA"
esxcli "$EXEC1" storage.core.adapter rescan all 1 >/dev/null
r=$(esxcli "$EXEC1" storage.core.device list device "$HIGH_NAA")
check "LUN id 1500 is invisible with Disk.MaxLUN 1024" has "$r" '<errMsg>Unable to find device'
r=$(esxcli "$EXEC1" system.settings.advanced set option /Disk/MaxLUN intvalue 99999)
check "an out-of-range MaxLUN is refused" has "$r" '<errMsg>Invalid value 99999'
esxcli "$EXEC1" system.settings.advanced set option /Disk/MaxLUN intvalue 2048 >/dev/null
esxcli "$EXEC1" storage.core.adapter rescan adapter vmhba65 >/dev/null
r=$(esxcli "$EXEC1" storage.core.device list device "$HIGH_NAA")
check "after raising Disk.MaxLUN the LUN appears" has "$r" '<Status>on</Status>'

# FC: entries are matched by WWPN in any common spelling.
FC_NAA=naa.624a93700000000000000000000000f1
truncate -s 1M "$T/luns/lun3.img"
mkdir -p "$T/san/20:00:00:25:B5:00:00:0F"
ln -s "$T/luns/lun3.img" "$T/san/20:00:00:25:B5:00:00:0F/$FC_NAA"
esxcli "$EXEC2" storage.core.adapter rescan all true >/dev/null
r=$(esxcli "$EXEC2" storage.core.path list device "$FC_NAA")
check "an FC mapping (symlink entry, colon WWPN) shows a path on vmhba2" has "$r" '<Adapter>vmhba2</Adapter>.*<State>active</State><Transport>fc</Transport>'

# --- vmkfstools clone through the wrapper --------------------------------------------------------------------
r=$(esxcli "$EXEC1" vmkfstools version)
check "vmkfstools version runs the wrapper" has "$r" "<message>{\"version\": \"$WRAPPER_VERSION\""
r=$(esxcli "$EXEC1" vmkfstools clone sourcevmdk /vmfs/volumes/san-ds1/vm1/vm1.vmdk targetlun "/vmfs/devices/disks/$LUN_NAA")
check "clone starts a task" has "$r" '<status>0</status>'
TASK=$(sed -n 's/.*"taskId": "\([0-9a-f-]*\)".*/\1/p' <<<"$r")
check "clone returns a task id" test -n "$TASK"
r=$(esxcli "$EXEC1" vmkfstools taskGet id "$TASK")
check "right after the start the task is still running" has "$r" '"exitCode": "".*"running": true'
exit_code=
for _ in $(seq 1 600); do
  r=$(esxcli "$EXEC1" vmkfstools taskGet id "$TASK")
  exit_code=$(sed -n 's/.*"exitCode": "\([0-9]*\)".*/\1/p' <<<"$r")
  [ -n "$exit_code" ] && break
  sleep 0.05
done
check "the clone task ends with exit code 0" test "$exit_code" = 0
check "taskGet reports the last progress line" has "$r" '"lastLine": "Clone: 100% done."'
check "taskGet reports XCOPY use (same array)" has "$r" '"xcopyUsed": true'
check "the LUN holds the source disk's bytes" cmp -n 3000000 "$T/data.bin" "$T/luns/lun1.img"
check "the rest of the LUN (beyond the data) reads zero" cmp -n 1194304 -i 3000000:0 "$T/luns/lun1.img" /dev/zero
TASKDIR="$ROOT1/tmp/vmkfstools-wrapper-$TASK"
check "the task directory lives under the host root" test -d "$TASKDIR"
RDM=$(cat "$TASKDIR/rdmfile")
check "the RDM descriptor was written next to the source" test -f "$ROOT1$RDM"
r=$(esxcli "$EXEC1" vmkfstools taskClean id "$TASK")
check "taskClean succeeds" has "$r" '<status>0</status>'
check "taskClean removed the task directory" test ! -e "$TASKDIR"
check "taskClean removed the RDM files" test -z "$(ls "$T/ds1/vm1" | grep -e -xcopy- || true)"
r=$(esxcli "$EXEC1" vmkfstools taskGet id "$TASK")
check "a cleaned task is gone" has "$r" '<status>1</status>'

# Same clone with hardware acceleration off: the copy still happens, without XCOPY.
esxcli "$EXEC1" system.settings.advanced set option /DataMover/HardwareAcceleratedMove intvalue 0 >/dev/null
r=$(esxcli "$EXEC1" vmkfstools clone sourcevmdk /vmfs/volumes/san-ds1/vm1/vm1.vmdk targetlun "/vmfs/devices/disks/$LUN_NAA")
TASK=$(sed -n 's/.*"taskId": "\([0-9a-f-]*\)".*/\1/p' <<<"$r")
for _ in $(seq 1 600); do
  r=$(esxcli "$EXEC1" vmkfstools taskGet id "$TASK")
  grep -q '"exitCode": "[0-9]' <<<"$r" && break
  sleep 0.05
done
check "with HardwareAcceleratedMove=0 the clone is not offloaded" has "$r" '"exitCode": "0".*"xcopyUsed": false'
esxcli "$EXEC1" vmkfstools taskClean id "$TASK" >/dev/null

# A clone onto a device the host does not see fails in the task, as vmkfstools does.
r=$(esxcli "$EXEC1" vmkfstools clone sourcevmdk /vmfs/volumes/san-ds1/vm1/vm1.vmdk targetlun /vmfs/devices/disks/naa.600a0980383030303030303030309999)
TASK=$(sed -n 's/.*"taskId": "\([0-9a-f-]*\)".*/\1/p' <<<"$r")
for _ in $(seq 1 600); do
  r=$(esxcli "$EXEC1" vmkfstools taskGet id "$TASK")
  grep -q '"exitCode": "[0-9]' <<<"$r" && break
  sleep 0.05
done
check "a clone onto an unknown device fails with vmkfstools' error" has "$r" '"exitCode": "1".*No such device'
esxcli "$EXEC1" vmkfstools taskClean id "$TASK" >/dev/null

# --- cleanup sequence: device off, detached remove, unmap, rescan delete -------------------------------------
r=$(esxcli "$EXEC1" storage.core.device set device "$LUN_NAA" state off)
check "device set --state off" has "$r" '>true</obj>'
r=$(esxcli "$EXEC1" storage.core.device list device "$LUN_NAA")
check "the device is off" has "$r" '<Status>off</Status>'
check "an off device has no device node" test ! -e "$ROOT1/vmfs/devices/disks/$LUN_NAA"
r=$(esxcli "$EXEC1" storage.core.device.detached list)
check "it is in the detached list" has "$r" "<DeviceUID>$LUN_NAA</DeviceUID><State>off</State>"
r=$(esxcli "$EXEC1" storage.core.device set device "$DS_NAA" state off)
check "the datastore's device cannot be detached" has "$r" 'EsxCLI.CLIFault.summary'
r=$(esxcli "$EXEC1" storage.core.device.detached remove device "$LUN_NAA")
check "detached remove" has "$r" '>true</obj>'
r=$(esxcli "$EXEC1" storage.core.device.detached remove device "$LUN_NAA")
check "removing it twice is a CLI fault" has "$r" 'not in the detached device list'
rm "$T/san/$IQN1/$LUN_NAA"
esxcli "$EXEC1" storage.core.adapter rescan type delete adapter vmhba65 >/dev/null
r=$(esxcli "$EXEC1" storage.core.device list device "$LUN_NAA")
check "after unmap and rescan the device is gone" has "$r" '<errMsg>Unable to find device'

# A LUN unmapped without detaching shows as dead until a delete rescan.
rm "$T/san/$IQN1/$HIGH_NAA"
r=$(esxcli "$EXEC1" storage.core.device list device "$HIGH_NAA")
check "an unmapped, attached device is dead timeout" has "$r" '<Status>dead timeout</Status>'
esxcli "$EXEC1" storage.core.adapter rescan all 1 type delete >/dev/null
r=$(esxcli "$EXEC1" storage.core.device list device "$HIGH_NAA")
check "a delete rescan removes it" has "$r" '<errMsg>Unable to find device'

# RescanAllHba through the vSphere API follows the SAN too.
truncate -s 1M "$T/luns/lun4.img"
API_NAA=naa.600a0980383030303030303030303034
ln -s "$T/luns/lun4.img" "$T/san/$IQN1/$API_NAA"
SS=$(retrieve HostSystem "$H1" configManager.storageSystem | sed -n 's:.*type="HostStorageSystem">\([^<]*\)</val>.*:\1:p')
r=$(soap "<RescanAllHba xmlns=\"urn:vim25\"><_this type=\"HostStorageSystem\">$SS</_this></RescanAllHba>")
r=$(retrieve HostStorageSystem "$SS" storageDeviceInfo)
check "HostStorageSystem.RescanAllHba discovers mapped LUNs" has "$r" "<canonicalName>$API_NAA</canonicalName>"

# --- https with a certificate clients can verify ------------------------------------------------------------
"$BIN" --tls --state-dir "$T/tls-state" --url-file "$T/tls.json" >/dev/null 2>"$T/tls.log" &
TLS_PID=$!
for _ in $(seq 1 600); do [ -s "$T/tls.json" ] && break; sleep 0.05; done
TLS_URL=$(sed -n 's/.*"url":"\([^"]*\)".*/\1/p' "$T/tls.json")
check "--tls serves https" has "$TLS_URL" '^https://127.0.0.1:'
r=$(curl -sS --cacert "$T/tls-state/ca.pem" -H 'Content-Type: text/xml' --data-binary \
  '<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><RetrieveServiceContent xmlns="urn:vim25"><_this type="ServiceInstance">ServiceInstance</_this></RetrieveServiceContent></soapenv:Body></soapenv:Envelope>' \
  "$TLS_URL" 2>&1 || true)
check "its certificate verifies against ca.pem" has "$r" '<apiType>VirtualCenter</apiType>'
kill "$TLS_PID"; wait "$TLS_PID" 2>/dev/null || true
TLS_PID=

echo
if [ "$failures" -ne 0 ]; then
  echo "$failures check(s) failed; hoist-vcsim log:"
  tail -n 40 "$T/stderr"
  exit 1
fi
echo "all checks passed"
