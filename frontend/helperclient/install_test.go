package helperclient

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/myctr/myctr/protocol"
)

// TestFindInstallation: nothing installed, then the activation file alone
// (its program missing), then everything but one polkit action, then all.
func TestFindInstallation(t *testing.T) {
	dir := t.TempDir()
	act, bus, pol := filepath.Join(dir, "services"), filepath.Join(dir, "system.d"), filepath.Join(dir, "actions")
	for _, d := range []string{act, bus, pol} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	oldA, oldB, oldP := ActivationDirs, BusPolicyDirs, PolicyDirs
	defer func() { ActivationDirs, BusPolicyDirs, PolicyDirs = oldA, oldB, oldP }()
	ActivationDirs, BusPolicyDirs, PolicyDirs = []string{act}, []string{bus}, []string{pol}
	write := func(p, s string, mode os.FileMode) {
		t.Helper()
		if err := os.WriteFile(p, []byte(s), mode); err != nil {
			t.Fatal(err)
		}
	}
	if in := FindInstallation(); in.ActivationFile != "" || in.Installed() {
		t.Errorf("empty: %+v", in)
	}
	helper := filepath.Join(dir, "myctr-helper")
	write(filepath.Join(act, protocol.BusName+".service"), "[D-BUS Service]\nName="+protocol.BusName+"\nExec="+helper+"\nUser=root\n", 0o644)
	if in := FindInstallation(); in.Exec != helper || in.ExecOK || in.Installed() {
		t.Errorf("activation file alone: %+v", in)
	}
	write(helper, "#!/bin/sh\n", 0o755)
	write(filepath.Join(bus, protocol.BusName+".conf"), "<busconfig/>", 0o644)
	write(filepath.Join(pol, "org.myctr.helper.policy"), `<action id="`+protocol.ActionNetwork+`"/><action id="`+protocol.ActionCgroup+`"/>`, 0o644)
	if in := FindInstallation(); !in.ExecOK || in.BusPolicy == "" || !slices.Equal(in.Missing, []string{protocol.ActionPublishLowPort}) || in.Installed() {
		t.Errorf("one action missing: %+v", in)
	}
	write(filepath.Join(pol, "org.myctr.helper.policy"), `<action id="`+protocol.ActionNetwork+`"/><action id="`+protocol.ActionCgroup+`"/><action id="`+protocol.ActionPublishLowPort+`"/>`, 0o644)
	if in := FindInstallation(); !in.Installed() {
		t.Errorf("all installed: %+v", in)
	}
}
