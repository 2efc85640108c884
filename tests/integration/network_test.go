//go:build integration

package integration

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// httpGet fetches url until it answers or the deadline passes.
func httpGet(t *testing.T, url string) string {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := client.Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return string(b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %v", url, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// webServer runs busybox httpd in a detached container serving body.
func webServer(t *testing.T, name string, flags []string, body string) string {
	t.Helper()
	script := fmt.Sprintf("mkdir -p /www && echo %s > /www/index.html && exec httpd -f -p 8080 -h /www", body)
	return runDetached(t, name, flags, "sh", "-c", script)
}

// TestPublishTCP: a web server in a container answers on the host's
// loopback through -p, for each rootless mode, two containers with
// different forwards at once.
func TestPublishTCP(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"slirp4netns", "pasta"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			p1, p2 := freePort(t), freePort(t)
			a := ctrName(t, "a")
			b := ctrName(t, "b")
			webServer(t, a, []string{"--network", mode, "-p", fmt.Sprintf("127.0.0.1:%d:8080", p1)}, "from-a")
			webServer(t, b, []string{"--network", mode, "-p", fmt.Sprintf("127.0.0.1:%d:8080/tcp", p2)}, "from-b")
			if got := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/", p1)); strings.TrimSpace(got) != "from-a" {
				t.Errorf("container a answered %q", got)
			}
			if got := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/", p2)); strings.TrimSpace(got) != "from-b" {
				t.Errorf("container b answered %q", got)
			}
			out := mustMyctr(t, "port", a)
			if want := fmt.Sprintf("8080/tcp -> 127.0.0.1:%d", p1); strings.TrimSpace(out) != want {
				t.Errorf("port = %q, want %q", out, want)
			}
		})
	}
}

// TestPublishKeepID: with --userns keep-id the port forwarder's uid in
// the container's user namespace is the user's, not 0, and its
// CAP_NET_ADMIN must survive the hand-over of its relay to myctr-monitor
// (an execve): the published port still answers (each connection's
// transparent socket needs that capability).
func TestPublishKeepID(t *testing.T) {
	t.Parallel()
	port := freePort(t)
	name := ctrName(t, "")
	// --user 0: the web root is made in the image's root-owned tree.
	runDetached(t, name, []string{"--network", "slirp4netns", "--userns", "keep-id", "--user", "0",
		"-p", fmt.Sprintf("127.0.0.1:%d:8080", port)}, "sh", "-c",
		"mkdir -p /www && echo keep-id > /www/index.html && exec httpd -f -p 8080 -h /www")
	if got := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/", port)); strings.TrimSpace(got) != "keep-id" {
		t.Fatalf("the published port answers %q", got)
	}
}

// TestSourceAddress: what a server in the container sees as the address
// of clients on the host's loopback (127.0.0.1 and 127.0.0.2), as the
// package documentation of frontend/network gives it: slirp4netns with
// myctr's forwarder (the default) keeps each client's own address; with
// slirp4netns's add_hostfwd (port_handler=slirp4netns) every client shows
// as the gateway; Debian 12's pasta splices loopback connections and shows
// 127.0.0.1; a container on a named network is published through myctr's
// forwarder and keeps each address too. A tool which starts keeping the
// address, or a regression, is noticed.
func TestSourceAddress(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		network string
		seen    [2]string // for 127.0.0.1, 127.0.0.2
	}{
		{"slirp4netns", [2]string{"127.0.0.1", "127.0.0.2"}},
		{"slirp4netns:port_handler=slirp4netns", [2]string{"10.0.2.2", "10.0.2.2"}},
		{"pasta", [2]string{"127.0.0.1", "127.0.0.1"}},
		{"named", [2]string{"127.0.0.1", "127.0.0.2"}}, // a named network: myctr's forwarder too
	} {
		t.Run(tc.network, func(t *testing.T) {
			t.Parallel()
			if tc.network == "named" {
				tc.network = namedNetwork(t, "")
			}
			port := freePort(t)
			name := ctrName(t, "")
			// httpd logs each request's peer address with -vv.
			runDetached(t, name, []string{"--network", tc.network, "-p", fmt.Sprintf("%d:8080", port)}, "sh", "-c",
				"mkdir -p /www && echo ok > /www/index.html && exec httpd -f -vv -p 8080 -h /www")
			for i, client := range []string{"127.0.0.1", "127.0.0.2"} {
				d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(client)}, Timeout: 2 * time.Second}
				tr := &http.Transport{DialContext: d.DialContext}
				c := &http.Client{Transport: tr, Timeout: 3 * time.Second}
				deadline := time.Now().Add(10 * time.Second)
				for {
					resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
					if err == nil {
						resp.Body.Close()
						break
					}
					if time.Now().After(deadline) {
						t.Fatalf("GET from %s: %v", client, err)
					}
					time.Sleep(100 * time.Millisecond)
				}
				// httpd -vv logs "[::ffff:ADDR]:PORT: response:200" (its
				// socket is IPv6), after it has answered: wait for this
				// request's line (the (i+1)-th), never read the one before.
				var responses []string
				waitFor(t, 10*time.Second, "the server's log line of the request from "+client, func() bool {
					_, logs, _ := myctr(t, "logs", name)
					responses = responses[:0]
					for _, l := range strings.Split(logs, "\n") {
						if strings.Contains(l, "response:") {
							responses = append(responses, l)
						}
					}
					return len(responses) > i
				})
				if got := responses[i]; !strings.HasPrefix(got, "[::ffff:"+tc.seen[i]+"]:") {
					t.Errorf("%s: from %s the server logged %q, want %s", tc.network, client, got, tc.seen[i])
				}
			}
		})
	}
}

// TestPublishUDP: a UDP echo server in the container (this test binary,
// bound in: busybox has none), published through myctr's forwarder
// (slirp4netns, and a named network), answers a client on the host's
// loopback, and sees the client's own address (127.0.0.2).
func TestPublishUDP(t *testing.T) {
	t.Parallel()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, netMode := range []string{"slirp4netns", "named"} {
		t.Run(netMode, func(t *testing.T) {
			t.Parallel()
			if netMode == "named" {
				netMode = namedNetwork(t, "")
			}
			port := freePort(t)
			name := ctrName(t, "")
			runDetached(t, name, []string{"--network", netMode, "-p", fmt.Sprintf("127.0.0.1:%d:5353/udp", port),
				"-v", self + ":/it:ro", "-e", "MYCTR_IT_ROLE=udpecho"}, "/it")
			c, err := net.DialUDP("udp", &net.UDPAddr{IP: net.ParseIP("127.0.0.2")}, &net.UDPAddr{IP: net.ParseIP("127.0.0.1"), Port: port})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			buf := make([]byte, 100)
			deadline := time.Now().Add(10 * time.Second)
			for {
				c.Write([]byte("ping-udp\n"))
				c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
				n, err := c.Read(buf)
				if err == nil {
					if got := string(buf[:n]); got != "ping-udp\n" {
						t.Fatalf("echo: %q", got)
					}
					break
				}
				if time.Now().After(deadline) {
					out, _, _ := myctr(t, "logs", name)
					t.Fatalf("no echo from the container's UDP server; its logs: %q", out)
				}
			}
			// The server logs before it answers; the log may reach the file
			// a moment after the answer reached us.
			waitLogs(t, name, "udp from 127.0.0.2:", 5*time.Second)
		})
	}
}

// TestHostLoopback: the host's 127.0.0.1 is closed to the container by
// default and open with slirp4netns:allow_host_loopback=true, at 10.0.2.2.
func TestHostLoopback(t *testing.T) {
	t.Parallel()
	port := tcpServer(t, "127.0.0.1", func(c net.Conn) { c.Write([]byte("host-loopback\n")) })
	probe := fmt.Sprintf("nc -w 2 10.0.2.2 %d </dev/null", port)
	_, _, code := myctr(t, "run", "--rm", "--network", "slirp4netns", image, "sh", "-c", probe)
	if code == 0 {
		t.Errorf("the host's loopback was reachable by default")
	}
	out := runOut(t, []string{"--network", "slirp4netns:allow_host_loopback=true"}, "sh", "-c", probe)
	if !strings.Contains(out, "host-loopback") {
		t.Errorf("with allow_host_loopback=true the container read %q", out)
	}
}

// TestNetworkModes: none has only lo (up); the default mode has the
// slirp4netns interface with MTU 65520 and its DNS forwarder in
// /etc/resolv.conf; /etc/hosts names the container at its address.
func TestNetworkModes(t *testing.T) {
	t.Parallel()
	out := runOut(t, []string{"--network", "none"}, "sh", "-c", "ls /sys/class/net; ip link show lo")
	if !strings.HasPrefix(out, "lo\n") || strings.Count(out, "\n") < 2 || !strings.Contains(out, ",UP") {
		t.Errorf("--network none: %q, want only lo, up", out)
	}
	name := ctrName(t, "")
	out = runOut(t, []string{"--name", name}, "sh", "-c", "cat /sys/class/net/tap0/mtu /etc/resolv.conf /etc/hosts")
	if !strings.Contains(out, "65520") || !strings.Contains(out, "nameserver 10.0.2.3") ||
		!strings.Contains(out, "10.0.2.100\t") || !strings.Contains(out, name) {
		t.Errorf("default network: %q", out)
	}
}

// TestPublishErrors: a port in use and a privileged port are refused with
// an Error and a Hint. A port in use fails the start as Podman's does
// (exit 126): the container stays unless --rm.
func TestPublishErrors(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	name := ctrName(t, "")
	_, errOut, code := myctr(t, "run", "--rm", "--name", name, "-p", fmt.Sprintf("127.0.0.1:%d:80", port), image, "true")
	if code != 126 || !strings.Contains(errOut, "Error:") || !strings.Contains(errOut, fmt.Sprint(port)) || !strings.Contains(errOut, "Hint:") {
		t.Errorf("port in use: exit %d, stderr %q", code, errOut)
	}
	if _, ok := psFind(psJSON(t, true), name); ok {
		t.Errorf("the refused --rm container is still listed")
	}
	// Detached with --rm: the Hint comes through the monitor's report and
	// nothing is left. Without --rm, attached and detached, the container
	// that could not start stays, as Podman's does.
	for _, flags := range [][]string{{"-d", "--rm"}, {}, {"-d"}} {
		args := append(append([]string{"run", "--name", name}, flags...), "-p", fmt.Sprintf("127.0.0.1:%d:80", port), image, "true")
		_, errOut, code := myctr(t, args...)
		if code != 126 || !strings.Contains(errOut, "in use") || !strings.Contains(errOut, "Hint:") {
			t.Errorf("port in use, run %v: exit %d, stderr %q", flags, code, errOut)
		}
		_, listed := psFind(psJSON(t, true), name)
		if rm := len(flags) > 1; listed == rm {
			t.Errorf("run %v: the container that could not start listed: %v", flags, listed)
		}
		if listed {
			mustMyctr(t, "rm", "-f", name)
		}
	}
	_, errOut, code = myctr(t, "run", "--rm", "-p", "127.0.0.1:80:80", image, "true")
	if code != 125 || !strings.Contains(errOut, "ip_unprivileged_port_start") {
		t.Errorf("privileged port: exit %d, stderr %q", code, errOut)
	}
	// As Podman: nothing to publish from there; the ports are discarded
	// with a warning, and the container runs.
	_, errOut, code = myctr(t, "run", "--rm", "--network", "none", "-p", "8080:80", image, "true")
	if code != 0 || !strings.HasPrefix(errOut, "Port mappings have been discarded as one of the Host") {
		t.Errorf("-p with --network none: exit %d, stderr %q; want 0 and a warning", code, errOut)
	}
}

// TestNetworkHelperEnds: the network's processes end with the container,
// for each rootless mode: slirp4netns with myctr's port forwarder, and
// pasta (which publishes by itself). After rm -f, and after kill -9 of the
// monitor (which leaves the running container's network up) then rm -f,
// they are gone and the published port is free again.
func TestNetworkHelperEnds(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"slirp4netns", "pasta"} {
		for _, killMonitor := range []bool{false, true} {
			name := ctrName(t, fmt.Sprint(mode, killMonitor))
			port := freePort(t)
			runDetached(t, name, []string{"--network", mode, "-p", fmt.Sprintf("127.0.0.1:%d:80", port)}, "sleep", "300")
			in := inspect(t, name)
			type proc struct {
				what  string
				pid   int
				start uint64
			}
			procs := []proc{{what: mode, pid: in.NetworkSettings.NetworkPid}}
			if mode == "slirp4netns" {
				procs = append(procs, proc{what: "port forwarder", pid: in.NetworkSettings.PortForwarderPid})
			} else if in.NetworkSettings.PortForwarderPid != 0 {
				t.Errorf("pasta: a port forwarder is recorded (pid %d)", in.NetworkSettings.PortForwarderPid)
			}
			for i, p := range procs {
				_, _, start, ok := procStat(p.pid)
				if p.pid <= 0 || !ok {
					t.Fatalf("%s: no %s process recorded (pid %d)", mode, p.what, p.pid)
				}
				procs[i].start = start
			}
			if killMonitor {
				_, monitor, _, _ := procStat(in.State.Pid)
				syscall.Kill(monitor, syscall.SIGKILL)
				time.Sleep(200 * time.Millisecond)
				for _, p := range procs {
					if _, _, _, ok := procStat(p.pid); !ok {
						t.Errorf("%s: killing the monitor took the running container's %s down", mode, p.what)
					}
				}
			}
			mustMyctr(t, "rm", "-f", name)
			for _, p := range procs {
				waitFor(t, 10*time.Second, fmt.Sprintf("%s: %s %d to exit", mode, p.what, p.pid), func() bool {
					return processGone(p.pid, p.start)
				})
			}
			waitFor(t, 10*time.Second, fmt.Sprintf("%s: port %d free after rm -f", mode, port), func() bool {
				l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
				if err == nil {
					l.Close()
				}
				return err == nil
			})
		}
	}
}

// TestNoNetworkTool: without slirp4netns and pasta in PATH, the default
// network is refused with an Error and a Hint naming the packages, and
// --network none still works.
func TestNoNetworkTool(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tool := range []string{"newuidmap", "newgidmap"} {
		p, err := exec.LookPath(tool)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(p, dir+"/"+tool); err != nil {
			t.Fatal(err)
		}
	}
	env := []string{"PATH=" + dir}
	_, errOut, code := myctrEnv(t, env, nil, "run", "--rm", image, "true")
	if code != 125 || !strings.Contains(errOut, "Error:") || !strings.Contains(errOut, "apt-get install slirp4netns") {
		t.Errorf("no network tool: exit %d, stderr %q", code, errOut)
	}
	if _, errOut, code := myctrEnv(t, env, nil, "run", "--rm", "--network", "none", image, "true"); code != 0 {
		t.Errorf("--network none without the tools: exit %d: %s", code, errOut)
	}
}

// TestPublishAll: -P publishes every EXPOSEd port of the image on a free
// host port, TCP and UDP; port lists them, and the TCP one answers.
func TestPublishAll(t *testing.T) {
	t.Parallel()
	ctx := buildContext(t, map[string]string{"Containerfile": "FROM " + image + "\nEXPOSE 8080 5353/udp\n"})
	mustBuild(t, "-t", "it-publish-all", ctx)
	t.Cleanup(func() { runMyctr(cmdTimeout, nil, "rmi", "-f", "it-publish-all") })
	name := ctrName(t, "")
	mustMyctr(t, "run", "-d", "--name", name, "--network", "slirp4netns", "-P", "it-publish-all", "sh", "-c",
		"mkdir -p /www && echo published-all > /www/index.html && exec httpd -f -p 8080 -h /www")
	t.Cleanup(func() { runMyctr(cmdTimeout, nil, "rm", "-f", name) })
	ports := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(mustMyctr(t, "port", name)), "\n") {
		ctr, host, ok := strings.Cut(l, " -> ")
		if !ok {
			t.Fatalf("port printed %q", l)
		}
		ports[ctr] = host
	}
	if len(ports) != 2 || ports["8080/tcp"] == "" || ports["5353/udp"] == "" {
		t.Fatalf("port lists %v, want 8080/tcp and 5353/udp", ports)
	}
	_, hostPort, err := net.SplitHostPort(ports["8080/tcp"])
	if err != nil || hostPort == "0" {
		t.Fatalf("8080/tcp published on %q", ports["8080/tcp"])
	}
	if got := httpGet(t, "http://127.0.0.1:"+hostPort+"/"); strings.TrimSpace(got) != "published-all" {
		t.Errorf("the -P port answered %q", got)
	}
	// One port: its host address alone (tcp unless a protocol is given);
	// --all: every running container's, after its short id.
	for _, p := range []string{"8080", "8080/tcp"} {
		if out := mustMyctr(t, "port", name, p); strings.TrimSpace(out) != ports["8080/tcp"] {
			t.Errorf("port %s %s = %q, want %s", name, p, out, ports["8080/tcp"])
		}
	}
	if out := mustMyctr(t, "port", name, "5353/udp"); strings.TrimSpace(out) != ports["5353/udp"] {
		t.Errorf("port %s 5353/udp = %q, want %s", name, out, ports["5353/udp"])
	}
	if _, errOut, code := myctr(t, "port", name, "99/tcp"); code != 125 || strings.TrimSpace(errOut) != `Error: failed to find published port "99/tcp"` {
		t.Errorf("port of a port not published: exit %d, %q", code, errOut)
	}
	if _, errOut, code := myctr(t, "port", name, "http"); code != 125 || !strings.Contains(errOut, "'http' is invalid") {
		t.Errorf("port NAME http: exit %d, %q", code, errOut)
	}
	id := inspect(t, name).Id
	if out := mustMyctr(t, "port", "--all", "8080"); !strings.Contains(out, id[:12]+"\t"+ports["8080/tcp"]+"\n") {
		t.Errorf("port --all 8080: %q, want %s's line", out, id[:12])
	}
}

// TestPublishPortOfOwnContainer: a host port one of the user's containers
// publishes is refused naming that container, before anything starts. As
// Podman's "run failed --rm": exit 126, and the container stays unless --rm.
func TestPublishPortOfOwnContainer(t *testing.T) {
	t.Parallel()
	port := freePort(t)
	holder := ctrName(t, "holder")
	runDetached(t, holder, []string{"--network", "slirp4netns", "-p", fmt.Sprintf("127.0.0.1:%d:80", port)}, "sleep", "300")
	name := ctrName(t, "second")
	_, errOut, code := myctr(t, "run", "--rm", "--name", name, "--network", "slirp4netns", "-p", fmt.Sprintf("%d:80", port), image, "true")
	if code != 126 || !strings.Contains(errOut, "your container "+holder) || !strings.Contains(errOut, "myctr stop "+holder) {
		t.Errorf("a port of %s: exit %d, stderr %q", holder, code, errOut)
	}
	if _, ok := psFind(psJSON(t, true), name); ok {
		t.Errorf("the refused --rm container is listed")
	}
	_, _, code = myctr(t, "run", "-d", "--name", name, "--network", "slirp4netns", "-p", fmt.Sprintf("%d:80", port), image, "true")
	if code != 126 {
		t.Errorf("run -d, a port of %s: exit %d, want 126", holder, code)
	}
	if _, ok := psFind(psJSON(t, true), name); !ok {
		t.Errorf("the refused container without --rm is not listed")
	}
	mustMyctr(t, "rm", "-f", "-t", "0", name)
}

// tcpServer serves each connection to a new port of addr with serve (the
// connection is closed after it) until the test ends, and returns the port.
func tcpServer(t *testing.T, addr string, serve func(net.Conn)) int {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(addr, "0"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.SetDeadline(time.Now().Add(5 * time.Second))
			serve(c)
			c.Close()
		}
	}()
	return l.Addr().(*net.TCPAddr).Port
}
