package cli

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"
)

// TestHelperBridge: the helper's bridge and subnet from its configuration
// file, the defaults for what it lacks or a file that is not there.
func TestHelperBridge(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		conf, bridge, subnet string
	}{
		{"", "myctr0", "10.88.0.0/16"},
		{"# bridge = x\nmtu = 1400\n", "myctr0", "10.88.0.0/16"},
		{"bridge = br7\nsubnet = 10.77.0.0/24\n", "br7", "10.77.0.0/24"},
		{"subnet = nonsense\n", "myctr0", "10.88.0.0/16"},
	} {
		p := filepath.Join(dir, "helper.conf")
		if err := os.WriteFile(p, []byte(tc.conf), 0o644); err != nil {
			t.Fatal(err)
		}
		b, s := helperBridge(p)
		if b != tc.bridge || s != netip.MustParsePrefix(tc.subnet) {
			t.Errorf("%q: %s %s, want %s %s", tc.conf, b, s, tc.bridge, tc.subnet)
		}
	}
	if b, s := helperBridge(filepath.Join(dir, "nothere")); b != "myctr0" || s.String() != "10.88.0.0/16" {
		t.Errorf("no file: %s %s", b, s)
	}
	n := defaultNetwork()
	if n.Name != "podman" || n.ID != "2f259bab93aaaaa2542ba43ef33eb990d0999ee1b9924b557b7be53c0b7a1bb9" || n.Driver != "bridge" || len(n.Subnets) != 1 {
		t.Errorf("defaultNetwork() = %+v", n)
	}
}
