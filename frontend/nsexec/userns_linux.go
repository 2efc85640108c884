package nsexec

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"

	"github.com/myctr/myctr/frontend/userns"
)

// UserNSCommand is a run of this binary inside a fresh user namespace (and
// a private mount namespace) with the user's full mapping: the way to
// unpack layers with their owners and to delete files owned by
// subordinate ids. Sub names the work; main dispatches it.
type UserNSCommand struct {
	Sub    string
	Args   []string
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
}

// Run starts the child, writes its maps, lets it go and waits for it.
func (u *UserNSCommand) Run(m *userns.Mapping) error {
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("pipe: %w", err)
	}
	defer w.Close()
	cmd := exec.Command("/proc/self/exe", u.Args...)
	cmd.Args[0] = "myctr-" + u.Sub
	cmd.Env = append(os.Environ(), EnvStage+"="+StageUserNS, EnvSyncFD+"=3", "_MYCTR_USERNS_SUB="+u.Sub)
	cmd.ExtraFiles = []*os.File{r}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = u.Stdin, u.Stdout, u.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS}
	if err := cmd.Start(); err != nil {
		r.Close()
		return fmt.Errorf("start user namespace child: %w", err)
	}
	r.Close()
	if err := m.Apply(cmd.Process.Pid); err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return fmt.Errorf("write uid/gid maps: %w", err)
	}
	w.Write([]byte{1})
	w.Close()
	return cmd.Wait()
}

// UserNSChild waits until the parent has written the maps and returns the
// name of the work to do and its arguments.
func UserNSChild() (string, []string) {
	if os.Getenv(envMapped) == "" {
		f := os.NewFile(3, "userns-sync")
		var b [1]byte
		if n, _ := f.Read(b[:]); n != 1 {
			os.Stderr.WriteString("Error: user namespace was not set up by the parent\n")
			os.Exit(ExitSetup)
		}
		f.Close()
		reexecMapped()
	}
	os.Unsetenv(envMapped)
	sub := os.Getenv("_MYCTR_USERNS_SUB")
	os.Unsetenv("_MYCTR_USERNS_SUB")
	os.Unsetenv(EnvStage)
	os.Unsetenv(EnvSyncFD)
	return sub, os.Args[1:]
}
