package systemd

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestFilterNotify(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"READY=1", "MAINPID=42\nREADY=1"},
		{"STATUS=warming up", "STATUS=warming up"},
		{"MAINPID=7\nREADY=1\nSTATUS=ok", "MAINPID=42\nREADY=1\nSTATUS=ok"},
		{"WATCHDOG=1", "WATCHDOG=1"},
		{"EXTEND_TIMEOUT_USEC=5000000\nX_CUSTOM=1", "EXTEND_TIMEOUT_USEC=5000000"},
		{"FDSTORE=1\nFDNAME=x", ""},
		{"MAINPID=1", ""},
		{"READY=0", "READY=0"},
		{"garbage without equals", ""},
		{"STATUS=a\x00b", ""},
		{"", ""},
	} {
		if got := FilterNotify([]byte(tc.in), 42); got != tc.want {
			t.Errorf("FilterNotify(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParseNotifyMode(t *testing.T) {
	for in, want := range map[string]string{"": NotifyContainer, "conmon": NotifyConmon, "container": NotifyContainer, "ignore": NotifyIgnore} {
		if got, err := ParseNotifyMode(in); err != nil || got != want {
			t.Errorf("ParseNotifyMode(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"healthy", "CONMON", "yes"} {
		if _, err := ParseNotifyMode(bad); err == nil {
			t.Errorf("ParseNotifyMode(%q) accepted", bad)
		}
	}
}

func TestListenFDs(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	n, names, err := ListenFDs(env(map[string]string{"LISTEN_PID": "10", "LISTEN_FDS": "2", "LISTEN_FDNAMES": "a:b"}), 10)
	if n != 2 || names != "a:b" || err != nil {
		t.Errorf("for this pid: %d %q %v", n, names, err)
	}
	if n, _, _ := ListenFDs(env(map[string]string{"LISTEN_PID": "11", "LISTEN_FDS": "2"}), 10); n != 0 {
		t.Errorf("for another pid: %d descriptors taken", n)
	}
	if n, _, _ := ListenFDs(env(map[string]string{"LISTEN_FDS": "2"}), 10); n != 0 {
		t.Errorf("without LISTEN_PID: %d descriptors taken", n)
	}
	for _, bad := range []string{"-1", "x", "100000"} {
		if _, _, err := ListenFDs(env(map[string]string{"LISTEN_PID": "10", "LISTEN_FDS": bad}), 10); err == nil {
			t.Errorf("LISTEN_FDS=%s accepted", bad)
		}
	}
}

// TestNotifyProxy: a socket under a directory whose path is too long for
// a socket address still works, and what arrives is forwarded filtered.
func TestNotifyProxy(t *testing.T) {
	upperPath := filepath.Join(t.TempDir(), "upper.sock")
	upper, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: upperPath, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer upper.Close()
	dir := t.TempDir()
	for len(dir) < 120 {
		dir = filepath.Join(dir, strings.Repeat("d", 30))
	}
	if err := mkdirAll(dir); err != nil {
		t.Fatal(err)
	}
	p, err := ListenNotify(dir, "notify.sock", upperPath, 99)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	// The container's end, reached as a container would: by a short path.
	short := filepath.Join(t.TempDir(), "l")
	if err := symlink(dir, short); err != nil {
		t.Fatal(err)
	}
	if err := Notify(short+"/notify.sock", "MAINPID=3\nREADY=1\nSTATUS=up"); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 512)
	upper.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, _, err := upper.ReadFromUnix(buf)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(buf[:n]); got != "MAINPID=99\nREADY=1\nSTATUS=up" {
		t.Errorf("forwarded %q", got)
	}
	if !p.Ready() {
		t.Error("Ready() is false after READY=1")
	}
}

func mkdirAll(dir string) error         { return os.MkdirAll(dir, 0o755) }
func symlink(target, link string) error { return os.Symlink(target, link) }
