package api

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	ctypes "github.com/moby/moby/api/types/container"
	nettypes "github.com/moby/moby/api/types/network"

	"github.com/myctr/myctr/frontend/container"
	"github.com/myctr/myctr/frontend/network"
)

func TestNetworkCreateOptions(t *testing.T) {
	yes := true
	for _, tc := range []struct {
		name string
		req  nettypes.CreateRequest
		want string // the options as name driver subnet gateway subnet6 ipv6 internal mtu; "": refused (400)
	}{
		{"minimal", nettypes.CreateRequest{Name: "n"}, "n bridge    false false "},
		{"docker cli", nettypes.CreateRequest{Name: "n", Driver: "bridge", IPAM: &nettypes.IPAM{Driver: "default"}}, "n bridge    false false "},
		{"subnets", nettypes.CreateRequest{Name: "n", EnableIPv6: &yes, Internal: true, Options: map[string]string{mtuOption: "1400"},
			IPAM: &nettypes.IPAM{Config: []nettypes.IPAMConfig{
				{Subnet: mustPrefix("10.1.2.0/24"), Gateway: mustAddr("10.1.2.9")},
				{Subnet: mustPrefix("fd00:1::/64")},
			}}}, "n bridge 10.1.2.0/24 10.1.2.9 fd00:1::/64 true true 1400"},
		{"no name", nettypes.CreateRequest{}, ""},
		{"overlay", nettypes.CreateRequest{Name: "n", Driver: "overlay"}, ""},
		{"attachable", nettypes.CreateRequest{Name: "n", Attachable: true}, "n bridge    false false "},
		{"swarm", nettypes.CreateRequest{Name: "n", Ingress: true}, ""},
		{"ipam driver", nettypes.CreateRequest{Name: "n", IPAM: &nettypes.IPAM{Driver: "dhcp"}}, ""},
		{"ip range", nettypes.CreateRequest{Name: "n", IPAM: &nettypes.IPAM{Config: []nettypes.IPAMConfig{{Subnet: mustPrefix("10.1.2.0/24"), IPRange: mustPrefix("10.1.2.0/25")}}}}, ""},
		{"two v4", nettypes.CreateRequest{Name: "n", IPAM: &nettypes.IPAM{Config: []nettypes.IPAMConfig{{Subnet: mustPrefix("10.1.2.0/24")}, {Subnet: mustPrefix("10.1.3.0/24")}}}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := networkCreateOptions(&tc.req)
			if tc.want == "" {
				if err == nil || statusOf(err) != 400 {
					t.Fatalf("err %v (status %d), want 400", err, statusOf(err))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Join([]string{o.Name, o.Driver, o.Subnet, o.Gateway, o.Subnet6, boolString(o.IPv6), boolString(o.Internal), o.Options["mtu"]}, " ")
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func TestPublishAll(t *testing.T) {
	o := &container.CreateOptions{Ports: []network.PortMapping{{ContainerPort: 80, HostPort: 8080, Protocol: "tcp"}}}
	req := nettypes.PortSet{nettypes.MustParsePort("53/udp"): {}}
	if err := publishAll(o, map[string]struct{}{"80/tcp": {}, "443": {}}, req); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, p := range o.Ports[1:] {
		got[fmt.Sprintf("%d/%s:%d", p.ContainerPort, p.Protocol, p.HostPort)] = true
	}
	if !got["443/tcp:0"] || !got["53/udp:0"] {
		t.Errorf("ports %+v, want 443/tcp and 53/udp on free host ports", o.Ports)
	}
	if len(o.Ports) != 3 || o.Ports[0].HostPort != 8080 {
		t.Errorf("ports %+v, want 80 kept as given, 443/tcp and 53/udp added", o.Ports)
	}
	if err := publishAll(o, map[string]struct{}{"http/tcp": {}}, nil); err == nil || statusOf(err) != 400 {
		t.Errorf("an invalid exposed port: %v", err)
	}
}

func mustPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }
func mustAddr(s string) netip.Addr     { return netip.MustParseAddr(s) }

func TestWithDefaultAddress(t *testing.T) {
	resp := ctypes.InspectResponse{ID: "abc", NetworkSettings: &ctypes.NetworkSettings{Networks: map[string]*nettypes.EndpointSettings{
		"bridge": {IPAddress: mustAddr("10.0.2.100"), IPPrefixLen: 24, Gateway: mustAddr("10.0.2.2")},
	}}}
	b, err := json.Marshal(withDefaultAddress(resp))
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		ID              string `json:"Id"`
		NetworkSettings struct {
			IPAddress, Gateway string
			IPPrefixLen        int
			Networks           map[string]struct{ IPAddress string }
		}
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	ns := got.NetworkSettings
	if got.ID != "abc" || ns.IPAddress != "10.0.2.100" || ns.IPPrefixLen != 24 || ns.Gateway != "10.0.2.2" || ns.Networks["bridge"].IPAddress != "10.0.2.100" {
		t.Errorf("inspect body %s", b)
	}
}
