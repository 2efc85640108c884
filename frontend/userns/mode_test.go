package userns

import (
	"errors"
	"reflect"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestParseMode(t *testing.T) {
	five := uint32(5)
	tests := []struct {
		in   string
		want Mode
		err  error
	}{
		{"", Mode{Kind: ModePrivate}, nil},
		{"private", Mode{Kind: ModePrivate}, nil},
		{"host", Mode{Kind: ModeHost}, nil},
		{"nomap", Mode{Kind: ModeNoMap}, nil},
		{"keep-id", Mode{Kind: ModeKeepID}, nil},
		{"keep-id:uid=5", Mode{Kind: ModeKeepID, UID: &five}, nil},
		{"keep-id:uid=5,gid=5", Mode{Kind: ModeKeepID, UID: &five, GID: &five}, nil},
		{"keep-id:size=5", Mode{}, ErrInvalidMode},
		{"host:x", Mode{}, ErrInvalidMode},
		{"bogus", Mode{}, ErrInvalidMode},
		{"auto", Mode{}, ErrModeUnsupported},
		{"auto:size=100", Mode{}, ErrModeUnsupported},
		{"ns:/proc/1/ns/user", Mode{}, ErrModeUnsupported},
	}
	for _, tt := range tests {
		got, err := ParseMode(tt.in)
		if !errors.Is(err, tt.err) || (err == nil && !reflect.DeepEqual(got, tt.want)) {
			t.Errorf("ParseMode(%q) = %+v, %v; want %+v, %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestForMode(t *testing.T) {
	m := &Mapping{UID: 1000, GID: 1001, SubUID: &Range{100000, 65536}, SubGID: &Range{200000, 65536}}
	seven := uint32(7)
	tests := []struct {
		mode       Mode
		uids, gids []specs.LinuxIDMapping
		size       uint32
	}{
		{Mode{Kind: ModePrivate}, m.UIDMappings(), m.GIDMappings(), 65537},
		{Mode{Kind: ModeHost}, m.UIDMappings(), m.GIDMappings(), 65537},
		{Mode{Kind: ModeKeepID},
			[]specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 1000}, {ContainerID: 1000, HostID: 1000, Size: 1}, {ContainerID: 1001, HostID: 101000, Size: 64536}},
			[]specs.LinuxIDMapping{{ContainerID: 0, HostID: 200000, Size: 1001}, {ContainerID: 1001, HostID: 1001, Size: 1}, {ContainerID: 1002, HostID: 201001, Size: 64535}}, 65537},
		{Mode{Kind: ModeKeepID, UID: &seven, GID: &seven},
			[]specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 7}, {ContainerID: 7, HostID: 1000, Size: 1}, {ContainerID: 8, HostID: 100007, Size: 65529}},
			[]specs.LinuxIDMapping{{ContainerID: 0, HostID: 200000, Size: 7}, {ContainerID: 7, HostID: 1001, Size: 1}, {ContainerID: 8, HostID: 200007, Size: 65529}}, 65537},
	}
	for _, tt := range tests {
		got, err := m.ForMode(tt.mode)
		if err != nil {
			t.Fatalf("%+v: %v", tt.mode, err)
		}
		if !reflect.DeepEqual(got.UIDMappings(), tt.uids) || !reflect.DeepEqual(got.GIDMappings(), tt.gids) {
			t.Errorf("%+v: maps %v %v, want %v %v", tt.mode, got.UIDMappings(), got.GIDMappings(), tt.uids, tt.gids)
		}
		if got.Size() != tt.size {
			t.Errorf("%+v: size %d, want %d", tt.mode, got.Size(), tt.size)
		}
		if (tt.mode.Kind == ModeKeepID) != (got.KeepID != nil) {
			t.Errorf("%+v: KeepID %+v", tt.mode, got.KeepID)
		}
	}
	// The default mapping is untouched.
	if len(m.UIDMappings()) != 2 {
		t.Errorf("ForMode changed its receiver: %v", m.UIDMappings())
	}
}

func TestForModeRefuses(t *testing.T) {
	big := uint32(70000)
	tests := []struct {
		m    *Mapping
		mode Mode
		err  error
	}{
		{&Mapping{UID: 0, GID: 0, SubUID: &Range{1, 65536}, SubGID: &Range{1, 65536}}, Mode{Kind: ModeKeepID}, ErrRootlessMode},
		{&Mapping{UID: 1000, GID: 1000}, Mode{Kind: ModeKeepID}, ErrNoRange},
		{&Mapping{UID: 1000, GID: 1000, SubUID: &Range{100000, 65536}, SubGID: &Range{100000, 65536}}, Mode{Kind: ModeNoMap}, ErrModeUnsupported},
		{&Mapping{UID: 1000, GID: 1000, SubUID: &Range{100000, 65536}, SubGID: &Range{100000, 65536}}, Mode{Kind: ModeKeepID, UID: &big}, ErrInvalidMode},
	}
	for _, tt := range tests {
		if _, err := tt.m.ForMode(tt.mode); !errors.Is(err, tt.err) {
			t.Errorf("%+v on %+v: %v, want %v", tt.mode, tt.m, err, tt.err)
		}
	}
}
