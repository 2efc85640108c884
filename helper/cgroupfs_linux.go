package helper

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/protocol"
)

// The helper makes containers' cgroups in one of two ways: through the
// system manager where systemd is PID 1 (a transient scope), or itself
// below a cgroup of its own (cgroupfs: cgroup_root, or /myctr.slice where
// PID 1 is not systemd).
const (
	cgroupsBySystemd = "systemd"
	cgroupsByFS      = "cgroupfs"
)

// execLeaf is the leaf of a cgroupfs container's cgroup that stays the
// helper's (root's): exec'd processes pass through it on their way into
// the container's leaf, which only the user may write.
const execLeaf = "exec"

// cgroupMode decides how containers' cgroups are made here, and the
// cgroupfs root.
func cgroupMode(cfg Config) (mode, root string) {
	if cfg.CgroupRoot != "" {
		return cgroupsByFS, cfg.CgroupRoot
	}
	if _, err := os.Stat("/run/systemd/system"); err == nil {
		return cgroupsBySystemd, ""
	}
	return cgroupsByFS, "/myctr.slice"
}

// prepareCgroupRoot makes the cgroupfs root (on cgroup v2) and gives its
// children every controller it has: when the helper runs in the root
// itself (started in a delegated scope), it first moves into a "helper"
// leaf, as cgroup v2 allows processes only in leaves. Nothing is done on
// another layout: DelegateCgroup then answers Unsupported.
func prepareCgroupRoot(root string) error {
	if checkCgroup2() != nil {
		return nil
	}
	dir := filepath.Join(cgroupRoot, root)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("cgroup root %s: %w", dir, err)
	}
	own, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return err
	}
	for _, l := range strings.Split(string(own), "\n") {
		if p, ok := strings.CutPrefix(l, "0::"); ok && filepath.Clean(p) == root {
			leaf := filepath.Join(dir, "helper")
			if err := os.Mkdir(leaf, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
				return err
			}
			if err := os.WriteFile(filepath.Join(leaf, "cgroup.procs"), []byte(strconv.Itoa(os.Getpid())), 0); err != nil {
				return fmt.Errorf("move the helper into %s: %w", leaf, err)
			}
		}
	}
	have, _ := os.ReadFile(filepath.Join(dir, "cgroup.controllers"))
	if f := strings.Fields(string(have)); len(f) > 0 {
		if err := os.WriteFile(filepath.Join(dir, "cgroup.subtree_control"), []byte("+"+strings.Join(f, " +")), 0); err != nil {
			return fmt.Errorf("enable the controllers of %s: %w", dir, err)
		}
	}
	return nil
}

// fsCgroupName is uid's container's cgroup below the root.
func fsCgroupName(uid uint32, container string) string {
	return fmt.Sprintf("myctr-u%d-%s", uid, objectHash(uid, container)[:16])
}

// delegateFS is DelegateCgroup by cgroupfs: a new cgroup below the root
// holding pid, with an exec leaf that stays root's, handed to uid; or,
// when the container's cgroup exists, pid moved into its exec leaf (the
// caller moves it on into the container's leaf).
func (s *Server) delegateFS(uid uint32, container string, pid, pidfd int, need []string) (string, string, error) {
	rel := filepath.Join(s.cgRoot, fsCgroupName(uid, container))
	dir := filepath.Join(cgroupRoot, rel)
	if rec := s.cgroups.Get(uid, container); rec != nil && rec.Path == rel && populated(dir) {
		if err := writePid(filepath.Join(dir, execLeaf), pid); err != nil {
			return "", "", err
		}
		return rel, "", alive(pidfd)
	}
	if n := len(s.cgroups.ByUID(uid)); n >= s.cfg.MaxCgroupsPerUser {
		return "", "", protocol.Errorf(protocol.ErrLimitExceeded, "%d cgroups delegated: the limit per user is %d", n, s.cfg.MaxCgroupsPerUser)
	}
	rec := &CgroupRecord{UID: uid, Container: container, Unit: scopeName(uid, container), Path: rel}
	if err := s.cgroups.Put(rec); err != nil {
		return "", "", err
	}
	undo := func(err error) (string, string, error) {
		if derr := removeCgroup(dir); derr != nil {
			err = errors.Join(err, derr)
		} else if derr := s.cgroups.Delete(rec); derr != nil {
			err = errors.Join(err, derr)
		}
		return "", "", err
	}
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return undo(protocol.Errorf(protocol.ErrFailed, "make %s: %v", dir, err))
	}
	if err := os.Mkdir(filepath.Join(dir, execLeaf), 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return undo(protocol.Errorf(protocol.ErrFailed, "make %s: %v", execLeaf, err))
	}
	have, _ := os.ReadFile(filepath.Join(dir, "cgroup.controllers"))
	for _, c := range need {
		if !strings.Contains(" "+strings.TrimSpace(string(have))+" ", " "+c+" ") {
			return undo(protocol.Errorf(protocol.ErrUnsupported, "the cgroup root %s lacks the %s controller (it gives: %s)", s.cgRoot, c, strings.TrimSpace(string(have))))
		}
	}
	if err := writePid(dir, pid); err != nil {
		return undo(err)
	}
	if err := alive(pidfd); err != nil {
		return notHandedOver(err)
	}
	if err := chownDelegated(dir, int(uid), primaryGID(pid)); err != nil {
		return undo(err)
	}
	return rel, "", nil
}

func writePid(dir string, pid int) error {
	if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0); err != nil {
		return protocol.Errorf(protocol.ErrFailed, "move process %d into %s: %v", pid, dir, err)
	}
	return nil
}

// populated reports whether a cgroup exists and holds a process (it or
// below it: cgroup.events).
func populated(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.events"))
	return err == nil && strings.Contains(string(b), "populated 1")
}

// removeCgroup removes an empty cgroup and the ones below it, deepest
// first; it takes the directories back from their user first (the helper
// may remove entries only from directories it may write).
func removeCgroup(dir string) error {
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0); err == nil {
		unix.Fchown(fd, 0, 0)
		unix.Close(fd)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if e.IsDir() {
			if err := removeCgroup(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	if err := unix.Rmdir(dir); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("remove %s: %w", dir, err)
	}
	return nil
}

// reapFS drops the cgroupfs cgroups whose processes are all gone.
func (s *Server) reapFS(why string) {
	for _, r := range s.cgroups.All() {
		dir := filepath.Join(cgroupRoot, r.Path)
		if populated(dir) {
			continue
		}
		if err := removeCgroup(dir); err != nil {
			s.log.Printf("reaper (%s): uid=%d container=%s: %v", why, r.UID, r.Container, err)
			continue
		}
		if err := s.cgroups.Delete(r); err != nil {
			s.log.Printf("reaper (%s): %v", why, err)
			continue
		}
		s.log.Printf("reaper (%s): uid=%d container=%s: removed %s (empty)", why, r.UID, r.Container, dir)
	}
}
