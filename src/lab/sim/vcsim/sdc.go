package main

// PowerFlex on an ESXi host: the storage data client (SDC) is the `scini` kernel module. It appears
// to vSphere as a block adapter driven by `scini`, its GUID is the module option IoctlIniGuidStr (read
// with HostKernelModuleSystem.QueryModules), and PowerFlex volumes mapped to that SDC appear as
// devices eui.<systemId><volumeId> with paths on that adapter. The PowerFlex simulator presents a
// volume to the SDC by writing the SAN entry <san-dir>/<sdc guid>/<eui…> (README.md).

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// worldSDC is a host's PowerFlex SDC in the world file: {"guid": "…", "mdmIps": ["10.0.0.10"]}.
type worldSDC struct {
	GUID   string   `json:"guid"`
	MdmIPs []string `json:"mdmIps"`
}

var sdcGUIDRe = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// isSDCGUID tells an SDC GUID (a SAN directory name for an SDC) from iSCSI names and WWNs.
func isSDCGUID(s string) bool { return sdcGUIDRe.MatchString(s) }

// sdcKey is the SAN-matching form of an SDC GUID.
func sdcKey(guid string) string { return "sdc:" + strings.ToLower(guid) }

// sdcAdapter is the block adapter the scini driver presents (vmhba40: after the template's vmhba0-2,
// the FC ports vmhba2…, and before the software iSCSI adapter vmhba65).
func sdcAdapter(spec *worldSDC) *adapter {
	return &adapter{
		name: "vmhba40", kind: "sdc", key: "key-vim.host.BlockHba-vmhba40",
		uid: strings.ToLower(spec.GUID), match: sdcKey(spec.GUID), driver: "scini",
		model: "PowerFlex SDC",
	}
}

func validateSDC(host string, spec *worldSDC) error {
	if spec == nil {
		return nil
	}
	if !isSDCGUID(spec.GUID) {
		return fmt.Errorf("world: host %s: sdc.guid %q is not a GUID (8-4-4-4-12 hex digits)", host, spec.GUID)
	}
	return nil
}

// kernelModuleSystem answers HostKernelModuleSystem.QueryModules for one host.
type kernelModuleSystem struct {
	mo.HostKernelModuleSystem
	host *hostState
}

func (h *hostState) kernelModuleRef() types.ManagedObjectReference {
	return types.ManagedObjectReference{Type: "HostKernelModuleSystem", Value: "kernelModuleSystem-" + h.ref.Value}
}

// registerKernelModules puts the host's HostKernelModuleSystem into vcsim and its configManager.
func (h *hostState) registerKernelModules() {
	ref := h.kernelModuleRef()
	simulator.Map.Put(&kernelModuleSystem{mo.HostKernelModuleSystem{Self: ref}, h})
	simulator.Map.WithLock(h.obj, func() {
		h.obj.ConfigManager.KernelModuleSystem = &ref
	})
}

// modules is what QueryModules lists: a few of ESXi's own, and scini when the host has an SDC.
func (h *hostState) modules() []types.KernelModuleInfo {
	mods := []types.KernelModuleInfo{
		{Id: 1, Name: "vmkernel", Version: "8.0.2", Loaded: true, Enabled: true, UseCount: 1},
		{Id: 12, Name: "nmp", Version: "8.0.2", Filename: "/usr/lib/vmware/vmkmod/nmp", Loaded: true, Enabled: true, UseCount: 4},
		{Id: 31, Name: "iscsi_vmk", Version: "8.0.2", Filename: "/usr/lib/vmware/vmkmod/iscsi_vmk", Loaded: true, Enabled: true},
		{Id: 33, Name: "lpfc", Version: "14.2.560.8", Filename: "/usr/lib/vmware/vmkmod/lpfc", Loaded: true, Enabled: true},
	}
	if s := h.spec.SDC; s != nil {
		opts := "IoctlIniGuidStr=" + strings.ToLower(s.GUID)
		if len(s.MdmIPs) > 0 {
			opts += " IoctlMdmIPStr=" + strings.Join(s.MdmIPs, ",")
		}
		mods = append(mods, types.KernelModuleInfo{
			Id: 70, Name: "scini", Version: "3.6.700.0", Filename: "/usr/lib/vmware/vmkmod/scini",
			OptionString: opts, Loaded: true, Enabled: true, UseCount: 1,
		})
	}
	return mods
}

func (k *kernelModuleSystem) QueryModules(ctx *simulator.Context, _ *types.QueryModules) soap.HasFault {
	k.host.mu.Lock()
	mods := k.host.modules()
	k.host.mu.Unlock()
	return &methods.QueryModulesBody{Res: &types.QueryModulesResponse{Returnval: mods}}
}
