package helper

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/godbus/dbus/v5"
	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/protocol"
)

// cgroupRoot is where the cgroup v2 tree is mounted.
const cgroupRoot = "/sys/fs/cgroup"

// cgroupSlice is the system manager's slice that holds the scopes.
const cgroupSlice = "myctr.slice"

// DelegateCgroup is org.myctr.Helper1.DelegateCgroup:
// (h pidfd, s container, a{sv} options) → (s path, s unit).
func (a api) DelegateCgroup(sender dbus.Sender, pidfd dbus.UnixFD, container string, options map[string]dbus.Variant) (string, string, *dbus.Error) {
	defer a.s.begin()()
	// The descriptor is ours now (the bus gate passed it in); it is
	// closed once when the call ends, whatever happens.
	defer unix.Close(int(pidfd))
	uid, err := a.s.callerUID(sender)
	var path, unit string
	if err == nil {
		path, unit, err = a.s.delegateCgroup(sender, uid, int(pidfd), container, options)
	}
	if derr := a.s.decide(uid, "DelegateCgroup", container, err, unit); derr != nil {
		return "", "", derr
	}
	return path, unit, nil
}

func (s *Server) delegateCgroup(sender dbus.Sender, uid uint32, pidfd int, container string, options map[string]dbus.Variant) (string, string, error) {
	opts, err := protocol.DecodeDelegateOptions(options)
	if err != nil {
		return "", "", err
	}
	if err := protocol.ValidateContainer(container); err != nil {
		return "", "", err
	}
	// Why this is safe: the process is named by a pidfd, never by a
	// number the caller could race; its uids must all be the caller's, so
	// a caller only ever puts its own processes in a cgroup it then owns.
	pid, err := pidOfPidfd(pidfd, "/proc")
	if err != nil {
		return "", "", err
	}
	if err := checkProcessUIDs("/proc", pid, uid); err != nil {
		return "", "", err
	}
	// Alive still: the status read was this process's (a pid names
	// another process only once this one is gone).
	if err := alive(pidfd); err != nil {
		return "", "", err
	}
	if err := s.authorize(sender, protocol.ActionCgroup, map[string]string{protocol.DetailContainer: container}); err != nil {
		return "", "", err
	}
	if err := checkCgroup2(); err != nil {
		return "", "", err
	}
	var path, unit string
	err = s.serial(func() error {
		var err error
		path, unit, err = s.delegateLocked(uid, container, pid, pidfd, opts.Controllers)
		return err
	})
	return path, unit, err
}

// CgroupRecord is the ledger's entry for one container's delegated
// cgroup: written before the scope is asked for, removed by the reaper
// once systemd has collected the scope.
type CgroupRecord struct {
	UID       uint32 `json:"uid"`
	Container string `json:"container"`
	Unit      string `json:"unit"`
	Path      string `json:"path,omitempty"` // the scope's cgroup, below cgroupRoot
}

// scopeName is a container's scope: the uid and a hash of uid and name,
// never the caller's string.
func scopeName(uid uint32, container string) string {
	return fmt.Sprintf("myctr-u%d-%s.scope", uid, objectHash(uid, container)[:16])
}

// delegateLocked makes uid's container a scope holding pid, or, when its
// scope lives, moves pid into the scope's "container" leaf.
//
// Preconditions: runs in the loop goroutine; the caller is authorized and
// pid is its process, named by pidfd.
func (s *Server) delegateLocked(uid uint32, container string, pid, pidfd int, need []string) (string, string, error) {
	if s.cgMode == cgroupsByFS {
		s.reapFS("call")
		return s.delegateFS(uid, container, pid, pidfd, need)
	}
	ctx, cancel := context.WithTimeout(s.stopCtx, 30*time.Second)
	defer cancel()
	sd := s.conn.Object("org.freedesktop.systemd1", "/org/freedesktop/systemd1")
	unit := scopeName(uid, container)
	// Records of scopes systemd collected since the last reaper count
	// against nobody's quota, and a container started again gets a new
	// scope.
	s.reapCgroups("call")
	if rec := s.cgroups.Get(uid, container); rec != nil && rec.Path != "" && unitActive(ctx, s.conn, unit) {
		// exec: into the container's leaf, by the system manager (which
		// may write where the helper, without CAP_DAC_OVERRIDE, may not).
		if err := sd.CallWithContext(ctx, "org.freedesktop.systemd1.Manager.AttachProcessesToUnit", 0,
			unit, "/container", []uint32{uint32(pid)}).Err; err != nil {
			return "", "", protocol.Errorf(protocol.ErrFailed, "move process %d into %s: %v", pid, unit, err)
		}
		return rec.Path, unit, alive(pidfd)
	}
	if n := len(s.cgroups.ByUID(uid)); n >= s.cfg.MaxCgroupsPerUser {
		return "", "", protocol.Errorf(protocol.ErrLimitExceeded, "%d cgroups delegated: the limit per user is %d", n, s.cfg.MaxCgroupsPerUser)
	}
	rec := &CgroupRecord{UID: uid, Container: container, Unit: unit}
	if err := s.cgroups.Put(rec); err != nil {
		return "", "", err
	}
	undo := func(err error) (string, string, error) {
		// The scope (if any) ends with its processes; stop it now so
		// that a refused call leaves nothing.
		sd.CallWithContext(ctx, "org.freedesktop.systemd1.Manager.StopUnit", 0, unit, "replace")
		if derr := s.cgroups.Delete(rec); derr != nil {
			err = errors.Join(err, derr)
		}
		return "", "", err
	}
	props := []struct {
		Name  string
		Value dbus.Variant
	}{
		{"Description", dbus.MakeVariant("myctr container " + container + " of uid " + strconv.FormatUint(uint64(uid), 10))},
		{"Slice", dbus.MakeVariant(cgroupSlice)},
		{"PIDs", dbus.MakeVariant([]uint32{uint32(pid)})},
		{"Delegate", dbus.MakeVariant(true)},
		{"CollectMode", dbus.MakeVariant("inactive-or-failed")},
		{"DefaultDependencies", dbus.MakeVariant(false)},
	}
	aux := []struct {
		Name  string
		Props []struct {
			Name  string
			Value dbus.Variant
		}
	}{}
	if err := sd.CallWithContext(ctx, "org.freedesktop.systemd1.Manager.StartTransientUnit", 0,
		unit, "fail", props, aux).Err; err != nil {
		return undo(protocol.Errorf(protocol.ErrFailed, "start %s: %v", unit, err))
	}
	cg, err := waitScope(ctx, s.conn, unit)
	if err != nil {
		return undo(protocol.Errorf(protocol.ErrFailed, "%s: %v", unit, err))
	}
	rec.Path = cg
	if err := s.cgroups.Put(rec); err != nil {
		return undo(err)
	}
	if err := alive(pidfd); err != nil {
		return notHandedOver(err)
	}
	dir := filepath.Join(cgroupRoot, cg)
	have, _ := os.ReadFile(filepath.Join(dir, "cgroup.controllers"))
	for _, c := range need {
		if !slices.Contains(strings.Fields(string(have)), c) {
			return undo(protocol.Errorf(protocol.ErrUnsupported, "the system manager's scope lacks the %s controller (it has: %s)", c, strings.TrimSpace(string(have))))
		}
	}
	// Why this is safe: the caller gets what systemd gives a User=
	// service with Delegate=yes: the scope's directory and the three
	// files that let it make and fill sub-cgroups; its own limits stay
	// the system manager's.
	if err := chownDelegated(dir, int(uid), primaryGID(pid)); err != nil {
		return undo(err)
	}
	return cg, unit, nil
}

// notHandedOver is the answer when the caller's process died between
// its checks and its move: its pid may name another user's process by
// now, which may be what was moved; so nothing is handed over, and
// nothing is stopped or killed either (that process would go with it).
// The record stays: the reaper drops it once the cgroup is empty.
func notHandedOver(err error) (string, string, error) {
	return "", "", err
}

// chownDelegated hands dir and its delegation files to uid:gid, through
// descriptors opened without following links.
func chownDelegated(dir string, uid, gid int) error {
	for _, name := range []string{"", "cgroup.procs", "cgroup.subtree_control", "cgroup.threads"} {
		p := filepath.Join(dir, name)
		fd, err := unix.Open(p, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return protocol.Errorf(protocol.ErrFailed, "open %s: %v", p, err)
		}
		err = unix.Fchown(fd, uid, gid)
		unix.Close(fd)
		if err != nil {
			return protocol.Errorf(protocol.ErrFailed, "hand %s to uid %d: %v", p, uid, err)
		}
	}
	return nil
}

// waitScope waits for unit to be active and returns its cgroup.
func waitScope(ctx context.Context, conn *dbus.Conn, unit string) (string, error) {
	for {
		state, cg, err := scopeState(ctx, conn, unit)
		switch {
		case err == nil && state == "active" && strings.HasPrefix(cg, "/") && !strings.Contains(cg, ".."):
			return cg, nil
		case err == nil && (state == "failed" || state == "inactive"):
			return "", fmt.Errorf("the scope is %s", state)
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("the scope did not start: %v (last: %s, %v)", ctx.Err(), state, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func scopeState(ctx context.Context, conn *dbus.Conn, unit string) (state, cg string, err error) {
	var path dbus.ObjectPath
	sd := conn.Object("org.freedesktop.systemd1", "/org/freedesktop/systemd1")
	if err := sd.CallWithContext(ctx, "org.freedesktop.systemd1.Manager.GetUnit", 0, unit).Store(&path); err != nil {
		return "", "", err
	}
	u := conn.Object("org.freedesktop.systemd1", path)
	var v dbus.Variant
	if err := u.CallWithContext(ctx, "org.freedesktop.DBus.Properties.Get", 0, "org.freedesktop.systemd1.Unit", "ActiveState").Store(&v); err != nil {
		return "", "", err
	}
	state, _ = v.Value().(string)
	if err := u.CallWithContext(ctx, "org.freedesktop.DBus.Properties.Get", 0, "org.freedesktop.systemd1.Scope", "ControlGroup").Store(&v); err != nil {
		return state, "", err
	}
	cg, _ = v.Value().(string)
	return state, cg, nil
}

// unitActive reports whether the system manager has unit, active.
func unitActive(ctx context.Context, conn *dbus.Conn, unit string) bool {
	state, _, err := scopeState(ctx, conn, unit)
	return err == nil && state == "active"
}

// unitGone reports whether unit's scope is over: the system manager no
// longer knows it, or knows it only as inactive or failed (a scope never
// starts again; systemd collects it soon, with its cgroup).
func unitGone(ctx context.Context, conn *dbus.Conn, unit string) bool {
	state, _, err := scopeState(ctx, conn, unit)
	var de dbus.Error
	if errors.As(err, &de) && de.Name == "org.freedesktop.systemd1.NoSuchUnit" {
		return true
	}
	return err == nil && (state == "inactive" || state == "failed")
}

// reapCgroups drops the records of scopes that systemd has collected (or
// the empty cgroups of cgroupfs).
func (s *Server) reapCgroups(why string) {
	if s.cgMode == cgroupsByFS {
		s.reapFS(why)
		return
	}
	ctx, cancel := context.WithTimeout(s.stopCtx, 10*time.Second)
	defer cancel()
	for _, r := range s.cgroups.All() {
		if !unitGone(ctx, s.conn, r.Unit) {
			continue
		}
		if err := s.cgroups.Delete(r); err != nil {
			s.log.Printf("reaper (%s): %v", why, err)
			continue
		}
		s.log.Printf("reaper (%s): uid=%d container=%s: scope %s is gone", why, r.UID, r.Container, r.Unit)
	}
}

// releaseCgroup ends r's cgroup, killing what is left in it (only the
// caller's processes can be: nothing enters it from outside without
// root), then drops r, and reports whether both are gone; what is not
// gone within two seconds stays recorded for the reaper.
func (s *Server) releaseCgroup(r *CgroupRecord) (bool, error) {
	ctx, cancel := context.WithTimeout(s.stopCtx, 10*time.Second)
	defer cancel()
	dir := filepath.Join(cgroupRoot, r.Path)
	if s.cgMode == cgroupsByFS {
		if populated(dir) {
			if err := os.WriteFile(filepath.Join(dir, "cgroup.kill"), []byte("1"), 0); err != nil {
				return false, protocol.Errorf(protocol.ErrFailed, "kill what is left in %s: %v", dir, err)
			}
		}
	} else {
		var de dbus.Error
		err := s.conn.Object("org.freedesktop.systemd1", "/org/freedesktop/systemd1").CallWithContext(ctx,
			"org.freedesktop.systemd1.Manager.StopUnit", 0, r.Unit, "replace").Err
		if err != nil && !(errors.As(err, &de) && de.Name == "org.freedesktop.systemd1.NoSuchUnit") {
			return false, protocol.Errorf(protocol.ErrFailed, "stop %s: %v", r.Unit, err)
		}
	}
	for end := time.Now().Add(2 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if s.cgMode == cgroupsByFS && !populated(dir) {
			if err := removeCgroup(dir); err != nil {
				return false, protocol.Errorf(protocol.ErrFailed, "%v", err)
			}
			break
		}
		if s.cgMode != cgroupsByFS && unitGone(ctx, s.conn, r.Unit) {
			break
		}
		if time.Now().After(end) {
			return false, nil
		}
	}
	return true, s.cgroups.Delete(r)
}

// checkCgroup2 refuses a host where DelegateCgroup cannot work: the
// cgroups must be v2 alone.
func checkCgroup2() error {
	var st unix.Statfs_t
	if err := unix.Statfs(cgroupRoot, &st); err != nil || st.Type != unix.CGROUP2_SUPER_MAGIC {
		layout := "not cgroup v2"
		if err == nil && st.Type == unix.TMPFS_MAGIC {
			layout = "cgroup v1 or hybrid (a tmpfs of v1 hierarchies)"
		}
		return protocol.Errorf(protocol.ErrUnsupported, "%s is %s: a container's cgroup needs cgroup v2 alone", cgroupRoot, layout)
	}
	return nil
}

// pidOfPidfd returns the pid a pidfd refers to, from procRoot/self/fdinfo;
// a descriptor that is not a pidfd is InvalidArgs, a process that is gone
// NotFound.
func pidOfPidfd(fd int, procRoot string) (int, error) {
	f, err := os.Open(filepath.Join(procRoot, "self", "fdinfo", strconv.Itoa(fd)))
	if err != nil {
		return 0, protocol.Errorf(protocol.ErrInvalidArgs, "the pidfd argument is not an open descriptor")
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "Pid:"); ok {
			pid, err := strconv.Atoi(strings.TrimSpace(v))
			switch {
			case err != nil:
				return 0, protocol.Errorf(protocol.ErrInvalidArgs, "the pidfd argument: bad Pid %q", v)
			case pid <= 0:
				return 0, protocol.Errorf(protocol.ErrNotFound, "the process of the pidfd has exited")
			}
			return pid, nil
		}
	}
	return 0, protocol.Errorf(protocol.ErrInvalidArgs, "the pidfd argument is not a pidfd")
}

// checkProcessUIDs requires pid's real, effective, saved and filesystem
// uids to be uid.
func checkProcessUIDs(procRoot string, pid int, uid uint32) error {
	b, err := os.ReadFile(filepath.Join(procRoot, strconv.Itoa(pid), "status"))
	if err != nil {
		return protocol.Errorf(protocol.ErrNotFound, "process %d: %v", pid, err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		v, ok := strings.CutPrefix(l, "Uid:")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) != 4 {
			break
		}
		for _, x := range f {
			if x != strconv.FormatUint(uint64(uid), 10) {
				return protocol.Errorf(protocol.ErrNotOwner, "process %d is not the caller's (uids %s)", pid, strings.Join(f, " "))
			}
		}
		return nil
	}
	return protocol.Errorf(protocol.ErrFailed, "process %d: no Uid line in its status", pid)
}

// primaryGID is the real gid of pid (the caller's), or -1 to leave the
// group alone.
func primaryGID(pid int) int {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "Gid:"); ok {
			if f := strings.Fields(v); len(f) > 0 {
				if g, err := strconv.Atoi(f[0]); err == nil {
					return g
				}
			}
		}
	}
	return -1
}

// alive checks that the pidfd's process still lives (it was the one
// checked, and is the one moved).
// Signal 0 only checks: ESRCH is an exited process; EPERM (the helper
// holds no CAP_KILL, and the process is another uid's) is a living one.
func alive(pidfd int) error {
	if err := unix.PidfdSendSignal(pidfd, 0, nil, 0); err != nil && !errors.Is(err, unix.EPERM) {
		return protocol.Errorf(protocol.ErrNotFound, "the process of the pidfd has exited")
	}
	return nil
}
