package cgroup

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// MountPoint is where the cgroup v2 tree is mounted on a unified host.
const MountPoint = "/sys/fs/cgroup"

// Leaf names below a container's own cgroup (a scope with Delegate=yes):
// the container's processes and, beside them, its monitor with the
// network's processes. cgroup v2 allows processes only in leaves once
// controllers are enabled for the children.
const (
	ContainerLeaf  = "container"
	SupervisorLeaf = "supervisor"
)

// Placement is where a container's cgroup is, recorded in its state for
// stats, update, exec and the OOM report.
type Placement struct {
	// Manager made the cgroup: "systemd" (the user's manager).
	Manager string
	// Unit is the transient scope that holds it.
	Unit string `json:",omitempty"`
	// Path is the container's cgroup below the cgroup v2 root.
	Path string
}

// Dir is the container's cgroup directory on this host.
func (p *Placement) Dir() string { return filepath.Join(MountPoint, p.Path) }

// WriteFile writes one cgroup interface file in dir. The file must exist:
// a cgroup file is never created, and a missing one means the controller
// is not enabled there.
func WriteFile(dir, name, value string) error {
	if strings.ContainsRune(name, '/') {
		return fmt.Errorf("cgroup file %q: not a plain name", name)
	}
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("set %s to %q: %w", name, value, err)
	}
	_, err = f.WriteString(value)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("set %s to %q: %w", name, value, err)
	}
	return nil
}

// Apply writes the limits r into the cgroup dir, in the order V2Files
// gives; it stops at the first file the kernel refuses.
func Apply(dir string, r *specs.LinuxResources) error {
	if r == nil {
		return nil
	}
	files, err := V2Files(r)
	if err != nil {
		return err
	}
	for _, f := range files {
		if err := WriteFile(dir, f.Name, f.Value); err != nil {
			return err
		}
	}
	return nil
}

// ReadKeyed reads a flat keyed file ("key value" per line, such as
// memory.events or memory.stat) into a map.
func ReadKeyed(path string) (map[string]uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]uint64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
		if err != nil {
			continue
		}
		out[k] = n
	}
	return out, sc.Err()
}

// OOMKills is how many processes of the cgroup dir (and below) the OOM
// killer killed, from memory.events; 0 without the memory controller.
func OOMKills(dir string) uint64 {
	ev, err := ReadKeyed(filepath.Join(dir, "memory.events"))
	if err != nil {
		return 0
	}
	return ev["oom_kill"]
}

// MissingError is a cgroup that lacks controllers the limits need.
type MissingError struct {
	Dir     string
	Missing []string
	Have    []string
}

func (e *MissingError) Error() string {
	return fmt.Sprintf("the container's cgroup %s lacks the %s controller (it has: %s)", e.Dir, strings.Join(e.Missing, " "), orNone(e.Have))
}

func (e *MissingError) Unwrap() error { return ErrUnavailable }

// split makes the container's and the supervisor's leaves in a delegated
// cgroup dir, moves init and monitor into them (init first: it runs
// nothing yet), enables every controller dir has for the leaves, checks
// that the ones the limits need are there and writes the limits into the
// container's leaf.
func split(dir string, monitor, init int, need []string, r *specs.LinuxResources) error {
	if err := CheckControllers(dir, need); err != nil {
		return err
	}
	have := readControllers(filepath.Join(dir, "cgroup.controllers"))
	ctr, sup := filepath.Join(dir, ContainerLeaf), filepath.Join(dir, SupervisorLeaf)
	for _, d := range []string{ctr, sup} {
		if err := os.Mkdir(d, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("make cgroup %s: %w", d, err)
		}
	}
	if err := WriteFile(ctr, "cgroup.procs", strconv.Itoa(init)); err != nil {
		return fmt.Errorf("move the container's init into %s: %w", ctr, err)
	}
	if monitor > 0 {
		if err := WriteFile(sup, "cgroup.procs", strconv.Itoa(monitor)); err != nil {
			return fmt.Errorf("move the monitor into %s: %w", sup, err)
		}
	}
	if len(have) > 0 {
		if err := WriteFile(dir, "cgroup.subtree_control", "+"+strings.Join(have, " +")); err != nil {
			return fmt.Errorf("enable the controllers of %s: %w", dir, err)
		}
	}
	return Apply(ctr, r)
}

// CheckControllers returns a *MissingError unless the cgroup dir has every
// controller in need.
func CheckControllers(dir string, need []string) error {
	have := readControllers(filepath.Join(dir, "cgroup.controllers"))
	var missing []string
	for _, c := range need {
		if !slices.Contains(have, c) {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return &MissingError{Dir: dir, Missing: missing, Have: have}
	}
	return nil
}
