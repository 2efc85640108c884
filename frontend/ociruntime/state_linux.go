package ociruntime

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/frontend/cgroup"
	"github.com/myctr/myctr/frontend/nsexec"
	"github.com/myctr/myctr/protocol/atomicfile"
)

// Record is what the runtime keeps of a container, ROOT/ID/state.json.
type Record struct {
	ID     string `json:"id"`
	Bundle string `json:"bundle"`
	// Pid and Start name the container's init (its pid and the start
	// time in /proc/PID/stat), so a reused pid is never taken for it.
	Pid     int       `json:"pid"`
	Start   uint64    `json:"start"`
	Created time.Time `json:"created"`
	Owner   string    `json:"owner,omitempty"`
	// OwnPidNS: the container has a PID namespace of its own, so its
	// processes are those of that namespace.
	OwnPidNS    bool              `json:"own_pid_ns"`
	Annotations map[string]string `json:"annotations,omitempty"`
	// Cgroup is the container's own cgroup directory, "" for none.
	Cgroup string `json:"cgroup,omitempty"`
	// Unit is the transient scope systemd made for the container
	// (--systemd-cgroup), "" for none, and UnitInvocation its invocation
	// ID (a later scope of the same name is not the container's).
	// UnitRuntimeDir is where the bus of the user's manager that holds
	// it listens, "" for the system manager.
	Unit           string `json:"systemd_unit,omitempty"`
	UnitInvocation string `json:"systemd_invocation,omitempty"`
	UnitRuntimeDir string `json:"systemd_runtime_dir,omitempty"`
	// Spec is the bundle's config.json as create read it (the root path
	// absolute, the default devices added): exec takes the container's
	// namespaces, process and seccomp profile from it, and the later
	// lifecycle steps its hooks, whatever the bundle holds by then.
	Spec *specs.Spec `json:"config"`
}

// hooks are the record's hooks, never nil.
func (r *Record) hooks() *specs.Hooks {
	if r.Spec == nil || r.Spec.Hooks == nil {
		return &specs.Hooks{}
	}
	return r.Spec.Hooks
}

// Status values of the runtime specification's state.
const (
	StatusCreating = "creating"
	StatusCreated  = "created"
	StatusRunning  = "running"
	StatusPaused   = "paused"
	StatusStopped  = "stopped"
)

// ErrNotExist: no container of that id.
var ErrNotExist = errors.New("container does not exist")

// CheckID refuses an id that is not runc's kind: letters, digits and
// _+-., not "." or "..", at most 1024 bytes.
func CheckID(id string) error {
	if len(id) == 0 || len(id) > 1024 || id == "." || id == ".." || strings.IndexFunc(id, notIDChar) >= 0 {
		return fmt.Errorf("invalid container id %q: only letters, digits and _ + - . are allowed", id)
	}
	return nil
}

// notIDChar is false for the characters of runc's ids, the regexp
// ^[\w+\-.]+$ (ASCII \w); a function, not that regexp, whose compile at
// package init every runtime command and its init stage paid.
func notIDChar(r rune) bool {
	return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || strings.ContainsRune("_+-.", r))
}

// Runtime is a state root: one directory per container.
type Runtime struct {
	Root string
}

func (rt *Runtime) dir(id string) string { return filepath.Join(rt.Root, id) }

func (rt *Runtime) fifo(id string) string { return filepath.Join(rt.dir(id), "exec.fifo") }

// Load reads a container's record.
func (rt *Runtime) Load(id string) (*Record, error) {
	if err := CheckID(id); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(rt.dir(id), "state.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNotExist, id)
	}
	if err != nil {
		return nil, err
	}
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("read the state of %s: %w", id, err)
	}
	return &r, nil
}

func (rt *Runtime) save(r *Record) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	// Replaced whole, never synced: it names processes, which a reboot
	// ends (crun and runc do not sync theirs either).
	return atomicfile.WriteFileVolatile(filepath.Join(rt.dir(r.ID), "state.json"), b, 0o600)
}

// alive reports whether the record's init still runs: the same process
// (pid and start time) and not a zombie, which has ended and waits only
// to be reaped by its parent (the caller's subreaper).
func (r *Record) alive() bool {
	if r.Pid <= 0 {
		return false
	}
	st, start, err := nsexec.ProcStat(r.Pid)
	return err == nil && start == r.Start && st != 'Z' && st != 'X'
}

// Status is the container's status now.
func (rt *Runtime) Status(r *Record) string {
	if !r.alive() {
		return StatusStopped
	}
	if _, err := os.Lstat(rt.fifo(r.ID)); err == nil {
		return StatusCreated
	}
	if r.Cgroup != "" && cgroup.Frozen(r.Cgroup) {
		return StatusPaused
	}
	return StatusRunning
}

// State is the runtime specification's state of a container; a stopped
// container's pid is 0, as runc reports it.
func (rt *Runtime) State(r *Record) *specs.State {
	st := &specs.State{Version: specs.Version, ID: r.ID, Status: specs.ContainerState(rt.Status(r)),
		Bundle: r.Bundle, Annotations: r.Annotations}
	if st.Status != StatusStopped {
		st.Pid = r.Pid
	}
	return st
}

// List returns the records of every container under the root, by id.
func (rt *Runtime) List() ([]*Record, error) {
	ents, err := os.ReadDir(rt.Root)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []*Record
	for _, e := range ents {
		if !e.IsDir() || CheckID(e.Name()) != nil {
			continue
		}
		r, err := rt.Load(e.Name())
		if err != nil {
			continue // being created or deleted
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// pidfd opens a descriptor of the record's init, checking after opening
// that it is still the same process.
func (r *Record) pidfd() (int, error) {
	fd, err := unix.PidfdOpen(r.Pid, 0)
	if err != nil {
		return -1, err
	}
	if !r.alive() {
		unix.Close(fd)
		return -1, unix.ESRCH
	}
	return fd, nil
}
