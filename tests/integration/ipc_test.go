//go:build integration

package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestIPCModes: --ipc as Podman's: host is the host's IPC namespace with
// the host's /dev/shm (a file made there shows inside), none is one of its
// own without /dev/shm, private and shareable (the default) are its own;
// inspect says which; --ipc container:NAME joins a shareable one's (not a
// private one's). A mode that is not one, and an IPC sysctl with --ipc
// host are refused.
func TestIPCModes(t *testing.T) {
	t.Parallel()
	host, err := os.Readlink("/proc/self/ns/ipc")
	if err != nil {
		t.Fatal(err)
	}
	mark := "it-ipc-" + filepath.Base(t.TempDir())
	if err := os.WriteFile("/dev/shm/"+mark, []byte("from the host"), 0o644); err != nil {
		t.Skipf("cannot write the host's /dev/shm: %v", err)
	}
	t.Cleanup(func() { os.Remove("/dev/shm/" + mark) })

	out := mustMyctr(t, "run", "--rm", "--network", "none", "--ipc=host", image, "sh", "-c", "readlink /proc/self/ns/ipc; cat /dev/shm/"+mark)
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 2 || lines[0] != host || lines[1] != "from the host" {
		t.Errorf("--ipc=host: %q; want the host's namespace %s and the host's /dev/shm", out, host)
	}

	out, errOut, code := myctr(t, "run", "--rm", "--network", "none", "--ipc=none", image, "sh", "-c", "readlink /proc/self/ns/ipc; ls /dev/shm")
	if code != 1 || strings.Contains(out, host) || !strings.Contains(out, "ipc:[") || !strings.Contains(out+errOut, "ls: /dev/shm: No such file or directory") {
		t.Errorf("--ipc=none: exit %d, %q, %q; want a namespace of its own and no /dev/shm", code, out, errOut)
	}

	for mode, want := range map[string]string{"private": "private", "": "shareable"} {
		name := ctrName(t, "mode"+mode)
		flags := []string{"--network", "none"}
		if mode != "" {
			flags = append(flags, "--ipc="+mode)
		}
		runDetached(t, name, flags, "sleep", "300")
		got := strings.TrimSpace(mustMyctr(t, "inspect", "--format", "{{.HostConfig.IpcMode}}", name))
		ns := strings.TrimSpace(mustMyctr(t, "exec", name, "readlink", "/proc/self/ns/ipc"))
		if got != want || ns == host || !strings.HasPrefix(ns, "ipc:[") {
			t.Errorf("--ipc=%s: inspect IpcMode %q (want %s), namespace %q (want its own)", mode, got, want, ns)
		}
		if _, errOut, code := myctr(t, "exec", name, "test", "-d", "/dev/shm"); code != 0 {
			t.Errorf("--ipc=%s: no /dev/shm: %s", mode, errOut)
		}
		out, errOut, code := myctr(t, "run", "--rm", "--network", "none", "--ipc=container:"+name, image, "readlink", "/proc/self/ns/ipc")
		switch {
		case mode == "private" && (code != 125 || !strings.Contains(errOut, "is not allowed: non-shareable IPC (hint: use IpcMode:shareable for the donor container)")):
			t.Errorf("--ipc=container: of a private donor: exit %d, %q", code, errOut)
		case mode == "" && (code != 0 || strings.TrimSpace(out) != ns):
			t.Errorf("--ipc=container: of a shareable donor: exit %d, namespace %q (want the donor's %s)\n%s", code, out, ns, errOut)
		}
	}

	if _, errOut, code := myctr(t, "run", "--rm", "--ipc=bogus", image, "true"); code != 125 || !strings.Contains(errOut, `invalid --ipc "bogus"`) {
		t.Errorf("--ipc=bogus: exit %d, %q", code, errOut)
	}
	if _, errOut, code := myctr(t, "run", "--rm", "--ipc=host", "--sysctl", "kernel.shmmax=1000000", image, "true"); code != 125 || !strings.Contains(errOut, "--ipc host") {
		t.Errorf("--ipc=host with an IPC sysctl: exit %d, %q", code, errOut)
	}
}

// TestIPCContainer: --ipc container:NAME joins NAME's IPC namespace (and,
// rootless, the user namespace it belongs to), with a network namespace
// of its own, its own network; a message queue made in NAME is the
// joiner's; NAME is its dependency (rm refuses it, rm --depend
// takes both). A donor on the host's IPC namespace, or another container
// than the one whose network the joiner joins, is refused.
func TestIPCContainer(t *testing.T) {
	t.Parallel()
	donor := ctrName(t, "donor")
	runDetached(t, donor, []string{"--network", "none"}, "sleep", "300")
	joiner := ctrName(t, "joiner")
	runDetached(t, joiner, []string{"--ipc", "container:" + donor, "--network", "slirp4netns"}, "sleep", "300")
	for _, ns := range []string{"ipc", "user", "net"} {
		a := mustMyctr(t, "exec", donor, "readlink", "/proc/self/ns/"+ns)
		b := mustMyctr(t, "exec", joiner, "readlink", "/proc/self/ns/"+ns)
		if (a == b) != (ns != "net") {
			t.Errorf("%s namespace: %q in the donor, %q in the joiner", ns, a, b)
		}
	}
	if id := strings.TrimSpace(mustMyctr(t, "inspect", "--format", "{{.Id}}", donor)); strings.TrimSpace(mustMyctr(t, "inspect", "--format", "{{.HostConfig.IpcMode}}", joiner)) != "container:"+id {
		t.Errorf("the joiner's IpcMode: want container:%s", id)
	}
	// A POSIX message queue the donor makes (a file of its /dev/mqueue,
	// which is the IPC namespace's) is the joiner's too.
	mustMyctr(t, "exec", donor, "touch", "/dev/mqueue/it-queue")
	if out := mustMyctr(t, "exec", joiner, "ls", "/dev/mqueue"); strings.TrimSpace(out) != "it-queue" {
		t.Errorf("the joiner's message queues: %q, want the donor's it-queue", out)
	}
	if _, errOut, code := myctr(t, "rm", "-f", donor); code != 125 || !strings.Contains(errOut, "has dependent containers") {
		t.Errorf("rm of the donor: exit %d\n%s", code, errOut)
	}

	hostIPC := ctrName(t, "hostipc")
	runDetached(t, hostIPC, []string{"--network", "none", "--ipc", "host"}, "sleep", "300")
	other := ctrName(t, "other")
	runDetached(t, other, []string{"--network", "none"}, "sleep", "300")
	for _, tc := range []struct {
		flags []string
		want  string
	}{
		{[]string{"--ipc", "container:" + hostIPC}, "uses the host's IPC namespace"},
		{[]string{"--ipc", "container:" + donor, "--network", "container:" + other}, "joins the user namespace of another container"},
		{[]string{"--ipc", "container:it-no-such-donor"}, `no container with name or ID "it-no-such-donor" found`},
	} {
		_, errOut, code := myctr(t, append(append([]string{"run", "--rm"}, tc.flags...), image, "true")...)
		if code != 125 || !strings.Contains(errOut, tc.want) || !strings.Contains(errOut, "Hint: ") {
			t.Errorf("run %v: exit %d, want 125 and %q with a Hint:\n%s", tc.flags, code, tc.want, errOut)
		}
	}
	mustMyctr(t, "rm", "-f", "--depend", donor)
	for _, n := range []string{donor, joiner} {
		if _, _, code := myctr(t, "container", "exists", n); code != 1 {
			t.Errorf("%s after rm --depend: exit %d, want 1", n, code)
		}
	}
}
