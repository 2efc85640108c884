package landlock

import (
	"errors"
	"fmt"

	llsys "github.com/landlock-lsm/go-landlock/landlock/syscall"
	"golang.org/x/sys/unix"
)

// ABI is the running kernel's Landlock ABI version; 0 when it has none
// (not built in, or not enabled at boot).
func ABI() int {
	v, err := llsys.LandlockGetABIVersion()
	if err != nil || v < 0 {
		return 0
	}
	return v
}

// The access rights of each group. ro: read files, list directories.
// rw: that, and every change to the tree beneath (write, create, remove,
// rename and link (refer), truncate). exec: ro and execute.
const (
	accessRead  = llsys.AccessFSReadFile | llsys.AccessFSReadDir
	accessWrite = llsys.AccessFSWriteFile | llsys.AccessFSRemoveDir | llsys.AccessFSRemoveFile |
		llsys.AccessFSMakeChar | llsys.AccessFSMakeDir | llsys.AccessFSMakeReg | llsys.AccessFSMakeSock |
		llsys.AccessFSMakeFifo | llsys.AccessFSMakeBlock | llsys.AccessFSMakeSym |
		llsys.AccessFSRefer | llsys.AccessFSTruncate
	accessExec = accessRead | llsys.AccessFSExecute

	// accessFile are the rights that apply to a file that is not a
	// directory; the kernel refuses others on such a rule.
	accessFile = llsys.AccessFSExecute | llsys.AccessFSWriteFile | llsys.AccessFSReadFile | llsys.AccessFSTruncate

	// accessABI1 is every right of ABI 1 (execute to make_sym).
	accessABI1 = llsys.AccessFSExecute | accessRead | accessWrite&^(llsys.AccessFSRefer|llsys.AccessFSTruncate)
)

// handledFS is what the ruleset restricts on a kernel with ABI abi: every
// right the groups speak of that the kernel knows. Device ioctls (ABI 5)
// and unix socket connects (ABI 9) are left alone: no group speaks of
// them.
func handledFS(abi int) uint64 {
	h := uint64(accessABI1)
	if abi >= abiRefer {
		h |= llsys.AccessFSRefer
	}
	if abi >= abiTruncate {
		h |= llsys.AccessFSTruncate
	}
	return h
}

// Domain is a ruleset made in the container (its paths opened there),
// ready to be enforced on the calling thread.
type Domain struct {
	fd int
}

// Build makes r's ruleset for the running kernel, opening its paths where
// the caller is (the init after pivot_root, the exec stage in the
// container's mount namespace). extraExec are files that must stay
// executable whatever the rules (run --init's myctr-init, executed
// through /proc/self/exe, when it is a file on disk); a path that cannot
// carry a rule (a memfd: Landlock leaves such files alone anyway) is
// skipped. It returns nil, and no error, when the kernel has no Landlock
// (the frontend has warned, or refused under landlock-strict).
func Build(r *Ruleset, extraExec ...string) (*Domain, error) {
	abi := ABI()
	if abi < 1 || (!r.FS() && !(r.Net() && abi >= abiNet)) {
		return nil, nil
	}
	attr := llsys.RulesetAttr{}
	if r.FS() {
		attr.HandledAccessFS = handledFS(abi)
	}
	if r.Net() && abi >= abiNet {
		attr.HandledAccessNet = llsys.AccessNetBindTCP | llsys.AccessNetConnectTCP
	}
	fd, err := llsys.LandlockCreateRuleset(&attr, 0)
	if err != nil {
		return nil, fmt.Errorf("landlock_create_ruleset: %w", err)
	}
	d := &Domain{fd: fd}
	fail := func(err error) (*Domain, error) {
		d.Close()
		return nil, err
	}
	if r.FS() {
		for _, g := range []struct {
			name   string
			paths  []string
			access uint64
		}{{"ro", r.RO, accessRead}, {"rw", r.RW, accessRead | accessWrite}, {"exec", r.Exec, accessExec}} {
			for _, p := range g.paths {
				if err := addPath(fd, p, g.access&attr.HandledAccessFS); err != nil {
					if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
						return fail(fmt.Errorf("%s:%s: %w", g.name, p, ErrPath))
					}
					return fail(fmt.Errorf("%s:%s: %w", g.name, p, err))
				}
			}
		}
		for _, p := range extraExec {
			err := addPath(fd, p, llsys.AccessFSExecute|llsys.AccessFSReadFile)
			if err != nil && !errors.Is(err, unix.EBADFD) {
				return fail(fmt.Errorf("allow executing %s: %w", p, err))
			}
		}
	}
	if attr.HandledAccessNet != 0 {
		for _, g := range []struct {
			ports  []uint16
			access uint64
		}{{r.Bind, llsys.AccessNetBindTCP}, {r.Connect, llsys.AccessNetConnectTCP}} {
			for _, port := range g.ports {
				if err := llsys.LandlockAddNetPortRule(fd, &llsys.NetPortAttr{AllowedAccess: g.access, Port: uint64(port)}, 0); err != nil {
					return fail(fmt.Errorf("TCP port %d: %w", port, err))
				}
			}
		}
	}
	return d, nil
}

// addPath grants access beneath path; a path that is not a directory gets
// only the rights a file can have.
func addPath(rulesetFD int, path string, access uint64) error {
	fd, err := unix.Open(path, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		access &= accessFile
	}
	if access == 0 {
		return nil
	}
	return llsys.LandlockAddPathBeneathRule(rulesetFD, &llsys.PathBeneathAttr{ParentFd: fd, AllowedAccess: access}, 0)
}

// Enforce restricts the calling thread, and everything it executes or
// starts from now on, to the ruleset, and closes it. The kernel allows it
// to a holder of CAP_SYS_ADMIN in its user namespace or to a thread with
// no_new_privs.
//
// Preconditions: the goroutine is locked to its thread, which never runs
// another goroutine again (it execs, or exits): only this thread is
// restricted.
func (d *Domain) Enforce() error {
	if d == nil {
		return nil
	}
	defer d.Close()
	if err := llsys.LandlockRestrictSelf(d.fd, 0); err != nil {
		return fmt.Errorf("landlock_restrict_self: %w", err)
	}
	return nil
}

// Close releases the ruleset without enforcing it.
func (d *Domain) Close() {
	if d != nil && d.fd >= 0 {
		unix.Close(d.fd)
		d.fd = -1
	}
}
