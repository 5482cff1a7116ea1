package main

import (
	"context"
	"encoding/hex"
	"fmt"
	"html"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// The esxcli vmkfstools namespace runs hoist's vmkfstools-wrapper under `busybox sh`, as ESXi's esxcli
// plugin runs it under ash, with the fake vmkfstools and vsish first on PATH. The environment tells
// the fakes where this host's file system lives (HOIST_ESXI_ROOT, see hostState) and whether the
// array would do the copy (HOIST_FAKE_XCOPY).

var (
	wrapperFieldRe = regexp.MustCompile(`(?s)<field name="(\w+)">\s*<string>(.*?)</string>\s*</field>`)
	pluginCmdRe    = regexp.MustCompile(`(?s)<command path="vmkfstools\.(\w+)">.*?<execute>(.*?)</execute>`)
	pluginValRe    = regexp.MustCompile(`\$val\{([\w-]+)\}`)
)

// pluginLine builds the shell command ESXi's esxcli plugin framework would run for a vmkfstools
// command: the <execute> line of esxcli-vmkfstools.xml (next to the wrapper) with $val{…} replaced
// by the argument text and the installed wrapper path replaced by `busybox sh <wrapper>`. ok is false
// when the plugin file is missing.
func (h *hostState) pluginLine(name string, vals map[string]string) (string, bool) {
	w := h.lab.w
	pluginFile := filepath.Join(filepath.Dir(w.Wrapper), "esxcli-vmkfstools.xml")
	installed := h.installedPluginFile() // a VIB installed with `software vib install` (vibinstall.go)
	if installed != "" {
		pluginFile = installed
	}
	data, err := os.ReadFile(pluginFile)
	if err != nil {
		return "", false
	}
	for _, m := range pluginCmdRe.FindAllStringSubmatch(string(data), -1) {
		if m[1] != name {
			continue
		}
		line := html.UnescapeString(strings.TrimSpace(m[2]))
		line = pluginValRe.ReplaceAllStringFunc(line, func(v string) string {
			return vals[pluginValRe.FindStringSubmatch(v)[1]]
		})
		exe, rest, _ := strings.Cut(line, " ")
		if !strings.HasSuffix(exe, "vmkfstools-wrapper") {
			return "", false
		}
		wrapper := w.Wrapper
		if installed != "" {
			wrapper = filepath.Join(h.root, exe)
		}
		return shellQuote(w.Busybox) + " sh " + shellQuote(wrapper) + " " + rest, true
	}
	return "", false
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func (h *hostState) runWrapper(env []string, name string, vals map[string]string, args ...string) (cliResult, *cliFault) {
	w := h.lab.w
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var cmd *exec.Cmd
	if line, ok := h.pluginLine(name, vals); ok {
		cmd = exec.CommandContext(ctx, w.Busybox, "sh", "-c", line)
	} else {
		cmd = exec.CommandContext(ctx, w.Busybox, append([]string{"sh", w.Wrapper}, args...)...)
	}
	path := os.Getenv("PATH")
	if w.Fakes != "" {
		path = w.Fakes + ":" + path
	}
	cmd.Env = append(os.Environ(),
		"PATH="+path,
		"HOIST_ESXI_ROOT="+h.root,
		// The wrapper looks up /tmp and /vmfs under this prefix when it does not run on ESXi.
		"HOIST_WRAPPER_ROOT_FOR_TEST="+h.root,
		"HOIST_ESXI_HOST="+h.name,
		"TMPDIR="+filepath.Join(h.root, "tmp"),
	)
	for k, v := range w.Env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Env = append(cmd.Env, env...)
	cmd.Dir = h.root
	// Output goes to files, not pipes: the wrapper leaves vmkfstools running in the background, and a
	// pipe it inherited would keep us waiting for the whole clone.
	stdout, err := os.CreateTemp(filepath.Join(h.root, "tmp"), "esxcli-out-")
	if err != nil {
		return cliResult{}, newCLIFault("Unable to run vmkfstools-wrapper: %v", err)
	}
	defer os.Remove(stdout.Name())
	defer stdout.Close()
	stderr, err := os.CreateTemp(filepath.Join(h.root, "tmp"), "esxcli-err-")
	if err != nil {
		return cliResult{}, newCLIFault("Unable to run vmkfstools-wrapper: %v", err)
	}
	defer os.Remove(stderr.Name())
	defer stderr.Close()
	cmd.Stdout, cmd.Stderr = stdout, stderr
	runErr := cmd.Run()
	out, _ := os.ReadFile(stdout.Name())
	errOut, _ := os.ReadFile(stderr.Name())
	fields := map[string]string{}
	for _, m := range wrapperFieldRe.FindAllStringSubmatch(string(out), -1) {
		fields[m[1]] = m[2]
	}
	status, hasStatus := fields["status"]
	if !hasStatus {
		log.Printf("host %s: vmkfstools-wrapper %v: %v; stdout %q; stderr %q", h.name, args, runErr, out, errOut)
		msg := strings.TrimSpace(string(errOut))
		if msg == "" {
			msg = fmt.Sprintf("%v", runErr)
		}
		return cliResult{}, newCLIFault("Error while running the vmkfstools-wrapper plugin: %s", msg)
	}
	// The plugin framework turns the wrapper's XML into a structure; whether the wrapper escaped its
	// values or not, the client receives the text.
	message := fields["message"]
	if strings.Contains(message, "&") {
		message = html.UnescapeString(message)
	}
	return cliResult{kind: "struct", typeName: "VimEsxCLIvmkfstoolsresult",
		records: []record{rec("message", message, "status", html.UnescapeString(status))}}, nil
}

func cmdVmkfstoolsClone(h *hostState, a cliArgs) (cliResult, *cliFault) {
	src, dst := a.str("sourcevmdk"), a.str("targetlun")
	xcopy := "0"
	if h.xcopyPossible(src, dst) {
		xcopy = "1"
	}
	return h.runWrapper([]string{"HOIST_FAKE_XCOPY=" + xcopy, fmt.Sprintf("HOIST_FAKE_XCOPY_KB=%d", h.setting("/DataMover/MaxHWTransferSize"))}, "clone",
		map[string]string{"source-vmdk": src, "target-lun": dst}, "--clone", "-s", src, "-t", dst)
}

// xcopyPossible: ESXi's data mover offloads a clone to the array (SCSI EXTENDED COPY) when both
// devices are VAAI-capable LUNs of the same array and /DataMover/HardwareAcceleratedMove is 1.
func (h *hostState) xcopyPossible(src, dst string) bool {
	src, dst = decodeHexArg(src), decodeHexArg(dst)
	if h.setting("/DataMover/HardwareAcceleratedMove") != 1 {
		return false
	}
	rest := strings.TrimPrefix(src, "/vmfs/volumes/")
	if rest == src {
		return false
	}
	dsName := strings.SplitN(rest, "/", 2)[0]
	ds := h.lab.datastores[dsName]
	if ds == nil || ds.spec.Array == "" {
		return false
	}
	naa := strings.ToLower(filepath.Base(dst))
	d := h.devices[naa]
	return d != nil && d.array == ds.spec.Array && d.cloneOffload()
}

// decodeHexArg undoes the hex:<bytes> form hoist uses for paths a quote could break.
func decodeHexArg(s string) string {
	if strings.HasPrefix(s, "hex:") {
		if b, err := hex.DecodeString(s[4:]); err == nil {
			return string(b)
		}
	}
	return s
}

func cmdVmkfstoolsTaskGet(h *hostState, a cliArgs) (cliResult, *cliFault) {
	return h.runWrapper(nil, "taskGet", map[string]string{"id": a.str("id")}, "--task-get", "-i", a.str("id"))
}

func cmdVmkfstoolsTaskClean(h *hostState, a cliArgs) (cliResult, *cliFault) {
	return h.runWrapper(nil, "taskClean", map[string]string{"id": a.str("id")}, "--task-clean", "-i", a.str("id"))
}

func cmdVmkfstoolsVersion(h *hostState, a cliArgs) (cliResult, *cliFault) {
	return h.runWrapper(nil, "version", nil, "--version")
}
