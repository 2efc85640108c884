package container

// The run root without XDG_RUNTIME_DIR, and the files written in it.
//
// Threat model: another local user. Without XDG_RUNTIME_DIR (no logind
// session: su, cron, ssh without pam_systemd) the run root is
// TMPDIR/myctr-run-UID, a name anyone can predict and create first in the
// shared /tmp. A directory that another user made (mode 0777), or a symlink
// of theirs there, lets them read the container's files or swap parts for
// symlinks so that the victim's next start writes its /etc/hosts over a
// file the victim owns (issue 20, item 4).
//
// So the fallback is created here, with mkdirat in an fd of its parent, and
// accepted only when, seen through an fd opened with O_NOFOLLOW, it is a
// directory owned by the user with mode 0700; its parent must be owned by
// root or the user and, if others may write to it, sticky (as /tmp is), so
// that nobody else can rename it away and put another in its place later.
// Otherwise myctr stops with an Error naming the path (as containers/storage
// does for its own fallback, storage-run-UID).
//
// An explicit --runroot, and $XDG_RUNTIME_DIR/myctr, are the user's own
// choice and are taken as given (a symlink there is followed, as Podman
// does), but must resolve to a directory the user owns.
//
// Below the run root, each container's directories are made one component
// at a time with mkdirat and opened with O_NOFOLLOW, and the files bound
// over /etc/hosts, /etc/hostname and /etc/resolv.conf are written to a new
// file (O_CREAT|O_EXCL|O_NOFOLLOW) in the directory's fd, then renamed over
// the old: a symlink found on the way is refused, never followed.

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// UnsafeDirError is a state directory another user could have made or
// changed. It wraps ErrUnsafeRunRoot.
type UnsafeDirError struct {
	What    string // "run root", ...
	Path    string
	Problem string // a predicate: "belongs to uid 1234, ..."
	Hint    string // what the user can do
}

func (e *UnsafeDirError) Error() string {
	return fmt.Sprintf("%s %s %s", e.What, e.Path, e.Problem)
}

func (e *UnsafeDirError) Unwrap() error { return ErrUnsafeRunRoot }

// fallbackRunRoot is the run root without XDG_RUNTIME_DIR.
func fallbackRunRoot() string {
	return filepath.Join(os.TempDir(), "myctr-run-"+strconv.Itoa(os.Getuid()))
}

// fallbackHome stands in for a home directory when HOME is not set.
func fallbackHome() string {
	return filepath.Join(os.TempDir(), "myctr-home-"+strconv.Itoa(os.Getuid()))
}

// privateDir makes path a directory of the user's, mode 0700, unless it
// exists; then it must be one already, as seen through an fd that did
// not follow a symlink. Its parent must be owned by root or the user and,
// when others may write to it, be sticky.
func privateDir(what, path, hint string) error {
	unsafe := func(format string, args ...any) error {
		return &UnsafeDirError{What: what, Path: path, Problem: fmt.Sprintf(format, args...), Hint: hint}
	}
	me := uint32(os.Geteuid())
	parent, base := filepath.Dir(path), filepath.Base(path)
	pfd, err := unix.Open(parent, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", parent, err)
	}
	defer unix.Close(pfd)
	var st unix.Stat_t
	if err := unix.Fstat(pfd, &st); err != nil {
		return fmt.Errorf("stat %s: %w", parent, err)
	}
	if st.Uid != 0 && st.Uid != me {
		return unsafe("is in %s, which belongs to uid %d, who could replace it", parent, st.Uid)
	}
	if st.Mode&0o022 != 0 && st.Mode&unix.S_ISVTX == 0 {
		return unsafe("is in %s, which others may write to and is not sticky: they could replace it", parent)
	}
	created := false
	switch err := unix.Mkdirat(pfd, base, 0o700); {
	case err == nil:
		created = true
	case errors.Is(err, unix.EEXIST):
	default:
		return fmt.Errorf("create %s: %w", path, err)
	}
	if err := unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("stat %s: %w", path, err)
	}
	switch {
	case st.Mode&unix.S_IFMT == unix.S_IFLNK:
		target, _ := os.Readlink(path)
		return unsafe("is a symbolic link (to %s) of uid %d, not a directory of yours", target, st.Uid)
	case st.Mode&unix.S_IFMT != unix.S_IFDIR:
		return unsafe("is not a directory")
	}
	fd, err := unix.Openat(pfd, base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return unsafe("cannot be opened as a directory without following links: %v", err)
	}
	defer unix.Close(fd)
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("stat %s: %w", path, err)
	}
	if st.Uid != me {
		return unsafe("belongs to uid %d, not to you (uid %d): another user made it, and could read or redirect what myctr writes there", st.Uid, me)
	}
	if created {
		// Whatever the umask, exactly 0700.
		if err := unix.Fchmod(fd, 0o700); err != nil {
			return fmt.Errorf("chmod %s: %w", path, err)
		}
		return nil
	}
	if st.Mode&0o777 != 0o700 {
		return unsafe("has mode %04o, not 0700: others may have changed what is in it", st.Mode&0o7777)
	}
	return nil
}

// ownedDir creates path if needed (following symlinks: the user chose it)
// and checks that it is a directory of the user's.
func ownedDir(what, path, hint string) error {
	if err := os.MkdirAll(path, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return fmt.Errorf("stat %s: %w", path, err)
	}
	if me := uint32(os.Geteuid()); st.Uid != me {
		return &UnsafeDirError{What: what, Path: path, Hint: hint,
			Problem: fmt.Sprintf("belongs to uid %d, not to you (uid %d)", st.Uid, me)}
	}
	return nil
}

// openRunPath opens (creating them as needed, mode 0700) the directories
// rel below the run root, one component at a time, never following a
// symlink, each of them the user's. The caller closes the result.
func openRunPath(runRoot, rel string) (*os.File, error) {
	fd, err := unix.Open(runRoot, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open run root %s: %w", runRoot, err)
	}
	me := uint32(os.Geteuid())
	at := runRoot
	for _, c := range strings.Split(filepath.Clean(rel), "/") {
		if c == "." || c == "" {
			continue
		}
		at = filepath.Join(at, c)
		if err := unix.Mkdirat(fd, c, 0o700); err != nil && !errors.Is(err, unix.EEXIST) {
			unix.Close(fd)
			return nil, fmt.Errorf("create %s: %w", at, err)
		}
		next, err := unix.Openat(fd, c, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		unix.Close(fd)
		if err != nil {
			if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) {
				return nil, &UnsafeDirError{What: "runtime directory", Path: at, Problem: "is a symbolic link or not a directory", Hint: "remove it: myctr made none"}
			}
			return nil, fmt.Errorf("open %s: %w", at, err)
		}
		fd = next
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			unix.Close(fd)
			return nil, fmt.Errorf("stat %s: %w", at, err)
		}
		if st.Uid != me {
			unix.Close(fd)
			return nil, &UnsafeDirError{What: "runtime directory", Path: at, Problem: fmt.Sprintf("belongs to uid %d, not to you (uid %d)", st.Uid, me), Hint: "remove it: myctr made none"}
		}
	}
	return os.NewFile(uintptr(fd), at), nil
}

// writeRunFile writes name in the directory dir (an fd from openRunPath):
// into a new file, created exclusively without following a link, then
// renamed over name, so a symlink at name is replaced, not written through.
func writeRunFile(dir *os.File, name string, b []byte, mode uint32) error {
	dfd := int(dir.Fd())
	tmp := "." + name + ".tmp"
	if err := unix.Unlinkat(dfd, tmp, 0); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("remove %s: %w", filepath.Join(dir.Name(), tmp), err)
	}
	fd, err := unix.Openat(dfd, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, mode)
	if err != nil {
		return fmt.Errorf("create %s: %w", filepath.Join(dir.Name(), tmp), err)
	}
	f := os.NewFile(uintptr(fd), filepath.Join(dir.Name(), tmp))
	_, werr := f.Write(b)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		return fmt.Errorf("write %s: %w", f.Name(), err)
	}
	if err := unix.Renameat(dfd, tmp, dfd, name); err != nil {
		return fmt.Errorf("rename %s: %w", filepath.Join(dir.Name(), name), err)
	}
	return nil
}

// shareEtcFiles gives c, which joins dep's network namespace, dep's
// /etc/hosts (unless --no-hosts) and /etc/resolv.conf, read from dep's
// runtime directory now (dep is running, so they are there). As Podman
// adds a container that joins another's network to the hosts file they
// share, c's hosts names c (hostname, its host name) at 127.0.0.1, where
// dep's does not name it already; the copy is c's own, so dep's stays
// as it is.
func shareEtcFiles(c, dep *Container, hostname string) error {
	from, err := openRunPath(dep.runroot, filepath.Join(dep.runrel, "userdata"))
	if err != nil {
		return err
	}
	defer from.Close()
	to, err := openRunPath(c.runroot, filepath.Join(c.runrel, "userdata"))
	if err != nil {
		return err
	}
	defer to.Close()
	for _, name := range []string{"hosts", "resolv.conf"} {
		if name == "hosts" && c.HostConfig.NoHosts {
			continue
		}
		// Written by myctr, but bound into dep, whose root may have
		// changed it: no link followed, and no more than 1 MiB.
		fd, err := unix.Openat(int(from.Fd()), name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("read %s of %s: %w", name, dep.Name, err)
		}
		f := os.NewFile(uintptr(fd), name)
		b, err := io.ReadAll(io.LimitReader(f, 1<<20))
		f.Close()
		if err != nil {
			return fmt.Errorf("read %s of %s: %w", name, dep.Name, err)
		}
		if name == "hosts" {
			if len(b) > 0 && b[len(b)-1] != '\n' {
				b = append(b, '\n')
			}
			b = append(b, hostsEntry(string(b), "127.0.0.1", []string{hostname, c.Name})...)
		}
		if err := writeRunFile(to, name, b, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
	}
	return nil
}
