package portfwd

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// buildRelay compiles cmd/myctr-monitor (forward.c is its forward mode)
// as make build does, with every warning an error, into a temporary
// directory.
func buildRelay(t *testing.T) string {
	t.Helper()
	cc := os.Getenv("CC")
	if cc == "" {
		cc = "cc"
	}
	srcs, err := filepath.Glob("../../cmd/myctr-monitor/*.c")
	if err != nil || len(srcs) < 2 {
		t.Fatalf("myctr-monitor's sources: %v %v", srcs, err)
	}
	bin := filepath.Join(t.TempDir(), "myctr-monitor")
	out, err := exec.Command(cc, append([]string{"-std=gnu11", "-O2", "-Wall", "-Wextra", "-Werror", "-o", bin}, srcs...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", cc, err, out)
	}
	return bin
}

// lockedBuffer is the relay's stderr (its log), read while it runs.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// relayProc is myctr-monitor's forward, started with fd 3 /dev/null, fd 4
// the report's pipe, fd 5 a listening TCP socket, fd 6 a bound UDP
// socket (both on 127.0.0.1), as the Go stage hands them over.
type relayProc struct {
	cmd    *exec.Cmd
	report string
	log    *lockedBuffer
	tcp    *net.TCPListener
}

func startRelay(t *testing.T, bin string, args ...string) *relayProc {
	t.Helper()
	l, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	u, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	lf, _ := l.File()
	uf, _ := u.File()
	l.Close()
	u.Close()
	null, _ := os.Open(os.DevNull)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &relayProc{log: &lockedBuffer{}}
	p.cmd = exec.Command(bin, append([]string{"myctr-port-forward", "forward"}, args...)...)
	p.cmd.Args = p.cmd.Args[1:]
	p.cmd.ExtraFiles = []*os.File{null, w, lf, uf}
	p.cmd.Stderr = p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.cmd.Process.Kill(); _ = p.cmd.Wait() })
	w.Close()
	null.Close()
	uf.Close()
	// The listener stays open here too: a client can connect, and the
	// relay (which has it as fd 5) is the only one accepting.
	fl, err := net.FileListener(lf)
	lf.Close()
	if err != nil {
		t.Fatal(err)
	}
	p.tcp = fl.(*net.TCPListener)
	t.Cleanup(func() { p.tcp.Close() })
	_ = r.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, err := io.ReadAll(r)
	r.Close()
	if err != nil {
		t.Fatalf("report: %v", err)
	}
	p.report = string(b)
	return p
}

func (p *relayProc) exit(t *testing.T) int {
	t.Helper()
	done := make(chan struct{})
	go func() {
		_ = p.cmd.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the relay did not exit")
	}
	if ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return p.cmd.ProcessState.ExitCode()
}

// testArgs is RelayArgs for a relay in this test's own namespaces: all
// but the program's name, its mode and init= (fd 3 is /dev/null here).
func testArgs(t *testing.T, spec Spec) []string {
	t.Helper()
	spec.Guest, spec.Gateway = "127.0.0.1", "10.0.2.2"
	args := RelayArgs(spec, os.Getpid())
	if args[1] != "forward" || args[2] != "init=3" || !slices.Contains(args, "parent="+strconv.Itoa(os.Getpid())) {
		t.Fatalf("RelayArgs: %q", args)
	}
	return args[3:]
}

// TestRelayArguments: myctr-monitor's forward takes the command line
// RelayArgs makes, and refuses anything else before it serves: each
// failure reported on the ready pipe (what the watcher reads), exit 1.
func TestRelayArguments(t *testing.T) {
	bin := buildRelay(t)
	spec := Spec{Ports: []Port{{Fd: 5, Protocol: "tcp", ContainerPort: 8080}, {Fd: 6, Protocol: "udp", ContainerPort: 8081}}}
	good := testArgs(t, spec)
	t.Run("good", func(t *testing.T) {
		p := startRelay(t, bin, good...)
		if p.report != "ok" {
			t.Fatalf("report %q, log %s", p.report, p.log)
		}
		// SIGTERM ends it, cleanly.
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		if code := p.exit(t); code != 0 {
			t.Errorf("after SIGTERM: exit %d, want 0", code)
		}
	})
	with := func(drop string, add ...string) []string {
		var out []string
		for _, a := range good {
			if drop == "" || !strings.HasPrefix(a, drop) {
				out = append(out, a)
			}
		}
		return append(out, add...)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{with("guest="), "missing argument"},
		{with("port="), "missing argument"},
		{with("parent="), "missing argument"},
		{with("", "foo=1"), `bad argument "foo=1"`},
		{with("", "verbose"), `bad argument "verbose"`},
		{with("", "guest=127.0.0.2"), `bad argument "guest=127.0.0.2"`},
		{with("guest=", "guest=10.0.2"), `bad argument "guest=10.0.2"`},
		{with("guest=", "guest=::1"), `bad argument "guest=::1"`},
		{with("guest=", "guest=010.0.2.100"), `bad argument "guest=010.0.2.100"`},
		{with("gateway=", "gateway= 10.0.2.2"), `bad argument "gateway= 10.0.2.2"`},
		{with("mark=", "mark=0x6d79"), `bad argument "mark=0x6d79"`},
		{with("mark=", "mark=-1"), `bad argument "mark=-1"`},
		{with("mark=", "mark=4294967296"), `bad argument "mark=4294967296"`},
		{with("prio=", "prio=0100"), `bad argument "prio=0100"`},
		{with("parent=", "parent=1"), `bad argument "parent=1"`},
		{with("parent=", "parent=2147483647"), "the watcher (pid 2147483647) is gone"},
		{with("port=", "port=5:sctp:80"), `bad argument "port=5:sctp:80"`},
		{with("port=", "port=5:tcp:0"), `bad argument "port=5:tcp:0"`},
		{with("port=", "port=5:tcp:65536"), `bad argument "port=5:tcp:65536"`},
		{with("port=", "port=5:tcp:80:1"), `bad argument "port=5:tcp:80:1"`},
		{with("port=", "port=5:tcp:80x"), `bad argument "port=5:tcp:80x"`},
		{with("port=", "port=+5:tcp:80"), `bad argument "port=+5:tcp:80"`},
		{with("port=", "port=2:tcp:80"), `bad argument "port=2:tcp:80"`},
		{with("port=", "port=4:tcp:80"), `bad argument "port=4:tcp:80"`},
		{with("", "port=5:udp:81"), "fd 5 given twice"},
		{with("port=", "port=6:tcp:80"), "fd 6 is not a listening TCP socket"},
		{with("port=", "port=5:udp:80"), "fd 5 is not a UDP socket"},
		{with("port=", "port=3:tcp:80"), "fd 3 is not a listening TCP socket"},
		{with("port=", "port=9:udp:80"), "fd 9 is not a UDP socket: bad file descriptor"},
		{with("", "init=x"), `bad argument "init=x"`},
		{with("", "init=2"), `bad argument "init=2"`},
		{with("", "init=4"), `bad argument "init=4"`},
		{with("", "init=5"), `bad argument "init=5": it is a port's fd`},
		{with("", "init=3", "init=3"), `bad argument "init=3"`},
		// fd 3 is /dev/null here: not a namespace to join.
		{with("", "init=3"), "join the container's user and network namespaces: invalid argument"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			p := startRelay(t, bin, tc.args...)
			if !strings.Contains(p.report, tc.want) {
				t.Errorf("report %q, want %q", p.report, tc.want)
			}
			if code := p.exit(t); code != 1 {
				t.Errorf("exit %d, want 1", code)
			}
			if !strings.Contains(p.log.String(), tc.want) {
				t.Errorf("log %q, want %q", p.log, tc.want)
			}
		})
	}
	t.Run("no ready", func(t *testing.T) {
		out, err := exec.Command(bin, "forward", "guest=127.0.0.1").CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(string(out), "missing ready=") {
			t.Errorf("%v %q, want exit 1 and missing ready=", err, out)
		}
	})
}

// TestRelayConnectLog: a connection the relay cannot make (here: without
// CAP_NET_ADMIN no IP_TRANSPARENT, or, as root, nothing listening on the
// target) closes the client and is logged in the Go stage's format, at
// most one line a second, the next one counting those left out.
func TestRelayConnectLog(t *testing.T) {
	bin := buildRelay(t)
	free, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cport := free.Addr().(*net.TCPAddr).Port
	free.Close() // nothing listens there: only loopback is ever dialled
	spec := Spec{Ports: []Port{{Fd: 5, Protocol: "tcp", ContainerPort: uint16(cport)}}}
	p := startRelay(t, bin, testArgs(t, spec)...)
	if p.report != "ok" {
		t.Fatalf("report %q, log %s", p.report, p.log)
	}
	pid := p.cmd.Process.Pid
	line := regexp.MustCompile(fmt.Sprintf(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d) network-forward\[%d\]: 127\.0\.0\.1:\d+ -> 127\.0\.0\.1:%d: (IP_TRANSPARENT: operation not permitted|connect: connection refused)( \(and (\d+) more since the last line\))?$`, pid, cport))
	connect := func() {
		t.Helper()
		c, err := net.DialTimeout("tcp", p.tcp.Addr().String(), 3*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		if n, err := c.Read(make([]byte, 1)); n != 0 || err == nil || os.IsTimeout(err) {
			t.Fatalf("the relay kept a client it could not serve: %d %v", n, err)
		}
	}
	// The log reaches p.log through os/exec's copying goroutine: wait a
	// moment for n lines.
	lines := func(n int) []string {
		var l []string
		for deadline := time.Now().Add(300 * time.Millisecond); ; time.Sleep(10 * time.Millisecond) {
			l = nil
			if s := strings.TrimSpace(p.log.String()); s != "" {
				l = strings.Split(s, "\n")
			}
			if len(l) >= n || time.Now().After(deadline) {
				return l
			}
		}
	}
	begin := time.Now()
	for i := 0; i < 4; i++ {
		connect()
	}
	if time.Since(begin) > 700*time.Millisecond {
		t.Skip("this host took over 0.7 s for four connections: the period cannot be tested")
	}
	if l := lines(2); len(l) != 1 || !line.MatchString(l[0]) || strings.Contains(l[0], "more since") {
		t.Fatalf("after four failures within a second, the log is %q; want one line matching %s", l, line)
	}
	time.Sleep(time.Until(begin.Add(1100 * time.Millisecond)))
	connect()
	l := lines(2)
	if len(l) != 2 {
		t.Fatalf("after the period, the log is %q; want two lines", l)
	}
	if m := line.FindStringSubmatch(l[1]); m == nil || m[4] != "3" {
		t.Errorf("second line %q; want it to match %s, with 3 left out", l[1], line)
	}
	// The relay is still serving: the failures were the clients'.
	if err := p.cmd.Process.Signal(syscall.Signal(0)); err != nil {
		t.Errorf("the relay is gone: %v", err)
	}
}
