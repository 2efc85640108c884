// Package helperprobe holds what the helper tier (tests/helper) and the VM
// tier (tests/vm) both use to look at a running myctr-helper from outside,
// as root: the test's own system bus connection, the helper's pid from the
// bus, a whole-word search of nft or ip output, running a command with its
// output and exit code, and systemd's KEY=VALUE properties. Tests only.
package helperprobe

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
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

// Run runs cmd (made with exec.CommandContext(ctx, ...)) and returns its
// output and exit code; code is -1 when it did not start or ctx ended
// first, and stderr then says which.
func Run(ctx context.Context, cmd *exec.Cmd) (stdout, stderr string, code int) {
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case ctx.Err() != nil:
		code = -1
		e.WriteString(fmt.Sprintf("\n[test: %s timed out: %v]", strings.Join(cmd.Args, " "), ctx.Err()))
	case errors.As(err, &exitErr):
		code = exitErr.ExitCode()
	case err != nil:
		code = -1
		e.WriteString("\n[test: " + err.Error() + "]")
	}
	return o.String(), e.String(), code
}

// Properties parses the KEY=VALUE lines that `systemctl show` and
// `loginctl show-session` print.
func Properties(out string) map[string]string {
	m := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			m[k] = v
		}
	}
	return m
}
