package main

import (
	"encoding/json"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// hostState is hoist's model of one ESXi host behind vcsim's HostSystem: its SCSI adapters, the
// devices it sees, the detached-device configuration, advanced settings, installed VIBs, and a
// directory ("root") that stands for the host's file system for the wrapper and the fakes:
//
//	<root>/vmfs/volumes/<datastore>      -> the datastore directory
//	<root>/vmfs/devices/disks/<naa>      -> the LUN's backing file (devices that are on and reachable)
//	<root>/vsish/storage/scsifw/devices/<naa>/stats   VAAI counters read by the fake vsish
//	<root>/tmp                           task directories of the wrapper
type hostState struct {
	mu       sync.Mutex
	lab      *lab
	name     string
	index    int
	spec     worldHost
	ref      types.ManagedObjectReference
	obj      *simulator.HostSystem
	storage  *storageSystem
	root     string
	adapters []*adapter
	base     types.HostStorageDeviceInfo
	devices  map[string]*device
	detached map[string]bool
	settings map[string]*advancedSetting
	order    []string
	vibs     []worldVib
	version  string
	nextLun  int
}

type adapter struct {
	name   string // vmhbaN
	kind   string // "iscsi" or "fc"
	key    string
	uid    string // iqn.… or fc.<wwnn>:<wwpn>
	match  string // normalized initiator used to match SAN directories
	driver string
	model  string
}

type device struct {
	naa       string
	backing   string
	array     string
	vendor    string
	model     string
	sizeBytes int64
	lunID     int
	paths     []*adapter
	static    bool // a datastore LUN from the world file: always present
}

// cloneOffload: whether ESXi's data mover can send XCOPY to this device. PowerFlex volumes reached
// through the SDC (the scini driver) have no VAAI clone support, so clones onto them are host copies.
func (d *device) cloneOffload() bool {
	for _, a := range d.paths {
		if a.driver == "scini" {
			return false
		}
	}
	return true
}

type advancedSetting struct {
	path, desc         string
	value, def, lo, hi int64
}

func newHostState(l *lab, spec worldHost, ref types.ManagedObjectReference, index int) (*hostState, error) {
	h := &hostState{
		lab:      l,
		name:     spec.Name,
		index:    index,
		spec:     spec,
		ref:      ref,
		obj:      simulator.Map.Get(ref).(*simulator.HostSystem),
		root:     filepath.Join(l.w.StateDir, "hosts", spec.Name),
		devices:  map[string]*device{},
		detached: map[string]bool{},
		version:  spec.Version,
	}
	if h.version == "" {
		h.version = "8.0.2"
	}
	for _, d := range []string{"vmfs/volumes", "vmfs/devices/disks", "vsish/storage/scsifw/devices", "tmp"} {
		if err := os.MkdirAll(filepath.Join(h.root, d), 0o755); err != nil {
			return nil, err
		}
	}

	// Adapters: FC ports are vmhba2, vmhba3, …; the software iSCSI adapter is vmhba65 (the template
	// already has a block adapter named vmhba64).
	for i, p := range spec.FC {
		wwnn, wwpn := normalizeWWN(p.WWNN), normalizeWWN(p.WWPN)
		name := fmt.Sprintf("vmhba%d", 2+i)
		h.adapters = append(h.adapters, &adapter{
			name: name, kind: "fc", key: "key-vim.host.FibreChannelHba-" + name,
			uid: "fc." + wwnn + ":" + wwpn, match: wwpn, driver: "lpfc",
			model: "Emulex LightPulse LPe32000 PCIe Fibre Channel Adapter",
		})
	}
	if spec.SDC != nil {
		h.adapters = append(h.adapters, sdcAdapter(spec.SDC))
	}
	iqn := spec.IQN
	if iqn == "" && len(spec.FC) == 0 {
		iqn = fmt.Sprintf("iqn.1998-01.com.vmware:%s-%08x", strings.Split(spec.Name, ".")[0], hash32(spec.Name))
	}
	if iqn != "" {
		h.adapters = append(h.adapters, &adapter{
			name: "vmhba65", kind: "iscsi", key: "key-vim.host.InternetScsiHba-vmhba65",
			uid: strings.ToLower(iqn), match: strings.ToLower(iqn), driver: "iscsi_vmk",
			model: "iSCSI Software Adapter",
		})
	}

	h.settings = map[string]*advancedSetting{}
	for _, s := range []advancedSetting{
		{path: "/Disk/MaxLUN", value: 1024, lo: 1, hi: 16384, desc: "Maximum LUN id that is scanned on a target"},
		{path: "/DataMover/HardwareAcceleratedMove", value: 1, lo: 0, hi: 1, desc: "Enable hardware accelerated VMFS data movement (requires compliant hardware)"},
		{path: "/DataMover/HardwareAcceleratedInit", value: 1, lo: 0, hi: 1, desc: "Enable hardware accelerated VMFS data initialization (requires compliant hardware)"},
		{path: "/DataMover/MaxHWTransferSize", value: 4096, lo: 4, hi: 16384, desc: "Maximum transfer size in KB for HW data movement"},
		{path: "/VMFS3/HardwareAcceleratedLocking", value: 1, lo: 0, hi: 1, desc: "Enable hardware accelerated VMFS locking (requires compliant hardware)"},
	} {
		s := s
		s.def = s.value
		h.settings[s.path] = &s
		h.order = append(h.order, s.path)
	}
	for p, v := range spec.Settings {
		s := h.settings[p]
		if s == nil {
			return nil, fmt.Errorf("world: host %s: unknown advanced setting %q", spec.Name, p)
		}
		s.value = v
	}

	h.vibs = spec.Vibs
	if h.vibs == nil {
		h.vibs = []worldVib{{Name: "esx-base", Version: "8.0.2-0.0.22380479", Vendor: "VMware", AcceptanceLevel: "VMwareCertified"}}
		if l.w.Wrapper != "" {
			h.vibs = append(h.vibs, worldVib{Name: "vmkfstools-wrapper", Version: wrapperVersion(l.w.Wrapper), Vendor: "REDHAT", AcceptanceLevel: "CommunitySupported"})
		}
	}

	// The HostStorageSystem is replaced by a wrapper (by value, so that the PropertyCollector still
	// finds the embedded mo type) whose rescans follow the SAN directory.
	orig := simulator.Map.Get(*h.obj.ConfigManager.StorageSystem).(*simulator.HostStorageSystem)
	h.storage = &storageSystem{HostStorageSystem: *orig, host: h}
	simulator.Map.Put(h.storage)

	// The template's HBAs and local disks stay; FC and iSCSI adapters are hoist's.
	simulator.Map.WithLock(h.obj, func() {
		tmpl := h.obj.Config.StorageDevice
		h.base = *tmpl
		h.base.HostBusAdapter = nil
		for _, a := range tmpl.HostBusAdapter {
			switch a.(type) {
			case *types.HostFibreChannelHba, *types.HostInternetScsiHba:
			default:
				h.base.HostBusAdapter = append(h.base.HostBusAdapter, a)
			}
		}
		h.base.SoftwareInternetScsiEnabled = iqn != ""
		h.setManagementIPLocked()
	})
	h.publishLocked()
	h.syncAdvancedOptions()
	if err := h.registerEsxcli(); err != nil {
		return nil, err
	}
	h.registerKernelModules()
	return h, nil
}

// setManagementIPLocked gives every vmknic of config.virtualNicManagerInfo the host's management address
// (copied: the vnic specs come from vcsim's shared template data).
func (h *hostState) setManagementIPLocked() {
	vi := h.obj.Config.VirtualNicManagerInfo
	if vi == nil {
		return
	}
	ip := h.spec.ManagementIP
	if ip == "" {
		ip = "127.0.0.1"
	}
	c := *vi
	c.NetConfig = append([]types.VirtualNicManagerNetConfig(nil), vi.NetConfig...)
	for i := range c.NetConfig {
		c.NetConfig[i].CandidateVnic = append([]types.HostVirtualNic(nil), c.NetConfig[i].CandidateVnic...)
		for j := range c.NetConfig[i].CandidateVnic {
			if old := c.NetConfig[i].CandidateVnic[j].Spec.Ip; old != nil {
				n := *old
				n.IpAddress = ip
				c.NetConfig[i].CandidateVnic[j].Spec.Ip = &n
			}
		}
	}
	h.obj.Config.VirtualNicManagerInfo = &c
}

// wrapperVersion reads SCRIPT_VERSION="x.y.z" from the wrapper script.
func wrapperVersion(path string) string {
	data, err := os.ReadFile(path)
	if err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			line = strings.TrimSpace(line)
			if strings.HasPrefix(line, "SCRIPT_VERSION=") {
				return strings.Trim(strings.TrimPrefix(line, "SCRIPT_VERSION="), `"'`)
			}
		}
	}
	return "0.0.0"
}

func (h *hostState) setting(p string) int64 {
	if s := h.settings[p]; s != nil {
		return s.value
	}
	return 0
}

// syncAdvancedOptions mirrors the esxcli advanced settings into the host's OptionManager
// (configManager.advancedOption), where the vSphere API shows them as "Disk.MaxLUN" etc.
func (h *hostState) syncAdvancedOptions() {
	ref := h.obj.ConfigManager.AdvancedOption
	if ref == nil {
		return
	}
	om, ok := simulator.Map.Get(*ref).(*simulator.OptionManager)
	if !ok {
		return
	}
	simulator.Map.WithLock(om, func() {
		for _, p := range h.order {
			s := h.settings[p]
			key := strings.ReplaceAll(strings.TrimPrefix(s.path, "/"), "/", ".")
			found := false
			for _, o := range om.Setting {
				if ov := o.GetOptionValue(); ov.Key == key {
					ov.Value = s.value
					found = true
				}
			}
			if !found {
				om.Setting = append(om.Setting, &types.OptionValue{Key: key, Value: s.value})
			}
		}
	})
}

// addDatastoreDevice registers the world's datastore LUN on this host.
func (h *hostState) addDatastoreDevice(spec worldDatastore) error {
	var paths []*adapter
	want := spec.Transport
	if want == "" {
		want = "iscsi"
		if h.adapterOfKind("iscsi") == nil {
			want = "fc"
		}
	}
	for _, a := range h.adapters {
		if a.kind == want {
			paths = append(paths, a)
		}
	}
	if len(paths) == 0 {
		return fmt.Errorf("world: datastore %s uses %s but host %s has no %s adapter", spec.Name, want, h.name, want)
	}
	size := spec.CapacityBytes
	if size <= 0 {
		size = 1 << 40
	}
	d := &device{
		naa: spec.NAA, array: spec.Array, vendor: spec.Vendor, model: spec.Model,
		sizeBytes: size, lunID: spec.LunID, paths: paths, static: true,
	}
	h.fillDefaults(d)
	h.devices[d.naa] = d
	h.resetStats(d.naa)
	if err := os.Symlink(spec.Dir, filepath.Join(h.root, "vmfs/volumes", spec.Name)); err != nil && !os.IsExist(err) {
		return err
	}
	h.publishLocked()
	return nil
}

func (h *hostState) adapterOfKind(kind string) *adapter {
	for _, a := range h.adapters {
		if a.kind == kind {
			return a
		}
	}
	return nil
}

func (h *hostState) adapterByName(name string) *adapter {
	for _, a := range h.adapters {
		if a.name == name {
			return a
		}
	}
	return nil
}

func (h *hostState) fillDefaults(d *device) {
	if d.vendor == "" {
		d.vendor = "HOIST"
	}
	if d.model == "" {
		d.model = "LAB LUN"
	}
}

// sanKey turns a SAN directory name into the form adapters match on: an iSCSI name as is (lower
// case); for FC the WWPN as 16 hex digits, given as "fc.<wwnn>:<wwpn>", "<wwpn>" or "21:00:…".
func sanKey(name string) string {
	k := strings.ToLower(name)
	if strings.HasPrefix(k, "iqn.") || strings.HasPrefix(k, "eui.") || strings.HasPrefix(k, "naa.") {
		return k
	}
	if isSDCGUID(k) {
		return sdcKey(k)
	}
	k = strings.TrimPrefix(k, "fc.")
	if parts := strings.SplitN(k, ":", 2); len(parts) == 2 && len(parts[0]) == 16 {
		k = parts[1]
	}
	return normalizeWWN(k)
}

// sanEntry is one LUN an array simulator mapped to one of this host's initiators.
type sanEntry struct {
	Backing   string `json:"backing"`
	Array     string `json:"array"`
	Vendor    string `json:"vendor"`
	Model     string `json:"model"`
	LunID     *int   `json:"lunId"`
	SizeBytes int64  `json:"sizeBytes"`
	naa       string
	adapters  []*adapter
}

// scanSAN reads <san-dir>/<initiator>/<naa> entries for this host's initiators (README.md).
func (h *hostState) scanSAN() map[string]*sanEntry {
	out := map[string]*sanEntry{}
	dir := h.lab.w.SanDir
	if dir == "" {
		return out
	}
	groups, err := os.ReadDir(dir)
	if err != nil {
		return out
	}
	for _, g := range groups {
		if !g.IsDir() {
			continue
		}
		var a *adapter
		key := sanKey(g.Name())
		for _, cand := range h.adapters {
			if key == cand.match {
				a = cand
			}
		}
		if a == nil {
			continue
		}
		entries, err := os.ReadDir(filepath.Join(dir, g.Name()))
		if err != nil {
			continue
		}
		for _, e := range entries {
			naa := strings.ToLower(e.Name())
			if !strings.HasPrefix(naa, "naa.") && !strings.HasPrefix(naa, "eui.") || strings.Contains(naa, ".tmp") {
				continue
			}
			p := filepath.Join(dir, g.Name(), e.Name())
			se := &sanEntry{naa: naa}
			st, err := os.Lstat(p)
			if err != nil {
				continue
			}
			if st.Mode()&os.ModeSymlink != 0 {
				target, err := os.Readlink(p)
				if err != nil {
					continue
				}
				if !filepath.IsAbs(target) {
					target = filepath.Join(filepath.Dir(p), target)
				}
				se.Backing = target
			} else {
				data, err := os.ReadFile(p)
				if err != nil || json.Unmarshal(data, se) != nil {
					log.Printf("host %s: ignoring unreadable SAN entry %s", h.name, p)
					continue
				}
			}
			if se.SizeBytes <= 0 {
				if st, err := os.Stat(se.Backing); err == nil {
					se.SizeBytes = st.Size()
				}
			}
			if prev := out[naa]; prev != nil {
				prev.adapters = append(prev.adapters, a)
				continue
			}
			se.adapters = []*adapter{a}
			out[naa] = se
		}
	}
	return out
}

// rescanLocked follows `esxcli storage core adapter rescan -t <kind>`: "add" (and "update") adds
// devices newly mapped to the host, "delete" removes devices whose LUN is no longer mapped, "all"
// does both. A LUN whose id is at or above /Disk/MaxLUN stays invisible, as on ESXi.
func (h *hostState) rescanLocked(kind, adapterName string) {
	san := h.scanSAN()
	onAdapter := func(as []*adapter) bool {
		if adapterName == "" {
			return true
		}
		for _, a := range as {
			if a.name == adapterName {
				return true
			}
		}
		return false
	}
	if kind == "add" || kind == "all" || kind == "update" {
		maxLun := h.setting("/Disk/MaxLUN")
		for naa, e := range san {
			if !onAdapter(e.adapters) {
				continue
			}
			if d := h.devices[naa]; d != nil {
				if !d.static {
					d.paths = e.adapters
				}
				continue
			}
			if h.deviceHidden(naa) {
				continue
			}
			lun := h.nextLun
			if e.LunID != nil {
				lun = *e.LunID
			} else {
				h.nextLun++
			}
			if int64(lun) >= maxLun {
				continue
			}
			d := &device{
				naa: naa, backing: e.Backing, array: e.Array, vendor: e.Vendor, model: e.Model,
				sizeBytes: e.SizeBytes, lunID: lun, paths: e.adapters,
			}
			h.fillDefaults(d)
			h.devices[naa] = d
			h.resetStats(naa)
		}
	}
	if kind == "delete" || kind == "all" {
		for naa, d := range h.devices {
			if d.static || !onAdapter(d.paths) {
				continue
			}
			if san[naa] == nil {
				delete(h.devices, naa)
			}
		}
	}
	h.publishLocked()
}

// status is what `storage core device list` shows: "off" for a detached device, "dead timeout" for one
// whose LUN was unmapped without a rescan, "on" otherwise.
func (h *hostState) status(d *device, san map[string]*sanEntry) string {
	if h.detached[d.naa] {
		return "off"
	}
	if !d.static && san[d.naa] == nil {
		return "dead timeout"
	}
	return "on"
}

func (h *hostState) resetStats(naa string) {
	dir := filepath.Join(h.root, "vsish/storage/scsifw/devices", naa)
	_ = os.MkdirAll(dir, 0o755)
	var b strings.Builder
	for _, c := range []string{"cloneReadOps", "cloneWriteOps", "failedCloneOps", "atsOps", "failedAtsOps", "zeroOps", "failedZeroOps", "deleteOps", "failedDeleteOps"} {
		fmt.Fprintf(&b, "%s:0x%016x\n", c, 0)
	}
	_ = os.WriteFile(filepath.Join(dir, "stats"), []byte(b.String()), 0o644)
}

// publishLocked rebuilds config.storageDevice (HBAs, ScsiLun, multipathInfo) and the device links.
func (h *hostState) publishLocked() {
	san := h.scanSAN()
	info := h.base
	info.HostBusAdapter = append([]types.BaseHostHostBusAdapter(nil), h.base.HostBusAdapter...)
	info.ScsiLun = append([]types.BaseScsiLun(nil), h.base.ScsiLun...)
	mp := types.HostMultipathInfo{}
	if h.base.MultipathInfo != nil {
		mp.Lun = append(mp.Lun, h.base.MultipathInfo.Lun...)
	}
	for _, a := range h.adapters {
		hba := types.HostHostBusAdapter{Key: a.key, Device: a.name, Status: "online", Model: a.model, Driver: a.driver}
		if a.kind == "fc" {
			parts := strings.SplitN(strings.TrimPrefix(a.uid, "fc."), ":", 2)
			wwnn, _ := strconv.ParseUint(parts[0], 16, 64)
			wwpn, _ := strconv.ParseUint(parts[1], 16, 64)
			hba.Bus = 59
			hba.Pci = "0000:3b:00.0"
			info.HostBusAdapter = append(info.HostBusAdapter, &types.HostFibreChannelHba{
				HostHostBusAdapter: hba, NodeWorldWideName: int64(wwnn), PortWorldWideName: int64(wwpn),
				PortType: "fabric", Speed: 32,
			})
		} else if a.kind == "sdc" {
			info.HostBusAdapter = append(info.HostBusAdapter, &types.HostBlockHba{HostHostBusAdapter: hba})
		} else {
			info.HostBusAdapter = append(info.HostBusAdapter, &types.HostInternetScsiHba{
				HostHostBusAdapter: hba, IsSoftwareBased: true, IScsiName: a.uid,
				CanBeDisabled: types.NewBool(true), NetworkBindingSupport: "optional",
			})
		}
	}
	for _, naa := range sortedKeys(h.devices) {
		d := h.devices[naa]
		uuid := "0200" + fmt.Sprintf("%04x", d.lunID) + strings.TrimPrefix(strings.TrimPrefix(naa, "naa."), "eui.") + "4c554e"
		status := h.status(d, san)
		op := "ok"
		if status == "off" {
			op = "off"
		} else if status != "on" {
			op = "lostCommunication"
		}
		lunKey := "key-vim.host.ScsiDisk-" + uuid
		info.ScsiLun = append(info.ScsiLun, &types.HostScsiDisk{
			ScsiLun: types.ScsiLun{
				HostDevice:       types.HostDevice{DeviceName: "/vmfs/devices/disks/" + naa, DeviceType: "disk"},
				Key:              lunKey,
				Uuid:             uuid,
				Descriptor:       []types.ScsiLunDescriptor{{Quality: "highQuality", Id: naa}, {Quality: "mediumQuality", Id: "vml." + uuid}},
				CanonicalName:    naa,
				DisplayName:      fmt.Sprintf("%s Fibre Channel Disk (%s)", strings.TrimSpace(d.vendor), naa),
				LunType:          "disk",
				Vendor:           d.vendor,
				Model:            d.model,
				Revision:         "9800",
				ScsiLevel:        6,
				SerialNumber:     "unavailable",
				QueueDepth:       64,
				OperationalState: []string{op},
				Capabilities:     &types.ScsiLunCapabilities{UpdateDisplayNameSupported: true},
				VStorageSupport:  "vStorageSupported",
				ProtocolEndpoint: types.NewBool(false),
			},
			Capacity:              types.HostDiskDimensionsLba{BlockSize: 512, Block: d.sizeBytes / 512},
			DevicePath:            "/vmfs/devices/disks/" + naa,
			Ssd:                   types.NewBool(true),
			LocalDisk:             types.NewBool(false),
			EmulatedDIXDIFEnabled: types.NewBool(false),
			ScsiDiskType:          "native512",
		})
		if d.kind() == "iscsi" {
			lu := info.ScsiLun[len(info.ScsiLun)-1].(*types.HostScsiDisk)
			lu.DisplayName = fmt.Sprintf("%s iSCSI Disk (%s)", strings.TrimSpace(d.vendor), naa)
		} else if d.kind() == "sdc" {
			lu := info.ScsiLun[len(info.ScsiLun)-1].(*types.HostScsiDisk)
			lu.DisplayName = fmt.Sprintf("%s Disk (%s)", strings.TrimSpace(d.vendor), naa)
		}
		luKey := "key-vim.host.MultipathInfo.LogicalUnit-" + uuid
		lu := types.HostMultipathInfoLogicalUnit{
			Key: luKey, Id: uuid, Lun: lunKey,
			Policy:                 &types.HostMultipathInfoLogicalUnitPolicy{Policy: "VMW_PSP_RR"},
			StorageArrayTypePolicy: &types.HostMultipathInfoLogicalUnitStorageArrayTypePolicy{Policy: "VMW_SATP_ALUA"},
		}
		for _, a := range d.paths {
			pathState := "active"
			if status == "off" {
				pathState = "off"
			} else if status != "on" {
				pathState = "dead"
			}
			name := fmt.Sprintf("%s:C0:T0:L%d", a.name, d.lunID)
			p := types.HostMultipathInfoPath{
				Key: "key-vim.host.MultipathInfo.Path-" + name, Name: name,
				PathState: pathState, State: pathState, IsWorkingPath: types.NewBool(pathState == "active"),
				Adapter: a.key, Lun: luKey,
			}
			if a.kind == "fc" {
				p.Transport = &types.HostFibreChannelTargetTransport{PortWorldWideName: 0x5000000000000001, NodeWorldWideName: 0x5000000000000000}
			} else if a.kind == "sdc" {
				p.Transport = &types.HostBlockAdapterTargetTransport{}
			} else {
				p.Transport = &types.HostInternetScsiTargetTransport{IScsiName: d.targetIQN(), Address: []string{"127.0.0.1:3260"}}
			}
			lu.Path = append(lu.Path, p)
		}
		mp.Lun = append(mp.Lun, lu)
	}
	info.MultipathInfo = &mp
	simulator.Map.WithLock(h.obj, func() {
		h.obj.Config.StorageDevice = &info
	})
	h.storage.setInfo(&info)
	h.syncLinksLocked(san)
	h.writeLabFactsLocked()
}

// writeLabFactsLocked records, under <root>/lab/, what the ESXi data mover would know when a clone does
// not come through vcsim's esxcli (the SSH method runs the wrapper straight from sshd): which array each
// device and datastore is on, and the DataMover settings. The fake vmkfstools decides XCOPY from them.
func (h *hostState) writeLabFactsLocked() {
	dir := filepath.Join(h.root, "lab")
	write := func(p, v string) {
		_ = os.MkdirAll(filepath.Dir(p), 0o755)
		if old, err := os.ReadFile(p); err == nil && string(old) == v {
			return
		}
		tmp := p + ".tmp"
		if os.WriteFile(tmp, []byte(v), 0o644) == nil {
			_ = os.Rename(tmp, p)
		}
	}
	for naa, d := range h.devices {
		array := d.array
		if !d.cloneOffload() {
			array = "" // no XCOPY onto it
		}
		write(filepath.Join(dir, "device-array", naa), array)
	}
	for name, ds := range h.lab.datastores {
		write(filepath.Join(dir, "datastore-array", name), ds.spec.Array)
	}
	write(filepath.Join(dir, "hw-move"), strconv.FormatInt(h.setting("/DataMover/HardwareAcceleratedMove"), 10))
	write(filepath.Join(dir, "hw-transfer-kb"), strconv.FormatInt(h.setting("/DataMover/MaxHWTransferSize"), 10))
}

func (d *device) kind() string {
	if len(d.paths) > 0 {
		return d.paths[0].kind
	}
	return "iscsi"
}

func (d *device) targetIQN() string {
	a := d.array
	if a == "" {
		a = "lab"
	}
	return "iqn.2010-06.io.hoist.lab:" + strings.ToLower(a)
}

// syncLinksLocked makes <root>/vmfs/devices/disks hold exactly the devices that can be opened.
func (h *hostState) syncLinksLocked(san map[string]*sanEntry) {
	dir := filepath.Join(h.root, "vmfs/devices/disks")
	want := map[string]string{}
	for naa, d := range h.devices {
		if d.backing != "" && h.status(d, san) == "on" {
			want[naa] = d.backing
		}
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		target, err := os.Readlink(p)
		if err != nil || want[e.Name()] != target {
			_ = os.Remove(p)
		}
	}
	for naa, target := range want {
		_ = os.Symlink(target, filepath.Join(dir, naa))
	}
}

// storageSystem wraps vcsim's HostStorageSystem so that rescans through the vSphere API follow the
// SAN directory (vcsim's own RescanAllHba swaps in canned FC adapters).
type storageSystem struct {
	simulator.HostStorageSystem
	host *hostState
}

// setInfo needs no registry lock: it may run inside a call on this very object (RescanAllHba).
func (s *storageSystem) setInfo(info *types.HostStorageDeviceInfo) {
	s.StorageDeviceInfo = info
}

func (s *storageSystem) RescanAllHba(ctx *simulator.Context, _ *types.RescanAllHba) soap.HasFault {
	s.host.mu.Lock()
	s.host.rescanLocked("all", "")
	s.host.mu.Unlock()
	return &methods.RescanAllHbaBody{Res: new(types.RescanAllHbaResponse)}
}

func (s *storageSystem) RescanHba(ctx *simulator.Context, req *types.RescanHba) soap.HasFault {
	body := &methods.RescanHbaBody{}
	if s.host.adapterByName(req.HbaDevice) == nil {
		body.Fault_ = simulator.Fault("", &types.NotFound{})
		return body
	}
	s.host.mu.Lock()
	s.host.rescanLocked("all", req.HbaDevice)
	s.host.mu.Unlock()
	body.Res = new(types.RescanHbaResponse)
	return body
}
