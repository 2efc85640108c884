package systemd

import (
	"bufio"
	"encoding/xml"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/myctr/myctr/protocol"
)

// ini reads a systemd-style file: section -> key -> values (a key may
// repeat).
func ini(t *testing.T, path string) map[string]map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]map[string][]string{}
	sec := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		switch {
		case l == "" || strings.HasPrefix(l, "#"):
		case strings.HasPrefix(l, "["):
			sec = strings.Trim(l, "[]")
			out[sec] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(l, "=")
			if !ok || sec == "" {
				t.Fatalf("%s: bad line %q", path, l)
			}
			out[sec][k] = append(out[sec][k], v)
		}
	}
	return out
}

const helperExec = "@LIBEXECDIR@/myctr/myctr-helper"

// TestActivationFile: the bus starts the helper as root (the launch
// helper's User=), through the unit where systemd runs.
func TestActivationFile(t *testing.T) {
	s := ini(t, "org.myctr.Helper1.service")["D-BUS Service"]
	for k, want := range map[string]string{"Name": protocol.BusName, "User": "root", "Exec": helperExec, "SystemdService": "myctr-helper.service"} {
		if !slices.Equal(s[k], []string{want}) {
			t.Errorf("%s=%v, want %s", k, s[k], want)
		}
	}
}

// TestUnit: D-Bus activated only, and hardened.
func TestUnit(t *testing.T) {
	u := ini(t, "myctr-helper.service")
	if _, ok := u["Install"]; ok {
		t.Error("the unit has an [Install] section: only D-Bus activation starts it")
	}
	s := u["Service"]
	for k, want := range map[string]string{
		"Type": "dbus", "BusName": protocol.BusName, "ExecStart": helperExec,
		"ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes", "NoNewPrivileges": "yes",
		"RuntimeDirectory": "myctr-helper", "RuntimeDirectoryPreserve": "yes",
		"RestrictAddressFamilies": "AF_UNIX AF_NETLINK AF_INET",
		"CapabilityBoundingSet":   "CAP_NET_ADMIN CAP_SYS_ADMIN CAP_NET_BIND_SERVICE CAP_SETPCAP CAP_CHOWN",
	} {
		if !slices.Equal(s[k], []string{want}) {
			t.Errorf("%s=%v, want %s", k, s[k], want)
		}
	}
	if len(s["SystemCallFilter"]) == 0 || s["SystemCallFilter"][0] != "@system-service" {
		t.Errorf("SystemCallFilter=%v", s["SystemCallFilter"])
	}
	// The helper writes net sysctls (ip_forward, route_localnet).
	if _, ok := s["ProtectKernelTunables"]; ok {
		t.Error("ProtectKernelTunables would make /proc/sys/net read-only")
	}
}

type busconfig struct {
	Policies []struct {
		User    string `xml:"user,attr"`
		Context string `xml:"context,attr"`
		Allow   []struct {
			Own             string `xml:"own,attr"`
			SendDestination string `xml:"send_destination,attr"`
			SendInterface   string `xml:"send_interface,attr"`
		} `xml:"allow"`
	} `xml:"policy"`
}

// TestBusPolicy: only root owns the name; anyone may call the interface,
// introspect and ping.
func TestBusPolicy(t *testing.T) {
	b, err := os.ReadFile("org.myctr.Helper1.conf")
	if err != nil {
		t.Fatal(err)
	}
	var c busconfig
	if err := xml.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	var owners, sendable []string
	for _, p := range c.Policies {
		for _, a := range p.Allow {
			if a.Own != "" {
				owners = append(owners, p.User+p.Context+":"+a.Own)
			}
			if p.Context == "default" && a.SendDestination == protocol.BusName {
				sendable = append(sendable, a.SendInterface)
			}
		}
	}
	if !slices.Equal(owners, []string{"root:" + protocol.BusName}) {
		t.Errorf("owners %v, want root only", owners)
	}
	slices.Sort(sendable)
	if want := []string{"org.freedesktop.DBus.Introspectable", "org.freedesktop.DBus.Peer", protocol.Interface}; !slices.Equal(sendable, want) {
		t.Errorf("anyone may send to %v, want %v", sendable, want)
	}
}
