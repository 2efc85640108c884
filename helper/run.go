package helper

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/myctr/myctr/helper/hostnet"
)

// Run is the helper's main: it reads the configuration at configPath,
// opens the network namespace it works in, locks and reads the ledger,
// connects to the bus that started it, restricts its filesystem access,
// drops its capabilities and installs its seccomp filter (Confine), and
// serves until it is idle or ctx ends. Another helper owning the name is no
// error: the caller reaches that one.
func Run(ctx context.Context, configPath string, stderr io.Writer) error {
	cfg, err := LoadConfig(configPath)
	if err != nil {
		return err
	}
	h, err := hostnet.Open(cfg.NetNS)
	if err != nil {
		return err
	}
	defer h.Close()
	s, err := NewServer(Options{Config: cfg, Address: busAddress(), Net: h, Log: stderr})
	if err != nil {
		return err
	}
	defer s.Close()
	// Making cgroups itself needs more (a writable cgroup tree,
	// CAP_SYS_NICE): only where they can be made, on cgroup v2.
	byFS := s.cgMode == cgroupsByFS && checkCgroup2() == nil
	if byFS {
		if err := prepareCgroupRoot(s.cgRoot); err != nil {
			return err
		}
	}
	what, err := RestrictFS(cfg.StateDir, byFS)
	if err != nil {
		return err
	}
	s.log.Print(what)
	// Last, before serving: the network namespace is open (and entered
	// by the sockets made at start), the bus connected.
	if what, err = Confine(cfg.NetNS != "", byFS); err != nil {
		return fmt.Errorf("confine: %w", err)
	}
	s.log.Print(what)
	if err := s.Serve(ctx); err != nil && !errors.Is(err, ErrNameTaken) {
		return err
	}
	return nil
}

// busAddress is the bus that activated the helper (DBUS_STARTER_ADDRESS,
// when it says it is the system bus), else the system bus
// (DBUS_SYSTEM_BUS_ADDRESS, else the standard socket).
func busAddress() string {
	if os.Getenv("DBUS_STARTER_BUS_TYPE") == "system" {
		if addr := os.Getenv("DBUS_STARTER_ADDRESS"); addr != "" {
			return addr
		}
	}
	if addr := os.Getenv("DBUS_SYSTEM_BUS_ADDRESS"); addr != "" {
		return addr
	}
	return "unix:path=/var/run/dbus/system_bus_socket"
}
