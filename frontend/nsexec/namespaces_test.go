package nsexec

import (
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func nsSpec(nss ...specs.LinuxNamespace) *specs.Spec {
	return &specs.Spec{Linux: &specs.Linux{Namespaces: nss}}
}

func TestInitNamespaces(t *testing.T) {
	base := []specs.LinuxNamespace{{Type: specs.UserNamespace}, {Type: specs.MountNamespace}, {Type: specs.PIDNamespace},
		{Type: specs.IPCNamespace}, {Type: specs.UTSNamespace}, {Type: specs.CgroupNamespace}}
	with := func(extra ...specs.LinuxNamespace) []specs.LinuxNamespace {
		return append(slices.Clone(base), extra...)
	}
	for _, tc := range []struct {
		name          string
		nss           []specs.LinuxNamespace
		unshare, join string
		err           string
	}{
		{name: "host network", nss: base, unshare: "mnt,pid,ipc,uts"},
		{name: "own network", nss: with(specs.LinuxNamespace{Type: specs.NetworkNamespace}), unshare: "mnt,pid,ipc,uts,net"},
		{name: "joined network", nss: []specs.LinuxNamespace{{Type: specs.UserNamespace, Path: "/proc/42/ns/user"}, {Type: specs.MountNamespace},
			{Type: specs.PIDNamespace}, {Type: specs.NetworkNamespace, Path: "/proc/42/ns/net"}}, unshare: "mnt,pid", join: "user,net"},
		{name: "no pid namespace", nss: []specs.LinuxNamespace{{Type: specs.UserNamespace}, {Type: specs.MountNamespace}}, err: "no pid namespace"},
		{name: "no user namespace", nss: []specs.LinuxNamespace{{Type: specs.MountNamespace}, {Type: specs.PIDNamespace}}, err: "no user namespace"},
		{name: "unknown type", nss: with(specs.LinuxNamespace{Type: "time"}), err: `"time" is not supported`},
		{name: "twice", nss: with(specs.LinuxNamespace{Type: specs.IPCNamespace}), err: "listed twice"},
		{name: "network without its user namespace", nss: with(specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: "/proc/42/ns/net"}), err: "but not its user namespace"},
		{name: "two processes", nss: []specs.LinuxNamespace{{Type: specs.UserNamespace, Path: "/proc/42/ns/user"}, {Type: specs.MountNamespace},
			{Type: specs.PIDNamespace}, {Type: specs.NetworkNamespace, Path: "/proc/43/ns/net"}}, err: "all of one process"},
		{name: "not a proc path", nss: []specs.LinuxNamespace{{Type: specs.UserNamespace, Path: "/run/netns/x"}, {Type: specs.MountNamespace}, {Type: specs.PIDNamespace}}, err: "all of one process"},
		{name: "joined mount namespace", nss: []specs.LinuxNamespace{{Type: specs.UserNamespace, Path: "/proc/42/ns/user"}, {Type: specs.MountNamespace, Path: "/proc/42/ns/mnt"},
			{Type: specs.PIDNamespace}}, err: "needs its own"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			unshare, join, err := InitNamespaces(nsSpec(tc.nss...))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want one with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(unshare, ","); got != tc.unshare {
				t.Errorf("unshare %q, want %q", got, tc.unshare)
			}
			if got := strings.Join(join, ","); got != tc.join {
				t.Errorf("join %q, want %q", got, tc.join)
			}
		})
	}
}

func TestJoinNames(t *testing.T) {
	spec := nsSpec(specs.LinuxNamespace{Type: specs.UserNamespace}, specs.LinuxNamespace{Type: specs.MountNamespace},
		specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: "/proc/42/ns/net"}, specs.LinuxNamespace{Type: specs.CgroupNamespace})
	if got := strings.Join(JoinNames(spec), ","); got != "user,mnt,net,cgroup" {
		t.Errorf("JoinNames = %q", got)
	}
	if !HasNamespace(spec, specs.NetworkNamespace) || HasNamespace(spec, specs.UTSNamespace) {
		t.Error("HasNamespace is wrong")
	}
}
