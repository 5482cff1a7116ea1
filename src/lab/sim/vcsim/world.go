package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Set at build time by CMake (-ldflags "-X main.defaultWrapper=… -X main.defaultFakes=…").
var (
	defaultWrapper string
	defaultFakes   string
)

// world is the lab's vSphere inventory as described by the --world JSON file (README.md).
type world struct {
	StateDir string `json:"stateDir"`
	SanDir   string `json:"sanDir"`
	Wrapper  string `json:"wrapper"`
	Fakes    string `json:"fakes"`
	Busybox  string `json:"busybox"`
	// Env is added to the environment of the wrapper and the fakes (e.g. HOIST_FAKE_VMKFSTOOLS_DELAY).
	Env        map[string]string `json:"env"`
	Hosts      []worldHost       `json:"hosts"`
	Datastores []worldDatastore  `json:"datastores"`
	VMs        []worldVM         `json:"vms"`
}

type worldHost struct {
	Name string `json:"name"`
	// IQN of the software iSCSI adapter; empty: no iSCSI adapter unless the host has no FC port either.
	IQN string        `json:"iqn"`
	FC  []worldFCPort `json:"fc"`
	// Version is the ESXi version reported by `system version get`.
	Version string `json:"version"`
	// Settings overrides advanced settings, e.g. {"/Disk/MaxLUN": 2048}.
	Settings map[string]int64 `json:"settings"`
	// Vibs replaces the installed VIB list. nil: vmkfstools-wrapper is installed (when a wrapper is configured).
	Vibs []worldVib `json:"vibs"`
	// ManagementIP is the address of the host's management vmknic (where the SSH method connects);
	// default 127.0.0.1 (vcsim's own data names a private address nothing here may reach).
	ManagementIP string `json:"managementIp"`
	// SDC gives the host a PowerFlex SDC (the scini module; sdc.go).
	SDC *worldSDC `json:"sdc"`
}

type worldFCPort struct {
	WWNN string `json:"wwnn"`
	WWPN string `json:"wwpn"`
}

type worldVib struct {
	Name            string `json:"name"`
	Version         string `json:"version"`
	Vendor          string `json:"vendor"`
	AcceptanceLevel string `json:"acceptanceLevel"`
}

type worldDatastore struct {
	Name string `json:"name"`
	// NAA of the array LUN holding the VMFS volume (extent 0).
	NAA string `json:"naa"`
	// Dir holds the datastore's files (`[name] vm/vm.vmdk` is <dir>/vm/vm.vmdk).
	Dir string `json:"dir"`
	// Array names the array the LUN lives on; clones between LUNs of the same array use XCOPY.
	Array  string `json:"array"`
	Vendor string `json:"vendor"`
	Model  string `json:"model"`
	// Transport: "iscsi" or "fc"; default: iscsi when the host has an IQN, else fc.
	Transport     string   `json:"transport"`
	CapacityBytes int64    `json:"capacityBytes"`
	LunID         int      `json:"lunId"`
	Hosts         []string `json:"hosts"` // default: every host
}

type worldVM struct {
	Name      string      `json:"name"`
	Host      string      `json:"host"`      // default: the first host
	Datastore string      `json:"datastore"` // default: the first datastore
	PowerOn   bool        `json:"powerOn"`
	Disks     []worldDisk `json:"disks"`
}

type worldDisk struct {
	// VMDK path inside the datastore; default "<vm>/<vm>.vmdk", "<vm>/<vm>_1.vmdk", …
	VMDK          string `json:"vmdk"`
	Datastore     string `json:"datastore"`
	CapacityBytes int64  `json:"capacityBytes"`
	// Data is copied (sparsely) into the flat file at start-up; empty: keep an existing flat file or
	// create a sparse one.
	Data string `json:"data"`
	// Snapshots adds this many delta disks (<name>-000001.vmdk …) on top; the VM's disk backing then
	// names the newest delta, whose parent chain ends at the base disk.
	Snapshots int `json:"snapshots"`
}

func loadWorld(path string) (*world, error) {
	w := &world{}
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("reading world file: %w", err)
		}
		dec := json.NewDecoder(strings.NewReader(string(data)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(w); err != nil {
			return nil, fmt.Errorf("world file %s: %w", path, err)
		}
	}
	if len(w.Hosts) == 0 {
		w.Hosts = []worldHost{{Name: "esx1.lab"}}
	}
	for i := range w.Datastores {
		w.Datastores[i].NAA = strings.ToLower(w.Datastores[i].NAA) // ESXi device names are lower case
	}
	return w, w.validate()
}

func (w *world) applyOptions(o options) error {
	if o.stateDir != "" {
		w.StateDir = o.stateDir
	}
	if o.sanDir != "" {
		w.SanDir = o.sanDir
	}
	if o.wrapper != "" {
		w.Wrapper = o.wrapper
	}
	if o.fakes != "" {
		w.Fakes = o.fakes
	}
	if w.Busybox == "" {
		w.Busybox = o.busybox
	}
	// Defaults: baked in at build time (-ldflags -X), else found through HOIST_SOURCE_DIR.
	src := os.Getenv("HOIST_SOURCE_DIR")
	if w.Wrapper == "" {
		w.Wrapper = defaultWrapper
		if w.Wrapper == "" && src != "" {
			w.Wrapper = filepath.Join(src, "esxi", "vmkfstools-wrapper", "vmkfstools_wrapper.sh")
		}
	}
	if w.Fakes == "" {
		w.Fakes = defaultFakes
		if w.Fakes == "" && src != "" {
			w.Fakes = filepath.Join(src, "src", "lab", "sim", "vcsim", "fakes")
		}
	}
	for _, p := range []*string{&w.StateDir, &w.SanDir, &w.Wrapper, &w.Fakes} {
		if *p != "" {
			abs, err := filepath.Abs(*p)
			if err != nil {
				return err
			}
			*p = abs
		}
	}
	return nil
}

func (w *world) validate() error {
	hosts := map[string]bool{}
	for _, h := range w.Hosts {
		if h.Name == "" {
			return fmt.Errorf("world: a host has no name")
		}
		if hosts[h.Name] {
			return fmt.Errorf("world: duplicate host %q", h.Name)
		}
		hosts[h.Name] = true
		for _, p := range h.FC {
			if len(normalizeWWN(p.WWNN)) != 16 || len(normalizeWWN(p.WWPN)) != 16 {
				return fmt.Errorf("world: host %s: FC port wwnn/wwpn must be 16 hex digits", h.Name)
			}
		}
		if err := validateSDC(h.Name, h.SDC); err != nil {
			return err
		}
	}
	dss := map[string]bool{}
	for _, d := range w.Datastores {
		if d.Name == "" || d.Dir == "" || !strings.HasPrefix(d.NAA, "naa.") && !strings.HasPrefix(d.NAA, "eui.") {
			return fmt.Errorf("world: datastore %q needs name, dir and naa (naa.… or eui.…)", d.Name)
		}
		if dss[d.Name] {
			return fmt.Errorf("world: duplicate datastore %q", d.Name)
		}
		dss[d.Name] = true
		for _, h := range d.Hosts {
			if !hosts[h] {
				return fmt.Errorf("world: datastore %s: unknown host %q", d.Name, h)
			}
		}
	}
	for _, vm := range w.VMs {
		if vm.Name == "" {
			return fmt.Errorf("world: a VM has no name")
		}
		if vm.Host != "" && !hosts[vm.Host] {
			return fmt.Errorf("world: VM %s: unknown host %q", vm.Name, vm.Host)
		}
		if len(vm.Disks) > 0 && len(w.Datastores) == 0 {
			return fmt.Errorf("world: VM %s has disks but the world has no datastore", vm.Name)
		}
		if vm.Datastore != "" && !dss[vm.Datastore] {
			return fmt.Errorf("world: VM %s: unknown datastore %q", vm.Name, vm.Datastore)
		}
		for _, d := range vm.Disks {
			if d.Datastore != "" && !dss[d.Datastore] {
				return fmt.Errorf("world: VM %s: unknown datastore %q", vm.Name, d.Datastore)
			}
			if d.CapacityBytes <= 0 && d.Data == "" {
				return fmt.Errorf("world: VM %s: a disk needs capacityBytes or data", vm.Name)
			}
		}
	}
	return nil
}

// normalizeWWN strips separators and a "fc." prefix and lower-cases a world wide name.
func normalizeWWN(s string) string {
	s = strings.ToLower(strings.TrimPrefix(strings.ToLower(s), "fc."))
	r := strings.NewReplacer(":", "", "-", "", " ", "", "0x", "")
	return r.Replace(s)
}
