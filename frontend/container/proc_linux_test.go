package container

import (
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/frontend/nsexec"
)

const leaderGoneEnv = "MYCTR_CONTAINER_TEST_LEADER_GONE" // set: be the child

// init, in the child, ends the first thread alone (package
// initialisation runs on it): the process lives on in the runtime's other
// threads, its first thread a zombie, as every process is for a moment
// while a thread other than its first executes a program.
func init() {
	if os.Getenv(leaderGoneEnv) != "" {
		unix.RawSyscall(unix.SYS_EXIT, 0, 0, 0)
	}
}

// startLeaderGone starts a child whose first thread has exited while the
// others run, and returns it once it is so.
func startLeaderGone(t *testing.T) (cmd *exec.Cmd, start uint64) {
	t.Helper()
	cmd = exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), leaderGoneEnv+"=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	pid := cmd.Process.Pid
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, s, err := nsexec.ProcStat(pid)
		tasks, _ := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/task")
		if err == nil && st == 'Z' && len(tasks) > 1 {
			return cmd, s
		}
		if time.Now().After(deadline) {
			t.Fatalf("the child's first thread did not end alone: state %c, %d threads, %v", st, len(tasks), err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestAliveLeaderGone: a process whose first thread has exited lives as
// long as another of its threads does; once all have, it is gone, reaped
// or not.
func TestAliveLeaderGone(t *testing.T) {
	cmd, start := startLeaderGone(t)
	pid := cmd.Process.Pid
	if !alive(pid, start) {
		t.Fatal("a process whose first thread has exited, its others running, is taken for gone")
	}
	if alive(pid, start+1) {
		t.Error("another start time is taken for the same process")
	}
	fd, err := openPidfd(pid, start)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	if !waitGone(fd, 10*time.Second) {
		t.Fatal("the killed child did not exit")
	}
	if alive(pid, start) {
		t.Error("an exited process not yet reaped (a zombie) is taken for alive")
	}
	cmd.Wait()
	if alive(pid, start) {
		t.Error("a reaped process is taken for alive")
	}
}
