// Command hoist-vcsim is the lab's vCenter: govmomi's simulator (vcsim) in vCenter mode, extended with
// what the xcopy populator needs and vcsim 0.24 lacks — remote esxcli through
// HostSystem.RetrieveManagedMethodExecuter / ExecuteSoap, VMFS datastores on SAN LUNs, hosts with
// iSCSI/FC adapters and multipath state, and devices that appear after a rescan when a lab array
// simulator maps a LUN to the host's initiator (see README.md for the world file and the SAN contract).
//
// It listens on loopback, prints one JSON line describing the inventory (URL first) on stdout, and
// serves until SIGTERM or SIGINT.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/vmware/govmomi/simulator"
)

type options struct {
	world    string
	listen   string
	urlFile  string
	stateDir string
	sanDir   string
	wrapper  string
	fakes    string
	busybox  string
	user     string
	password string
	useTLS   bool
	trace    bool
}

func main() {
	var o options
	flag.StringVar(&o.world, "world", "", "world description (JSON); empty: one host, no datastores")
	flag.StringVar(&o.listen, "listen", "127.0.0.1:0", "address to listen on (loopback)")
	flag.StringVar(&o.urlFile, "url-file", "", "also write the inventory JSON line to this file (atomically)")
	flag.StringVar(&o.stateDir, "state-dir", "", "directory for per-host ESXi state (default: a temporary directory)")
	flag.StringVar(&o.sanDir, "san-dir", "", "SAN mapping directory written by array simulators (overrides the world's sanDir)")
	flag.StringVar(&o.wrapper, "wrapper", "", "vmkfstools-wrapper script run for the esxcli vmkfstools namespace")
	flag.StringVar(&o.fakes, "fakes", "", "directory with the fake vmkfstools and vsish executables")
	flag.StringVar(&o.busybox, "busybox", "busybox", "busybox binary used to run the wrapper as ESXi's ash does")
	flag.StringVar(&o.user, "user", "", "accept only this user name (default: any non-empty credentials)")
	flag.StringVar(&o.password, "password", "", "password for --user")
	flag.BoolVar(&o.useTLS, "tls", false, "serve https with a self-signed certificate (written to <state-dir>/ca.pem)")
	flag.BoolVar(&o.trace, "trace", false, "log SOAP requests and responses to stderr")
	flag.Parse()

	log.SetFlags(log.LstdFlags | log.Lmicroseconds)
	log.SetPrefix("hoist-vcsim: ")

	if err := run(o); err != nil {
		log.Fatal(err)
	}
}

func run(o options) error {
	w, err := loadWorld(o.world)
	if err != nil {
		return err
	}
	if err := w.applyOptions(o); err != nil {
		return err
	}
	if w.StateDir == "" {
		dir, err := os.MkdirTemp("", "hoist-vcsim-")
		if err != nil {
			return err
		}
		w.StateDir = dir
		// Registered first, so it runs after the lab has stopped its tasks.
		defer os.RemoveAll(dir)
	}
	if err := os.MkdirAll(w.StateDir, 0o755); err != nil {
		return err
	}

	model := simulator.VPX()
	model.Datacenter = 1
	model.Host = 0
	model.Cluster = 1
	model.ClusterHost = 0
	model.Machine = 0
	model.Datastore = 0
	model.Portgroup = 0
	model.Autostart = false
	if err := model.Create(); err != nil {
		return fmt.Errorf("creating the simulator model: %w", err)
	}
	defer model.Remove()

	model.Service.Listen = &url.URL{Host: o.listen}
	if o.user != "" {
		model.Service.Listen.User = url.UserPassword(o.user, o.password)
	}
	if o.useTLS {
		cfg, err := selfSignedTLS()
		if err != nil {
			return err
		}
		model.Service.TLS = cfg
	}
	if o.trace {
		simulator.Trace = true
		simulator.TraceFile = os.Stderr
	}

	srv := model.Service.NewServer()
	defer srv.Close()
	// Requests for RetrieveManagedMethodExecuter / RetrieveDynamicTypeManager on a HostSystem are
	// routed to hoist's esxcli objects (see esxcli.go); everything else is vcsim's.
	srv.Config.Handler = newHostMethodRouter(srv.Config.Handler)

	lab, err := buildWorld(context.Background(), srv.URL, w)
	if err != nil {
		return err
	}
	defer lab.stop()

	inv := lab.inventory(srv.URL)
	if o.useTLS {
		ca := filepath.Join(w.StateDir, "ca.pem")
		if err := writeCertificate(srv, ca); err != nil {
			return err
		}
		inv.CAFile = ca
	}
	line, err := json.Marshal(inv)
	if err != nil {
		return err
	}
	if o.urlFile != "" {
		tmp := o.urlFile + ".tmp"
		if err := os.WriteFile(tmp, append(line, '\n'), 0o644); err != nil {
			return err
		}
		if err := os.Rename(tmp, o.urlFile); err != nil {
			return err
		}
	}
	fmt.Println(string(line))
	log.Printf("serving %s with %d host(s)", inv.URL, len(lab.hosts))

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	log.Printf("stopping")
	return nil
}

func writeCertificate(srv *simulator.Server, path string) error {
	src, err := srv.CertificateFile()
	if err != nil {
		return err
	}
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}
