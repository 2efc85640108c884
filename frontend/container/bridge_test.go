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

	files, warnings := etcFiles(c, spec, "", "nameserver 127.0.0.53\nnameserver 192.0.2.53\nsearch lan\n", b)
	if !strings.Contains(files["hosts"], "10.88.0.7\t0123456789ab web\n") || strings.Contains(files["hosts"], "127.0.1.1") {
		t.Errorf("hosts:\n%s", files["hosts"])
	}
	if files["resolv.conf"] != "nameserver 192.0.2.53\nsearch lan\n" || len(warnings) != 0 {
		t.Errorf("resolv.conf %q, warnings %v", files["resolv.conf"], warnings)
	}
	files, warnings = etcFiles(c, spec, "", "nameserver 127.0.0.53\noptions edns0\n", b)
	if strings.Contains(files["resolv.conf"], "nameserver") || len(warnings) != 1 || !strings.Contains(warnings[0], "no DNS") {
		t.Errorf("loopback only: resolv.conf %q, warnings %v", files["resolv.conf"], warnings)
	}
	// Before the helper attached it (nil bridge): no address of its own yet.
	files, _ = etcFiles(c, spec, "", "nameserver 127.0.0.53\n", nil)
	if !strings.Contains(files["hosts"], "127.0.1.1\t0123456789ab web\n") {
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
