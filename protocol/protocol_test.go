package protocol

import (
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/godbus/dbus/v5"
)

func TestValidateNames(t *testing.T) {
	for _, tc := range []struct {
		s        string
		ctr, ifn bool
	}{
		{"a", true, true},
		{"myctr0", true, true},
		{"web-1.a_b", true, true},
		{strings.Repeat("a", 15), true, true},
		{strings.Repeat("a", 16), true, false},
		{strings.Repeat("f", 64), true, false},
		{strings.Repeat("f", 65), false, false},
		{"", false, false},
		{"-a", false, false},
		{".a", false, false},
		{"a/b", false, false},
		{"a b", false, false},
		{"a\x00", false, false},
		{"é", false, false},
	} {
		if got := ValidateContainer(tc.s) == nil; got != tc.ctr {
			t.Errorf("ValidateContainer(%q) ok = %v, want %v", tc.s, got, tc.ctr)
		}
		if got := ValidateInterfaceName(tc.s) == nil; got != tc.ifn {
			t.Errorf("ValidateInterfaceName(%q) ok = %v, want %v", tc.s, got, tc.ifn)
		}
		if err := ValidateContainer(tc.s); err != nil && !errors.Is(err, ErrInvalidArgs) {
			t.Errorf("ValidateContainer(%q) = %v, not InvalidArgs", tc.s, err)
		}
		// A network name follows the container rule.
		req := AttachNetworkRequest{Container: "c", Options: AttachOptions{Network: tc.s}}
		if err := req.Validate(); tc.s != "" && (err == nil) != tc.ctr {
			t.Errorf("network %q: Validate() = %v, want ok %v", tc.s, err, tc.ctr)
		}
	}
}

func TestPortRequestValidate(t *testing.T) {
	ok := PortRequest{Container: "c1", Protocol: "tcp", HostPort: 8080, ContainerPort: 80}
	for _, tc := range []struct {
		name   string
		mutate func(*PortRequest)
		want   string // "" = valid
	}{
		{"valid", func(*PortRequest) {}, ""},
		{"udp with address", func(r *PortRequest) { r.Protocol, r.HostIP = "udp", "127.0.0.1" }, ""},
		{"sctp", func(r *PortRequest) { r.Protocol = "sctp" }, "protocol"},
		{"host port 0", func(r *PortRequest) { r.HostPort = 0 }, "host port 0"},
		{"container port 0", func(r *PortRequest) { r.ContainerPort = 0 }, "container port 0"},
		{"ipv6", func(r *PortRequest) { r.HostIP = "::1" }, "host address"},
		{"any address spelled out", func(r *PortRequest) { r.HostIP = "0.0.0.0" }, "host address"},
		{"not canonical", func(r *PortRequest) { r.HostIP = "127.000.0.1" }, "host address"},
		{"bad container", func(r *PortRequest) { r.Container = "../x" }, "container name"},
	} {
		r := ok
		tc.mutate(&r)
		err := r.Validate()
		if tc.want == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrInvalidArgs) {
			t.Errorf("%s: err = %v, want InvalidArgs containing %q", tc.name, err, tc.want)
		}
	}
}

func TestDecodeOptions(t *testing.T) {
	o, err := DecodeAttachOptions(map[string]dbus.Variant{"bridge": dbus.MakeVariant("br1"), "network": dbus.MakeVariant("web")})
	if err != nil || o.Bridge != "br1" || o.Network != "web" {
		t.Fatalf("bridge: %+v, %v", o, err)
	}
	if back, _ := DecodeAttachOptions(o.Encode()); back != o {
		t.Errorf("Encode/Decode round trip: %+v", back)
	}
	_, err = DecodeAttachOptions(map[string]dbus.Variant{"bridge": dbus.MakeVariant(uint32(1))})
	if !errors.Is(err, ErrInvalidArgs) || !strings.Contains(err.Error(), `option "bridge": want type s, got u`) {
		t.Errorf("wrong type: %v", err)
	}
	_, err = DecodeAttachOptions(map[string]dbus.Variant{"zzz": dbus.MakeVariant(""), "aaa": dbus.MakeVariant("")})
	if !errors.Is(err, ErrInvalidArgs) || !strings.Contains(err.Error(), `unknown option "aaa"`) {
		t.Errorf("unknown keys: %v", err)
	}
	if err := DecodeNoOptions(map[string]dbus.Variant{"force": dbus.MakeVariant(true)}); !errors.Is(err, ErrInvalidArgs) {
		t.Errorf("DecodeNoOptions: %v", err)
	}
	if err := DecodeNoOptions(nil); err != nil {
		t.Errorf("DecodeNoOptions(nil): %v", err)
	}
	u := uint32(1001)
	r, err := DecodeReleaseAllOptions(ReleaseAllOptions{UID: &u}.Encode())
	if err != nil || r.UID == nil || *r.UID != 1001 {
		t.Errorf("uid round trip: %+v, %v", r, err)
	}
}

func TestErrorsRoundTrip(t *testing.T) {
	for _, s := range sentinels {
		sent := Errorf(s, "some %s", "detail")
		// As godbus hands it to a caller: a dbus.Error value.
		back := FromDBus(fmt.Errorf("call: %w", *sent.DBusError()))
		if !errors.Is(back, s) {
			t.Errorf("%s: FromDBus gave %v", s.Name, back)
		}
		for _, other := range sentinels {
			if other != s && errors.Is(back, other) {
				t.Errorf("%s matches %s", s.Name, other.Name)
			}
		}
		if back.Error() != "some detail" {
			t.Errorf("%s: message %q", s.Name, back.Error())
		}
	}
	na := FromDBus(NotAuthorized(ActionNetwork, "denied").DBusError())
	var e *Error
	if !errors.As(na, &e) || e.Action != ActionNetwork || !errors.Is(na, ErrNotAuthorized) {
		t.Errorf("NotAuthorized action lost: %#v", na)
	}
	// The bus's own errors pass through unchanged.
	busErr := dbus.Error{Name: "org.freedesktop.DBus.Error.ServiceUnknown", Body: []any{"x"}}
	if got := FromDBus(busErr); !errors.As(got, new(dbus.Error)) {
		t.Errorf("bus error changed: %#v", got)
	}
	if got := ToDBus(errors.New("boom")); got.Name != ErrFailed.Name {
		t.Errorf("plain error maps to %s", got.Name)
	}
	if ToDBus(nil) != nil {
		t.Error("ToDBus(nil) != nil")
	}
}

// TestIntrospectionXMLParses checks the XML is well-formed and names every
// method constant; the helper's tests check it against the server.
func TestIntrospectionXMLParses(t *testing.T) {
	var node struct {
		Interfaces []struct {
			Name    string `xml:"name,attr"`
			Methods []struct {
				Name string `xml:"name,attr"`
			} `xml:"method"`
		} `xml:"interface"`
	}
	if err := xml.Unmarshal([]byte(IntrospectionXML), &node); err != nil {
		t.Fatal(err)
	}
	if len(node.Interfaces) != 1 || node.Interfaces[0].Name != Interface {
		t.Fatalf("interfaces: %+v", node.Interfaces)
	}
	have := map[string]bool{}
	for _, m := range node.Interfaces[0].Methods {
		have[Interface+"."+m.Name] = true
	}
	for _, m := range []string{MethodGetVersion, MethodAttachNetwork, MethodReleaseNetwork,
		MethodPublishPort, MethodUnpublishPort, MethodReleaseAll, MethodDelegateCgroup, MethodReleaseCgroup} {
		if !have[m] {
			t.Errorf("XML lacks %s", m)
		}
	}
	if len(have) != 8 {
		t.Errorf("XML has %d methods, want 8", len(have))
	}
}

func TestDecodeDelegateOptions(t *testing.T) {
	o, err := DecodeDelegateOptions(DelegateOptions{Controllers: []string{"memory", "io"}}.Encode())
	if err != nil || len(o.Controllers) != 2 || o.Controllers[1] != "io" {
		t.Fatalf("round trip: %+v, %v", o, err)
	}
	for _, bad := range []map[string]dbus.Variant{
		{"controllers": dbus.MakeVariant([]string{"memory", "memory"})},
		{"controllers": dbus.MakeVariant([]string{"rdma"})},
		{"controllers": dbus.MakeVariant([]string{"../x"})},
		{"controllers": dbus.MakeVariant("memory")},
		{"slice": dbus.MakeVariant("x.slice")},
	} {
		if _, err := DecodeDelegateOptions(bad); !errors.Is(err, ErrInvalidArgs) {
			t.Errorf("%v: %v, want InvalidArgs", bad, err)
		}
	}
}
