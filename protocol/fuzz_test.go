package protocol

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/godbus/dbus/v5"
)

// FuzzDecodeAndValidate feeds the decoders and validators what a caller on
// the bus could send. They must never panic, must only fail with
// InvalidArgs, and what they accept must be safe to use: names within
// their limits and of the allowed bytes, ports non-zero, addresses IPv4.
func FuzzDecodeAndValidate(f *testing.F) {
	f.Add("c1", "tcp", "", uint16(8080), uint16(80), "bridge", "myctr0", uint32(0))
	f.Add("../../etc", "udp", "127.0.0.1", uint16(1), uint16(1), "uid", "", uint32(1000))
	f.Add("x", "tcp", "::1", uint16(0), uint16(0), "", "a\x00b", uint32(7))
	f.Fuzz(func(t *testing.T, ctr, proto, hostIP string, hp, cp uint16, key, sval string, uval uint32) {
		r := PortRequest{Container: ctr, Protocol: proto, HostIP: hostIP, HostPort: hp, ContainerPort: cp}
		if err := r.Validate(); err != nil {
			if !errors.Is(err, ErrInvalidArgs) {
				t.Fatalf("Validate: %v is not InvalidArgs", err)
			}
		} else {
			checkName(t, r.Container, 64)
			if hp == 0 || cp == 0 || (proto != "tcp" && proto != "udp") {
				t.Fatalf("accepted %+v", r)
			}
			if a, _ := ParseHostIP(hostIP); hostIP != "" && (!a.Is4() || a == (netip.Addr{})) {
				t.Fatalf("accepted host address %q", hostIP)
			}
		}
		for _, v := range []dbus.Variant{dbus.MakeVariant(sval), dbus.MakeVariant(uval)} {
			m := map[string]dbus.Variant{key: v}
			o, err := DecodeAttachOptions(m)
			if err != nil && !errors.Is(err, ErrInvalidArgs) {
				t.Fatalf("DecodeAttachOptions: %v", err)
			}
			if err == nil {
				req := AttachNetworkRequest{Container: ctr, Options: o}
				if req.Validate() == nil && o.Bridge != "" {
					checkName(t, o.Bridge, 15)
				}
			}
			if _, err := DecodeReleaseAllOptions(m); err != nil && !errors.Is(err, ErrInvalidArgs) {
				t.Fatalf("DecodeReleaseAllOptions: %v", err)
			}
			if err := DecodeNoOptions(m); err == nil || !errors.Is(err, ErrInvalidArgs) {
				t.Fatalf("DecodeNoOptions accepted %q: %v", key, err)
			}
		}
	})
}

func checkName(t *testing.T, s string, max int) {
	t.Helper()
	if len(s) == 0 || len(s) > max {
		t.Fatalf("accepted name of length %d", len(s))
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			t.Fatalf("accepted name %q", s)
		}
	}
}
