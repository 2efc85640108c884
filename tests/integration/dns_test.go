//go:build integration

package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDNSThroughMode: a name served by a DNS server the test starts
// resolves inside a container, through the mode's DNS forwarder (10.0.2.3),
// for slirp4netns and pasta.
//
// The tools forward DNS to the nameserver of the /etc/resolv.conf they
// see, and a test must neither change the machine's nor query its
// upstream. So the test runs myctr inside a user, network and mount
// namespace of its own, which plays the host: a veth with 198.51.100.1
// (TEST-NET-2), dnsmasq there answering for myctr.test, and a resolv.conf
// bind-mounted over /etc/resolv.conf that names it. No packet leaves that
// namespace. Inside, myctr runs as root of a namespace that maps only that
// one id, like myctr inside a container.
func TestDNSThroughMode(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("dnsmasq"); err != nil {
		t.Fatalf("dnsmasq is needed (tests/setup/deps.sh installs dnsmasq-base): %v", err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("unshare", "--user", "--map-root-user", "--net", "--mount", self)
	cmd.Env = append(os.Environ(), "MYCTR_IT_ROLE=dnshost", "MYCTR_BIN="+bin, "MYCTR_IT_TMP="+t.TempDir())
	out, err := cmd.CombinedOutput()
	t.Logf("isolated host:\n%s", out)
	if err != nil {
		t.Fatalf("DNS through the rootless network failed: %v", err)
	}
	for _, mode := range []string{"slirp4netns", "pasta"} {
		if !strings.Contains(string(out), mode+": x.myctr.test -> 192.0.2.7") {
			t.Errorf("%s: the container did not resolve x.myctr.test to 192.0.2.7", mode)
		}
	}
}

// dnsHost is the MYCTR_IT_ROLE=dnshost side of TestDNSThroughMode, run as
// root of the test's own user, network and mount namespace.
func dnsHost() int {
	fail := func(format string, args ...any) int {
		fmt.Printf("FAIL: "+format+"\n", args...)
		return 1
	}
	run := func(name string, args ...string) error {
		if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
			return fmt.Errorf("%s %v: %v: %s", name, args, err, out)
		}
		return nil
	}
	for _, c := range [][]string{
		{"ip", "link", "set", "lo", "up"},
		{"ip", "link", "add", "h0", "type", "veth", "peer", "name", "h1"},
		{"ip", "link", "set", "h1", "up"},
		{"ip", "addr", "add", "198.51.100.1/24", "dev", "h0"},
		{"ip", "link", "set", "h0", "up"},
		{"ip", "route", "add", "default", "via", "198.51.100.254", "dev", "h0"},
	} {
		if err := run(c[0], c[1:]...); err != nil {
			return fail("%v", err)
		}
	}
	tmp := os.Getenv("MYCTR_IT_TMP")
	resolv := filepath.Join(tmp, "resolv.conf")
	if err := os.WriteFile(resolv, []byte("nameserver 198.51.100.1\n"), 0o644); err != nil {
		return fail("%v", err)
	}
	if err := run("mount", "--bind", resolv, "/etc/resolv.conf"); err != nil {
		return fail("%v", err)
	}
	dns := exec.Command("dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts",
		"--listen-address=198.51.100.1", "--bind-interfaces", "--port=53",
		"--address=/myctr.test/192.0.2.7", "--user=root", "--group=", "--pid-file=", "--log-facility=-")
	if err := dns.Start(); err != nil {
		return fail("dnsmasq: %v", err)
	}
	defer func() { dns.Process.Kill(); dns.Wait() }()

	bin = os.Getenv("MYCTR_BIN")
	root = filepath.Join(tmp, "root")
	runRoot = filepath.Join(tmp, "run")
	tarball := filepath.Join(tmp, "bb.tar")
	if err := writeBusyboxTar(tarball); err != nil {
		return fail("%v", err)
	}
	if _, errOut, code := runMyctr(2*time.Minute, nil, "import", tarball, image); code != 0 {
		return fail("import: %s", errOut)
	}
	failed := 0
	for _, mode := range []string{"slirp4netns", "pasta"} {
		out, errOut, code := runMyctr(cmdTimeout, nil, "run", "--rm", "--network", mode, image,
			"sh", "-c", "cat /etc/resolv.conf; nslookup -type=a x.myctr.test")
		fmt.Printf("--- %s (exit %d)\n%s%s", mode, code, out, errOut)
		if code == 0 && strings.Contains(out, "nameserver 10.0.2.3") && strings.Contains(out, "192.0.2.7") {
			fmt.Printf("%s: x.myctr.test -> 192.0.2.7\n", mode)
		} else {
			failed++
		}
	}
	if failed > 0 {
		return 1
	}
	return 0
}
