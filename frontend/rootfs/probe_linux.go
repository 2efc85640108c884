package rootfs

// The overlay probe of `myctr doctor`: what a container's start does to
// the store's file system, on a few bytes, so that a host where it cannot
// work says why before the first `run`.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// ProbeWork names the user namespace work (nsexec.UserNSCommand.Sub) that
// runs Probe.
const ProbeWork = "overlay-probe"

// ErrProbe is wrapped by every failure of Probe.
var ErrProbe = errors.New("overlay probe failed")

// Probe mounts a tiny overlay in dir, an empty directory on the store's
// file system, the way a container's root is mounted (MountOverlay:
// userxattr, links to the layers), and does to it what a container's
// processes do: it writes a file, deletes one of the image's (a
// whiteout) and, when chownID is not 0, gives a file of the image to that
// id (a copy-up and a chown to a subordinate id). Then it unmounts and
// checks what reached the upper directory, and removes everything under
// dir. Each failure names its step.
//
// Preconditions: runs as root of a fresh user namespace, in a private
// mount namespace of its own (nsexec.UserNSCommand), so that nothing is
// mounted on the host.
func Probe(dir string, chownID int) (err error) {
	step := func(what string, err error) error {
		return fmt.Errorf("%w: %s: %v", ErrProbe, what, err)
	}
	defer func() {
		if rerr := removeContents(dir); rerr != nil && err == nil {
			err = step("remove the probe's files", rerr)
		}
	}()
	lower, upper, work, merged, run := filepath.Join(dir, "lower"), filepath.Join(dir, "upper"), filepath.Join(dir, "work"), filepath.Join(dir, "merged"), filepath.Join(dir, "run")
	for _, d := range []string{lower, upper, work, merged, run} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return step("create "+filepath.Base(d), err)
		}
	}
	for _, f := range []string{"gone", "kept"} {
		if err := os.WriteFile(filepath.Join(lower, f), []byte(f), 0o644); err != nil {
			return step("write the layer's files", err)
		}
	}
	// userxattr keeps overlay's own metadata (opaque directories,
	// redirects) in user.overlay.* attributes of the upper directory.
	if err := unix.Setxattr(upper, "user.myctr.probe", []byte("1"), 0); err != nil {
		return step("set a user.* extended attribute (overlay's userxattr keeps its metadata in them)", err)
	}
	wd, err := os.Getwd()
	if err != nil {
		return step("getwd", err)
	}
	if err := os.Chdir(run); err != nil {
		return step("chdir", err)
	}
	defer os.Chdir(wd)
	if err := MountOverlay(Overlay{Lower: []string{lower}, Upper: upper, Work: work}, merged); err != nil {
		return step("mount", err)
	}
	mounted := true
	defer func() {
		if mounted {
			unix.Unmount(merged, unix.MNT_DETACH)
		}
	}()
	if err := os.WriteFile(filepath.Join(merged, "new"), []byte("new"), 0o644); err != nil {
		return step("write a file in the overlay", err)
	}
	if err := os.Remove(filepath.Join(merged, "gone")); err != nil {
		return step("delete a file of the layer (a whiteout)", err)
	}
	if chownID != 0 {
		if err := os.Lchown(filepath.Join(merged, "kept"), chownID, chownID); err != nil {
			return step(fmt.Sprintf("chown a file of the layer to %d:%d (a copy-up)", chownID, chownID), err)
		}
	}
	if err := unix.Unmount(merged, 0); err != nil {
		return step("unmount", err)
	}
	mounted = false
	if b, err := os.ReadFile(filepath.Join(upper, "new")); err != nil || string(b) != "new" {
		return step("the new file in the upper directory", fmt.Errorf("read %q: %v", b, err))
	}
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(upper, "gone"), &st); err != nil {
		return step("the whiteout in the upper directory", err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
		return step("the whiteout in the upper directory", fmt.Errorf("mode %o, device %d: not a 0:0 character device", st.Mode, st.Rdev))
	}
	if chownID != 0 {
		if err := unix.Lstat(filepath.Join(upper, "kept"), &st); err != nil {
			return step("the copied-up file in the upper directory", err)
		}
		if int(st.Uid) != chownID {
			return step("the copied-up file in the upper directory", fmt.Errorf("owner %d, want %d", st.Uid, chownID))
		}
	}
	return nil
}

// removeContents removes what is in dir, and leaves dir.
func removeContents(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range ents {
		errs = append(errs, os.RemoveAll(filepath.Join(dir, e.Name())))
	}
	return errors.Join(errs...)
}
