package container

import (
	"errors"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/myctr/myctr/frontend/rootfs"
)

func TestParseIPC(t *testing.T) {
	donor := func(m string) func(string) (string, error) {
		return func(string) (string, error) { return m, nil }
	}
	for in, want := range map[string]string{"": IPCShareable, "shareable": IPCShareable, "private": IPCPrivate, "none": IPCNone, "host": IPCHost} {
		if got, err := ParseIPC(in, donor("")); err != nil || got != want {
			t.Errorf("ParseIPC(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseIPC("container:db", donor(IPCPrivate)); err == nil || !strings.Contains(err.Error(), "non-shareable IPC (hint: use IpcMode:shareable for the donor container)") {
		t.Errorf("a private donor: %v", err)
	}
	if _, err := ParseIPC("container:db", donor(IPCShareable)); !errors.Is(err, ErrIPCJoin) {
		t.Errorf("a shareable donor: %v, want ErrIPCJoin", err)
	}
	lost := errors.New("no such container")
	if _, err := ParseIPC("container:db", func(string) (string, error) { return "", lost }); !errors.Is(err, lost) {
		t.Errorf("a missing donor: %v", err)
	}
	for _, bad := range []string{"bogus", "container:", "ns:/proc/1/ns/ipc"} {
		if _, err := ParseIPC(bad, donor("")); err == nil {
			t.Errorf("ParseIPC(%q) accepted", bad)
		}
	}
}

func TestApplyIPC(t *testing.T) {
	spec := func() *specs.Spec {
		return &specs.Spec{Mounts: rootfs.DefaultMounts(), Linux: &specs.Linux{Namespaces: []specs.LinuxNamespace{{Type: specs.UserNamespace}, {Type: specs.IPCNamespace}}}}
	}
	has := func(s *specs.Spec, ns specs.LinuxNamespaceType) bool {
		for _, n := range s.Linux.Namespaces {
			if n.Type == ns {
				return true
			}
		}
		return false
	}
	mount := func(s *specs.Spec, dest string) *specs.Mount {
		for i, m := range s.Mounts {
			if m.Destination == dest {
				return &s.Mounts[i]
			}
		}
		return nil
	}
	h := spec()
	applyIPC(h, IPCHost, func(string) bool { return true })
	if has(h, specs.IPCNamespace) || !has(h, specs.UserNamespace) {
		t.Errorf("host: namespaces %v, want the IPC one left out", h.Linux.Namespaces)
	}
	for _, d := range []string{"/dev/shm", "/dev/mqueue"} {
		if m := mount(h, d); m == nil || m.Type != "bind" || m.Source != d {
			t.Errorf("host: %s mount %+v, want a bind of the host's", d, m)
		}
	}
	lacks := spec()
	applyIPC(lacks, IPCHost, func(p string) bool { return p != "/dev/mqueue" })
	if m := mount(lacks, "/dev/shm"); m == nil || m.Type != "bind" || mount(lacks, "/dev/mqueue") != nil {
		t.Errorf("host without /dev/mqueue: mounts %v, want the host's /dev/shm and no /dev/mqueue", lacks.Mounts)
	}
	n := spec()
	applyIPC(n, IPCNone, hostDir)
	if !has(n, specs.IPCNamespace) || mount(n, "/dev/shm") != nil || mount(n, "/dev/mqueue") == nil {
		t.Errorf("none: namespaces %v, mounts %v; want its own namespace and no /dev/shm", n.Linux.Namespaces, n.Mounts)
	}
	p := spec()
	applyIPC(p, IPCPrivate, hostDir)
	if !has(p, specs.IPCNamespace) || mount(p, "/dev/shm").Type != "tmpfs" {
		t.Errorf("private: %v %v", p.Linux.Namespaces, p.Mounts)
	}
}
