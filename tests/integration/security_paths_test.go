//go:build integration

package integration

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Attacks on the paths myctr writes and on what a container may read
// (issue 20), each through the real binary as the test user.

// treeSnapshot lists every entry below dir with its type, mode, owner,
// size, link target and content, one line each: two snapshots are equal
// when nothing below dir was created, removed or changed.
func treeSnapshot(t *testing.T, dir string) string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		line := fmt.Sprintf("%s %v uid=%d size=%d", strings.TrimPrefix(p, dir), fi.Mode(), st.Uid, fi.Size())
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			l, _ := os.Readlink(p)
			line += " -> " + l
		case fi.Mode().IsRegular():
			b, _ := os.ReadFile(p)
			line += fmt.Sprintf(" %q", b)
		}
		lines = append(lines, line)
		return nil
	})
	if err != nil {
		t.Fatalf("snapshot %s: %v", dir, err)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// homeStandIn is a directory of the test user standing in for $HOME, with
// the files a login shell reads.
func homeStandIn(t *testing.T) string {
	t.Helper()
	home := filepath.Join(t.TempDir(), "home")
	if err := os.Mkdir(home, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".bashrc"), []byte("# the user's own\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return home
}

// tarEntry is one member of a crafted archive.
type tarEntry struct {
	name, link, body string
	typ              byte
}

func craftTar(t *testing.T, entries []tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: 0o644, ModTime: time.Unix(1_600_000_000, 0)}
		switch e.typ {
		case tar.TypeReg:
			h.Size = int64(len(e.body))
		case tar.TypeDir:
			h.Mode = 0o755
		case tar.TypeSymlink:
			h.Mode = 0o777
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if e.typ == tar.TypeReg {
			tw.Write([]byte(e.body))
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestSecurityLoadStaysInScratch: `myctr load` of an archive whose entries
// plant a symlink into the user's home and then write through it creates
// nothing there, and fails with a clear Error naming the entry (issue 20,
// item 3: a .bash_login written this way runs at the user's next login).
func TestSecurityLoadStaysInScratch(t *testing.T) {
	payload := "echo pwned >/dev/tty\n"
	tests := []struct {
		name    string
		entries func(home string) []tarEntry
		naming  string // the entry the error must name: the first hostile one
	}{
		{
			name: "absolute symlink then write through",
			entries: func(home string) []tarEntry {
				return []tarEntry{
					{name: "x", typ: tar.TypeSymlink, link: home},
					{name: "x/.bash_login", typ: tar.TypeReg, body: payload},
				}
			},
			naming: "x",
		},
		{
			name: "relative symlink climbing out then write through",
			entries: func(home string) []tarEntry {
				return []tarEntry{
					{name: "blobs/", typ: tar.TypeDir},
					{name: "blobs/up", typ: tar.TypeSymlink, link: strings.Repeat("../", 40) + strings.TrimPrefix(home, "/")},
					{name: "blobs/up/.profile", typ: tar.TypeReg, body: payload},
				}
			},
			naming: "blobs/up",
		},
		{
			name: "directory replaced by a symlink then write through",
			entries: func(home string) []tarEntry {
				return []tarEntry{
					{name: "d/", typ: tar.TypeDir},
					{name: "d", typ: tar.TypeSymlink, link: home},
					{name: "d/.bash_login", typ: tar.TypeReg, body: payload},
				}
			},
			naming: "d",
		},
		{
			name: "hardlink to a file of the home",
			entries: func(home string) []tarEntry {
				return []tarEntry{
					{name: "h", typ: tar.TypeLink, link: filepath.Join(home, ".bashrc")},
					{name: "h", typ: tar.TypeReg, body: payload},
				}
			},
			naming: "h",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := homeStandIn(t)
			before := treeSnapshot(t, home)
			archive := filepath.Join(t.TempDir(), "evil.tar")
			if err := os.WriteFile(archive, craftTar(t, tt.entries(home)), 0o644); err != nil {
				t.Fatal(err)
			}
			_, errOut, code := myctr(t, "load", "-i", archive)
			if after := treeSnapshot(t, home); after != before {
				t.Errorf("load changed the home stand-in:\nbefore:\n%s\nafter:\n%s", before, after)
			}
			if code != 125 || !strings.Contains(errOut, "Error:") || !strings.Contains(errOut, strconv.Quote(tt.naming)) {
				t.Errorf("load: exit %d, stderr %q; want 125 and an Error naming the entry %q", code, errOut, tt.naming)
			}
		})
	}
}

// runRootEnv is the environment of a user without XDG_RUNTIME_DIR whose
// temporary directory is tmp: myctr then falls back to tmp/myctr-run-UID.
func runRootEnv(tmp string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "XDG_RUNTIME_DIR=") || strings.HasPrefix(kv, "TMPDIR=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "TMPDIR="+tmp)
}

// myctrFallback runs myctr with the test's --root but no --runroot, in the
// environment env.
func myctrFallback(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"--root", root}, args...)...)
	cmd.Env = env
	cmd.WaitDelay = 5 * time.Second
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		code = -1
		e.WriteString("\n[test harness: " + err.Error() + "]")
	}
	t.Logf("myctr (no --runroot, %s) %s -> exit %d", env[len(env)-1], strings.Join(args, " "), code)
	return o.String(), e.String(), code
}

// asOtherUID runs the shell script in `myctr unshare`, as root of the test
// user's namespace, to make files owned by the first subordinate uid: a
// uid of the host that is not the test user's, standing in for another
// local user (the test user cannot become one).
func asOtherUID(t *testing.T, script string, args ...string) {
	t.Helper()
	full := append([]string{"unshare", "sh", "-euc", script, "sh"}, args...)
	if out, errOut, code := myctr(t, full...); code != 0 {
		t.Fatalf("myctr unshare sh: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
}

// stickyTmp makes a world-writable sticky directory like /tmp, private to
// the test, and removes it (with what the other uid left in it) at the end.
func stickyTmp(t *testing.T) string {
	t.Helper()
	tmp := filepath.Join(t.TempDir(), "tmp")
	if err := os.Mkdir(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(tmp, 0o777|fs.ModeSticky); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { runMyctr(cmdTimeout, nil, "unshare", "rm", "-rf", tmp) })
	return tmp
}

// TestSecurityRunRootFallback: without XDG_RUNTIME_DIR myctr keeps runtime
// state in TMPDIR/myctr-run-UID. Another user who creates that path first
// (a directory open to all, or a symlink into the victim's home) must not
// get the victim's files written where they choose: myctr refuses with an
// Error naming the path and a Hint, and writes nothing through the plant
// (issue 20, item 4). The other user is played by the test user's first
// subordinate uid, which owns what the attacker plants.
func TestSecurityRunRootFallback(t *testing.T) {
	subUID, _ := subIDRange(t, "/etc/subuid")
	uid := strconv.Itoa(os.Getuid())

	t.Run("directory made by another user", func(t *testing.T) {
		tmp := stickyTmp(t)
		home := homeStandIn(t)
		before := treeSnapshot(t, home)
		planted := filepath.Join(tmp, "myctr-run-"+uid)
		asOtherUID(t, `mkdir -m 0777 "$1" "$1/containers"; chown 1:1 "$1" "$1/containers"`, planted)
		env := runRootEnv(tmp)
		name := ctrName(t, "victim")
		t.Cleanup(func() { myctrFallback(t, env, "rm", "-f", name) })
		out, errOut, code := myctrFallback(t, env, "run", "-d", "--name", name, "--network", "none", image, "sleep", "600")
		t.Logf("stderr: %s", errOut)
		if code == 0 {
			t.Errorf("run -d used a run root owned by uid %d", subUID)
			// The attacker swaps the container's runtime directory for
			// one whose userdata/ leads into the victim's home; the next
			// start writes hosts, hostname and resolv.conf there.
			id := strings.TrimSpace(out)
			myctrFallback(t, env, "stop", "-t", "0", name)
			asOtherUID(t, `mv "$1/containers/$2" "$1/containers/old-$2"; mkdir -m 0777 "$1/containers/$2"; ln -s "$3" "$1/containers/$2/userdata"; chown -h 1:1 "$1/containers/$2" "$1/containers/$2/userdata"`,
				planted, id, home)
			myctrFallback(t, env, "start", name)
		} else if code != 125 || !strings.Contains(errOut, "Error:") || !strings.Contains(errOut, planted) ||
			!strings.Contains(errOut, "Hint:") || !strings.Contains(errOut, "XDG_RUNTIME_DIR") {
			t.Errorf("run -d: exit %d, stderr %q; want 125, an Error naming %s and a Hint naming XDG_RUNTIME_DIR", code, errOut, planted)
		}
		if after := treeSnapshot(t, home); after != before {
			t.Errorf("the home stand-in changed through the planted run root:\nbefore:\n%s\nafter:\n%s", before, after)
		}
	})

	t.Run("symlink made by another user", func(t *testing.T) {
		tmp := stickyTmp(t)
		home := homeStandIn(t)
		before := treeSnapshot(t, home)
		planted := filepath.Join(tmp, "myctr-run-"+uid)
		asOtherUID(t, `ln -s "$2" "$1"; chown -h 1:1 "$1"`, planted, home)
		env := runRootEnv(tmp)
		_, errOut, code := myctrFallback(t, env, "run", "--rm", "--network", "none", image, "true")
		t.Logf("stderr: %s", errOut)
		if code != 125 || !strings.Contains(errOut, "Error:") || !strings.Contains(errOut, planted) ||
			!strings.Contains(errOut, "Hint:") || !strings.Contains(errOut, "XDG_RUNTIME_DIR") {
			t.Errorf("run: exit %d, stderr %q; want 125, an Error naming %s and a Hint naming XDG_RUNTIME_DIR", code, errOut, planted)
		}
		if after := treeSnapshot(t, home); after != before {
			t.Errorf("the home stand-in changed through the planted symlink:\nbefore:\n%s\nafter:\n%s", before, after)
		}
	})

	t.Run("made by myctr itself", func(t *testing.T) {
		tmp := stickyTmp(t)
		env := runRootEnv(tmp)
		for i := 0; i < 2; i++ { // creates it, then accepts its own
			if out, errOut, code := myctrFallback(t, env, "run", "--rm", "--network", "none", image, "cat", "/etc/hostname"); code != 0 || out == "" {
				t.Fatalf("run %d: exit %d, stdout %q, stderr %q", i, code, out, errOut)
			}
		}
		fi, err := os.Lstat(filepath.Join(tmp, "myctr-run-"+uid))
		if err != nil {
			t.Fatal(err)
		}
		if st := fi.Sys().(*syscall.Stat_t); !fi.IsDir() || fi.Mode().Perm() != 0o700 || int(st.Uid) != os.Getuid() {
			t.Errorf("fallback run root: mode %v owner %d; want a directory, 0700, owned by %d", fi.Mode(), st.Uid, os.Getuid())
		}
	})
}

// TestSecurityMaskedPaths: the paths containers-common masks are masked
// (issue 20, item 12): /sys/devices/virtual/powercap (energy counters, a
// side channel) and /proc/interrupts read as empty in a container.
func TestSecurityMaskedPaths(t *testing.T) {
	t.Run("proc interrupts", func(t *testing.T) {
		host, err := os.ReadFile("/proc/interrupts")
		if err != nil || len(host) == 0 {
			t.Fatalf("host /proc/interrupts: %d bytes, %v", len(host), err)
		}
		out := runOut(t, []string{"--network", "none"}, "wc", "-c", "/proc/interrupts")
		if f := strings.Fields(out); len(f) == 0 || f[0] != "0" {
			t.Errorf("container reads %q from /proc/interrupts, want 0 bytes (the host has %d)", out, len(host))
		}
	})

	// This host kind has no powercap driver, so its sysfs has no
	// /sys/devices/virtual/powercap: a directory bound over
	// /sys/devices/virtual stands in for a sysfs that has one. The mask is
	// applied after every mount, at the same path, as on a host with RAPL.
	t.Run("powercap stand-in", func(t *testing.T) {
		virt := t.TempDir()
		zone := filepath.Join(virt, "powercap", "intel-rapl:0")
		if err := os.MkdirAll(zone, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(zone, "energy_uj"), []byte("73310251\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, d := range []string{virt, filepath.Dir(zone), zone} {
			os.Chmod(d, 0o755)
		}
		out := runOut(t, []string{"--network", "none", "-v", virt + ":/sys/devices/virtual:ro"}, "sh", "-c",
			"ls -A /sys/devices/virtual/powercap; cat /sys/devices/virtual/powercap/intel-rapl:0/energy_uj 2>/dev/null; true")
		if strings.TrimSpace(out) != "" {
			t.Errorf("container sees %q under /sys/devices/virtual/powercap, want nothing (masked)", out)
		}
		// The stand-in itself is visible next to it: the bind worked.
		out = runOut(t, []string{"--network", "none", "-v", virt + ":/sys/devices/virtual:ro"}, "ls", "/sys/devices/virtual")
		if !strings.Contains(out, "powercap") {
			t.Errorf("ls /sys/devices/virtual = %q: the stand-in was not bound", out)
		}
	})

	// Where the host has a powercap driver, its own files too.
	t.Run("powercap of the host", func(t *testing.T) {
		var file string
		filepath.WalkDir("/sys/devices/virtual/powercap", func(p string, d fs.DirEntry, err error) error {
			if err == nil && file == "" && d.Type().IsRegular() {
				if b, err := os.ReadFile(p); err == nil && len(b) > 0 {
					file = p
				}
			}
			return nil
		})
		if file == "" {
			// Not a skip: the stand-in above checks the mask on this host.
			t.Log("this host has no readable file under /sys/devices/virtual/powercap (no powercap driver): only the stand-in was checked")
			return
		}
		out := runOut(t, []string{"--network", "none"}, "sh", "-c", "cat "+file+" 2>/dev/null; ls -A /sys/devices/virtual/powercap")
		if strings.TrimSpace(out) != "" {
			t.Errorf("container reads %q under /sys/devices/virtual/powercap, want nothing (masked)", out)
		}
	})
}
