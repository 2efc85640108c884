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
	"sync"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// MountPoint is where the cgroup v2 tree is mounted on a unified host.
const MountPoint = "/sys/fs/cgroup"

// ContainerLeaf is the container's cgroup below its own (a scope with
// Delegate=yes): cgroup v2 allows processes only in leaves once
// controllers are enabled for the children, and the scope's own files
// are its manager's.
const ContainerLeaf = "container"

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

// Setup makes the container's leaf in a delegated cgroup dir, moves the
// init (which runs nothing yet) into it, enables every controller dir has
// for it, checks that the ones the limits need are there and writes the
// limits.
func Setup(dir string, init int, need []string, r *specs.LinuxResources) error {
	if err := CheckControllers(dir, need); err != nil {
		return err
	}
	have := readControllers(filepath.Join(dir, "cgroup.controllers"))
	ctr := filepath.Join(dir, ContainerLeaf)
	if err := os.Mkdir(ctr, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("make cgroup %s: %w", ctr, err)
	}
	if err := WriteFile(ctr, "cgroup.procs", strconv.Itoa(init)); err != nil {
		return fmt.Errorf("move the container's init into %s: %w", ctr, err)
	}
	if len(have) > 0 {
		if err := WriteFile(dir, "cgroup.subtree_control", "+"+strings.Join(have, " +")); err != nil {
			return fmt.Errorf("enable the controllers of %s: %w", dir, err)
		}
	}
	return Apply(ctr, r)
}

// OOMWatch follows a cgroup's memory.events while its processes run, as
// conmon does: the cgroup may be gone by the time the monitor learns
// that the init exited (systemd removes an empty scope at once).
type OOMWatch struct {
	dir   string
	f     *os.File // the inotify descriptor
	done  chan struct{}
	mu    sync.Mutex
	kills uint64
	// above is the OOM kills each ancestor of dir had counted when the
	// watch began, nearest first (see Stop).
	above []oomCount
}

type oomCount struct {
	dir   string
	kills uint64
}

// maxAncestors bounds the ancestors an OOMWatch keeps counts of.
const maxAncestors = 8

// WatchOOM starts watching dir's memory.events; nil when there is none
// (no memory controller).
func WatchOOM(dir string) *OOMWatch {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil
	}
	if _, err := unix.InotifyAddWatch(fd, filepath.Join(dir, "memory.events"), unix.IN_MODIFY); err != nil {
		unix.Close(fd)
		return nil
	}
	w := &OOMWatch{dir: dir, f: os.NewFile(uintptr(fd), "inotify"), done: make(chan struct{})}
	for up := filepath.Dir(dir); len(w.above) < maxAncestors && up != "/" && up != "."; up = filepath.Dir(up) {
		ev, err := ReadKeyed(filepath.Join(up, "memory.events"))
		if err != nil {
			break // the root cgroup has none
		}
		w.above = append(w.above, oomCount{up, ev["oom_kill"]})
	}
	w.read()
	go func() {
		defer close(w.done)
		buf := make([]byte, 4096)
		for {
			if _, err := w.f.Read(buf); err != nil {
				return
			}
			if !w.read() {
				return
			}
		}
	}()
	return w
}

// read notes the OOM kills so far; false once the cgroup is gone.
func (w *OOMWatch) read() bool {
	ev, err := ReadKeyed(filepath.Join(w.dir, "memory.events"))
	if err != nil {
		return false
	}
	w.mu.Lock()
	w.kills = max(w.kills, ev["oom_kill"])
	w.mu.Unlock()
	return true
}

// Look reads memory.events now, if the cgroup is still there: the monitor
// calls it the moment the init has exited, before systemd may remove an
// empty scope, which the watch's own reader, woken by the kernel's event,
// can otherwise lose the race to.
func (w *OOMWatch) Look() {
	if w != nil {
		w.read()
	}
}

// Stop ends the watch, with a last look if the cgroup is still there, and
// reports whether the OOM killer killed a process of the cgroup.
//
// killed says the init died of SIGKILL. Then, when the cgroup was gone
// before any look saw a kill (on a slow machine the watch can lose that
// race to systemd, which removes an empty scope at once), the closest
// ancestor still there answers: an OOM kill counted there since the watch
// began (memory.events counts its descendants' too) is taken to be this
// cgroup's. Only a SIGKILL of this init at the moment the OOM killer
// struck a sibling's process would be mistaken for one.
func (w *OOMWatch) Stop(killed bool) bool {
	if w == nil {
		return false
	}
	here := w.read()
	w.f.Close()
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.kills > 0 || here || !killed {
		return w.kills > 0
	}
	for _, a := range w.above {
		ev, err := ReadKeyed(filepath.Join(a.dir, "memory.events"))
		if err != nil {
			continue // gone too (the scope)
		}
		return ev["oom_kill"] > a.kills
	}
	return false
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
