package main

// Faults a test can inject into one host at run time, by writing <host root>/faults.json:
//
//	{"commands": [{"command": "vmkfstools taskGet", "times": 1, "message": "host communication error"}],
//	 "slowDevices": {"naa.600a0980…": 3, "*": 2}}
//
// - commands: the next `times` calls of the esxcli command fail as vCenter fails a call it could not
//   relay to the host: a SOAP SystemError fault (transient), not a CLI fault of the command.
// - slowDevices: a newly mapped device (or any, "*") stays invisible for that many rescans, as a LUN
//   that takes a while to show up after mapping (field notes row 7).
// Counters are decremented in the file, so a test sees what was consumed.

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
)

type commandFault struct {
	Command string `json:"command"`
	Times   int    `json:"times"`
	Message string `json:"message"`
}

type hostFaults struct {
	Commands    []commandFault `json:"commands,omitempty"`
	SlowDevices map[string]int `json:"slowDevices,omitempty"`
}

var faultsMu sync.Mutex

func (h *hostState) faultsPath() string { return filepath.Join(h.root, "faults.json") }

// withFaults reads the host's faults, lets f change them, and writes them back when f returns true.
func (h *hostState) withFaults(f func(*hostFaults) bool) {
	faultsMu.Lock()
	defer faultsMu.Unlock()
	data, err := os.ReadFile(h.faultsPath())
	if err != nil {
		return
	}
	var hf hostFaults
	if json.Unmarshal(data, &hf) != nil {
		return
	}
	if f(&hf) {
		if out, err := json.Marshal(&hf); err == nil {
			tmp := h.faultsPath() + ".tmp"
			if os.WriteFile(tmp, out, 0o644) == nil {
				_ = os.Rename(tmp, h.faultsPath())
			}
		}
	}
}

// takeCommandFault returns the message of a pending fault for `command` ("vmkfstools taskGet"), or "".
func (h *hostState) takeCommandFault(command string) string {
	msg := ""
	h.withFaults(func(hf *hostFaults) bool {
		for i := range hf.Commands {
			c := &hf.Commands[i]
			if c.Command == command && c.Times > 0 {
				c.Times--
				msg = c.Message
				if msg == "" {
					msg = "A general system error occurred: host communication error"
				}
				return true
			}
		}
		return false
	})
	return msg
}

// deviceHidden reports (and counts) one rescan during which a new device stays invisible.
func (h *hostState) deviceHidden(naa string) bool {
	hidden := false
	h.withFaults(func(hf *hostFaults) bool {
		for _, k := range []string{naa, "*"} {
			if hf.SlowDevices[k] > 0 {
				hf.SlowDevices[k]--
				hidden = true
				return true
			}
		}
		return false
	})
	return hidden
}
