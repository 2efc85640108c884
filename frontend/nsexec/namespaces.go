package nsexec

import (
	"fmt"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// nsNames are the names the C constructor knows (nsenter.c,
// myctr_ns_flags) for the spec's namespace types.
var nsNames = map[specs.LinuxNamespaceType]string{
	specs.UserNamespace: "user", specs.MountNamespace: "mnt", specs.PIDNamespace: "pid",
	specs.IPCNamespace: "ipc", specs.UTSNamespace: "uts", specs.NetworkNamespace: "net",
	specs.CgroupNamespace: "cgroup",
}

// NamespaceName is the C constructor's name for a spec's namespace type
// ("mnt" for "mount", "net" for "network"...); false for a type it does
// not know.
func NamespaceName(t specs.LinuxNamespaceType) (string, bool) {
	n, ok := nsNames[t]
	return n, ok
}

// InitNamespaces reads what the init stage does with the spec's
// namespaces: unshare lists those it makes besides the user namespace (the
// value of EnvInitNS; the cgroup namespace, made later by Init, is left
// out), join those it joins through EnvInitJoinFD (EnvInitJoinNS, empty
// when it joins none). A namespace with a Path is joined; all joined ones
// must be one process's, with its user namespace (rootless, a namespace
// belongs to its user namespace), which the caller's pidfd names. A
// container always has its own mount and PID namespaces (PID 1 mounts its
// /proc), and its own or a joined user namespace.
func InitNamespaces(spec *specs.Spec) (unshare, join []string, err error) {
	if spec.Linux == nil {
		return nil, nil, fmt.Errorf("the spec has no linux section")
	}
	seen := map[specs.LinuxNamespaceType]bool{}
	joinDir := ""
	for _, ns := range spec.Linux.Namespaces {
		name, ok := nsNames[ns.Type]
		if !ok {
			return nil, nil, fmt.Errorf("namespace type %q is not supported", ns.Type)
		}
		if seen[ns.Type] {
			return nil, nil, fmt.Errorf("namespace type %q is listed twice", ns.Type)
		}
		seen[ns.Type] = true
		if ns.Path == "" {
			if ns.Type != specs.UserNamespace && ns.Type != specs.CgroupNamespace {
				unshare = append(unshare, name)
			}
			continue
		}
		dir, ok := procNSDir(ns.Path, name)
		if !ok || (joinDir != "" && dir != joinDir) {
			return nil, nil, fmt.Errorf("the %s namespace's path %q: myctr joins only another container's namespaces, all of one process (/proc/PID/ns/NAME)", ns.Type, ns.Path)
		}
		if ns.Type == specs.MountNamespace || ns.Type == specs.PIDNamespace || ns.Type == specs.CgroupNamespace {
			return nil, nil, fmt.Errorf("joining a %s namespace is not supported: the container needs its own", ns.Type)
		}
		joinDir = dir
		join = append(join, name)
	}
	for _, t := range []specs.LinuxNamespaceType{specs.UserNamespace, specs.MountNamespace, specs.PIDNamespace} {
		if !seen[t] {
			return nil, nil, fmt.Errorf("the spec has no %s namespace: myctr runs a container only in its own", t)
		}
	}
	if len(join) > 0 && !strings.Contains(","+strings.Join(join, ",")+",", ",user,") {
		return nil, nil, fmt.Errorf("the spec joins the %s namespace of another process but not its user namespace, to which it belongs", strings.Join(join, ", "))
	}
	return unshare, join, nil
}

// procNSDir returns /proc/PID/ns of a path /proc/PID/ns/NAME.
func procNSDir(path, name string) (string, bool) {
	dir, ok := strings.CutSuffix(path, "/ns/"+name)
	if !ok {
		return "", false
	}
	pid, ok := strings.CutPrefix(dir, "/proc/")
	if !ok || pid == "" || strings.Trim(pid, "0123456789") != "" {
		return "", false
	}
	return dir + "/ns", true
}

// JoinNames lists (as EnvJoinNS) the namespaces of a running container's
// init that a process started in it (exec) joins: every namespace the spec
// gives the container, made or joined, and none that it shares with the
// host.
func JoinNames(spec *specs.Spec) []string {
	var names []string
	if spec.Linux == nil {
		return nil
	}
	for _, ns := range spec.Linux.Namespaces {
		if name, ok := nsNames[ns.Type]; ok {
			names = append(names, name)
		}
	}
	return names
}

// HasNamespace reports whether the spec gives the container a namespace of
// type t (made or joined), rather than the host's.
func HasNamespace(spec *specs.Spec, t specs.LinuxNamespaceType) bool {
	if spec.Linux == nil {
		return false
	}
	for _, ns := range spec.Linux.Namespaces {
		if ns.Type == t {
			return true
		}
	}
	return false
}
