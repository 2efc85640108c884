package helper

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"strings"
	"sync"

	"github.com/godbus/dbus/v5"
	"golang.org/x/sys/unix"

	"github.com/myctr/myctr/protocol"
)

// The bus gate: the one place where descriptors enter the helper.
//
// godbus closes none of the descriptors that come with a message: not
// those of a call to a method that does not exist or has another
// signature, of Peer.Ping, of a signal, nor those the body never names or
// names twice (the bus checks none of this). Any local user could fill
// the helper's descriptor table that way. So godbus never reads the bus
// socket: the gate owns it, reads each message whole with the descriptors
// that came with it, and passes godbus, over a socketpair, only messages
// without descriptors, and AttachNetwork calls whose two descriptors its
// two h arguments name once each (the method then owns and closes both).
// Any other message with descriptors is dropped once they are closed; a
// call among them reaches godbus rewritten, without descriptors, as a
// call of gateInterface.Refused, which answers InvalidArgs. So every
// descriptor is closed exactly once, and the helper holds at most two per
// call in flight.
//
// Why reading message by message is sound: the bus sends each message in
// one sendmsg with its descriptors, which the kernel attaches to the
// message's first byte and delivers with the read that returns that byte;
// the gate never reads past the end of the message it is reading, so the
// descriptors a read returns are that message's. The helper sends no
// descriptors: godbus's writes go to the bus as they are.

// maxFDsPerRead is SCM_MAX_FD, the most one read can return.
const maxFDsPerRead = 253

// gateInterface is where the gate sends the calls it refuses (the bus
// policy lets no caller name it).
const gateInterface = protocol.Interface + ".Gate"

type gate struct {
	bus   *net.UnixConn // the bus socket
	outer *net.UnixConn // the gate's end of godbus's socketpair
	log   *log.Logger
	once  sync.Once
}

// dialGated connects godbus to the bus at addr through a gate; it returns
// once godbus has authenticated and said Hello.
func dialGated(addr string, lg *log.Logger, opts ...dbus.ConnOption) (*dbus.Conn, error) {
	ua, err := unixAddress(addr)
	if err != nil {
		return nil, err
	}
	bus, err := net.DialUnix("unix", nil, ua)
	if err != nil {
		return nil, err
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		bus.Close()
		return nil, fmt.Errorf("socketpair: %w", err)
	}
	inner, err1 := unixConn(fds[0])
	outer, err2 := unixConn(fds[1])
	if err := errors.Join(err1, err2); err != nil {
		bus.Close()
		return nil, err
	}
	g := &gate{bus: bus, outer: outer, log: lg}
	go func() { io.Copy(bus, outer); g.close() }()
	go g.down()
	conn, err := dbus.ConnectUnix(inner, opts...)
	if err != nil {
		inner.Close()
		g.close()
		return nil, err
	}
	return conn, nil
}

// unixAddress picks the first unix:path= or unix:abstract= address of a
// D-Bus address list.
func unixAddress(addr string) (*net.UnixAddr, error) {
	for _, a := range strings.Split(addr, ";") {
		keys, ok := strings.CutPrefix(a, "unix:")
		if !ok {
			continue
		}
		for _, kv := range strings.Split(keys, ",") {
			k, v, _ := strings.Cut(kv, "=")
			v, err := dbus.UnescapeBusAddressValue(v)
			if err != nil {
				return nil, fmt.Errorf("bus address %q: %w", addr, err)
			}
			switch k {
			case "path":
				return &net.UnixAddr{Name: v, Net: "unix"}, nil
			case "abstract":
				return &net.UnixAddr{Name: "@" + v, Net: "unix"}, nil
			}
		}
	}
	return nil, fmt.Errorf("bus address %q: no unix socket", addr)
}

func unixConn(fd int) (*net.UnixConn, error) {
	f := os.NewFile(uintptr(fd), "socketpair")
	defer f.Close()
	c, err := net.FileConn(f)
	if err != nil {
		return nil, err
	}
	return c.(*net.UnixConn), nil
}

// close ends both sides: godbus sees its connection end.
func (g *gate) close() {
	g.once.Do(func() { g.bus.Close(); g.outer.Close() })
}

// messageLen is the length of the message that starts with the 16 bytes
// hdr: the fixed part, the header fields padded to 8, the body.
func messageLen(hdr []byte) (int, error) {
	var order binary.ByteOrder
	switch hdr[0] {
	case 'l':
		order = binary.LittleEndian
	case 'B':
		order = binary.BigEndian
	default:
		return 0, errors.New("bus: bad byte order")
	}
	n := 16 + (uint64(order.Uint32(hdr[12:16]))+7)&^7 + uint64(order.Uint32(hdr[4:8]))
	if n > 1<<27 { // the protocol's limit
		return 0, errors.New("bus: message too long")
	}
	return int(n), nil
}

// down reads the bus: the authentication lines until the bus agrees to
// pass descriptors, then message after message, each through pass.
func (g *gate) down() {
	defer g.close()
	one := make([]byte, 1)
	var line []byte
	for {
		if _, err := io.ReadFull(g.bus, one); err != nil {
			return
		}
		line = append(line, one[0])
		if one[0] != '\n' {
			continue
		}
		if _, err := g.outer.Write(line); err != nil {
			return
		}
		s := string(line)
		line = line[:0]
		if strings.HasPrefix(s, "AGREE_UNIX_FD") {
			break
		}
		if strings.HasPrefix(s, "ERROR") {
			g.log.Printf("bus: the bus does not pass descriptors (%q): AttachNetwork cannot work", strings.TrimSpace(s))
			return
		}
	}
	oob := make([]byte, unix.CmsgSpace(maxFDsPerRead*4))
	for {
		raw, fds, trunc, err := g.readBus(oob)
		if err != nil {
			closeFDs(fds)
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				g.log.Printf("bus: %v", err)
			}
			return
		}
		if err := g.pass(raw, fds, trunc); err != nil {
			return
		}
	}
}

// readBus reads one whole message from the bus with every descriptor
// that came with it; trunc is set when the kernel could not hand over
// all of them (MSG_CTRUNC).
func (g *gate) readBus(oob []byte) (raw []byte, fds []int, trunc bool, err error) {
	read := func(b []byte) error {
		for len(b) > 0 {
			n, oobn, flags, _, err := g.bus.ReadMsgUnix(b, oob)
			if oobn > 0 {
				scms, perr := unix.ParseSocketControlMessage(oob[:oobn])
				for _, scm := range scms {
					if got, e := unix.ParseUnixRights(&scm); e == nil {
						fds = append(fds, got...)
					}
				}
				if perr != nil {
					trunc = true
				}
			}
			trunc = trunc || flags&unix.MSG_CTRUNC != 0
			if err != nil {
				return err
			}
			if n == 0 {
				return io.EOF
			}
			b = b[n:]
		}
		return nil
	}
	hdr := make([]byte, 16)
	if err := read(hdr); err != nil {
		return nil, fds, trunc, err
	}
	n, err := messageLen(hdr)
	if err != nil {
		return nil, fds, trunc, err
	}
	raw = make([]byte, n)
	copy(raw, hdr)
	err = read(raw[16:])
	return raw, fds, trunc, err
}

// pass hands one message to godbus, or refuses it. It closes fds, always:
// godbus receives its own copies of the descriptors it is given.
func (g *gate) pass(raw []byte, fds []int, trunc bool) (err error) {
	defer closeFDs(fds)
	defer func() {
		if p := recover(); p != nil {
			g.log.Printf("bus: panic on a message (dropped): %v", p)
		}
	}()
	m, derr := dbus.DecodeMessage(bytes.NewReader(raw))
	if derr != nil {
		// godbus could not read it either.
		g.log.Printf("bus: dropped a message that does not decode: %v", derr)
		return nil
	}
	n, _ := m.Headers[dbus.FieldUnixFDs].Value().(uint32)
	why := ""
	switch {
	case trunc || int(n) != len(fds):
		why = fmt.Sprintf("the message said %d descriptors and %d arrived", n, len(fds))
	case n == 0:
		_, err = g.outer.Write(raw)
		return err
	case int(n) != takesFDs(m):
		why = fmt.Sprintf("only %s (two, one for each h argument) and %s (one) take descriptors", protocol.MethodAttachNetwork, protocol.MethodDelegateCgroup)
	default:
		// Why this is safe: the method's h arguments name the
		// descriptors, one each, so the method owns every one and closes
		// each once (see AttachNetwork, DelegateCgroup).
		var k int
		k, _, err = g.outer.WriteMsgUnix(raw, unix.UnixRights(fds...), nil)
		if err == nil && k < len(raw) {
			_, err = g.outer.Write(raw[k:])
		}
		return err
	}
	sender, _ := m.Headers[dbus.FieldSender].Value().(string)
	member, _ := m.Headers[dbus.FieldMember].Value().(string)
	g.log.Printf("bus: refused %s %s from %s with %d descriptors: %s", m.Type, member, sender, len(fds), why)
	if m.Type != dbus.TypeMethodCall {
		return nil
	}
	// The same call (sender, serial, flags), rewritten to ask godbus for
	// the refusal.
	delete(m.Headers, dbus.FieldUnixFDs)
	m.Headers[dbus.FieldPath] = dbus.MakeVariant(dbus.ObjectPath(protocol.ObjectPath))
	m.Headers[dbus.FieldInterface] = dbus.MakeVariant(gateInterface)
	m.Headers[dbus.FieldMember] = dbus.MakeVariant("Refused")
	m.Headers[dbus.FieldSignature] = dbus.MakeVariant(dbus.SignatureOf(why))
	m.Body = []any{why}
	return m.EncodeTo(g.outer, binary.LittleEndian)
}

// refused is gateInterface.Refused, the answer to a call the gate refused.
func refused(why string) *dbus.Error {
	return protocol.Errorf(protocol.ErrInvalidArgs, "descriptors refused: %s", why).DBusError()
}

// takesFDs returns how many descriptors m takes: 2 for
// AttachNetwork(h userns, h netns, s, a{sv}) whose two h arguments name
// descriptors 0 and 1, one each; 1 for DelegateCgroup(h pidfd, s, a{sv})
// whose h names descriptor 0; -1 for anything else (the caller checks
// that exactly that many came).
func takesFDs(m *dbus.Message) int {
	path, _ := m.Headers[dbus.FieldPath].Value().(dbus.ObjectPath)
	iface, _ := m.Headers[dbus.FieldInterface].Value().(string)
	member, _ := m.Headers[dbus.FieldMember].Value().(string)
	sig, _ := m.Headers[dbus.FieldSignature].Value().(dbus.Signature)
	if m.Type != dbus.TypeMethodCall || path != protocol.ObjectPath {
		return -1
	}
	switch iface + "." + member {
	case protocol.MethodAttachNetwork:
		if sig.String() != "hhsa{sv}" || len(m.Body) != 4 {
			return -1
		}
		a, ok1 := m.Body[0].(dbus.UnixFDIndex)
		b, ok2 := m.Body[1].(dbus.UnixFDIndex)
		if ok1 && ok2 && (a == 0 && b == 1 || a == 1 && b == 0) {
			return 2
		}
	case protocol.MethodDelegateCgroup:
		if sig.String() != "hsa{sv}" || len(m.Body) != 3 {
			return -1
		}
		if a, ok := m.Body[0].(dbus.UnixFDIndex); ok && a == 0 {
			return 1
		}
	}
	return -1
}

func closeFDs(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}
