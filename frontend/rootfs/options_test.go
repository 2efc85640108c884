package rootfs

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseOptions(t *testing.T) {
	tests := []struct {
		in    []string
		flags uintptr
		prop  uintptr
		bind  bool
		data  string
	}{
		{[]string{"nosuid", "noexec", "nodev"}, unix.MS_NOSUID | unix.MS_NOEXEC | unix.MS_NODEV, 0, false, ""},
		{[]string{"rbind", "ro", "rprivate"}, unix.MS_REC | unix.MS_RDONLY, unix.MS_PRIVATE | unix.MS_REC, true, ""},
		{[]string{"ro", "rw"}, 0, 0, false, ""},
		{[]string{"nosuid", "mode=755", "size=65536k"}, unix.MS_NOSUID, 0, false, "mode=755,size=65536k"},
		{[]string{"bind"}, 0, 0, true, ""},
	}
	for _, tt := range tests {
		o := ParseOptions(tt.in)
		if o.Flags != tt.flags || o.Propagation != tt.prop || o.Bind != tt.bind || o.Data != tt.data {
			t.Errorf("ParseOptions(%q) = %+v, want flags %#x prop %#x bind %v data %q",
				tt.in, o, tt.flags, tt.prop, tt.bind, tt.data)
		}
	}
}

func TestFlagNames(t *testing.T) {
	if got := flagNames(unix.MS_BIND | unix.MS_REC | 0x40000000); got != "MS_BIND|MS_REC|0x40000000" {
		t.Errorf("flagNames = %q", got)
	}
}

func TestDropOption(t *testing.T) {
	if got := dropOption("newinstance,gid=5,mode=620", "gid="); got != "newinstance,mode=620" {
		t.Errorf("dropOption = %q", got)
	}
}
