package container

// How `cp` reaches into a container: never by opening paths below the
// container's root from the host, where a symlink the container planted
// (to /etc/shadow, to ../../..) would be followed by the host's kernel into
// the host's files. Every container-side read and write is done by a copy
// worker, our own binary, whose root directory IS the container's root:
//
//   - running container: the worker joins the init's user and mount
//     namespaces in one setns(pidfd) (nsenter.c, before the Go runtime),
//     which sets its root and working directory to the namespace's root,
//     the container's pivoted root; it is non-dumpable from then on;
//   - created or exited container: the worker is cloned into a fresh user
//     namespace with the user's mapping and a private mount namespace,
//     mounts the container's overlay (its layers, upper and work dirs,
//     under the launch lock so that no start mounts it at once) and
//     pivot_roots into it; when the path lies in one of the container's
//     directory binds (a volume, a -v HOST:CTR), the worker's root is that
//     bind's source instead, bound read-only when the mount is, so that
//     the file lands where the container will see it and nothing is
//     written below the mount point in the layer underneath.
//
// Either way "/" and ".." stop at the container's root and every symlink
// is resolved by the kernel inside it, and the worker writes files as the
// container's root (ids mapped through the container's user namespace).
// Only a tar stream crosses between the worker and the host side (a pipe):
// the host side reads and writes the user's own files as the user, and
// extracts what the worker sent with frontend/archive, which keeps every
// entry below the destination.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/frontend/nsexec"
	"github.com/myctr/myctr/frontend/rootfs"
	"github.com/myctr/myctr/frontend/userns"
)

// StageCopy is the copy worker's stage, for a running container.
const StageCopy = nsexec.StageCopy

// UserNSCopy is the user-namespace work (nsexec.UserNSCommand) of the copy
// worker, for a container that is not running.
const UserNSCopy = "cp"

// Exit codes of the copy worker that carry a sentinel back.
const (
	copyExitFailed   = 1
	copyExitNotFound = 2
	copyExitStdin    = 3
	copyExitDirFile  = 4
	copyExitNotTar   = 5
)

var copyExits = map[int]error{
	copyExitNotFound: ErrCopyNotFound,
	copyExitStdin:    ErrCopyStdinDest,
	copyExitDirFile:  ErrCopyDirToFile,
	copyExitNotTar:   ErrCopyNotTar,
}

// copyJob is what the worker is asked to do (its one argument, JSON).
type copyJob struct {
	Out       bool   // a tar of Path on stdout; else extract stdin at Path
	Path      string // as the user wrote it, relative to Cwd
	Cwd       string // the container's working directory
	Contents  bool
	Raw       bool
	IDs       *[2]int
	Overwrite bool
	// Export: a tar of the container's whole root filesystem (its layers
	// and its changes, none of the mounts on top) on stdout.
	Export bool `json:",omitempty"`
	// A container that is not running: its overlay, mounted by the worker
	// with links made in Dir (a private directory of the caller's).
	Overlay *nsexec.Overlay `json:",omitempty"`
	Dir     string          `json:",omitempty"`
	// Or, for a path inside one of its directory binds: that bind.
	Bind *copyBind `json:",omitempty"`
}

// copyBind is a directory bind of a stopped container that a copy goes
// through: its host source, and whether the container sees it read-only.
type copyBind struct {
	Source   string
	ReadOnly bool
	// Name is the directory of the worker's (empty, private) root where
	// the source is bound: the mount point's own name, so that a copy
	// of the mount point itself keeps it.
	Name string
}

// CopyOptions are cp's flags for a copy into a container.
type CopyOptions struct {
	Contents  bool // the source was DIR/.
	Raw       bool // the stream is the user's own tar, from stdin
	Archive   bool // chown to the container's user
	Overwrite bool
}

// CopyFrom writes a tar stream of the container's path src (relative to
// its working directory) to w.
func (s *Store) CopyFrom(c *Container, src string, w io.Writer) error {
	return s.copyWorker(c, copyJob{Out: true, Path: src}, nil, w)
}

// Export writes a tar stream of the container's root filesystem to w, as
// the container sees it (its image's layers with its own changes, owners
// as the container's ids), whether it runs or not. Nothing mounted on the
// root is in it: not the volumes, binds, /proc, /sys or /dev of a running
// container, as podman export leaves them out.
func (s *Store) Export(c *Container, w io.Writer) error {
	return s.copyWorker(c, copyJob{Export: true}, nil, w)
}

// CopyTo extracts the copy stream r at the container's path dest.
func (s *Store) CopyTo(c *Container, dest string, r io.Reader, o CopyOptions) error {
	job := copyJob{Path: dest, Contents: o.Contents, Raw: o.Raw, Overwrite: o.Overwrite}
	if o.Archive {
		spec, err := c.Spec()
		if err != nil {
			return err
		}
		job.IDs = &[2]int{int(spec.Process.User.UID), int(spec.Process.User.GID)}
	}
	return s.copyWorker(c, job, r, io.Discard)
}

func (s *Store) copyWorker(c *Container, job copyJob, in io.Reader, out io.Writer) error {
	// No start mounts the overlay while a stopped container's is mounted
	// here, and no rm deletes it.
	unlock, err := c.lockLaunch()
	if err != nil {
		return err
	}
	defer unlock()
	if fresh, err := s.load(c.ID); err == nil {
		c = fresh
	}
	c.Refresh()
	spec, err := c.Spec()
	if err != nil {
		return err
	}
	job.Cwd = spec.Process.Cwd
	var errOut bytes.Buffer
	if c.Running() {
		err = copyJoined(c, job, in, out, &errOut)
	} else {
		err = copyStopped(c, job, in, out, &errOut)
	}
	if err == nil {
		return nil
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if sentinel, ok := copyExits[ee.ExitCode()]; ok {
			return sentinel
		}
		if msg := strings.TrimSpace(errOut.String()); msg != "" {
			return errors.New(strings.TrimPrefix(msg, "Error: "))
		}
	}
	return fmt.Errorf("copy worker: %w: %s", err, strings.TrimSpace(errOut.String()))
}

func copyJoined(c *Container, job copyJob, in io.Reader, out, errOut io.Writer) error {
	pidfd, err := openPidfd(c.State.Pid, c.State.PidStart)
	if err != nil {
		return fmt.Errorf("%w: %s", ErrNotRunning, c.Name)
	}
	pidf := os.NewFile(uintptr(pidfd), "pidfd")
	defer pidf.Close()
	arg, err := json.Marshal(job)
	if err != nil {
		return err
	}
	// The worker is this binary (myctr-init has no copy code). It joins
	// only the user and mount namespaces: it is in no PID namespace of the
	// container, so no container process can see or signal it, and it is
	// non-dumpable from the join on (nsenter.c).
	cmd := exec.Command("/proc/self/exe", string(arg))
	cmd.Args[0] = "myctr-cp"
	cmd.Env = []string{nsexec.EnvStage + "=" + StageCopy, nsexec.EnvJoinFD + "=3", nsexec.EnvJoinNS + "=user,mnt"}
	cmd.ExtraFiles = []*os.File{pidf}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = in, out, errOut
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	return cmd.Run()
}

func copyStopped(c *Container, job copyJob, in io.Reader, out, errOut io.Writer) error {
	m, err := userns.Current()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "myctr-cp-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	job.Dir = dir
	spec, err := c.Spec()
	if err != nil {
		return err
	}
	if b, p, ok := bindOf(spec.Mounts, job.Cwd, job.Path); ok && !job.Export {
		job.Bind, job.Path, job.Cwd = b, p, "/"
	} else {
		job.Overlay = &nsexec.Overlay{Lower: c.Lower, Upper: c.File("upper"), Work: c.File("work")}
	}
	arg, err := json.Marshal(job)
	if err != nil {
		return err
	}
	u := &nsexec.UserNSCommand{Sub: UserNSCopy, Args: []string{string(arg)}, Stdin: in, Stdout: out, Stderr: errOut}
	return u.Run(m)
}

// CopyMain is the copy worker (both stages): it returns the exit code.
func CopyMain(args []string) int {
	os.Unsetenv(nsexec.EnvStage)
	os.Unsetenv(nsexec.EnvJoinFD)
	os.Unsetenv(nsexec.EnvJoinNS)
	var job copyJob
	if len(args) != 1 || json.Unmarshal([]byte(args[0]), &job) != nil {
		fmt.Fprintln(os.Stderr, "Error: bad copy job")
		return copyExitFailed
	}
	err := copyWork(job)
	if err == nil {
		return 0
	}
	for code, sentinel := range copyExits {
		if errors.Is(err, sentinel) {
			return code
		}
	}
	if errors.Is(err, os.ErrNotExist) && job.Out {
		return copyExitNotFound
	}
	fmt.Fprintf(os.Stderr, "Error: %v\n", err)
	return copyExitFailed
}

func copyWork(job copyJob) error {
	if job.Overlay == nil && job.Bind == nil {
		// The pidfd (fd 3) of the join stage: the worker needs nothing
		// of the host but its stdin, stdout and stderr.
		unix.Close(3)
	} else {
		if err := enterOverlay(job); err != nil {
			return err
		}
	}
	if job.Export {
		return exportRoot(job.Overlay != nil)
	}
	// os.Getwd trusts $PWD when it names the working directory: make it
	// the container's own path.
	if job.Cwd == "" || unix.Chdir(job.Cwd) != nil {
		job.Cwd = "/"
		if err := unix.Chdir("/"); err != nil {
			return err
		}
	}
	os.Setenv("PWD", job.Cwd)
	if job.Out {
		return WriteCopyTar(os.Stdout, job.Path, false)
	}
	return PlaceCopy(os.Stdin, CopyPlace{Dest: job.Path, Contents: job.Contents, Raw: job.Raw, Root: "/",
		Chown: true, IDs: job.IDs, Overwrite: job.Overwrite})
}

// exportRoot writes the tar of the worker's root filesystem to stdout.
// A stopped container's overlay is the root and alone (enterOverlay). A
// running container's root has its mounts on top: the worker reads a
// non-recursive clone of the root mount instead (open_tree, a detached
// mount that nothing else sees and that goes away with the worker), which
// holds the overlay alone.
func exportRoot(overlay bool) error {
	if !overlay {
		fd, err := unix.OpenTree(unix.AT_FDCWD, "/", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
		if err != nil {
			return fmt.Errorf("clone the container's root mount: %w", err)
		}
		defer unix.Close(fd)
		if err := unix.Fchdir(fd); err != nil {
			return fmt.Errorf("enter the clone of the container's root: %w", err)
		}
	} else if err := unix.Chdir("/"); err != nil {
		return err
	}
	return WriteTreeTar(os.Stdout, ".")
}

// enterOverlay mounts a stopped container's overlay and makes it the
// worker's root.
//
// Preconditions: the worker is root in a fresh user namespace with a
// mount namespace of its own (nsexec.UserNSCommand).
func enterOverlay(job copyJob) error {
	// Nothing mounted here may propagate back to the host.
	if err := unix.Mount("", "/", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("make / a slave mount: %w", err)
	}
	if err := unix.Chdir(job.Dir); err != nil {
		return fmt.Errorf("chdir %s: %w", job.Dir, err)
	}
	if err := os.Mkdir("root", 0o700); err != nil {
		return err
	}
	if job.Bind != nil {
		// The root is an empty tmpfs but for the mount point: nothing of
		// the host is below it.
		if err := unix.Mount("tmpfs", "root", "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0755"); err != nil {
			return fmt.Errorf("mount a tmpfs for the copy's root: %w", err)
		}
		at := filepath.Join("root", job.Bind.Name)
		if err := os.Mkdir(at, 0o700); err != nil {
			return err
		}
		if err := rootfs.BindDir(job.Bind.Source, at, job.Bind.ReadOnly); err != nil {
			return err
		}
	} else if err := rootfs.MountOverlay(rootfs.Overlay{Lower: job.Overlay.Lower, Upper: job.Overlay.Upper, Work: job.Overlay.Work}, "root"); err != nil {
		return err
	}
	if err := unix.Chdir("root"); err != nil {
		return err
	}
	// pivot_root(".", ".") stacks the old root under the new one; the
	// detached unmount then leaves the overlay alone as "/".
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root into the container's root: %w", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detach the host's root: %w", err)
	}
	return unix.Chdir("/")
}

// bindOf finds the directory bind of mounts that the container path p
// (relative to cwd) lies in, the deepest one, and returns it with p made
// relative to the bind's root (its trailing "/" or "/." kept, which cp
// reads). The match is by the path as written: the container's own
// symlinks on the way are not followed (as Podman's, for a container that
// is not running).
func bindOf(mounts []specs.Mount, cwd, p string) (*copyBind, string, bool) {
	abs := p
	if !path.IsAbs(abs) {
		abs = path.Join("/", cwd) + "/" + p
	}
	clean := path.Clean(abs)
	best := -1
	for i, m := range mounts {
		if m.Type != "bind" && !slices.Contains(m.Options, "bind") && !slices.Contains(m.Options, "rbind") {
			continue
		}
		d := path.Clean(m.Destination)
		if clean != d && !strings.HasPrefix(clean, strings.TrimSuffix(d, "/")+"/") {
			continue
		}
		if fi, err := os.Stat(m.Source); err != nil || !fi.IsDir() {
			continue
		}
		if best < 0 || len(d) > len(path.Clean(mounts[best].Destination)) {
			best = i
		}
	}
	if best < 0 {
		return nil, "", false
	}
	m := mounts[best]
	d := path.Clean(m.Destination)
	name := path.Base(d)
	if name == "/" {
		name = "root"
	}
	rel := path.Join("/", name, strings.TrimPrefix(clean, d))
	switch {
	case strings.HasSuffix(abs, "/."):
		rel += "/."
	case strings.HasSuffix(abs, "/"):
		rel += "/"
	}
	return &copyBind{Source: m.Source, ReadOnly: slices.Contains(m.Options, "ro"), Name: name}, rel, true
}

// CopyOnHost is the host side of a copy out of a container: it extracts
// the copy stream r at the user's path dest, as the user.
func CopyOnHost(r io.Reader, dest string, contents, overwrite bool) error {
	return PlaceCopy(r, CopyPlace{Dest: dest, Contents: contents, Overwrite: overwrite})
}

func timeOf(t syscall.Timespec) time.Time { return time.Unix(t.Sec, t.Nsec) }
