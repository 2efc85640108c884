package helper

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	c, err := LoadConfig(filepath.Join(dir, "missing.conf"))
	if err != nil || c != DefaultConfig() {
		t.Errorf("missing file: %+v, %v; want the defaults", c, err)
	}
	if g := DefaultConfig().Gateway(); g != netip.MustParsePrefix("10.88.0.1/16") {
		t.Errorf("default gateway %s", g)
	}
	good := filepath.Join(dir, "good.conf")
	os.WriteFile(good, []byte("# a comment\n\nbridge = br1\nsubnet=10.1.0.0/24\nmtu = 1400\nmax_containers_per_user = 3\n"+
		"max_ports_per_user = 4\nidle_timeout = 5s\nreap_interval = 2s\nstate_dir = /run/x/\nnetns = /run/netns/t\n"), 0o644)
	c, err = LoadConfig(good)
	want := Config{Bridge: "br1", Subnet: netip.MustParsePrefix("10.1.0.0/24"), MTU: 1400, MaxContainersPerUser: 3,
		MaxPortsPerUser: 4, MaxCgroupsPerUser: 128, IdleTimeout: 5 * time.Second, ReapInterval: 2 * time.Second, StateDir: "/run/x", NetNS: "/run/netns/t"}
	if err != nil || c != want {
		t.Errorf("LoadConfig: %+v, %v; want %+v", c, err, want)
	}
	for _, tc := range []struct{ text, mention string }{
		{"bridge = myctr0\ncolour = blue\n", "bad.conf:2: invalid configuration: colour: unknown key"},
		{"no equals sign\n", "bad.conf:1"},
		{"subnet = 10.88.0.1/16\n", "subnet"},
		{"subnet = fd00::/64\n", "subnet"},
		{"mtu = 9\n", "mtu"},
		{"idle_timeout = soon\n", "idle_timeout"},
		{"state_dir = relative\n", "state_dir"},
		{"netns = x\n", "netns"},
		{"bridge = a/b\n", "bridge"},
		{"mtu = 1500\nmtu = 1400\n", "bad.conf:2"},
	} {
		p := filepath.Join(dir, "bad.conf")
		os.WriteFile(p, []byte(tc.text), 0o644)
		_, err := LoadConfig(p)
		if err == nil || !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.mention) {
			t.Errorf("%q: %v, want ErrConfig mentioning %q", tc.text, err, tc.mention)
		}
	}
}
