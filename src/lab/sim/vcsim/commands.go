package main

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// param is one esxcli option as FetchCLIInfo describes it.
type param struct {
	name, display string
	aliases       []string
	flag          bool
	required      bool
	typ           string
	help          string
}

// opt builds a param from its long option, e.g. opt("--device", "-d", "…") → name "device".
func opt(long, short, help string) param {
	display := strings.TrimPrefix(long, "--")
	p := param{name: strings.ReplaceAll(display, "-", ""), display: display, help: help}
	if short != "" {
		p.aliases = append(p.aliases, short)
	}
	p.aliases = append(p.aliases, long)
	return p
}

func (p param) req() param  { p.required = true; return p }
func (p param) flg() param  { p.flag = true; p.typ = "boolean"; return p }
func (p param) long() param { p.typ = "long"; return p }

type command struct {
	ns, name, help string
	params         []param
	formatter      string
	fieldsKey      string
	fields         string
	kind           string // list, struct, boolean, string
	result         string // DataObject type name suffix
	vib            bool   // provided by the vmkfstools-wrapper VIB
	run            func(h *hostState, a cliArgs) (cliResult, *cliFault)
}

func (c *command) typeName() string { return wsdlName(c.ns+"."+c.name) + c.result }

func (c *command) returnType() string {
	switch c.kind {
	case "boolean", "string":
		return c.kind
	case "list":
		return "vim.EsxCLI." + c.ns + "." + c.name + "." + c.result + "[]"
	}
	return "vim.EsxCLI." + c.ns + "." + c.name + "." + c.result
}

func (c *command) list(records []record) (cliResult, *cliFault) {
	return cliResult{kind: "list", typeName: c.typeName(), records: records}, nil
}

func (c *command) single(r record) (cliResult, *cliFault) {
	return cliResult{kind: "struct", typeName: c.typeName(), records: []record{r}}, nil
}

func ok() (cliResult, *cliFault) { return cliResult{kind: "boolean", scalar: "true"}, nil }

var namespaceHelp = map[string]string{
	"storage.core.adapter":            "Operations pertaining to the pluggable storage architectures' SCSI adapters",
	"storage.core.device":             "Operations pertaining to the pluggable storage architectures' logical devices",
	"storage.core.device.detached":    "Operations pertaining to detached devices",
	"storage.core.device.vaai.status": "Operations pertaining to VAAI status of devices",
	"storage.core.path":               "Operations pertaining to the pluggable storage architectures' storage paths",
	"iscsi.adapter.discovery":         "Operations that can be performed on iSCSI adapter discovery",
	"system.settings.advanced":        "The advanced settings are a set of VMkernel options that can be configured",
	"system.version":                  "Commands to get version information",
	"system.hostname":                 "Operations pertaining the network name of the ESX host",
	"software.vib":                    "Install, update, remove, or display individual VIB packages",
	"vmkfstools":                      "vmkfstools wrapper operations",
}

var registry []*command

func init() {
	registry = []*command{
		{ns: "storage.core.adapter", name: "list", help: "List all the SCSI Host Bus Adapters on the system.",
			formatter: "table", fieldsKey: "Adapter", fields: "HBA Name,Driver,Link State,UID,Capabilities,Description",
			kind: "list", result: "Adapter", run: cmdAdapterList},
		{ns: "storage.core.adapter", name: "rescan", help: "Rescan SCSI HBAs to search for new Devices, remove DEAD paths and update path state.",
			params: []param{
				opt("--adapter", "-A", "Select the adapter to rescan."),
				opt("--all", "-a", "Indicate that all adapters should be rescanned.").flg(),
				opt("--skip-claim", "-S", "Skip claiming of new devices by the appropriate multipath plugin.").flg(),
				opt("--skip-fs-scan", "-F", "Skip filesystem scan.").flg(),
				opt("--type", "-t", "Specify the type of rescan to do: add, all, delete, update (default all)."),
			},
			kind: "boolean", run: cmdAdapterRescan},
		{ns: "storage.core.device", name: "list", help: "List the devices currently registered with the PSA.",
			params: []param{
				opt("--device", "-d", "Filter the output of this command to only show a single device."),
				opt("--exclude-offline", "-o", "Exclude offline devices.").flg(),
			},
			formatter: "simple", fieldsKey: "ScsiDevice", kind: "list", result: "ScsiDevice", run: cmdDeviceList},
		{ns: "storage.core.device", name: "set", help: "Provide control to allow a user to modify a SCSI device's state.",
			params: []param{
				opt("--device", "-d", "The device to set the state of.").req(),
				opt("--state", "", "Set the SCSI device state for a specific device (on, off)."),
				opt("--name", "-n", "The new name to assign the given device."),
			},
			kind: "boolean", run: cmdDeviceSet},
		{ns: "storage.core.device.detached", name: "list", help: "Lists all devices that were detached manually by changing their state on the system.",
			params:    []param{opt("--device", "-d", "Filter the output of the command to limit the output to a specific device.")},
			formatter: "table", fieldsKey: "DetachedDevice", fields: "Device UID,State",
			kind: "list", result: "DetachedDevice", run: cmdDetachedList},
		{ns: "storage.core.device.detached", name: "remove", help: "Allow the user to remove a detached device from the list of detached devices.",
			params: []param{
				opt("--all", "-a", "Remove all the devices from the list of detached devices.").flg(),
				opt("--device", "-d", "Select the detached device to remove from the list."),
			},
			kind: "boolean", run: cmdDetachedRemove},
		{ns: "storage.core.device.vaai.status", name: "get", help: "List VAAI properties for devices.",
			params:    []param{opt("--device", "-d", "Limit the output to a specific device.")},
			formatter: "simple", fieldsKey: "VAAIDeviceStatus", kind: "list", result: "VAAIDeviceStatus", run: cmdVaaiStatus},
		{ns: "storage.core.path", name: "list", help: "List all the SCSI paths on the system.",
			params: []param{
				opt("--device", "-d", "Limit the output to paths to a specific device."),
				opt("--path", "-p", "Limit the output to a specific path (runtime name or UID)."),
			},
			formatter: "simple", fieldsKey: "Path", kind: "list", result: "Path", run: cmdPathList},
		{ns: "iscsi.adapter.discovery", name: "rediscover", help: "Do the iSCSI discovery for this adapter.",
			params: []param{opt("--adapter", "-A", "The iSCSI adapter name.").req()},
			kind:   "boolean", run: cmdIscsiRediscover},
		{ns: "system.settings.advanced", name: "list", help: "List the advanced options available from the VMkernel.",
			params: []param{
				opt("--delta", "-d", "Only display options whose values differ from their default.").flg(),
				opt("--option", "-o", "Only get the information for a single VMkernel advanced option."),
				opt("--tree", "-t", "Limit the list of advanced option to a specific sub tree."),
			},
			formatter: "simple", fieldsKey: "SettingsAdvancedOption", kind: "list", result: "SettingsAdvancedOption", run: cmdSettingsList},
		{ns: "system.settings.advanced", name: "set", help: "Set the value of an advanced option.",
			params: []param{
				opt("--default", "-d", "Reset the option to its default value.").flg(),
				opt("--int-value", "-i", "If the option is an integer value use this option.").long(),
				opt("--option", "-o", "The name of the option to set the value of.").req(),
				opt("--string-value", "-s", "If the option is a string use this option."),
			},
			kind: "boolean", run: cmdSettingsSet},
		{ns: "system.version", name: "get", help: "Display the product name, version and build information.",
			formatter: "simple", kind: "struct", result: "VersionGet", run: cmdVersionGet},
		{ns: "system.hostname", name: "get", help: "Get the host, domain or fully qualified name of the ESX host.",
			formatter: "simple", kind: "struct", result: "FullHostname", run: cmdHostnameGet},
		{ns: "software.vib", name: "list", help: "Lists the installed VIB packages.",
			params:    []param{opt("--rebooting-image", "", "Displays information for the ESXi image which becomes active after a reboot.").flg()},
			formatter: "table", fieldsKey: "VIBSummary", fields: "Name,Version,Vendor,Acceptance Level,Install Date,Platforms",
			kind: "list", result: "VIBSummary", run: cmdVibList},
		{ns: "software.vib", name: "get", help: "Displays detailed information about one or more installed VIBs.",
			params: []param{
				opt("--rebooting-image", "", "Displays information for the ESXi image which becomes active after a reboot.").flg(),
				opt("--vibname", "-n", "Specifies one or more installed VIBs to display more information about."),
			},
			formatter: "simple", fieldsKey: "VIBExt", kind: "list", result: "VIBExt", run: cmdVibGet},
		{ns: "vmkfstools", name: "clone", help: "Clone a VMDK onto a LUN as an RDM through vmkfstools.", vib: true,
			params: []param{
				opt("--source-vmdk", "-s", "Source VMDK path (/vmfs/volumes/…)").req(),
				opt("--target-lun", "-t", "Target device path (/vmfs/devices/disks/…)").req(),
			},
			formatter: "simple", kind: "struct", result: "result", run: cmdVmkfstoolsClone},
		{ns: "vmkfstools", name: "taskGet", help: "Report the status of a clone task.", vib: true,
			params:    []param{opt("--id", "-i", "Task id").req()},
			formatter: "simple", kind: "struct", result: "result", run: cmdVmkfstoolsTaskGet},
		{ns: "vmkfstools", name: "taskClean", help: "Remove a clone task and its RDM files.", vib: true,
			params:    []param{opt("--id", "-i", "Task id").req()},
			formatter: "simple", kind: "struct", result: "result", run: cmdVmkfstoolsTaskClean},
		{ns: "vmkfstools", name: "version", help: "Print the wrapper version.", vib: true,
			formatter: "simple", kind: "struct", result: "result", run: cmdVmkfstoolsVersion},
	}
}

// hasWrapperVib: the vmkfstools namespace exists only where the VIB is installed, as on ESXi.
func (h *hostState) hasWrapperVib() bool {
	if h.lab.w.Wrapper == "" {
		return false
	}
	for _, v := range h.vibs {
		if v.Name == "vmkfstools-wrapper" {
			return true
		}
	}
	return false
}

func (h *hostState) namespaces() []string {
	seen := map[string]bool{}
	var out []string
	for _, c := range registry {
		if c.vib && !h.hasWrapperVib() || seen[c.ns] {
			continue
		}
		seen[c.ns] = true
		out = append(out, c.ns)
	}
	sort.Strings(out)
	return out
}

func (h *hostState) commands(ns string) []*command {
	var out []*command
	for _, c := range registry {
		if c.ns == ns && !(c.vib && !h.hasWrapperVib()) {
			out = append(out, c)
		}
	}
	return out
}

func lookup(ns, name string) *command {
	for _, c := range registry {
		if c.ns == ns && c.name == name {
			return c
		}
	}
	panic("no esxcli command " + ns + " " + name)
}

func boolStr(b bool) string { return strconv.FormatBool(b) }

func cmdAdapterList(h *hostState, a cliArgs) (cliResult, *cliFault) {
	var rs []record
	for _, hba := range h.base.HostBusAdapter {
		b := hba.GetHostHostBusAdapter()
		rs = append(rs, rec("HBAName", b.Device, "Driver", b.Driver, "LinkState", "link-n/a",
			"UID", strings.ToLower(strings.TrimSuffix(b.Driver, "scsi"))+"."+b.Device, "Capabilities", "",
			"Description", fmt.Sprintf("(%s) %s", b.Pci, b.Model)))
	}
	for _, ad := range h.adapters {
		state, caps := "online", ""
		if ad.kind == "fc" {
			state, caps = "link-up", "Second Level Lun ID"
		}
		rs = append(rs, rec("HBAName", ad.name, "Driver", ad.driver, "LinkState", state, "UID", ad.uid,
			"Capabilities", caps, "Description", ad.model))
	}
	return lookup("storage.core.adapter", "list").list(rs)
}

func cmdAdapterRescan(h *hostState, a cliArgs) (cliResult, *cliFault) {
	kind := strings.ToLower(a.str("type"))
	if kind == "" {
		kind = "all"
	}
	switch kind {
	case "add", "all", "delete", "update":
	default:
		return cliResult{}, newCLIFault("Invalid rescan type %s. Valid types are add, all, delete, update", a.str("type"))
	}
	name := a.str("adapter")
	if name == "" && !a.flag("all") {
		return cliResult{}, newCLIFault("You must specify either the --adapter or --all parameter")
	}
	if name != "" {
		found := h.adapterByName(name) != nil
		for _, b := range h.base.HostBusAdapter {
			found = found || b.GetHostHostBusAdapter().Device == name
		}
		if !found {
			return cliResult{}, newCLIFault("Unable to find adapter %s", name)
		}
	}
	h.rescanLocked(kind, name)
	return ok()
}

func (h *hostState) deviceRecord(d *device, status string) record {
	display := fmt.Sprintf("%s iSCSI Disk (%s)", strings.TrimSpace(d.vendor), d.naa)
	if d.kind() == "fc" {
		display = fmt.Sprintf("%s Fibre Channel Disk (%s)", strings.TrimSpace(d.vendor), d.naa)
	} else if d.kind() == "sdc" {
		display = fmt.Sprintf("%s Disk (%s)", strings.TrimSpace(d.vendor), d.naa)
	}
	vaai := "unknown"
	filters := ""
	if d.array != "" {
		vaai, filters = "supported", "VAAI_FILTER"
	}
	return rec("Device", d.naa, "DisplayName", display, "HasSettableDisplayName", "true",
		"Size", strconv.FormatInt(d.sizeBytes>>20, 10), "DeviceType", "Direct-Access", "MultipathPlugin", "NMP",
		"DevfsPath", "/vmfs/devices/disks/"+d.naa, "Vendor", d.vendor, "Model", d.model, "Revision", "9800",
		"SCSILevel", "6", "IsPseudo", "false", "Status", status, "IsRDMCapable", "true", "IsLocal", "false",
		"IsRemovable", "false", "IsSSD", "true", "IsVVOLPE", "false", "IsOffline", boolStr(status != "on"),
		"IsPerenniallyReserved", "false", "QueueFullSampleSize", "0", "QueueFullThreshold", "0",
		"ThinProvisioningStatus", "yes", "AttachedFilters", filters, "VAAIStatus", vaai,
		"OtherUIDs", fmt.Sprintf("vml.0200%04x%s", d.lunID, strings.TrimPrefix(d.naa, "naa.")),
		"IsSharedClusterwide", "true", "IsSAS", "false", "IsUSB", "false", "IsBootDevice", "false",
		"DeviceMaxQueueDepth", "64", "NoofoutstandingIOswithcompetingworlds", "32", "DriveType", "unknown",
		"RAIDLevel", "unknown", "NumberofPhysicalDrives", "unknown", "ProtectionEnabled", "false",
		"PIActivated", "false", "PIType", "0", "PIProtectionMask", "NO PROTECTION",
		"SupportedGuardTypes", "NO GUARD SUPPORT", "DIXEnabled", "false", "DIXGuardType", "NO GUARD SUPPORT",
		"EmulatedDIXDIFEnabled", "false")
}

func cmdDeviceList(h *hostState, a cliArgs) (cliResult, *cliFault) {
	san := h.scanSAN()
	want := strings.ToLower(a.str("device"))
	var rs []record
	if want == "" {
		for _, lun := range h.base.ScsiLun {
			l := lun.GetScsiLun()
			if l.LunType != "disk" {
				continue
			}
			rs = append(rs, rec("Device", l.CanonicalName, "DisplayName", l.DisplayName, "HasSettableDisplayName", "false",
				"Size", "32768", "DeviceType", "Direct-Access", "MultipathPlugin", "HPP",
				"DevfsPath", "/vmfs/devices/disks/"+l.CanonicalName, "Vendor", l.Vendor, "Model", l.Model,
				"Revision", l.Revision, "SCSILevel", "2", "IsPseudo", "false", "Status", "on", "IsRDMCapable", "false",
				"IsLocal", "true", "IsRemovable", "false", "IsSSD", "true", "IsVVOLPE", "false", "IsOffline", "false",
				"IsPerenniallyReserved", "false", "ThinProvisioningStatus", "unknown", "AttachedFilters", "",
				"VAAIStatus", "unsupported", "OtherUIDs", "vml."+l.Uuid, "IsSharedClusterwide", "false",
				"IsBootDevice", "true"))
		}
	}
	for _, naa := range sortedKeys(h.devices) {
		if want != "" && naa != want {
			continue
		}
		d := h.devices[naa]
		status := h.status(d, san)
		if a.flag("excludeoffline") && status != "on" {
			continue
		}
		rs = append(rs, h.deviceRecord(d, status))
	}
	if want != "" && len(rs) == 0 {
		return cliResult{}, newCLIFault("Unable to find device with name %s", a.str("device"))
	}
	return lookup("storage.core.device", "list").list(rs)
}

func (h *hostState) datastoreOn(naa string) string {
	for name, ds := range h.lab.datastores {
		if ds.spec.NAA == naa {
			return name
		}
	}
	return ""
}

func cmdDeviceSet(h *hostState, a cliArgs) (cliResult, *cliFault) {
	naa := strings.ToLower(a.str("device"))
	d := h.devices[naa]
	if d == nil {
		return cliResult{}, newCLIFault("Unable to find device with name %s", a.str("device"))
	}
	if !a.has("state") && !a.has("name") {
		return cliResult{}, newCLIFault("At least one option must be specified")
	}
	switch state := strings.ToLower(a.str("state")); state {
	case "":
	case "off":
		if ds := h.datastoreOn(naa); ds != "" {
			return cliResult{}, newCLIFault("Unable to set device's status. Error was: Cannot detach device %s: it backs the mounted VMFS volume %s", naa, ds)
		}
		h.detached[naa] = true
	case "on":
		delete(h.detached, naa)
	default:
		return cliResult{}, newCLIFault("Invalid device state %s. Valid states are on and off", a.str("state"))
	}
	h.publishLocked()
	return ok()
}

func cmdDetachedList(h *hostState, a cliArgs) (cliResult, *cliFault) {
	var keys []string
	for naa := range h.detached {
		keys = append(keys, naa)
	}
	sort.Strings(keys)
	want := strings.ToLower(a.str("device"))
	var rs []record
	for _, naa := range keys {
		if want == "" || naa == want {
			rs = append(rs, rec("DeviceUID", naa, "State", "off"))
		}
	}
	return lookup("storage.core.device.detached", "list").list(rs)
}

func cmdDetachedRemove(h *hostState, a cliArgs) (cliResult, *cliFault) {
	var targets []string
	if a.flag("all") {
		for naa := range h.detached {
			targets = append(targets, naa)
		}
	} else {
		naa := strings.ToLower(a.str("device"))
		if naa == "" {
			return cliResult{}, newCLIFault("You must specify either the --device or --all parameter")
		}
		if !h.detached[naa] {
			return cliResult{}, newCLIFault("Unable to remove detached device %s: the device is not in the detached device list", a.str("device"))
		}
		targets = append(targets, naa)
	}
	for _, naa := range targets {
		delete(h.detached, naa)
		// The device's configuration is gone; it is rediscovered (on) by the next rescan if still mapped.
		if d := h.devices[naa]; d != nil && !d.static {
			delete(h.devices, naa)
		}
	}
	h.publishLocked()
	return ok()
}

func cmdVaaiStatus(h *hostState, a cliArgs) (cliResult, *cliFault) {
	want := strings.ToLower(a.str("device"))
	var rs []record
	for _, naa := range sortedKeys(h.devices) {
		if want != "" && naa != want {
			continue
		}
		d := h.devices[naa]
		st := "unsupported"
		plugin := ""
		if d.array != "" {
			st, plugin = "supported", "VMW_VAAIP_T10"
		}
		rs = append(rs, rec("Device", naa, "VAAIPluginName", plugin, "ATSStatus", st, "CloneStatus", st, "ZeroStatus", st, "DeleteStatus", st))
	}
	if want != "" && len(rs) == 0 {
		return cliResult{}, newCLIFault("Unable to find device with name %s", a.str("device"))
	}
	return lookup("storage.core.device.vaai.status", "get").list(rs)
}

func cmdPathList(h *hostState, a cliArgs) (cliResult, *cliFault) {
	san := h.scanSAN()
	want := strings.ToLower(a.str("device"))
	wantPath := a.str("path")
	var rs []record
	for _, naa := range sortedKeys(h.devices) {
		if want != "" && naa != want {
			continue
		}
		d := h.devices[naa]
		state := "active"
		switch h.status(d, san) {
		case "off":
			state = "off"
		case "on":
		default:
			state = "dead"
		}
		for _, ad := range d.paths {
			runtime := fmt.Sprintf("%s:C0:T0:L%d", ad.name, d.lunID)
			var uid, target, transport, adapterDetails, targetDetails string
			if ad.kind == "fc" {
				target = "fc.5000000000000000:5000000000000001"
				uid = ad.uid + "-" + target + "-" + naa
				transport = "fc"
				wwpn := strings.SplitN(strings.TrimPrefix(ad.uid, "fc."), ":", 2)[1]
				adapterDetails = "WWNN: " + colonHex(strings.SplitN(strings.TrimPrefix(ad.uid, "fc."), ":", 2)[0]) + " WWPN: " + colonHex(wwpn)
				targetDetails = "WWNN: 50:00:00:00:00:00:00:00 WWPN: 50:00:00:00:00:00:00:01"
			} else if ad.kind == "sdc" {
				// PowerFlex: the scini block adapter, no SCSI target.
				target = "sdc." + ad.uid
				uid = "sdc." + ad.uid + "-" + naa
				transport = "block"
				adapterDetails = "PowerFlex SDC " + ad.uid
				targetDetails = "Not Applicable"
			} else {
				target = d.targetIQN() + ",t,1"
				uid = ad.uid + "-00023d000001," + target + "-" + naa
				transport = "iscsi"
				adapterDetails = "iSCSI Software Adapter"
				targetDetails = "IQN=" + d.targetIQN() + " Alias= Session=00023d000001 PortalTag=1"
			}
			if wantPath != "" && wantPath != runtime && wantPath != uid {
				continue
			}
			rs = append(rs, rec("UID", uid, "RuntimeName", runtime, "Device", naa,
				"DeviceDisplayName", fmt.Sprintf("%s Disk (%s)", strings.TrimSpace(d.vendor), naa),
				"Adapter", ad.name, "Controller", "Not Applicable", "Channel", "0", "Target", "0",
				"LUN", strconv.Itoa(d.lunID), "Plugin", "NMP", "State", state, "Transport", transport,
				"AdapterIdentifier", ad.uid, "TargetIdentifier", target,
				"AdapterTransportDetails", adapterDetails, "TargetTransportDetails", targetDetails,
				"MaximumIOSize", "33553920"))
		}
	}
	return lookup("storage.core.path", "list").list(rs)
}

func colonHex(s string) string {
	var parts []string
	for i := 0; i+2 <= len(s); i += 2 {
		parts = append(parts, s[i:i+2])
	}
	return strings.Join(parts, ":")
}

func cmdIscsiRediscover(h *hostState, a cliArgs) (cliResult, *cliFault) {
	ad := h.adapterByName(a.str("adapter"))
	if ad == nil || ad.kind != "iscsi" {
		return cliResult{}, newCLIFault("%s is not an iSCSI adapter", a.str("adapter"))
	}
	return ok()
}

func settingRecord(s *advancedSetting) record {
	return rec("Path", s.path, "Type", "integer", "IntValue", strconv.FormatInt(s.value, 10),
		"DefaultIntValue", strconv.FormatInt(s.def, 10), "MinValue", strconv.FormatInt(s.lo, 10),
		"MaxValue", strconv.FormatInt(s.hi, 10), "StringValue", "", "DefaultStringValue", "",
		"ValidCharacters", "", "Description", s.desc, "HostSpecific", "false", "Impact", "none")
}

func cmdSettingsList(h *hostState, a cliArgs) (cliResult, *cliFault) {
	var rs []record
	if o := a.str("option"); o != "" {
		s := h.settings[o]
		if s == nil {
			return cliResult{}, newCLIFault("Unable to find option %s", o)
		}
		rs = append(rs, settingRecord(s))
	} else {
		for _, p := range h.order {
			s := h.settings[p]
			if a.flag("delta") && s.value == s.def || a.has("tree") && !strings.HasPrefix(p, a.str("tree")) {
				continue
			}
			rs = append(rs, settingRecord(s))
		}
	}
	return lookup("system.settings.advanced", "list").list(rs)
}

func cmdSettingsSet(h *hostState, a cliArgs) (cliResult, *cliFault) {
	s := h.settings[a.str("option")]
	if s == nil {
		return cliResult{}, newCLIFault("Unable to find option %s", a.str("option"))
	}
	switch {
	case a.flag("default"):
		s.value = s.def
	case a.has("intvalue"):
		v, err := strconv.ParseInt(a.str("intvalue"), 10, 64)
		if err != nil || v < s.lo || v > s.hi {
			return cliResult{}, newCLIFault("Invalid value %s for option %s: must be an integer between %d and %d", a.str("intvalue"), s.path, s.lo, s.hi)
		}
		s.value = v
	case a.has("stringvalue"):
		return cliResult{}, newCLIFault("Option %s is an integer option; use --int-value", s.path)
	default:
		return cliResult{}, newCLIFault("You must specify a value (--int-value, --string-value or --default)")
	}
	h.syncAdvancedOptions()
	return ok()
}

func cmdVersionGet(h *hostState, a cliArgs) (cliResult, *cliFault) {
	return lookup("system.version", "get").single(rec("Product", "VMware ESXi", "Version", h.version,
		"Build", "Releasebuild-22380479", "Update", "2", "Patch", "0"))
}

func cmdHostnameGet(h *hostState, a cliArgs) (cliResult, *cliFault) {
	short, domain, _ := strings.Cut(h.name, ".")
	return lookup("system.hostname", "get").single(rec("DomainName", domain, "FullyQualifiedDomainName", h.name, "HostName", short))
}

func vibID(v worldVib) string {
	return fmt.Sprintf("%s_bootbank_%s_%s", v.Vendor, v.Name, v.Version)
}

func cmdVibList(h *hostState, a cliArgs) (cliResult, *cliFault) {
	var rs []record
	for _, v := range h.vibs {
		rs = append(rs, rec("ID", vibID(v), "Name", v.Name, "Version", v.Version, "Vendor", v.Vendor,
			"AcceptanceLevel", v.AcceptanceLevel, "InstallDate", "2026-01-01", "Platforms", "host"))
	}
	return lookup("software.vib", "list").list(rs)
}

func cmdVibGet(h *hostState, a cliArgs) (cliResult, *cliFault) {
	names := a["vibname"]
	var rs []record
	match := func(v worldVib, spec string) bool {
		parts := strings.Split(spec, ":")
		switch len(parts) {
		case 1:
			return v.Name == parts[0]
		case 2:
			return v.Name == parts[0] && v.Version == parts[1] || v.Vendor == parts[0] && v.Name == parts[1]
		case 3:
			return v.Vendor == parts[0] && v.Name == parts[1] && v.Version == parts[2]
		}
		return false
	}
	for _, spec := range names {
		found := false
		for _, v := range h.vibs {
			if match(v, spec) {
				found = true
			}
		}
		if !found {
			return cliResult{}, newCLIFault("[NoMatchError]\n No VIB matching VIB search specification '%s'.\n Please refer to the log file for more details.", spec)
		}
	}
	for _, v := range h.vibs {
		want := len(names) == 0
		for _, spec := range names {
			want = want || match(v, spec)
		}
		if !want {
			continue
		}
		rs = append(rs, rec("ID", vibID(v), "Name", v.Name, "Version", v.Version, "Type", "bootbank",
			"Vendor", v.Vendor, "AcceptanceLevel", v.AcceptanceLevel, "Summary", v.Name, "Description", v.Name,
			"ReferenceURLs", "", "CreationDate", "2026-01-01", "Depends", "", "Conflicts", "", "Replaces", "",
			"Provides", "", "MaintenanceModeRequired", "False", "HardwarePlatformsRequired", "",
			"LiveInstallAllowed", "True", "LiveRemoveAllowed", "True", "StatelessReady", "True",
			"Overlay", "False", "Tags", "", "Payloads", "payload1", "Platforms", "host"))
	}
	return lookup("software.vib", "get").list(rs)
}
