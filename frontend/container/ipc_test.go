package container

import (
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/myctr/myctr/frontend/rootfs"
)

func TestParseIPC(t *testing.T) {
	for in, want := range map[string]string{"": IPCShareable, "shareable": IPCShareable, "private": IPCPrivate, "none": IPCNone, "host": IPCHost,
		"container:db": "container:db"} {
		if got, err := ParseIPC(in); err != nil || got != want {
			t.Errorf("ParseIPC(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"bogus", "container:", "ns:/proc/1/ns/ipc"} {
		if _, err := ParseIPC(bad); err == nil {
			t.Errorf("ParseIPC(%q) accepted", bad)
		}
	}
	c := &Container{HostConfig: HostConfig{IpcMode: "container:abc"}}
	if c.IPCContainer() != "abc" || c.JoinsUserOf() != "abc" {
		t.Errorf("IPCContainer %q, JoinsUserOf %q; want abc", c.IPCContainer(), c.JoinsUserOf())
	}
	c.HostConfig.NetworkMode = "container:net"
	if c.JoinsUserOf() != "net" {
		t.Errorf("JoinsUserOf %q, want the network's container", c.JoinsUserOf())
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
