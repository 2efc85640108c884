package container

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/protocol/atomicfile"
	"github.com/myctr/myctr/protocol/flock"
)

// Names on a bridge-helper network. Its containers are on the host's
// bridge, where no DNS server of ours runs (the helper keeps nothing of a
// network but its port group), so each one finds the others in its
// /etc/hosts, as Docker's legacy links did: a section of the file, kept
// by whoever starts or ends a container on the network. The members are
// RUNROOT/helpernets/NAME.json, read and written under the flock
// RUNROOT/helpernets/NAME.lock; a member whose init is gone (kill -9 of
// its monitor) leaves it at the next start or end of another.

// helperMember is one running container of a bridge-helper network.
type helperMember struct {
	ID       string
	Pid      int
	PidStart uint64
	Address  string   // IPv4, no prefix
	Names    []string // name, short id, aliases
	// Userdata is its /etc files' directory, relative to the run root,
	// which its init copies at its start; "" when it has no /etc/hosts of
	// ours (--no-hosts).
	Userdata string `json:",omitempty"`
}

// hostsSection marks the section of /etc/hosts a network's members keep.
func hostsSection(network string) (begin, end string) {
	return "# myctr network " + network + ": its other containers\n", "# end of myctr network " + network + "\n"
}

// joinHelperNet makes self a member of network and writes every member's
// section anew; leaveHelperNet does so without the container id.
func (s *Store) joinHelperNet(network string, self *helperMember) error {
	return s.updateHelperNet(network, self.ID, self)
}

func (s *Store) leaveHelperNet(network, id string) error {
	return s.updateHelperNet(network, id, nil)
}

func (s *Store) updateHelperNet(network, id string, self *helperMember) error {
	return s.changeHelperNet(network, func(members []helperMember) ([]helperMember, error) {
		members = slices.DeleteFunc(members, func(m helperMember) bool { return m.ID == id })
		if self != nil {
			members = append(members, *self)
		}
		return members, nil
	})
}

// errNoMember is editHelperNet's answer when no member was changed.
var errNoMember = errors.New("not a member of the network")

// editHelperNet applies edit to each of network's members (it says
// whether it changed one) and writes every member's section anew; when it
// changes none, nothing is written and the error is errNoMember.
func (s *Store) editHelperNet(network string, edit func(m *helperMember) bool) error {
	return s.changeHelperNet(network, func(members []helperMember) ([]helperMember, error) {
		changed := false
		for i := range members {
			changed = edit(&members[i]) || changed
		}
		if !changed {
			return nil, errNoMember
		}
		return members, nil
	})
}

// changeHelperNet reads network's members under its lock, less those
// whose init is gone, has change make the new list (an error: nothing is
// written) and writes it and every member's /etc/hosts section.
func (s *Store) changeHelperNet(network string, change func([]helperMember) ([]helperMember, error)) error {
	dir := filepath.Join(s.Dirs.RunRoot, "helpernets")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	l, err := flock.Acquire(filepath.Join(dir, network+".lock"), 0o600, flock.Exclusive)
	if err != nil {
		return err
	}
	defer l.Close()
	file := filepath.Join(dir, network+".json")
	var members []helperMember
	b, err := os.ReadFile(file)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return err
	default:
		// A file that does not parse is rebuilt from the members that
		// start from now on.
		_ = json.Unmarshal(b, &members)
	}
	members = slices.DeleteFunc(members, func(m helperMember) bool { return !alive(m.Pid, m.PidStart) })
	if members, err = change(members); err != nil {
		return err
	}
	if len(members) == 0 {
		return errors.Join(ignoreMissing(os.Remove(file)), ignoreMissing(os.Remove(l.Name())))
	}
	if b, err = json.Marshal(members); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(file, b, 0o600); err != nil {
		return err
	}
	var errs []error
	for _, m := range members {
		if m.Userdata == "" {
			continue
		}
		if err := s.writeMemberHosts(m, network, membersHosts(members, m.ID)); err != nil {
			errs = append(errs, fmt.Errorf("container %s: %w", m.ID[:min(12, len(m.ID))], err))
		}
	}
	return errors.Join(errs...)
}

func ignoreMissing(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// membersHosts is the lines of the members other than id.
func membersHosts(members []helperMember, id string) string {
	var b strings.Builder
	for _, m := range members {
		if m.ID != id {
			fmt.Fprintf(&b, "%s\t%s\n", m.Address, strings.Join(m.Names, " "))
		}
	}
	return b.String()
}

// withHostsSection is hosts with network's section (begin and end lines
// around lines; none when lines is empty) in place of the one it had.
func withHostsSection(hosts, network, lines string) string {
	begin, end := hostsSection(network)
	if i := strings.Index(hosts, begin); i >= 0 {
		rest := hosts[i+len(begin):]
		if j := strings.Index(rest, end); j >= 0 {
			hosts = hosts[:i] + rest[j+len(end):]
		} else {
			hosts = hosts[:i]
		}
	}
	if lines == "" {
		return hosts
	}
	if hosts != "" && !strings.HasSuffix(hosts, "\n") {
		hosts += "\n"
	}
	return hosts + begin + lines + end
}

// writeMemberHosts puts lines in network's section of m's /etc/hosts.
// The container's /etc files are its own copies, in a tmpfs of its mount
// namespace (rootfs.Prepare), so the file is reached through its init's
// root, one component at a time and following no symlink (the container
// may have made /etc one, and an absolute link would resolve in our root,
// not its). An init that has not yet pivoted into its root (it starts
// beside us) still has ours: its userdata file, which it copies, is
// written instead.
func (s *Store) writeMemberHosts(m helperMember, network, lines string) error {
	root, err := unix.Open(fmt.Sprintf("/proc/%d/root", m.Pid), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open its root: %w", err)
	}
	defer unix.Close(root)
	if !alive(m.Pid, m.PidStart) {
		return nil // gone (and the pid maybe another's): nothing to write
	}
	var theirs, ours unix.Stat_t
	if err := unix.Fstat(root, &theirs); err != nil {
		return err
	}
	if err := unix.Stat("/proc/self/root", &ours); err != nil {
		return err
	}
	if theirs.Dev == ours.Dev && theirs.Ino == ours.Ino {
		dir, err := openRunPath(s.Dirs.RunRoot, m.Userdata)
		if err != nil {
			return err
		}
		defer dir.Close()
		return rewriteHostsSection(int(dir.Fd()), network, lines)
	}
	etc, err := unix.Openat(root, "etc", unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open its /etc: %w", err)
	}
	defer unix.Close(etc)
	return rewriteHostsSection(etc, network, lines)
}

// rewriteHostsSection rewrites the file hosts in dir in place: the
// container binds that very file, so a new one renamed over it would not
// be seen.
func rewriteHostsSection(dir int, network, lines string) error {
	fd, err := unix.Openat(dir, "hosts", unix.O_RDWR|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) {
		return nil // --no-hosts, or not written yet
	}
	if err != nil {
		return fmt.Errorf("open hosts: %w", err)
	}
	f := os.NewFile(uintptr(fd), "hosts")
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return fmt.Errorf("hosts is not a regular file")
	}
	old, err := readAllAt(f)
	if err != nil {
		return err
	}
	b := []byte(withHostsSection(string(old), network, lines))
	// The whole text first, then the end cut: a reader meanwhile sees the
	// new text, with at worst a tail of the old.
	if _, err := f.WriteAt(b, 0); err != nil {
		return fmt.Errorf("write hosts: %w", err)
	}
	if err := f.Truncate(int64(len(b))); err != nil {
		return fmt.Errorf("write hosts: %w", err)
	}
	return nil
}

func readAllAt(f *os.File) ([]byte, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	b := make([]byte, st.Size())
	n, err := f.ReadAt(b, 0)
	if err != nil && n != len(b) {
		return nil, fmt.Errorf("read hosts: %w", err)
	}
	return b[:n], nil
}
