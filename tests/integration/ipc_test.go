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
// inspect says which. Joining another container's, a mode that is not
// one, and an IPC sysctl with --ipc host are refused.
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
		_, errOut, code := myctr(t, "run", "--rm", "--network", "none", "--ipc=container:"+name, image, "true")
		switch {
		case mode == "private" && (code != 125 || !strings.Contains(errOut, "is not allowed: non-shareable IPC (hint: use IpcMode:shareable for the donor container)")):
			t.Errorf("--ipc=container: of a private donor: exit %d, %q", code, errOut)
		case mode == "" && (code != 125 || !strings.Contains(errOut, "Error: --ipc container:NAME is not supported") || !strings.Contains(errOut, "Hint: ")):
			t.Errorf("--ipc=container: of a shareable donor: exit %d, %q", code, errOut)
		}
	}

	if _, errOut, code := myctr(t, "run", "--rm", "--ipc=bogus", image, "true"); code != 125 || !strings.Contains(errOut, `invalid --ipc "bogus"`) {
		t.Errorf("--ipc=bogus: exit %d, %q", code, errOut)
	}
	if _, errOut, code := myctr(t, "run", "--rm", "--ipc=host", "--sysctl", "kernel.shmmax=1000000", image, "true"); code != 125 || !strings.Contains(errOut, "--ipc host") {
		t.Errorf("--ipc=host with an IPC sysctl: exit %d, %q", code, errOut)
	}
}
