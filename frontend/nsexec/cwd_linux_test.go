package nsexec

import (
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// TestCheckCwdOutsideRoot: checkCwd, the CVE-2024-21626 check, tells a
// working directory inside the process's root from one reached through a
// descriptor opened before the root changed. The inner half runs in a user
// and mount namespace of its own, where it may chroot.
func TestCheckCwdOutsideRoot(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestCheckCwdOutsideRootInner$", "-test.v")
	// The directories are ours to remove: the inner half, chrooted into
	// one of them, could not.
	cmd.Env = append(os.Environ(), "MYCTR_CHECKCWD_INNER=1", "MYCTR_CHECKCWD_OUTSIDE="+t.TempDir(), "MYCTR_CHECKCWD_ROOT="+t.TempDir())
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
	}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestCheckCwdOutsideRootInner") {
		t.Fatalf("inner test: %v\n%s", err, out)
	}
}

func TestCheckCwdOutsideRootInner(t *testing.T) {
	if os.Getenv("MYCTR_CHECKCWD_INNER") != "1" {
		t.Skip("the inner half of TestCheckCwdOutsideRoot")
	}
	outside, root := os.Getenv("MYCTR_CHECKCWD_OUTSIDE"), os.Getenv("MYCTR_CHECKCWD_ROOT")
	if err := os.Mkdir(root+"/sub", 0o755); err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Open(outside, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Chroot(root); err != nil {
		t.Fatal(err)
	}
	if err := unix.Chdir("/sub"); err != nil {
		t.Fatal(err)
	}
	if err := checkCwd(); err != nil {
		t.Fatalf("inside the root: %v", err)
	}
	if err := unix.Fchdir(fd); err != nil {
		t.Fatal(err)
	}
	if err := checkCwd(); err == nil {
		t.Fatal("a working directory outside the root passed checkCwd")
	}
}
