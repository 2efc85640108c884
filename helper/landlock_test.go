package helper

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	llsys "github.com/landlock-lsm/go-landlock/landlock/syscall"
	"golang.org/x/sys/unix"
)

const landlockChildEnv = "MYCTR_HELPER_TEST_LANDLOCK" // "STATE OUTSIDE": be the child

func TestMain(m *testing.M) {
	if v := os.Getenv(landlockChildEnv); v != "" {
		os.Exit(landlockChild(strings.Fields(v)))
	}
	if os.Getenv(confineChildEnv) != "" {
		os.Exit(confineChild())
	}
	os.Exit(m.Run())
}

// landlockChild restricts itself as the helper does and tries what the
// helper must and must not be able to do; one line per step on stdout.
func landlockChild(dirs []string) int {
	state, outside := dirs[0], dirs[1]
	what, err := RestrictFS(state, false)
	if err != nil {
		fmt.Printf("restrict: %v\n", err)
		return 1
	}
	fmt.Printf("restricted: %s\n", what)
	status := 0
	check := func(step string, err error, want error) {
		if (want == nil && err != nil) || (want != nil && !errors.Is(err, want)) {
			fmt.Printf("FAIL %s: %v (want %v)\n", step, err, want)
			status = 1
			return
		}
		fmt.Printf("ok %s: %v\n", step, err)
	}
	check("write in the state directory", os.WriteFile(filepath.Join(state, "f"), []byte("x"), 0o600), nil)
	check("rename in the state directory", os.Rename(filepath.Join(state, "f"), filepath.Join(state, "g")), nil)
	check("write outside", os.WriteFile(filepath.Join(outside, "f"), []byte("x"), 0o600), unix.EACCES)
	_, err = os.ReadFile("/etc/hostname")
	check("read /etc/hostname", err, unix.EACCES)
	_, err = os.ReadFile("/proc/sys/net/ipv4/ip_unprivileged_port_start")
	check("read /proc/sys/net", err, nil)
	if os.Geteuid() == 0 {
		// As hostnet does: a thread that entered another network
		// namespace writes that namespace's sysctls.
		errc := make(chan error)
		go func() {
			runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
			if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
				errc <- err
				return
			}
			errc <- os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1"), 0)
		}()
		check("write /proc/sys/net in another network namespace", <-errc, nil)
	}
	return status
}

// TestLandlock: in a re-executed child (Landlock cannot be undone), the
// helper's restriction leaves the state directory and /proc/sys/net
// writable and refuses a write anywhere else with EACCES.
func TestLandlock(t *testing.T) {
	if abi, err := llsys.LandlockGetABIVersion(); err != nil || abi < 1 {
		t.Skipf("the kernel has no Landlock (ABI %d, %v): nothing to enforce", abi, err)
	}
	state, outside := t.TempDir(), t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), landlockChildEnv+"="+state+" "+outside)
	out, err := cmd.CombinedOutput()
	t.Logf("child:\n%s", out)
	if err != nil {
		t.Errorf("child: %v", err)
	}
	if _, err := os.Stat(filepath.Join(outside, "f")); err == nil {
		t.Error("the child wrote outside its directories")
	}
	if os.Geteuid() != 0 {
		t.Log("not root: the write to /proc/sys/net in another network namespace was not tried")
	}
}
