package cgroup

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	godbus "github.com/godbus/dbus/v5"
)

// TestManagerErrorKinds: no manager (no bus, or a bus without systemd)
// and a unit of that name are told apart from other refusals, through
// the wrapping.
func TestManagerErrorKinds(t *testing.T) {
	for _, c := range []struct {
		err              error
		noManager, exist bool
	}{
		{&ManagerError{Op: "connect", Err: errors.New("dial: no such file"), dial: true}, true, false},
		{&ManagerError{Op: "start", Err: godbus.Error{Name: "org.freedesktop.DBus.Error.ServiceUnknown"}}, true, false},
		{&ManagerError{Op: "start", Err: godbus.Error{Name: "org.freedesktop.DBus.Error.NameHasNoOwner"}}, true, false},
		// A bus daemon whose activation of systemd1 fails (systemd
		// installed, not running): "Launch helper exited with unknown
		// return code 1".
		{&ManagerError{Op: "start", Err: godbus.Error{Name: "org.freedesktop.DBus.Error.Spawn.ChildExited"}}, true, false},
		{&ManagerError{Op: "start", Err: godbus.Error{Name: "org.freedesktop.systemd1.UnitExists"}}, false, true},
		{fmt.Errorf("wrapped: %w", &ManagerError{Op: "start", Err: godbus.Error{Name: "org.freedesktop.systemd1.UnitExists"}}), false, true},
		{&ManagerError{Op: "start", Err: godbus.Error{Name: "org.freedesktop.DBus.Error.AccessDenied"}}, false, false},
	} {
		var me *ManagerError
		if !errors.As(c.err, &me) || me.NoManager() != c.noManager || UnitExists(c.err) != c.exist {
			t.Errorf("%v: NoManager %v, UnitExists %v; want %v, %v", c.err, me.NoManager(), UnitExists(c.err), c.noManager, c.exist)
		}
	}
}

// TestUserBusMissing: a user bus that is not there is a connection
// failure of the user's manager, which says where it looked.
func TestUserBusMissing(t *testing.T) {
	dir := t.TempDir()
	_, err := StartScope(t.Context(), TransientScope{Bus: Bus{RuntimeDir: dir}, Unit: "x.scope", Slice: "x.slice", Init: os.Getpid()})
	var me *ManagerError
	if !errors.As(err, &me) || !me.NoManager() || me.Op != "connect to your systemd user manager" {
		t.Fatalf("StartScope without a bus: %v", err)
	}
	if want := filepath.Join(dir, "bus"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the error does not say that %s is missing: %v", want, err)
	}
}

// TestOuterUID: the uid the bus knows a process by, through its user
// namespace's map: root of rootless Podman's namespace is the user.
func TestOuterUID(t *testing.T) {
	for _, c := range []struct {
		uid  int
		m    string
		want int
	}{
		{1000, "         0          0 4294967295\n", 1000},
		{0, "         0       1000          1\n         1     100000      65536\n", 1000},
		{5, "         0       1000          1\n         1     100000      65536\n", 100004},
		{70000, "         0       1000          1\n         1     100000      65536\n", 70000},
		{0, "", 0},
		{0, "garbage\n", 0},
	} {
		if got := outerUID(c.uid, c.m); got != c.want {
			t.Errorf("outerUID(%d, %q) = %d, want %d", c.uid, c.m, got, c.want)
		}
	}
}
