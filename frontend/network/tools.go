package network

// What `myctr doctor` asks of this package: which rootless network tools
// are installed, whether they run, whether DefaultMode would trust pasta,
// and whether the user may open /dev/net/tun. Nothing is started.

import (
	"fmt"
	"os"
	"os/exec"
	"strings"

	"golang.org/x/sys/unix"
)

// Tool is one installed (or missing) rootless network tool.
type Tool struct {
	Name    string // ModePasta or ModeSlirp4netns
	Package string // the Debian package that ships it
	Path    string // "" when not in PATH
	Version string // the first line of NAME --version
	// Err is why the tool is not usable: not found, or --version failed.
	Err error
	// Trusted: for pasta, whether DefaultMode would choose it over
	// slirp4netns (a release after pastaFixedAfter); slirp4netns: true.
	Trusted bool
}

// Package names the Debian package of a mode's tool.
func Package(mode string) string {
	if mode == ModePasta {
		return "passt"
	}
	return mode
}

// LookTool finds a tool in PATH and runs its --version.
func LookTool(name string) Tool {
	t := Tool{Name: name, Package: Package(name)}
	p, err := exec.LookPath(name)
	if err != nil {
		t.Err = fmt.Errorf("%w: %v", ErrNoNetworkTool, err)
		return t
	}
	t.Path = p
	out, err := exec.Command(p, "--version").Output()
	first, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	t.Version = first
	if err != nil {
		t.Err = fmt.Errorf("%s --version: %w", p, err)
		return t
	}
	t.Trusted = name != ModePasta || pastaVersionTrusted(string(out))
	return t
}

// PastaFixedAfter is the date (YYYYMMDD) after which DefaultMode trusts a
// pasta release.
func PastaFixedAfter() string { return pastaFixedAfter }

// CheckTun opens the tap device both tools open as the user, and closes
// it: an error means every pasta or slirp4netns network would fail.
func CheckTun() error {
	fd, err := unix.Open(tunDevice, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return &Error{Err: fmt.Errorf("%w: open %s: %v", ErrStart, tunDevice, err), Msg: "pasta and slirp4netns need " + tunDevice,
			Hint: tunHint()}
	}
	unix.Close(fd)
	return nil
}

// tunHint is the fix for a missing or inaccessible /dev/net/tun.
func tunHint() string {
	if _, err := os.Stat(tunDevice); err != nil {
		return "as root: modprobe tun (the device comes with the tun module), or run with --network none"
	}
	return "as root: chmod 0666 " + tunDevice + " (what a distribution's udev rule does), or run with --network none"
}
