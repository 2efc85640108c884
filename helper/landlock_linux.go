package helper

import (
	"fmt"

	"github.com/landlock-lsm/go-landlock/landlock"
	llsys "github.com/landlock-lsm/go-landlock/landlock/syscall"
)

// RestrictFS confines the whole process, for the rest of its life, to the
// files the helper still needs once it has started: the ledger (stateDir,
// read-write) and /proc/sys/net (read-write: forwarding sysctls, the
// unprivileged port start). Everything else it needs is open already (the
// network namespace, the bus connection) or is no file (netlink, nftables,
// namespace ioctls). On a kernel without Landlock it restricts what the
// kernel supports, possibly nothing; the returned text says which.
//
// With cgroupFS (the helper makes cgroups itself) /sys/fs/cgroup is
// read-write: moving a process needs write access to the common ancestor
// of its old and new cgroup, which may be the root.
func RestrictFS(stateDir string, cgroupFS bool) (string, error) {
	abi, err := llsys.LandlockGetABIVersion()
	if err != nil || abi < 1 {
		return "Landlock is not available: the filesystem is not restricted", nil
	}
	// V5 covers every filesystem right up to device ioctls. Later ABIs
	// add the right to connect to unix sockets by path, which the helper
	// no longer needs (it is connected), but best effort keeps to what
	// the kernel knows either way.
	err = landlock.V5.BestEffort().RestrictPaths(
		landlock.RWDirs(stateDir),
		landlock.RWDirs("/proc/sys/net"),
		// DelegateCgroup: a pidfd's pid and its process's uids (fdinfo,
		// status), and the scopes it hands to their users (read-only
		// opens for fchown; the system manager writes the cgroups).
		landlock.RODirs("/proc"),
		cgroupRule(cgroupFS),
	)
	if err != nil {
		return "", fmt.Errorf("landlock: %w", err)
	}
	cg := "read-only /proc and /sys/fs/cgroup"
	if cgroupFS {
		cg = "read-write /sys/fs/cgroup, read-only /proc"
	}
	return fmt.Sprintf("Landlock (kernel ABI %d): read-write %s and /proc/sys/net, %s, nothing else", abi, stateDir, cg), nil
}

func cgroupRule(rw bool) landlock.Rule {
	if rw {
		return landlock.RWDirs("/sys/fs/cgroup").IgnoreIfMissing()
	}
	return landlock.RODirs("/sys/fs/cgroup").IgnoreIfMissing()
}
