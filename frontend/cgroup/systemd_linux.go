package cgroup

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	sd "github.com/coreos/go-systemd/v22/dbus"
	godbus "github.com/godbus/dbus/v5"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// DefaultSlice is the user manager's slice that holds the containers'
// scopes.
const DefaultSlice = "myctr.slice"

// ScopeRequest is a container's cgroup to make through the user's
// systemd manager.
type ScopeRequest struct {
	ID         string
	Slice      string // DefaultSlice when empty
	Init       int    // the container's init, not yet running anything
	Need       []string
	Resources  *specs.LinuxResources
	RuntimeDir string // where the user bus listens
}

// ScopeName is the transient scope of a container.
func ScopeName(id string) string { return "myctr-" + id + ".scope" }

// StartUserScope asks the user's systemd manager for a transient scope
// with Delegate=yes holding the container's init (StartScope), then moves
// the init into the container's leaf and writes the limits (see Setup).
// The scope ends by itself when its last process exits, and systemd
// removes its cgroup with everything below it. Only the init goes in:
// the monitor may be a foreground `myctr run`, which must stay in its
// login session's scope (logind and polkit know a process's session by
// its cgroup).
func StartUserScope(ctx context.Context, req ScopeRequest) (*Placement, error) {
	slice := req.Slice
	if slice == "" {
		slice = DefaultSlice
	}
	unit := ScopeName(req.ID)
	sc, err := StartScope(ctx, TransientScope{Bus: Bus{RuntimeDir: req.RuntimeDir}, Unit: unit, Slice: slice,
		Description: "myctr container " + req.ID, Init: req.Init})
	if err != nil {
		return nil, err
	}
	p := &Placement{Manager: "systemd", Unit: unit, Path: filepath.Join(sc.Cgroup, ContainerLeaf)}
	if err := Setup(filepath.Join(MountPoint, sc.Cgroup), req.Init, req.Need, req.Resources); err != nil {
		return p, err
	}
	return p, nil
}

// Bus names a systemd manager: the system manager (System), reached on
// the system bus or, for root without one, on systemd's private socket;
// else a user's manager, on the bus in the user's runtime directory.
type Bus struct {
	System     bool
	RuntimeDir string // the user's runtime directory (XDG_RUNTIME_DIR)
}

// connect opens a connection to the manager.
func (b Bus) connect(ctx context.Context) (*sd.Conn, error) {
	if b.System {
		conn, err := sd.NewSystemConnectionContext(ctx)
		if err != nil && os.Geteuid() == 0 {
			// Root may talk to systemd without the bus daemon.
			var perr error
			if conn, perr = sd.NewSystemdConnectionContext(ctx); perr != nil {
				err = fmt.Errorf("the system bus: %w; systemd's private socket: %w", err, perr)
			}
		}
		if conn == nil {
			return nil, &ManagerError{Op: "connect to the systemd system manager", Err: err, dial: true}
		}
		return conn, nil
	}
	conn, err := sd.NewConnection(dialUserBus(b.RuntimeDir))
	if err != nil {
		return nil, &ManagerError{Op: "connect to your systemd user manager", Err: err, dial: true}
	}
	return conn, nil
}

// TransientScope is a scope to ask a systemd manager for, holding one
// process.
type TransientScope struct {
	Bus         Bus
	Unit        string // NAME.scope
	Slice       string
	Description string
	// Init is the process the scope holds: the container's init, which
	// runs nothing of the container's yet.
	Init int
	// Accounting asks for memory, CPU, IO and tasks accounting, so that
	// the scope has those controllers whatever else the manager runs
	// (the ones the manager itself lacks stay missing), and no tasks
	// limit but Limits' (no DefaultTasksMax).
	Accounting bool
	// Limits are the unit's settings (see unitLimits): the caller
	// writes the files too.
	Limits *specs.LinuxResources
	// Invocation asks for the scope's invocation ID too (one more call).
	Invocation bool
	// Properties are set after myctr's own, which they may override
	// (AnnotationProperties).
	Properties []sd.Property
}

// StartedScope is a scope that StartScope started.
type StartedScope struct {
	// Cgroup is its cgroup below the hierarchy's root.
	Cgroup string
	// Invocation is its invocation ID (hex), when asked for: a scope of
	// the same name started later, after this one is gone, has another.
	Invocation string
}

// StartScope asks the manager for a transient scope with Delegate=yes
// holding s.Init, and returns the scope's cgroup as the manager reports
// it. A scope of the same name still on its way out is waited for, up to
// 3 seconds.
func StartScope(ctx context.Context, s TransientScope) (*StartedScope, error) {
	props := []sd.Property{
		sd.PropDescription(s.Description),
		sd.PropSlice(s.Slice),
		{Name: "PIDs", Value: godbus.MakeVariant([]uint32{uint32(s.Init)})},
		{Name: "Delegate", Value: godbus.MakeVariant(true)},
		{Name: "CollectMode", Value: godbus.MakeVariant("inactive-or-failed")},
		// Not ordered against shutdown.target and friends: a container's
		// scope is stopped when its processes are, as Podman's are.
		{Name: "DefaultDependencies", Value: godbus.MakeVariant(false)},
	}
	if s.Accounting {
		for _, a := range []string{"MemoryAccounting", "CPUAccounting", "IOAccounting", "TasksAccounting"} {
			props = append(props, sd.Property{Name: a, Value: godbus.MakeVariant(true)})
		}
	}
	lim, err := unitLimits(s.Limits)
	if err != nil {
		return nil, err
	}
	props = append(props, lim...)
	if s.Accounting && !slices.ContainsFunc(lim, func(p sd.Property) bool { return p.Name == "TasksMax" }) {
		// As a cgroup of the cgroupfs form: no limit the spec does not
		// set (tasks accounting brings the manager's DefaultTasksMax).
		props = append(props, sd.Property{Name: "TasksMax", Value: godbus.MakeVariant(uint64(math.MaxUint64))})
	}
	conn, err := s.Bus.connect(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	// systemd 253 and later stop a scope after an OOM kill inside it
	// unless told otherwise; older ones do not know the property. The
	// caller's properties come last: systemd applies them in order.
	withOOM := append(slices.Clone(props), sd.Property{Name: "OOMPolicy", Value: godbus.MakeVariant("continue")})
	withOOM = append(withOOM, s.Properties...)
	props = append(props, s.Properties...)
	if err := startScope(ctx, conn, s.Unit, withOOM); err != nil {
		if !unknownProperty(err) {
			return nil, err
		}
		if err := startScope(ctx, conn, s.Unit, props); err != nil {
			return nil, err
		}
	}
	v, err := conn.GetUnitTypePropertyContext(ctx, s.Unit, "Scope", "ControlGroup")
	if err != nil {
		return nil, &ManagerError{Op: "read the cgroup of " + s.Unit, Err: err}
	}
	cg, _ := v.Value.Value().(string)
	if cg == "" || !strings.HasPrefix(cg, "/") || strings.Contains(cg, "..") {
		return nil, &ManagerError{Op: "read the cgroup of " + s.Unit, Err: fmt.Errorf("unexpected ControlGroup %q", cg)}
	}
	sc := &StartedScope{Cgroup: cg}
	if s.Invocation {
		if sc.Invocation, err = invocation(ctx, conn, s.Unit); err != nil {
			return nil, err
		}
	}
	return sc, nil
}

// invocation reads a unit's invocation ID, hex; "" for a unit that is
// not loaded (gone).
func invocation(ctx context.Context, conn *sd.Conn, unit string) (string, error) {
	v, err := conn.GetUnitPropertyContext(ctx, unit, "InvocationID")
	if err != nil {
		return "", &ManagerError{Op: "read the invocation ID of " + unit, Err: err}
	}
	b, _ := v.Value.Value().([]byte)
	if len(b) == 0 || bytes.Count(b, []byte{0}) == len(b) {
		return "", nil
	}
	return hex.EncodeToString(b), nil
}

// StopScope asks the manager to stop a scope (SIGTERM, then SIGKILL, to
// what is left in it) and waits for the stop to finish. With inv, only
// that invocation of it is stopped: a later scope of the same name is
// another container's. It reports whether it stopped the scope; one
// that is gone already is no error.
func StopScope(ctx context.Context, b Bus, unit, inv string) (bool, error) {
	conn, err := b.connect(ctx)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	if inv != "" {
		now, err := invocation(ctx, conn, unit)
		if err != nil || now != inv {
			return false, err
		}
	}
	ch := make(chan string, 1)
	if _, err := conn.StopUnitContext(ctx, unit, "replace", ch); err != nil {
		var de godbus.Error
		if errors.As(err, &de) && de.Name == "org.freedesktop.systemd1.NoSuchUnit" {
			return false, nil
		}
		return false, &ManagerError{Op: "stop " + unit, Err: err}
	}
	select {
	case res := <-ch:
		if res != "done" {
			return true, &ManagerError{Op: "stop " + unit, Err: fmt.Errorf("job %s", res)}
		}
		return true, nil
	case <-ctx.Done():
		return true, &ManagerError{Op: "stop " + unit, Err: ctx.Err()}
	}
}

// UnitExists reports whether err is a manager's refusal to start a unit
// because one of that name exists (and did not go away meanwhile).
func UnitExists(err error) bool {
	var de godbus.Error
	return errors.As(err, &de) && de.Name == "org.freedesktop.systemd1.UnitExists"
}

func startScope(ctx context.Context, conn *sd.Conn, unit string, props []sd.Property) error {
	ch := make(chan string, 1)
	for try := 0; ; try++ {
		_, err := conn.StartTransientUnitContext(ctx, unit, "fail", props, ch)
		if err == nil {
			break
		}
		// A container started again at once: its last scope may still be
		// on its way out (systemd collects it once its cgroup is empty).
		if UnitExists(err) && try < 30 {
			select {
			case <-time.After(100 * time.Millisecond):
				continue
			case <-ctx.Done():
			}
		}
		return &ManagerError{Op: "start " + unit, Err: err}
	}
	select {
	case res := <-ch:
		if res != "done" {
			return &ManagerError{Op: "start " + unit, Err: fmt.Errorf("job %s", res)}
		}
		return nil
	case <-ctx.Done():
		return &ManagerError{Op: "start " + unit, Err: ctx.Err()}
	}
}

func unknownProperty(err error) bool {
	var de godbus.Error
	if errors.As(err, &de) {
		return de.Name == "org.freedesktop.DBus.Error.PropertyReadOnly" || de.Name == "org.freedesktop.DBus.Error.InvalidArgs"
	}
	return false
}

// AttachToScope asks the user's manager to move pid into the container's
// leaf of its scope: a process outside the manager's tree (a login
// session's) cannot be moved there by its owner (cgroup v2 needs write
// access to the common ancestor), and the manager asks the system manager
// when it cannot either.
func AttachToScope(ctx context.Context, runtimeDir string, p *Placement, pid int) error {
	conn, err := Bus{RuntimeDir: runtimeDir}.connect(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.AttachProcessesToUnit(ctx, p.Unit, "/"+ContainerLeaf, []uint32{uint32(pid)}); err != nil {
		return &ManagerError{Op: "move process " + strconv.Itoa(pid) + " into " + p.Unit, Err: err}
	}
	return nil
}

// UserUnitDelegates asks the user's manager whether its unit delegates its
// cgroup (Delegate=yes): the one way to know for a user unit where systemd
// sets no user.delegate mark (before v253, as Debian 12's 252).
func UserUnitDelegates(ctx context.Context, runtimeDir, unit string) (bool, error) {
	conn, err := Bus{RuntimeDir: runtimeDir}.connect(ctx)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	p, err := conn.GetUnitTypePropertyContext(ctx, unit, "Service", "Delegate")
	if err != nil {
		return false, &ManagerError{Op: "read Delegate of " + unit, Err: err}
	}
	v, _ := p.Value.Value().(bool)
	return v, nil
}

// ManagerError is a failed call to a systemd manager.
type ManagerError struct {
	Op   string
	Err  error
	dial bool // connecting failed
}

func (e *ManagerError) Error() string { return e.Op + ": " + e.Err.Error() }
func (e *ManagerError) Unwrap() error { return e.Err }

// NoManager reports whether the manager could not be reached at all: no
// bus, or a bus without systemd on it, whether the bus knows no such
// service or tried to start one from its activation file and failed (a
// bus daemon where systemd is installed but not running, whose
// activation of org.freedesktop.systemd1 fails as "Spawn.ChildExited").
func (e *ManagerError) NoManager() bool {
	var de godbus.Error
	return e.dial || errors.As(e.Err, &de) &&
		(de.Name == "org.freedesktop.DBus.Error.ServiceUnknown" || de.Name == "org.freedesktop.DBus.Error.NameHasNoOwner" ||
			strings.HasPrefix(de.Name, "org.freedesktop.DBus.Error.Spawn."))
}

// dialUserBus connects to the user bus in runtimeDir as this user (as
// the bus knows it: root of a user namespace, such as rootless Podman's,
// is the user who made it).
func dialUserBus(runtimeDir string) func() (*godbus.Conn, error) {
	return func() (*godbus.Conn, error) {
		if runtimeDir == "" {
			return nil, errors.New("XDG_RUNTIME_DIR is not set")
		}
		conn, err := godbus.Dial("unix:path=" + filepath.Join(runtimeDir, "bus"))
		if err != nil {
			return nil, err
		}
		if err := conn.Auth([]godbus.Auth{godbus.AuthExternal(strconv.Itoa(busUID()))}); err != nil {
			conn.Close()
			return nil, err
		}
		if err := conn.Hello(); err != nil {
			conn.Close()
			return nil, err
		}
		return conn, nil
	}
}

// busUID is this process's uid in the parent of its user namespace:
// the uid its peers there (the bus) see, which the EXTERNAL
// authentication must name. In the initial namespace the map is the
// identity.
func busUID() int {
	b, _ := os.ReadFile("/proc/self/uid_map")
	return outerUID(os.Getuid(), string(b))
}

// outerUID maps uid through a uid_map's lines (inside, outside, count);
// a uid the map does not hold (or no map) stays itself.
func outerUID(uid int, uidMap string) int {
	for _, l := range strings.Split(uidMap, "\n") {
		f := strings.Fields(l)
		if len(f) != 3 {
			continue
		}
		in, err1 := strconv.ParseUint(f[0], 10, 32)
		out, err2 := strconv.ParseUint(f[1], 10, 32)
		n, err3 := strconv.ParseUint(f[2], 10, 32)
		if err1 == nil && err2 == nil && err3 == nil && uint64(uid) >= in && uint64(uid)-in < n {
			return int(out + uint64(uid) - in)
		}
	}
	return uid
}

// ScopeTimeout bounds the calls to a systemd manager.
const ScopeTimeout = 60 * time.Second

var sliceRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9:_.\\-]{1,200}\.slice$`) })

// ValidSlice reports whether s can name a slice of the user's manager
// (--cgroup-parent): a unit name ending in .slice, no path.
func ValidSlice(s string) bool {
	return sliceRE().MatchString(s) && !strings.HasPrefix(s, "-") && !strings.Contains(s, "..")
}
