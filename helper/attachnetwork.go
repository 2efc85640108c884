package helper

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/godbus/dbus/v5"
	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/helper/hostnet"
	"github.com/myctr/myctr/protocol"
)

// AttachNetwork is org.myctr.Helper1.AttachNetwork:
// (h userns, h netns, s container, a{sv} options) →
// (s interface, s address, s gateway, u mtu).
func (a api) AttachNetwork(sender dbus.Sender, userns, netns dbus.UnixFD, container string, options map[string]dbus.Variant) (string, string, string, uint32, *dbus.Error) {
	defer a.s.begin()()
	// The descriptors are ours now (the bus gate passed them in, two
	// distinct ones); each is closed once when the call ends, whatever
	// happens.
	defer unix.Close(int(userns))
	if netns != userns {
		defer unix.Close(int(netns))
	}
	uid, err := a.s.callerUID(sender)
	var r protocol.AttachNetworkReply
	if err == nil {
		r, err = a.s.attachNetwork(sender, uid, int(userns), int(netns), container, options)
	}
	if derr := a.s.decide(uid, "AttachNetwork", container, err, r.Interface+" "+r.Address); derr != nil {
		return "", "", "", 0, derr
	}
	return r.Interface, r.Address, r.Gateway, r.MTU, nil
}

func (s *Server) attachNetwork(sender dbus.Sender, uid uint32, userFD, netFD int, container string, options map[string]dbus.Variant) (protocol.AttachNetworkReply, error) {
	var reply protocol.AttachNetworkReply
	// Decode and validate: the name is only ever used hashed; the bridge
	// must be the configured one.
	opts, err := protocol.DecodeAttachOptions(options)
	if err != nil {
		return reply, err
	}
	req := protocol.AttachNetworkRequest{Container: container, Options: opts}
	if err := req.Validate(); err != nil {
		return reply, err
	}
	bridge := opts.Bridge
	if bridge == "" {
		bridge = protocol.DefaultBridge
	}
	if bridge != s.cfg.Bridge {
		return reply, protocol.Errorf(protocol.ErrUnsupported, "bridge %q is not configured (this helper serves %q)", bridge, s.cfg.Bridge)
	}
	// Why this is safe: the network namespace must be one that the
	// caller's own user namespace owns, so the caller could have made a
	// veth end in it anyway; the host end gets a hashed name.
	if uid >= firstNetworkGroup {
		return reply, protocol.Errorf(protocol.ErrUnsupported, "uid %d: the bridge serves uids below %d (the numbers above are its networks' groups)", uid, uint32(firstNetworkGroup))
	}
	netID, err := checkNamespaces(uid, userFD, netFD, s.hosts)
	if err != nil {
		return reply, err
	}
	details := map[string]string{protocol.DetailContainer: container, protocol.DetailBridge: bridge}
	if opts.Network != "" {
		details[protocol.DetailNetwork] = opts.Network
	}
	if err := s.authorize(sender, protocol.ActionNetwork, details); err != nil {
		return reply, err
	}
	err = s.serial(func() error {
		var err error
		reply, err = s.attachLocked(uid, container, opts.Network, netID, netFD)
		return err
	})
	return reply, err
}

// attachLocked records, then makes, the container's veth pair, its port
// in the group of (uid, network).
//
// Preconditions: runs in the loop goroutine; the caller is authorized and
// owns netFD's namespace.
func (s *Server) attachLocked(uid uint32, container, network string, netID nsID, netFD int) (protocol.AttachNetworkReply, error) {
	rec := s.ledger.Get(uid, container)
	if rec != nil {
		alive, err := s.net.LinkExists(rec.HostIf)
		if err != nil {
			return protocol.AttachNetworkReply{}, err
		}
		switch {
		case rec.Network != network && alive:
			return protocol.AttachNetworkReply{}, protocol.Errorf(protocol.ErrConflict,
				"container %s is attached on another network; release it first", container)
		case rec.Network != network:
			// What is left of it was on another network: release it,
			// then attach afresh.
			if err := s.releaseRecord(rec); err != nil {
				return protocol.AttachNetworkReply{}, err
			}
			rec = nil
		case rec.NetNS == netID && alive && rec.State == stateReady:
			// The same call again: the same answer.
			return s.attachReply(rec), nil
		case rec.NetNS == netID:
			// Recorded, not finished (a crash, or the veth went away
			// while the namespace lives): make it again below, with the
			// same address.
		case alive:
			return protocol.AttachNetworkReply{}, protocol.Errorf(protocol.ErrConflict,
				"container %s is attached with another network namespace; release it first", container)
		default:
			// Its old namespace is gone: release what is left, then
			// attach afresh.
			if err := s.releaseRecord(rec); err != nil {
				return protocol.AttachNetworkReply{}, err
			}
			rec = nil
		}
	}
	fresh := rec == nil
	if fresh {
		if n := len(s.ledger.ByUID(uid)); n >= s.cfg.MaxContainersPerUser {
			return protocol.AttachNetworkReply{}, protocol.Errorf(protocol.ErrLimitExceeded,
				"%d containers attached: the limit per user is %d", n, s.cfg.MaxContainersPerUser)
		}
		hostIf, peerIf := ifNames(uid, container)
		for _, o := range s.ledger.All() {
			if o.HostIf == hostIf {
				return protocol.AttachNetworkReply{}, protocol.Errorf(protocol.ErrConflict, "interface name %s is taken", hostIf)
			}
		}
		addr, ok := s.ledger.Allocate(s.cfg.Subnet)
		if !ok {
			return protocol.AttachNetworkReply{}, protocol.Errorf(protocol.ErrLimitExceeded, "no address left in %s", s.cfg.Subnet)
		}
		rec = &Record{UID: uid, Container: container, Bridge: s.cfg.Bridge,
			HostIf: hostIf, PeerIf: peerIf, Address: addr, NetNS: netID}
	}
	rec.State = stateCreating
	rec.NetNS = netID
	rec.Network = network
	if fresh && network != "" {
		rec.Group = s.ledger.Group(uid, network)
	}
	if err := s.ledger.Put(rec); err != nil {
		return protocol.AttachNetworkReply{}, err
	}
	err := s.makeVeth(rec, netFD, !fresh)
	if err == nil {
		// Why this is safe: the port is pinned to its group (of this
		// uid alone), this address and its MAC before the caller learns
		// its interface; until then, and whatever the container does
		// later, nothing else gets through it (see
		// helper/hostnet/guard_linux.go).
		err = s.net.GuardPort(rec.HostIf, rec.group(), rec.Address)
	}
	if err != nil {
		// Undo: the veth (if any) and the record, so the address is
		// free again.
		if derr := s.releaseRecord(rec); derr != nil {
			err = errors.Join(err, fmt.Errorf("undo: %w", derr))
		}
		return protocol.AttachNetworkReply{}, err
	}
	rec.State = stateReady
	if err := s.ledger.Put(rec); err != nil {
		return protocol.AttachNetworkReply{}, err
	}
	if len(rec.Ports) > 0 {
		if err := s.applyPorts(rec); err != nil {
			return protocol.AttachNetworkReply{}, err
		}
	}
	return s.attachReply(rec), nil
}

// makeVeth makes the bridge (idempotent) and rec's veth pair with the
// peer in netFD's namespace, its MAC derived from rec's address. A host end left by an earlier attempt is
// kept when resuming (its record names this namespace), and otherwise
// removed first: its name is this container's, so it is nobody else's.
func (s *Server) makeVeth(rec *Record, netFD int, resuming bool) error {
	gw := s.cfg.Gateway()
	if err := s.net.EnsureBridge(hostnet.BridgeConfig{Name: s.cfg.Bridge, Gateway: gw, MTU: s.cfg.MTU}); err != nil {
		return fmt.Errorf("bridge %s: %w", s.cfg.Bridge, err)
	}
	mac := hostnet.PeerMAC(rec.Address)
	err := s.net.AddVeth(s.cfg.Bridge, rec.HostIf, rec.PeerIf, s.cfg.MTU, netFD, mac)
	if !errors.Is(err, hostnet.ErrExists) {
		return err
	}
	if resuming {
		if alive, lerr := s.net.LinkExists(rec.HostIf); lerr == nil && alive {
			return nil
		}
	}
	if err := s.net.DeleteLink(rec.HostIf); err != nil {
		return err
	}
	return s.net.AddVeth(s.cfg.Bridge, rec.HostIf, rec.PeerIf, s.cfg.MTU, netFD, mac)
}

func (s *Server) attachReply(rec *Record) protocol.AttachNetworkReply {
	return protocol.AttachNetworkReply{
		Interface: rec.PeerIf,
		Address:   netip.PrefixFrom(rec.Address, s.cfg.Subnet.Bits()).String(),
		Gateway:   s.cfg.Gateway().Addr().String(),
		MTU:       uint32(s.cfg.MTU),
	}
}
