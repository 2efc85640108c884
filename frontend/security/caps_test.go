package security

import (
	"errors"
	"reflect"
	"testing"
)

func TestMergeCaps(t *testing.T) {
	tests := []struct {
		name      string
		add, drop []string
		want      []string
		err       error
	}{
		{"default", nil, nil, DefaultCaps, nil},
		{"drop all", nil, []string{"all"}, []string{}, nil},
		{"drop all add one", []string{"net_admin"}, []string{"ALL"}, []string{"CAP_NET_ADMIN"}, nil},
		{"drop one", nil, []string{"CAP_KILL", "chown"}, []string{"CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID",
			"CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_SETFCAP"}, nil},
		{"unknown", []string{"CAP_BOGUS"}, nil, nil, ErrUnknownCap},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := MergeCaps(DefaultCaps, tt.add, tt.drop)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if tt.err != nil {
				return
			}
			want, _ := MergeCaps(tt.want, nil, nil)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %v, want %v", got, want)
			}
		})
	}
}

func TestDefaultMaskMatchesPodman(t *testing.T) {
	var mask uint64
	for _, c := range capsOf(DefaultCaps) {
		mask |= 1 << c
	}
	if len(capsOf(DefaultCaps)) != len(DefaultCaps) || mask != 0x800405fb {
		t.Errorf("default set mask = %#x, want 0x800405fb", mask)
	}
}

// TestCapNames: the names come from moby/sys/capability in the OCI
// spelling, numbered as the kernel numbers them.
func TestCapNames(t *testing.T) {
	for name, want := range map[string]uint{"CAP_CHOWN": 0, "CAP_NET_ADMIN": 12, "CAP_SYS_ADMIN": 21, "CAP_SETFCAP": 31, "CAP_CHECKPOINT_RESTORE": 40} {
		if got, ok := CapValue(name); !ok || got != want {
			t.Errorf("CapValue(%s) = %d, %v; want %d", name, got, ok, want)
		}
	}
	if all := AllCaps(); len(all) < 41 || all[0] != "CAP_CHOWN" {
		t.Errorf("AllCaps() = %v", all)
	}
}
