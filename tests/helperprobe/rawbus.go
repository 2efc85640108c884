package helperprobe

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/godbus/dbus/v5"
)

// RawConn is a bus connection that sends messages as a hostile caller
// writes them, which godbus's client cannot: descriptors that the body
// never names, one index named twice, a descriptor count of the caller's
// choosing. Tests only.
type RawConn struct {
	c      *net.UnixConn
	r      *bufio.Reader
	serial uint32
	Name   string // the unique name the bus gave
}

// DialRaw connects to the bus at addr (unix:path=... or unix:abstract=...),
// authenticates as the calling uid with descriptor passing, and says Hello.
func DialRaw(addr string) (*RawConn, error) {
	a := &net.UnixAddr{Net: "unix"}
	for _, kv := range strings.Split(strings.TrimPrefix(strings.Split(addr, ";")[0], "unix:"), ",") {
		if v, ok := strings.CutPrefix(kv, "path="); ok {
			a.Name = v
		} else if v, ok := strings.CutPrefix(kv, "abstract="); ok {
			a.Name = "@" + v
		}
	}
	c, err := net.DialUnix("unix", nil, a)
	if err != nil {
		return nil, err
	}
	rc := &RawConn{c: c, r: bufio.NewReader(c)}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "\x00AUTH EXTERNAL %s\r\n", hex.EncodeToString([]byte(strconv.Itoa(os.Getuid()))))
	for _, want := range []string{"OK", "AGREE_UNIX_FD"} {
		line, err := rc.r.ReadString('\n')
		if err != nil || !strings.HasPrefix(line, want) {
			c.Close()
			return nil, fmt.Errorf("bus authentication: %q, want %s (%v)", line, want, err)
		}
		if want == "OK" {
			io.WriteString(c, "NEGOTIATE_UNIX_FD\r\n")
		}
	}
	io.WriteString(c, "BEGIN\r\n")
	c.SetDeadline(time.Time{})
	reply, err := rc.Call(Method("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "Hello", ""), 10*time.Second)
	if err != nil {
		c.Close()
		return nil, err
	}
	rc.Name, _ = reply.Body[0].(string)
	return rc, nil
}

// Close closes the connection.
func (rc *RawConn) Close() error { return rc.c.Close() }

// Method makes a method call message; sig is the body's signature as the
// header will say (body values are set by the caller: UnixFDIndex values
// are descriptor indices, written as they are).
func Method(dest string, path dbus.ObjectPath, iface, member, sig string, body ...any) *dbus.Message {
	m := &dbus.Message{Type: dbus.TypeMethodCall, Headers: map[dbus.HeaderField]dbus.Variant{
		dbus.FieldDestination: dbus.MakeVariant(dest),
		dbus.FieldPath:        dbus.MakeVariant(path),
		dbus.FieldMember:      dbus.MakeVariant(member),
	}, Body: body}
	if iface != "" {
		m.Headers[dbus.FieldInterface] = dbus.MakeVariant(iface)
	}
	if sig != "" {
		m.Headers[dbus.FieldSignature] = dbus.MakeVariant(dbus.ParseSignatureMust(sig))
	}
	return m
}

// Send writes m with fds attached (the header's descriptor count is
// len(fds), whatever the body names) and returns its serial.
func (rc *RawConn) Send(m *dbus.Message, fds ...int) (uint32, error) {
	if len(fds) > 0 {
		m.Headers[dbus.FieldUnixFDs] = dbus.MakeVariant(uint32(len(fds)))
	} else {
		delete(m.Headers, dbus.FieldUnixFDs)
	}
	var b bytes.Buffer
	if err := m.EncodeTo(&b, binary.LittleEndian); err != nil {
		return 0, err
	}
	raw := b.Bytes()
	rc.serial++
	binary.LittleEndian.PutUint32(raw[8:12], rc.serial) // godbus keeps the serial unexported
	var oob []byte
	if len(fds) > 0 {
		oob = syscall.UnixRights(fds...)
	}
	n, _, err := rc.c.WriteMsgUnix(raw, oob, nil)
	if err == nil && n < len(raw) {
		_, err = rc.c.Write(raw[n:])
	}
	return rc.serial, err
}

// Reply reads messages until the reply (or error) to serial; other
// messages (signals) are skipped.
func (rc *RawConn) Reply(serial uint32, timeout time.Duration) (*dbus.Message, error) {
	rc.c.SetReadDeadline(time.Now().Add(timeout))
	defer rc.c.SetReadDeadline(time.Time{})
	for {
		m, err := ReadMessage(rc.r)
		if err != nil {
			return nil, fmt.Errorf("waiting for the reply to %d: %w", serial, err)
		}
		if rs, _ := m.Headers[dbus.FieldReplySerial].Value().(uint32); rs == serial &&
			(m.Type == dbus.TypeMethodReply || m.Type == dbus.TypeError) {
			return m, nil
		}
	}
}

// Call sends m without descriptors and waits for its reply; an error
// reply is returned as a dbus.Error.
func (rc *RawConn) Call(m *dbus.Message, timeout time.Duration) (*dbus.Message, error) {
	s, err := rc.Send(m)
	if err != nil {
		return nil, err
	}
	r, err := rc.Reply(s, timeout)
	if err == nil && r.Type == dbus.TypeError {
		return r, ErrorOf(r)
	}
	return r, err
}

// ErrorOf is the dbus.Error of an error message.
func ErrorOf(m *dbus.Message) dbus.Error {
	name, _ := m.Headers[dbus.FieldErrorName].Value().(string)
	return dbus.Error{Name: name, Body: m.Body}
}

// ReadMessage reads one whole message from r.
func ReadMessage(r io.Reader) (*dbus.Message, error) {
	hdr := make([]byte, 16)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return nil, err
	}
	var order binary.ByteOrder = binary.LittleEndian
	if hdr[0] == 'B' {
		order = binary.BigEndian
	}
	fields := uint64(order.Uint32(hdr[12:16]))
	n := 16 + (fields+7)&^7 + uint64(order.Uint32(hdr[4:8]))
	if n > 1<<27 {
		return nil, errors.New("message too long")
	}
	b := make([]byte, n)
	copy(b, hdr)
	if _, err := io.ReadFull(r, b[16:]); err != nil {
		return nil, err
	}
	return dbus.DecodeMessage(bytes.NewReader(b))
}
