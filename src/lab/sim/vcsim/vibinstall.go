package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
)

// `esxcli software vib install -v <file>` as ESXi does it for a local VIB file: the file is an ar
// archive (descriptor.xml, sig.pkcs7, payload1); the payload's checksum must match the descriptor;
// an unsigned VIB needs --no-sig-check; a community-supported VIB on a host at a stricter acceptance
// level needs -f; a VIB of the same name is replaced. The payload's files are unpacked under the host
// root, so the vmkfstools namespace then runs the wrapper and plugin XML the VIB carried.

// Registered after commands.go's init (files initialise in name order) has set up the registry.
func init() {
	registry = append(registry, &command{ns: "software.vib", name: "install",
		help: "Installs VIB packages from a URL or depot.",
		params: []param{
			opt("--viburl", "-v", "Specifies one or more URLs to VIB packages to install."),
			opt("--depot", "-d", "Specifies full remote URLs of the depot index.xml or server file path pointing to an offline bundle .zip file."),
			opt("--dry-run", "", "Performs a dry-run only.").flg(),
			opt("--force", "-f", "Bypasses checks for package dependencies, conflicts, obsolescence, and acceptance levels.").flg(),
			opt("--no-sig-check", "", "Bypasses acceptance level verification, including signing.").flg(),
			opt("--no-live-install", "", "Forces an install to /altbootbank even if the VIBs are eligible for live installation.").flg(),
			opt("--maintenance-mode", "", "Pretends that maintenance mode is in effect.").flg(),
		},
		formatter: "simple", kind: "struct", result: "InstallationResult", run: cmdVibInstall})
}

type vibDescriptor struct {
	Name        string `xml:"name"`
	Version     string `xml:"version"`
	Vendor      string `xml:"vendor"`
	Acceptance  string `xml:"acceptance-level"`
	LiveInstall string `xml:"live-install-allowed"`
	Payloads    []struct {
		Name      string `xml:"name,attr"`
		Size      int64  `xml:"size,attr"`
		Checksums []struct {
			Type   string `xml:"checksum-type,attr"`
			Verify string `xml:"verify-process,attr"`
			Value  string `xml:",chardata"`
		} `xml:"checksum"`
	} `xml:"payloads>payload"`
}

// arMembers reads a GNU ar archive.
func arMembers(data []byte) (map[string][]byte, error) {
	if !bytes.HasPrefix(data, []byte("!<arch>\n")) {
		return nil, fmt.Errorf("not an ar archive")
	}
	out := map[string][]byte{}
	p := 8
	for p+60 <= len(data) {
		hdr := data[p : p+60]
		name := strings.TrimRight(strings.TrimSpace(string(hdr[0:16])), "/")
		size, err := strconv.Atoi(strings.TrimSpace(string(hdr[48:58])))
		if err != nil || p+60+size > len(data) {
			return nil, fmt.Errorf("damaged ar member header at offset %d", p)
		}
		out[name] = data[p+60 : p+60+size]
		p += 60 + size
		if p%2 == 1 {
			p++
		}
	}
	return out, nil
}

var acceptanceRank = map[string]int{"community": 0, "CommunitySupported": 0, "partner": 1, "PartnerSupported": 1,
	"accepted": 2, "VMwareAccepted": 2, "certified": 3, "VMwareCertified": 3}

func cmdVibInstall(h *hostState, a cliArgs) (cliResult, *cliFault) {
	urls := a["viburl"]
	if len(urls) == 0 {
		return cliResult{}, newCLIFault("[InstallationError]\n At least one of --depot or --viburl must be given.")
	}
	var installed, removed []string
	for _, u := range urls {
		p := strings.TrimPrefix(u, "file://")
		if !strings.HasPrefix(p, "/") {
			return cliResult{}, newCLIFault("[VibDownloadError]\n ('%s', '', 'only local files are supported by this host')", u)
		}
		data, err := os.ReadFile(filepath.Join(h.root, filepath.Clean(p)))
		if err != nil {
			return cliResult{}, newCLIFault("[VibDownloadError]\n ('%s', '', \"[Errno 2] No such file or directory: '%s'\")\n url = %s\nPlease refer to the log file for more details.", u, p, u)
		}
		members, err := arMembers(data)
		if err != nil {
			return cliResult{}, newCLIFault("[VibFormatError]\n %s: %v", u, err)
		}
		var d vibDescriptor
		if err := xml.Unmarshal(members["descriptor.xml"], &d); err != nil || d.Name == "" {
			return cliResult{}, newCLIFault("[VibFormatError]\n %s: unreadable descriptor.xml", u)
		}
		var files []tarFile
		for _, pl := range d.Payloads {
			body, ok := members[pl.Name]
			if !ok || int64(len(body)) != pl.Size {
				return cliResult{}, newCLIFault("[VibFormatError]\n payload %s of %s is missing or has the wrong size", pl.Name, d.Name)
			}
			for _, c := range pl.Checksums {
				if c.Type == "sha-256" && c.Verify == "" {
					sum := sha256.Sum256(body)
					if hex.EncodeToString(sum[:]) != strings.TrimSpace(c.Value) {
						return cliResult{}, newCLIFault("[VibFormatError]\n payload %s of %s fails its sha-256 checksum", pl.Name, d.Name)
					}
				}
			}
			fs, err := untgz(body)
			if err != nil {
				return cliResult{}, newCLIFault("[VibFormatError]\n payload %s of %s: %v", pl.Name, d.Name, err)
			}
			files = append(files, fs...)
		}
		if len(members["sig.pkcs7"]) == 0 && !a.flag("nosigcheck") {
			return cliResult{}, newCLIFault("[VibSignatureError]\n VIB %s_%s is not signed. Use --no-sig-check to install it.", d.Vendor, d.Name)
		}
		hostLevel := h.acceptanceLevel()
		if acceptanceRank[d.Acceptance] < acceptanceRank[hostLevel] && !a.flag("force") {
			return cliResult{}, newCLIFault("[AcceptanceLevelError]\n VIB %s_bootbank_%s_%s's acceptance level is %s, which is not compliant with the ImageProfile acceptance level %s\n To change the host acceptance level, use the 'esxcli software acceptance set' command.\n Please refer to the log file for more details.",
				d.Vendor, d.Name, d.Version, d.Acceptance, hostLevel)
		}
		if a.flag("dryrun") {
			continue
		}
		for _, f := range files {
			dst := filepath.Join(h.root, filepath.Clean("/"+f.name))
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return cliResult{}, newCLIFault("[InstallationError]\n %v", err)
			}
			if err := os.WriteFile(dst, f.data, f.mode); err != nil {
				return cliResult{}, newCLIFault("[InstallationError]\n %v", err)
			}
		}
		v := worldVib{Name: d.Name, Version: d.Version, Vendor: d.Vendor, AcceptanceLevel: map[string]string{
			"community": "CommunitySupported", "partner": "PartnerSupported", "accepted": "VMwareAccepted",
			"certified": "VMwareCertified"}[d.Acceptance]}
		kept := h.vibs[:0]
		for _, old := range h.vibs {
			if old.Name == v.Name {
				removed = append(removed, vibID(old))
				continue
			}
			kept = append(kept, old)
		}
		h.vibs = append(kept, v)
		installed = append(installed, vibID(v))
	}
	msg := "Operation finished successfully."
	if a.flag("dryrun") {
		msg = "Dryrun only, host not changed. The following installers will be applied: [LiveImageInstaller]"
	}
	r := record{{"Message", []string{msg}}, {"RebootRequired", []string{"false"}},
		{"VIBsInstalled", installed}, {"VIBsRemoved", removed}, {"VIBsSkipped", nil}}
	return lookup("software.vib", "install").single(r)
}

// The host's image acceptance level (`esxcli software acceptance get`): PartnerSupported, as on a
// fresh install.
func (h *hostState) acceptanceLevel() string { return "PartnerSupported" }

// installedPluginFile is the vmkfstools esxcli plugin a VIB installed under the host root, or "".
func (h *hostState) installedPluginFile() string {
	p := filepath.Join(h.root, "usr/lib/vmware/esxcli/ext/esxcli-vmkfstools.xml")
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}

type tarFile struct {
	name string
	data []byte
	mode os.FileMode
}

func untgz(body []byte) ([]tarFile, error) {
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(zr)
	var out []tarFile
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if hdr.Typeflag != tar.TypeReg && hdr.Typeflag != tar.TypeRegA {
			continue
		}
		name := path.Clean("/" + hdr.Name)
		data, err := io.ReadAll(tr)
		if err != nil {
			return nil, err
		}
		out = append(out, tarFile{name: name, data: data, mode: os.FileMode(hdr.Mode & 0o777)})
	}
}
