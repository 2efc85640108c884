package container

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/frontend/netholder"
	"github.com/myctr/myctr/frontend/userns"
)

// The errors of network connect and disconnect, in Podman's words.
var (
	ErrNetworkConnected    = errors.New("network is already connected")
	ErrNetworkNotConnected = errors.New("network is not connected")
)

// Connect puts c on the named network name (network connect), with a's
// aliases and address: in its record, for every later start, and at once
// when it runs, through the holder (which the running container's user
// namespace is already the holder's, since it is on named networks). The
// new interface is the first free "ethN"; the DNS server answers the
// network's names to c from then on (its view), so its resolv.conf stays.
func (s *Store) Connect(c *Container, m *userns.Mapping, name string, a NetworkAttach) error {
	hn, err := s.holderNetwork(name)
	var hinted *hintError
	if err != nil && !errors.As(err, &hinted) {
		return &hintError{err, "myctr network create " + name + " makes it; myctr network ls lists those there are"}
	} else if err != nil {
		return err
	}
	if err := checkIP(hn, a.IP); err != nil {
		return err
	}
	unlock, err := s.lockCurrent(c)
	if err != nil {
		return err
	}
	defer unlock()
	if _, on := c.Networks[name]; on {
		return fmt.Errorf("container %s is already connected to network %q: %w", c.Name, name, ErrNetworkConnected)
	}
	running := c.Running()
	if err := connectable(c, running); err != nil {
		return err
	}
	if a.Interface, err = c.freeInterface(); err != nil {
		return err
	}
	var state *BridgeState
	if running {
		if state, err = s.attachRunning(c, m, hn, a); err != nil {
			return err
		}
	}
	return s.Update(c, func(c *Container) {
		if c.Networks == nil {
			c.Networks = map[string]NetworkAttach{}
		}
		c.Networks[name] = a
		c.HostConfig.NetworkMode = c.NamedNetworks()[0]
		if state != nil && c.State.Status == StatusRunning {
			if c.State.Networks == nil {
				c.State.Networks = map[string]*BridgeState{}
			}
			c.State.Networks[name] = state
		}
	})
}

// connectable refuses a container whose network is not made of named
// networks: a running one must already be in the holder's user
// namespace, and a pod's member has its pod's network.
func connectable(c *Container, running bool) error {
	mode := c.HostConfig.NetworkMode
	switch {
	case c.HelperNetwork() != "":
		return &hintError{fmt.Errorf("%w: container %s is on network %s, on myctr-helper's bridge, and on no other", ErrInvalidNetwork, c.Name, c.HelperNetwork()),
			"recreate it with --network NAME for networks of driver bridge"}
	case len(c.Networks) > 0:
		return nil
	case mode == "none" && !running:
		return nil // its next start joins the holder's user namespace
	case strings.HasPrefix(mode, NetContainerPrefix):
		return &hintError{fmt.Errorf("%w: container %s shares the network of %s", ErrInvalidNetwork, c.Name, strings.TrimPrefix(mode, NetContainerPrefix)),
			"connect the container whose network it shares (a pod's infra container) instead"}
	case mode == "none":
		return &hintError{fmt.Errorf("%w: container %s runs with --network none, in a user namespace of its own", ErrInvalidNetwork, c.Name),
			"stop it first: the network is then connected at its next start"}
	default:
		return &hintError{fmt.Errorf("%w: container %s has network mode %s; only containers on named networks (or with none) can be connected", ErrInvalidNetwork, c.Name, mode),
			"recreate it with --network NAME"}
	}
}

// attachRunning attaches the running c to hn through the holder.
func (s *Store) attachRunning(c *Container, m *userns.Mapping, hn netholder.Network, a NetworkAttach) (*BridgeState, error) {
	pidfd, err := openPidfd(c.State.Pid, c.State.PidStart)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrNotRunning, c.Name)
	}
	defer unix.Close(pidfd)
	h, err := netholder.Open(s.Dirs.RunRoot, m)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	on := *c
	on.Networks = map[string]NetworkAttach{hn.Name: a}
	r, err := s.attachNamed(h, &on, hn, pidfd)
	if errors.Is(err, netholder.ErrForeign) {
		return nil, &hintError{fmt.Errorf("container %s: its network holder is gone, and its networks with it: %w", c.Name, err),
			"restart the container (myctr restart " + c.Name + "): it then starts on the current holder, on all its networks"}
	}
	if err != nil {
		return nil, err
	}
	return bridgeState(hn, r), nil
}

// Disconnect takes c off the named network name (network disconnect): off
// its record, and at once when it runs (its interface there goes). A
// container left on no named network has --network none from then on.
// The network its published ports go to stays while it runs.
func (s *Store) Disconnect(c *Container, name string) error {
	unlock, err := s.lockCurrent(c)
	if err != nil {
		return err
	}
	defer unlock()
	if _, on := c.Networks[name]; !on {
		return fmt.Errorf("container %s is not connected to network %q: %w", c.Name, name, ErrNetworkNotConnected)
	}
	if c.Running() {
		if c.Networks[name].Helper {
			return &hintError{fmt.Errorf("%w: container %s: myctr-helper's bridge lets a container go at its end only", ErrInvalidNetwork, c.Name),
				"stop the container first"}
		}
		if len(c.HostConfig.PortBindings) > 0 && c.NamedNetworks()[0] == name {
			return &hintError{fmt.Errorf("%w: container %s publishes ports to its address on network %s", ErrInvalidNetwork, c.Name, name),
				"stop the container first"}
		}
		h, err := netholder.Find(s.Dirs.RunRoot)
		if err != nil {
			return err
		}
		if h != nil {
			err = h.Detach(name, c.ID)
			h.Close()
			if err != nil {
				return fmt.Errorf("detach from network %s: %w", name, err)
			}
		}
	}
	return s.Update(c, func(c *Container) {
		delete(c.Networks, name)
		delete(c.State.Networks, name)
		if len(c.Networks) == 0 {
			c.Networks = nil
			c.HostConfig.NetworkMode = "none"
		} else {
			c.HostConfig.NetworkMode = c.NamedNetworks()[0]
		}
	})
}

// lockCurrent takes c's launch lock and re-reads its record under it, so
// that what the caller decides from it holds until unlock.
func (s *Store) lockCurrent(c *Container) (unlock func(), err error) {
	if unlock, err = c.lockLaunch(); err != nil {
		return nil, err
	}
	cur, err := s.load(c.ID)
	if err != nil {
		unlock()
		return nil, err
	}
	*c = *cur
	c.Refresh()
	return unlock, nil
}
