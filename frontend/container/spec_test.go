package container

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	v1 "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/frontend/nsexec"
)

func TestProcessArgs(t *testing.T) {
	ep := "/ep"
	empty := ""
	img := v1.ImageConfig{Entrypoint: []string{"/init"}, Cmd: []string{"serve"}}
	tests := []struct {
		name string
		o    CreateOptions
		want []string
	}{
		{"image defaults", CreateOptions{Image: img}, []string{"/init", "serve"}},
		{"command replaces cmd", CreateOptions{Image: img, Command: []string{"x"}}, []string{"/init", "x"}},
		{"entrypoint drops cmd", CreateOptions{Image: img, Entrypoint: &ep}, []string{"/ep"}},
		{"entrypoint with command", CreateOptions{Image: img, Entrypoint: &ep, Command: []string{"a"}}, []string{"/ep", "a"}},
		{"empty entrypoint", CreateOptions{Image: img, Entrypoint: &empty, Command: []string{"sh"}}, []string{"sh"}},
	}
	for _, tt := range tests {
		got, err := processArgs(&tt.o)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got %v %v, want %v", tt.name, got, err, tt.want)
		}
	}
	if _, err := processArgs(&CreateOptions{}); !errors.Is(err, ErrNoCommand) {
		t.Errorf("no command: err = %v", err)
	}
}

func TestResolveUser(t *testing.T) {
	layer := t.TempDir()
	os.MkdirAll(filepath.Join(layer, "etc"), 0o755)
	os.WriteFile(filepath.Join(layer, "etc/passwd"), []byte("root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n"), 0o644)
	os.WriteFile(filepath.Join(layer, "etc/group"), []byte("root:x:0:\napp:x:1000:\nwheel:x:10:app\n"), 0o644)
	tests := []struct {
		in       string
		uid, gid uint32
		extra    []uint32
		home     string
		ok       bool
	}{
		{"", 0, 0, nil, "/root", true},
		{"app", 1000, 1000, []uint32{10}, "/home/app", true},
		{"1000", 1000, 1000, []uint32{10}, "/home/app", true},
		{"1234:55", 1234, 55, nil, "/", true},
		{"app:wheel", 1000, 10, nil, "/home/app", true},
		{"nosuch", 0, 0, nil, "", false},
		{"app:nosuch", 0, 0, nil, "", false},
		{"a:b:c", 0, 0, nil, "", false},
		{":5", 0, 0, nil, "", false},
	}
	for _, tt := range tests {
		u, home, err := resolveUser(tt.in, []string{layer})
		if (err == nil) != tt.ok {
			t.Errorf("resolveUser(%q) err = %v", tt.in, err)
			continue
		}
		if !tt.ok {
			continue
		}
		if u.UID != tt.uid || u.GID != tt.gid || !reflect.DeepEqual(u.AdditionalGids, tt.extra) || home != tt.home {
			t.Errorf("resolveUser(%q) = %+v %q", tt.in, u, home)
		}
	}
}

func TestParseSignal(t *testing.T) {
	for in, want := range map[string]int{"TERM": 15, "sigkill": 9, "10": 10, "SIGUSR1": 10} {
		got, err := ParseSignal(in)
		if err != nil || int(got) != want {
			t.Errorf("ParseSignal(%q) = %v %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "NOPE", "0", "99"} {
		if _, err := ParseSignal(bad); err == nil {
			t.Errorf("ParseSignal(%q) accepted", bad)
		}
	}
}

// TestMaskedPathsMatchContainersCommon: the default masked paths are
// containers-common's, powercap and /proc/interrupts included, and every
// thermal_throttle directory of the host's CPUs.
func TestMaskedPathsMatchContainersCommon(t *testing.T) {
	got := map[string]bool{}
	for _, p := range defaultMaskedPaths() {
		got[p] = true
	}
	for _, want := range []string{"/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
		"/proc/sched_debug", "/proc/scsi", "/proc/timer_list", "/proc/timer_stats",
		"/sys/devices/virtual/powercap", "/sys/firmware", "/sys/fs/selinux", "/proc/interrupts"} {
		if !got[want] {
			t.Errorf("%s is not masked", want)
		}
	}
	tt, _ := filepath.Glob("/sys/devices/system/cpu/cpu*/thermal_throttle")
	for _, p := range tt {
		if !got[p] {
			t.Errorf("%s is not masked", p)
		}
	}
}

// TestResolveUserThroughLayers: the image's /etc/passwd is read as the
// mounted root shows it, not from the first layer that has the path: a
// symlink to another layer's file is followed inside the root, a whiteout
// hides the file below it, and an opaque /etc hides the lower /etc.
func TestAddGroups(t *testing.T) {
	layer := t.TempDir()
	os.MkdirAll(filepath.Join(layer, "etc"), 0o755)
	os.WriteFile(filepath.Join(layer, "etc/group"), []byte("root:x:0:\nwheel:x:10:app\naudio:x:63:\n"), 0o644)
	for _, tc := range []struct {
		groups []string
		start  []uint32
		want   []uint32
		keep   bool
		ok     bool
	}{
		{nil, []uint32{10}, []uint32{10}, false, true},
		{[]string{"audio", "457", "wheel"}, []uint32{10}, []uint32{10, 63, 457}, false, true},
		{[]string{"keep-groups"}, nil, nil, true, true},
		{[]string{"keep-groups", "audio"}, nil, nil, false, false},
		{[]string{"nosuch"}, nil, nil, false, false},
		{[]string{"-1"}, nil, nil, false, false},
		{[]string{""}, nil, nil, false, false},
	} {
		u := specs.User{AdditionalGids: slices.Clone(tc.start)}
		_, keep, err := addGroups(&u, tc.groups, []string{layer})
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrInvalidUser)) {
			t.Errorf("addGroups(%q): %v", tc.groups, err)
			continue
		}
		if tc.ok && (keep != tc.keep || !slices.Equal(u.AdditionalGids, tc.want)) {
			t.Errorf("addGroups(%q) = %v, keep %v; want %v, %v", tc.groups, u.AdditionalGids, keep, tc.want, tc.keep)
		}
	}
}

func TestResolveUserThroughLayers(t *testing.T) {
	write := func(layer, name, data string) {
		t.Helper()
		p := filepath.Join(layer, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	base := t.TempDir()
	write(base, "etc/passwd", "app:x:1000:1000::/home/app:/bin/sh\n")
	write(base, "usr/lib/passwd", "lib:x:2000:2000::/lib:/bin/sh\n")

	linked := t.TempDir()
	os.MkdirAll(filepath.Join(linked, "etc"), 0o755)
	// Absolute and climbing: still the image's /usr/lib/passwd.
	if err := os.Symlink("/../../usr/lib/passwd", filepath.Join(linked, "etc/passwd")); err != nil {
		t.Fatal(err)
	}
	if u, home, err := resolveUser("lib", []string{linked, base}); err != nil || u.UID != 2000 || home != "/lib" {
		t.Errorf("through a symlink to a lower layer: %+v %q %v; want uid 2000, home /lib", u, home, err)
	}
	if _, _, err := resolveUser("app", []string{linked, base}); !errors.Is(err, ErrInvalidUser) {
		t.Errorf("app is below the symlink, yet resolved: %v", err)
	}

	opaque := t.TempDir()
	write(opaque, "etc/passwd", "opq:x:3000:3000::/:/bin/sh\n")
	if err := unix.Setxattr(filepath.Join(opaque, "etc"), "user.overlay.opaque", []byte("y"), 0); err != nil {
		t.Skipf("user xattrs: %v", err)
	}
	write(base, "etc/group", "wheel:x:10:opq\n")
	if u, _, err := resolveUser("opq", []string{opaque, base}); err != nil || u.UID != 3000 || len(u.AdditionalGids) != 0 {
		t.Errorf("opaque /etc: %+v %v; want uid 3000 and no group of the lower /etc/group", u, err)
	}

	whiteout := t.TempDir()
	os.MkdirAll(filepath.Join(whiteout, "etc"), 0o755)
	if err := unix.Mknod(filepath.Join(whiteout, "etc/passwd"), unix.S_IFCHR, 0); err != nil {
		t.Skipf("whiteout (a 0/0 device) needs CAP_MKNOD: %v", err)
	}
	if _, _, err := resolveUser("app", []string{whiteout, base}); !errors.Is(err, ErrInvalidUser) {
		t.Errorf("app resolved through a whiteout of /etc/passwd: %v", err)
	}
	if u, home, err := resolveUser("1000", []string{whiteout, base}); err != nil || u.UID != 1000 || u.GID != 0 || home != "/" {
		t.Errorf("numeric user without /etc/passwd: %+v %q %v; want 1000:0, home /", u, home, err)
	}
}

func TestNamedNetworksOrder(t *testing.T) {
	// Recorded interfaces decide the order; records without one (made
	// before they were kept) come after, by name.
	c := &Container{Name: "x", Networks: map[string]NetworkAttach{
		"zeta": {Interface: "eth0"}, "alpha": {Interface: "eth2"}, "mid": {Interface: "eth1"}, "old": {},
	}}
	if got := c.NamedNetworks(); !slices.Equal(got, []string{"zeta", "mid", "alpha", "old"}) {
		t.Errorf("NamedNetworks: %q", got)
	}
	if got := c.interfaceOn("old"); got != "eth3" {
		t.Errorf("interfaceOn of a record without one: %q, want eth3 (its place)", got)
	}
	if got, err := c.freeInterface(); err != nil || got != "eth4" {
		t.Errorf("freeInterface: %q, %v; want eth4", got, err)
	}
	gap := &Container{Networks: map[string]NetworkAttach{"a": {Interface: "eth0"}, "b": {Interface: "eth2"}}}
	if got, _ := gap.freeInterface(); got != "eth1" {
		t.Errorf("freeInterface with eth1 free: %q", got)
	}
	got := assignInterfaces(map[string]NetworkAttach{"b": {}, "a": {}, "c": {Interface: "eth0"}, "d": {Interface: "eth0"}})
	ifaces := map[string]bool{}
	for n, a := range got {
		if a.Interface == "" || ifaces[a.Interface] {
			t.Errorf("assignInterfaces: %s got %q, taken or empty (%v)", n, a.Interface, got)
		}
		ifaces[a.Interface] = true
	}
	// c or d keeps eth0; the other and a, b take the next, by name.
	if got["a"].Interface != "eth1" || got["b"].Interface != "eth2" {
		t.Errorf("assignInterfaces: a %q, b %q; want eth1, eth2", got["a"].Interface, got["b"].Interface)
	}
}

func TestNamedEtcFilesNameservers(t *testing.T) {
	c := &Container{Name: "web"}
	spec := &specs.Spec{Hostname: "web"}
	files := namedEtcFiles(c, spec, "", "search example.com\noptions ndots:2\nnameserver 127.0.0.53\n", "", netip.MustParseAddr("10.89.0.2"), []string{"10.89.0.1", "10.89.1.1"})
	want := "search dns.podman example.com\nnameserver 10.89.0.1\nnameserver 10.89.1.1\noptions ndots:2\n"
	if files["resolv.conf"] != want {
		t.Errorf("resolv.conf:\n%s\nwant:\n%s", files["resolv.conf"], want)
	}
	if !strings.Contains(files["hosts"], "10.89.0.2\tweb") {
		t.Errorf("hosts lacks the first network's address: %q", files["hosts"])
	}
	none := namedEtcFiles(c, spec, "", "", "", netip.MustParseAddr("10.89.0.2"), nil)
	if !strings.Contains(none["resolv.conf"], "nameserver 10.0.2.3\n") {
		t.Errorf("resolv.conf of networks without DNS: %q, want the way out's forwarder", none["resolv.conf"])
	}
}

// TestRecordedProcessArgs: ps's reading of a container's command decodes the
// spec's process.args alone, and is nil when the spec is missing or has
// no process.
func TestRecordedProcessArgs(t *testing.T) {
	c := &Container{dir: t.TempDir()}
	if got := c.ProcessArgs(); got != nil {
		t.Errorf("no spec: %q", got)
	}
	spec := `{"ociVersion":"1.2.0","process":{"args":["sh","-c","echo hi"],"cwd":"/"},"linux":{"seccomp":{"defaultAction":"SCMP_ACT_ERRNO"}}}`
	if err := os.WriteFile(c.File("config.json"), []byte(spec), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := c.ProcessArgs(); !slices.Equal(got, []string{"sh", "-c", "echo hi"}) {
		t.Errorf("ProcessArgs = %q", got)
	}
	if err := os.WriteFile(c.File("config.json"), []byte(`{"ociVersion":"1.2.0"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := c.ProcessArgs(); got != nil {
		t.Errorf("no process: %q", got)
	}
	// A record that keeps its command line is read alone.
	c.Args = []string{"httpd", "-f"}
	if got := c.ProcessArgs(); !slices.Equal(got, c.Args) {
		t.Errorf("recorded: %q", got)
	}
	o := &CreateOptions{Image: v1.ImageConfig{Cmd: []string{"top"}}, Init: true}
	if got, err := commandLine(o); err != nil || !slices.Equal(got, []string{nsexec.InitPath, "--", "top"}) {
		t.Errorf("commandLine with --init: %q, %v", got, err)
	}
}
