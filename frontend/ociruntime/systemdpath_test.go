package ociruntime

import (
	"strings"
	"testing"
)

// TestParseSystemdPath: cgroupsPath in systemd's form, by runc's rules,
// and what is refused, each with the reason named.
func TestParseSystemdPath(t *testing.T) {
	for _, c := range []struct {
		path, id string
		user     bool
		slice    string
		unit     string
	}{
		{"system.slice:myctr-vm:c2", "c2", false, "system.slice", "myctr-vm-c2.scope"},
		{"machine.slice:libpod:0123abcd", "0123abcd", false, "machine.slice", "libpod-0123abcd.scope"},
		{"user.slice:libpod:x", "x", true, "user.slice", "libpod-x.scope"},
		// An empty slice: the system manager's system.slice for root,
		// the user manager's user.slice for a user.
		{":cri-containerd:abc", "abc", false, "system.slice", "cri-containerd-abc.scope"},
		{":cri-containerd:abc", "abc", true, "user.slice", "cri-containerd-abc.scope"},
		// An empty cgroupsPath: :myctr-runtime:ID.
		{"", "c1", false, "system.slice", "myctr-runtime-c1.scope"},
		{"", "c1", true, "user.slice", "myctr-runtime-c1.scope"},
		// Nested slices (kubelet's), the root slice, no prefix.
		{"kubepods-burstable-pod1a2b_3c.slice:cri-containerd:f00", "f00", false, "kubepods-burstable-pod1a2b_3c.slice", "cri-containerd-f00.scope"},
		{"-.slice:p:n", "n", false, "-.slice", "p-n.scope"},
		{"system.slice::n.1", "x", false, "system.slice", "n.1.scope"},
	} {
		got, err := parseSystemdPath(c.path, c.id, c.user)
		if err != nil || got != (systemdScope{c.slice, c.unit}) {
			t.Errorf("parseSystemdPath(%q, %q, user %v) = %+v, %v; want %s in %s", c.path, c.id, c.user, got, err, c.unit, c.slice)
		}
	}
	for _, c := range []struct{ path, id, want string }{
		{"/myctr/c1", "c1", "slice:prefix:name"},
		{"system.slice:c1", "c1", "slice:prefix:name"},
		{"a.slice:b:c:d", "c1", "slice:prefix:name"},
		{"system:p:n", "n", "not a slice's name"},
		{".slice:p:n", "n", "not a slice's name"},
		{"a--b.slice:p:n", "n", "empty part"},
		{"-a.slice:p:n", "n", "empty part"},
		{"a-.slice:p:n", "n", "empty part"},
		{"user.slice/user-1000.slice:p:n", "n", `'/'`},
		{"system.slice:p/q:n", "n", `'/'`},
		{"system.slice:p:../n", "n", `".."`},
		{"system.slice:p:n..m", "n", `".."`},
		{"a..b.slice:p:n", "n", `".."`},
		{"system.slice:p:", "n", "empty"},
		{"system.slice:p:n m", "n", `' '`},
		{"system.slice:p:n\\x2d", "n", `'\\'`},
		{"system.slice:p:ü", "n", `'ü'`},
		{"", "a+b", `'+'`},
		{"system.slice:p:c1.slice", "c1", "ends in .slice"},
		{"system.slice:p:" + strings.Repeat("n", 250), "n", "longer than systemd's 255"},
	} {
		_, err := parseSystemdPath(c.path, c.id, false)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("parseSystemdPath(%q, %q): %v; want an error saying %s", c.path, c.id, err, c.want)
		}
	}
}
