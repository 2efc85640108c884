package nsexec

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// The stages that run inside a container's PID namespace (init, exec)
// are processes of myctr's own binary there: a process in the container
// can find them in its /proc. Two things keep it from the binary on disk
// (the CVE-2019-5736 class: with myctr installed where the user may write,
// the container's root is that user and could replace it):
//
//   - the C constructor clears the dumpable flag right after setns(2), so
//     the stage's /proc/PID/exe, mem, environ and fd cannot be opened and it
//     cannot be ptraced from the container (nsenter.c);
//   - they run from a sealed in-memory copy of the binary (StageBinary),
//     as runc does: after the stage's final execve, a script whose
//     interpreter is /proc/self/exe (or a binfmt_misc handler naming it)
//     runs the binary again as a container process, which is dumpable; what
//     it runs is then the copy, which nothing can write (F_SEAL_WRITE,
//     SHRINK, GROW, and F_SEAL_SEAL so that no seal can be removed) and
//     which leads to no file on disk.
//
// myctr-init is small (about 6 MB): the copy itself takes about 1.5 ms
// (sendfile; BenchmarkSealedCopy), and running from fresh shmem pages a few
// more: about 5 ms per `run` or `exec` in all (docs/ARCHITECTURE.md). It is
// skipped where no container of ours could write the binary anyway (see
// StageBinary): a distribution's or `sudo make install`'s binary.

// sealedFDMin is the lowest descriptor number of a stage's binary. The path
// /proc/self/fd/N is resolved in the child at execve, after os/exec has
// laid out its stdio and ExtraFiles as 0..n-1 (and moved descriptors that
// were in the way to n and up): N must stay clear of all of them.
const sealedFDMin = 100

// StageBinary returns the program for a stage that runs in a container's
// PID namespace (init, exec), open at a descriptor of sealedFDMin or more,
// close-on-exec: a sealed in-memory copy of Binary, or Binary itself where
// no container can write it. Start it as ExecPath(f), and close f once the
// stage has started.
//
// Preconditions: the command started from it has fewer than sealedFDMin/2
// descriptors in stdio and ExtraFiles.
func StageBinary() (*os.File, error) {
	path := Binary()
	src, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	defer src.Close()
	fi, err := src.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", path, err)
	}
	// Why this is safe: a file that belongs to root, that neither its
	// group nor others may write (with an ACL, the group bits are its
	// mask), cannot be written by a non-root user nor by any id of a
	// rootless user namespace: root is mapped in none of them, and no
	// capability held there applies to a file whose owner is not mapped.
	// The stage then runs this very file, opened once here, so that what
	// was checked is what runs. Anything else (our own file, or root
	// running myctr, whose containers map root) gets the sealed copy.
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid == 0 && fi.Mode().Perm()&0o022 == 0 && os.Geteuid() != 0 {
		f, err := moveUp(src)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", path, err)
		}
		return f, nil
	}
	f, err := sealedCopy(src, fi.Size())
	if err != nil {
		return nil, fmt.Errorf("copy %s to a sealed memfd: %w", path, err)
	}
	return f, nil
}

// ExecPath is the path that executes f, a file from StageBinary.
func ExecPath(f *os.File) string { return fmt.Sprintf("/proc/self/fd/%d", f.Fd()) }

// moveUp returns a close-on-exec duplicate of f at sealedFDMin or above.
func moveUp(f *os.File) (*os.File, error) {
	high, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, sealedFDMin)
	if err != nil {
		return nil, fmt.Errorf("move descriptor up: %w", err)
	}
	return os.NewFile(uintptr(high), f.Name()), nil
}

// sealedCopy copies size bytes of src into a memfd, seals it, and returns
// it at a descriptor number of sealedFDMin or more.
func sealedCopy(src *os.File, size int64) (*os.File, error) {
	const flags = unix.MFD_CLOEXEC | unix.MFD_ALLOW_SEALING
	// MFD_EXEC (Linux 6.3) says that the memfd is meant to be executed,
	// which vm.memfd_noexec may otherwise refuse; older kernels refuse the
	// flag itself.
	fd, err := unix.MemfdCreate("myctr-init", flags|unix.MFD_EXEC)
	if errors.Is(err, unix.EINVAL) {
		fd, err = unix.MemfdCreate("myctr-init", flags)
	}
	if err != nil {
		return nil, fmt.Errorf("memfd_create: %w", err)
	}
	mem := os.NewFile(uintptr(fd), "memfd:myctr-init")
	defer mem.Close()
	if err := copyAll(mem, src, size); err != nil {
		return nil, fmt.Errorf("copy: %w", err)
	}
	const seals = unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(mem.Fd(), unix.F_ADD_SEALS, seals); err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	if got, err := unix.FcntlInt(mem.Fd(), unix.F_GET_SEALS, 0); err != nil || got&seals != seals {
		return nil, fmt.Errorf("seals %#x after sealing (%v)", got, err)
	}
	return moveUp(mem)
}

// copyAll copies size bytes of src into dst in the kernel (sendfile(2):
// half the time of a copy through a buffer), else through io.Copy.
func copyAll(dst, src *os.File, size int64) error {
	var done int64
	for done < size {
		n, err := unix.Sendfile(int(dst.Fd()), int(src.Fd()), nil, int(size-done))
		switch {
		case err == unix.EINTR:
			continue
		case done == 0 && (err == unix.EINVAL || err == unix.ENOSYS):
			// No sendfile between these two: copy by hand.
			n, err := io.Copy(dst, src)
			if err == nil && n != size {
				err = fmt.Errorf("copied %d bytes of %d", n, size)
			}
			return err
		case err != nil:
			return fmt.Errorf("sendfile: %w", err)
		case n == 0:
			return fmt.Errorf("sendfile: end of file after %d bytes of %d", done, size)
		}
		done += int64(n)
	}
	return nil
}
