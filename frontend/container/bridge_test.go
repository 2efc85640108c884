package container

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/myctr/myctr/frontend/helperclient"
	"github.com/myctr/myctr/frontend/network"
	"github.com/myctr/myctr/protocol"
)

// TestEtcFilesBridge: a bridged container's /etc/hosts names it at its
// bridge address, and its resolv.conf keeps the host's nameservers but the
// loopback ones; with none left, a warning says it has no DNS.
func TestEtcFilesBridge(t *testing.T) {
	c := &Container{ID: "0123456789ab" + strings.Repeat("0", 52), Name: "web", HostConfig: HostConfig{NetworkMode: network.ModeBridge}}
	spec := &specs.Spec{Hostname: "0123456789ab"}
	b := &network.Bridge{Address: netip.MustParsePrefix("10.88.0.7/16"), Gateway: netip.MustParseAddr("10.88.0.1")}

	files, warnings := etcFiles(c, spec, "", "nameserver 127.0.0.53\nnameserver 192.0.2.53\nsearch lan\n", "192.0.2.2", b)
	if !strings.Contains(files["hosts"], "10.88.0.7\t0123456789ab web\n") || !strings.Contains(files["hosts"], "10.88.0.1\thost.containers.internal\n") {
		t.Errorf("hosts:\n%s", files["hosts"])
	}
	if files["resolv.conf"] != "nameserver 192.0.2.53\nsearch lan\n" || len(warnings) != 0 {
		t.Errorf("resolv.conf %q, warnings %v", files["resolv.conf"], warnings)
	}
	files, warnings = etcFiles(c, spec, "", "nameserver 127.0.0.53\noptions edns0\n", "192.0.2.2", b)
	if strings.Contains(files["resolv.conf"], "nameserver") || len(warnings) != 1 || !strings.Contains(warnings[0], "no DNS") {
		t.Errorf("loopback only: resolv.conf %q, warnings %v", files["resolv.conf"], warnings)
	}
	// Before the helper attached it (nil bridge): no address of its own yet.
	files, _ = etcFiles(c, spec, "", "nameserver 127.0.0.53\n", "192.0.2.2", nil)
	if !strings.Contains(files["hosts"], "127.0.0.1\t0123456789ab web\n") {
		t.Errorf("before attach: hosts:\n%s", files["hosts"])
	}
}

// TestMonitorReportErrors: a detached container's failure crosses from the
// monitor to the CLI as text, and comes back matching the same sentinels,
// with its polkit action and port, so that the CLI gives the same hint.
func TestMonitorReportErrors(t *testing.T) {
	port := network.PortMapping{HostPort: 80, ContainerPort: 80, Protocol: "tcp"}
	for _, tc := range []struct {
		err    error
		is     []error
		action string
		port   bool
	}{
		{&network.Error{Err: protocol.NotAuthorized(protocol.ActionNetwork, "no"), Msg: "attach"}, []error{protocol.ErrNotAuthorized}, protocol.ActionNetwork, false},
		{&network.PortError{Port: port, Err: protocol.NotAuthorized(protocol.ActionPublishLowPort, "no")}, []error{protocol.ErrNotAuthorized}, protocol.ActionPublishLowPort, true},
		{&network.Error{Err: errors.Join(helperclient.ErrNotInstalled), Msg: "--network bridge"}, []error{helperclient.ErrNotInstalled}, "", false},
		{&StartError{errors.New("plain"), 127}, nil, "", false},
	} {
		rep := failureReport(tc.err)
		back := rep.err()
		if back.Error() != tc.err.Error() {
			t.Errorf("%v: text %q", tc.err, back)
		}
		for _, s := range tc.is {
			if !errors.Is(back, s) {
				t.Errorf("%v: does not match %v after the report", tc.err, s)
			}
		}
		var pe *protocol.Error
		if tc.action != "" && (!errors.As(back, &pe) || pe.Action != tc.action) {
			t.Errorf("%v: action lost", tc.err)
		}
		var perr *network.PortError
		if got := errors.As(back, &perr); got != tc.port || (got && perr.Port != port) {
			t.Errorf("%v: port error %v %+v", tc.err, got, perr)
		}
		if exitOf(back) != exitOf(tc.err) {
			t.Errorf("%v: exit %d, want %d", tc.err, exitOf(back), exitOf(tc.err))
		}
	}
}

// TestHostsFile: /etc/hosts as Podman writes it: --add-host entries
// first, the host's file (with localhost entries of our own where it has
// none), host.containers.internal, the container's own names.
func TestHostsFile(t *testing.T) {
	in := hostsInput{extra: []string{"db:192.0.2.9", "v6:[fd00::5]", "gw:host-gateway"}, base: "127.0.0.1 localhost\n127.0.0.1 vm",
		hostIP: "192.0.2.2", ownIP: "10.0.2.100", names: []string{"abc", "web"}}
	want := "192.0.2.9\tdb\nfd00::5\tv6\n192.0.2.2\tgw\n127.0.0.1 localhost\n127.0.0.1 vm\n192.0.2.2\thost.containers.internal\n10.0.2.100\tabc web\n"
	if got := hostsFile(in); got != want {
		t.Errorf("hostsFile:\n%s\nwant:\n%s", got, want)
	}
	// No localhost in the host's file, no host address, a base that names
	// host.containers.internal itself.
	in = hostsInput{base: "# nothing\n10.1.1.1 host.containers.internal\n", ownIP: "127.0.0.1", names: []string{"abc"}, extra: []string{"gw:host-gateway"}}
	got := hostsFile(in)
	if !strings.HasPrefix(got, "127.0.0.1\tlocalhost ") || !strings.Contains(got, "\n::1\tlocalhost ") ||
		strings.Count(got, "host.containers.internal") != 1 || strings.Contains(got, "\tgw") || !strings.HasSuffix(got, "127.0.0.1\tabc\n") {
		t.Errorf("hostsFile without localhost or host address:\n%s", got)
	}
	// A host name that is the container's name shows twice, as Podman
	// writes it; a name --add-host or the base file gives is not repeated.
	in = hostsInput{base: "127.0.0.1 localhost\n", ownIP: "10.0.2.100", names: []string{"web", "web"}}
	if got := hostsFile(in); !strings.HasSuffix(got, "\n10.0.2.100\tweb web\n") {
		t.Errorf("hostsFile, host name = name:\n%s", got)
	}
	in = hostsInput{base: "127.0.0.1 localhost\n", extra: []string{"web:192.0.2.7"}, ownIP: "10.0.2.100", names: []string{"abc", "web"}}
	if got := hostsFile(in); !strings.HasSuffix(got, "\n10.0.2.100\tabc\n") {
		t.Errorf("hostsFile, a name --add-host gives:\n%s", got)
	}
	if got := hostsEntry("1.2.3.4 abc web\n", "127.0.0.1", []string{"abc", "web"}); got != "" {
		t.Errorf("hostsEntry of names all taken = %q, want none", got)
	}
	for _, bad := range []string{"foo", ":1.2.3.4", "foo:bar", "foo:1.2.3", "a b:1.2.3.4", "foo:fe80::1%eth0"} {
		if _, _, err := ParseAddHost(bad); !errors.Is(err, ErrInvalidAddHost) {
			t.Errorf("ParseAddHost(%q) = %v, want ErrInvalidAddHost", bad, err)
		}
	}
}
