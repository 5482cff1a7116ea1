package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

// lab is the built world: the vcsim inventory plus hoist's per-host ESXi state.
type lab struct {
	w          *world
	client     *govmomi.Client
	dcName     string
	hosts      []*hostState
	hostByName map[string]*hostState
	datastores map[string]*dsState
	vms        map[string]*vmState
}

type dsState struct {
	spec worldDatastore
	ref  types.ManagedObjectReference
}

type vmState struct {
	ref   types.ManagedObjectReference
	uuid  string
	host  string
	disks []string
}

func buildWorld(ctx context.Context, u *url.URL, w *world) (*lab, error) {
	c, err := govmomi.NewClient(ctx, u, true)
	if err != nil {
		return nil, fmt.Errorf("connecting to the simulator: %w", err)
	}
	l := &lab{
		w:          w,
		client:     c,
		hostByName: map[string]*hostState{},
		datastores: map[string]*dsState{},
		vms:        map[string]*vmState{},
	}
	finder := find.NewFinder(c.Client, false)
	dc, err := finder.DefaultDatacenter(ctx)
	if err != nil {
		return nil, err
	}
	finder.SetDatacenter(dc)
	l.dcName = dc.Name()
	cluster, err := finder.DefaultClusterComputeResource(ctx)
	if err != nil {
		return nil, err
	}

	for i := range w.Hosts {
		spec := w.Hosts[i]
		task, err := cluster.AddHost(ctx, types.HostConnectSpec{HostName: spec.Name}, true, nil, nil)
		if err != nil {
			return nil, err
		}
		info, err := task.WaitForResult(ctx, nil)
		if err != nil {
			return nil, fmt.Errorf("adding host %s: %w", spec.Name, err)
		}
		ref := info.Result.(types.ManagedObjectReference)
		h, err := newHostState(l, spec, ref, len(l.hosts))
		if err != nil {
			return nil, err
		}
		l.hosts = append(l.hosts, h)
		l.hostByName[spec.Name] = h
	}

	for _, spec := range w.Datastores {
		if err := l.addDatastore(ctx, spec); err != nil {
			return nil, err
		}
	}

	folders, err := dc.Folders(ctx)
	if err != nil {
		return nil, err
	}
	pool, err := cluster.ResourcePool(ctx)
	if err != nil {
		return nil, err
	}
	for _, spec := range w.VMs {
		if err := l.addVM(ctx, folders.VmFolder, pool, spec); err != nil {
			return nil, err
		}
	}
	for _, h := range l.hosts {
		h.mu.Lock()
		h.rescanLocked("add", "")
		h.mu.Unlock()
	}
	return l, nil
}

// stop logs out and stops clone tasks still running in the background (the wrapper starts them in
// their own session), so that a stopped lab leaves no copy running.
func (l *lab) stop() {
	_ = l.client.Logout(context.Background())
	for _, h := range l.hosts {
		dirs, _ := filepath.Glob(filepath.Join(h.root, "tmp", "vmkfstools-wrapper-*"))
		for _, d := range dirs {
			if _, err := os.Stat(filepath.Join(d, "exitcode")); err == nil {
				continue
			}
			data, err := os.ReadFile(filepath.Join(d, "pid"))
			if err != nil {
				continue
			}
			if pid, err := strconv.Atoi(strings.TrimSpace(string(data))); err == nil && pid > 1 {
				_ = syscall.Kill(-pid, syscall.SIGTERM)
			}
		}
	}
}

func (l *lab) addDatastore(ctx context.Context, spec worldDatastore) error {
	if err := os.MkdirAll(spec.Dir, 0o755); err != nil {
		return err
	}
	dir, err := filepath.Abs(spec.Dir)
	if err != nil {
		return err
	}
	spec.Dir = dir
	hosts := spec.Hosts
	if len(hosts) == 0 {
		for _, h := range l.hosts {
			hosts = append(hosts, h.name)
		}
	}
	var ref types.ManagedObjectReference
	for _, name := range hosts {
		h := l.hostByName[name]
		dss, err := object.NewHostSystem(l.client.Client, h.ref).ConfigManager().DatastoreSystem(ctx)
		if err != nil {
			return err
		}
		ds, err := dss.CreateLocalDatastore(ctx, spec.Name, dir)
		if err != nil {
			return fmt.Errorf("mounting datastore %s on %s: %w", spec.Name, name, err)
		}
		ref = ds.Reference()
	}
	obj := simulator.Map.Get(ref).(*simulator.Datastore)
	simulator.Map.WithLock(obj, func() {
		old := obj.Info.GetDatastoreInfo()
		capacity := spec.CapacityBytes
		if capacity <= 0 {
			capacity = obj.Summary.Capacity
		}
		info := &types.VmfsDatastoreInfo{
			DatastoreInfo:          *old,
			MaxPhysicalRDMFileSize: 64 << 40,
			MaxVirtualRDMFileSize:  62 << 40,
			Vmfs: &types.HostVmfsVolume{
				HostFileSystemVolume: types.HostFileSystemVolume{Type: "VMFS", Name: spec.Name, Capacity: capacity},
				BlockSizeMb:          1,
				BlockSize:            1024,
				UnmapGranularity:     1024,
				UnmapPriority:        "low",
				MaxBlocks:            63 * 1024 * 1024,
				MajorVersion:         6,
				Version:              "6.82",
				Uuid:                 fakeUUID("vmfs:" + spec.Name),
				Extent:               []types.HostScsiDiskPartition{{DiskName: spec.NAA, Partition: 1}},
				Ssd:                  types.NewBool(true),
				Local:                types.NewBool(false),
				ScsiDiskType:         "native512",
			},
		}
		info.DatastoreInfo.MaxFileSize = 62 << 40
		obj.Info = info
		obj.Summary.Type = "VMFS"
		obj.Summary.MultipleHostAccess = types.NewBool(len(hosts) > 1)
		if spec.CapacityBytes > 0 {
			obj.Summary.Capacity = spec.CapacityBytes
		}
	})
	l.datastores[spec.Name] = &dsState{spec: spec, ref: ref}
	for _, name := range hosts {
		h := l.hostByName[name]
		h.mu.Lock()
		err := h.addDatastoreDevice(spec)
		h.mu.Unlock()
		if err != nil {
			return err
		}
	}
	return nil
}

func (l *lab) addVM(ctx context.Context, folder *object.Folder, pool *object.ResourcePool, spec worldVM) error {
	hostName := spec.Host
	if hostName == "" {
		hostName = l.hosts[0].name
	}
	h := l.hostByName[hostName]
	dsName := spec.Datastore
	if dsName == "" && len(l.w.Datastores) > 0 {
		dsName = l.w.Datastores[0].Name
	}
	home := l.datastores[dsName]
	if home == nil {
		return fmt.Errorf("VM %s: no datastore to hold it", spec.Name)
	}
	vmDir := filepath.Join(home.spec.Dir, spec.Name)
	if err := os.MkdirAll(vmDir, 0o755); err != nil {
		return err
	}
	// vcsim refuses to create a VM whose files exist: a restarted lab reuses the datastore directory.
	for _, f := range []string{spec.Name + ".vmx", spec.Name + ".nvram", "vmware.log"} {
		_ = os.Remove(filepath.Join(vmDir, f))
	}

	var devices object.VirtualDeviceList
	scsi, err := devices.CreateSCSIController("pvscsi")
	if err != nil {
		return err
	}
	devices = append(devices, scsi)
	var diskNames []string
	for i, d := range spec.Disks {
		ds := home
		if d.Datastore != "" {
			ds = l.datastores[d.Datastore]
		}
		rel := d.VMDK
		if rel == "" {
			if i == 0 {
				rel = path.Join(spec.Name, spec.Name+".vmdk")
			} else {
				rel = path.Join(spec.Name, fmt.Sprintf("%s_%d.vmdk", spec.Name, i))
			}
		}
		chain, capacity, err := createDiskFiles(ds.spec.Dir, ds.spec.Name, rel, d)
		if err != nil {
			return fmt.Errorf("VM %s disk %s: %w", spec.Name, rel, err)
		}
		var backing *types.VirtualDiskFlatVer2BackingInfo
		for _, name := range chain { // base first
			b := &types.VirtualDiskFlatVer2BackingInfo{
				VirtualDeviceFileBackingInfo: types.VirtualDeviceFileBackingInfo{
					FileName:  name,
					Datastore: types.NewReference(ds.ref),
				},
				DiskMode:        string(types.VirtualDiskModePersistent),
				ThinProvisioned: types.NewBool(true),
				Uuid:            fakeUUID("disk:" + name),
				Parent:          backing,
			}
			if backing != nil {
				b.DeltaDiskFormat = string(types.VirtualDiskDeltaDiskFormatRedoLogFormat)
			}
			backing = b
		}
		disk := &types.VirtualDisk{
			VirtualDevice: types.VirtualDevice{
				Key:     int32(2000 + i),
				Backing: backing,
			},
			CapacityInKB:    capacity / 1024,
			CapacityInBytes: capacity,
		}
		devices.AssignController(disk, scsi.(types.BaseVirtualController))
		devices = append(devices, disk)
		diskNames = append(diskNames, chain[0])
	}
	config := types.VirtualMachineConfigSpec{
		Name:    spec.Name,
		GuestId: string(types.VirtualMachineGuestOsIdentifierOtherGuest64),
		Files:   &types.VirtualMachineFileInfo{VmPathName: fmt.Sprintf("[%s] %s/%s.vmx", dsName, spec.Name, spec.Name)},
		Uuid:    fakeUUID("vm:" + spec.Name),
	}
	config.DeviceChange, err = devices.ConfigSpec(types.VirtualDeviceConfigSpecOperationAdd)
	if err != nil {
		return err
	}
	for _, c := range config.DeviceChange {
		c.GetVirtualDeviceConfigSpec().FileOperation = "" // the files exist already
	}
	task, err := folder.CreateVM(ctx, config, pool, object.NewHostSystem(l.client.Client, h.ref))
	if err != nil {
		return err
	}
	info, err := task.WaitForResult(ctx, nil)
	if err != nil {
		return fmt.Errorf("creating VM %s: %w", spec.Name, err)
	}
	ref := info.Result.(types.ManagedObjectReference)
	if spec.PowerOn {
		t, err := object.NewVirtualMachine(l.client.Client, ref).PowerOn(ctx)
		if err == nil {
			err = t.Wait(ctx)
		}
		if err != nil {
			return fmt.Errorf("powering on VM %s: %w", spec.Name, err)
		}
	}
	l.vms[spec.Name] = &vmState{ref: ref, uuid: config.Uuid, host: hostName, disks: diskNames}
	return nil
}

var extentRe = regexp.MustCompile(`(?m)^\s*RW\s+(\d+)\s+(VMFS|FLAT)\s+"([^"]+)"`)

// createDiskFiles writes the VMDK descriptor and flat extent of a base disk (and delta descriptors
// for snapshots) under dir, and returns the datastore paths of the chain, newest first reversed
// (base first), plus the capacity.
func createDiskFiles(dir, dsName, rel string, d worldDisk) ([]string, int64, error) {
	desc := filepath.Join(dir, rel)
	if err := os.MkdirAll(filepath.Dir(desc), 0o755); err != nil {
		return nil, 0, err
	}
	base := strings.TrimSuffix(filepath.Base(rel), ".vmdk")
	flat := filepath.Join(filepath.Dir(desc), base+"-flat.vmdk")
	capacity := d.CapacityBytes
	if d.Data != "" {
		st, err := os.Stat(d.Data)
		if err != nil {
			return nil, 0, err
		}
		if st.Size() > capacity {
			capacity = st.Size()
		}
	}
	capacity = (capacity + 511) / 512 * 512
	if d.Data != "" {
		if err := copySparse(d.Data, flat); err != nil {
			return nil, 0, err
		}
	} else if st, err := os.Stat(flat); err == nil && st.Size() > capacity {
		capacity = (st.Size() + 511) / 512 * 512
	}
	if err := ensureSize(flat, capacity); err != nil {
		return nil, 0, err
	}
	cid := fmt.Sprintf("%08x", hash32(rel))
	descriptor := fmt.Sprintf(`# Disk DescriptorFile
version=1
encoding="UTF-8"
CID=%s
parentCID=ffffffff
createType="vmfs"

# Extent description
RW %d VMFS "%s"

# The Disk Data Base
#DDB

ddb.adapterType = "pvscsi"
ddb.thinProvisioned = "1"
ddb.uuid = "%s"
ddb.virtualHWVersion = "19"
`, cid, capacity/512, base+"-flat.vmdk", fakeUUID("ddb:"+rel))
	if err := os.WriteFile(desc, []byte(descriptor), 0o644); err != nil {
		return nil, 0, err
	}
	chain := []string{fmt.Sprintf("[%s] %s", dsName, rel)}
	parent := filepath.Base(rel)
	parentCID := cid
	for i := 1; i <= d.Snapshots; i++ {
		name := fmt.Sprintf("%s-%06d", base, i)
		deltaRel := path.Join(path.Dir(rel), name+".vmdk")
		deltaCID := fmt.Sprintf("%08x", hash32(deltaRel))
		delta := fmt.Sprintf(`# Disk DescriptorFile
version=1
encoding="UTF-8"
CID=%s
parentCID=%s
createType="vmfsSparse"
parentFileNameHint="%s"

# Extent description
RW %d VMFSSPARSE "%s-delta.vmdk"

# The Disk Data Base
#DDB
`, deltaCID, parentCID, parent, capacity/512, name)
		if err := os.WriteFile(filepath.Join(filepath.Dir(desc), name+".vmdk"), []byte(delta), 0o644); err != nil {
			return nil, 0, err
		}
		// vcsim checks a disk through "<name>-flat.vmdk", so the (empty) delta also gets that name
		// next to its real "-delta.vmdk" extent.
		for _, ext := range []string{"-delta.vmdk", "-flat.vmdk"} {
			if err := ensureSize(filepath.Join(filepath.Dir(desc), name+ext), 0); err != nil {
				return nil, 0, err
			}
		}
		chain = append(chain, fmt.Sprintf("[%s] %s", dsName, deltaRel))
		parent = name + ".vmdk"
		parentCID = deltaCID
	}
	return chain, capacity, nil
}

// inventory is the JSON line printed on start-up; the URL comes first.
type inventory struct {
	URL        string                 `json:"url"`
	CAFile     string                 `json:"caFile,omitempty"`
	Datacenter string                 `json:"datacenter"`
	StateDir   string                 `json:"stateDir"`
	SanDir     string                 `json:"sanDir"`
	Hosts      map[string]interface{} `json:"hosts"`
	Datastores map[string]interface{} `json:"datastores"`
	VMs        map[string]interface{} `json:"vms"`
}

func (l *lab) inventory(u *url.URL) *inventory {
	clean := *u
	clean.User = nil
	inv := &inventory{
		URL: clean.String(), Datacenter: l.dcName, StateDir: l.w.StateDir, SanDir: l.w.SanDir,
		Hosts: map[string]interface{}{}, Datastores: map[string]interface{}{}, VMs: map[string]interface{}{},
	}
	for _, h := range l.hosts {
		var initiators []string
		for _, a := range h.adapters {
			initiators = append(initiators, a.uid)
		}
		inv.Hosts[h.name] = map[string]interface{}{"moref": h.ref.Value, "root": h.root, "initiators": initiators}
	}
	for name, d := range l.datastores {
		inv.Datastores[name] = map[string]interface{}{"moref": d.ref.Value, "naa": d.spec.NAA, "dir": d.spec.Dir}
	}
	for name, v := range l.vms {
		inv.VMs[name] = map[string]interface{}{"moref": v.ref.Value, "uuid": v.uuid, "host": v.host, "disks": v.disks}
	}
	return inv
}

func sortedKeys(m map[string]*device) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
