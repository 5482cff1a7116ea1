package main

// Remote esxcli as vCenter relays it to a host (the wire contract govmomi's cli/esx and pyVmomi use):
//
//	RetrieveManagedMethodExecuter(_this=HostSystem)  -> ReflectManagedMethodExecuter moref
//	RetrieveDynamicTypeManager(_this=HostSystem)     -> InternalDynamicTypeManager moref
//	ExecuteSoap(_this=executer, moid, version, method, argument[]{name, val})
//	    -> returnval{response: "<obj xsi:type=…>…</obj>", fault{faultMsg, faultDetail}}
//
// moid "ha-dynamic-type-manager-local-cli-cliinfo" + method "vim.CLIInfo.FetchCLIInfo" describes a
// namespace; moid "ha-cli-handler-<ns with ->" + method "vim.EsxCLI.<ns>.<cmd>" runs a command. Each
// argument's val is a small XML document, <name>value</name>, repeated for lists.

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"regexp"
	"strings"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
	"github.com/vmware/govmomi/vim25/xml"
)

// SOAP request and response types. govmomi keeps its own in an internal package, so these repeat the
// same XML names; the response types' Go names are the response element names vcsim writes.

type retrieveManagedMethodExecuterRequest struct {
	This types.ManagedObjectReference `xml:"_this"`
}

type RetrieveManagedMethodExecuterResponse struct {
	Returnval *types.ManagedObjectReference `xml:"returnval,omitempty"`
}

type retrieveManagedMethodExecuterBody struct {
	Res    *RetrieveManagedMethodExecuterResponse `xml:"RetrieveManagedMethodExecuterResponse,omitempty"`
	Fault_ *soap.Fault                            `xml:"http://schemas.xmlsoap.org/soap/envelope/ Fault,omitempty"`
}

func (b *retrieveManagedMethodExecuterBody) Fault() *soap.Fault { return b.Fault_ }

type retrieveDynamicTypeManagerRequest struct {
	This types.ManagedObjectReference `xml:"_this"`
}

type RetrieveDynamicTypeManagerResponse struct {
	Returnval *types.ManagedObjectReference `xml:"returnval,omitempty"`
}

type retrieveDynamicTypeManagerBody struct {
	Res    *RetrieveDynamicTypeManagerResponse `xml:"RetrieveDynamicTypeManagerResponse,omitempty"`
	Fault_ *soap.Fault                         `xml:"http://schemas.xmlsoap.org/soap/envelope/ Fault,omitempty"`
}

func (b *retrieveDynamicTypeManagerBody) Fault() *soap.Fault { return b.Fault_ }

type soapArgument struct {
	Name string `xml:"name"`
	Val  string `xml:"val"`
}

type executeSoapRequest struct {
	This     types.ManagedObjectReference `xml:"_this"`
	Moid     string                       `xml:"moid"`
	Version  string                       `xml:"version"`
	Method   string                       `xml:"method"`
	Argument []soapArgument               `xml:"argument,omitempty"`
}

type soapFaultResult struct {
	FaultMsg    string `xml:"faultMsg"`
	FaultDetail string `xml:"faultDetail,omitempty"`
}

type soapResult struct {
	Response string           `xml:"response,omitempty"`
	Fault    *soapFaultResult `xml:"fault,omitempty"`
}

type ExecuteSoapResponse struct {
	Returnval *soapResult `xml:"returnval,omitempty"`
}

type executeSoapBody struct {
	Res    *ExecuteSoapResponse `xml:"ExecuteSoapResponse,omitempty"`
	Fault_ *soap.Fault          `xml:"http://schemas.xmlsoap.org/soap/envelope/ Fault,omitempty"`
}

func (b *executeSoapBody) Fault() *soap.Fault { return b.Fault_ }

type moFilterSpec struct {
	Id         string `xml:"id,omitempty"`
	TypeSubstr string `xml:"typeSubstr,omitempty"`
}

type queryMoInstancesRequest struct {
	This       types.ManagedObjectReference `xml:"_this"`
	FilterSpec *moFilterSpec                `xml:"filterSpec,omitempty"`
}

type moInstance struct {
	Id     string `xml:"id"`
	MoType string `xml:"moType"`
}

type DynamicTypeMgrQueryMoInstancesResponse struct {
	Returnval []moInstance `xml:"returnval,omitempty"`
}

type queryMoInstancesBody struct {
	Res    *DynamicTypeMgrQueryMoInstancesResponse `xml:"DynamicTypeMgrQueryMoInstancesResponse,omitempty"`
	Fault_ *soap.Fault                             `xml:"http://schemas.xmlsoap.org/soap/envelope/ Fault,omitempty"`
}

func (b *queryMoInstancesBody) Fault() *soap.Fault { return b.Fault_ }

type queryTypeInfoRequest struct {
	This       types.ManagedObjectReference `xml:"_this"`
	FilterSpec *moFilterSpec                `xml:"filterSpec,omitempty"`
}

type paramTypeInfo struct {
	Name    string `xml:"name"`
	Version string `xml:"version"`
	Type    string `xml:"type"`
}

type methodTypeInfo struct {
	Name           string          `xml:"name"`
	WsdlName       string          `xml:"wsdlName"`
	Version        string          `xml:"version"`
	ParamTypeInfo  []paramTypeInfo `xml:"paramTypeInfo,omitempty"`
	ReturnTypeInfo *paramTypeInfo  `xml:"returnTypeInfo,omitempty"`
}

type managedTypeInfo struct {
	Name     string           `xml:"name"`
	WsdlName string           `xml:"wsdlName"`
	Version  string           `xml:"version"`
	Base     []string         `xml:"base,omitempty"`
	Method   []methodTypeInfo `xml:"method,omitempty"`
}

type allTypeInfo struct {
	ManagedTypeInfo []managedTypeInfo `xml:"managedTypeInfo,omitempty"`
}

type DynamicTypeMgrQueryTypeInfoResponse struct {
	Returnval *allTypeInfo `xml:"returnval,omitempty"`
}

type queryTypeInfoBody struct {
	Res    *DynamicTypeMgrQueryTypeInfoResponse `xml:"DynamicTypeMgrQueryTypeInfoResponse,omitempty"`
	Fault_ *soap.Fault                          `xml:"http://schemas.xmlsoap.org/soap/envelope/ Fault,omitempty"`
}

func (b *queryTypeInfoBody) Fault() *soap.Fault { return b.Fault_ }

func init() {
	types.Add("RetrieveManagedMethodExecuter", reflect.TypeOf((*retrieveManagedMethodExecuterRequest)(nil)).Elem())
	types.Add("RetrieveDynamicTypeManager", reflect.TypeOf((*retrieveDynamicTypeManagerRequest)(nil)).Elem())
	types.Add("ExecuteSoap", reflect.TypeOf((*executeSoapRequest)(nil)).Elem())
	types.Add("DynamicTypeMgrQueryMoInstances", reflect.TypeOf((*queryMoInstancesRequest)(nil)).Elem())
	types.Add("DynamicTypeMgrQueryTypeInfo", reflect.TypeOf((*queryTypeInfoRequest)(nil)).Elem())
}

// hostCliType is the managed object type of the per-host object that answers the two "Retrieve…"
// methods. vcsim dispatches a method to the Go object registered under _this and its HostSystem type
// cannot be extended, so the router below re-types _this of exactly those two requests.
const hostCliType = "HoistHostEsxcli"

var hostMethodRe = regexp.MustCompile(`(<(?:[\w.-]+:)?(?:RetrieveManagedMethodExecuter|RetrieveDynamicTypeManager)\b[^>]*>\s*<(?:[\w.-]+:)?_this\b[^>]*\btype\s*=\s*["'])HostSystem(["'])`)

type hostMethodRouter struct{ next http.Handler }

func newHostMethodRouter(next http.Handler) http.Handler { return &hostMethodRouter{next: next} }

func (r *hostMethodRouter) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method == http.MethodPost && strings.HasPrefix(req.URL.Path, "/sdk") {
		body, err := io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if bytes.Contains(body, []byte("RetrieveManagedMethodExecuter")) || bytes.Contains(body, []byte("RetrieveDynamicTypeManager")) {
			body = hostMethodRe.ReplaceAll(body, []byte("${1}"+hostCliType+"${2}"))
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.ContentLength = int64(len(body))
	}
	r.next.ServeHTTP(w, req)
}

// hostCli, executer and dynTypeMgr are the managed objects registered per host. Each embeds an mo type
// first: vcsim walks every registered object down to its mo struct (SearchIndex, PropertyCollector).
type hostCli struct {
	mo.ExtensibleManagedObject
	host *hostState
}

type executer struct {
	mo.ExtensibleManagedObject
	host *hostState
}

type dynTypeMgr struct {
	mo.ExtensibleManagedObject
	host *hostState
}

func (h *hostState) hostNumber() string {
	return strings.TrimPrefix(h.ref.Value, "host-")
}

func (h *hostState) executerRef() types.ManagedObjectReference {
	return types.ManagedObjectReference{Type: "ReflectManagedMethodExecuter", Value: "ManagedMethodExecuter-" + h.hostNumber()}
}

func (h *hostState) dynTypeMgrRef() types.ManagedObjectReference {
	return types.ManagedObjectReference{Type: "InternalDynamicTypeManager", Value: "DynamicTypeManager-" + h.hostNumber()}
}

func (h *hostState) registerEsxcli() error {
	simulator.Map.Put(&hostCli{mo.ExtensibleManagedObject{Self: types.ManagedObjectReference{Type: hostCliType, Value: h.ref.Value}}, h})
	simulator.Map.Put(&executer{mo.ExtensibleManagedObject{Self: h.executerRef()}, h})
	simulator.Map.Put(&dynTypeMgr{mo.ExtensibleManagedObject{Self: h.dynTypeMgrRef()}, h})
	return nil
}

func (o *hostCli) RetrieveManagedMethodExecuter(ctx *simulator.Context, _ *retrieveManagedMethodExecuterRequest) soap.HasFault {
	ref := o.host.executerRef()
	return &retrieveManagedMethodExecuterBody{Res: &RetrieveManagedMethodExecuterResponse{Returnval: &ref}}
}

func (o *hostCli) RetrieveDynamicTypeManager(ctx *simulator.Context, _ *retrieveDynamicTypeManagerRequest) soap.HasFault {
	ref := o.host.dynTypeMgrRef()
	return &retrieveDynamicTypeManagerBody{Res: &RetrieveDynamicTypeManagerResponse{Returnval: &ref}}
}

func (o *dynTypeMgr) DynamicTypeMgrQueryMoInstances(ctx *simulator.Context, req *queryMoInstancesRequest) soap.HasFault {
	res := &DynamicTypeMgrQueryMoInstancesResponse{}
	res.Returnval = append(res.Returnval, moInstance{Id: cliInfoMoid, MoType: "vim.CLIInfo"})
	for _, ns := range o.host.namespaces() {
		inst := moInstance{Id: "ha-cli-handler-" + strings.ReplaceAll(ns, ".", "-"), MoType: "vim.EsxCLI." + ns}
		if f := req.FilterSpec; f != nil {
			if f.Id != "" && f.Id != inst.Id || f.TypeSubstr != "" && !strings.Contains(inst.MoType, f.TypeSubstr) {
				continue
			}
		}
		res.Returnval = append(res.Returnval, inst)
	}
	return &queryMoInstancesBody{Res: res}
}

func (o *dynTypeMgr) DynamicTypeMgrQueryTypeInfo(ctx *simulator.Context, req *queryTypeInfoRequest) soap.HasFault {
	info := &allTypeInfo{}
	for _, ns := range o.host.namespaces() {
		t := managedTypeInfo{
			Name: "vim.EsxCLI." + ns, WsdlName: wsdlName(ns), Version: "vim.version.version7",
			Base: []string{"vmodl.ManagedObject"},
		}
		if f := req.FilterSpec; f != nil && f.TypeSubstr != "" && !strings.Contains(t.Name, f.TypeSubstr) {
			continue
		}
		for _, m := range o.host.commands(ns) {
			mi := methodTypeInfo{Name: m.name, WsdlName: wsdlName(ns + "." + m.name), Version: "vim.version.version7"}
			for _, p := range m.params {
				typ := "string"
				if p.typ != "" {
					typ = p.typ
				}
				mi.ParamTypeInfo = append(mi.ParamTypeInfo, paramTypeInfo{Name: p.name, Version: "vim.version.version7", Type: typ})
			}
			mi.ReturnTypeInfo = &paramTypeInfo{Name: "result", Version: "vim.version.version7", Type: m.returnType()}
			t.Method = append(t.Method, mi)
		}
		info.ManagedTypeInfo = append(info.ManagedTypeInfo, t)
	}
	return &queryTypeInfoBody{Res: &DynamicTypeMgrQueryTypeInfoResponse{Returnval: info}}
}

const cliInfoMoid = "ha-dynamic-type-manager-local-cli-cliinfo"

func wsdlName(dotted string) string {
	return "VimEsxCLI" + strings.ReplaceAll(dotted, ".", "")
}

// ExecuteSoap runs FetchCLIInfo or an esxcli command. Failures of the command itself come back inside
// returnval.fault, as ESXi does; only malformed requests are SOAP faults.
func (o *executer) ExecuteSoap(ctx *simulator.Context, req *executeSoapRequest) soap.HasFault {
	if !strings.HasPrefix(req.Version, "urn:vim25/") && !strings.HasPrefix(req.Version, "vim25/") {
		return &executeSoapBody{Fault_: simulator.Fault(fmt.Sprintf("unsupported version %q", req.Version), &types.InvalidArgument{InvalidProperty: "version"})}
	}
	args := map[string][]string{}
	var order []string
	for _, a := range req.Argument {
		if _, seen := args[a.Name]; !seen {
			order = append(order, a.Name)
		}
		args[a.Name] = append(args[a.Name], argumentValues(a.Name, a.Val)...)
	}
	var res cliResult
	var fault *cliFault
	if req.Moid == cliInfoMoid {
		if req.Method != "vim.CLIInfo.FetchCLIInfo" {
			fault = notFoundFault()
		} else {
			res, fault = o.host.fetchCLIInfo(first(args["typeName"]))
		}
	} else {
		command := strings.ReplaceAll(strings.TrimPrefix(req.Method, "vim.EsxCLI."), ".", " ")
		if msg := o.host.takeCommandFault(command); msg != "" {
			return &executeSoapBody{Fault_: simulator.Fault(msg, &types.SystemError{Reason: msg})}
		}
		res, fault = o.host.execute(req.Moid, req.Method, args, order)
	}
	out := &soapResult{}
	if fault != nil {
		out.Fault = &soapFaultResult{FaultMsg: fault.msg, FaultDetail: fault.detail()}
	} else {
		out.Response = res.encode()
	}
	return &executeSoapBody{Res: &ExecuteSoapResponse{Returnval: out}}
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

var argElementRe = regexp.MustCompile(`(?s)<([\w.:-]+)(?:\s[^>]*)?>(.*?)</([\w.:-]+)>`)

// argumentValues decodes "<name>v1</name><name>v2</name>". govmomi does not escape the value, so a
// value with '&' or '<' is taken verbatim when the fragment is not well-formed XML.
func argumentValues(name, val string) []string {
	dec := xml.NewDecoder(strings.NewReader("<v>" + val + "</v>"))
	var out []string
	depth := 0
	var cur *strings.Builder
	ok := true
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			ok = false
			break
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 2 {
				cur = &strings.Builder{}
			}
		case xml.CharData:
			if depth == 2 && cur != nil {
				cur.Write(t)
			}
		case xml.EndElement:
			if depth == 2 && cur != nil {
				out = append(out, cur.String())
				cur = nil
			}
			depth--
		}
	}
	if ok && (len(out) > 0 || !strings.Contains(val, "<")) {
		if len(out) == 0 && strings.TrimSpace(val) != "" {
			return []string{val}
		}
		return out
	}
	out = nil
	for _, m := range argElementRe.FindAllStringSubmatch(val, -1) {
		out = append(out, m[2])
	}
	return out
}

// cliFault is an esxcli failure: faultMsg is the message id ESXi puts there
// ("EsxCLI.CLIFault.summary"), the text is in the LocalizedMethodFault of faultDetail.
type cliFault struct {
	msg, faultType, errMsg string
}

func newCLIFault(format string, a ...interface{}) *cliFault {
	return &cliFault{msg: "EsxCLI.CLIFault.summary", faultType: "VimEsxCLICLIFault", errMsg: fmt.Sprintf(format, a...)}
}

func notFoundFault() *cliFault {
	return &cliFault{msg: "The object or item referred to could not be found.", faultType: "NotFound"}
}

func (f *cliFault) detail() string {
	var b strings.Builder
	b.WriteString(objOpen("LocalizedMethodFault"))
	fmt.Fprintf(&b, `<fault xsi:type="%s">`, f.faultType)
	if f.errMsg != "" {
		b.WriteString("<errMsg>" + xmlEscape(f.errMsg) + "</errMsg>")
	}
	b.WriteString("</fault><localizedMessage>" + xmlEscape(f.msg) + "</localizedMessage></obj>")
	return b.String()
}

func objOpen(xsiType string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<obj xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns="urn:vim25" versionId="5.0" xsi:type="` + xsiType + `">`
}

// xmlEscape escapes text content the way pyVmomi's serializer does (&, <, >; quotes stay), dropping
// characters XML 1.0 cannot carry.
func xmlEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r < 0x20 && r != '\t' && r != '\n' && r != '\r', r == 0xFFFE, r == 0xFFFF:
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// field is one output field of an esxcli record; repeated values make a list.
type field struct {
	name   string
	values []string
}

type record []field

func rec(kv ...string) record {
	var r record
	for i := 0; i+1 < len(kv); i += 2 {
		r = append(r, field{kv[i], []string{kv[i+1]}})
	}
	return r
}

// cliResult is what a command returns: records (a list, or a single structure), a string or a boolean.
type cliResult struct {
	kind     string // "list", "struct", "string", "boolean"
	typeName string // DataObject type, e.g. VimEsxCLIstoragecoredevicelistScsiDevice
	records  []record
	scalar   string
}

func (r cliResult) encode() string {
	var b strings.Builder
	switch r.kind {
	case "raw": // pre-encoded (CLIInfo)
		return r.scalar
	case "string", "boolean":
		b.WriteString(objOpen("xsd:" + r.kind))
		b.WriteString(xmlEscape(r.scalar))
		b.WriteString("</obj>")
	case "struct":
		b.WriteString(objOpen(r.typeName))
		if len(r.records) > 0 {
			writeFields(&b, r.records[0])
		}
		b.WriteString("</obj>")
	default:
		b.WriteString(objOpen("ArrayOfDataObject"))
		for _, rc := range r.records {
			fmt.Fprintf(&b, `<DataObject xsi:type="%s">`, r.typeName)
			writeFields(&b, rc)
			b.WriteString("</DataObject>")
		}
		b.WriteString("</obj>")
	}
	return b.String()
}

func writeFields(b *strings.Builder, r record) {
	for _, f := range r {
		if len(f.values) == 0 {
			fmt.Fprintf(b, "<%s></%s>", f.name, f.name)
		}
		for _, v := range f.values {
			fmt.Fprintf(b, "<%s>%s</%s>", f.name, xmlEscape(v), f.name)
		}
	}
}

// CLIInfo (vim.CLIInfo.FetchCLIInfo): the namespace's methods, their parameters (name without dashes,
// displayName, aliases, flag) and formatter hints; clients parse argv against it.
func (h *hostState) fetchCLIInfo(typeName string) (cliResult, *cliFault) {
	ns := strings.TrimPrefix(typeName, "vim.EsxCLI.")
	cmds := h.commands(ns)
	if ns == typeName || len(cmds) == 0 {
		return cliResult{}, notFoundFault()
	}
	var b strings.Builder
	parts := strings.Split(ns, ".")
	b.WriteString(objOpen("VimCLIInfoCLIInfo"))
	fmt.Fprintf(&b, "<name>%s</name><displayName>%s</displayName><help>%s</help>", xmlEscape(typeName), parts[len(parts)-1], xmlEscape(namespaceHelp[ns]))
	for _, m := range cmds {
		fmt.Fprintf(&b, `<method xsi:type="VimCLIInfoMethodInfo"><name>%s</name><displayName>%s</displayName><help>%s</help>`, m.name, m.name, xmlEscape(m.help))
		for _, p := range m.params {
			typ := "string"
			if p.typ != "" {
				typ = p.typ
			}
			fmt.Fprintf(&b, `<param xsi:type="VimCLIInfoParamInfo"><name>%s</name><displayName>%s</displayName><help>%s</help>`, p.name, p.display, xmlEscape(p.help))
			for _, a := range p.aliases {
				fmt.Fprintf(&b, "<aliases>%s</aliases>", a)
			}
			fmt.Fprintf(&b, "<flag>%t</flag><type>%s</type><required>%t</required></param>", p.flag, typ, p.required)
		}
		hints := []field{{"formatter", []string{m.formatter}}}
		if m.fields != "" {
			hints = append([]field{{"fields:" + m.fieldsKey, []string{m.fields}}}, hints...)
		}
		for _, hint := range hints {
			fmt.Fprintf(&b, "<hints><key>%s</key><value>%s</value></hints>", xmlEscape(hint.name), xmlEscape(hint.values[0]))
		}
		b.WriteString("</method>")
	}
	b.WriteString("</obj>")
	return cliResult{kind: "raw", scalar: b.String()}, nil
}

// execute dispatches "ha-cli-handler-storage-core-device" + "vim.EsxCLI.storage.core.device.list".
func (h *hostState) execute(moid, method string, args map[string][]string, order []string) (cliResult, *cliFault) {
	if !strings.HasPrefix(moid, "ha-cli-handler-") || !strings.HasPrefix(method, "vim.EsxCLI.") {
		return cliResult{}, notFoundFault()
	}
	full := strings.TrimPrefix(method, "vim.EsxCLI.")
	i := strings.LastIndex(full, ".")
	if i < 0 {
		return cliResult{}, notFoundFault()
	}
	ns, name := full[:i], full[i+1:]
	if "ha-cli-handler-"+strings.ReplaceAll(ns, ".", "-") != moid {
		return cliResult{}, notFoundFault()
	}
	var cmd *command
	for _, c := range h.commands(ns) {
		if c.name == name {
			cmd = c
		}
	}
	if cmd == nil {
		return cliResult{}, notFoundFault()
	}
	known := map[string]*param{}
	for i := range cmd.params {
		known[cmd.params[i].name] = &cmd.params[i]
	}
	for _, n := range order {
		p := known[n]
		if p == nil {
			return cliResult{}, newCLIFault("Invalid option %s", n)
		}
		if !p.flag && len(args[n]) > 0 && args[n][0] == "" {
			return cliResult{}, newCLIFault("Missing parameter for --%s", p.display)
		}
	}
	for _, p := range cmd.params {
		if p.required && len(args[p.name]) == 0 {
			return cliResult{}, newCLIFault("Missing required parameter -%s|--%s", strings.TrimLeft(p.aliases[0], "-"), p.display)
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return cmd.run(h, cliArgs(args))
}

type cliArgs map[string][]string

func (a cliArgs) str(name string) string { return first(a[name]) }

func (a cliArgs) has(name string) bool { return len(a[name]) > 0 }

// flag reads a boolean parameter: pyVmomi sends "true", govc sends whatever followed the option ("1").
func (a cliArgs) flag(name string) bool {
	if !a.has(name) {
		return false
	}
	switch strings.ToLower(a.str(name)) {
	case "false", "0", "no":
		return false
	}
	return true
}
