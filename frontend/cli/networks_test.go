package cli

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/myctr/myctr/frontend/container"
	"github.com/myctr/myctr/frontend/netstore"
)

func TestNetworkRmCode(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{fmt.Errorf("unable to find network with name or ID x: %w", netstore.ErrNoSuchNetwork), 1},
		{hint(fmt.Errorf(`"x" has associated containers with it: %w`, netstore.ErrInUse), "h"), 2},
		{errors.New("disk on fire"), 125},
	} {
		if got := networkRmCode(tc.err); got != tc.want {
			t.Errorf("networkRmCode(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}

// Every failure of create that the user can fix gets a Hint.
func TestNetworkCreateHint(t *testing.T) {
	for _, sentinel := range []error{netstore.ErrExists, netstore.ErrReservedName, netstore.ErrSubnetUsed,
		netstore.ErrNoFreeSubnet, netstore.ErrInvalidArg} {
		err := networkCreateHint(fmt.Errorf("x: %w", sentinel), "web")
		if h := hints(err); len(h) != 1 || h[0] == "" || !errors.Is(err, sentinel) {
			t.Errorf("%v: hints %q", sentinel, h)
		}
	}
	if h := hints(networkCreateHint(errors.New("other"), "web")); h != nil {
		t.Errorf("an unknown error got hints %q", h)
	}
}

func TestNetworkLsTable(t *testing.T) {
	n := &netstore.Network{Name: "web", ID: strings.Repeat("ab", 32), Driver: "bridge",
		Labels: map[string]string{"b": "2", "a": "1"}, Subnets: []netstore.Subnet{{Subnet: "10.89.0.0/24", Gateway: "10.89.0.1"}}}
	for _, tc := range []struct {
		format    string
		noTrunc   bool
		noHeading bool
		want      string
	}{
		{"table {{.ID}} {{.Name}} {{.Driver}}", false, false, "NETWORK ID    NAME  DRIVER\nabababababab  web   bridge\n"},
		{"table {{.ID}} {{.Name}} {{.Driver}}", false, true, "abababababab  web  bridge\n"},
		{"{{.ID}}", true, false, strings.Repeat("ab", 32) + "\n"},
		{"{{.Name}} {{.Labels}} {{range .Subnets}}{{.Subnet}} via {{.Gateway}}{{end}}", false, false, "web a=1,b=2 10.89.0.0/24 via 10.89.0.1\n"},
	} {
		lf, err := parseListFormat(tc.format)
		if err != nil {
			t.Fatal(err)
		}
		lf.noHeading = tc.noHeading
		var b bytes.Buffer
		if err := lf.write(&b, networkHeaders, []any{newNetworkRow(n, tc.noTrunc)}, networkFields); err != nil {
			t.Fatal(err)
		}
		if b.String() != tc.want {
			t.Errorf("%q: got %q, want %q", tc.format, b.String(), tc.want)
		}
	}
}

func TestNamedNetworksFlags(t *testing.T) {
	got, err := namedNetworks([]string{"a", "b:alias=x,alias=y,ip=10.89.1.5", "c:interface_name=eth7"}, []string{"both"}, "")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]container.NetworkAttach{
		"a": {Aliases: []string{"both"}, Interface: "eth0"},
		"b": {Aliases: []string{"both", "x", "y"}, IP: "10.89.1.5", Interface: "eth1"},
		"c": {Aliases: []string{"both"}, Interface: "eth7"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	one, err := namedNetworks([]string{"a"}, nil, "10.89.0.7")
	if err != nil || one["a"].IP != "10.89.0.7" {
		t.Errorf("one network with --ip: %+v, %v", one, err)
	}
	for _, bad := range [][]string{
		{"a", "none"},
		{"a", "host"},
		{"a", "a"},
		{"a:mac=02:00:00:00:00:01"},
		{"a:alias=../x"},
		{"a:interface_name=wlan0"},
		{"a:interface_name=eth1", "b"}, // b takes eth1 by its place
	} {
		if _, err := namedNetworks(bad, nil, ""); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	if _, err := namedNetworks([]string{"a", "b"}, nil, "10.89.0.7"); err == nil {
		t.Error("--ip with two networks: no error")
	}
}

func TestNetworkLists(t *testing.T) {
	got := networkLists([]string{"a,b", "c:alias=x,ip=10.0.0.2", "slirp4netns:port_handler=slirp4netns,mtu=1500", "d"})
	want := []string{"a", "b", "c:alias=x,ip=10.0.0.2", "slirp4netns:port_handler=slirp4netns,mtu=1500", "d"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("networkLists = %q, want %q", got, want)
	}
}
