package network

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/frontend/netwatch"
)

// Modes.
const (
	ModePasta       = netwatch.ModePasta
	ModeSlirp4netns = netwatch.ModeSlirp4netns
)

// DefaultMTU is the MTU of the container's interface when Config.MTU is 0:
// the largest 802.3 frame minus the header, rounded to 32 bits (pasta's own
// default).
const DefaultMTU = 65520

// Config is what --network MODE[:OPTIONS], -p and friends ask for.
type Config struct {
	Mode              string        // "pasta" or "slirp4netns"
	Options           []string      // from --network pasta:OPT,OPT / slirp4netns:OPT
	Ports             []PortMapping // host ports to publish
	AllowHostLoopback bool          // default false: the container cannot reach the host's 127.0.0.1
	MTU               int           // 0 = 65520
}

// settings is a Config with its options applied and validated.
type settings struct {
	mode         string
	mtu          int
	hostLoopback bool
	prefix       netip.Prefix // the container's /24
	ipv6         bool         // slirp4netns: enable_ipv6
	ipv4Only     bool         // pasta: -4
	outbound4    string       // slirp4netns outbound_addr / pasta --outbound-if4
	outbound6    string       // slirp4netns outbound_addr6 / pasta --outbound-if6
	portHandler  string       // slirp4netns: PortHandlerMyctr or PortHandlerSlirp
	ports        []PortMapping
}

// The port handlers of slirp4netns:port_handler=...: myctr's forwarder
// (the default; it keeps the client's address), or slirp4netns's own
// add_hostfwd.
const (
	PortHandlerMyctr = "myctr"
	PortHandlerSlirp = "slirp4netns"
)

// forwarded reports whether myctr's forwarder publishes p (else the tool).
func (s settings) forwarded(p PortMapping) bool {
	return s.mode == ModeSlirp4netns && s.portHandler == PortHandlerMyctr
}

var defaultPrefix = netip.MustParsePrefix("10.0.2.0/24")

// The options each mode accepts; see parseOptions.
var (
	slirpOptions = "allow_host_loopback=true|false, cidr=A.B.C.0/24, enable_ipv6=true|false, mtu=N, outbound_addr=IPv4, outbound_addr6=IPv6, port_handler=myctr|slirp4netns"
	pastaOptions = "--map-gw, --no-map-gw, -4/--ipv4-only, --mtu=N (-m N), --outbound-if4=IFNAME, --outbound-if6=IFNAME"
)

// DefaultMode picks the rootless mode when neither --network nor
// myctr.conf names one: pasta where it is installed, slirp4netns otherwise.
// A pasta that reports no release date, or one no later than 2023-03-09
// (Debian 12's build prints "unknown version"), is passed over for
// slirp4netns when that is installed: those builds lose incoming TCP from
// non-loopback clients on current kernels (see the package documentation).
// Neither installed: an error wrapping ErrNoNetworkTool.
func DefaultMode() (string, error) {
	pasta, pastaErr := exec.LookPath(ModePasta)
	_, slirpErr := exec.LookPath(ModeSlirp4netns)
	switch {
	case pastaErr == nil && (slirpErr != nil || pastaTrusted(pasta)):
		return ModePasta, nil
	case slirpErr == nil:
		return ModeSlirp4netns, nil
	}
	return "", &Error{Err: ErrNoNetworkTool, Msg: "neither pasta nor slirp4netns is in PATH",
		Hint: "install pasta or slirp4netns (apt-get install passt, or apt-get install slirp4netns), or use --network none"}
}

// pastaFixedAfter is the last pasta release date known to lose incoming
// TCP connections from non-loopback clients.
const pastaFixedAfter = "20230309"

// pastaTrusted runs `pasta --version` and reports whether it names a
// release after pastaFixedAfter.
//
// The verdict is kept for the user's session in pastaVerdictFile, with
// the binary's path and identity (device, inode, size, change time): an
// upgraded or replaced pasta is asked again. `pasta --version` took
// about 3 ms of every run without --network. A file that is not one
// this function wrote is ignored (and replaced).
func pastaTrusted(path string) bool {
	key := toolIdentity(path)
	file := pastaVerdictFile()
	if key != "" && file != "" {
		if b, err := os.ReadFile(file); err == nil {
			if k, v, ok := strings.Cut(string(b), "\n"); ok && k == key && (v == "trusted\n" || v == "untrusted\n") {
				return v == "trusted\n"
			}
		}
	}
	out, err := exec.Command(path, "--version").Output()
	if err != nil {
		return false
	}
	trusted := pastaVersionTrusted(string(out))
	if key != "" && file != "" {
		v := "untrusted\n"
		if trusted {
			v = "trusted\n"
		}
		writeVerdict(file, key+"\n"+v)
	}
	return trusted
}

// pastaVerdictFile is where pastaTrusted keeps its verdict: the user's
// runtime directory (a tmpfs of the session), "" without one.
func pastaVerdictFile() string {
	dir := os.Getenv("XDG_RUNTIME_DIR")
	if dir == "" || !filepath.IsAbs(dir) {
		return ""
	}
	return filepath.Join(dir, "myctr", "pasta-verdict")
}

// toolIdentity names the file at path as it is now: its path, device,
// inode, size and change time ("" when it cannot be read).
func toolIdentity(path string) string {
	var st unix.Stat_t
	if unix.Stat(path, &st) != nil {
		return ""
	}
	return fmt.Sprintf("%q %d %d %d %d.%09d", path, st.Dev, st.Ino, st.Size, st.Ctim.Sec, st.Ctim.Nsec)
}

// writeVerdict replaces file with text (a new file renamed over it); a
// failure only means asking again next time.
func writeVerdict(file, text string) {
	if os.MkdirAll(filepath.Dir(file), 0o700) != nil {
		return
	}
	f, err := os.CreateTemp(filepath.Dir(file), ".pasta-verdict-*")
	if err != nil {
		return
	}
	_, err = f.WriteString(text)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), file)
	}
	if err != nil {
		os.Remove(f.Name())
	}
}

// pastaVersionTrusted reads the release date from pasta's --version output:
// upstream releases print "pasta 2024_06_24.1ee2eca", distribution
// snapshots "pasta 0.0~git20240624.1ee2eca-1".
func pastaVersionTrusted(out string) bool {
	first, _, _ := strings.Cut(out, "\n")
	fields := strings.Fields(first)
	if len(fields) < 2 || fields[0] != ModePasta {
		return false
	}
	v := fields[1]
	if i := strings.Index(v, "git"); i >= 0 {
		v = v[i+3:]
	}
	v = strings.ReplaceAll(v, "_", "")
	if len(v) < 8 {
		return false
	}
	date := v[:8]
	if _, err := strconv.Atoi(date); err != nil {
		return false
	}
	return date > pastaFixedAfter
}

// ValidateForward checks ports that myctr's forwarder alone publishes (a
// container on a named network: StartForward).
func ValidateForward(ports []PortMapping) error {
	return Config{Mode: ModeSlirp4netns, Ports: ports}.Validate()
}

// Validate checks the mode, options, MTU and ports without starting anything.
func (c Config) Validate() error {
	_, err := c.settings()
	return err
}

func (c Config) settings() (settings, error) {
	s := settings{mode: c.Mode, mtu: c.MTU, hostLoopback: c.AllowHostLoopback, prefix: defaultPrefix, portHandler: PortHandlerMyctr}
	if s.mtu == 0 {
		s.mtu = DefaultMTU
	}
	var known string
	switch c.Mode {
	case ModePasta:
		known = pastaOptions
	case ModeSlirp4netns:
		known = slirpOptions
	default:
		return s, &Error{Err: ErrInvalidOption, Msg: fmt.Sprintf("network mode %q", c.Mode), Hint: "use pasta or slirp4netns"}
	}
	for i := 0; i < len(c.Options); i++ {
		opt := c.Options[i]
		var err error
		if c.Mode == ModePasta {
			err = s.pastaOption(opt, c.Options, &i)
		} else {
			err = s.slirpOption(opt)
		}
		if err != nil {
			return s, &Error{Err: fmt.Errorf("%w: %v", ErrInvalidOption, err),
				Msg: fmt.Sprintf("--network %s: option %q", c.Mode, opt), Hint: "the options of " + c.Mode + " are: " + known}
		}
	}
	if s.mtu < 1280 || s.mtu > DefaultMTU {
		return s, &Error{Err: ErrInvalidOption, Msg: fmt.Sprintf("MTU %d", s.mtu), Hint: fmt.Sprintf("use an MTU between 1280 and %d", DefaultMTU)}
	}
	for _, p := range c.Ports {
		if p.ContainerPort == 0 || (p.Protocol != "tcp" && p.Protocol != "udp") {
			return s, &Error{Err: ErrInvalidPublish, Msg: "port " + p.String()}
		}
		if p.HostIP != "" {
			a, err := netip.ParseAddr(p.HostIP)
			if err != nil {
				return s, &Error{Err: ErrInvalidPublish, Msg: fmt.Sprintf("host address %q", p.HostIP)}
			}
			if a.Is6() && c.Mode == ModeSlirp4netns && !s.forwarded(p) {
				return s, &Error{Err: ErrUnsupported, Msg: "publish " + p.String() + " with slirp4netns",
					Hint: "slirp4netns publishes on IPv4 host addresses only: use --network pasta, myctr's forwarder (port_handler=myctr, the default), or an IPv4 address"}
			}
		}
		s.ports = append(s.ports, p)
	}
	return s, nil
}

func parseBool(v string) (bool, error) {
	switch v {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("%q is not true or false", v)
}

func (s *settings) slirpOption(opt string) error {
	key, val, hasVal := strings.Cut(opt, "=")
	if !hasVal {
		return errors.New("expected key=value")
	}
	var err error
	switch key {
	case "allow_host_loopback":
		s.hostLoopback, err = parseBool(val)
	case "enable_ipv6":
		s.ipv6, err = parseBool(val)
	case "mtu":
		s.mtu, err = strconv.Atoi(val)
	case "cidr":
		var p netip.Prefix
		if p, err = netip.ParsePrefix(val); err == nil {
			if !p.Addr().Is4() || p.Bits() != 24 || p.Masked() != p {
				return fmt.Errorf("%q: want an IPv4 /24 network such as 10.0.3.0/24", val)
			}
			s.prefix = p
		}
	case "outbound_addr":
		var a netip.Addr
		if a, err = netip.ParseAddr(val); err == nil && !a.Is4() {
			err = fmt.Errorf("%q is not an IPv4 address", val)
		}
		s.outbound4 = val
	case "outbound_addr6":
		var a netip.Addr
		if a, err = netip.ParseAddr(val); err == nil && !a.Is6() {
			err = fmt.Errorf("%q is not an IPv6 address", val)
		}
		s.outbound6 = val
	case "port_handler":
		if val != PortHandlerMyctr && val != PortHandlerSlirp {
			err = fmt.Errorf("port handler %q: want %s or %s", val, PortHandlerMyctr, PortHandlerSlirp)
		}
		s.portHandler = val
	default:
		return fmt.Errorf("unknown option %q", key)
	}
	return err
}

func (s *settings) pastaOption(opt string, all []string, i *int) error {
	name, val, hasVal := strings.Cut(opt, "=")
	takesValue := func() error {
		if hasVal {
			return nil
		}
		if *i+1 >= len(all) {
			return fmt.Errorf("%s needs a value", name)
		}
		*i++
		val = all[*i]
		return nil
	}
	switch name {
	case "--map-gw":
		s.hostLoopback = true
	case "--no-map-gw":
		s.hostLoopback = false
	case "-4", "--ipv4-only":
		s.ipv4Only = true
	case "-m", "--mtu":
		if err := takesValue(); err != nil {
			return err
		}
		n, err := strconv.Atoi(val)
		if err != nil {
			return fmt.Errorf("mtu %q is not a number", val)
		}
		s.mtu = n
	case "--outbound-if4", "--outbound-if6":
		if err := takesValue(); err != nil {
			return err
		}
		if val == "" || len(val) > 15 || strings.ContainsAny(val, "/ \t\n") {
			return fmt.Errorf("%q is not an interface name", val)
		}
		if name == "--outbound-if4" {
			s.outbound4 = val
		} else {
			s.outbound6 = val
		}
	default:
		return fmt.Errorf("unknown or unsupported pasta option %q", name)
	}
	if hasVal && (name == "--map-gw" || name == "--no-map-gw" || name == "-4" || name == "--ipv4-only") {
		return fmt.Errorf("%s takes no value", name)
	}
	return nil
}

// addr returns the address with host part n in the container's /24.
func (s settings) addr(n byte) string {
	a := s.prefix.Addr().As4()
	a[3] = n
	return netip.AddrFrom4(a).String()
}

// Nameserver is the address the container's /etc/resolv.conf must point
// at: the mode's DNS forwarder, which forwards to the host's resolvers.
// It is 10.0.2.3 in both modes (in the network of slirp4netns:cidr=...).
func (c Config) Nameserver() string {
	s, _ := c.settings()
	return s.addr(3)
}

// ContainerIP is the container's own address, for /etc/hosts: 10.0.2.100
// in both modes (in the network of slirp4netns:cidr=...).
func (c Config) ContainerIP() string {
	s, _ := c.settings()
	return s.addr(100)
}

// Gateway is the gateway's address, which is also the host's loopback when
// AllowHostLoopback is set: 10.0.2.2.
func (c Config) Gateway() string {
	s, _ := c.settings()
	return s.addr(2)
}

// slirpArgs returns slirp4netns's arguments; fd 3 is --exit-fd, fd 4
// --ready-fd.
func (s settings) slirpArgs(pid int, apiSocket string) []string {
	args := []string{
		"--configure",
		"--mtu=" + strconv.Itoa(s.mtu),
		"--exit-fd=3",
		"--ready-fd=4",
		"--api-socket=" + apiSocket,
		"--cidr=" + s.prefix.String(),
		"--enable-sandbox",
		"--enable-seccomp",
	}
	if !s.hostLoopback {
		args = append(args, "--disable-host-loopback")
	}
	if s.ipv6 {
		args = append(args, "--enable-ipv6")
	}
	if s.outbound4 != "" {
		args = append(args, "--outbound-addr="+s.outbound4)
	}
	if s.outbound6 != "" {
		args = append(args, "--outbound-addr6="+s.outbound6)
	}
	return append(args, strconv.Itoa(pid), "tap0")
}

// pastaArgs returns pasta's arguments: foreground (the watcher is its
// parent), the pid file written once the namespace is configured, fixed
// addresses, no automatic port forwarding in either direction.
func (s settings) pastaArgs(pid int, pidFile string) []string {
	args := []string{
		"--config-net", "--foreground", "--quiet",
		"--pid", pidFile,
		"--ns-ifname", "eth0",
		"--mtu", strconv.Itoa(s.mtu),
		"--address", s.addr(100), "--netmask", "24", "--gateway", s.addr(2),
		"--dns-forward", s.addr(3),
		"--tcp-ns", "none", "--udp-ns", "none",
	}
	if !s.hostLoopback {
		args = append(args, "--no-map-gw")
	}
	if s.ipv4Only {
		args = append(args, "--ipv4-only")
	}
	if s.outbound4 != "" {
		args = append(args, "--outbound-if4", s.outbound4)
	}
	if s.outbound6 != "" {
		args = append(args, "--outbound-if6", s.outbound6)
	}
	var tcp, udp []string
	for _, p := range s.ports {
		spec := fmt.Sprintf("%d:%d", p.HostPort, p.ContainerPort)
		if p.HostIP != "" {
			spec = p.HostIP + "/" + spec
		}
		if p.Protocol == "udp" {
			udp = append(udp, spec)
		} else {
			tcp = append(tcp, spec)
		}
	}
	for _, t := range tcp {
		args = append(args, "--tcp-ports", t)
	}
	if len(tcp) == 0 {
		args = append(args, "--tcp-ports", "none")
	}
	for _, u := range udp {
		args = append(args, "--udp-ports", u)
	}
	if len(udp) == 0 {
		args = append(args, "--udp-ports", "none")
	}
	return append(args, strconv.Itoa(pid))
}
