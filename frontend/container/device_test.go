package container

import (
	"errors"
	"testing"
)

func TestParseDevice(t *testing.T) {
	for in, want := range map[string]DeviceMapping{
		"/dev/full":                     {"/dev/full", "/dev/full", "rwm"},
		"/dev/full:/dev/myfull":         {"/dev/full", "/dev/myfull", "rwm"},
		"/dev/full:rw":                  {"/dev/full", "/dev/full", "rw"},
		"/dev/full:/dev/x/../myfull:rw": {"/dev/full", "/dev/myfull", "rw"},
	} {
		got, err := ParseDevice(in)
		if err != nil || got != want {
			t.Errorf("ParseDevice(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"/dev/full:/dev/f:r", "/dev/full:w", "/dev/full:/dev/f:rx", "dev/full", "/dev/full:rel", "/etc/hostname", "/dev/no-such-node", "/dev/full:/a:rw:x"} {
		if _, err := ParseDevice(bad); !errors.Is(err, ErrInvalidDevice) {
			t.Errorf("ParseDevice(%q) = %v, want ErrInvalidDevice", bad, err)
		}
	}
	if m := deviceMount(DeviceMapping{"/dev/full", "/dev/myfull", "rwm"}); m.Source != "/dev/full" || m.Destination != "/dev/myfull" || m.Type != "bind" {
		t.Errorf("deviceMount = %+v", m)
	}
}
