package cgroup

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
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
// with Delegate=yes holding the container's init, then moves the init
// into the container's leaf and writes the limits (see split). The scope
// ends by itself when its last process exits, and systemd removes its
// cgroup with everything below it. Only the init goes in: the monitor
// may be a foreground `myctr run`, which must stay in its login session's
// scope (logind and polkit know a process's session by its cgroup).
func StartUserScope(ctx context.Context, req ScopeRequest) (*Placement, error) {
	conn, err := sd.NewConnection(dialUserBus(req.RuntimeDir))
	if err != nil {
		return nil, &ManagerError{Op: "connect to your systemd user manager", Err: err}
	}
	defer conn.Close()
	slice := req.Slice
	if slice == "" {
		slice = DefaultSlice
	}
	unit := ScopeName(req.ID)
	pids := []uint32{uint32(req.Init)}
	props := []sd.Property{
		sd.PropDescription("myctr container " + req.ID),
		sd.PropSlice(slice),
		{Name: "PIDs", Value: godbus.MakeVariant(pids)},
		{Name: "Delegate", Value: godbus.MakeVariant(true)},
		{Name: "CollectMode", Value: godbus.MakeVariant("inactive-or-failed")},
		// Not ordered against shutdown.target and friends: a container's
		// scope is stopped when its processes are, as Podman's are.
		{Name: "DefaultDependencies", Value: godbus.MakeVariant(false)},
	}
	// systemd 253 and later stop a scope after an OOM kill inside it
	// unless told otherwise; older ones do not know the property.
	withOOM := append(props, sd.Property{Name: "OOMPolicy", Value: godbus.MakeVariant("continue")})
	if err := startScope(ctx, conn, unit, withOOM); err != nil {
		if !unknownProperty(err) {
			return nil, err
		}
		if err := startScope(ctx, conn, unit, props); err != nil {
			return nil, err
		}
	}
	v, err := conn.GetUnitTypePropertyContext(ctx, unit, "Scope", "ControlGroup")
	if err != nil {
		return nil, &ManagerError{Op: "read the cgroup of " + unit, Err: err}
	}
	cg, _ := v.Value.Value().(string)
	if cg == "" || !strings.HasPrefix(cg, "/") || strings.Contains(cg, "..") {
		return nil, &ManagerError{Op: "read the cgroup of " + unit, Err: fmt.Errorf("unexpected ControlGroup %q", cg)}
	}
	p := &Placement{Manager: "systemd", Unit: unit, Path: filepath.Join(cg, ContainerLeaf)}
	if err := Setup(filepath.Join(MountPoint, cg), req.Init, req.Need, req.Resources); err != nil {
		return p, err
	}
	return p, nil
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
		var de godbus.Error
		if errors.As(err, &de) && de.Name == "org.freedesktop.systemd1.UnitExists" && try < 30 {
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
	conn, err := sd.NewConnection(dialUserBus(runtimeDir))
	if err != nil {
		return &ManagerError{Op: "connect to your systemd user manager", Err: err}
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
	conn, err := sd.NewConnection(dialUserBus(runtimeDir))
	if err != nil {
		return false, &ManagerError{Op: "connect to your systemd user manager", Err: err}
	}
	defer conn.Close()
	p, err := conn.GetUnitTypePropertyContext(ctx, unit, "Service", "Delegate")
	if err != nil {
		return false, &ManagerError{Op: "read Delegate of " + unit, Err: err}
	}
	v, _ := p.Value.Value().(bool)
	return v, nil
}

// ManagerError is a failed call to the user's systemd manager.
type ManagerError struct {
	Op  string
	Err error
}

func (e *ManagerError) Error() string { return e.Op + ": " + e.Err.Error() }
func (e *ManagerError) Unwrap() error { return e.Err }

// dialUserBus connects to the user bus in runtimeDir as this user.
func dialUserBus(runtimeDir string) func() (*godbus.Conn, error) {
	return func() (*godbus.Conn, error) {
		if runtimeDir == "" {
			return nil, errors.New("XDG_RUNTIME_DIR is not set")
		}
		conn, err := godbus.Dial("unix:path=" + filepath.Join(runtimeDir, "bus"))
		if err != nil {
			return nil, err
		}
		if err := conn.Auth([]godbus.Auth{godbus.AuthExternal(strconv.Itoa(os.Getuid()))}); err != nil {
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

// ScopeTimeout bounds the calls to the user manager.
const ScopeTimeout = 60 * time.Second

var sliceRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9:_.\\-]{1,200}\.slice$`) })

// ValidSlice reports whether s can name a slice of the user's manager
// (--cgroup-parent): a unit name ending in .slice, no path.
func ValidSlice(s string) bool {
	return sliceRE().MatchString(s) && !strings.HasPrefix(s, "-") && !strings.Contains(s, "..")
}
