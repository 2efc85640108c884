package container

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// PodInfo ties a container to its pod (package pod); embedded in the record
// and in CreateOptions, its fields are the record's own (Podman's inspect
// shows Pod at the top level).
type PodInfo struct {
	// Pod is the id of the pod the container belongs to, or "".
	Pod string `json:",omitempty"`
	// PodInfra: the container is its pod's infra container, which holds
	// the namespaces the others join; it goes only with its pod.
	PodInfra bool `json:",omitempty"`
	// PodShare are the namespaces besides the user and network ones (which
	// --network container: joins) that a member joins of the infra's
	// init: "ipc", "uts"; the infra's are those its members join. With
	// "ipc", the infra's /dev/shm is a directory of its runtime directory
	// (podShm), which the members bind too: an IPC namespace's POSIX
	// shared memory is files in /dev/shm, and one mount namespace cannot
	// bind another's tmpfs.
	PodShare []string `json:",omitempty"`
	// PodJoin is the infra container whose user namespace (and the IPC
	// and UTS namespaces in PodShare) a member joins when its pod does not
	// share the network: then the member has a network of its own, in
	// that user namespace. A member that shares the network joins the
	// infra through --network container: instead, and has none.
	PodJoin string `json:",omitempty"`
	// PodExitPolicy is the pod's --exit-policy: "stop" has the last of
	// its containers to exit stop the infra (stopPodAfter).
	PodExitPolicy string `json:",omitempty"`
}

// Pods is the directory of the pod store (package pod), under Root.
func (d Dirs) Pods() string { return filepath.Join(d.Root, "pods") }

// InfraError is rm's refusal of a pod's infra container, in Podman's words
// (which scripts match).
type InfraError struct{ ID, Pod string }

func (e *InfraError) Error() string {
	return "container " + e.ID + " is the infra container of pod " + e.Pod + " and cannot be removed without removing the pod"
}

// Hint says how to remove it.
func (e *InfraError) Hint() string { return "remove the pod: myctr pod rm -f " + e.Pod[:12] }

// refuseInfra refuses to remove a pod's infra container on its own while
// its pod's record exists; one whose pod is gone (a crash in pod rm) goes.
func (s *Store) refuseInfra(c *Container) error {
	if !c.PodInfra || c.Pod == "" {
		return nil
	}
	if _, err := os.Stat(filepath.Join(s.Dirs.Pods(), c.Pod, "pod.json")); err != nil {
		return nil
	}
	return &InfraError{ID: c.ID, Pod: c.Pod}
}

// RemoveInfra removes a pod's infra container, for the pod's removal (its
// members must be gone: they depend on it).
func (s *Store) RemoveInfra(c *Container, force bool) error {
	return s.remove(c, force, false, os.Getpid())
}

// joinIPCAndUTS points the spec's IPC and UTS namespaces at those of dep's
// init that c joins: those c's pod shares (dep is its infra), or dep's
// IPC namespace for --ipc container:DEP; a joined IPC namespace brings
// dep's /dev/shm where dep has one to share (a pod's infra). c's user
// namespace (and network one) are joined by the caller.
func joinIPCAndUTS(c *Container, spec *specs.Spec, dep *Container) {
	ipc := slices.Contains(c.PodShare, "ipc") || (c.IPCContainer() != "" && c.IPCContainer() == dep.ID)
	for i, ns := range spec.Linux.Namespaces {
		switch {
		case ns.Type == specs.IPCNamespace && ipc:
			spec.Linux.Namespaces[i].Path = fmt.Sprintf("/proc/%d/ns/ipc", dep.State.Pid)
		case ns.Type == specs.UTSNamespace && slices.Contains(c.PodShare, "uts"):
			spec.Linux.Namespaces[i].Path = fmt.Sprintf("/proc/%d/ns/uts", dep.State.Pid)
		}
	}
	if ipc && sharesShm(dep) {
		bindShm(spec, dep.RunFile(podShm))
	}
}

// RandomName is a random name, adjective_noun, none of taken (as a
// container gets without --name); pods get theirs the same way.
func RandomName(taken map[string]bool) string { return randomName(taken) }

// stopPodAfter is a pod member's last step once its exit is recorded: in a
// pod whose exit policy is stop, the last of its containers (besides the
// infra) to exit stops the infra, and so the pod. Two that end together
// both see the other gone, and the second Stop finds the infra stopped.
func (s *Store) stopPodAfter(c *Container) {
	if c.Pod == "" || c.PodInfra || c.PodExitPolicy != "stop" {
		return
	}
	all, err := s.List()
	if err != nil {
		return
	}
	var infra []*Container
	for _, o := range all {
		switch {
		case o.Pod != c.Pod || o.ID == c.ID:
		case o.PodInfra:
			infra = append(infra, o)
		case o.Running():
			return
		}
	}
	for _, o := range infra {
		if err := s.Stop(o, StopTimeoutOf(o)); err != nil {
			fmt.Fprintf(os.Stderr, "Warning: stop the infra container of pod %s (--exit-policy stop): %v\n", c.Pod, err)
		}
	}
}

// podShm is the directory of c's runtime directory that is /dev/shm in
// its pod, for a pod's infra whose members share its IPC namespace. Not
// in userdata, which each init replaces with a tmpfs copy of its files
// (rootfs.privatize); the container's mountinfo shows its path within
// the run root's file system, as it shows a volume's.
const podShm = "shm"

// sharesShm says whether c is a pod's infra with its /dev/shm for its
// members (an --ipc of none or host has no /dev/shm of its own).
func sharesShm(c *Container) bool {
	return c.PodInfra && slices.Contains(c.PodShare, "ipc") &&
		c.HostConfig.IpcMode != IPCNone && c.HostConfig.IpcMode != IPCHost
}

// bindShm makes the spec's /dev/shm a bind of dir, a pod infra's podShm.
func bindShm(spec *specs.Spec, dir string) {
	for i, m := range spec.Mounts {
		if m.Destination == "/dev/shm" {
			spec.Mounts[i] = specs.Mount{Destination: "/dev/shm", Type: "bind", Source: dir,
				Options: []string{"rbind", "rprivate", "nosuid", "noexec", "nodev"}}
		}
	}
}
