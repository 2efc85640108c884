//go:build integration

package integration

// Sysctls (issue 12, "Parity with Podman's defaults"): a container with a
// network namespace of its own has net.ipv4.ping_group_range "0 0", as
// containers-common's default_sysctls sets it, so that its root (the user)
// may open ICMP echo sockets without CAP_NET_RAW; --sysctl sets the other
// namespaced settings, and refuses what is the host's.

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func init() { extraRoles["icmp-echo"] = icmpEchoRole }

// icmpEchoRole sends one ICMP echo request to 127.0.0.1 through an
// unprivileged ICMP socket (SOCK_DGRAM, IPPROTO_ICMP: what ping uses
// without CAP_NET_RAW) and prints "reply" or the socket's errno.
func icmpEchoRole() int {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.IPPROTO_ICMP)
	if err != nil {
		fmt.Println("socket", errName(err))
		return 0
	}
	defer unix.Close(fd)
	tv := unix.NsecToTimeval(int64(3 * time.Second))
	unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	// Type 8 (echo request), code 0; the kernel fills in the checksum and
	// the identifier of an ICMP socket.
	req := []byte{8, 0, 0, 0, 0, 0, 0, 1, 'm', 'y', 'c', 't', 'r'}
	if err := unix.Sendto(fd, req, 0, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		fmt.Println("sendto", errName(err))
		return 0
	}
	buf := make([]byte, 64)
	n, _, err := unix.Recvfrom(fd, buf, 0)
	if err != nil {
		fmt.Println("recvfrom", errName(err))
		return 0
	}
	if n < 8 || buf[0] != 0 {
		fmt.Printf("unexpected reply % x\n", buf[:n])
		return 0
	}
	fmt.Println("reply")
	return 0
}

func icmpArgs(t *testing.T, flags ...string) []string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return append([]string{"-v", self + ":/it:ro", "-e", "MYCTR_IT_ROLE=icmp-echo"}, flags...)
}

func TestSysctlPingGroupRange(t *testing.T) {
	// The kernel's default, "1 0", lets no group open ICMP sockets: the
	// echo below fails without myctr's default.
	t.Run("default lets the container's root ping", func(t *testing.T) {
		// No containers.conf at all (the host's may set the same
		// default): myctr's own default.
		c := newConfEnv(t, nil)
		run := func(flags []string, cmd ...string) string {
			return mustMyctrEnv(t, c.env, append(append(append([]string{"run", "--rm"}, flags...), image), cmd...)...)
		}
		out := run([]string{"--network", "none"}, "cat", "/proc/sys/net/ipv4/ping_group_range")
		if f := strings.Fields(out); len(f) != 2 || f[0] != "0" || f[1] != "0" {
			t.Errorf("ping_group_range in the container = %q, want 0 0", out)
		}
		if out := run(icmpArgs(t, "--network", "none"), "/it"); strings.TrimSpace(out) != "reply" {
			t.Errorf("ICMP echo to 127.0.0.1 from the container: %q, want a reply", out)
		}
	})
	t.Run("slirp4netns", func(t *testing.T) {
		if out := runOut(t, icmpArgs(t, "--network", "slirp4netns"), "/it"); strings.TrimSpace(out) != "reply" {
			t.Errorf("ICMP echo with --network slirp4netns: %q, want a reply", out)
		}
	})
	t.Run("--sysctl replaces the default", func(t *testing.T) {
		out := runOut(t, icmpArgs(t, "--network", "none", "--sysctl", "net.ipv4.ping_group_range=1 0"), "/it")
		if strings.TrimSpace(out) != "socket EACCES" {
			t.Errorf("ICMP socket with ping_group_range 1 0: %q, want socket EACCES", out)
		}
	})
	t.Run("host network keeps the host's", func(t *testing.T) {
		// The default is for the container's own network namespace: with
		// the host's, it is not written (writing it would fail, and
		// change the host).
		before, err := os.ReadFile("/proc/sys/net/ipv4/ping_group_range")
		if err != nil {
			t.Fatal(err)
		}
		runOut(t, []string{"--network", "host"}, "true")
		if after, _ := os.ReadFile("/proc/sys/net/ipv4/ping_group_range"); string(after) != string(before) {
			t.Errorf("the host's ping_group_range was %q before a --network host container, %q after", before, after)
		}
	})
	t.Run("containers.conf default_sysctls", func(t *testing.T) {
		// The file's list replaces myctr's defaults: no ping_group_range.
		c := newConfEnv(t, map[string]string{"home/containers/containers.conf": "[containers]\ndefault_sysctls = [\"kernel.shmmni=1000\"]\n"})
		out := mustMyctrEnv(t, c.env, append(append([]string{"run", "--rm"}, icmpArgs(t, "--network", "none")...), image, "sh", "-c", "/it; cat /proc/sys/kernel/shmmni")...)
		if f := strings.Fields(out); len(f) != 3 || f[0] != "socket" || f[1] != "EACCES" || f[2] != "1000" {
			t.Errorf("with default_sysctls = [kernel.shmmni=1000]: %q, want socket EACCES (the kernel's ping_group_range) and 1000", out)
		}
	})
}

func TestSysctlFlag(t *testing.T) {
	name := ctrName(t, "sysctl")
	out := mustMyctr(t, "run", "--name", name, "--network", "none", "--sysctl", "kernel.shmmax=65536", "--sysctl", "fs.mqueue.msg_max=20", "--sysctl", "fs.mqueue.msg_max=30",
		image, "cat", "/proc/sys/kernel/shmmax", "/proc/sys/fs/mqueue/msg_max")
	if f := strings.Fields(out); len(f) != 2 || f[0] != "65536" || f[1] != "30" {
		t.Errorf("--sysctl kernel.shmmax=65536 fs.mqueue.msg_max=30: read back %q", out)
	}
	got := inspect(t, name).HostConfig.Sysctls
	if got["kernel.shmmax"] != "65536" || got["fs.mqueue.msg_max"] != "30" || got["net.ipv4.ping_group_range"] != "0 0" {
		t.Errorf("inspect HostConfig.Sysctls = %v", got)
	}
	mustMyctr(t, "rm", name)

	// What is the host's is refused before anything is made.
	for _, tc := range []struct {
		flags []string
		want  string
	}{
		{[]string{"--sysctl", "kernel.core_pattern=|/tmp/x"}, "not namespaced"},
		{[]string{"--sysctl", "vm.overcommit_memory=1"}, "not namespaced"},
		{[]string{"--network", "host", "--sysctl", "net.ipv4.ip_forward=1"}, "--network host"},
		{[]string{"--sysctl", "net.ipv4.ping_group_range"}, "KEY=VALUE"},
		{[]string{"--sysctl", "net/../kernel/core_pattern=x"}, "not a sysctl name"},
	} {
		before := len(psJSON(t, true))
		_, errOut, code := myctr(t, append(append([]string{"run", "--rm"}, tc.flags...), image, "true")...)
		if code != 125 || !strings.HasPrefix(errOut, "Error: ") || !strings.Contains(errOut, tc.want) || !strings.Contains(errOut, "Hint: ") {
			t.Errorf("run %v: exit %d, stderr %q; want 125 and an Error naming %q with a Hint", tc.flags, code, errOut, tc.want)
		}
		if after := len(psJSON(t, true)); after != before {
			t.Errorf("run %v: %d containers before, %d after", tc.flags, before, after)
		}
	}
}
