//go:build integration

package integration

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// --security-opt landlock=...: the container's processes confined by
// Landlock, seen from inside them. This host's kernel has Landlock ABI 4
// or later (TCP rules); the decision for older kernels is unit-tested
// (frontend/landlock TestDecide).

func init() { extraRoles["landlock-net"] = landlockNetRole }

// landlockNetRole listens on TCP port os.Args[1] of loopback, then
// connects to it and to port os.Args[2] (where nobody listens), and binds
// os.Args[2]; it prints "STEP ERRNO" for each. Raw TCP sockets: Go's net
// package would make MPTCP ones, which Landlock does not restrict.
func landlockNetRole() int {
	allowed, err1 := strconv.Atoi(os.Args[1])
	other, err2 := strconv.Atoi(os.Args[2])
	if err1 != nil || err2 != nil {
		fmt.Fprintln(os.Stderr, "usage: landlock-net PORT OTHERPORT")
		return 2
	}
	lo := [4]byte{127, 0, 0, 1}
	tcp := func(f func(int) error) error {
		s, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
		if err != nil {
			return err
		}
		defer unix.Close(s)
		return f(s)
	}
	ln, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
	if err == nil {
		err = unix.Bind(ln, &unix.SockaddrInet4{Port: allowed, Addr: lo})
	}
	if err == nil {
		err = unix.Listen(ln, 4)
	}
	fmt.Printf("listen-allowed %s\n", errnoName(errnoOf(err)))
	err = tcp(func(s int) error { return unix.Connect(s, &unix.SockaddrInet4{Port: allowed, Addr: lo}) })
	fmt.Printf("connect-allowed %s\n", errnoName(errnoOf(err)))
	err = tcp(func(s int) error { return unix.Connect(s, &unix.SockaddrInet4{Port: other, Addr: lo}) })
	fmt.Printf("connect-other %s\n", errnoName(errnoOf(err)))
	err = tcp(func(s int) error { return unix.Bind(s, &unix.SockaddrInet4{Port: other, Addr: lo}) })
	fmt.Printf("bind-other %s\n", errnoName(errnoOf(err)))
	return 0
}

// fsScript prints one line per attempt: a write outside the rw path, one
// under it, running a program under exec and a copy of it outside exec.
const fsScript = `touch /etc/landlock-x 2>&1; echo "write-outside $?"
touch /tmp/landlock-ok; echo "write-rw $?"
/bin/busybox true; echo "exec-bin $?"
mkdir -p /tmp/c1 && cp /bin/busybox /tmp/c1/ && /tmp/c1/busybox true 2>&1; echo "exec-copy $?"
`

const fsRules = "landlock=ro:/,rw:/tmp,exec:/bin"

// checkFS asserts what fsScript printed under fsRules.
func checkFS(t *testing.T, what, out string) {
	t.Helper()
	for _, want := range []string{
		"touch: /etc/landlock-x: Permission denied\nwrite-outside 1\n",
		"write-rw 0\n",
		"exec-bin 0\n",
		"/tmp/c1/busybox: Permission denied\nexec-copy 126\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("%s: output lacks %q:\n%s", what, want, out)
		}
	}
}

// A write outside the rw paths fails with EACCES, one under them works; a
// program outside the exec paths cannot be executed, one inside can. No
// warning on this kernel, and landlock-strict runs too.
func TestLandlockFiles(t *testing.T) {
	t.Parallel()
	for _, strict := range []bool{false, true} {
		flags := []string{"--network", "none", "--security-opt", fsRules}
		if strict {
			flags = append(flags, "--security-opt", "landlock-strict")
		}
		args := append(append([]string{"run", "--rm"}, flags...), image, "sh", "-c", fsScript)
		out, errOut, code := myctr(t, args...)
		if code != 0 {
			t.Fatalf("run (strict %v): exit %d, stderr %q", strict, code, errOut)
		}
		checkFS(t, fmt.Sprintf("run (strict %v)", strict), out)
		if strings.Contains(errOut, "Warning:") {
			t.Errorf("stderr %q: a warning on a kernel that enforces every rule", errOut)
		}
	}
	// Without the option, the same script writes and executes anywhere
	// (so the test sees the restriction, not the image).
	out := runOut(t, []string{"--network", "none"}, "sh", "-c", fsScript)
	if !strings.Contains(out, "write-outside 0\n") || !strings.Contains(out, "exec-copy 0\n") {
		t.Errorf("without landlock: %q, want the write and the copy's execution to work", out)
	}
	// rw:/dev/null is a rule for one file; without it, writing /dev/null
	// is denied like any other write outside rw.
	out = runOut(t, []string{"--network", "none", "--security-opt", "landlock=ro:/,rw:/dev/null,exec:/bin"},
		"sh", "-c", `echo x >/dev/null; echo "null $?"; echo x >/dev/zero 2>/dev/null; echo "zero $?"`)
	if !strings.Contains(out, "null 0\n") || !strings.Contains(out, "zero 1\n") {
		t.Errorf("rw:/dev/null: %q, want /dev/null writable and /dev/zero not", out)
	}
}

// The restriction holds for --init's PID 1 and its child, for every
// `myctr exec` into the container (root and another user), and inspect
// shows the options as given.
func TestLandlockExecAndInit(t *testing.T) {
	t.Parallel()
	name := ctrName(t, "")
	opts := []string{"--security-opt", fsRules, "--security-opt", "landlock-strict"}
	// The command is the child of myctr-init (PID 1): its results prove
	// PID 1 confined too, since myctr-init never calls Landlock itself
	// and a child's domain is its parent's at fork.
	flags := append([]string{"--network", "none", "--init"}, opts...)
	runDetached(t, name, flags, "sh", "-c", fsScript+`echo done; exec sleep 300`)
	waitLogs(t, name, "done", cmdTimeout)
	logs := mustMyctr(t, "logs", name)
	checkFS(t, "--init's child", logs)
	if out := mustMyctr(t, "exec", name, "cat", "/proc/1/cmdline"); !strings.HasPrefix(out, "/run/myctr-init\x00--\x00") {
		t.Errorf("PID 1's command line %q, want myctr-init's", out)
	}
	// myctr exec: a fresh process from outside the container, confined
	// from the container's saved configuration.
	out := mustMyctr(t, "exec", name, "sh", "-c", strings.ReplaceAll(fsScript, "/tmp/c1", "/tmp/c2"))
	checkFS(t, "exec", strings.ReplaceAll(out, "/tmp/c2", "/tmp/c1"))
	out, errOut, code := myctr(t, "exec", "-u", "1000", name, "sh", "-c", `touch /home/app/landlock-u 2>&1; echo "write-outside $?"; /tmp/c1/busybox true; echo "exec-copy $?"`)
	if code != 0 || !strings.Contains(out, "Permission denied\nwrite-outside 1") || !strings.Contains(out, "exec-copy 126") {
		t.Errorf("exec -u 1000: exit %d, stdout %q, stderr %q; want the write and the copy denied", code, out, errOut)
	}
	in := inspectSecurity(t, name)
	if got := strings.Join(in.HostConfig.SecurityOpt, " "); got != fsRules+" landlock-strict" {
		t.Errorf("inspect: HostConfig.SecurityOpt %q, want %q", in.HostConfig.SecurityOpt, fsRules+" landlock-strict")
	}
}

// A net rule: TCP bind and connect only to the ports named, inside the
// container's own network namespace (--network none has lo). Without the
// rule, connecting to a port nobody listens on is refused by the kernel
// (ECONNREFUSED); with it, Landlock denies it first (EACCES).
func TestLandlockNet(t *testing.T) {
	t.Parallel()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	base := []string{"--network", "none", "-v", self + ":/it:ro", "-e", "MYCTR_IT_ROLE=landlock-net"}
	want := map[string]string{"listen-allowed": "ok", "connect-allowed": "ok", "connect-other": "EACCES", "bind-other": "EACCES"}
	out := runOut(t, append(base, "--security-opt", "landlock=ro:/,exec:/it,net:bind=8080,net:connect=8080"), "/it", "8080", "8081")
	wantProbes(t, "net rules", probeResults(t, out), want)
	// The same with only net groups: the filesystem is not restricted.
	out = runOut(t, append(base, "--security-opt", "landlock=net:bind=8080,net:connect=8080"), "sh", "-c", `/it 8080 8081 && touch /etc/net-only && echo "write ok"`)
	wantProbes(t, "net groups alone", probeResults(t, out), want)
	if !strings.Contains(out, "write ok") {
		t.Errorf("net groups alone: %q, want the filesystem unrestricted", out)
	}
	out = runOut(t, base, "/it", "8080", "8081")
	wantProbes(t, "no landlock", probeResults(t, out), map[string]string{"connect-allowed": "ok", "connect-other": "ECONNREFUSED", "bind-other": "ok"})
}

// Bad options: exit 125, an Error: line naming the bad part, no container
// left. A path that is not in the container fails the start (125).
func TestLandlockBadOption(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := dir + "/bad.landlock"
	if err := os.WriteFile(bad, []byte("ro:/\nwrite:/tmp\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct{ opt, want string }{
		{"landlock=", "landlock= needs rules"},
		{"landlock=ro:", `"ro:": no path`},
		{"landlock=ro:/,rw:tmp", `"tmp" is not an absolute path`},
		{"landlock=ro:/,write:/tmp", `"write:/tmp": unknown group`},
		{"landlock=ro:/,,exec:/bin", "empty group"},
		{"landlock=net:connect=70000", `"70000" is not a TCP port`},
		{"landlock=" + dir + "/missing", "no such file"},
		{"landlock=" + bad, bad},
		{"landlock-strict=sometimes", `"landlock-strict=sometimes"`},
		{"landlock-strict", "landlock-strict needs landlock= rules"},
	}
	for i, c := range cases {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			t.Parallel()
			name := ctrName(t, "")
			_, errOut, code := myctr(t, "run", "--name", name, "--network", "none", "--security-opt", c.opt, image, "true")
			if code != 125 || !strings.HasPrefix(errOut, "Error: ") || !strings.Contains(errOut, c.want) {
				t.Errorf("--security-opt %s: exit %d, stderr %q; want 125 and an Error naming %q", c.opt, code, errOut, c.want)
			}
			if _, ok := psFind(psJSON(t, true), name); ok {
				t.Errorf("ps -a lists %s after the refused option %s", name, c.opt)
			}
		})
	}
	t.Run("missing-path", func(t *testing.T) {
		t.Parallel()
		_, errOut, code := myctr(t, "run", "--rm", "--network", "none", "--security-opt", "landlock=ro:/,rw:/tmp:/no/such/dir,exec:/bin", image, "true")
		if code != 125 || !strings.Contains(errOut, "rw:/no/such/dir: no such path in the container") {
			t.Errorf("exit %d, stderr %q; want 125 naming rw:/no/such/dir", code, errOut)
		}
	})
}
