package cli

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
	"os"
	"strings"

	"github.com/myctr/myctr/frontend/netstore"
	"github.com/myctr/myctr/protocol"
)

// defaultNetworkName is the name of Podman's default network, which
// scripts inspect (`network inspect podman`). myctr's counterpart is the
// helper's bridge, `--network bridge`: not a record of the network
// store (the name is reserved there), but described here.
const defaultNetworkName = "podman"

// helperConfig is where the helper reads its bridge and subnet unless
// started with --config: the helper's DefaultConfigPath.
const helperConfig = "/etc/myctr/helper.conf"

// defaultBridgeSubnet is the helper's subnet without a configuration
// (the helper's DefaultConfig), Podman's default network's too.
var defaultBridgeSubnet = netip.MustParsePrefix("10.88.0.0/16")

// defaultNetwork describes the helper's bridge in netstore's (Podman's)
// fields: its name and subnet as the helper's configuration file gives
// them (defaults where it does not), the gateway the subnet's first
// address; the id is Podman's for its default network (sha256 of the
// name).
func defaultNetwork() *netstore.Network {
	bridge, subnet := helperBridge(helperConfig)
	sum := sha256.Sum256([]byte(defaultNetworkName))
	return &netstore.Network{
		Name: defaultNetworkName, ID: hex.EncodeToString(sum[:]), Driver: netstore.DriverBridge,
		NetworkInterface: bridge,
		Subnets:          []netstore.Subnet{{Subnet: subnet.String(), Gateway: subnet.Addr().Next().String()}},
		IPAMOptions:      map[string]string{"driver": "host-local"},
	}
}

// helperBridge reads the bridge and subnet keys of the helper's
// configuration file (key = value lines, # comments); what it lacks, or
// a file that cannot be read, gives the helper's defaults.
func helperBridge(path string) (string, netip.Prefix) {
	bridge, subnet := protocol.DefaultBridge, defaultBridgeSubnet
	f, err := os.Open(path)
	if err != nil {
		return bridge, subnet
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch {
		case !ok || strings.HasPrefix(k, "#"):
		case k == "bridge" && v != "":
			bridge = v
		case k == "subnet":
			if p, err := netip.ParsePrefix(v); err == nil && p.Addr().Is4() {
				subnet = p.Masked()
			}
		}
	}
	return bridge, subnet
}
