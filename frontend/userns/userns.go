// Package userns finds the calling user's subordinate id ranges and writes
// the uid/gid maps of a new user namespace, through the setuid
// newuidmap/newgidmap helpers when a range exists and directly otherwise.
package userns

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Range is one line of /etc/subuid or /etc/subgid that belongs to the user.
type Range struct {
	Start uint32
	Count uint32
}

// Mapping is the identity mapping a container gets: by default container
// id 0 is the user, container ids 1..Sub.Count are the subordinate range;
// ForMode gives the other --userns modes' maps.
type Mapping struct {
	UID, GID       uint32
	SubUID, SubGID *Range // nil when the user has no range
	// KeepID is set for --userns=keep-id.
	KeepID *KeepID
	// uidMap and gidMap replace the default maps (ForMode, WithMaps).
	uidMap, gidMap []specs.LinuxIDMapping
}

// Files read for subordinate ranges; variables so unit tests can point them
// at fixtures.
var (
	SubUIDFile = "/etc/subuid"
	SubGIDFile = "/etc/subgid"
)

// The calling process's own maps; variables for tests.
var (
	UIDMapFile = "/proc/self/uid_map"
	GIDMapFile = "/proc/self/gid_map"
)

// mappedIDs counts the ids 0, 1, 2... mapped without a gap in a
// /proc/PID/[ug]id_map (the initial namespace maps all 4294967295).
func mappedIDs(file string) uint32 {
	b, err := os.ReadFile(file)
	if err != nil {
		return 65537 // no procfs: assume the host
	}
	type ext struct{ first, count uint64 }
	var exts []ext
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		first, err1 := strconv.ParseUint(f[0], 10, 32)
		count, err2 := strconv.ParseUint(f[2], 10, 32)
		if err1 == nil && err2 == nil {
			exts = append(exts, ext{first, count})
		}
	}
	var next uint64
	for changed := true; changed; {
		changed = false
		for _, e := range exts {
			if e.first <= next && e.first+e.count > next {
				next = e.first + e.count
				changed = true
			}
		}
	}
	return uint32(min(next, 1<<32-1))
}

// Current returns the mapping for the calling user.
func Current() (*Mapping, error) {
	uid, gid := uint32(os.Getuid()), uint32(os.Getgid())
	name := ""
	if u, err := LookupUser(strconv.Itoa(int(uid))); err == nil {
		name = u.Username
	}
	m := &Mapping{UID: uid, GID: gid}
	if uid == 0 {
		// Root maps ids 0..65536 one to one: on the host, the way Podman
		// does for rootful containers without --userns; inside a user
		// namespace (a build, or myctr in a container), as many of them
		// as that namespace itself has.
		n := min(mappedIDs(UIDMapFile), mappedIDs(GIDMapFile))
		if n > 1 {
			m.SubUID = &Range{Start: 1, Count: min(n-1, 65536)}
			m.SubGID = &Range{Start: 1, Count: min(n-1, 65536)}
		}
		return m, nil
	}
	var err error
	if m.SubUID, err = lookupRange(SubUIDFile, name, uid); err != nil {
		return nil, err
	}
	if m.SubGID, err = lookupRange(SubGIDFile, name, uid); err != nil {
		return nil, err
	}
	if m.SubUID == nil || m.SubGID == nil {
		m.SubUID, m.SubGID = nil, nil
	}
	return m, nil
}

// lookupRange returns the first range of file that names the user (by
// name or numeric id), or nil when there is none. A missing file is not an
// error: it means no ranges.
func lookupRange(file, name string, uid uint32) (*Range, error) {
	f, err := os.Open(file)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	defer f.Close()
	return parseRange(bufio.NewScanner(f), name, uid)
}

func parseRange(sc *bufio.Scanner, name string, uid uint32) (*Range, error) {
	id := strconv.FormatUint(uint64(uid), 10)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		parts := strings.Split(line, ":")
		if len(parts) != 3 || (parts[0] != name && parts[0] != id) {
			continue
		}
		start, err1 := strconv.ParseUint(parts[1], 10, 32)
		count, err2 := strconv.ParseUint(parts[2], 10, 32)
		if err1 != nil || err2 != nil || count == 0 {
			continue
		}
		return &Range{Start: uint32(start), Count: uint32(count)}, nil
	}
	return nil, sc.Err()
}

// HasRange reports whether the full subordinate mapping is available.
func (m *Mapping) HasRange() bool { return m.SubUID != nil && m.SubGID != nil }

// Size is the number of container ids mapped (the highest usable id + 1).
func (m *Mapping) Size() uint32 {
	if m.uidMap != nil {
		return min(contiguous(m.uidMap), contiguous(m.gidMap))
	}
	if !m.HasRange() {
		return 1
	}
	return 1 + min(m.SubUID.Count, m.SubGID.Count)
}

// UIDMappings is the mapping in OCI runtime-spec form.
func (m *Mapping) UIDMappings() []specs.LinuxIDMapping {
	if m.uidMap != nil {
		return m.uidMap
	}
	out := []specs.LinuxIDMapping{{ContainerID: 0, HostID: m.UID, Size: 1}}
	if m.SubUID != nil {
		out = append(out, specs.LinuxIDMapping{ContainerID: 1, HostID: m.SubUID.Start, Size: m.SubUID.Count})
	}
	return out
}

// GIDMappings is the group mapping in OCI runtime-spec form.
func (m *Mapping) GIDMappings() []specs.LinuxIDMapping {
	if m.gidMap != nil {
		return m.gidMap
	}
	out := []specs.LinuxIDMapping{{ContainerID: 0, HostID: m.GID, Size: 1}}
	if m.SubGID != nil {
		out = append(out, specs.LinuxIDMapping{ContainerID: 1, HostID: m.SubGID.Start, Size: m.SubGID.Count})
	}
	return out
}

// ToHost translates a container uid to the host uid, or -1 if unmapped.
func ToHost(maps []specs.LinuxIDMapping, id uint32) int64 {
	for _, mp := range maps {
		if id >= mp.ContainerID && id-mp.ContainerID < mp.Size {
			return int64(mp.HostID) + int64(id-mp.ContainerID)
		}
	}
	return -1
}

// Apply writes the maps of the user namespace of process pid, which must
// not have them yet. A map of the user's own ids alone it writes directly
// (allowed to an unprivileged user after denying setgroups), as it does
// every map when run as root; any other map goes through newuidmap and
// newgidmap, run side by side: both are started before either is waited
// for (a second goroutine would start its tool only once the first fork
// has returned anyway, as forks are serialised, and later by its wake-up).
func (m *Mapping) Apply(pid int) error {
	if self, direct := m.direct(); direct {
		return m.writeDirect(pid, !self)
	}
	um, uerr := startMapper("newuidmap", pid, m.UIDMappings())
	gm, gerr := startMapper("newgidmap", pid, m.GIDMappings())
	return errors.Join(um.wait(uerr), gm.wait(gerr))
}

// direct reports whether Apply writes the maps itself (root, or the
// user's own ids alone: self), without newuidmap and newgidmap.
func (m *Mapping) direct() (self, direct bool) {
	u, g := m.UIDMappings(), m.GIDMappings()
	self = len(u) == 1 && len(g) == 1 && u[0].Size == 1 && g[0].Size == 1 &&
		u[0].HostID == m.UID && g[0].HostID == m.GID
	return self, m.UID == 0 || self
}

// Mappers are the command lines of newuidmap and newgidmap for the maps
// Apply would write, without the pid (the first argument, which the
// caller adds): the tool's path, then each extent's container id, host
// id and size. Both nil where Apply writes the maps itself; ErrNoMapper
// where a tool is missing.
func (m *Mapping) Mappers() (uid, gid []string, err error) {
	if _, direct := m.direct(); direct {
		return nil, nil, nil
	}
	line := func(tool string, maps []specs.LinuxIDMapping) ([]string, error) {
		path, err := exec.LookPath(tool)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", tool, ErrNoMapper)
		}
		return append([]string{path}, extentArgs(maps)...), nil
	}
	if uid, err = line("newuidmap", m.UIDMappings()); err != nil {
		return nil, nil, err
	}
	if gid, err = line("newgidmap", m.GIDMappings()); err != nil {
		return nil, nil, err
	}
	return uid, gid, nil
}

// extentArgs are the maps as newuidmap's arguments after the pid.
func extentArgs(maps []specs.LinuxIDMapping) []string {
	out := make([]string, 0, 3*len(maps))
	for _, e := range maps {
		out = append(out, strconv.FormatUint(uint64(e.ContainerID), 10),
			strconv.FormatUint(uint64(e.HostID), 10), strconv.FormatUint(uint64(e.Size), 10))
	}
	return out
}

// mapper is a running newuidmap or newgidmap.
type mapper struct {
	tool string
	args []string
	cmd  *exec.Cmd
	out  bytes.Buffer
}

func startMapper(tool string, pid int, maps []specs.LinuxIDMapping) (*mapper, error) {
	path, err := exec.LookPath(tool)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", tool, ErrNoMapper)
	}
	mp := &mapper{tool: tool, args: append([]string{strconv.Itoa(pid)}, extentArgs(maps)...)}
	mp.cmd = exec.Command(path, mp.args...)
	mp.cmd.Stdout, mp.cmd.Stderr = &mp.out, &mp.out
	if err := mp.cmd.Start(); err != nil {
		return nil, mp.fail(err)
	}
	return mp, nil
}

// wait waits for a mapper that started (err nil) and reports how it ended.
func (mp *mapper) wait(err error) error {
	if err != nil {
		return err
	}
	if err := mp.cmd.Wait(); err != nil {
		return mp.fail(err)
	}
	return nil
}

func (mp *mapper) fail(err error) error {
	return &MapperError{Tool: mp.tool, Args: mp.args, Output: strings.TrimSpace(mp.out.String()), Err: err}
}

// writeDirect writes the maps itself; setgroups stays allowed only for
// root with more than its own id mapped.
func (m *Mapping) writeDirect(pid int, root bool) error {
	base := "/proc/" + strconv.Itoa(pid)
	// One line per extent: each line must fall within one extent of the
	// parent's map, and inside the user's namespace (where builds run as
	// root) 0 and 1..65536 are two.
	uidMap, gidMap := mapText(m.UIDMappings()), mapText(m.GIDMappings())
	if !root {
		if err := os.WriteFile(base+"/setgroups", []byte("deny"), 0); err != nil {
			return fmt.Errorf("write %s/setgroups: %w", base, err)
		}
	}
	if err := os.WriteFile(base+"/uid_map", []byte(uidMap), 0); err != nil {
		return fmt.Errorf("write %s/uid_map: %w", base, err)
	}
	if err := os.WriteFile(base+"/gid_map", []byte(gidMap), 0); err != nil {
		return fmt.Errorf("write %s/gid_map: %w", base, err)
	}
	return nil
}

func mapText(maps []specs.LinuxIDMapping) string {
	var b strings.Builder
	for _, mp := range maps {
		fmt.Fprintf(&b, "%d %d %d\n", mp.ContainerID, mp.HostID, mp.Size)
	}
	return b.String()
}

// FreeRange is the first block of count ids, from 100000 up in steps of
// 65536 (as useradd allots them), that no line of the given subuid or
// subgid files' text overlaps: the range to propose to a user who has
// none, which must not be another user's.
func FreeRange(files [][]byte, count uint32) uint32 {
	type span struct{ start, end uint64 }
	var used []span
	for _, f := range files {
		for _, line := range strings.Split(string(f), "\n") {
			parts := strings.Split(strings.TrimSpace(line), ":")
			if len(parts) != 3 || strings.HasPrefix(parts[0], "#") {
				continue
			}
			start, err1 := strconv.ParseUint(parts[1], 10, 32)
			n, err2 := strconv.ParseUint(parts[2], 10, 32)
			if err1 == nil && err2 == nil && n > 0 {
				used = append(used, span{start, start + n})
			}
		}
	}
	for start := uint64(100000); start+uint64(count) <= 1<<32; start += 65536 {
		free := true
		for _, u := range used {
			if start < u.end && u.start < start+uint64(count) {
				free = false
				break
			}
		}
		if free {
			return uint32(start)
		}
	}
	return 100000
}
