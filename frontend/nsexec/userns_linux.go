package nsexec

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
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

// WorkRemoveTree is the user-namespace work that deletes a directory.
const WorkRemoveTree = "rmtree"

// RemoveTree deletes dir. Files that belong to subordinate ids (written
// by a container, or unpacked from a layer) cannot be deleted by the user
// on the host: then the deletion runs again inside the user's user
// namespace, where the user is root over them. This is the one removal
// of such trees: containers, volumes and layers all use it.
func RemoveTree(dir string) error {
	if err := os.RemoveAll(dir); err == nil {
		return nil
	}
	m, err := userns.Current()
	if err != nil {
		return fmt.Errorf("remove %s: %w", dir, err)
	}
	var out strings.Builder
	u := &UserNSCommand{Sub: WorkRemoveTree, Args: []string{dir}, Stderr: &out}
	if err := u.Run(m); err != nil {
		return fmt.Errorf("remove %s in the user namespace: %w: %s", dir, err, strings.TrimSpace(out.String()))
	}
	return nil
}
