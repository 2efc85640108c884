// Package helperprobe holds what the helper tier (tests/helper) and the VM
// tier (tests/vm) both use to look at a running myctr-helper from outside,
// as root: the test's own system bus connection, the helper's pid from the
// bus, and a whole-word search of nft or ip output. Tests only.
package helperprobe

import (
	"errors"
	"regexp"
	"sync"
	"testing"

	"github.com/godbus/dbus/v5"

	"github.com/myctr/myctr/protocol"
)

var (
	busOnce sync.Once
	bus     *dbus.Conn
	busErr  error
)

// SystemBus is the test's own connection to the system bus, opened once:
// polling must not open a connection per question.
func SystemBus(t testing.TB) *dbus.Conn {
	t.Helper()
	busOnce.Do(func() { bus, busErr = dbus.ConnectSystemBus() })
	if busErr != nil {
		t.Fatalf("connect to the system bus: %v", busErr)
	}
	return bus
}

// HelperPid is the pid of the helper's bus name's owner, 0 when the name
// has no owner (the helper is not running, or exited in between).
func HelperPid(t testing.TB) int {
	t.Helper()
	var pid uint32
	err := SystemBus(t).BusObject().Call("org.freedesktop.DBus.GetConnectionUnixProcessID", 0, protocol.BusName).Store(&pid)
	if err != nil {
		var de dbus.Error
		if errors.As(err, &de) && de.Name == "org.freedesktop.DBus.Error.NameHasNoOwner" {
			return 0
		}
		t.Fatalf("GetConnectionUnixProcessID %s: %v", protocol.BusName, err)
	}
	return int(pid)
}

// Mentions reports which needles occur in text as whole words (so that
// 10.88.0.2 does not match 10.88.0.21, nor port 80 match 8080).
func Mentions(text string, needles ...string) []string {
	var found []string
	for _, n := range needles {
		if n == "" {
			continue
		}
		re := regexp.MustCompile(`(^|[^0-9A-Za-z.])` + regexp.QuoteMeta(n) + `($|[^0-9A-Za-z])`)
		if re.MatchString(text) {
			found = append(found, n)
		}
	}
	return found
}
