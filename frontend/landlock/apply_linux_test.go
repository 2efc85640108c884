package landlock

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

const childEnv = "MYCTR_LANDLOCK_TEST_CHILD" // "RWDIR OUTSIDE PORT OTHERPORT": be the child

func TestMain(m *testing.M) {
	if v := os.Getenv(childEnv); v != "" {
		os.Exit(child(strings.Fields(v)))
	}
	os.Exit(m.Run())
}

// child enforces ro:/, rw:RWDIR, rw:/dev/null (a file), exec:/bin and
// TCP bind and connect to PORT only, on its one locked thread (as
// startProcess does, with no_new_privs as a non-root test user needs),
// then tries what the rules allow and deny; one line per step.
func child(dirs []string) int {
	runtime.LockOSThread() // never unlocked: the thread is the restricted one
	rw, outside, port, other := dirs[0], dirs[1], dirs[2], dirs[3]
	r, err := Parse(fmt.Sprintf("ro:/,rw:%s:/dev/null,exec:/bin,net:bind=%s,net:connect=%s", rw, port, port))
	if err != nil {
		fmt.Println("parse:", err)
		return 1
	}
	d, err := Build(r)
	if err != nil {
		fmt.Println("build:", err)
		return 1
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		fmt.Println("no_new_privs:", err)
		return 1
	}
	if err := d.Enforce(); err != nil {
		fmt.Println("enforce:", err)
		return 1
	}
	status := 0
	check := func(step string, err error, want error) {
		if (want == nil && err != nil) || (want != nil && !errors.Is(err, want)) {
			fmt.Printf("FAIL %s: %v (want %v)\n", step, err, want)
			status = 1
			return
		}
		fmt.Printf("ok %s: %v\n", step, err)
	}
	check("write under rw", os.WriteFile(filepath.Join(rw, "f"), []byte("x"), 0o700), nil)
	check("rename under rw", os.Rename(filepath.Join(rw, "f"), filepath.Join(rw, "g")), nil)
	check("mkdir under rw", os.Mkdir(filepath.Join(rw, "d"), 0o755), nil)
	check("rename between directories under rw", os.Rename(filepath.Join(rw, "g"), filepath.Join(rw, "d", "g")), nil)
	check("write /dev/null (a file rule)", os.WriteFile("/dev/null", []byte("x"), 0), nil)
	_, err = os.ReadFile("/etc/hostname")
	check("read under ro", err, nil)
	check("write outside", os.WriteFile(filepath.Join(outside, "new"), []byte("x"), 0o600), unix.EACCES)
	check("truncate outside", unix.Truncate(filepath.Join(outside, "existing"), 0), unix.EACCES)
	check("remove outside", os.Remove(filepath.Join(outside, "existing")), unix.EACCES)
	check("rename out of rw", os.Rename(filepath.Join(rw, "d", "g"), filepath.Join(outside, "g")), unix.EACCES)
	check("execute under rw", unix.Exec(filepath.Join(rw, "d", "g"), []string{"g"}, nil), unix.EACCES)
	var allowed, denied int
	fmt.Sscan(port, &allowed)
	fmt.Sscan(other, &denied)
	lo := [4]byte{127, 0, 0, 1}
	ln, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
	if err == nil {
		err = unix.Bind(ln, &unix.SockaddrInet4{Port: allowed, Addr: lo})
	}
	if err == nil {
		err = unix.Listen(ln, 1)
	}
	check("bind and listen on the allowed port", err, nil)
	check("bind another port", tcp(func(s int) error { return unix.Bind(s, &unix.SockaddrInet4{Port: denied, Addr: lo}) }), unix.EACCES)
	check("connect to the allowed port", tcp(func(s int) error { return unix.Connect(s, &unix.SockaddrInet4{Port: allowed, Addr: lo}) }), nil)
	// Nobody listens there: without Landlock, ECONNREFUSED.
	check("connect to another port", tcp(func(s int) error { return unix.Connect(s, &unix.SockaddrInet4{Port: denied, Addr: lo}) }), unix.EACCES)
	return status
}

// tcp calls f with a new TCP socket (not MPTCP, which Landlock does not
// restrict).
func tcp(f func(int) error) error {
	s, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
	if err != nil {
		return err
	}
	defer unix.Close(s)
	return f(s)
}

// TestEnforce: in a re-executed child (Landlock cannot be undone), the
// rules hold: writes, renames and execution only where granted, device
// files by a file rule, TCP ports by net rules.
func TestEnforce(t *testing.T) {
	if abi := ABI(); abi < abiNet {
		t.Skipf("the kernel's Landlock ABI is %d; this test needs %d (TCP rules)", abi, abiNet)
	}
	rw, outside := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "existing"), []byte("data"), 0o600); err != nil {
		t.Fatal(err)
	}
	port, other := freePort(t), freePort(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s %s %d %d", childEnv, rw, outside, port, other))
	out, err := cmd.CombinedOutput()
	t.Logf("child:\n%s", out)
	if err != nil || strings.Contains(string(out), "FAIL") {
		t.Fatalf("child: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(outside, "existing")); err != nil || string(b) != "data" {
		t.Errorf("the file outside: %q, %v; want it untouched", b, err)
	}
	if _, err := os.Stat(filepath.Join(outside, "new")); !os.IsNotExist(err) {
		t.Errorf("a file was made outside the rw path: %v", err)
	}
}

// TestBuildMissingPath: a path that does not exist is an error naming it
// (the container fails to start, exit 125), never a rule left out.
func TestBuildMissingPath(t *testing.T) {
	if ABI() < 1 {
		t.Skip("the kernel has no Landlock: Build makes no ruleset")
	}
	dir := t.TempDir()
	for _, p := range []string{filepath.Join(dir, "missing"), filepath.Join(dir, "file", "below")} {
		if err := os.WriteFile(filepath.Join(dir, "file"), nil, 0o600); err != nil {
			t.Fatal(err)
		}
		r, err := Parse("ro:/,rw:" + p)
		if err != nil {
			t.Fatal(err)
		}
		d, err := Build(r)
		if !errors.Is(err, ErrPath) || !strings.Contains(err.Error(), "rw:"+p) {
			t.Errorf("Build(rw:%s) = %v, want ErrPath naming rw:%s", p, err, p)
		}
		d.Close()
	}
}

// TestBuildExtraExec: an extra executable that is a memfd (a sealed copy
// of myctr-init) cannot carry a rule and needs none; it is skipped. One
// on disk gets its rule.
func TestBuildExtraExec(t *testing.T) {
	if ABI() < 1 {
		t.Skip("the kernel has no Landlock: Build makes no ruleset")
	}
	mfd, err := unix.MemfdCreate("landlock-test", unix.MFD_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(mfd)
	r, _ := Parse("ro:/")
	d, err := Build(r, fmt.Sprintf("/proc/self/fd/%d", mfd), os.Args[0])
	if err != nil {
		t.Fatalf("Build with a memfd and a file as extra executables: %v", err)
	}
	d.Close()
}

// freePort is a loopback TCP port nobody listens on just now.
func freePort(t *testing.T) int {
	t.Helper()
	s, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(s)
	if err := unix.Bind(s, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(s)
	if err != nil {
		t.Fatal(err)
	}
	return sa.(*unix.SockaddrInet4).Port
}
