package helperclient

// What `myctr doctor` asks of this package: whether myctr-helper is
// installed where the system bus and polkit look for it, and whether a
// system bus runs to ask it. Only files are read here; Version asks the
// helper itself.

import (
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/myctr/myctr/protocol"
)

// Where `make install` puts the helper's files (DBUS_DIR and
// POLKIT_ACTIONS_DIR) and where the bus and polkit also look; variables
// for tests.
var (
	ActivationDirs = []string{"/usr/local/share/dbus-1/system-services", "/usr/share/dbus-1/system-services", "/lib/dbus-1/system-services"}
	BusPolicyDirs  = []string{"/usr/share/dbus-1/system.d", "/etc/dbus-1/system.d"}
	PolicyDirs     = []string{"/usr/share/polkit-1/actions", "/usr/local/share/polkit-1/actions"}
)

// Actions are the polkit actions the helper asks for.
var Actions = []string{protocol.ActionNetwork, protocol.ActionPublishLowPort, protocol.ActionCgroup}

// Installation is what of the helper is installed.
type Installation struct {
	// ActivationFile is the D-Bus activation file of protocol.BusName
	// ("" when none is installed); Exec is the program it names.
	ActivationFile, Exec string
	// ExecOK: Exec is an executable regular file.
	ExecOK bool
	// BusPolicy is the bus policy that lets users call the helper.
	BusPolicy string
	// PolicyFile is the polkit .policy file that declares the actions
	// (the first of PolicyDirs that declares any); Missing are the
	// actions of Actions it does not declare.
	PolicyFile string
	Missing    []string
}

// FindInstallation looks for the helper's files.
func FindInstallation() Installation {
	var in Installation
	for _, d := range ActivationDirs {
		f := filepath.Join(d, protocol.BusName+".service")
		if _, err := os.Stat(f); err == nil {
			in.ActivationFile = f
			in.Exec = activationExec(f)
			break
		}
	}
	if in.Exec != "" {
		if st, err := os.Stat(in.Exec); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			in.ExecOK = true
		}
	}
	for _, d := range BusPolicyDirs {
		f := filepath.Join(d, protocol.BusName+".conf")
		if _, err := os.Stat(f); err == nil {
			in.BusPolicy = f
			break
		}
	}
	in.Missing = Actions
	for _, d := range PolicyDirs {
		files, _ := filepath.Glob(filepath.Join(d, "*.policy"))
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				continue
			}
			var missing []string
			for _, a := range Actions {
				if !strings.Contains(string(b), `"`+a+`"`) {
					missing = append(missing, a)
				}
			}
			if len(missing) < len(Actions) {
				in.PolicyFile, in.Missing = f, missing
				return in
			}
		}
	}
	return in
}

// Installed reports whether the bus can start the helper and polkit knows
// every action it asks for.
func (in Installation) Installed() bool {
	return in.ActivationFile != "" && in.ExecOK && in.BusPolicy != "" && in.PolicyFile != "" && len(in.Missing) == 0
}

// activationExec reads Exec= of a D-Bus activation file.
func activationExec(file string) string {
	f, err := os.Open(file)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "Exec="); ok {
			if fields := strings.Fields(v); len(fields) > 0 {
				return fields[0]
			}
		}
	}
	return ""
}

// SystemBusSocket is the system bus's socket path when no
// DBUS_SYSTEM_BUS_ADDRESS is set (the D-Bus specification's default).
const SystemBusSocket = "/run/dbus/system_bus_socket"

// SystemBus reports whether a system bus may be listening: the socket of
// DBUS_SYSTEM_BUS_ADDRESS's unix:path=, or the default one, exists; an
// address of another kind counts as present.
func SystemBus() bool {
	addr := os.Getenv("DBUS_SYSTEM_BUS_ADDRESS")
	if addr == "" {
		_, err := os.Stat(SystemBusSocket)
		return err == nil
	}
	for _, a := range strings.Split(addr, ";") {
		rest, ok := strings.CutPrefix(a, "unix:")
		if !ok {
			return true
		}
		for _, kv := range strings.Split(rest, ",") {
			if p, ok := strings.CutPrefix(kv, "path="); ok {
				if _, err := os.Stat(p); err == nil {
					return true
				}
			}
		}
		if slices.ContainsFunc(strings.Split(rest, ","), func(kv string) bool { return strings.HasPrefix(kv, "abstract=") }) {
			return true
		}
	}
	return false
}
