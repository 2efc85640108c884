package network

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/myctr/myctr/frontend/helperclient"
	"github.com/myctr/myctr/frontend/helperclient/helpertest"
	"github.com/myctr/myctr/protocol"
)

// fakeHelper is the fake helper on a private bus, and a client of it.
func fakeHelper(t *testing.T) (*helpertest.Helper, *helperclient.Client) {
	t.Helper()
	addr := helpertest.StartBus(t)
	h := helpertest.New(helpertest.Config{Reply: protocol.AttachNetworkReply{Interface: "mc0123456789ab", Address: "10.88.0.7/16", Gateway: "10.88.0.1", MTU: 1500}})
	helpertest.Serve(t, addr, h)
	helpertest.Own(t, addr, "org.freedesktop.PolicyKit1")
	devnull, _ := os.Open(os.DevNull)
	t.Cleanup(func() { devnull.Close() })
	c, err := helperclient.Connect(helperclient.Options{Address: addr, Interactive: true, Stdin: devnull})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return h, c
}

// TestAttachBridge: the sequence the helper sees (version, attach with our
// namespaces, one publish per port, a free host port for HostPort 0), and
// what the container's init gets.
func TestAttachBridge(t *testing.T) {
	h, c := fakeHelper(t)
	ports := []PortMapping{
		{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"},
		{HostIP: "127.0.0.1", ContainerPort: 53, Protocol: "udp"},
	}
	b, err := AttachBridge(context.Background(), c, "c1", os.Getpid(), ports, protocol.AttachOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := h.Methods(); !slices.Equal(got, []string{"GetVersion", "AttachNetwork", "PublishPort", "PublishPort"}) {
		t.Errorf("calls %v", got)
	}
	calls := h.Calls()
	if calls[1].Args[0] != "c1" || !strings.HasPrefix(calls[1].FDs[0].Link, "user:[") || !strings.HasPrefix(calls[1].FDs[1].Link, "net:[") {
		t.Errorf("attach: %+v", calls[1])
	}
	picked := calls[3].Args[3].(uint16)
	if picked == 0 || calls[3].Args[1] != "udp" || calls[3].Args[2] != "127.0.0.1" || calls[3].Args[4] != uint16(53) {
		t.Errorf("publish of HostPort 0: %v", calls[3].Args)
	}
	if calls[2].Args[3] != uint16(8080) || calls[2].Args[2] != "" {
		t.Errorf("publish 8080: %v", calls[2].Args)
	}
	want := &Bridge{Bridge: protocol.DefaultBridge, Interface: "mc0123456789ab", Address: netip.MustParsePrefix("10.88.0.7/16"),
		Gateway: netip.MustParseAddr("10.88.0.1"), MTU: 1500,
		Ports: []PortMapping{ports[0], {HostIP: "127.0.0.1", HostPort: picked, ContainerPort: 53, Protocol: "udp"}}}
	if !reflect.DeepEqual(b, want) {
		t.Errorf("bridge %+v\nwant %+v", b, want)
	}
	ic := b.InterfaceConfig()
	if ic.Interface != "mc0123456789ab" || ic.Name != "eth0" || !slices.Equal(ic.Address, []byte{10, 88, 0, 7}) ||
		ic.PrefixLen != 16 || !slices.Equal(ic.Gateway, []byte{10, 88, 0, 1}) || ic.MTU != 1500 {
		t.Errorf("interface config %+v", ic)
	}
}

// TestAttachBridgeFailures: whatever fails after AttachNetwork, the
// attachment is released and the error keeps its cause (and port).
func TestAttachBridgeFailures(t *testing.T) {
	ports := []PortMapping{{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}, {HostPort: 80, ContainerPort: 80, Protocol: "tcp"}}
	for _, tc := range []struct {
		name    string
		set     func(c *helpertest.Config)
		calls   []string
		is      error
		port    uint16 // of the PortError, 0 for none
		message string
	}{
		{"attach refused", func(c *helpertest.Config) {
			c.Fail = map[string]*protocol.Error{"AttachNetwork": protocol.NotAuthorized(protocol.ActionNetwork, "no")}
		}, []string{"GetVersion", "AttachNetwork"}, protocol.ErrNotAuthorized, 0, "attach the container to bridge myctr0: no"},
		{"second port refused", func(c *helpertest.Config) {
			c.Fail = map[string]*protocol.Error{"PublishPort": protocol.NotAuthorized(protocol.ActionPublishLowPort, "low")}
			c.FailAfter = map[string]int{"PublishPort": 1}
		}, []string{"GetVersion", "AttachNetwork", "PublishPort", "PublishPort", "ReleaseNetwork"}, protocol.ErrNotAuthorized, 80, "publish :80->80/tcp: low"},
		{"quota", func(c *helpertest.Config) {
			c.Fail = map[string]*protocol.Error{"AttachNetwork": protocol.Errorf(protocol.ErrLimitExceeded, "8 containers")}
		}, []string{"GetVersion", "AttachNetwork"}, protocol.ErrLimitExceeded, 0, "8 containers"},
		{"bad reply", func(c *helpertest.Config) { c.Reply.Gateway = "192.0.2.1" },
			[]string{"GetVersion", "AttachNetwork", "ReleaseNetwork"}, ErrStart, 0, "outside the container's network"},
		{"old helper", func(c *helpertest.Config) { c.Features = []string{protocol.FeatureBridge} },
			[]string{"GetVersion"}, helperclient.ErrMissingFeature, 0, "network.publish"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, c := fakeHelper(t)
			h.Configure(tc.set)
			_, err := AttachBridge(context.Background(), c, "c1", os.Getpid(), ports, protocol.AttachOptions{})
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.message) {
				t.Errorf("err = %v, want %v with %q", err, tc.is, tc.message)
			}
			var pe *PortError
			if got := errors.As(err, &pe); got != (tc.port != 0) || (got && pe.Port.HostPort != tc.port) {
				t.Errorf("port error: %v %+v, want port %d", got, pe, tc.port)
			}
			if got := h.Methods(); !slices.Equal(got, tc.calls) {
				t.Errorf("calls %v, want %v", got, tc.calls)
			}
		})
	}
}

// TestAttachBridgeRetries: an attachment left by an earlier run (Conflict)
// is released and made again; a picked host port that the helper has
// published already is picked again.
func TestAttachBridgeRetries(t *testing.T) {
	h, c := fakeHelper(t)
	h.Configure(func(c *helpertest.Config) {
		c.Fail = map[string]*protocol.Error{
			"AttachNetwork": protocol.Errorf(protocol.ErrConflict, "attached with other namespaces"),
			"PublishPort":   protocol.Errorf(protocol.ErrConflict, "taken"),
		}
		// Only the first attach and the first publish fail.
		c.FailTimes = map[string]int{"AttachNetwork": 1, "PublishPort": 1}
	})
	b, err := AttachBridge(context.Background(), c, "c1", os.Getpid(), []PortMapping{{ContainerPort: 80, Protocol: "tcp"}}, protocol.AttachOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"GetVersion", "AttachNetwork", "ReleaseNetwork", "AttachNetwork", "PublishPort", "PublishPort"}
	if got := h.Methods(); !slices.Equal(got, want) {
		t.Errorf("calls %v, want %v", got, want)
	}
	if len(b.Ports) != 1 || b.Ports[0].HostPort == 0 {
		t.Errorf("ports %+v", b.Ports)
	}
	// An explicit host port is not changed behind the user's back.
	h2, c2 := fakeHelper(t)
	h2.Configure(func(c *helpertest.Config) {
		c.Fail = map[string]*protocol.Error{"PublishPort": protocol.Errorf(protocol.ErrConflict, "taken")}
	})
	_, err = AttachBridge(context.Background(), c2, "c1", os.Getpid(), []PortMapping{{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}}, protocol.AttachOptions{})
	if !errors.Is(err, protocol.ErrConflict) {
		t.Errorf("explicit port: %v", err)
	}
	if got := h2.Methods(); !slices.Equal(got, []string{"GetVersion", "AttachNetwork", "PublishPort", "ReleaseNetwork"}) {
		t.Errorf("explicit port: calls %v", got)
	}
}
