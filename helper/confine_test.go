package helper

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

const confineChildEnv = "MYCTR_HELPER_TEST_CONFINE" // set: be the child

// confineChild confines itself as the helper does (with netns=) and tries
// what the helper must and must not be able to do; one line per step.
func confineChild() int {
	what, err := Confine(true, false)
	if err != nil {
		fmt.Printf("FAIL confine: %v\n", err)
		return 1
	}
	fmt.Printf("confined: %s\n", what)
	status := 0
	check := func(step string, err error, want error) {
		if (want == nil && err != nil) || (want != nil && !errors.Is(err, want)) {
			fmt.Printf("FAIL %s: %v (want %v)\n", step, err, want)
			status = 1
			return
		}
		fmt.Printf("ok %s: %v\n", step, err)
	}
	// The sets on a thread made before (this one) and after confining.
	sets := func() string {
		b, _ := os.ReadFile("/proc/thread-self/status")
		var out []string
		for _, l := range strings.Split(string(b), "\n") {
			for _, k := range []string{"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp"} {
				if strings.HasPrefix(l, k+":") {
					out = append(out, strings.Join(strings.Fields(l), " "))
				}
			}
		}
		return strings.Join(out, " ")
	}
	const want = "CapInh: 0000000000000000 CapPrm: 0000000000201401 CapEff: 0000000000201401 CapBnd: 0000000000000000 CapAmb: 0000000000000000 NoNewPrivs: 1 Seccomp: 2"
	setsNew := make(chan string)
	go func() { runtime.LockOSThread(); setsNew <- sets() }()
	for _, got := range []string{sets(), <-setsNew} {
		if got != want {
			check("sets "+got, errors.New("differ"), nil)
		}
	}
	sock := func(domain, typ, proto int) error {
		fd, err := unix.Socket(domain, typ|unix.SOCK_CLOEXEC, proto)
		if err == nil {
			unix.Close(fd)
		}
		return err
	}
	check("netlink socket", sock(unix.AF_NETLINK, unix.SOCK_RAW, unix.NETLINK_ROUTE), nil)
	check("inet socket", sock(unix.AF_INET, unix.SOCK_STREAM, 0), nil)
	check("unix socket", sock(unix.AF_UNIX, unix.SOCK_STREAM, 0), unix.EPERM)
	check("packet socket", sock(unix.AF_PACKET, unix.SOCK_RAW, 0), unix.EPERM)
	check("write a file", os.WriteFile(os.Getenv(confineChildEnv), []byte("x"), 0o600), nil)
	check("signal itself", unix.Kill(os.Getpid(), 0), nil)
	check("signal pid 1", unix.Kill(1, 0), unix.EPERM)
	check("execve", unix.Exec("/bin/true", []string{"true"}, nil), unix.ENOSYS)
	_, err = syscall.ForkExec("/bin/true", []string{"true"}, nil)
	check("fork and exec", err, unix.EPERM) // clone without CLONE_THREAD
	check("unshare", unix.Unshare(unix.CLONE_NEWNET), unix.ENOSYS)
	check("setns into a mount namespace", unix.Setns(0, unix.CLONE_NEWNS), unix.EPERM)
	check("ptrace", unix.PtraceAttach(1), unix.ENOSYS)
	check("mount", unix.Mount("none", "/mnt", "tmpfs", 0, ""), unix.ENOSYS)
	_, err = unix.IoctlGetInt(0, unix.TIOCGPGRP)
	check("a tty ioctl", err, unix.EPERM)
	return status
}

// TestConfine: in a re-executed child (capabilities, no_new_privs and the
// filter are for good), Confine leaves CAP_NET_ADMIN,
// CAP_NET_BIND_SERVICE and CAP_SYS_ADMIN, empty bounding, inheritable and
// ambient sets, no_new_privs and a filter on every thread, old and new;
// netlink and inet sockets and files work; unix sockets, other processes'
// signals, exec, fork, unshare, ptrace, mount and tty ioctls do not.
func TestConfine(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("Confine keeps capabilities that only root has: run as root (the unit tier does in CI)")
	}
	if runtime.GOARCH != "amd64" {
		t.Skip("the seccomp filter is written for amd64 only")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), confineChildEnv+"="+t.TempDir()+"/f")
	out, err := cmd.CombinedOutput()
	t.Logf("child:\n%s", out)
	if err != nil || strings.Contains(string(out), "FAIL") {
		t.Errorf("the confined child: %v", err)
	}
}
