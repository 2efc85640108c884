package rootfs

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestRotate(t *testing.T) {
	// own = 1000: the image's root shows as 1000, its uid 1 as 0, its
	// 1000 as 999, its 1001 as 1001.
	tests := []struct{ seen, want uint32 }{{1000, 0}, {0, 1}, {999, 1000}, {1001, 1001}, {65535, 65535}}
	for _, tt := range tests {
		if got := Rotate(tt.seen, 1000); got != tt.want {
			t.Errorf("Rotate(%d, 1000) = %d, want %d", tt.seen, got, tt.want)
		}
	}
}

func TestKeepUserRoundTrip(t *testing.T) {
	k := KeepUser{UID: 1001, GID: 1002, Name: "alice", Home: "/home/al:ice"}
	got, err := ParseKeepUser(k.Encode())
	if err != nil || got != k {
		t.Fatalf("ParseKeepUser(%q) = %+v, %v", k.Encode(), got, err)
	}
	for _, bad := range []string{"", "1:2:alice", "x:2:alice:/h", "1:2::/h", "1:2:alice:rel"} {
		if _, err := ParseKeepUser(bad); err == nil {
			t.Errorf("ParseKeepUser(%q) accepted", bad)
		}
	}
}

func TestAddUser(t *testing.T) {
	root := t.TempDir()
	os.Mkdir(filepath.Join(root, "etc"), 0o755)
	os.WriteFile(filepath.Join(root, "etc/passwd"), []byte("root:x:0:0:root:/root:/bin/sh"), 0o644)
	os.WriteFile(filepath.Join(root, "etc/group"), []byte("root:x:0:\nstaff:x:50:\n"), 0o644)
	k := KeepUser{UID: 1001, GID: 50, Name: "alice", Home: "/home/alice"}
	for range 2 { // the second start adds nothing
		if err := AddUser(root, k); err != nil {
			t.Fatal(err)
		}
	}
	pw, _ := os.ReadFile(filepath.Join(root, "etc/passwd"))
	if want := "root:x:0:0:root:/root:/bin/sh\nalice:*:1001:50:alice:/home/alice:/bin/sh\n"; string(pw) != want {
		t.Errorf("passwd:\n%s\nwant\n%s", pw, want)
	}
	gr, _ := os.ReadFile(filepath.Join(root, "etc/group"))
	if want := "root:x:0:\nstaff:x:50:\n"; string(gr) != want {
		t.Errorf("group (gid 50 is there):\n%s\nwant\n%s", gr, want)
	}
	// A symlinked /etc/passwd that points out of root is resolved inside it.
	out := t.TempDir()
	root2 := t.TempDir()
	os.Mkdir(filepath.Join(root2, "etc"), 0o755)
	os.Symlink(filepath.Join(out, "passwd"), filepath.Join(root2, "etc/passwd"))
	if err := AddUser(root2, k); err == nil {
		if _, err := os.Stat(filepath.Join(out, "passwd")); err == nil {
			t.Error("AddUser wrote through a symlink out of the root")
		}
	}
}

func TestShiftOwnersMarkers(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "keep-id-shifted")
	os.WriteFile(marker+".partial", nil, 0o600)
	if err := ShiftOwners(t.TempDir(), KeepUser{UID: 1}, marker); !errors.Is(err, ErrShiftInterrupted) {
		t.Errorf("after an interrupted shift: %v, want ErrShiftInterrupted", err)
	}
	os.WriteFile(marker, nil, 0o600)
	if err := ShiftOwners("/nonexistent", KeepUser{UID: 1}, marker); err != nil {
		t.Errorf("with the marker: %v, want nothing done", err)
	}
}

func TestShiftOwners(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("chown to other owners needs root (or a user namespace)")
	}
	root := t.TempDir()
	files := map[string]uint32{"a": 1000, "b": 5, "c": 2000}
	for name, uid := range files {
		p := filepath.Join(root, name)
		os.WriteFile(p, nil, 0o755)
		os.Lchown(p, int(uid), int(uid))
		syscall.Chmod(p, 0o4755) // after the chown, which clears it
	}
	os.Lchown(root, 1000, 1000)
	os.Symlink("a", filepath.Join(root, "l"))
	os.Lchown(filepath.Join(root, "l"), 1000, 1000)
	marker := filepath.Join(t.TempDir(), "m")
	if err := ShiftOwners(root, KeepUser{UID: 1000, GID: 1000}, marker); err != nil {
		t.Fatal(err)
	}
	want := map[string]uint32{".": 0, "a": 0, "b": 6, "c": 2000, "l": 0}
	for name, w := range want {
		var st syscall.Stat_t
		syscall.Lstat(filepath.Join(root, name), &st)
		if st.Uid != w || st.Gid != w {
			t.Errorf("%s: %d:%d, want %d:%d", name, st.Uid, st.Gid, w, w)
		}
		if name != "." && name != "l" && st.Mode&0o7777 != 0o4755 {
			t.Errorf("%s: mode %o, want 4755 kept", name, st.Mode&0o7777)
		}
	}
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("marker: %v", err)
	}
	if _, err := os.Stat(marker + ".partial"); err == nil {
		t.Error("the .partial mark is left")
	}
}
