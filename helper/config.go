package helper

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/myctr/myctr/protocol"
)

// DefaultConfigPath is read when no --config is given.
const DefaultConfigPath = "/etc/myctr/helper.conf"

// Config is the helper's configuration (helper.conf: "key = value" lines,
// "#" comments).
type Config struct {
	Bridge               string        // bridge: the one bridge callers may use
	Subnet               netip.Prefix  // subnet: the bridge's; the gateway is its first host address
	MTU                  int           // mtu: of the bridge and every veth
	MaxContainersPerUser int           // max_containers_per_user
	MaxPortsPerUser      int           // max_ports_per_user
	MaxCgroupsPerUser    int           // max_cgroups_per_user
	IdleTimeout          time.Duration // idle_timeout: exit after this long without a call
	ReapInterval         time.Duration // reap_interval: how often the reaper runs
	StateDir             string        // state_dir: the ledger
	NetNS                string        // netns: where host-side objects go; "" = the helper's own
	// CgroupRoot (cgroup_root) is the cgroup, below /sys/fs/cgroup,
	// under which the helper makes containers' cgroups itself
	// (cgroupfs); "" = through the system manager where systemd is PID
	// 1, else /myctr.slice.
	CgroupRoot string
}

// DefaultConfig is the configuration without a file.
func DefaultConfig() Config {
	return Config{
		Bridge:               protocol.DefaultBridge,
		Subnet:               netip.MustParsePrefix("10.88.0.0/16"),
		MTU:                  1500,
		MaxContainersPerUser: 64,
		MaxPortsPerUser:      256,
		MaxCgroupsPerUser:    128,
		IdleTimeout:          30 * time.Second,
		ReapInterval:         60 * time.Second,
		StateDir:             "/run/myctr-helper",
	}
}

// Gateway is the bridge's address: the subnet's first host address, with
// the subnet's prefix length.
func (c Config) Gateway() netip.Prefix {
	return netip.PrefixFrom(c.Subnet.Addr().Next(), c.Subnet.Bits())
}

// LoadConfig reads path; a missing file gives DefaultConfig. A malformed
// line or an unknown key is an error naming path:line.
func LoadConfig(path string) (Config, error) {
	c := DefaultConfig()
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("read configuration: %w", err)
	}
	defer f.Close()
	seen := map[string]int{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" {
			return c, fmt.Errorf("%s:%d: %w: want key = value", path, n, ErrConfig)
		}
		if prev, dup := seen[k]; dup {
			return c, fmt.Errorf("%s:%d: %w: %s set again (first at line %d)", path, n, ErrConfig, k, prev)
		}
		seen[k] = n
		if err := c.set(k, v); err != nil {
			return c, fmt.Errorf("%s:%d: %w: %s: %v", path, n, ErrConfig, k, err)
		}
	}
	if err := sc.Err(); err != nil {
		return c, fmt.Errorf("read %s: %w", path, err)
	}
	return c, nil
}

func (c *Config) set(k, v string) error {
	switch k {
	case "bridge":
		if err := protocol.ValidateInterfaceName(v); err != nil {
			return err
		}
		c.Bridge = v
	case "subnet":
		p, err := netip.ParsePrefix(v)
		if err != nil {
			return err
		}
		// Room for the gateway and at least one container.
		if !p.Addr().Is4() || p.Bits() < 8 || p.Bits() > 30 || p.Masked() != p {
			return fmt.Errorf("want an IPv4 network address with a prefix length of 8 to 30, such as 10.88.0.0/16")
		}
		c.Subnet = p
	case "mtu":
		return setInt(&c.MTU, v, 576, 65535)
	case "max_containers_per_user":
		return setInt(&c.MaxContainersPerUser, v, 0, 1<<20)
	case "max_ports_per_user":
		return setInt(&c.MaxPortsPerUser, v, 0, 1<<20)
	case "max_cgroups_per_user":
		return setInt(&c.MaxCgroupsPerUser, v, 0, 1<<20)
	case "idle_timeout":
		return setDuration(&c.IdleTimeout, v)
	case "reap_interval":
		return setDuration(&c.ReapInterval, v)
	case "cgroup_root":
		if !filepath.IsAbs(v) || filepath.Clean(v) != v || v == "/" || strings.Contains(v, "..") {
			return fmt.Errorf("want a clean absolute cgroup path below /sys/fs/cgroup, such as /myctr.slice")
		}
		c.CgroupRoot = v
	case "state_dir":
		if !filepath.IsAbs(v) || filepath.Clean(v) == "/" {
			return fmt.Errorf("want an absolute directory other than /")
		}
		c.StateDir = filepath.Clean(v)
	case "netns":
		if v != "" && !filepath.IsAbs(v) {
			return fmt.Errorf("want an absolute path (such as /run/netns/NAME) or nothing")
		}
		c.NetNS = v
	default:
		return fmt.Errorf("unknown key")
	}
	return nil
}

func setInt(dst *int, v string, min, max int) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < min || n > max {
		return fmt.Errorf("want an integer from %d to %d", min, max)
	}
	*dst = n
	return nil
}

func setDuration(dst *time.Duration, v string) error {
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return fmt.Errorf("want a positive duration such as 30s")
	}
	*dst = d
	return nil
}
