// Package helperclient is the frontend's client of myctr-helper
// (org.myctr.Helper1 on the system bus): one typed method per D-Bus method
// of protocol/org.myctr.Helper1.xml, the helper's error names turned back
// into the protocol package's sentinels, the bus's own failures (no bus,
// helper not installed, polkit not running) turned into this package's, and
// a polkit text agent (pkttyagent) for a user at a terminal.
//
// Calls that may need authorization carry the D-Bus flag
// ALLOW_INTERACTIVE_AUTHORIZATION when the client is Interactive, so that
// polkit may ask the user for a password; they then wait up to
// InteractiveTimeout for the answer.
package helperclient

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/myctr/myctr/protocol"
)

// Timeouts of a call: a call that may show a polkit prompt waits for the
// person typing the password; any other call only for the helper (and its
// activation by the bus).
var (
	InteractiveTimeout = 5 * time.Minute
	CallTimeout        = 30 * time.Second
)

// polkitName is polkit's name on the system bus.
const polkitName = "org.freedesktop.PolicyKit1"

// Options say how to reach the helper and whether a person may be asked.
type Options struct {
	// Address is the bus's address; "" is the system bus (the
	// DBUS_SYSTEM_BUS_ADDRESS environment variable, else
	// /run/dbus/system_bus_socket).
	Address string
	// Interactive marks the calls that may need authorization with
	// ALLOW_INTERACTIVE_AUTHORIZATION and starts a polkit text agent before
	// the first of them when Stdin is a terminal and pkttyagent is
	// installed. Without it, polkit answers at once, from rules and cached
	// authorizations only.
	Interactive bool
	// Stdin is the terminal the agent prompts on; nil is os.Stdin.
	Stdin *os.File
}

// Client is a connection to the helper. Its methods may be called from
// several goroutines.
type Client struct {
	conn *dbus.Conn
	opts Options

	agentOnce sync.Once
	agent     *Agent
}

// Connect opens a private connection to the bus. It does not contact the
// helper: the bus starts it on the first call.
func Connect(o Options) (*Client, error) {
	var conn *dbus.Conn
	var err error
	if o.Address == "" {
		conn, err = dbus.ConnectSystemBus()
	} else {
		conn, err = dbus.Connect(o.Address)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoBus, err)
	}
	if o.Stdin == nil {
		o.Stdin = os.Stdin
	}
	return &Client{conn: conn, opts: o}, nil
}

// Close stops the agent, if one was started, and closes the connection.
func (c *Client) Close() error {
	c.agentOnce.Do(func() {}) // no agent from now on
	if c.agent != nil {
		c.agent.Stop()
	}
	return c.conn.Close()
}

// Version returns the helper's API version and features (GetVersion).
func (c *Client) Version(ctx context.Context) (protocol.VersionReply, error) {
	var r protocol.VersionReply
	err := c.call(ctx, false, protocol.MethodGetVersion, []any{&r.Version, &r.Features})
	return r, err
}

// Require checks that the helper serves every feature (protocol.Feature*).
func (c *Client) Require(ctx context.Context, features ...string) error {
	v, err := c.Version(ctx)
	if err != nil {
		return err
	}
	for _, f := range features {
		if !slices.Contains(v.Features, f) {
			return fmt.Errorf("%w: it serves API version %d with %s, not %s", ErrMissingFeature, v.Version, strings.Join(v.Features, ", "), f)
		}
	}
	return nil
}

// AttachNetwork connects the container whose namespaces are userns and
// netns (open files of /proc/PID/ns/user and /proc/PID/ns/net) to a bridge,
// and returns the interface it moved into netns with the address, gateway
// and MTU the container must give it.
func (c *Client) AttachNetwork(ctx context.Context, userns, netns *os.File, container string, o protocol.AttachOptions) (protocol.AttachNetworkReply, error) {
	var r protocol.AttachNetworkReply
	req := protocol.AttachNetworkRequest{Container: container, Options: o}
	if err := req.Validate(); err != nil {
		return r, err
	}
	// The descriptors stay open (and so valid) until the call returns:
	// godbus sends them with the message.
	args := []any{dbus.UnixFD(userns.Fd()), dbus.UnixFD(netns.Fd()), container, o.Encode()}
	err := c.call(ctx, true, protocol.MethodAttachNetwork, []any{&r.Interface, &r.Address, &r.Gateway, &r.MTU}, args...)
	return r, err
}

// DelegateCgroup asks for the container's cgroup, a scope of the system
// manager holding the process of pidfd (which must be the caller's) and
// handed to the caller, with the controllers need; for a container whose
// scope lives, it moves the process into the scope's container leaf.
// path is below the cgroup v2 root.
func (c *Client) DelegateCgroup(ctx context.Context, pidfd int, container string, need []string) (path, unit string, err error) {
	if err := protocol.ValidateContainer(container); err != nil {
		return "", "", err
	}
	args := []any{dbus.UnixFD(pidfd), container, protocol.DelegateOptions{Controllers: need}.Encode()}
	err = c.call(ctx, true, protocol.MethodDelegateCgroup, []any{&path, &unit}, args...)
	return path, unit, err
}

// ReleaseCgroup ends the container's cgroup that DelegateCgroup made,
// killing what is left in it; releasing what does not exist succeeds.
func (c *Client) ReleaseCgroup(ctx context.Context, container string) error {
	if err := protocol.ValidateContainer(container); err != nil {
		return err
	}
	return c.call(ctx, true, protocol.MethodReleaseCgroup, nil, container, map[string]dbus.Variant{})
}

// ReleaseNetwork removes the container's interface, address and published
// ports; releasing what does not exist succeeds.
func (c *Client) ReleaseNetwork(ctx context.Context, container string) error {
	if err := protocol.ValidateContainer(container); err != nil {
		return err
	}
	return c.call(ctx, true, protocol.MethodReleaseNetwork, nil, container, map[string]dbus.Variant{})
}

// PublishPort forwards r.HostPort of the host (r.HostIP, or every address
// when empty) to r.ContainerPort of the container.
func (c *Client) PublishPort(ctx context.Context, r protocol.PortRequest) error {
	if err := r.Validate(); err != nil {
		return err
	}
	return c.call(ctx, true, protocol.MethodPublishPort, nil,
		r.Container, r.Protocol, r.HostIP, r.HostPort, r.ContainerPort, map[string]dbus.Variant{})
}

// UnpublishPort ends a forward made by PublishPort (r.ContainerPort is not
// sent).
func (c *Client) UnpublishPort(ctx context.Context, r protocol.PortRequest) error {
	if err := r.ValidateUnpublish(); err != nil {
		return err
	}
	return c.call(ctx, true, protocol.MethodUnpublishPort, nil,
		r.Container, r.Protocol, r.HostIP, r.HostPort, map[string]dbus.Variant{})
}

// call calls method with args and stores the reply in out. authorizing
// marks a method the helper asks polkit about.
func (c *Client) call(ctx context.Context, authorizing bool, method string, out []any, args ...any) error {
	var flags dbus.Flags
	timeout := CallTimeout
	if authorizing && c.opts.Interactive {
		flags |= dbus.FlagAllowInteractiveAuthorization
		timeout = InteractiveTimeout
		c.agentOnce.Do(func() { c.agent, _ = StartAgent(c.opts.Stdin) })
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// godbus's BusObject.Call drops every flag but NO_AUTO_START and
	// NO_REPLY_EXPECTED, so the call is built here.
	i := strings.LastIndex(method, ".")
	msg := &dbus.Message{Type: dbus.TypeMethodCall, Flags: flags, Headers: map[dbus.HeaderField]dbus.Variant{
		dbus.FieldPath:        dbus.MakeVariant(dbus.ObjectPath(protocol.ObjectPath)),
		dbus.FieldDestination: dbus.MakeVariant(protocol.BusName),
		dbus.FieldInterface:   dbus.MakeVariant(method[:i]),
		dbus.FieldMember:      dbus.MakeVariant(method[i+1:]),
	}, Body: args}
	if len(args) > 0 {
		msg.Headers[dbus.FieldSignature] = dbus.MakeVariant(dbus.SignatureOf(args...))
	}
	for attempt := 1; ; attempt++ {
		// A message of its own each time: godbus gives it a serial,
		// which the previous send's goroutine may still read.
		m := *msg
		call := <-c.conn.SendWithContext(ctx, &m, make(chan *dbus.Call, 1)).Done
		err := call.Err
		if err == nil && len(out) > 0 {
			err = call.Store(out...)
		}
		if err == nil {
			return nil
		}
		err = c.translate(method, timeout, err)
		// A helper that had given up its name did nothing: the next
		// call activates a new one. A few tries cover the moment
		// the old one still holds the name.
		if !errors.Is(err, protocol.ErrRestarting) || attempt == restartTries {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(attempt) * 100 * time.Millisecond):
		}
	}
}

// restartTries is how many times a call answered Restarting is made.
const restartTries = 3

// Names of the bus's own errors that concern the helper's activation.
const (
	errServiceUnknown = "org.freedesktop.DBus.Error.ServiceUnknown"
	errNameHasNoOwner = "org.freedesktop.DBus.Error.NameHasNoOwner"
	errSpawnPrefix    = "org.freedesktop.DBus.Error.Spawn."
	errSpawnNotFound  = "org.freedesktop.DBus.Error.Spawn.ServiceNotFound"
	errNoReply        = "org.freedesktop.DBus.Error.NoReply"
	errTimeout        = "org.freedesktop.DBus.Error.Timeout"
	errDisconnected   = "org.freedesktop.DBus.Error.Disconnected"
)

// translate turns a failed call into this package's or the protocol's
// errors.
func (c *Client) translate(method string, timeout time.Duration, err error) error {
	short := strings.TrimPrefix(method, protocol.Interface+".")
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: %s: none within %v", ErrNoReply, short, timeout)
	}
	err = protocol.FromDBus(err)
	if errors.Is(err, protocol.ErrNotAuthorized) && !c.polkitPresent() {
		return fmt.Errorf("%w: %w", ErrPolkitNotRunning, err)
	}
	var de dbus.Error
	var dep *dbus.Error
	if errors.As(err, &dep) {
		de = *dep
	} else if !errors.As(err, &de) {
		return err
	}
	msg := de.Error()
	switch {
	case de.Name == errServiceUnknown || de.Name == errNameHasNoOwner || de.Name == errSpawnNotFound:
		return fmt.Errorf("%w: %s is not activatable on the bus (%s)", ErrNotInstalled, protocol.BusName, msg)
	case strings.HasPrefix(de.Name, errSpawnPrefix):
		return fmt.Errorf("%w: %s (%s)", ErrNotStarted, msg, de.Name)
	case de.Name == errNoReply || de.Name == errTimeout:
		return fmt.Errorf("%w: %s: %s", ErrNoReply, short, msg)
	case de.Name == errDisconnected:
		return fmt.Errorf("%w: %s", ErrNoBus, msg)
	}
	return fmt.Errorf("%s: %s (%s)", short, msg, de.Name)
}

// polkitPresent reports whether polkit owns its name or can be activated.
// When the bus does not answer, it says yes: a refusal is then reported as
// the helper's own.
func (c *Client) polkitPresent() bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	bus := c.conn.BusObject()
	var owned bool
	if err := bus.CallWithContext(ctx, "org.freedesktop.DBus.NameHasOwner", 0, polkitName).Store(&owned); err != nil || owned {
		return true
	}
	var names []string
	if err := bus.CallWithContext(ctx, "org.freedesktop.DBus.ListActivatableNames", 0).Store(&names); err != nil {
		return true
	}
	return slices.Contains(names, polkitName)
}
