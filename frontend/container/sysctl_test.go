package container

import (
	"errors"
	"maps"
	"testing"
)

func TestMergeSysctls(t *testing.T) {
	for _, tc := range []struct {
		name           string
		defaults, user []string
		mode           string
		want           map[string]string
		err            bool
	}{
		{name: "default", defaults: DefaultSysctls, mode: "slirp4netns",
			want: map[string]string{"net.ipv4.ping_group_range": "0 0"}},
		{name: "host drops net defaults", defaults: DefaultSysctls, mode: "host"},
		{name: "user replaces a default", defaults: DefaultSysctls, user: []string{"net.ipv4.ping_group_range=0 2000", "kernel.shmmax=65536"}, mode: "none",
			want: map[string]string{"net.ipv4.ping_group_range": "0 2000", "kernel.shmmax": "65536"}},
		{name: "later flag wins", user: []string{"fs.mqueue.msg_max=20", "fs.mqueue.msg_max=30"}, mode: "none",
			want: map[string]string{"fs.mqueue.msg_max": "30"}},
		{name: "net with host network", user: []string{"net.ipv4.ip_forward=1"}, mode: "host", err: true},
		{name: "not namespaced", user: []string{"kernel.core_pattern=|/tmp/x"}, mode: "none", err: true},
		{name: "vm is the host's", user: []string{"vm.overcommit_memory=1"}, mode: "none", err: true},
		{name: "no value", user: []string{"net.ipv4.ip_forward"}, mode: "none", err: true},
		{name: "path escape", user: []string{"net.ipv4/../../kernel.core_pattern=x"}, mode: "none", err: true},
		{name: "empty part", user: []string{"net..ipv4=1"}, mode: "none", err: true},
		{name: "two lines", user: []string{"net.ipv4.ping_group_range=0 0\n1"}, mode: "none", err: true},
		{name: "bad default", defaults: []string{"kernel.panic=1"}, mode: "none", err: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := MergeSysctls(tc.defaults, tc.user, tc.mode)
			if tc.err {
				if !errors.Is(err, ErrInvalidSysctl) {
					t.Fatalf("got %v, %v; want ErrInvalidSysctl", got, err)
				}
				return
			}
			if err != nil || !maps.Equal(got, tc.want) {
				t.Fatalf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}
